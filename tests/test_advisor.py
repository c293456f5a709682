"""The payment-path advisor over every provider that declares its paths: the decision table, calls that
exist in that provider's registry with arguments its schemas accept, and Wallgent's advice followed
through the toolkit against the in-process sandbox until the sandbox shows the result."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from decimal import Decimal
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import httpx
import pytest
from pydantic import ValidationError
from tests.providers import test_wallgent

from agent_billing.advisor import RULES, Call, Facts, PaymentPaths, Ref, advise, rules_of
from agent_billing.audit import MemoryAuditLog
from agent_billing.inprocess import sandbox_clients
from agent_billing.registry import get_registry, provider_names
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit

ADVISED = [name for name in provider_names() if get_registry(name).advisor is not None]

# (provider, purpose and target, facts) -> (path, rule)
TABLE: list[tuple[str, dict[str, Any], dict[str, Any], str, str]] = [
    ("modelslab", {"purpose": "fund", "amount": 25}, {"saved_default_card": True}, "headless", "saved_card"),
    ("modelslab", {"purpose": "fund", "amount": 25}, {"trusted_payment_method_id": "pm_x"}, "headless",
     "trusted_payment_method"),
    ("modelslab", {"purpose": "subscribe", "plan_id": 10}, {"wants_to_save_card": True}, "setup_intent", "save_card"),
    ("modelslab", {"purpose": "fund", "amount": 25}, {"channel": "voice"}, "human_assisted", "human_pays"),
    ("modelslab", {"purpose": "fund", "amount": 25}, {"saved_default_card": True, "card_requires_3ds": True},
     "human_assisted", "three_d_secure"),
    ("modelslab", {"purpose": "subscribe", "plan_id": 42}, {"saved_default_card": True, "card_declined": True},
     "human_assisted", "declined"),
    ("modelslab", {"purpose": "fund", "amount": 25}, {"card_declined": True, "human_present": False}, "cannot_pay",
     "stuck"),
    ("modelslab", {"purpose": "fund", "amount": 25}, {"human_present": False}, "cannot_pay", "no_way"),
    ("wallgent", {"plan": "STARTER", "wallet_covers": True}, {}, "headless", "balance"),
    ("wallgent", {"plan": "STARTER", "wallet_covers": True}, {"human_present": False}, "headless", "balance"),
    # The person chose the card: the wallet's balance does not decide.
    ("wallgent", {"plan": "STARTER", "payment_method": "CARD", "wallet_covers": True}, {"saved_default_card": True},
     "headless", "saved_card"),
    ("wallgent", {"plan": "GROWTH"}, {"trusted_payment_method_id": "pm_card_visa"}, "headless",
     "trusted_payment_method"),
    ("wallgent", {"plan": "GROWTH"}, {"wants_to_save_card": True}, "setup_intent", "save_card"),
    ("wallgent", {"plan": "GROWTH"}, {"channel": "chat"}, "human_assisted", "human_pays"),
    ("wallgent", {"plan": "GROWTH", "wallet_covers": True}, {"card_requires_3ds": True, "payment_method": "CARD"},
     "human_assisted", "three_d_secure"),
    ("wallgent", {"purpose": "change_plan", "plan": "GROWTH", "payment_method": "WALLET", "wallet_covers": True}, {},
     "headless", "balance"),
    # Billed to a wallet that is short: the saved card, after switching the billing to it.
    ("wallgent", {"purpose": "change_plan", "plan": "GROWTH", "payment_method": "WALLET"}, {"saved_default_card": True},
     "headless", "saved_card"),
    ("wallgent", {"purpose": "retry_payment", "payment_method": "CARD"}, {"card_declined": True}, "human_assisted",
     "declined"),
    ("wallgent", {"purpose": "retry_payment", "payment_method": "CARD"}, {"card_declined": True, "human_present": False},
     "cannot_pay", "stuck"),
    ("wallgent", {"purpose": "retry_payment", "payment_method": "WALLET", "wallet_covers": True},
     {"human_present": False}, "headless", "balance"),
    ("wallgent", {"purpose": "retry_payment", "payment_method": "CARD", "wallet_covers": True},
     {"human_present": False}, "cannot_pay", "no_way"),
]


def paths_of(provider: str) -> PaymentPaths[Any]:
    paths = get_registry(provider).advisor
    assert paths is not None
    return paths


@pytest.mark.parametrize("provider, target, facts, path, rule", TABLE)
def test_decision_table(provider: str, target: dict[str, Any], facts: dict[str, Any], path: str, rule: str) -> None:
    paths = paths_of(provider)
    advice = advise(paths.situation(**target, **facts), paths)
    assert (advice.path, advice.rule) == (path, rule)
    assert advice.steps and advice.reason
    assert all(call.render() in advice.steps for call in advice.calls)


@pytest.mark.parametrize("provider", ADVISED)
def test_every_rule_a_provider_offers_is_reached(provider: str) -> None:
    assert {rule for p, _, _, _, rule in TABLE if p == provider} == {r.name for r in rules_of(paths_of(provider))}


def test_the_providers_differ_where_they_should() -> None:
    assert "balance" not in {r.name for r in rules_of(paths_of("modelslab"))}  # the wallet is what ModelsLab funds
    assert {r.name for r in rules_of(paths_of("wallgent"))} == {r.name for r in RULES}
    assert "tenex" in provider_names() and get_registry("tenex").advisor is None  # read-only: nothing to pay


def _choices(annotation: Any) -> list[Any]:
    """The values worth trying for a field: each literal, both booleans, an example number, and unset."""
    options = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)
    out: list[Any] = [None] if type(None) in options else []
    for option in options:
        if get_origin(option) is Literal:
            out += get_args(option)
        elif option is bool:
            out += [False, True]
        elif option is not type(None):
            out.append(25)  # an amount or a plan id
    return out


def _purposes(paths: PaymentPaths[Any]) -> Iterator[dict[str, Any]]:
    """Every purpose with every choice of its target, read from the situation model's own fields."""
    own = {name: _choices(info.annotation) for name, info in paths.situation.model_fields.items()
           if name not in Facts.model_fields}
    for values in itertools.product(*own.values()):
        chosen = {k: v for k, v in zip(own, values, strict=True) if v is not None}
        try:
            paths.situation(**chosen)
        except ValidationError:
            continue  # a purpose without its target
        yield chosen


def situations(provider: str) -> Iterator[Facts]:
    paths = paths_of(provider)
    flags = ["saved_default_card", "human_present", "wants_to_save_card", "card_requires_3ds", "card_declined"]
    for target in _purposes(paths):
        for on in itertools.product([False, True], repeat=len(flags)):
            for extra in ({}, {"trusted_payment_method_id": "pm_card_visa"}, {"channel": "voice"}):
                yield paths.situation(**target, **dict(zip(flags, on, strict=True)), **extra)


# Values the agent takes from an earlier answer, by the argument they fill.
EXAMPLES = {"payment_method_id": "pm_card_visa", "stripe_payment_method_id": "pm_card_visa", "session_id": "cs_test_1"}


@pytest.mark.parametrize("provider", ADVISED)
def test_every_advised_call_exists_with_arguments_its_schema_accepts(provider: str) -> None:
    registry = get_registry(provider)
    client = sandbox_clients(create_app(rate_limit=False), provider=provider)[0]
    customs = {(c.group, c.action): c for c in BillingToolkit(client=client, audit=MemoryAuditLog()).custom_actions or []}
    seen: set[tuple[str, str]] = set()
    count = 0
    for situation in situations(provider):
        advice = advise(situation, paths_of(provider))
        for call in advice.calls:
            count += 1
            seen.add((call.tool, call.action))
            args = {k: EXAMPLES[k] if isinstance(v, Ref) else v for k, v in call.args.items()}
            if (call.tool, call.action) in customs:
                fields = customs[(call.tool, call.action)].fields
                assert set(args) <= set(fields), (call, sorted(fields))
                for name, value in args.items():
                    assert value in fields[name].get("enum", [value]), (call, name)
                continue
            op = registry.by_action(call.tool, call.action)  # KeyError: no such action in this registry
            op.validate(args)  # ValidationError: arguments its schema refuses
    assert count > 300
    assert {group for group, _ in seen} <= set(registry.groups())


def test_the_stop_rules_name_no_call() -> None:
    for provider in ADVISED:
        for situation in situations(provider):
            advice = advise(situation, paths_of(provider))
            assert (advice.path == "cannot_pay") == (not advice.calls)


# --- Wallgent through the toolkit, against the sandbox

@pytest.fixture
def app() -> Any:
    return create_app(rate_limit=False)


root = test_wallgent.root  # the fixture of the sandbox-only endpoints (wallet balance, renewals, checkout completion)


@pytest.fixture
def toolkit(app: Any) -> Iterator[BillingToolkit]:
    client, aclient = sandbox_clients(app, provider="wallgent")
    yield BillingToolkit(client=client, async_client=aclient, approval=lambda request: True, audit=MemoryAuditLog())
    client.close()


def invoke(toolkit: BillingToolkit, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = json.loads(str(toolkit.get_tool(tool).invoke(args)))
    return content


def ask(toolkit: BillingToolkit, **facts: Any) -> tuple[dict[str, Any], list[Call]]:
    """The advisor tool's answer, and the calls behind its steps (the same advice, from the declaration)."""
    answer = invoke(toolkit, "payment_path", facts)
    assert answer["ok"], answer
    paths = paths_of("wallgent")
    advice = advise(paths.situation(**facts), paths)
    assert answer["steps"] == advice.steps and answer["path"] == advice.path
    return answer, advice.calls


def _lookup(results: list[dict[str, Any]], dotted: str) -> Any:
    for result in reversed(results):
        value: Any = result
        for part in dotted.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            return value
    raise AssertionError(f"no earlier answer carries {dotted}")


def follow(toolkit: BillingToolkit, calls: list[Call], confirmed: str | None = None) -> list[dict[str, Any]]:
    """Make the advised calls in order, filling each reference from the answers before it."""
    results: list[dict[str, Any]] = []
    for call in calls:
        args: dict[str, Any] = {"action": call.action}
        for name, value in call.args.items():
            if isinstance(value, Ref):
                # What the person or trusted code confirmed with Stripe, or a field of an earlier answer.
                value = confirmed if "confirmation" in value.what else _lookup(results, value.what)
            args[name] = value
        answer = invoke(toolkit, call.tool, args)
        assert answer["ok"], (call, answer)
        results.append(answer["result"])
    return results


def billing(toolkit: BillingToolkit) -> dict[str, Any]:
    result: dict[str, Any] = invoke(toolkit, "billing", {"action": "get"})["result"]
    return result


def test_the_wallgent_toolkit_offers_the_advisor_and_10ex_none(app: Any, toolkit: BillingToolkit) -> None:
    assert [tool.name for tool in toolkit.get_tools()][-1] == "payment_path"
    schema = toolkit.get_tool("payment_path").args_schema.model_json_schema()  # type: ignore[union-attr]
    assert schema["properties"]["purpose"]["enum"] == ["subscribe", "change_plan", "retry_payment"]
    assert schema["properties"]["plan"]["enum"] == ["STARTER", "GROWTH"]
    bad = invoke(toolkit, "payment_path", {"purpose": "change_plan", "plan": "GROWTH"})
    assert bad["ok"] is False and bad["error"] == "validation_error" and "payment_method" in bad["message"]
    tenex = sandbox_clients(app, provider="tenex")[0]
    for actions in ("full", "read_only"):
        names = [t.name for t in BillingToolkit(client=tenex, actions=actions, audit=MemoryAuditLog()).get_tools()]
        assert "payment_path" not in names


def wallet(root: httpx.Client) -> Decimal:
    """The sandbox wallet's balance (``GET /sandbox/wallet``: Wallgent's ``GET /billing`` does not show it)."""
    response = root.get("/sandbox/wallet")
    response.raise_for_status()
    return Decimal(response.json()["walletBalance"])


def test_headless_from_the_wallet(toolkit: BillingToolkit, root: httpx.Client) -> None:
    answer, calls = ask(toolkit, plan="STARTER", wallet_covers=True, human_present=False)
    assert answer["path"] == "headless" and [(c.tool, c.action) for c in calls] == [("billing", "subscribe")]
    follow(toolkit, calls)
    after = billing(toolkit)
    assert (after["plan"], after["billing_status"], after["billing_payment_method"]) == ("STARTER", "ACTIVE", "WALLET")
    assert "wallet_balance" not in after and wallet(root) == Decimal("401.00")  # $500 opening balance less $99, and no card


def test_headless_on_the_saved_card(toolkit: BillingToolkit, root: httpx.Client) -> None:
    invoke(toolkit, "payment_method", {"action": "save", "payment_method_id": "pm_card_mastercard"})
    answer, calls = ask(toolkit, plan="GROWTH", payment_method="CARD", saved_default_card=True)
    assert answer["rule"] == "saved_card"
    follow(toolkit, calls)  # reads the saved card's id from billing get, then subscribes with it
    after = billing(toolkit)
    assert (after["plan"], after["billing_status"], after["billing_payment_method"]) == ("GROWTH", "ACTIVE", "CARD")
    assert after["card_details"]["payment_method_id"] == "pm_card_mastercard"
    assert wallet(root) == Decimal("500.00")


def test_setup_intent_then_the_card(toolkit: BillingToolkit) -> None:
    answer, calls = ask(toolkit, plan="STARTER", wants_to_save_card=True)
    assert answer["path"] == "setup_intent"
    follow(toolkit, calls, confirmed="pm_card_visa")  # trusted code confirmed the setup intent with this card
    after = billing(toolkit)
    assert (after["plan"], after["billing_payment_method"], after["card_details"]["last4"]) == ("STARTER", "CARD", "4242")


def test_a_short_wallet_moves_a_plan_change_to_the_saved_card(toolkit: BillingToolkit, root: httpx.Client) -> None:
    invoke(toolkit, "billing", {"action": "subscribe", "plan": "STARTER", "payment_method": "WALLET"})
    invoke(toolkit, "payment_method", {"action": "save", "payment_method_id": "pm_card_visa"})
    root.post("/sandbox/wallet", json={"balance": "0.00"}).raise_for_status()
    _, calls = ask(toolkit, purpose="change_plan", plan="GROWTH", payment_method="WALLET", saved_default_card=True)
    assert [(c.tool, c.action) for c in calls] == [("billing", "get"), ("payment_method", "switch"),
                                                   ("billing", "change_plan")]
    follow(toolkit, calls)
    after = billing(toolkit)
    assert (after["plan"], after["billing_payment_method"]) == ("GROWTH", "CARD")


def test_a_failed_renewal_retried_from_the_wallet(toolkit: BillingToolkit, root: httpx.Client) -> None:
    invoke(toolkit, "billing", {"action": "subscribe", "plan": "STARTER", "payment_method": "WALLET"})
    root.post("/sandbox/fail-next-renewal").raise_for_status()
    root.post("/sandbox/advance").raise_for_status()
    assert billing(toolkit)["billing_status"] == "PAST_DUE"
    _, calls = ask(toolkit, purpose="retry_payment", payment_method="WALLET", wallet_covers=True, human_present=False)
    follow(toolkit, calls)
    assert billing(toolkit)["billing_status"] == "ACTIVE"


@pytest.mark.parametrize("channel", ["chat", "voice"])
def test_the_human_path_hands_over_a_checkout_the_person_completes(toolkit: BillingToolkit, root: httpx.Client,
                                                                  channel: str) -> None:
    answer, calls = ask(toolkit, plan="GROWTH", channel=channel)
    assert answer["path"] == "human_assisted"
    assert ("never read the URL" in answer["steps"][1]) is (channel == "voice")
    checkout, *_ = follow(toolkit, calls[:1])
    assert checkout["url"].startswith("http") and "/checkout/cs_" in checkout["url"]
    assert billing(toolkit)["plan"] == "FREE"  # nothing is paid until the person pays
    session = checkout["url"].rsplit("/", 1)[1]
    root.post(f"/sandbox/checkout/{session}/complete", json={"paymentMethodId": "pm_card_visa"}).raise_for_status()
    (after,) = follow(toolkit, calls[1:])  # the advised check afterwards
    assert (after["plan"], after["billing_status"]) == ("GROWTH", "ACTIVE")


def test_a_declined_renewal_goes_to_the_portal(toolkit: BillingToolkit) -> None:
    answer, calls = ask(toolkit, purpose="retry_payment", payment_method="CARD", card_declined=True)
    assert answer["rule"] == "declined"
    (portal,) = follow(toolkit, calls[:1])
    assert "/portal/" in portal["url"]
    assert calls[-1].action == "retry_payment" and "still PAST_DUE" in calls[-1].note
