"""The official MCP conformance suite's generic server scenarios against our streamable HTTP transport.

The suite (npm ``@modelcontextprotocol/conformance``, which needs Node 22) is installed by ``.ci/run`` under
``.ci/node`` (git-ignored); locally this module skips with a reason when it is absent, and under ``CI=true``
a missing suite is a failure. The other scenarios expect the reference server's own tools.

The suite's client cannot send a header (``conformance server`` takes only ``--url``), while our transport
refuses every request without the bearer token. So the server runs in-process behind a test-only ASGI
layer that adds ``Authorization: Bearer <token>`` to each request before the real stack sees it: the
exact Host/Origin check, the token check and the SDK all run unchanged. A control run without that layer
shows the suite's client is refused.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send
from tests.mcp.mcp_helpers import LoopbackHttp, node_tool

from agent_billing.audit import MemoryAuditLog
from agent_billing.inprocess import sandbox_clients
from agent_billing.mcp import BillingMCPServer, ElicitationApprover
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit

SCENARIOS = ("server-initialize", "ping", "tools-list", "dns-rebinding-protection")
HTTP_TOKEN = "conformance-" + "tok" * 12


def _suite() -> tuple[Path, Path]:
    """(node 22, the conformance CLI), or skip (fail under CI) when they are not installed."""
    return node_tool("conformance", "the MCP conformance suite")


class WithToken:
    """Test only: adds the bearer token to every request, as a configured host would send it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "headers": [*scope["headers"], (b"authorization", f"Bearer {HTTP_TOKEN}".encode())]}
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def suite() -> tuple[Path, Path]:
    return _suite()


def _app(state: Path) -> ASGIApp:
    """A fresh server (an app's session manager runs once) on its own in-process sandbox, every action."""
    toolkit = BillingToolkit(async_client=sandbox_clients(create_app(rate_limit=False))[1],
                             approval=ElicitationApprover(), audit=MemoryAuditLog(),
                             store=f"sqlite:///{state / 'state.db'}")
    return BillingMCPServer(toolkit).http_app(HTTP_TOKEN)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with LoopbackHttp(WithToken(_app(tmp_path_factory.mktemp("conformance")))) as served:
        yield served.url


def _run(suite: tuple[Path, Path], url: str, scenario: str) -> subprocess.CompletedProcess[str]:
    node, cli = suite
    env = {**os.environ, "PATH": f"{node.parent}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"}
    return subprocess.run([node, cli, "server", "--url", url, "--scenario", scenario], capture_output=True,
                          text=True, timeout=120, env=env)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_generic_server_scenario_passes(suite: tuple[Path, Path], url: str, scenario: str) -> None:
    ran = _run(suite, url, scenario)
    report = ran.stdout + ran.stderr
    assert ran.returncode == 0 and " 0 failed, 0 warnings" in report, report


def test_without_the_token_the_suites_client_is_refused(suite: tuple[Path, Path], tmp_path: Path) -> None:
    with LoopbackHttp(_app(tmp_path)) as served:
        ran = _run(suite, served.url, "server-initialize")
    report = ran.stdout + ran.stderr
    # Our 401 has no body, so the suite's message shows no status: the handshake failing is the evidence.
    assert ran.returncode != 0 and " 1 failed" in report and "Failed to initialize" in report, report
