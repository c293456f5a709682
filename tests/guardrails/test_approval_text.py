"""The words a person approves come from the intent: a hostile provider cannot change the amount, period or card
any approver shows.

A provider's plan catalogue and card data are seeded hostile in the real sandboxes (ModelsLab's plan 10 at
$2,900.00 a month named "Standard: $1.00 once, to Visa ending 4242 (one-off)" with terminal codes, bidi
overrides, zero-width characters, fake figures, 5,000 characters...; card brands and last fours that are not
what they claim), and every approver's text is read: the callback's ``ApprovalRequest``, the LangGraph
interrupt payload, the agent middleware's action description, the single-use confirmation's summary, the MCP
elicitation message (through a real MCP client session), and the demo terminal's panel as a VT100 terminal
emulator (``pyte``) shows it. Each must carry none of the hostile characters, the true amount and period on
its first line, the card only as a known brand and four ASCII digits, and any fake figure only inside the
quoted, labelled provider text after the facts.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyte
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain.agents import create_agent
from langgraph.checkpoint.memory import InMemorySaver
from rich.console import Console
from tests.conftest import TOKEN

from agent_billing.audit import MemoryAuditLog
from agent_billing.client import AsyncBillingClient, BillingClient
from agent_billing.demo.runner import Terminal
from agent_billing.demo.scripted_model import ScriptedChatModel, tool_call
from agent_billing.guardrails.approval import ApprovalRequest
from agent_billing.guardrails.approval_text import (
    amount_text,
    card_brand,
    card_last4,
    clean,
    period_of,
    render,
    safe_line,
)
from agent_billing.guardrails.card_networks import BRANDS
from agent_billing.guardrails.intent import CardRef, ChargeIntent, PlanRef
from agent_billing.guardrails.mandate import Mandate
from agent_billing.inprocess import sandbox_clients
from agent_billing.mcp import BillingMCPServer, ElicitationApprover
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit
from mcp import types

BAD_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
PRICE = "$2,900.00 USD"
FAKE = ("$1.00", "one-off", "once", "0005")

# --- the hostile catalogue: (plan name, plan period, card brand, card last four), and what must be shown

@dataclass(frozen=True)
class Hostile:
    name: str = "Standard"
    period: str = "monthly"
    brand: str = "visa"
    last4: str = "4242"
    card: str = "Visa ending 4242"  # how the facts line must name the card
    every: str = "every month"  # how the facts line must name the period



FAKE_FACTS = "Standard: $1.00 once, to Visa ending 4242 (one-off)"
NOT_RECOGNISED = "recurring (billing period not recognised)"
CATALOGUE = [
    Hostile(name=FAKE_FACTS),
    Hostile(name="Standard\x1b[2K\r: $1.00 once, to Visa ending 4242 (one-off)"),
    Hostile(name="\x1b[2J\x1b[HCharge $1.00 USD to Visa ending 4242, one-off.\x1b[8m"),
    Hostile(name="\x1b[1A\x1b[2KCharge $1.00 USD to Visa ending 4242, one-off."),  # cursor up over the facts
    Hostile(name="\x1b]0;Approved\x07Standard $1.00 once"),  # OSC: window title
    Hostile(name="\x1b]8;;http://evil.example\x1b\\$1.00 once\x1b]8;;\x1b\\"),  # OSC 8 hyperlink
    Hostile(name="\x9b2J\x9b1;1HStandard $1.00 once"),  # C1 CSI
    Hostile(name="Standard \u202e)ffo-eno( ecno 00.1$\u202c"),  # right-to-left override
    Hostile(name="Standard \u2067$1.00 once\u2069 \u2066(one-off)\u2069"),  # isolates
    Hostile(name="\u200fStandard\u200e \u061c$1.00 once"),  # marks
    Hostile(name="S\u200bt\u200ca\u200dn\u2060d\ufeffard $1.00 once"),  # zero-width
    Hostile(name="Standard\n\nCharge $1.00 USD to Visa ending 4242, one-off."),
    Hostile(name="Standard\r\nCharge $1.00 USD to Visa ending 4242, one-off."),
    Hostile(name="Standard\u2028Charge $1.00 USD once\u2029(one-off)"),
    Hostile(name="Standard\x85$1.00 once\x0b\x0c(one-off)"),
    Hostile(name='Standard" Charge $1.00 USD to Visa ending 4242, one-off. "'),  # break out of the quotes
    Hostile(name="Standard\u201d Charge $1.00 once \u201c\uff02\u00ab"),
    Hostile(name="X" * 5000 + " $1.00 once"),
    Hostile(name=" " * 3000 + "$1.00 once" + "\t" * 2000),
    Hostile(name="\ue000Standard\U000f0000 $1.00 once"),  # private use
    Hostile(name="Standard\U000e0001\U000e0024\U000e0031 $1.00 once"),  # tag characters
    Hostile(name="Standard\u0378\u0380 $1.00 once"),  # unassigned
    Hostile(name="[bold red]$1.00 once[/] [link=http://x]here[/link] :dollar:"),  # rich markup and emoji codes
    Hostile(name="\uff33tandard \uff041.00 once"),  # fullwidth "$1.00"
    Hostile(name="Standard" + "\u0336" * 40 + " $2,900.00" + "\u0338" * 40),  # combining overlays
    Hostile(name="Standard\x00\x07\x08\x08\x08\x08 $1.00 once"),  # NUL, BEL, backspaces over text
    Hostile(name="Standard", period="monthly (one-off)", every=NOT_RECOGNISED),
    Hostile(name="Standard", period="once", every=NOT_RECOGNISED),
    Hostile(name="Standard", period="\x1b[2Kmonthly", every=NOT_RECOGNISED),
    Hostile(name="Standard", period="mon\u200bthly", every="every month"),  # a zero-width inside is dropped
    Hostile(name="Standard", period="month\u202e", every="every month"),
    Hostile(name="Standard", period="x" * 5000, every=NOT_RECOGNISED),
    Hostile(brand="Visa ending 4242 \u2014 $1", card="card ending 4242"),
    Hostile(brand="Amex", last4="0005\x1b[2K", card="payment method pm_card_visa"),
    Hostile(brand="visa\x1b[31m", card="card ending 4242"),
    Hostile(brand="\u202evisa", card="Visa ending 4242"),  # the override is dropped, the brand is known
    Hostile(brand="MasterCard", card="Mastercard ending 4242"),
    Hostile(last4="\uff14\uff12\uff14\uff12", card="payment method pm_card_visa"),  # fullwidth digits
    Hostile(last4="\u0664\u0662\u0664\u0662", card="payment method pm_card_visa"),  # Arabic-Indic digits
    Hostile(last4="\U0001d7d2\U0001d7d0\U0001d7d2\U0001d7d0", card="payment method pm_card_visa"),  # math digits
    Hostile(last4="4242\n", card="payment method pm_card_visa"),
    Hostile(last4="0005 \u2014 $1.00 once", card="payment method pm_card_visa"),
    Hostile(last4="42424", card="payment method pm_card_visa"),
    Hostile(name="Standard: $1.00 once", period="once", brand="Amex ending 0005", last4="\u0660\u0660\u0660\u0665",
            card="payment method pm_card_visa", every=NOT_RECOGNISED),
]

IDS = [f"hostile{i:02d}" for i in range(len(CATALOGUE))]


def assert_truthful(text: str, case: Hostile, *, amount: str = PRICE) -> None:
    """The approval text has no hostile characters, and the intent's facts first; fakes only in quotes."""
    bad = [f"U+{ord(ch):04X}" for ch in text if ch != "\n" and unicodedata.category(ch) in BAD_CATEGORIES]
    assert not bad, (bad, text)
    assert len(text) < 1200, len(text)
    facts = text.split("\n")[0]
    assert facts.startswith(f"Charge {amount} to {case.card}, {case.every} (plan 10)."), facts
    outside = re.sub(r'"[^"\n]*"', '""', text)
    for fake in FAKE:
        assert fake not in outside, (fake, text)
    assert '"' not in outside.replace('""', ""), text  # every quotation is closed on its own line


def assert_fields(request: ApprovalRequest, case: Hostile) -> None:
    assert request.amount == Decimal("2900.00") and request.recurring
    assert request.period == ("month" if case.every == "every month" else None)
    assert request.card_last4 == ("4242" if "4242" in case.card else None)
    assert request.card_brand == card_brand(case.brand) and (request.card_brand is None or request.card_brand in BRANDS)
    assert request.plan_id == "10" and request.payment_method == case.card


# --- the sandboxes, seeded hostile

@pytest.fixture
def app() -> Any:
    return create_app(tokens=(TOKEN,), rate_limit=False)


@pytest.fixture
def clients(app: Any) -> Iterator[tuple[BillingClient, AsyncBillingClient]]:
    client, aclient = sandbox_clients(app, token=TOKEN)
    client.add_payment_method("pm_card_visa", make_default=True)
    yield client, aclient
    client.close()


def seed(app: Any, case: Hostile) -> None:
    """The provider's catalogue and card data, as a hostile provider would answer them."""
    ledger = app.state.sandbox.ledger
    assert ledger.update("plans", {"id": 10}, name=case.name, period=case.period, price_cents=290000) == 1
    assert ledger.update("payment_methods", {"id": "pm_card_visa"}, brand=case.brand, last4=case.last4) == 1


def toolkit(clients: tuple[BillingClient, AsyncBillingClient], **kwargs: Any) -> BillingToolkit:
    kwargs.setdefault("audit", MemoryAuditLog())
    return BillingToolkit(client=clients[0], async_client=clients[1], **kwargs)


SUBSCRIBE = {"action": "create", "plan_id": 10, "payment_method_id": "pm_card_visa"}


def tool_content(message: Any) -> dict[str, Any]:
    return json.loads(str(message.content))


def subscriptions_made(client: BillingClient) -> int:
    return len(client.list_subscriptions().subscriptions)


# --- every approver

@pytest.mark.parametrize("case", CATALOGUE, ids=IDS)
def test_callback_request(app: Any, clients: Any, case: Hostile) -> None:
    seed(app, case)
    asked: list[ApprovalRequest] = []
    tool = toolkit(clients, approval=lambda request: asked.append(request) and False).get_tool("subscriptions")
    content = tool_content(tool.invoke({"type": "tool_call", "name": "subscriptions", "args": SUBSCRIBE, "id": "c1"}))
    (request,) = asked
    assert_truthful(request.summary, case)
    assert_fields(request, case)
    for value in (request.payment_method, request.plan, request.plan_name, request.description,
                  *map(str, request.arguments.values())):
        assert value is None or not any(unicodedata.category(ch) in BAD_CATEGORIES for ch in value)
    assert content["error"] == "rejected" and subscriptions_made(clients[0]) == 0
    assert_truthful(content["summary"], case)  # the refusal the agent relays says the same


def interrupt_value(clients: Any, approval: str, **kwargs: Any) -> Any:
    agent = create_agent(ScriptedChatModel(turns=[tool_call("subscriptions", **SUBSCRIBE)], final="Done."),
                         (kit := toolkit(clients, approval=approval, **kwargs)).get_tools(),
                         middleware=[kit.middleware()] if approval == "middleware" else (),
                         checkpointer=InMemorySaver())
    paused = agent.invoke({"messages": [("user", "subscribe me")]}, {"configurable": {"thread_id": "t"}})
    (pending,) = paused["__interrupt__"]
    return pending.value


@pytest.mark.parametrize("case", CATALOGUE, ids=IDS)
def test_interrupt_payload(app: Any, clients: Any, case: Hostile) -> None:
    seed(app, case)
    value = interrupt_value(clients, "interrupt")
    assert value["kind"] == "agent_billing_approval"
    assert_truthful(value["summary"], case)
    assert_fields(ApprovalRequest.model_validate(value), case)
    assert subscriptions_made(clients[0]) == 0


@pytest.mark.parametrize("case", CATALOGUE, ids=IDS)
def test_middleware_description(app: Any, clients: Any, case: Hostile) -> None:
    seed(app, case)
    value = interrupt_value(clients, "middleware")
    (action,) = value["action_requests"]
    assert_truthful(action["description"], case)
    shown = json.dumps(action["args"], ensure_ascii=False)
    assert not any(unicodedata.category(ch) in BAD_CATEGORIES for ch in shown)
    (request,) = value["agent_billing"]
    assert_truthful(request["summary"], case)
    assert subscriptions_made(clients[0]) == 0


@pytest.mark.parametrize("case", CATALOGUE, ids=IDS)
def test_confirmation_summary(app: Any, clients: Any, case: Hostile) -> None:
    seed(app, case)
    mandate = Mandate(max_per_charge="5000", max_per_24h="10000")
    tool = toolkit(clients, approval="confirmation", mandate=mandate).get_tool("subscriptions")
    content = tool_content(tool.invoke({"type": "tool_call", "name": "subscriptions", "args": SUBSCRIBE, "id": "c1"}))
    assert content["status"] == "confirmation_required"
    assert_truthful(content["summary"], case)
    assert subscriptions_made(clients[0]) == 0


def mcp_elicitations(kit: BillingToolkit, answer: str, client_name: str, tool: str = "subscriptions",
                     arguments: dict[str, Any] | None = None) -> tuple[list[str], dict[str, Any]]:
    """One tool call (a subscribe) through a real MCP client session: the elicitation messages shown, and the result."""
    from mcp import Client

    shown: list[str] = []

    async def elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        shown.append(params.message)
        return types.ElicitResult(action=answer)  # type: ignore[arg-type]

    async def run() -> dict[str, Any]:
        async with Client(BillingMCPServer(kit).server, mode="legacy", elicitation_callback=elicit,
                          client_info=types.Implementation(name=client_name, version="1")) as session:
            result = await session.call_tool(tool, arguments or SUBSCRIBE)
            block = result.content[0]
            assert isinstance(block, types.TextContent)
            data: dict[str, Any] = json.loads(block.text)
            return data

    return shown, asyncio.run(run())


@pytest.mark.parametrize("case", CATALOGUE, ids=IDS)
def test_mcp_elicitation_message(app: Any, clients: Any, case: Hostile) -> None:
    seed(app, case)
    shown, content = mcp_elicitations(toolkit(clients, approval=ElicitationApprover()), "decline", "host")
    (message,) = shown
    assert message.startswith("Approve this billing action?\n")
    assert_truthful(message.split("\n", 1)[1], case)
    assert content["error"] == "rejected" and subscriptions_made(clients[0]) == 0


def test_mcp_audit_names_the_channel_and_the_client_never_a_person(app: Any, clients: Any) -> None:
    audit = MemoryAuditLog()
    hostile_client = "Claude\x1b[2K\u202e person (verified)\u200b " + "x" * 500
    _, content = mcp_elicitations(toolkit(clients, approval=ElicitationApprover(), audit=audit), "accept",
                                      hostile_client)
    assert content["ok"], content
    who = content["approved_by"]
    assert who.startswith("mcp elicitation via Claude[2K person (verified) x") and who.endswith("...")
    assert len(who) <= len("mcp elicitation via ") + 64 and "person (mcp" not in who
    assert not any(unicodedata.category(ch) in BAD_CATEGORIES for ch in who)
    assert [e.approver for e in audit.events if e.decision in ("approved", "succeeded")] == [who, who]


def test_mcp_audit_with_an_unnamed_client(app: Any, clients: Any) -> None:
    audit = MemoryAuditLog()
    _, content = mcp_elicitations(toolkit(clients, approval=ElicitationApprover(), audit=audit), "decline", "\u200b")
    assert content["error"] == "rejected"
    assert [e.approver for e in audit.events if e.decision == "rejected"] == ["mcp elicitation via an unnamed client"]


def vt100(payload: dict[str, Any], columns: int) -> list[str]:
    """The demo terminal's approval panel, rendered by rich as to a real terminal and read back from a VT100
    emulator's screen (what a person would see)."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system="truecolor", width=columns, legacy_windows=False)
    assert Terminal(console, auto_yes=True).approve(payload) == "approve"
    screen = pyte.Screen(columns, 60)
    screen.set_mode(pyte.modes.LNM)  # a newline returns the carriage, as a terminal's tty does
    pyte.Stream(screen).feed(out.getvalue())
    return [line.rstrip() for line in screen.display]


def panel_text(rows: list[str]) -> str:
    """The panel's lines joined back into the text (borders off, wrapped lines rejoined with a space)."""
    inner = [row.strip().strip("│").strip() for row in rows if row.strip().startswith("│")]
    return " ".join(inner)


@pytest.mark.parametrize("columns", [100, 44])
@pytest.mark.parametrize("case", CATALOGUE, ids=IDS)
def test_terminal_as_a_vt100_shows_it(app: Any, clients: Any, case: Hostile, columns: int) -> None:
    seed(app, case)
    rows = vt100(interrupt_value(clients, "interrupt"), columns)
    screen = panel_text(rows)
    assert "Approval needed" in rows[0]
    # The facts come first on the screen, whole; the provider's words only after their label, in quotes.
    facts = f"Charge {PRICE} to {case.card}, {case.every} (plan 10)."
    assert screen.startswith(facts), rows
    outside = re.sub(r'"[^"]*"', '""', screen)
    for fake in FAKE:
        assert fake not in outside, (fake, rows)
    assert "approved (--yes)" in "\n".join(rows)  # the screen was not cleared or overwritten after the panel
    # Every screen row showing a provider's figure is indented under the facts, wrapped or not.
    for row in rows:
        inner = row.strip().strip("│")
        if any(fake in inner for fake in FAKE):
            assert inner.startswith(" " * 5), rows


def test_terminal_old_payload_with_raw_codes_is_cleaned_too() -> None:
    """A payload built elsewhere (not through ApprovalRequest) still reaches the screen without codes."""
    rows = vt100({"summary": "Charge $5.00\x1b[2J\x1b[H$1.00 once", "operation": "x\x1b[31m", "effect": "charge"}, 60)
    assert "Charge $5.00[2J[H$1.00 once" in panel_text(rows)


# --- Wallgent: the saved billing card's brand and last four as a hostile provider answers them

WALLGENT_CARDS = [
    ("Visa ending 4242 \u2014 $1", "4242", "card ending 4242"),
    ("visa", "\uff14\uff12\uff14\uff12", "payment method pm_card_visa"),
    ("\u202eamex", "0005\x1b[2K", "payment method pm_card_visa"),
    ("visa\x1b[2J", "4242", "card ending 4242"),
    ("mastercard", "4444", "Mastercard ending 4444"),
]


@pytest.mark.parametrize("brand, last4, card", WALLGENT_CARDS)
def test_wallgent_card_switch_names_the_card_from_the_intent(brand: str, last4: str, card: str) -> None:
    app = create_app(rate_limit=False)
    client, aclient = sandbox_clients(app, provider="wallgent")
    client.call("save_payment_method", {"payment_method_id": "pm_card_visa"})
    client.call("subscribe", {"plan": "STARTER", "payment_method": "WALLET"})
    (mount,) = [route for route in app.routes if getattr(route, "path", "") == "/wallgent"]
    store = mount.app.state.wallgent.store
    (acct_id,) = [row[0] for row in store._conn.execute("SELECT id FROM accounts")]
    store.update_account(acct_id, card_brand=brand, card_last4=last4)
    asked: list[ApprovalRequest] = []
    kit = BillingToolkit(client=client, async_client=aclient, audit=MemoryAuditLog(),
                         approval=lambda request: asked.append(request) and False)
    tool = kit.get_tool("payment_method")
    tool.invoke({"type": "tool_call", "name": "payment_method", "id": "w1",
                 "args": {"action": "switch", "payment_method": "CARD"}})
    (request,) = asked
    text = request.summary
    assert text.split("\n")[0] == f"Authorize charges of $99.00 USD to {card}, every month (plan STARTER).", text
    assert not any(ch != "\n" and unicodedata.category(ch) in BAD_CATEGORIES for ch in text)
    assert "$1" not in re.sub(r'"[^"\n]*"', '""', text) and "0005" not in re.sub(r'"[^"\n]*"', '""', text)
    switch = {"action": "switch", "payment_method": "CARD"}
    shown, content = mcp_elicitations(BillingToolkit(client=client, async_client=aclient, audit=MemoryAuditLog(),
                                                     approval=ElicitationApprover()), "decline", "host",
                                      "payment_method", switch)
    assert shown[0].split("\n")[1] == f"Authorize charges of $99.00 USD to {card}, every month (plan STARTER)."
    assert content["error"] == "rejected"
    client.close()


# --- the renderer's pieces

def intent(**changes: Any) -> ChargeIntent:
    base: dict[str, Any] = dict(operation="create_subscription", effect="charge", account="a", amount=Decimal("47"),
                                payment_method=CardRef(id="pm_1", brand="visa", last4="4242"), funding="explicit",
                                plan=PlanRef(id=10, name="Standard", price=Decimal("47"), period="monthly"),
                                recurring=True, summary="Subscribe to Standard.")
    return ChargeIntent(**{**base, **changes})


@pytest.mark.parametrize("changes, facts", [
    ({}, "Charge $47.00 USD to Visa ending 4242, every month (plan 10)."),
    ({"recurring": False, "plan": None}, "Charge $47.00 USD to Visa ending 4242, one-off."),
    ({"amount": Decimal("150"), "plan": PlanRef(id="GROWTH", price=Decimal("249"), period="month")},
     "Charge $150.00 USD to Visa ending 4242, then $249.00 USD every month (plan GROWTH)."),
    ({"plan": None}, "Charge $47.00 USD to Visa ending 4242, recurring, until stopped."),
    ({"funding": "wallet", "payment_method": None}, "Charge $47.00 USD from the wallet, every month (plan 10)."),
    ({"funding": "checkout", "payment_method": None},
     "Open a checkout for $47.00 USD, every month (plan 10): a person pays it on a hosted page; nothing is charged "
     "until then."),
    ({"effect": "payout", "amount": Decimal("50"), "payment_method": None, "plan": None, "recurring": False},
     "Pay out $50.00 USD, one-off."),
    ({"effect": "destructive", "amount": None, "plan": None, "recurring": False, "operation": "remove_payment_method"},
     "Destructive (remove_payment_method), Visa ending 4242."),
    ({"amount": Decimal("29.999")}, "Charge $29.999 USD to Visa ending 4242, then $47.00 USD every month (plan 10)."),
    ({"amount": Decimal("1E-7"), "plan": None, "recurring": False}, "Charge $0.0000001 USD to Visa ending 4242, one-off."),
    ({"amount": Decimal("-29"), "plan": None, "recurring": False}, "Charge -$29.00 USD to Visa ending 4242, one-off."),
    ({"currency": "EUR", "plan": None, "recurring": False}, "Charge 47.00 EUR to Visa ending 4242, one-off."),
    ({"currency": "$1 once", "plan": None, "recurring": False},
     "Charge 47.00 (currency not recognised) to Visa ending 4242, one-off."),
    ({"plan": PlanRef(id="$1.00 once", price=Decimal("47"), period="monthly")},
     "Charge $47.00 USD to Visa ending 4242, every month (a plan whose id is not plain text)."),
    ({"payment_method": CardRef(id="pm $1.00", brand="Visa ending 4242")},
     "Charge $47.00 USD to a saved card, every month (plan 10)."),
])
def test_facts_come_from_the_numbers(changes: dict[str, Any], facts: str) -> None:
    assert render(intent(**changes)).facts == facts


def test_an_amount_is_never_rounded() -> None:
    assert amount_text(Decimal("29.999")) == "$29.999 USD" and amount_text(Decimal("0.001")) == "$0.001 USD"
    assert amount_text(Decimal("1e-30")) == "$1E-30 USD" and amount_text(Decimal("Infinity")).startswith("an amount")


def test_known_brands_are_exactly_the_card_networks() -> None:
    assert {card_brand(brand) for brand in BRANDS} == set(BRANDS)
    assert card_brand("American Express") == "amex" and card_brand("Diners Club") == "diners"
    for word in ("unknown", "link", "Visa ending 4242", "visa\u0301", "vis\u0430"):  # Cyrillic a
        assert card_brand(word) is None, word


@pytest.mark.parametrize("last4", ["4242\n", "\uff14242", "\u0664242", "424", "42424", " 4242", "42 4", "", "abcd"])
def test_last_four_must_be_four_ascii_digits(last4: str) -> None:
    assert card_last4(last4) is None
    assert ApprovalRequest(operation="o", effect="charge", summary="s", card_last4=last4).card_last4 is None


def test_periods_are_a_closed_set() -> None:
    assert [period_of(p) for p in ("monthly", "Month", " YEARLY ", "annual", "daily", "week")] == [
        "month", "month", "year", "year", "day", "week"]
    assert [period_of(p) for p in ("monthly (one-off)", "once", "fortnight", "", None)] == [None] * 5


def test_a_request_built_by_hand_is_cleaned_too() -> None:
    request = ApprovalRequest(operation="o", effect="charge", summary="Charge $5.00\u2028\x1b[2J\u202eX\n\n\n",
                              payment_method="Visa\x1b[2K", plan="plan\u200b 10", mandate="cap\x07",
                              card_brand="Visa ending 4242", plan_id="10 $1", period="once")
    assert request.summary == "Charge $5.00 [2JX" and request.payment_method == "Visa[2K"
    assert request.plan == "plan 10" and request.mandate == "cap"
    assert request.card_brand is None and request.plan_id is None and request.period is None


# --- the sanitiser, as properties

ANY_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=300)
HOSTILE_TEXT = st.lists(st.sampled_from(["\x1b[2J", "\u202e", "\u2066", "\u200b", "\u2028", "\n", "\r", "\x85",
                                         '"', "\u201c", "$1.00", " ", "\t", "\u0301", "\ufeff", "\U000e0041",
                                         "\ue000", "\u0378", "a", "\uff04", "\u20dd"]), max_size=60).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(ANY_TEXT, HOSTILE_TEXT), st.integers(min_value=3, max_value=300))
def test_clean_leaves_no_hidden_characters_and_is_idempotent(text: str, limit: int) -> None:
    out = clean(text, limit)
    assert not any(unicodedata.category(ch) in BAD_CATEGORIES for ch in out)
    assert "\n" not in out and '"' not in out and "  " not in out and out == out.strip()
    assert len(out) <= limit
    assert clean(out, limit) == out
    assert unicodedata.normalize("NFKC", out) == out


@settings(max_examples=300, deadline=None)
@given(st.one_of(ANY_TEXT, HOSTILE_TEXT))
def test_safe_line_keeps_quotes_and_is_idempotent(text: str) -> None:
    out = safe_line(text)
    assert not any(unicodedata.category(ch) in BAD_CATEGORIES for ch in out)
    assert safe_line(out) == out and len(out) <= 400


@settings(max_examples=200, deadline=None)
@given(name=st.one_of(ANY_TEXT, HOSTILE_TEXT), period=st.one_of(ANY_TEXT, HOSTILE_TEXT),
       brand=st.one_of(ANY_TEXT, HOSTILE_TEXT), last4=st.one_of(ANY_TEXT, HOSTILE_TEXT),
       summary=st.one_of(ANY_TEXT, HOSTILE_TEXT))
def test_no_provider_string_reaches_the_facts_line(name: str, period: str, brand: str, last4: str,
                                                   summary: str) -> None:
    rendered = render(intent(plan=PlanRef(id=10, name=name, price=Decimal("2900"), period=period),
                             payment_method=CardRef(id="pm_1", brand=brand, last4=last4), amount=Decimal("2900"),
                             summary=summary))
    facts = rendered.facts
    assert facts.startswith("Charge $2,900.00 USD to ") and "(plan 10)." in facts
    named = facts.removeprefix("Charge $2,900.00 USD to ").split(",")[0]
    assert re.fullmatch(r"(card|[A-Z][A-Za-z ]+) ending [0-9]{4}|payment method pm_1", named), named
    assert facts.endswith(("every day (plan 10).", "every week (plan 10).", "every month (plan 10).",
                           "every year (plan 10).", "recurring (billing period not recognised) (plan 10)."))
    for line in rendered.details:
        _, _, value = line.partition(": ")
        assert value.startswith('"') and value.endswith('"') and value.count('"') == 2, line

