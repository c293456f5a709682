"""Exactly what the person approved, exactly once: attempts to charge something else, or twice.

Each test tries one way around the promise, as an attacker or an unlucky network would: the default
card swapped between the question and the answer (callback, interrupt, two conversations, parallel
calls, confirmation tokens, the middleware), a committed charge answered with an unreadable 2xx, the
middleware approver without its middleware, and a person's yes above a hard mandate limit.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from tests.conftest import TOKEN
from tests.tools.conftest import MakeToolkit, acall, call

from agent_billing.audit import MemoryAuditLog
from agent_billing.client import AsyncBillingClient, BillingClient
from agent_billing.demo.scripted_model import ScriptedChatModel, tool_call
from agent_billing.errors import OutcomeUnknownError, UnexpectedResponseError
from agent_billing.guardrails.approval import ApprovalRequest
from agent_billing.guardrails.approval_records import ApprovalRecords
from agent_billing.guardrails.mandate import Mandate
from agent_billing.guardrails.pending_outcomes import PendingOutcomes
from agent_billing.guardrails.spend_store import SqliteSpendStore
from agent_billing.inprocess import SANDBOX_BASE_URL, SyncASGITransport
from agent_billing.retry import RetryPolicy
from agent_billing.tools import BillingToolkit

VISA, MASTERCARD = "pm_card_visa", "pm_card_mastercard"


def payments(app: Any) -> list[tuple[str, int, str]]:
    """(card, cents, status) of every card payment the sandbox made, read from its ledger."""
    rows = app.state.sandbox.ledger.rows("SELECT payment_method_id, amount_cents, status FROM payment_intents "
                                          "ORDER BY created_at")
    return [(row[0], row[1], row[2]) for row in rows]


@pytest.fixture
def two_cards(clients: Any) -> BillingClient:
    """Visa (the default) and Mastercard saved on the account."""
    client: BillingClient = clients[0]
    client.add_payment_method(MASTERCARD, make_default=False)
    client.add_payment_method(VISA, make_default=True)
    return client


def swap_default(client: BillingClient) -> None:
    client.set_default_payment_method(MASTERCARD)


# --- (a) the card approved is the card charged, or nothing is

@pytest.mark.parametrize("action, args", [("fund", {"amount": 20}), ("charge_amount", {"amount": 20})])
def test_default_swapped_while_the_person_decides_charges_nothing(
        make_toolkit: MakeToolkit, two_cards: BillingClient, sandbox_app: Any, action: str, args: dict[str, Any]) -> None:
    asked: list[ApprovalRequest] = []

    def person(request: ApprovalRequest) -> bool:
        asked.append(request)
        swap_default(two_cards)  # someone else changes the default while the person reads "Visa ending 4242"
        return True

    audit = MemoryAuditLog()
    group = "wallet" if action == "fund" else "subscriptions"
    content, message = call(make_toolkit(approval=person, audit=audit).get_tool(group), action=action, **args)
    assert "Visa ending 4242" in asked[0].summary
    assert content["error"] == "intent_changed" and message.status == "error"
    assert "Mastercard ending 4444" in content["message"] and "nothing was charged" in content["message"]
    assert payments(sandbox_app) == []
    assert [e.decision for e in audit.events][-1] == "changed"


async def test_default_swapped_while_deciding_async(make_toolkit: MakeToolkit, two_cards: BillingClient,
                                                    sandbox_app: Any) -> None:
    async def person(request: ApprovalRequest) -> bool:
        await asyncio.to_thread(swap_default, two_cards)
        return True

    content, _ = await acall(make_toolkit(approval=person).get_tool("wallet"), action="fund", amount=20)
    assert content["error"] == "intent_changed" and payments(sandbox_app) == []


def test_a_second_ask_shows_the_new_card_and_charges_it(make_toolkit: MakeToolkit, two_cards: BillingClient,
                                                         sandbox_app: Any) -> None:
    asked: list[str] = []
    swapped = False

    def person(request: ApprovalRequest) -> bool:
        nonlocal swapped
        asked.append(request.summary)
        if not swapped:
            swapped = True
            swap_default(two_cards)
        return True

    wallet = make_toolkit(approval=person).get_tool("wallet")
    first, _ = call(wallet, action="fund", amount=20)
    second, _ = call(wallet, action="fund", amount=20)
    assert first["error"] == "intent_changed" and second["ok"]
    assert "Mastercard ending 4444" in asked[1]
    assert payments(sandbox_app) == [(MASTERCARD, 2000, "succeeded")]  # the card the person saw the second time


def test_the_charge_names_the_approved_card_explicitly(make_toolkit: MakeToolkit, two_cards: BillingClient,
                                                       sandbox_app: Any) -> None:
    sent: list[dict[str, Any]] = []
    two_cards._http.event_hooks["request"].append(
        lambda request: sent.append(json.loads(request.read() or b"{}")) if request.url.path.endswith("/fund") else None)
    content, _ = call(make_toolkit(approval=lambda request: True).get_tool("wallet"), action="fund", amount=20)
    assert content["ok"] and sent == [{"amount": 20.0, "payment_method_id": VISA}]  # never "the default"


def test_interrupt_then_swap_then_approve_charges_nothing(make_toolkit: MakeToolkit, two_cards: BillingClient,
                                                          sandbox_app: Any) -> None:
    model = ScriptedChatModel(turns=[tool_call("wallet", action="fund", amount=20)], final="Done.")
    agent = create_agent(model, make_toolkit(approval="interrupt").get_tools(), checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "swap"}}
    paused = agent.invoke({"messages": [("user", "top up")]}, config)
    assert "Visa ending 4242" in paused["__interrupt__"][0].value["summary"]
    swap_default(two_cards)
    done = agent.invoke(Command(resume="approve"), config)
    last = [m for m in done["messages"] if isinstance(m, ToolMessage)][-1]
    assert json.loads(str(last.content))["error"] == "intent_changed"
    assert payments(sandbox_app) == []


def test_two_conversations_sharing_a_toolkit(make_toolkit: MakeToolkit, two_cards: BillingClient,
                                             sandbox_app: Any) -> None:
    toolkit = make_toolkit(approval="interrupt")
    saver = InMemorySaver()
    payer = create_agent(ScriptedChatModel(turns=[tool_call("wallet", action="fund", amount=20)], final="Done."),
                         toolkit.get_tools(), checkpointer=saver)
    other = create_agent(ScriptedChatModel(turns=[tool_call("payment_methods", action="set_default",
                                                            payment_method_id=MASTERCARD)], final="Done."),
                         toolkit.get_tools(), checkpointer=saver)
    first = {"configurable": {"thread_id": "first"}}
    second = {"configurable": {"thread_id": "second"}}
    payer.invoke({"messages": [("user", "top up")]}, first)
    # A new default card is a standing authorisation: it is asked too, and approved in the other conversation.
    asked = other.invoke({"messages": [("user", "use my mastercard")]}, second)
    assert "Mastercard ending 4444" in asked["__interrupt__"][0].value["summary"]
    other.invoke(Command(resume="approve"), second)
    payer.invoke(Command(resume="approve"), first)
    assert payments(sandbox_app) == []


@pytest.mark.parametrize("run", range(4))
def test_parallel_charge_and_default_change_in_one_turn(make_toolkit: MakeToolkit, two_cards: BillingClient,
                                                        sandbox_app: Any, run: int) -> None:
    calls = [{"name": "wallet", "args": {"action": "fund", "amount": 20}, "id": f"f{run}", "type": "tool_call"},
             {"name": "payment_methods", "args": {"action": "set_default", "payment_method_id": MASTERCARD},
              "id": f"d{run}", "type": "tool_call"}]
    if run % 2:
        calls.reverse()
    model = ScriptedChatModel(turns=[AIMessage(content="", tool_calls=calls)], final="Done.")
    agent = create_agent(model, make_toolkit(approval="interrupt").get_tools(), checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": f"parallel-{run}"}}
    paused = agent.invoke({"messages": [("user", "top up and switch cards")]}, config)
    # Both are asked (a new default card is a standing authorisation); the person approves both.
    shown = next(i.value["summary"] for i in paused["__interrupt__"] if i.value["operation"] == "fund_wallet")
    agent.invoke(Command(resume={i.id: "approve" for i in paused["__interrupt__"]}), config)
    charged = payments(sandbox_app)
    # Whatever the order: the card the person saw is charged, or nothing is. Never the other one.
    assert charged in ([], [(VISA if "Visa" in shown else MASTERCARD, 2000, "succeeded")])


def test_confirmation_token_does_not_follow_a_swapped_default(make_toolkit: MakeToolkit, two_cards: BillingClient,
                                                              sandbox_app: Any, tmp_path: Path) -> None:
    toolkit = make_toolkit(approval="confirmation", mandate=Mandate(max_per_charge="50"),
                           spend_store=SqliteSpendStore(tmp_path / "s.db"))
    wallet = toolkit.get_tool("wallet")
    issued, _ = call(wallet, action="fund", amount=20)
    assert "Visa ending 4242" in issued["summary"]
    swap_default(two_cards)
    redeemed, _ = call(wallet, action="fund", amount=20, confirmation=issued["confirmation"])
    assert not redeemed["ok"] and redeemed["error"] == "confirmation_invalid"
    assert payments(sandbox_app) == []
    fresh, _ = call(wallet, action="fund", amount=20)
    assert "Mastercard ending 4444" in fresh["summary"]


def test_middleware_yes_does_not_follow_a_swapped_default(make_toolkit: MakeToolkit, two_cards: BillingClient,
                                                          sandbox_app: Any) -> None:
    toolkit = make_toolkit(approval="middleware")
    model = ScriptedChatModel(turns=[tool_call("wallet", action="fund", amount=20)], final="Done.")
    agent = create_agent(model, toolkit.get_tools(), middleware=[toolkit.middleware()], checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "mw-swap"}}
    paused = agent.invoke({"messages": [("user", "top up")]}, config)
    assert "Visa ending 4242" in paused["__interrupt__"][0].value["action_requests"][0]["description"]
    swap_default(two_cards)
    agent.invoke(Command(resume={"decisions": [{"type": "approve"}]}), config)
    assert payments(sandbox_app) == []


# --- (b) an unreadable 2xx after the charge committed is an unknown outcome, and repeats replay

GARBLED = {
    "nan": b'{"data": {"amount": NaN}, "error": null}',
    "html": b"<html><body>502 Bad Gateway</body></html>",
    "truncated": b'{"data": {"message": "Wallet fun',
    "empty": b"",
    "no_envelope": b'{"message": "ok"}',
    "wrong_types": b'{"data": {"amount": "lots", "balance": []}, "error": null}',
    "deep": b"[" * 100_000 + b"]" * 100_000,
}


class Garble(httpx.BaseTransport):
    """A proxy that lets the sandbox commit each charge, then replaces the 2xx answer's body."""

    def __init__(self, inner: httpx.BaseTransport, body: bytes) -> None:
        self.inner, self.body = inner, body

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/wallet/fund") and response.status_code < 300:
            return httpx.Response(response.status_code, headers={"Content-Type": "application/json"},
                                  content=self.body, request=request)
        return response


class AsyncGarble(httpx.AsyncBaseTransport):
    """Async twin of ``Garble``."""

    def __init__(self, inner: httpx.AsyncBaseTransport, body: bytes) -> None:
        self.inner, self.body = inner, body

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path.endswith("/wallet/fund") and response.status_code < 300:
            await response.aread()
            return httpx.Response(response.status_code, content=self.body, request=request)
        return response


def _garbled_toolkit(app: Any, body: bytes, state: Path, **kwargs: Any) -> BillingToolkit:
    client = BillingClient(base_url=SANDBOX_BASE_URL, token=TOKEN, transport=Garble(SyncASGITransport(app), body),
                           retry=RetryPolicy(max_retries=1, base_delay=0.001))
    return BillingToolkit(client=client, approval=lambda request: True, audit=MemoryAuditLog(),
                          pending_outcomes=PendingOutcomes(state / "pending.db"),
                          approval_records=ApprovalRecords(state / "approvals.db"), **kwargs)


@pytest.mark.parametrize("kind", sorted(GARBLED))
def test_unreadable_answer_to_a_committed_charge_charges_once(sandbox_app: Any, two_cards: BillingClient,
                                                               tmp_path: Path, kind: str) -> None:
    toolkit = _garbled_toolkit(sandbox_app, GARBLED[kind], tmp_path)
    results = [call(toolkit.get_tool("wallet"), action="fund", amount=10)[0] for _ in range(3)]
    restarted = _garbled_toolkit(sandbox_app, GARBLED[kind], tmp_path)  # a fresh toolkit on the same state
    results.append(call(restarted.get_tool("wallet"), action="fund", amount=10)[0])
    assert all(result["ok"] is False and result["error"] == "outcome_unknown" for result in results), results
    assert "transactions" in results[0]["next_step"]
    assert payments(sandbox_app) == [(VISA, 1000, "succeeded")]  # one charge for four calls
    sandbox_app.state.sandbox.ledger.check_invariants()


def test_the_repeat_reports_the_real_outcome_once_the_answer_is_readable(
        sandbox_app: Any, two_cards: BillingClient, tmp_path: Path) -> None:
    garbled = _garbled_toolkit(sandbox_app, GARBLED["html"], tmp_path)
    first, _ = call(garbled.get_tool("wallet"), action="fund", amount=10)
    healthy = BillingToolkit(client=BillingClient(base_url=SANDBOX_BASE_URL, token=TOKEN,
                                                  transport=SyncASGITransport(sandbox_app)),
                             approval=lambda request: False, audit=MemoryAuditLog(),
                             pending_outcomes=PendingOutcomes(tmp_path / "pending.db"))
    again, _ = call(healthy.get_tool("wallet"), action="fund", amount=10)  # no new yes needed: it is the same charge
    assert first["error"] == "outcome_unknown" and again["ok"] and "nothing was charged twice" in again["note"]
    assert payments(sandbox_app) == [(VISA, 1000, "succeeded")]


def test_unknown_outcome_keeps_the_mandate_reservation(sandbox_app: Any, two_cards: BillingClient,
                                                       tmp_path: Path) -> None:
    store = SqliteSpendStore(tmp_path / "spend.db")
    toolkit = _garbled_toolkit(sandbox_app, GARBLED["truncated"], tmp_path,
                               mandate=Mandate(max_per_charge="30", max_per_24h="30", auto_approve=True),
                               spend_store=store)
    first, _ = call(toolkit.get_tool("wallet"), action="fund", amount=25)
    other, _ = call(toolkit.get_tool("wallet"), action="fund", amount=10)  # would exceed the cap with the first
    assert first["error"] == "outcome_unknown" and other["error"] == "refused"
    assert payments(sandbox_app) == [(VISA, 2500, "succeeded")]


async def test_unreadable_answer_async(sandbox_app: Any, two_cards: BillingClient, tmp_path: Path) -> None:
    inner = httpx.ASGITransport(app=sandbox_app)
    client = AsyncBillingClient(base_url=SANDBOX_BASE_URL, token=TOKEN, transport=AsyncGarble(inner, GARBLED["nan"]),
                                retry=RetryPolicy(max_retries=0))
    toolkit = BillingToolkit(async_client=client, approval=lambda request: True, audit=MemoryAuditLog(),
                             pending_outcomes=PendingOutcomes(tmp_path / "p.db"))
    results = [(await acall(toolkit.get_tool("wallet"), action="fund", amount=10))[0] for _ in range(3)]
    assert [r["error"] for r in results] == ["outcome_unknown"] * 3
    assert payments(sandbox_app) == [(VISA, 1000, "succeeded")]


@pytest.mark.parametrize("kind", sorted(GARBLED))
def test_client_raises_only_documented_errors(sandbox_app: Any, two_cards: BillingClient, kind: str) -> None:
    client = BillingClient(base_url=SANDBOX_BASE_URL, token=TOKEN, retry=RetryPolicy.none(),
                           transport=Garble(SyncASGITransport(sandbox_app), GARBLED[kind]))
    with pytest.raises(OutcomeUnknownError) as info:
        client.fund_wallet(Decimal("10"), VISA)
    assert info.value.idempotency_key and info.value.idempotency_key.startswith("ab_")


@pytest.mark.parametrize("body", [b"[" * 50_000, b'{"data": {"balance": Infinity}}', b"\xff\xfe", b'{"data": 3}'])
def test_unreadable_reads_are_typed_errors(body: bytes) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)

    client = BillingClient(base_url=SANDBOX_BASE_URL, token=TOKEN, transport=httpx.MockTransport(answer),
                           retry=RetryPolicy.none())
    with pytest.raises(UnexpectedResponseError):
        client.get_wallet_balance()


# --- (c) approval="middleware" without the middleware moves nothing

def test_middleware_approval_without_the_middleware_refuses(make_toolkit: MakeToolkit, two_cards: BillingClient,
                                                            sandbox_app: Any) -> None:
    toolkit = make_toolkit(approval="middleware")
    content, message = call(toolkit.get_tool("wallet"), action="fund", amount=50)
    assert message.status == "error" and "toolkit.middleware()" in content["message"]
    plain = create_agent(ScriptedChatModel(turns=[tool_call("wallet", action="fund", amount=50)], final="Done."),
                         toolkit.get_tools(), checkpointer=InMemorySaver())
    plain.invoke({"messages": [("user", "top up")]}, {"configurable": {"thread_id": "no-mw"}})
    assert payments(sandbox_app) == []


# --- (d) the toolkit's middleware: per action, redacted, parallel calls, card data never interrupts

def test_middleware_with_parallel_calls_in_one_turn(make_toolkit: MakeToolkit, two_cards: BillingClient,
                                                    sandbox_app: Any) -> None:
    toolkit = make_toolkit(approval="middleware")
    turn = AIMessage(content="", tool_calls=[
        {"name": "wallet", "args": {"action": "balance"}, "id": "m0", "type": "tool_call"},
        {"name": "wallet", "args": {"action": "fund", "amount": 20}, "id": "m1", "type": "tool_call"},
        {"name": "wallet", "args": {"action": "fund", "amount": 30}, "id": "m2", "type": "tool_call"},
    ])
    agent = create_agent(ScriptedChatModel(turns=[turn], final="Done."), toolkit.get_tools(),
                         middleware=[toolkit.middleware()], checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "mw-parallel"}}
    paused = agent.invoke({"messages": [("user", "two top-ups")]}, config)
    requests = paused["__interrupt__"][0].value["action_requests"]
    assert [r["description"].split(" to ")[0] for r in requests] == ["Charge $20.00 USD", "Charge $30.00 USD"]
    done = agent.invoke(Command(resume={"decisions": [{"type": "reject"}, {"type": "approve"}]}), config)
    assert payments(sandbox_app) == [(VISA, 3000, "succeeded")]
    contents = {m.tool_call_id: json.loads(str(m.content)) for m in done["messages"] if isinstance(m, ToolMessage)}
    assert contents["m1"]["error"] == "rejected" and contents["m2"]["ok"] and contents["m0"]["ok"]


def test_middleware_never_interrupts_for_card_data_and_the_tool_refuses(make_toolkit: MakeToolkit,
                                                                        two_cards: BillingClient,
                                                                        sandbox_app: Any) -> None:
    toolkit = make_toolkit(approval="middleware")
    model = ScriptedChatModel(turns=[tool_call("wallet", action="fund", amount=20, cvc="123")], final="Done.")
    agent = create_agent(model, toolkit.get_tools(), middleware=[toolkit.middleware()], checkpointer=InMemorySaver())
    result = agent.invoke({"messages": [("user", "top up")]}, {"configurable": {"thread_id": "mw-card"}})
    assert "__interrupt__" not in result
    refusal = [m for m in result["messages"] if isinstance(m, ToolMessage)][-1]
    assert json.loads(str(refusal.content))["error"] == "card_data_not_allowed"
    assert payments(sandbox_app) == []


def test_middleware_edit_or_garbage_decisions_count_as_no(make_toolkit: MakeToolkit, two_cards: BillingClient,
                                                          sandbox_app: Any) -> None:
    toolkit = make_toolkit(approval="middleware")
    model = ScriptedChatModel(turns=[tool_call("wallet", action="fund", amount=20)], final="Done.")
    agent = create_agent(model, toolkit.get_tools(), middleware=[toolkit.middleware()], checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "mw-edit"}}
    agent.invoke({"messages": [("user", "top up")]}, config)
    edit = {"type": "edit", "edited_action": {"name": "wallet", "args": {"action": "fund", "amount": 2000}}}
    agent.invoke(Command(resume={"decisions": [edit]}), config)
    assert payments(sandbox_app) == []


# --- (e) a person's yes does not lift a hard mandate limit

@pytest.mark.parametrize("action, args", [("fund", {"amount": 75}),
                                          ("create", {"plan_id": 11, "payment_method_id": VISA})])
def test_a_yes_above_a_hard_limit_moves_nothing(make_toolkit: MakeToolkit, two_cards: BillingClient, sandbox_app: Any,
                                               tmp_path: Path, action: str, args: dict[str, Any]) -> None:
    asked: list[ApprovalRequest] = []
    toolkit = make_toolkit(approval=lambda request: asked.append(request) or True,
                           mandate=Mandate(max_per_charge="50", allowed_plan_ids={10}),
                           spend_store=SqliteSpendStore(tmp_path / "s.db"))
    content, _ = call(toolkit.get_tool("wallet" if action == "fund" else "subscriptions"), action=action, **args)
    assert content["error"] == "refused" and "not even with a person's yes" in content["message"]
    assert asked == [] and payments(sandbox_app) == []


def test_the_middleware_needs_the_middleware_approval_setting(make_toolkit: MakeToolkit) -> None:
    with pytest.raises(ValueError, match="approval='middleware'"):
        make_toolkit(approval="interrupt").middleware()


def test_a_no_is_not_reused_when_a_model_repeats_a_tool_call_id(make_toolkit: MakeToolkit, two_cards: BillingClient,
                                                                sandbox_app: Any) -> None:
    answers = iter([False, True])
    asked: list[str] = []

    def person(request: ApprovalRequest) -> bool:
        asked.append(request.summary)
        return next(answers)

    wallet = make_toolkit(approval=person).get_tool("wallet")
    no, _ = call(wallet, "call_0", action="fund", amount=20)
    swap_default(two_cards)
    yes, _ = call(wallet, "call_0", action="fund", amount=25)  # some models number their calls call_0, call_1...
    assert no["error"] == "rejected" and yes["ok"]
    assert payments(sandbox_app) == [(MASTERCARD, 2500, "succeeded")] and "Mastercard" in asked[1]


def test_a_missing_scope_for_the_intents_reads_says_so(tmp_path: Path) -> None:
    """The token may charge but not read the saved cards: the refusal names the scope, not 'try again'."""
    from agent_billing.inprocess import sandbox_clients
    from agent_billing.sandbox import create_app

    app = create_app(rate_limit=False, scoped_tokens={"sk_wallet_only": ["wallet:read", "wallet:write"]})
    client, _ = sandbox_clients(app, token="sk_wallet_only")
    tools = BillingToolkit(client=client, approval=lambda request: True, audit=MemoryAuditLog(),
                           pending_outcomes=PendingOutcomes(tmp_path / "p.db"))
    content, _ = call(tools.get_tool("wallet"), action="fund", amount=20)
    assert content["error"] == "refused" and "Nothing was charged" in content["message"]
    assert "billing:read" in content["message"] and "try again shortly" not in content["message"].lower()
    assert payments(app) == []


async def test_middleware_async_agent(make_toolkit: MakeToolkit, two_cards: BillingClient, sandbox_app: Any) -> None:
    toolkit = make_toolkit(approval="middleware")
    model = ScriptedChatModel(turns=[tool_call("wallet", action="fund", amount=20)], final="Done.")
    agent = create_agent(model, toolkit.get_tools(), middleware=[toolkit.middleware()], checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "mw-async"}}
    paused = await agent.ainvoke({"messages": [("user", "top up")]}, config)
    assert "Visa ending 4242" in paused["__interrupt__"][0].value["action_requests"][0]["description"]
    await agent.ainvoke(Command(resume={"decisions": [{"type": "approve"}]}), config)
    assert payments(sandbox_app) == [(VISA, 2000, "succeeded")]
