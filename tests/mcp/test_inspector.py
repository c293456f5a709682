"""MCP Inspector (npm ``@modelcontextprotocol/inspector`` 2.x, its ``--cli``) drives the server over stdio and HTTP.

The Inspector is installed by ``.ci/run`` under ``.ci/node`` (git-ignored, Node 22.19 or later); locally this
module skips with a reason when it is absent, and under ``CI=true`` a missing Inspector is a failure.

Each ``--cli`` run is one connection and one method (``tools/list`` or ``tools/call``), in the protocol era
asked for (``legacy``: 2025-11-25 with ``initialize``; ``modern``: 2026-07-28, stateless). Over stdio every run
starts ``python -m agent_billing.mcp`` itself (the Inspector passes the server only the variables given with
``-e``); over HTTP one server process with the deployer's bearer token serves the module, and the Inspector
sends the token as a header. Both act on a sandbox on loopback whose ledger the tests read.

The Inspector's ``--cli`` declares no elicitation capability (it cannot answer a question), so a charge that
needs the person's yes is refused with the fix-it message and moves nothing; a charge inside an auto-approving
mandate goes through once. The Inspector's connection CLI (``mcpdo``, same package) does answer: a call that asks
returns ``elicitationPending`` at once, and ``elicitation/respond`` declines it (nothing moves) or accepts it
(charged once). Control runs (a wrong tool name, a command that is no MCP server, a request without the token)
show that the harness sees a failing server.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.mcp.mcp_helpers import carded_sandbox, ledger, node_tool, server_env, start_http_server, stop

from agent_billing.mcp import http_guard
from agent_billing.sandbox.server import SandboxServer

ACCOUNT = "sk_mcp_inspector"
HTTP_TOKEN = "inspector-" + "k3y" * 12
INSPECTOR_NODE = (22, 19)  # the Inspector 2.x package's engines field
MANDATE = ["--max-per-charge", "30", "--max-per-24h", "100", "--auto-approve"]
TOOLS = ["billing", "payment_methods", "invoices", "wallet", "coupons", "subscriptions", "payment_links",
         "payment_path"]


@pytest.fixture(scope="module")
def inspector() -> tuple[Path, Path]:
    return node_tool("mcp-inspector", "the MCP Inspector", INSPECTOR_NODE)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with carded_sandbox(ACCOUNT) as server:
        yield server


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Inspector's HOME: its catalog and secret store are written there, never in the user's."""
    return tmp_path_factory.mktemp("inspector-home")


def _http_server(sandbox: SandboxServer, state: Path, flags: list[str]) -> Iterator[str]:
    env = server_env(sandbox.base_url, ACCOUNT, state, **{http_guard.TOKEN_VARIABLE: HTTP_TOKEN})
    process, url = start_http_server(flags, env, state / "stderr.txt")
    try:
        yield url
    finally:
        stop(process)


@pytest.fixture(scope="module")
def http_url(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An HTTP server with the mandate above and the deployer's token, on the loopback sandbox."""
    yield from _http_server(sandbox, tmp_path_factory.mktemp("inspector-http"), MANDATE)


@pytest.fixture(scope="module")
def http_no_mandate(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same without a mandate: every charge needs the person's yes."""
    yield from _http_server(sandbox, tmp_path_factory.mktemp("inspector-http-plain"), [])


class Run:
    """One Inspector run: its exit code and its JSON answer (``result`` or ``error``)."""

    def __init__(self, ran: subprocess.CompletedProcess[str]) -> None:
        self.code, self.stderr = ran.returncode, ran.stderr
        try:
            self.answer: dict[str, Any] = json.loads(ran.stdout or ran.stderr.strip().splitlines()[-1])
        except (ValueError, IndexError):
            self.answer = {"unparsed": ran.stdout + ran.stderr}

    def __repr__(self) -> str:
        return f"Run(code={self.code}, answer={self.answer}, stderr={self.stderr[-2000:]!r})"

    @property
    def result(self) -> dict[str, Any]:
        """The MCP result (``--cli`` wraps it in ``result``; ``mcpdo`` prints it bare)."""
        return dict(self.answer.get("result", self.answer))

    @property
    def content(self) -> dict[str, Any]:
        """The tool's JSON content (the first text block)."""
        return dict(json.loads(self.result["content"][0]["text"]))


def _inspect(inspector: tuple[Path, Path], home: Path, target: list[str], method: str, *, era: str = "legacy",
             tool: str | None = None, arguments: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
             server_env: dict[str, str] | None = None) -> Run:
    node, cli = inspector
    args = [str(node), str(cli.resolve()), "--cli", "--format", "json", "--quiet", "--protocol-era", era,
            "--method", method]
    if tool is not None:
        args += ["--tool-name", tool, "--tool-args-json", json.dumps(arguments or {})]
    for name, value in (headers or {}).items():
        args += ["--header", f"{name}: {value}"]
    for name, value in (server_env or {}).items():
        args += ["-e", f"{name}={value}"]
    ran = subprocess.run([*args, "--", *target], capture_output=True, text=True, timeout=60, env=_env(node, home),
                         stdin=subprocess.DEVNULL)
    return Run(ran)


def _env(node: Path, home: Path) -> dict[str, str]:
    """The Inspector's environment: our Node first on PATH; its HOME, storage and secrets (memory only) the test's."""
    return {**os.environ, "HOME": str(home), "PATH": f"{node.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "NO_COLOR": "1", "MCP_STORAGE_DIR": str(home / "storage"), "MCP_INSPECTOR_SECRET_STORE": "memory"}


def _stdio(sandbox: SandboxServer, state: Path, *flags: str) -> tuple[list[str], dict[str, str]]:
    """The stdio target (this interpreter running the server) and the variables the server gets."""
    env = {name: value for name, value in server_env(sandbox.base_url, ACCOUNT, state).items()
           if name.startswith("AGENT_BILLING_") or name == "PYTHONPATH"}
    return [sys.executable, "-m", "agent_billing.mcp", *flags], env


def _ledger(sandbox: SandboxServer) -> tuple[Decimal, int]:
    return ledger(sandbox, ACCOUNT)


def _check_listed(run: Run) -> None:
    assert run.code == 0, run
    tools = {tool["name"]: tool for tool in run.answer["result"]["tools"]}
    assert list(tools) == TOOLS, run
    for tool in tools.values():
        hints = tool["annotations"]
        assert hints["title"] and tool["title"] == hints["title"] and isinstance(hints["readOnlyHint"], bool)
    assert tools["invoices"]["annotations"]["readOnlyHint"] is True
    assert tools["wallet"]["annotations"]["readOnlyHint"] is False
    assert tools["wallet"]["annotations"]["destructiveHint"] is True
    assert "fund" in tools["wallet"]["inputSchema"]["properties"]["action"]["enum"]


def test_stdio_tools_listed_with_annotations_and_a_read(inspector: tuple[Path, Path], home: Path,
                                                        sandbox: SandboxServer, tmp_path: Path) -> None:
    """2025-11-25 here; the 2026-07-28 era over HTTP below (each stdio run starts a server: seconds)."""
    target, env = _stdio(sandbox, tmp_path)
    _check_listed(_inspect(inspector, home, target, "tools/list", server_env=env))
    read = _inspect(inspector, home, target, "tools/call", tool="wallet", arguments={"action": "balance"},
                    server_env=env)
    assert read.code == 0 and read.content["ok"] is True and read.content["result"]["currency"] == "USD", read
    # A 2025-11-25 result has no _meta; a 2026-07-28 (stateless) one names the server there (no handshake).
    assert "_meta" not in read.result, read


def test_stdio_charge_inside_the_mandate_is_charged_once(inspector: tuple[Path, Path], home: Path,
                                                         sandbox: SandboxServer, tmp_path: Path) -> None:
    target, env = _stdio(sandbox, tmp_path, *MANDATE)
    before, credits = _ledger(sandbox)
    charged = _inspect(inspector, home, target, "tools/call", era="modern", tool="wallet",
                       arguments={"action": "fund", "amount": 25}, server_env=env)
    assert charged.code == 0 and charged.content["ok"] is True, charged
    assert "_meta" in charged.result  # 2026-07-28: the result names the server
    assert _ledger(sandbox) == (before + 25, credits + 1)


def test_stdio_without_a_mandate_a_charge_is_refused_with_the_fix(inspector: tuple[Path, Path], home: Path,
                                                                   sandbox: SandboxServer, tmp_path: Path) -> None:
    """The Inspector's CLI cannot answer an approval question (it declares no elicitation): nothing moves.
    (Both eras over HTTP below.)"""
    target, env = _stdio(sandbox, tmp_path)
    before = _ledger(sandbox)
    refused = _inspect(inspector, home, target, "tools/call", tool="wallet",
                       arguments={"action": "fund", "amount": 20}, server_env=env)
    assert refused.code != 0 and refused.answer["result"]["isError"] is True, refused
    message = refused.content["message"]
    assert refused.content["ok"] is False and "no form elicitation" in message and "--max-per-charge" in message
    assert _ledger(sandbox) == before


def test_http_with_the_token_lists_reads_and_charges_once(inspector: tuple[Path, Path], home: Path,
                                                          sandbox: SandboxServer, http_url: str) -> None:
    auth = {"Authorization": f"Bearer {HTTP_TOKEN}"}
    _check_listed(_inspect(inspector, home, [http_url], "tools/list", headers=auth))
    read = _inspect(inspector, home, [http_url], "tools/call", era="modern", tool="invoices",
                    arguments={"action": "list"}, headers=auth)
    assert read.code == 0 and read.content["ok"] is True, read
    assert "io.modelcontextprotocol/serverInfo" in read.result["_meta"], read  # the 2026-07-28 era really ran
    before, credits = _ledger(sandbox)
    charged = _inspect(inspector, home, [http_url], "tools/call", era="modern", tool="wallet",
                       arguments={"action": "fund", "amount": 15}, headers=auth)
    assert charged.code == 0 and charged.content["ok"] is True, charged
    assert _ledger(sandbox) == (before + 15, credits + 1)
    # Beyond the per-charge cap: refused, not even a person's yes would do.
    refused = _inspect(inspector, home, [http_url], "tools/call", tool="wallet",
                       arguments={"action": "fund", "amount": 45}, headers=auth)
    assert refused.code != 0 and "Outside the deployer's spending mandate" in refused.content["message"], refused
    assert _ledger(sandbox) == (before + 15, credits + 1)


@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_http_without_a_mandate_a_charge_is_refused_with_the_fix(inspector: tuple[Path, Path], home: Path,
                                                                  sandbox: SandboxServer, http_no_mandate: str,
                                                                  era: str) -> None:
    before = _ledger(sandbox)
    refused = _inspect(inspector, home, [http_no_mandate], "tools/call", era=era, tool="wallet",
                       arguments={"action": "fund", "amount": 20}, headers={"Authorization": f"Bearer {HTTP_TOKEN}"})
    assert refused.code != 0 and refused.answer["result"]["isError"] is True, refused
    assert "no form elicitation" in refused.content["message"] and "--auto-approve" in refused.content["message"]
    assert _ledger(sandbox) == before


def test_http_without_the_token_the_inspector_is_refused(inspector: tuple[Path, Path], home: Path,
                                                         sandbox: SandboxServer, http_url: str) -> None:
    before = _ledger(sandbox)
    for headers in ({}, {"Authorization": "Bearer " + "x" * 40}):
        refused = _inspect(inspector, home, [http_url], "tools/call", tool="wallet",
                           arguments={"action": "fund", "amount": 5}, headers=headers)
        assert refused.code != 0 and "result" not in refused.answer, refused
    assert _ledger(sandbox) == before


def test_control_the_harness_sees_a_broken_server(inspector: tuple[Path, Path], home: Path, http_url: str) -> None:
    """What the tests above assert would fail against a wrong tool or no server at all."""
    wrong = _inspect(inspector, home, [http_url], "tools/call", tool="walet", arguments={"action": "balance"},
                     headers={"Authorization": f"Bearer {HTTP_TOKEN}"})
    assert wrong.code != 0 and "result" not in wrong.answer and "walet" in json.dumps(wrong.answer), wrong
    not_mcp = _inspect(inspector, home, [sys.executable, "-c", "print('hello')"], "tools/list")
    assert not_mcp.code != 0 and "result" not in not_mcp.answer, not_mcp


class Mcpdo:
    """The Inspector's connection CLI with a private daemon in ``root`` (its socket, token, HOME and memory-only
    secret store), stopped by ``stop``."""

    def __init__(self, inspector: tuple[Path, Path], root: Path) -> None:
        self.node, self.bin, self.daemon = inspector[0], (inspector[1].parent / "mcpdo").resolve(), root / "d"
        self.env = {**_env(self.node, root), "MCP_INSPECTOR_DAEMON_DIR": str(self.daemon),
                    "MCP_INSPECTOR_DAEMON_TOKEN": secrets.token_urlsafe(24)}

    def run(self, *args: str) -> Run:
        return Run(subprocess.run([str(self.node), str(self.bin), "--format", "json", *args], capture_output=True,
                                  text=True, timeout=60, env=self.env, stdin=subprocess.DEVNULL))

    def connect(self, target: list[str], *, era: str, headers: dict[str, str] | None = None,
                server_env: dict[str, str] | None = None) -> str:
        """A named connection to ``target`` (a URL or a command); its name."""
        options = [part for name, value in (headers or {}).items() for part in ("--header", f"{name}: {value}")]
        options += [part for name, value in (server_env or {}).items() for part in ("-e", f"{name}={value}")]
        connected = self.run("connect", "--era", era, *options, "--", *target)
        assert connected.code == 0 and connected.answer.get("protocolEra") == era, connected
        return str(connected.answer["name"])

    def stop(self) -> None:
        """Stop the daemon (it ends its connections and their servers) and wait, bounded, until it is gone."""
        lock = self.daemon / "mcpdod.lock"
        pid = int(lock.read_text().strip()) if lock.exists() else None
        self.run("daemon", "stop")
        deadline = time.monotonic() + 15
        while pid is not None and time.monotonic() < deadline and Path(f"/proc/{pid}/status").exists() and \
                "zombie" not in Path(f"/proc/{pid}/status").read_text():
            time.sleep(0.1)


@pytest.fixture(scope="module")
def mcpdo(inspector: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mcpdo]:
    daemon = Mcpdo(inspector, tmp_path_factory.mktemp("mcpdo"))
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_the_inspectors_answers_decline_moves_nothing_and_accept_charges_once(
        mcpdo: Mcpdo, sandbox: SandboxServer, http_no_mandate: str, tmp_path: Path, transport: str) -> None:
    """Over stdio in the 2025-11-25 era (elicitation in a session), over HTTP in 2026-07-28 (an input_required
    round that mcpdo answers by calling again): the same questions, the same outcomes."""
    if transport == "stdio":
        target, env = _stdio(sandbox, tmp_path)
        name = mcpdo.connect(target, era="legacy", server_env=env)
    else:
        name = mcpdo.connect([http_no_mandate], era="modern", headers={"Authorization": f"Bearer {HTTP_TOKEN}"})
    before, credits = _ledger(sandbox)

    def asked(amount: int) -> str:
        pending = mcpdo.run(f"--connection={name}", "tools/call", "wallet", json.dumps({"action": "fund",
                                                                                         "amount": amount}))
        question = pending.answer.get("elicitationPending") or {}
        assert pending.code == 0 and question.get("mode") == "form", pending
        assert f"${amount}.00" in question["message"] and "4242" in question["message"], question
        return str(question["elicitationId"])

    declined = mcpdo.run("elicitation/respond", asked(25), "--decline")
    assert declined.result["isError"] is True and declined.content["error"] == "rejected", declined
    assert _ledger(sandbox) == (before, credits)
    accepted = mcpdo.run("elicitation/respond", asked(30), "{}")
    assert accepted.code == 0 and accepted.content["ok"] is True, accepted
    assert accepted.content["approved_by"].startswith("mcp "), accepted
    assert _ledger(sandbox) == (before + 30, credits + 1)
