"""The README's code runs: every Python block against a loopback sandbox, and its two commands match CI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agent_billing.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```python\n(.*?)^```", README, re.DOTALL | re.MULTILINE)


def printed_comments(block: str) -> list[str]:
    """What the block's ``print(...)  # value`` lines say they print."""
    return [m.group(1).strip() for m in re.finditer(r"^\s*print\(.*\)\s+#\s*(.+)$", block, re.MULTILINE)]


def test_the_readme_has_python_blocks() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i + 1}" for i in range(len(BLOCKS))])
def test_python_block_runs_against_the_sandbox(block: str, tmp_path: Path) -> None:
    with SandboxServer(tokens=("sk_sandbox_demo",), rate_limit=False) as server:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AGENT_BILLING_", "OPENAI_", "MODELSLAB_", "WALLGENT_"))}
        env.update(AGENT_BILLING_BASE_URL=server.base_url, AGENT_BILLING_TOKEN="sk_sandbox_demo",
                   AGENT_BILLING_STATE_DIR=str(tmp_path / "state"), WALLGENT_API_KEY="wg_test_sandbox",
                   WALLGENT_BASE_URL=server.root_url + "/wallgent/v1")
        # From an empty directory: no .env of the developer's is read.
        result = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, env=env, capture_output=True, text=True,
                                timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    expected = printed_comments(block)
    if expected:  # the comments say what is printed: hold them to it
        assert result.stdout.split() == [word for line in expected for word in line.split()], result.stdout


def test_the_readme_test_command_is_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    (ci_command,) = [line for line in ci.splitlines() if line.startswith("pip install -e")]
    assert ci_command == "pip install -e \".[test]\" && ruff check plugin tests benchmarks && mypy && pytest"
    assert f". .venv/bin/activate && {ci_command}\n" in README


def test_the_readme_demo_command_installs_the_demo_extra() -> None:
    assert "pip install '.[demo]' && agent-billing demo --yes" in README
