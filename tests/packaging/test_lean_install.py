"""A lean install: the library imports without the sandbox server or the terminal UI, and says which extra a
command needs; the command line starts fast and reads well."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent_billing import __version__

OPTIONAL = ("starlette", "uvicorn", "rich")

# Makes the optional packages look uninstalled, as after a plain `pip install agent-billing`.
BLOCK = """
import importlib.abc, sys
class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Missing())
"""


def run_python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENT_BILLING_STATE_DIR": str(tmp_path / "state")}
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)


def test_importing_the_library_loads_no_server_and_no_terminal_ui(tmp_path: Path) -> None:
    # httpx imports its own optional command line (which uses rich) whenever click, pygments and rich are
    # all installed, as in this test environment; that is httpx's doing and absent from a lean install.
    code = (
        "import sys\nsys.modules['httpx._main'] = None\n"
        "import agent_billing\n"
        "from agent_billing import BillingClient, BillingToolkit, Mandate, PaymentDeclinedError\n"
        "import agent_billing.prompts, agent_billing.advisor, agent_billing.cli, agent_billing.inprocess\n"
        "client = BillingClient(base_url='https://billing.example/api/agents/v1', token='sk_test_x')\n"
        "toolkit = BillingToolkit(client=client, approval='interrupt')\n"
        "assert len(toolkit.get_tools()) == 8\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {OPTIONAL!r}))\n"
    )
    result = run_python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_without_the_extras_the_library_works_and_commands_name_the_extra(tmp_path: Path) -> None:
    code = BLOCK.format(blocked=set(OPTIONAL)) + (
        "import os\n"
        "os.environ['AGENT_BILLING_TOKEN'] = 'sk_test_x'\n"
        "os.environ['AGENT_BILLING_BASE_URL'] = 'https://billing.example/api/agents/v1'\n"
        "from agent_billing import BillingToolkit\n"
        "toolkit = BillingToolkit.from_env(approval='interrupt')\n"
        "print(sorted(tool.name for tool in toolkit.get_tools()))\n"
        "from agent_billing.cli import main\n"
        "for command in (['sandbox'], ['demo', '--yes'], ['chat', '--model', 'openai:x']):\n"
        "    assert main(command) == 2\n"
    )
    result = run_python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "'wallet'" in result.stdout and "'payment_path'" in result.stdout
    lines = result.stderr.strip().splitlines()
    # Each names the extra and how to install it (from a checkout until the package is on PyPI).
    assert lines == [
        "agent-billing sandbox: this command needs the 'sandbox' extra: pip install 'agent-billing[sandbox]' "
        "(not yet on PyPI: in a checkout, pip install -e '.[sandbox]')",
        "agent-billing demo: this command needs the 'demo' extra: pip install 'agent-billing[demo]' "
        "(not yet on PyPI: in a checkout, pip install -e '.[demo]')",
        "agent-billing chat: this command needs the 'demo' extra: pip install 'agent-billing[demo]' "
        "(not yet on PyPI: in a checkout, pip install -e '.[demo]')",
    ]


def test_help_and_version_are_fast_and_read_well(tmp_path: Path) -> None:
    started = time.perf_counter()
    version = subprocess.run([sys.executable, "-m", "agent_billing.cli", "--version"], capture_output=True, text=True,
                             timeout=60)
    elapsed = time.perf_counter() - started
    assert version.stdout.strip() == f"agent-billing {__version__}"
    # Generous bound for a loaded CI machine; the full library import alone takes over a second.
    assert elapsed < 1.0, elapsed
    top = subprocess.run([sys.executable, "-m", "agent_billing.cli", "--help"], capture_output=True, text=True,
                         timeout=60).stdout
    assert "``" not in top and "--version" in top
    sandbox_help = subprocess.run([sys.executable, "-m", "agent_billing.cli", "sandbox", "--help"],
                                  capture_output=True, text=True, timeout=60).stdout
    assert "(default: 8787)" in sandbox_help and "(default: sk_sandbox_demo)" in sandbox_help
    assert "--log" in sandbox_help


@pytest.mark.parametrize("module", ["agent_billing.cli", "agent_billing"])
def test_package_import_is_lazy(module: str, tmp_path: Path) -> None:
    result = run_python(f"import sys, {module}\nprint('langchain_core' in sys.modules, 'httpx' in sys.modules)",
                        tmp_path)
    assert result.stdout.strip() == "False False", result.stderr
