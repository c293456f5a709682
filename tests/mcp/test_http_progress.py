"""Long calls over streamable HTTP with the official ``mcp`` client: progress, cancellation, URL elicitation.

A flow does its own work in a worker thread (``tools/steps.py``), so a wait's progress is reported from
there; the server hands it to the event loop serving the request. The server runs in-process (its toolkit
polls every 10-50 ms, so a wait takes milliseconds) behind the real HTTP stack, token included, against a
sandbox on loopback that the tests pay through and whose confirm-checkout requests they count.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send
from tests.mcp.mcp_helpers import LoopbackHttp, http_session

from agent_billing.audit import MemoryAuditLog
from agent_billing.client import AsyncBillingClient, BillingClient
from agent_billing.mcp import BillingMCPServer, ElicitationApprover
from agent_billing.sandbox import create_app
from agent_billing.sandbox.server import SandboxServer
from agent_billing.tools import BillingToolkit
from mcp import Client, types

ACCOUNT = "sk_mcp_progress"
HTTP_TOKEN = "progress-" + "t0k" * 12
BOUND = 20.0  # seconds any one step of these tests may take before it counts as hung


class CountConfirms:
    """Counts the sandbox's confirm-checkout requests: each is one poll of a waiting flow."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.count = app, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].endswith("confirm-checkout"):
            self.count += 1
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[SandboxServer, CountConfirms]]:
    app = create_app(tokens=(ACCOUNT,), rate_limit=False)
    counter = CountConfirms(app.router)
    app.router = counter  # type: ignore[assignment]  # in front of the routes, inside the app's own middleware
    with SandboxServer(app=app) as server:
        with BillingClient(base_url=server.base_url, token=ACCOUNT) as client:
            client.add_payment_method("pm_card_visa", make_default=True)
        yield server, counter


@pytest.fixture
def url(sandbox: tuple[SandboxServer, CountConfirms], tmp_path: Path) -> Iterator[str]:
    toolkit = BillingToolkit(async_client=AsyncBillingClient(base_url=sandbox[0].base_url, token=ACCOUNT),
                             approval=ElicitationApprover(), audit=MemoryAuditLog(),
                             store=f"sqlite:///{tmp_path / 'state.db'}", poll_interval=(0.01, 0.05), wait_timeout=BOUND)
    with LoopbackHttp(BillingMCPServer(toolkit).http_app(HTTP_TOKEN)) as served:
        yield served.url


def _pay(sandbox: SandboxServer, session_id: str) -> None:
    """The person pays on the payment page: the sandbox's programmatic completion of that checkout."""
    paid = httpx.post(f"{sandbox.root_url}/sandbox/checkout/{session_id}/complete",
                      headers={"Authorization": f"Bearer {ACCOUNT}"}, json={}, timeout=BOUND)
    assert paid.status_code == 200, paid.text


def _balance(sandbox: SandboxServer) -> Decimal:
    with BillingClient(base_url=sandbox.base_url, token=ACCOUNT) as client:
        return client.get_wallet_balance().balance


def _content(result: types.CallToolResult) -> dict[str, Any]:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return dict(json.loads(block.text))


async def _link(client: Client, amount: int) -> dict[str, Any]:
    """A payment link the agent relays itself (this client declared no URL elicitation)."""
    link = _content(await client.call_tool("payment_links", {"action": "handoff", "purpose": "fund", "amount": amount}))
    assert link["ok"] is True and link["session_id"], link
    return link


def test_wait_reports_strictly_increasing_progress_until_the_payment(
        sandbox: tuple[SandboxServer, CountConfirms], url: str) -> None:
    server = sandbox[0]
    before = _balance(server)
    seen: list[tuple[float, str | None]] = []

    async def run() -> dict[str, Any]:
        async with http_session(url, HTTP_TOKEN) as client:
            link = await _link(client, 30)

            async def progress(value: float, total: float | None, message: str | None) -> None:
                seen.append((value, message))
                if len(seen) == 2:  # midway through the wait, the person pays
                    await asyncio.to_thread(_pay, server, link["session_id"])

            result = await client.call_tool("payment_links", {"action": "wait", "session_id": link["session_id"]},
                                            progress_callback=progress)
            return _content(result)

    content = asyncio.run(asyncio.wait_for(run(), BOUND))
    assert content["ok"] is True and content["status"] == "paid", content
    values = [value for value, _ in seen]
    assert len(values) >= 3 and values == sorted(set(values)), seen  # strictly increasing
    assert seen[-1][1] is not None and seen[-1][1].startswith("Payment received")
    assert _balance(server) == before + 30


def test_a_cancelled_wait_stops_polling(sandbox: tuple[SandboxServer, CountConfirms], url: str) -> None:
    server, confirms = sandbox
    before = _balance(server)
    seen: list[float] = []

    async def run() -> tuple[int, int]:
        async with http_session(url, HTTP_TOKEN) as client:
            link = await _link(client, 35)
            polling = asyncio.Event()

            async def progress(value: float, total: float | None, message: str | None) -> None:
                seen.append(value)
                if len(seen) == 3:
                    polling.set()

            call = asyncio.ensure_future(client.call_tool(
                "payment_links", {"action": "wait", "session_id": link["session_id"]}, progress_callback=progress))
            await asyncio.wait_for(polling.wait(), BOUND)
            call.cancel()  # the host gives up: the client sends notifications/cancelled for the request
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(call, BOUND)
            at_cancel = confirms.count
            # Ten of the longest poll intervals, and a round trip that proves the server still serves.
            await asyncio.sleep(0.5)
            assert _content(await client.call_tool("wallet", {"action": "balance"}))["ok"] is True
            return at_cancel, confirms.count

    at_cancel, after = asyncio.run(asyncio.wait_for(run(), BOUND))
    assert after <= at_cancel + 1  # at most the poll already on the wire when the cancellation arrived
    assert len(seen) >= 3 and _balance(server) == before


def test_a_call_cancelled_while_the_person_is_asked_charges_nothing(
        sandbox: tuple[SandboxServer, CountConfirms], url: str) -> None:
    server = sandbox[0]
    before = _balance(server)

    async def run() -> None:
        calls: list[asyncio.Future[Any]] = []

        async def cancels_then_says_yes(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
            # The host gives up while the person is asked (the client sends notifications/cancelled); the yes
            # follows once the server has long had the cancellation (one local POST), as a late click would.
            calls[0].cancel()
            await asyncio.sleep(0.5)
            return types.ElicitResult(action="accept", content={})

        async with http_session(url, HTTP_TOKEN, elicit=cancels_then_says_yes) as client:
            calls.append(asyncio.ensure_future(client.call_tool("wallet", {"action": "fund", "amount": 40})))
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(calls[0], BOUND)
            await asyncio.sleep(0.5)  # the late yes reaches the server, which must not act on it
            assert _content(await client.call_tool("wallet", {"action": "balance"}))["ok"] is True

    asyncio.run(asyncio.wait_for(run(), BOUND))
    assert _balance(server) == before


def test_url_elicitation_hand_over_reports_progress_from_the_worker_thread(
        sandbox: tuple[SandboxServer, CountConfirms], url: str) -> None:
    server = sandbox[0]
    before = _balance(server)
    pages: list[types.ElicitRequestURLParams] = []
    seen: list[float] = []

    async def opens_the_page(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        assert isinstance(params, types.ElicitRequestURLParams)
        pages.append(params)
        return types.ElicitResult(action="accept")  # opened, not paid yet

    async def run() -> dict[str, Any]:
        async with http_session(url, HTTP_TOKEN, elicit=opens_the_page) as client:
            async def progress(value: float, total: float | None, message: str | None) -> None:
                seen.append(value)
                if len(seen) == 2:
                    await asyncio.to_thread(_pay, server, pages[0].elicitation_id)

            result = await client.call_tool("payment_links", {"action": "handoff", "purpose": "fund", "amount": 45},
                                            progress_callback=progress)
            return _content(result)

    content = asyncio.run(asyncio.wait_for(run(), BOUND))
    assert content["status"] == "paid" and content["delivery"] == "url_elicitation", content
    assert len(pages) == 1 and pages[0].url.startswith(server.root_url)
    assert len(seen) >= 3 and seen == sorted(set(seen))
    assert _balance(server) == before + 45
