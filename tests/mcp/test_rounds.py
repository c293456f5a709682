"""Approvals under MCP 2026-07-28 (stateless): multi-round-trip requests with a sealed, single-use ``requestState``.

The official ``mcp`` 2.x client, connected in-process on the 2026-07-28 path, drives the rounds itself
(``Client.call_tool`` answers ``input_required`` with the elicitation callback), or the tests drive them by
hand (``allow_input_required=True``) to send back an altered, replayed, expired or foreign state. Each test
reads the sandbox ledger: nothing may move without one fresh yes.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.mcp.mcp_helpers import STATELESS, content_of, memory_calls
from tests.store.conftest import fresh_schema
from tests.tools import conftest as tool_fixtures
from tests.tools.conftest import MakeToolkit

from agent_billing.client import BillingClient
from agent_billing.mcp import BillingMCPServer, ElicitationApprover
from mcp import Client, MCPError, types

clients, make_toolkit = tool_fixtures.clients, tool_fixtures.make_toolkit  # the tool tests' fixtures, for pytest
FUND = ("wallet", {"action": "fund", "amount": 25})
KEY = "k" * 40  # the deployment's shared requestState key


def _yes(params: types.ElicitRequestParams) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={})


def _server(make_toolkit: MakeToolkit, tmp_path: Path, store: str | None = None, **options: Any) -> BillingMCPServer:
    toolkit = make_toolkit(approval=ElicitationApprover(), store=store or f"sqlite:///{tmp_path / 'state.db'}")
    return BillingMCPServer(toolkit, state_key=KEY, **options)


def _rounds(server: BillingMCPServer, steps: Callable[[Client], Any]) -> Any:
    """Run ``steps(client)`` with an official 2026-07-28 client in-process (declaring form elicitation)."""

    async def never(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        raise AssertionError("the test drives the rounds itself")

    async def run() -> Any:
        async with Client(server.server, mode=STATELESS, elicitation_callback=never) as client:
            return await steps(client)

    return asyncio.run(run())


async def _ask(client: Client) -> types.InputRequiredResult:
    first = await client.session.call_tool(*FUND, allow_input_required=True)
    assert isinstance(first, types.InputRequiredResult), first
    return first


async def _answer(client: Client, state: str | None, action: str = "accept") -> tuple[dict[str, Any], bool]:
    answered = await client.session.call_tool(
        *FUND, input_responses={"approval": types.ElicitResult(action=action, content={})},  # type: ignore[arg-type]
        request_state=state, allow_input_required=True)
    assert isinstance(answered, types.CallToolResult), answered
    return content_of(answered)


@pytest.fixture
def card(client: BillingClient) -> BillingClient:
    client.add_payment_method("pm_card_visa", make_default=True)
    return client


def test_the_official_client_answers_the_round_and_the_yes_charges_once(
        make_toolkit: MakeToolkit, card: BillingClient, tmp_path: Path) -> None:
    asked: list[types.ElicitRequestParams] = []

    def yes(params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params)
        return _yes(params)

    [(content, is_error)] = memory_calls(_server(make_toolkit, tmp_path), [FUND], yes, mode=STATELESS)
    assert not is_error and content["ok"] is True, content
    assert content["approved_by"].startswith("mcp input response via ")
    [form] = asked
    assert isinstance(form, types.ElicitRequestFormParams) and "$25.00" in form.message and "4242" in form.message
    assert card.get_wallet_balance().balance == 25


def test_a_declined_round_moves_nothing(make_toolkit: MakeToolkit, card: BillingClient, tmp_path: Path) -> None:
    no = lambda params: types.ElicitResult(action="decline")  # noqa: E731
    [(content, is_error)] = memory_calls(_server(make_toolkit, tmp_path), [FUND], no, mode=STATELESS)
    assert is_error and content["error"] == "rejected"
    assert card.get_wallet_balance().balance == 0


def test_the_form_asks_for_nothing_least_of_all_payment_credentials(
        make_toolkit: MakeToolkit, card: BillingClient, tmp_path: Path) -> None:
    first = _rounds(_server(make_toolkit, tmp_path), _ask)
    [(key, request)] = first.input_requests.items()
    assert key == "approval" and isinstance(request, types.ElicitRequest)
    assert isinstance(request.params, types.ElicitRequestFormParams)
    assert request.params.requested_schema == {"type": "object", "properties": {}}  # yes or no, no fields
    assert first.request_state and "conf_" not in first.request_state  # sealed: the token inside is not readable
    assert card.get_wallet_balance().balance == 0  # asking moved nothing


def test_a_replayed_state_moves_nothing(make_toolkit: MakeToolkit, card: BillingClient, tmp_path: Path) -> None:
    async def steps(client: Client) -> list[tuple[dict[str, Any], bool]]:
        state = (await _ask(client)).request_state
        return [await _answer(client, state), await _answer(client, state)]

    (first, first_error), (replay, replay_error) = _rounds(_server(make_toolkit, tmp_path), steps)
    assert not first_error and first["ok"] is True
    assert replay_error and replay["error"] == "approval_state_invalid"
    assert card.get_wallet_balance().balance == 25  # once


@pytest.mark.parametrize("tamper", [lambda s: s[:-2] + ("AA" if s[-2:] != "AA" else "BB"), lambda s: s[:10],
                                    lambda s: "v1." + s[3:][::-1], lambda s: json.dumps({"token": "conf_x"})])
def test_an_altered_state_moves_nothing(make_toolkit: MakeToolkit, card: BillingClient, tmp_path: Path,
                                        tamper: Callable[[str], str]) -> None:
    async def steps(client: Client) -> None:
        state = (await _ask(client)).request_state
        assert state is not None
        with pytest.raises(MCPError, match="Invalid or expired requestState"):
            await _answer(client, tamper(state))

    _rounds(_server(make_toolkit, tmp_path), steps)
    assert card.get_wallet_balance().balance == 0


def test_an_expired_state_moves_nothing(make_toolkit: MakeToolkit, card: BillingClient, tmp_path: Path) -> None:
    server = _server(make_toolkit, tmp_path)
    now = [1_800_000_000.0]
    server.toolkit.guard.clock = lambda: now[0]

    async def steps(client: Client) -> tuple[dict[str, Any], bool]:
        state = (await _ask(client)).request_state
        now[0] += 6 * 60  # past the five minutes the person has to answer
        return await _answer(client, state)

    content, is_error = _rounds(server, steps)
    assert is_error and content["error"] == "approval_state_invalid"
    assert card.get_wallet_balance().balance == 0


def test_another_principals_state_moves_nothing(make_toolkit: MakeToolkit, card: BillingClient, tmp_path: Path) -> None:
    who = ["alice"]
    server = _server(make_toolkit, tmp_path, principal=lambda ctx: who[0])

    async def steps(client: Client) -> None:
        state = (await _ask(client)).request_state
        who[0] = "mallory"  # another caller presents alice's state with a yes of their own
        with pytest.raises(MCPError, match="Invalid or expired requestState"):
            await _answer(client, state)

    _rounds(server, steps)
    assert card.get_wallet_balance().balance == 0
    # Below the SDK's seal, too: the single-use record is bound to the principal (an unsealed state for alice).
    state = server.rounds.issue(_pending_request(), "alice")
    assert server.rounds.redeem(state, "mallory") is None and server.rounds.redeem(state, "alice") is not None


def _pending_request() -> Any:
    from agent_billing.guardrails.approval import ApprovalRequest

    return ApprovalRequest(operation="x", effect="charge", summary="s", intent_digest="d" * 64)


@pytest.fixture
def postgres_store() -> Iterator[str]:
    with fresh_schema() as url:
        yield url


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_one_use_holds_across_workers(make_toolkit: MakeToolkit, card: BillingClient, tmp_path: Path,
                                      backend: str, request: pytest.FixtureRequest) -> None:
    """Two workers of one deployment (same key, same store): a state asked at one is redeemable once at either."""
    store = request.getfixturevalue("postgres_store") if backend == "postgresql" else None
    first, second = _server(make_toolkit, tmp_path, store), _server(make_toolkit, tmp_path, store)

    state = _rounds(first, _ask).request_state
    content, is_error = _rounds(second, lambda client: _answer(client, state))
    assert not is_error and content["ok"] is True, content
    replay, replay_error = _rounds(first, lambda client: _answer(client, state))
    assert replay_error and replay["error"] == "approval_state_invalid"
    assert card.get_wallet_balance().balance == 25


def test_over_stdio_and_http_the_stateless_yes_charges_and_the_no_does_not(
        make_toolkit: MakeToolkit, card: BillingClient, tmp_path: Path) -> None:
    """The official client over the real transports, 2026-07-28: stdio (a server process) and streamable HTTP."""
    from tests.mcp.mcp_helpers import LoopbackHttp, StdioSession, http_session, server_env

    from agent_billing.sandbox.server import SandboxServer

    token = "rounds-" + "t0k" * 12
    with LoopbackHttp(_server(make_toolkit, tmp_path).http_app(token)) as served:
        async def over_http() -> list[tuple[dict[str, Any], bool]]:
            out = []
            for action in ("accept", "decline"):
                async def answer(context: Any, params: types.ElicitRequestParams, action: str = action) -> Any:
                    return types.ElicitResult(action=action, content={})  # type: ignore[arg-type]

                async with http_session(served.url, token, elicit=answer, mode=STATELESS) as client:
                    assert client.protocol_version == STATELESS
                    out.append(content_of(await client.call_tool(*FUND)))
            return out

        (yes, yes_error), (no, no_error) = asyncio.run(over_http())
    assert not yes_error and yes["ok"] is True and no_error and no["error"] == "rejected"
    assert card.get_wallet_balance().balance == 25

    with SandboxServer(tokens=("sk_rounds_stdio",), rate_limit=False) as sandbox:
        ledger = BillingClient(base_url=sandbox.base_url, token="sk_rounds_stdio")
        ledger.add_payment_method("pm_card_visa", make_default=True)
        session = StdioSession([], server_env(sandbox.base_url, "sk_rounds_stdio", tmp_path), tmp_path / "err.txt",
                               mode=STATELESS).start()
        try:
            session.on_elicit = _yes
            content, is_error = session.call("wallet", action="fund", amount=15)
            assert not is_error and content["ok"] is True, content
            assert len(session.elicitations) == 1 and ledger.get_wallet_balance().balance == 15
        finally:
            session.close()


def test_a_payment_page_goes_out_by_url_in_a_round_and_the_next_round_waits_for_the_payment(tmp_path: Path) -> None:
    import httpx
    from tests.mcp.mcp_helpers import StdioSession, server_env

    from agent_billing.sandbox.server import SandboxServer

    token = "sk_rounds_page"
    with SandboxServer(tokens=(token,), rate_limit=False) as sandbox:
        ledger = BillingClient(base_url=sandbox.base_url, token=token)
        session = StdioSession([], server_env(sandbox.base_url, token, tmp_path), tmp_path / "err.txt",
                               mode=STATELESS).start()
        try:
            def person_pays(params: types.ElicitRequestParams) -> types.ElicitResult:
                assert isinstance(params, types.ElicitRequestURLParams) and params.url.startswith(sandbox.root_url)
                # 2026-07-28 has no elicitationId: the page's own URL names its checkout session.
                [checkout] = re.findall(r"cs_[A-Za-z0-9_]+", params.url)
                paid = httpx.post(f"{sandbox.root_url}/sandbox/checkout/{checkout}/complete",
                                  headers={"Authorization": f"Bearer {token}"}, json={})
                assert paid.status_code == 200, paid.text
                return types.ElicitResult(action="accept")

            session.on_elicit = person_pays
            content, is_error = session.call("payment_links", action="handoff", purpose="fund", amount=40)
            assert not is_error and content["status"] == "paid" and content["delivery"] == "url_elicitation", content
            assert len(session.elicitations) == 1 and ledger.get_wallet_balance().balance == 40
            session.on_elicit = lambda params: types.ElicitResult(action="decline")
            content, is_error = session.call("payment_links", action="handoff", purpose="fund", amount=45)
            assert is_error and content["error"] == "person_declined" and content["payment_url"]
            assert ledger.get_wallet_balance().balance == 40
        finally:
            session.close()
