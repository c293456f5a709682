"""The MCP path of an out-of-band approval in a real browser: ``agent-billing mcp --http --approval out-of-band``
gives the official ``mcp`` client a URL elicitation; that URL, opened in Chromium, is the server's own approval
page (no bearer token in a browser); clicking Approve charges once, Decline moves nothing.

The MCP client runs on its own event loop in a thread (Playwright's sync API holds this thread's loop); its
elicitation callback hands the URL to the test and answers "accept" (opened) once the browser has clicked.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from tests.mcp.mcp_helpers import content_of, http_session, server_env, start_http_server, stop

from agent_billing.client import BillingClient
from agent_billing.mcp import http_guard
from agent_billing.sandbox.server import SandboxServer
from mcp import types

ACCOUNT = "sk_mcp_browser_oob"
HTTP_TOKEN = "browser-" + "k3y" * 12


class Host:
    """An MCP host over HTTP whose client shows URL elicitations by handing them to the test's browser."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.urls: queue.Queue[types.ElicitRequestURLParams] = queue.Queue()
        self.clicked = threading.Event()

    def fund(self, amount: int) -> tuple[threading.Thread, list[dict[str, Any]]]:
        results: list[dict[str, Any]] = []

        async def elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
            assert isinstance(params, types.ElicitRequestURLParams), params
            self.urls.put(params)
            await asyncio.to_thread(self.clicked.wait, 60)
            return types.ElicitResult(action="accept")  # opened; the page's click is the decision

        async def call() -> None:
            async with http_session(self.endpoint, HTTP_TOKEN, elicit=elicit) as session:
                results.append(content_of(await session.call_tool("wallet", {"action": "fund", "amount": amount}))[0])

        thread = threading.Thread(target=lambda: asyncio.run(call()))
        thread.start()
        return thread, results


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(tokens=(ACCOUNT,), rate_limit=False) as server:
        with BillingClient(base_url=server.base_url, token=ACCOUNT) as client:
            client.add_payment_method("pm_card_visa", make_default=True)
        yield server


@pytest.fixture(scope="module")
def host(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    state = tmp_path_factory.mktemp("mcp-oob")
    env = server_env(sandbox.base_url, ACCOUNT, state, **{http_guard.TOKEN_VARIABLE: HTTP_TOKEN})
    process, endpoint = start_http_server(["--approval", "out-of-band", "--approval-wait", "60"], env,
                                          state / "stderr.txt")
    try:
        yield Host(endpoint)
    finally:
        stop(process)


def ledger(sandbox: SandboxServer) -> tuple[Decimal, int]:
    with BillingClient(base_url=sandbox.base_url, token=ACCOUNT) as client:
        return client.get_wallet_balance().balance, len(client.get_wallet_transactions().items)


def _click(page: Any, host: Host, amount: int, button: str) -> tuple[str, dict[str, Any]]:
    host.clicked.clear()
    asking, results = host.fund(amount)
    params = host.urls.get(timeout=60)
    assert params.url.startswith(host.endpoint.removesuffix("/mcp") + "/approvals/")
    assert f"${amount}.00 USD" in params.message
    page.goto(params.url)
    facts = page.inner_text("#facts")
    assert f"${amount}.00 USD" in facts and "one-off" in facts and "Visa ending 4242" in facts, facts
    page.get_by_role("button", name=button).click()
    page.wait_for_load_state()
    host.clicked.set()
    asking.join(timeout=60)
    assert not asking.is_alive() and results
    return params.url, results[0]


def test_the_url_the_mcp_client_gets_opens_in_chromium_and_approve_charges_once(
        page: Any, host: Host, sandbox: SandboxServer) -> None:
    before, count = ledger(sandbox)
    url, result = _click(page, host, 25, "Approve")
    assert page.get_by_role("heading", name="Approved").is_visible()
    assert result["ok"] is True and result["approval_delivery"] == "url_elicitation", result
    assert ledger(sandbox) == (before + 25, count + 1)
    page.goto(url)  # the used link is dead, in the browser too
    assert page.get_by_role("heading", name="Link not valid").is_visible()
    assert ledger(sandbox) == (before + 25, count + 1)


def test_decline_in_chromium_moves_nothing(page: Any, host: Host, sandbox: SandboxServer) -> None:
    before = ledger(sandbox)
    _, result = _click(page, host, 30, "Decline")
    assert page.get_by_role("heading", name="Declined").is_visible()
    assert result["ok"] is False and result["error"] == "rejected", result
    assert ledger(sandbox) == before
