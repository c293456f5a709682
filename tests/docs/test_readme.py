"""The README's code runs: every Python block (of the README and docs/) against a loopback sandbox in this
environment, and its two commands match CI. ``test_readme_runs.py`` runs them again in fresh environments."""

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
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = [block for doc in DOCS
          for block in re.findall(r"^```python\n(.*?)^```", doc.read_text(encoding="utf-8"), re.DOTALL | re.MULTILINE)]


def printed_comments(block: str) -> list[str]:
    """What the block's ``print(...)  # value`` lines say they print."""
    return [m.group(1).strip() for m in re.finditer(r"^\s*print\(.*\)\s+#\s*(.+)$", block, re.MULTILINE)]


def test_the_readme_has_python_blocks() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i + 1}" for i in range(len(BLOCKS))])
def test_python_block_runs_against_the_sandbox(block: str, tmp_path: Path) -> None:
    with SandboxServer(tokens=("sk_sandbox_demo",), rate_limit=False) as server:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AGENT_BILLING_", "OPENAI_", "MODELSLAB_", "WALLGENT_", "TENEX_"))}
        env.update(AGENT_BILLING_BASE_URL=server.base_url, AGENT_BILLING_TOKEN="sk_sandbox_demo",
                   AGENT_BILLING_STATE_DIR=str(tmp_path / "state"), WALLGENT_API_KEY="wg_test_sandbox",
                   WALLGENT_BASE_URL=server.root_url + "/wallgent/v1", TENEX_API_KEY="tnx_sandbox",
                   TENEX_BASE_URL=server.root_url + "/tenex/api/v1/payments")
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
    assert "pip install -e '.[demo]' && agent-billing demo --yes" in README


def test_the_readme_says_how_to_install_before_a_release() -> None:
    # `pip install agent-billing` finds nothing until a release is tagged: say so, and never tell the reader to.
    assert "Not yet on PyPI: install from a checkout." in README
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        assert not re.search(r"(?m)^\s*pip install (?!-e )'?agent-billing", text), doc
        assert "`pip install agent-billing`" not in text.replace("`pip install agent-billing` finds nothing", ""), doc


def test_the_readme_has_contents_that_link_to_its_sections() -> None:
    contents = README.split("## Contents", 1)[1].split("\n## ", 1)[0]
    anchors = re.findall(r"\]\(#([a-z0-9-]+)\)", contents)
    headings = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in re.findall(r"(?m)^#{2,3} (.+)$", README)}
    assert len(anchors) >= 10 and set(anchors) <= headings, set(anchors) - headings


def test_every_approver_has_a_resume_example() -> None:
    section = README.split("## Choose your approver", 1)[1].split("\n## ", 1)[0]
    for name in ("interrupt", "middleware", "callback", "confirmation", "MCP elicitation", "terminal"):
        part = section.split(f"### {name}\n", 1)[1].split("\n### ", 1)[0]
        assert "```python" in part or "```bash" in part, name
    assert "Command(resume=answers)" in section and "{i.id: " in section  # several interrupts, by id
    assert 'Command(resume={"decisions": [' in section  # the middleware's batch
