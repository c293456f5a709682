"""Every README (and docs/) block and every example runs as written, in a fresh virtual environment made by
exactly the install line shown above it.

How a block is read (the README follows these conventions, and the tests below hold it to them):

- Its install line is its own (a first line ``pip install ...``, or ``python3 -m venv .venv && . .venv/bin/activate
  && pip install ... && ...``) or the last ``pip install ...`` code span of the paragraph right above it.
  Each distinct install line gets one fresh environment per test session (``python -m venv``, then that line run
  from the checkout), shared by the blocks that show it; pip's cache keeps rebuilding cheap.
- "with the sandbox running" in that paragraph: the README's sandbox lines run first, in the same shell.
- It runs from an empty directory with a fresh ``HOME`` and none of the developer's ``AGENT_BILLING_*``,
  provider or model variables. A Python block's ``print(...)  # value`` comments are what it must print.

What the harness changes, and why: the documented ports (8787, 8000) become free ports, so runs never collide
with another server on the machine; after a line that starts a server in the background (``... &``) it waits
until the port accepts connections (a person typing does the same); the PostgreSQL example's
``AGENT_BILLING_STORE_URL`` becomes the test server's (``AGENT_BILLING_TEST_POSTGRES_URL``) in a fresh schema.
A block that cannot run here is skipped with its reason, listed at the end of the run.

``AGENT_BILLING_FRESH_VENVS=0`` skips this module on a developer's machine (never under ``CI=true``).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNNABLE = ("python", "bash", "sh")
SANDBOX_PORT, WEB_PORT = "8787", "8000"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
OWN_INSTALL = re.compile(r"^(?:python3 -m venv \.venv && \. \.venv/bin/activate && )?(pip install [^&\n]+?)(?: && (.*))?$")
CLEAN_PREFIXES = ("AGENT_BILLING_", "MODELSLAB_", "WALLGENT_", "TENEX_", "OPENAI_", "ANTHROPIC_", "VIRTUAL_ENV",
                  "PYTHONPATH", "PYTHONHOME")
CI = os.environ.get("CI", "").lower() == "true"

# Blocks that cannot run here, found by a piece of their text, each with the reason printed when skipped.
CANNOT_RUN = {
    "&& mypy && pytest": "the test suite's own command: CI runs it as the last line of .ci/run, and "
                         "tests/docs/test_readme.py holds the two identical",
    "agent-billing chat --model openai:": "needs a model provider's API key (OPENAI_API_KEY) and its network; "
                                         "tests/demo/test_chat.py drives agent-billing chat with stand-in models",
}


@dataclass(frozen=True)
class Block:
    """One fenced block of a document, with what the text right above it says."""

    doc: str
    number: int
    lang: str
    code: str
    install: str | None
    needs_sandbox: bool

    @property
    def name(self) -> str:
        return f"{self.doc}:{self.number}:{self.lang}"


def _paragraph_above(text: str, start: int) -> str:
    return text[:start].rstrip().split("\n\n")[-1]


def parse(doc: Path) -> list[Block]:
    """The fenced blocks of ``doc`` with their install lines."""
    text = doc.read_text(encoding="utf-8")
    blocks = []
    for number, match in enumerate(FENCE.finditer(text), start=1):
        lang, code = match.group(1), match.group(2)
        above = _paragraph_above(text, match.start())
        own = OWN_INSTALL.match(code.splitlines()[0]) if code.strip() else None
        spans = re.findall(r"`(pip install [^`]+)`", above)
        install = own.group(1).strip() if own else (spans[-1] if spans else None)
        if own:  # the block's own install line is the environment; the rest of the block runs in it
            rest = [own.group(2)] if own.group(2) else []
            code = "\n".join([*rest, *code.splitlines()[1:]]) + "\n"
        blocks.append(Block(doc.relative_to(ROOT).as_posix(), number, lang, code, install,
                            "the sandbox running" in above))
    return blocks


ALL_BLOCKS = [block for doc in DOCS for block in parse(doc)]
RUN_BLOCKS = [block for block in ALL_BLOCKS if block.lang in RUNNABLE]
README_TEXT = (ROOT / "README.md").read_text(encoding="utf-8")
SANDBOX_LINES = next(b.code for b in parse(ROOT / "README.md") if b.lang == "bash" and "agent-billing sandbox --port" in b.code)
MARKER = "__README_BLOCK_OUTPUT__"
SKIPPED: list[str] = []
TIMINGS: dict[str, float] = {}


def _free_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


def _clean_env(home: Path, venv: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEAN_PREFIXES)}
    env["HOME"] = str(home)
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


class Environments:
    """One fresh virtual environment per distinct install line, built on first use in this session."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.built: dict[str, Path] = {}

    def get(self, install: str) -> Path:
        if install not in self.built:
            venv = self.base / f"venv{len(self.built)}"
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
            # The install line exactly as shown, from the checkout, in that environment.
            done = subprocess.run(["bash", "-c", install], cwd=ROOT, env=_clean_env(self.base, venv),
                                  capture_output=True, text=True, timeout=900)
            assert done.returncode == 0, f"{install!r} failed:\n{done.stderr[-3000:]}"
            TIMINGS[install] = time.perf_counter() - started
            self.built[install] = venv
        return self.built[install]


@pytest.fixture(scope="session")
def environments(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Environments:
    # What tests/docs/conftest.py prints at the end of the run: the skips with their reasons, and the times.
    pytestconfig.agent_billing_readme_report = (SKIPPED, TIMINGS)  # type: ignore[attr-defined]
    if os.environ.get("AGENT_BILLING_FRESH_VENVS") == "0" and not CI:
        _skip("AGENT_BILLING_FRESH_VENVS=0: fresh environments not built on this machine (CI always builds them)")
    return Environments(tmp_path_factory.mktemp("fresh-venvs"))


def _skip(reason: str, name: str = "test_readme_runs") -> None:
    SKIPPED.append(f"{name}: {reason}")
    pytest.skip(reason)


def _with_waits(code: str) -> str:
    """After each line that starts a server in the background, wait until its port answers (or it stops)."""
    out = []
    for line in code.splitlines():
        out.append(line)
        command = line.split(" #", 1)[0].rstrip()
        if command.endswith("&"):
            port = re.search(r"--port (\d+)", command)
            assert port, f"a background server with no --port: {line!r}"
            out.append(_WAIT.format(port=port.group(1)))
    return "\n".join(out) + "\n"


# Bounded (600 x 0.1 s); gives up at once if the server exited.
_WAIT = ("for _ in $(seq 600); do (echo > /dev/tcp/127.0.0.1/{port}) 2>/dev/null && break; "
         "kill -0 $! 2>/dev/null || {{ echo 'the server on port {port} stopped' >&2; exit 1; }}; sleep 0.1; done")


def printed_comments(block: str) -> list[str]:
    """What a Python block's ``print(...)  # value`` lines say they print."""
    return [m.group(1).strip() for m in re.finditer(r"^\s*print\(.*\)\s+#\s*(.+)$", block, re.MULTILINE)]


@pytest.fixture
def postgres_url() -> Iterator[str | None]:
    """The test server in a fresh schema (dropped afterwards), or None without one."""
    server = os.environ.get("AGENT_BILLING_TEST_POSTGRES_URL", "").strip()
    if not server:
        yield None
        return
    import psycopg

    schema = f"readme_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"'.encode())
    joiner = "&" if "?" in server else "?"
    yield f"{server}{joiner}options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE'.encode())


def run_block(block: Block, venv: Path, tmp_path: Path, postgres: str | None) -> subprocess.CompletedProcess[str]:
    ports = {SANDBOX_PORT: _free_port(), WEB_PORT: _free_port()}
    body = block.code
    if block.lang == "python":
        body = f"python - <<'__README_BLOCK__'\n{block.code}__README_BLOCK__\n"
    script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n"
    if block.needs_sandbox:
        script += _with_waits(SANDBOX_LINES)
    # The sandbox's banner goes to the same terminal; what the block prints starts after this marker.
    script += f"echo {MARKER}\n"
    script += _with_waits(body) if block.lang != "python" else body
    for documented, free in ports.items():
        script = script.replace(documented, free)
    if "export AGENT_BILLING_STORE_URL=" in script:
        assert postgres is not None
        script = re.sub(r"export AGENT_BILLING_STORE_URL=\S+", f"export AGENT_BILLING_STORE_URL={shlex.quote(postgres)}",
                        script)
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "home").mkdir()
    # The examples are run by their path in the checkout, as a reader in the checkout would.
    (work / "examples").symlink_to(ROOT / "examples")
    return subprocess.run(["bash", "-c", script], cwd=work, env=_clean_env(tmp_path / "home", venv),
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("block", RUN_BLOCKS, ids=[block.name for block in RUN_BLOCKS])
def test_block_runs_in_a_fresh_environment(block: Block, environments: Environments, tmp_path: Path,
                                           postgres_url: str | None) -> None:
    for text, reason in CANNOT_RUN.items():
        if text in block.code:
            _skip(reason, block.name)
    if "AGENT_BILLING_STORE_URL=postgresql" in block.code and postgres_url is None:
        if CI:
            pytest.fail("CI=true but AGENT_BILLING_TEST_POSTGRES_URL is not set")
        _skip("needs PostgreSQL: set AGENT_BILLING_TEST_POSTGRES_URL", block.name)
    assert block.install, f"{block.name}: no install line shown above it"
    venv = environments.get(block.install)
    started = time.perf_counter()
    result = run_block(block, venv, tmp_path, postgres_url)
    TIMINGS[f"run {block.name}"] = time.perf_counter() - started
    assert result.returncode == 0, f"{block.name} ({block.install}):\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    expected = printed_comments(block.code) if block.lang == "python" else []
    if expected:
        printed = result.stdout.split(MARKER, 1)[1]
        assert printed.split() == [word for line in expected for word in line.split()], result.stdout


def test_every_runnable_block_shows_its_install_line() -> None:
    missing = [block.name for block in RUN_BLOCKS
               if block.install is None and not any(text in block.code for text in CANNOT_RUN)]
    assert not missing, f"blocks with no install line right above them: {missing}"


def test_every_install_line_installs_from_the_checkout() -> None:
    # Not yet on PyPI: every line shown installs the checkout (".", with extras), never the index's name.
    for block in ALL_BLOCKS:
        if block.install:
            assert re.search(r"pip install (-e )?['\"]?\.(\[[a-z,]+\])?['\"]?", block.install), block.name


def _examples_table() -> dict[str, str]:
    rows = re.findall(r"^\| `examples/([^`]+)` \| `(pip install [^`]+)` \|", README_TEXT, re.MULTILINE)
    return {name.rstrip("/"): install for name, install in rows}


def test_every_example_runs_from_a_readme_block_with_its_install_line() -> None:
    table = _examples_table()
    examples = {path.name for path in (ROOT / "examples").iterdir() if not path.name.startswith(("_", "."))
                and (path.suffix == ".py" or path.is_dir()) and path.name != "__pycache__"}
    assert set(table) == examples, (set(table), examples)
    for name, install in table.items():
        if name.endswith(".py"):
            runs = [block for block in RUN_BLOCKS if f"python examples/{name}" in block.code]
            assert runs, f"no README block runs examples/{name}"
            assert {block.install for block in runs} == {install}, (name, install, [b.install for b in runs])


def test_the_mcp_host_example_serves_from_its_install_line(environments: Environments, tmp_path: Path) -> None:
    """``examples/mcp_host/``: in an environment with only its install line, start the sandbox entry as the host
    would and call a tool with the official ``mcp`` client (installed by that line)."""
    venv = environments.get(_examples_table()["mcp_host"])
    config = json.loads((ROOT / "examples" / "mcp_host" / "mcp_config.json").read_text())
    entry = config["mcpServers"]["agent-billing-sandbox"]
    probe = f"""
import asyncio, json, os
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
params = StdioServerParameters(command={entry["command"]!r}, args={entry["args"]!r}, env=dict(os.environ))
async def main():
    async with stdio_client(params) as (read, write), ClientSession(read, write, read_timeout_seconds=60) as s:
        await s.initialize()
        result = await s.call_tool("wallet", {{"action": "balance"}})
        print(json.loads(result.content[0].text)["result"]["balance"])
asyncio.run(main())
"""
    (tmp_path / "home").mkdir()
    result = subprocess.run([str(venv / "bin" / "python"), "-c", probe], cwd=tmp_path,
                            env=_clean_env(tmp_path / "home", venv), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["0.00"]


def test_a_base_install_names_the_extra_the_sandbox_needs(environments: Environments, tmp_path: Path) -> None:
    """``pip install -e .`` (the README's library line) has no web server: importing the sandbox says which
    extra to install instead of a bare ``No module named 'starlette'``."""
    venv = environments.get(re.search(r"`(pip install -e \.)`", README_TEXT).group(1))  # type: ignore[union-attr]
    (tmp_path / "home").mkdir()
    result = subprocess.run([str(venv / "bin" / "python"), "-c", "import agent_billing.sandbox"], cwd=tmp_path,
                            env=_clean_env(tmp_path / "home", venv), capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "needs the 'sandbox' extra" in last and "pip install -e '.[sandbox]'" in last, last
