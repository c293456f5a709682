"""Standing authorisations: what later charges hit, and how much they can be, needs a yes like a charge.

Issue 17, findings 2, 3, 5 and 7, tried the way they were found: a person approves auto-funding on the
Visa, then the agent swaps the default card (set_default, add as default) with nobody asked, and the next
automatic charge hits the other card; a per-charge-only mandate auto-approves unbounded auto-funding; a
plan's billing period changes after the yes; a declined top-up is asked again under other wording.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from tests.tools.conftest import MakeToolkit, call

from agent_billing.audit import MemoryAuditLog
from agent_billing.client import BillingClient
from agent_billing.demo.scripted_model import ScriptedChatModel, tool_call
from agent_billing.guardrails.approval import ApprovalRequest
from agent_billing.guardrails.intent import ChargeIntent, PlanRef
from agent_billing.guardrails.mandate import Mandate
from agent_billing.guardrails.spend_store import SqliteSpendStore

VISA, AMEX, MASTERCARD = "pm_card_visa", "pm_card_amex", "pm_card_mastercard"


def payments(app: Any) -> list[tuple[str, int, str]]:
    """(card, cents, purpose) of every successful card payment, from the sandbox's ledger."""
    rows = app.state.sandbox.ledger.rows("SELECT payment_method_id, amount_cents, purpose FROM payment_intents "
                                          "WHERE status = 'succeeded' ORDER BY created_at")
    return [(row[0], row[1], row[2]) for row in rows]


def usage(root: Any, amount: str) -> dict[str, Any]:
    """The platform debits API usage (auto-funding runs when the balance falls below its threshold)."""
    answer = root.post("/sandbox/usage", json={"amount": amount})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]  # type: ignore[no-any-return]


class Person:
    """An approver who says yes to the operations named, no to everything else, and remembers what it read."""

    def __init__(self, *yes: str) -> None:
        self.yes, self.asked = set(yes), []  # type: ignore[var-annotated]

    def __call__(self, request: ApprovalRequest) -> bool:
        self.asked.append(request)
        return request.operation in self.yes


@pytest.fixture
def visa(clients: Any) -> BillingClient:
    """Visa saved as the default, Amex saved (trusted code saved both; the agent saved nothing)."""
    client: BillingClient = clients[0]
    client.add_payment_method(AMEX, make_default=False)
    client.add_payment_method(VISA, make_default=True)
    return client


# --- finding 2: a new default card carries the approved auto-funding, so it is asked, and a no changes nothing

def test_a_default_card_swap_after_approved_auto_funding_is_asked_and_a_no_keeps_the_visa(
        make_toolkit: MakeToolkit, visa: BillingClient, sandbox_app: Any, sandbox_root: Any) -> None:
    person = Person("enable_auto_funding")
    toolkit = make_toolkit(approval=person)
    enabled, _ = call(toolkit.get_tool("wallet"), action="enable_auto_funding", auto_charge_amount=25,
                      charge_threshold=5)
    assert enabled["ok"] and "$25.00 to Visa ending 4242" in person.asked[0].summary

    swapped, _ = call(toolkit.get_tool("payment_methods"), action="set_default", payment_method_id=AMEX)
    added, _ = call(toolkit.get_tool("payment_methods"), action="add", payment_method_id=MASTERCARD,
                    make_default=True)
    assert [r.operation for r in person.asked] == ["enable_auto_funding", "set_default_payment_method",
                                                   "add_payment_method"]
    for request, card in zip(person.asked[1:], ("Amex ending 0005", MASTERCARD), strict=True):
        # The intent names the card and the standing authorisations it would carry.
        assert request.effect == "authorize" and card in request.summary
        assert "automatic recharges of $25.00 whenever the balance falls below $5.00" in request.summary
        assert "instead of Visa ending 4242" in request.summary
    assert swapped["error"] == added["error"] == "rejected"
    cards = visa.list_payment_methods().payment_methods
    assert [c.id for c in cards if c.is_default] == [VISA] and MASTERCARD not in [c.id for c in cards]

    visa.fund_wallet(Decimal("10"), VISA)
    assert usage(sandbox_root, "8")["auto_funding"]["triggered"]  # the next automatic charge
    assert payments(sandbox_app)[-1] == (VISA, 2500, "auto_funding")


def test_an_approved_default_change_runs_and_renewals_follow_it(make_toolkit: MakeToolkit, visa: BillingClient,
                                                                sandbox_app: Any) -> None:
    visa.create_subscription(10, VISA)
    person = Person("set_default_payment_method")
    content, _ = call(make_toolkit(approval=person).get_tool("payment_methods"), action="set_default",
                      payment_method_id=AMEX)
    assert content["ok"], content
    summary = person.asked[0].summary
    assert "Make Amex ending 0005 the default card instead of Visa ending 4242" in summary
    assert "renewals of subscription" in summary and "$47.00 per month" in summary
    assert [c.id for c in visa.list_payment_methods().payment_methods if c.is_default] == [AMEX]


def test_a_card_saved_but_not_as_default_asks_nobody(make_toolkit: MakeToolkit, visa: BillingClient) -> None:
    person = Person()
    content, _ = call(make_toolkit(approval=person).get_tool("payment_methods"), action="add",
                      payment_method_id=MASTERCARD, make_default=False)
    assert content["ok"] and person.asked == []


def test_the_auto_funding_swapped_after_the_yes_stops_the_default_change(
        make_toolkit: MakeToolkit, visa: BillingClient, sandbox_app: Any) -> None:
    visa.enable_auto_funding(Decimal("25"), Decimal("5"))

    def person(request: ApprovalRequest) -> bool:
        visa.enable_auto_funding(Decimal("500"), Decimal("400"))  # what the new card would carry grows meanwhile
        return True

    content, _ = call(make_toolkit(approval=person).get_tool("payment_methods"), action="set_default",
                      payment_method_id=AMEX)
    assert content["error"] == "intent_changed" and "automatic charges it carries changed" in content["message"]
    assert [c.id for c in visa.list_payment_methods().payment_methods if c.is_default] == [VISA]


# --- finding 3: a mandate approves a standing authorisation alone only when its worst case fits

def _mandated(make_toolkit: MakeToolkit, tmp_path: Path, approval: Any, **limits: Any) -> Any:
    return make_toolkit(approval=approval, mandate=Mandate(auto_approve=True, **limits),
                        spend_store=SqliteSpendStore(tmp_path / "spend.db"))


def test_unbounded_auto_funding_under_a_per_charge_mandate_is_asked_not_auto_approved(
        make_toolkit: MakeToolkit, visa: BillingClient, sandbox_app: Any, sandbox_root: Any, tmp_path: Path) -> None:
    person = Person()
    wallet = _mandated(make_toolkit, tmp_path, person, max_per_charge="50").get_tool("wallet")
    content, _ = call(wallet, action="enable_auto_funding", auto_charge_amount=50, charge_threshold=10000)
    assert [r.operation for r in person.asked] == ["enable_auto_funding"]  # asked, not auto-approved
    assert content["error"] == "rejected"
    # Without an approver it is refused, not auto-approved.
    refused, _ = call(_mandated(make_toolkit, tmp_path, None, max_per_charge="50").get_tool("wallet"),
                      action="enable_auto_funding", auto_charge_amount=50, charge_threshold=10000)
    assert refused["ok"] is False and "approval" in refused["message"]
    visa.fund_wallet(Decimal("20"), VISA)
    for _ in range(10):
        usage(sandbox_root, "1")
    assert [p for p in payments(sandbox_app) if p[2] == "auto_funding"] == []


def test_unbounded_auto_funding_is_outside_a_24h_cap(make_toolkit: MakeToolkit, visa: BillingClient,
                                                     tmp_path: Path) -> None:
    person = Person("enable_auto_funding")
    content, _ = call(_mandated(make_toolkit, tmp_path, person, max_per_24h="1000").get_tool("wallet"),
                      action="enable_auto_funding", auto_charge_amount=10, charge_threshold=5)
    assert content["ok"] is False and "cannot bound" in content["message"] and person.asked == []


@pytest.mark.parametrize("cap, auto", [("100", True), ("40", False)])
def test_a_default_change_carrying_a_renewal_is_auto_approved_only_within_the_24h_cap(
        make_toolkit: MakeToolkit, visa: BillingClient, tmp_path: Path, cap: str, auto: bool) -> None:
    visa.create_subscription(10, VISA)  # $47.00 per month renews on the default card
    person = Person("set_default_payment_method")
    content, _ = call(_mandated(make_toolkit, tmp_path, person, max_per_24h=cap).get_tool("payment_methods"),
                      action="set_default", payment_method_id=AMEX)
    if auto:
        assert content["ok"] and content["approved_by"] == "mandate:default" and person.asked == []
    else:  # $47.00 of renewals in 24 h is above a $40.00 cap: a hard limit, nobody is asked
        assert content["ok"] is False and "24 h limit" in content["message"] and person.asked == []


def test_a_default_change_under_a_mandate_without_a_24h_cap_is_asked(make_toolkit: MakeToolkit,
                                                                    visa: BillingClient, tmp_path: Path) -> None:
    person = Person("set_default_payment_method")
    content, _ = call(_mandated(make_toolkit, tmp_path, person, max_per_charge="50").get_tool("payment_methods"),
                      action="set_default", payment_method_id=AMEX)
    assert content["ok"] and [r.operation for r in person.asked] == ["set_default_payment_method"]


@pytest.mark.parametrize("limits, worst, verdict, auto", [
    ({"max_per_charge": "50"}, None, "inside", False),  # the mandate: asked, never auto-approved
    ({}, Decimal("10"), "inside", False),  # no 24 h limit at all: asked
    ({"max_per_24h": "100"}, None, "outside", False),  # unbounded under a 24 h limit: outside it
    ({"max_per_24h": "100"}, Decimal("100"), "inside", True),  # its worst case fits: may be auto-approved
    ({"max_per_24h": "100"}, Decimal("100.01"), "outside", False),
    ({"max_per_charge": "20", "max_per_24h": "100"}, Decimal("21"), "outside", False),  # a charge above the cap
])
def test_a_mandate_bounds_an_authorisation_by_its_worst_case(limits: dict[str, str], worst: Decimal | None,
                                                            verdict: str, auto: bool) -> None:
    from datetime import datetime, timezone

    from agent_billing.registry import Effect

    mandate = Mandate(auto_approve=True, **limits)
    decision = mandate.evaluate(operation="set_default_payment_method", effect=Effect.AUTHORIZE,
                                amount=worst if worst is not None else Decimal("50"),
                                spent_24h=Decimal(0), now=datetime(2026, 12, 5, tzinfo=timezone.utc), worst_24h=worst)
    assert decision.verdict == verdict and mandate.may_auto_approve(decision) is auto


# --- finding 5: the billing period is bound, not only the price

def test_a_period_change_after_the_yes_is_not_charged(make_toolkit: MakeToolkit, visa: BillingClient,
                                                      sandbox_app: Any) -> None:
    ledger = sandbox_app.state.sandbox.ledger
    ledger.update("plans", {"id": 10}, price_cents=2900)  # $29 per month

    def person(request: ApprovalRequest) -> bool:
        assert "$29.00 per month" in request.summary
        ledger.update("plans", {"id": 10}, period="daily")  # the catalogue now says $29 per day
        return True

    audit = MemoryAuditLog()
    content, _ = call(make_toolkit(approval=person, audit=audit).get_tool("subscriptions"), action="create",
                      plan_id=10, payment_method_id=VISA)
    assert content["error"] == "intent_changed" and "billing period changed from month to day" in content["message"]
    assert payments(sandbox_app) == [] and visa.list_subscriptions().subscriptions == []
    assert audit.events[-1].decision == "changed"


@pytest.mark.parametrize("term, value", [("period", "day"), ("interval_count", 3), ("currency", "EUR"),
                                         ("trial_days", 7), ("quantity", 2), ("basis", "GROWTH at 249")])
def test_every_price_term_is_in_the_digest_and_named_when_it_changes(term: str, value: Any) -> None:
    plan = PlanRef(id=10, name="Standard", price=Decimal("29"), period="month")
    approved = ChargeIntent(operation="create_subscription", effect="charge", account="a", summary="s", plan=plan)
    changed = approved.model_copy(update={"plan": plan.model_copy(update={term: value})})
    renamed = approved.model_copy(update={"plan": plan.model_copy(update={"name": "Something else"})})
    assert approved.digest != changed.digest and approved.digest == renamed.digest
    assert f"changed from {getattr(plan, term)} to {value}" in approved.describe_change(changed)


# --- finding 7: a no stands for the charge, not the wording

def test_a_declined_top_up_is_not_asked_again_naming_the_default_card(make_toolkit: MakeToolkit,
                                                                      visa: BillingClient, sandbox_app: Any) -> None:
    person = Person()
    wallet = make_toolkit(approval=person).get_tool("wallet")
    first, _ = call(wallet, action="fund", amount=25)
    again, _ = call(wallet, action="fund", amount="25.00", payment_method_id=VISA)
    assert first["error"] == again["error"] == "rejected" and len(person.asked) == 1
    assert "already declined this charge" in again["message"]
    other, _ = call(wallet, action="fund", amount=25, payment_method_id=AMEX)  # a different charge is asked
    assert other["error"] == "rejected" and len(person.asked) == 2
    assert payments(sandbox_app) == []


def test_a_no_given_in_the_agent_middleware_stands_for_the_charge(make_toolkit: MakeToolkit, visa: BillingClient,
                                                                  sandbox_app: Any) -> None:
    toolkit = make_toolkit(approval="middleware")
    model = ScriptedChatModel(turns=[tool_call("wallet", action="fund", amount=25),
                                     tool_call("wallet", action="fund", amount=25, payment_method_id=VISA)],
                              final="Done.")
    agent = create_agent(model, toolkit.get_tools(), middleware=[toolkit.middleware()], checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "mw-no"}}
    paused = agent.invoke({"messages": [("user", "top up")]}, config)
    assert "Visa ending 4242" in paused["__interrupt__"][0].value["action_requests"][0]["description"]
    agent.invoke(Command(resume={"decisions": [{"type": "reject"}]}), config)
    again = agent.invoke({"messages": [("user", "then use my Visa, pm_card_visa")]}, config)
    assert "__interrupt__" not in again  # the same charge naming the card is not asked again
    last = [m for m in again["messages"] if isinstance(m, ToolMessage)][-1]
    assert json.loads(str(last.content))["error"] == "rejected" and last.tool_call_id != paused_id(paused)
    assert payments(sandbox_app) == []


def paused_id(paused: dict[str, Any]) -> str:
    return str(paused["messages"][-1].tool_calls[0]["id"]) if paused["messages"][-1].tool_calls else ""
