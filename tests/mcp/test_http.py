"""Streamable HTTP: loopback only, the deployer's bearer token on every request, Host and Origin matched exactly,
tools served to the real ``mcp`` client.

Two server processes for the module: one on its own offline sandbox with no ``$AGENT_BILLING_MCP_TOKEN``
(it generates a token and prints it once), and one with a configured token, every action, against a
sandbox on loopback whose ledger the tests read (a second local process must not be able to move money).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.mcp.mcp_helpers import carded_sandbox, http_session, server_env, start_http_server, stop

from agent_billing.client import BillingClient
from agent_billing.mcp import http_guard
from agent_billing.mcp.command import main
from agent_billing.sandbox.server import SandboxServer
from mcp import Client, types

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {"elicitation": {"form": {}}},
                         "clientInfo": {"name": "t", "version": "1"}}}
FUND = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "wallet", "arguments": {"action": "fund", "amount": 500}}}
HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
ACCOUNT = "sk_mcp_http"
HTTP_TOKEN = "configured-" + "k3y" * 12  # what a deployer puts in $AGENT_BILLING_MCP_TOKEN


class Served:
    def __init__(self, process: subprocess.Popen[bytes], url: str, token: str, errlog: Path) -> None:
        self.process, self.url, self.token, self.errlog = process, url, token, errlog
        self.host = url.split("/")[2]
        self.port = int(self.host.rsplit(":", 1)[1])

    def post(self, body: dict[str, Any], token: str | None = None, **headers: str) -> httpx.Response:
        auth = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return httpx.post(self.url, json=body, headers={**HEADERS, **auth, **headers}, timeout=30)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``--sandbox --actions read_only`` with no token configured: it makes one and prints it once."""
    state = tmp_path_factory.mktemp("http")
    errlog = state / "stderr.txt"
    env = server_env("", "", state)
    for name in ("AGENT_BILLING_BASE_URL", "AGENT_BILLING_TOKEN", http_guard.TOKEN_VARIABLE):
        env.pop(name, None)
    process, url = start_http_server(["--sandbox", "--actions", "read_only"], env, errlog)
    try:
        [line] = [line for line in errlog.read_text().splitlines() if "bearer token (send" in line]
        yield Served(process, url, line.rsplit(": ", 1)[1], errlog)
    finally:
        stop(process)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with carded_sandbox(ACCOUNT) as server:
        yield server


@pytest.fixture(scope="module")
def configured(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Every action, ``$AGENT_BILLING_MCP_TOKEN`` set, against the loopback sandbox."""
    state = tmp_path_factory.mktemp("configured")
    errlog = state / "stderr.txt"
    env = server_env(sandbox.base_url, ACCOUNT, state, **{http_guard.TOKEN_VARIABLE: HTTP_TOKEN})
    process, url = start_http_server([], env, errlog)
    try:
        yield Served(process, url, HTTP_TOKEN, errlog)
    finally:
        stop(process)


def _ledger(sandbox: SandboxServer) -> tuple[Decimal, int]:
    with BillingClient(base_url=sandbox.base_url, token=ACCOUNT) as client:
        credits = [t for t in client.get_wallet_transactions().items if t.type == "credit"]
        return client.get_wallet_balance().balance, len(credits)


def test_listens_on_loopback_only(generated: Served) -> None:
    table = Path("/proc/net/tcp")
    if not table.exists():
        pytest.skip("needs Linux's /proc/net/tcp")
    listening = [line.split()[1] for line in table.read_text().splitlines()[1:]
                 if line.split()[1].endswith(f":{generated.port:04X}") and line.split()[3] == "0A"]
    assert listening == [f"0100007F:{generated.port:04X}"]  # 127.0.0.1, not 0.0.0.0


def test_foreign_host_and_origin_are_refused_exactly(generated: Served) -> None:
    served, port, other = generated, generated.port, generated.port + 1
    for host in ("billing.evil.example", f"127.0.0.1:{port}.evil.example", f"localhost:{other}", "127.0.0.1",
                 f"evil.example:{port}", f"127.0.0.1:{port}@evil.example"):
        assert served.post(INITIALIZE, served.token, Host=host).status_code == 421, host
    for origin in ("http://evil.example", f"http://localhost:{other}", f"http://127.0.0.1:{port}.evil.example",
                   "null", f"https://localhost:{port}", f"http://user@localhost:{port}"):
        assert served.post(INITIALIZE, served.token, Origin=origin).status_code == 403, origin
    for host in (served.host, f"localhost:{port}"):
        allowed = served.post(INITIALIZE, served.token, Host=host, Origin=f"http://{host}")
        assert allowed.status_code == 200, (host, allowed.text)


def test_tools_over_streamable_http_with_the_generated_token(generated: Served) -> None:
    async def session() -> tuple[list[str], str]:
        async with http_session(generated.url, generated.token) as client:
            tools = await client.list_tools()
            balance = await client.call_tool("wallet", {"action": "balance"})
            return [tool.name for tool in tools.tools], balance.content[0].text  # type: ignore[union-attr]

    names, balance = asyncio.run(session())
    assert "wallet" in names and "payment_links" not in names  # read_only: no group without a read
    assert '"ok":true' in balance


def test_the_generated_token_is_printed_once_and_nowhere_else(generated: Served) -> None:
    for token in (None, "wrong", generated.token[:-1]):
        assert generated.post(INITIALIZE, token).status_code == 401
    assert generated.post(INITIALIZE, generated.token).status_code == 200
    lines = [line for line in generated.errlog.read_text().splitlines() if generated.token in line]
    assert len(lines) == 1 and "AGENT_BILLING_MCP_TOKEN" in lines[0], lines


def test_a_second_local_process_without_the_token_moves_nothing(configured: Served, sandbox: SandboxServer) -> None:
    """The finding: a stock client that declares elicitation and accepts its own prompt. Now: 401, nothing moves."""
    before = _ledger(sandbox)

    async def accept(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        return types.ElicitResult(action="accept", content={})

    statuses: list[int] = []

    async def stock_client() -> None:
        async with http_session(configured.url, None, elicit=accept, statuses=statuses) as client:
            await client.call_tool("wallet", {"action": "fund", "amount": 500})

    with pytest.raises(BaseException):  # noqa: B017  # the SDK reports the refusal as a generic error
        asyncio.run(asyncio.wait_for(stock_client(), 30))
    assert statuses == [401], statuses
    for request in (INITIALIZE, FUND):  # raw, too: every request, not only the handshake
        refused = configured.post(request)
        assert refused.status_code == 401 and refused.content == b""
        assert refused.headers["www-authenticate"] == "Bearer"
    assert _ledger(sandbox) == before


def test_the_hosts_session_cannot_be_borrowed_without_the_token(configured: Served, sandbox: SandboxServer) -> None:
    opened = configured.post(INITIALIZE, configured.token)
    assert opened.status_code == 200
    session = opened.headers["mcp-session-id"]
    before = _ledger(sandbox)
    for token in (None, configured.token[:-1], configured.token[:16], configured.token + "x", "x", "Bearer"):
        borrowed = configured.post(FUND, token, **{"Mcp-Session-Id": session, "Mcp-Protocol-Version": "2025-11-25"})
        assert borrowed.status_code == 401 and borrowed.content == b"", token
    for header in (f"Basic {configured.token}", configured.token, f"Bearer{configured.token}"):
        assert configured.post(FUND, None, Authorization=header, **{"Mcp-Session-Id": session}).status_code == 401
    assert _ledger(sandbox) == before


def test_the_right_token_works_and_the_hosts_yes_moves_money(configured: Served, sandbox: SandboxServer) -> None:
    before, credits = _ledger(sandbox)
    asked: list[str] = []

    async def accept(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={})

    async def host(client: Client) -> dict[str, Any]:
        result = await client.call_tool("wallet", {"action": "fund", "amount": 25})
        return json.loads(result.content[0].text)  # type: ignore[union-attr]

    async def run() -> dict[str, Any]:
        async with http_session(configured.url, configured.token, elicit=accept) as client:
            return await host(client)

    content = asyncio.run(run())
    assert content["ok"] is True, content
    assert len(asked) == 1 and "$25.00" in asked[0]
    assert _ledger(sandbox) == (before + 25, credits + 1)


def test_a_configured_token_never_reaches_stderr(configured: Served) -> None:
    assert configured.post(INITIALIZE, configured.token).status_code == 200
    assert configured.post(INITIALIZE, configured.token[:-1]).status_code == 401
    text = configured.errlog.read_text()
    assert "loopback only" in text and configured.token not in text and configured.token[:16] not in text


def test_the_token_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = http_guard.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(http_guard.hmac, "compare_digest", spy)
    guard = http_guard.HttpGuard(lambda scope, receive, send: None, HTTP_TOKEN)  # type: ignore[arg-type,return-value]

    def scope(value: str) -> dict[str, Any]:
        return {"type": "http", "headers": [(b"authorization", value.encode())]}

    assert guard.authorized(scope(f"Bearer {HTTP_TOKEN}")) and guard.authorized(scope(f"bearer {HTTP_TOKEN}"))
    assert not guard.authorized(scope(f"Bearer {HTTP_TOKEN[:-1]}")) and not guard.authorized(scope("Bearer "))
    assert len(compared) == 4 and all(b == HTTP_TOKEN.encode() for _, b in compared)


def test_a_weak_configured_token_is_refused_at_start_without_echo(capsys: pytest.CaptureFixture[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(http_guard.TOKEN_VARIABLE, "hunter2-secret")
    assert main(["--http", "--port", "0", "--sandbox", "--actions", "read_only"]) == 2
    err = capsys.readouterr().err
    assert "AGENT_BILLING_MCP_TOKEN must be at least 32" in err and "hunter2" not in err
