"""Attempts to get money out of the tools without a yes. None may move money."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.tools.conftest import MakeToolkit, acall, call

from agent_billing.audit import MemoryAuditLog, receipt_ids
from agent_billing.client import BillingClient
from agent_billing.guardrails.approval import ApprovalRequest
from agent_billing.guardrails.mandate import Mandate
from agent_billing.guardrails.spend_store import SqliteSpendStore
from agent_billing.provider import get_provider

PAN = "4242424242424242"


def balance(client: BillingClient) -> Decimal:
    return client.get_wallet_balance().balance


@pytest.fixture
def saved_card(clients: Any) -> BillingClient:
    client = clients[0]
    client.add_payment_method("pm_card_visa", make_default=True)
    return client


def test_reads_need_no_approval(make_toolkit: MakeToolkit) -> None:
    content, message = call(make_toolkit().get_tool("wallet"), action="balance")
    assert content["ok"] and content["result"]["balance"] == "0.00" and message.status == "success"


def test_no_approver_and_no_mandate_refuses_clearly(make_toolkit: MakeToolkit, saved_card: BillingClient) -> None:
    audit = MemoryAuditLog()
    content, message = call(make_toolkit(audit=audit).get_tool("wallet"), action="fund", amount=25)
    assert not content["ok"] and message.status == "error"
    assert "approval" in content["message"] and "Nothing was charged" in content["message"]
    assert balance(saved_card) == 0
    assert [e.decision for e in audit.events] == ["refused"]


def test_approved_charge_moves_money_once_and_is_audited(make_toolkit: MakeToolkit, saved_card: BillingClient) -> None:
    asked: list[ApprovalRequest] = []
    audit = MemoryAuditLog()
    toolkit = make_toolkit(approval=lambda request: asked.append(request) or True, audit=audit)
    content, _ = call(toolkit.get_tool("wallet"), action="fund", amount="25")
    assert content["ok"], content
    assert balance(saved_card) == Decimal("25.00")
    (request,) = asked
    assert request.amount == Decimal("25") and "$25.00" in request.summary and "Visa ending 4242" in request.summary
    assert [e.decision for e in audit.events] == ["approved", "succeeded"]
    assert audit.events[-1].idempotency_key == request.idempotency_key


def test_rejected_charge_moves_nothing_and_is_not_asked_again(make_toolkit: MakeToolkit,
                                                                 saved_card: BillingClient) -> None:
    asked: list[ApprovalRequest] = []
    toolkit = make_toolkit(approval=lambda request: asked.append(request) and False)
    wallet = toolkit.get_tool("wallet")
    first, _ = call(wallet, action="fund", amount=25)
    second, _ = call(wallet, action="fund", amount=25)  # the agent retries after the "no"
    assert first["error"] == "rejected" and "Do not retry" in first["message"]
    assert second["error"] == "rejected" and len(asked) == 1
    assert balance(saved_card) == 0


async def test_async_callback_approver_with_ainvoke(make_toolkit: MakeToolkit, saved_card: BillingClient) -> None:
    async def approve(request: ApprovalRequest) -> str:
        await asyncio.sleep(0)
        return "yes" if request.amount == Decimal("30") else "no"

    wallet = make_toolkit(approval=approve).get_tool("wallet")
    ok, _ = await acall(wallet, action="fund", amount=30)
    no, _ = await acall(wallet, action="fund", amount=31)
    assert ok["ok"] and no["error"] == "rejected"
    assert balance(saved_card) == Decimal("30.00")


@pytest.mark.parametrize("extra", [{"approved": True}, {"confirmed": "yes"}, {"approval_id": "appr_123"},
                                   {"confirmation": "conf_fake"}])
def test_fake_approval_flags_are_refused(make_toolkit: MakeToolkit, saved_card: BillingClient,
                                         extra: dict[str, Any]) -> None:
    content, message = call(make_toolkit().get_tool("wallet"), action="fund", amount=25, **extra)
    assert not content["ok"] and message.status == "error"
    assert balance(saved_card) == 0


def mandate(**kwargs: Any) -> Mandate:
    kwargs.setdefault("auto_approve", True)
    return Mandate(**kwargs)


def test_inside_the_mandate_auto_approves(make_toolkit: MakeToolkit, saved_card: BillingClient, tmp_path: Path) -> None:
    audit = MemoryAuditLog()
    toolkit = make_toolkit(mandate=mandate(max_per_charge="50", max_per_24h="100"),
                           spend_store=SqliteSpendStore(tmp_path / "spend.db"), audit=audit)
    content, _ = call(toolkit.get_tool("wallet"), action="fund", amount=25)
    assert content["ok"] and content["approved_by"] == "mandate:default"
    assert [e.decision for e in audit.events] == ["auto_approved", "succeeded"]


@pytest.mark.parametrize("amount", ["50.01", 51, "10000"])
def test_just_over_the_per_charge_cap_is_refused_without_an_approver(
        make_toolkit: MakeToolkit, saved_card: BillingClient, tmp_path: Path, amount: Any) -> None:
    toolkit = make_toolkit(mandate=mandate(max_per_charge="50"), spend_store=SqliteSpendStore(tmp_path / "s.db"))
    content, _ = call(toolkit.get_tool("wallet"), action="fund", amount=amount)
    assert not content["ok"] and "$50.00" in content["message"]
    assert balance(saved_card) == 0


def test_outside_the_mandate_is_refused_even_with_a_yes(make_toolkit: MakeToolkit, saved_card: BillingClient,
                                                        tmp_path: Path) -> None:
    asked: list[ApprovalRequest] = []
    toolkit = make_toolkit(mandate=mandate(max_per_charge="50"), spend_store=SqliteSpendStore(tmp_path / "s.db"),
                           approval=lambda request: asked.append(request) or True)
    content, _ = call(toolkit.get_tool("wallet"), action="fund", amount=60)
    assert not content["ok"] and content["error"] == "refused" and "$50.00" in content["message"]
    assert asked == [] and balance(saved_card) == 0


def test_outside_the_mandate_escalates_to_the_approver_when_the_deployer_says_so(
        make_toolkit: MakeToolkit, saved_card: BillingClient, tmp_path: Path) -> None:
    asked: list[ApprovalRequest] = []
    toolkit = make_toolkit(mandate=mandate(max_per_charge="50", beyond="ask"),
                           spend_store=SqliteSpendStore(tmp_path / "s.db"),
                           approval=lambda request: asked.append(request) or True)
    content, _ = call(toolkit.get_tool("wallet"), action="fund", amount=60)
    assert content["ok"] and len(asked) == 1 and asked[0].mandate and "$50.00" in asked[0].mandate


def test_rolling_cap_survives_a_restart(make_toolkit: MakeToolkit, saved_card: BillingClient, tmp_path: Path) -> None:
    policy = mandate(max_per_charge="50", max_per_24h="60")
    first = make_toolkit(mandate=policy, spend_store=SqliteSpendStore(tmp_path / "spend.db"))
    assert call(first.get_tool("wallet"), action="fund", amount=25)[0]["ok"]
    assert call(first.get_tool("wallet"), action="fund", amount=30)[0]["ok"]
    restarted = make_toolkit(mandate=policy, spend_store=SqliteSpendStore(tmp_path / "spend.db"))
    content, _ = call(restarted.get_tool("wallet"), action="fund", amount=10)
    assert not content["ok"] and "$60.00" in content["message"]
    assert balance(saved_card) == Decimal("55.00")


async def test_parallel_calls_cannot_exceed_the_rolling_cap(make_toolkit: MakeToolkit, saved_card: BillingClient,
                                                            tmp_path: Path) -> None:
    toolkit = make_toolkit(mandate=mandate(max_per_charge="25", max_per_24h="50"),
                           spend_store=SqliteSpendStore(tmp_path / "spend.db"))
    wallet = toolkit.get_tool("wallet")
    results = await asyncio.gather(*(acall(wallet, action="fund", amount=25) for _ in range(5)))
    # An identical charge overlapping one in flight joins it (same idempotency key, a note, no second charge);
    # one that starts after it finished is a new charge. Either way: every success is a real charge, each
    # charge is counted once, and the total never passes the cap.
    charges = {tuple(sorted(receipt_ids(content).items())) for content, _ in results if content["ok"]}
    assert 1 <= len(charges) <= 2
    assert balance(saved_card) == Decimal("25.00") * len(charges)
    assert all("nothing was charged" in content["message"].lower() for content, _ in results if not content["ok"])


def test_plan_outside_the_mandate(make_toolkit: MakeToolkit, saved_card: BillingClient, tmp_path: Path) -> None:
    toolkit = make_toolkit(mandate=mandate(max_per_charge="100", allowed_plan_ids={10}),
                           spend_store=SqliteSpendStore(tmp_path / "s.db"))
    subs = toolkit.get_tool("subscriptions")
    refused, _ = call(subs, action="create", plan_id=11, payment_method_id="pm_card_visa")
    allowed, _ = call(subs, action="create", plan_id=10, payment_method_id="pm_card_visa")
    assert not refused["ok"] and "plan" in refused["message"].lower()
    assert allowed["ok"]
    assert [s.plan_id for s in saved_card.list_subscriptions().subscriptions] == [10]


def test_read_only_mandate_forbids_even_with_an_approver(make_toolkit: MakeToolkit, saved_card: BillingClient) -> None:
    toolkit = make_toolkit(mandate=Mandate.read_only_policy(), approval=lambda request: True)
    content, _ = call(toolkit.get_tool("wallet"), action="fund", amount=25)
    assert not content["ok"] and "mandate" in content["message"]
    assert call(toolkit.get_tool("wallet"), action="balance")[0]["ok"]
    assert balance(saved_card) == 0


def test_expired_mandate_does_not_auto_approve(make_toolkit: MakeToolkit, saved_card: BillingClient,
                                               tmp_path: Path) -> None:
    past = datetime.now(timezone.utc) - timedelta(minutes=1)
    toolkit = make_toolkit(mandate=mandate(max_per_charge="50", expires_at=past),
                           spend_store=SqliteSpendStore(tmp_path / "s.db"))
    content, _ = call(toolkit.get_tool("wallet"), action="fund", amount=25)
    assert not content["ok"] and balance(saved_card) == 0


def test_single_use_confirmation(make_toolkit: MakeToolkit, saved_card: BillingClient, tmp_path: Path) -> None:
    toolkit = make_toolkit(approval="confirmation", mandate=Mandate(max_per_charge="50"),
                           spend_store=SqliteSpendStore(tmp_path / "s.db"))
    wallet = toolkit.get_tool("wallet")
    asked, _ = call(wallet, action="fund", amount=25)
    assert asked["status"] == "confirmation_required" and "$25.00" in asked["summary"]
    token = asked["confirmation"]
    assert balance(saved_card) == 0
    other, _ = call(wallet, action="fund", amount=30, confirmation=token)  # used for a different amount
    assert not other["ok"] and balance(saved_card) == 0
    burned, _ = call(wallet, action="fund", amount=25, confirmation=token)  # a misused token is spent
    assert not burned["ok"] and balance(saved_card) == 0
    token = call(wallet, action="fund", amount=25)[0]["confirmation"]
    ok, _ = call(wallet, action="fund", amount=25, confirmation=token)
    assert ok["ok"] and balance(saved_card) == Decimal("25.00")
    reused, _ = call(wallet, action="fund", amount=25, confirmation=token)
    assert not reused["ok"] and balance(saved_card) == Decimal("25.00")
    forged, _ = call(wallet, action="fund", amount=25, confirmation=token[:-2] + "xx")
    assert not forged["ok"]
    outside, _ = call(wallet, action="fund", amount=60)
    assert not outside["ok"] and "Outside the deployer's spending mandate" in outside["message"]
    assert "confirmation" not in outside and balance(saved_card) == Decimal("25.00")


def test_the_same_tool_call_run_twice_charges_once(make_toolkit: MakeToolkit, saved_card: BillingClient) -> None:
    # LangGraph re-executes an interrupted tool call with the same id: the idempotency key must not change.
    wallet = make_toolkit(approval=lambda request: True).get_tool("wallet")
    first, _ = call(wallet, "call_same", action="fund", amount=25)
    second, _ = call(wallet, "call_same", action="fund", amount=25)
    assert first["ok"] and second["ok"] and "note" in second
    assert balance(saved_card) == Decimal("25.00")


@pytest.mark.parametrize("method, error", [("pm_card_chargeDeclined", "payment_declined"),
                                           ("pm_card_authenticationRequired", "requires_action")])
def test_failed_charges_release_the_mandate_and_point_to_a_payment_link(
        make_toolkit: MakeToolkit, clients: Any, tmp_path: Path, method: str, error: str) -> None:
    store = SqliteSpendStore(tmp_path / "s.db")
    toolkit = make_toolkit(mandate=mandate(max_per_charge="50", max_per_24h="50"), spend_store=store)
    content, message = call(toolkit.get_tool("wallet"), action="fund", amount=25, payment_method_id=method)
    assert content["error"] == error and message.status == "error"
    assert "(call payment_links action=handoff)" in content["next_step"]  # the provider's own hand-off
    assert store.spent("default", now=datetime.now(timezone.utc)) == 0
    assert balance(clients[0]) == 0


@pytest.mark.parametrize("tool, args", [
    ("billing", {"action": "update_info", "address_line2": "card 4242 4242 4242 4242"}),
    ("billing", {"action": "update_info", "address_line1": "4242 4242", "address_line2": "4242 4242"}),
    ("billing", {"action": "update_info", "name": "４２４２４２４２４２４２４２４２"}),
    ("coupons", {"action": "redeem", "coupon_code": PAN}),
    ("coupons", {"action": "validate", "coupon_code": "4242-4242-4242-4242"}),
    ("wallet", {"action": "fund", "amount": 25, "payment_method_id": int(PAN)}),
    ("wallet", {"action": "fund", "amount": 25, "cvc": "123"}),
    ("payment_methods", {"action": "add", "payment_method_id": "pm_card_visa", "card_number": "4000 0566 5566 5556"}),
    ("payment_path", {"purpose": "fund", "amount": 25, "trusted_payment_method_id": "4242\u200b4242\u200b4242\u200b4242"}),
])
def test_card_data_anywhere_is_refused_without_echo(make_toolkit: MakeToolkit, saved_card: BillingClient,
                                                    tool: str, args: dict[str, Any]) -> None:
    audit = MemoryAuditLog()
    toolkit = make_toolkit(approval=lambda request: True, audit=audit)
    content, message = call(toolkit.get_tool(tool), **args)
    assert content["error"] == "card_data_not_allowed" and message.status == "error"
    assert "payment page" in content["message"]
    handoff = get_provider(toolkit.registry.provider).handoff
    assert handoff is not None and f"(call {handoff.call()})" in content["message"]  # its own hand-off tool
    digits = "".join(ch for ch in str(message.content) if ch.isdigit())
    assert "4242" not in digits and "5556" not in digits and "123" not in digits
    assert balance(saved_card) == 0
    assert saved_card.get_billing_info().address_line2 is None


def test_validation_messages_name_the_field(make_toolkit: MakeToolkit) -> None:
    content, message = call(make_toolkit().get_tool("wallet"), action="fund", amount="9.99")
    assert message.status == "error" and content["error"] == "validation_error"
    assert content["fields"][0]["field"] == "amount"
    wrong, _ = call(make_toolkit().get_tool("wallet"), action="balance", amount=5)
    assert "does not take" in wrong["message"]


def test_unknown_outcome_is_replayed_after_a_restart(sandbox_app: Any, tmp_path: Path) -> None:
    """A charge whose response was lost: after a restart, the same call replays instead of charging again."""
    import httpx
    from tests.client.test_resilience import DropResponses
    from tests.conftest import TOKEN

    from agent_billing.client import AsyncBillingClient
    from agent_billing.guardrails.pending_outcomes import PendingOutcomes
    from agent_billing.inprocess import SANDBOX_BASE_URL, SyncASGITransport
    from agent_billing.retry import RetryPolicy
    from agent_billing.tools import BillingToolkit

    def toolkit(transport: httpx.BaseTransport) -> BillingToolkit:
        client = BillingClient(base_url=SANDBOX_BASE_URL, token=TOKEN, transport=transport,
                               retry=RetryPolicy(max_retries=1, base_delay=0.01))
        aclient = AsyncBillingClient(base_url=SANDBOX_BASE_URL, token=TOKEN)
        return BillingToolkit(client=client, async_client=aclient, approval=lambda request: True,
                              audit=MemoryAuditLog(), pending_outcomes=PendingOutcomes(tmp_path / "pending.db"))

    inner = SyncASGITransport(sandbox_app)
    lossy = DropResponses(inner, "/wallet/fund", drops=5)
    BillingClient(base_url=SANDBOX_BASE_URL, token=TOKEN, transport=inner).add_payment_method("pm_card_visa")
    first, _ = call(toolkit(lossy).get_tool("wallet"), action="fund", amount=25)
    assert first["error"] == "outcome_unknown" and "unknown" in first["next_step"]
    restarted = toolkit(inner)  # a new process: nothing in memory, the pending key is on disk
    again, _ = call(restarted.get_tool("wallet"), action="fund", amount=25)
    assert again["ok"] and "note" in again  # an idempotent replay, not a second charge
    checker = BillingClient(base_url=SANDBOX_BASE_URL, token=TOKEN, transport=inner)
    assert checker.get_wallet_balance().balance == Decimal("25.00")
    assert len(checker.get_wallet_transactions().items) == 1


def test_no_secret_reaches_tool_output_logs_or_the_audit_file(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    import json
    import logging

    from agent_billing.audit import JsonlAuditLog
    from agent_billing.inprocess import sandbox_clients
    from agent_billing.sandbox import create_app
    from agent_billing.tools import BillingToolkit

    secret = "sk_sandbox_TOPSECRET_987654"
    caplog.set_level(logging.DEBUG)
    client, aclient = sandbox_clients(create_app(tokens=(secret,), rate_limit=False), token=secret)
    audit_file = tmp_path / "audit.jsonl"
    toolkit = BillingToolkit(client=client, async_client=aclient, approval=lambda request: True,
                             audit=JsonlAuditLog(audit_file))
    outputs = [
        call(toolkit.get_tool("payment_methods"), action="add", payment_method_id="pm_card_visa")[1],
        call(toolkit.get_tool("payment_methods"), action="setup_intent")[1],
        call(toolkit.get_tool("wallet"), action="fund", amount=25)[1],
        call(toolkit.get_tool("wallet"), action="fund", amount=25, payment_method_id="pm_card_chargeDeclined")[1],
        call(toolkit.get_tool("billing"), action="stripe_config")[1],
    ]
    texts = [str(m.content) for m in outputs] + [caplog.text, audit_file.read_text(), repr(toolkit)]
    assert all(secret not in text for text in texts)
    setup = json.loads(str(outputs[1].content))["result"]
    assert setup["client_secret"] == "[held for trusted code]"
    assert "seti_" in str(outputs[1].artifact)  # the host still gets the full result
    decisions = [json.loads(line)["decision"] for line in audit_file.read_text().splitlines()]
    # The card saved as the default is a standing authorisation (asked and audited), then the two top-ups.
    assert decisions == ["approved", "succeeded", "approved", "succeeded", "approved", "failed"]
    client.close()


def test_subscription_approval_names_plan_price_card_and_recurrence(make_toolkit: MakeToolkit,
                                                                    saved_card: BillingClient) -> None:
    asked: list[ApprovalRequest] = []
    subs = make_toolkit(approval=lambda request: asked.append(request) and False).get_tool("subscriptions")
    call(subs, action="create", plan_id=10, payment_method_id="pm_card_visa")
    (request,) = asked
    assert request.recurring and request.amount == Decimal("47.00")
    assert "Standard (plan 10, $47.00 per month)" in request.summary and "Visa ending 4242" in request.summary
    assert saved_card.list_subscriptions().subscriptions == []


def test_plain_coupon_needs_no_approval_but_a_bonus_purchase_does(make_toolkit: MakeToolkit,
                                                                  saved_card: BillingClient) -> None:
    coupons = make_toolkit().get_tool("coupons")
    bonus, _ = call(coupons, action="redeem", coupon_code="WELCOME50", purchase_amount=20,
                    payment_method_id="pm_card_visa")
    assert bonus["error"] == "refused" and balance(saved_card) == 0
    plain, _ = call(coupons, action="redeem", coupon_code="WELCOME50")
    assert plain["ok"] and balance(saved_card) == Decimal("5.00")


def test_destructive_actions_need_a_yes_unless_the_deployer_relaxes_it(make_toolkit: MakeToolkit,
                                                                       saved_card: BillingClient) -> None:
    strict = make_toolkit().get_tool("payment_methods")
    refused, _ = call(strict, action="remove", payment_method_id="pm_card_visa")
    assert refused["error"] == "refused" and saved_card.list_payment_methods().payment_methods
    relaxed = make_toolkit(approve_destructive=False).get_tool("payment_methods")
    removed, _ = call(relaxed, action="remove", payment_method_id="pm_card_visa")
    assert removed["ok"] and not saved_card.list_payment_methods().payment_methods


def test_withdrawal_is_a_payout_that_needs_approval(sandbox_app: Any) -> None:
    from tests.conftest import RESELLER_TOKEN

    from agent_billing.inprocess import sandbox_clients
    from agent_billing.tools import BillingToolkit

    client, aclient = sandbox_clients(sandbox_app, token=RESELLER_TOKEN)
    client.fund_wallet(Decimal("30"), "pm_card_visa")
    asked: list[ApprovalRequest] = []
    for approval in (None, lambda request: asked.append(request) or True):
        toolkit = BillingToolkit(client=client, async_client=aclient, approval=approval, audit=MemoryAuditLog())
        content, _ = call(toolkit.get_tool("wallet"), action="withdraw", amount=10)
        assert content["ok"] is (approval is not None)
    assert asked[0].effect == "payout" and "Pay out $10.00" in asked[0].summary
    assert client.get_wallet_balance().balance == Decimal("20.00")


def test_auto_approved_charge_skips_the_names_a_person_would_need(
        make_toolkit: MakeToolkit, saved_card: BillingClient, tmp_path: Path) -> None:
    paths: list[str] = []
    saved_card._http.event_hooks["request"].append(lambda request: paths.append(request.url.path))
    asked: list[ApprovalRequest] = []
    toolkit = make_toolkit(mandate=mandate(max_per_charge="30"), spend_store=SqliteSpendStore(tmp_path / "s.db"),
                           approval=lambda request: asked.append(request) or True)
    inside, _ = call(toolkit.get_tool("wallet"), action="fund", amount=25)
    assert inside["approved_by"] == "mandate:default"
    # One read resolves which card is the default (the charge then names it), then the charge.
    assert [p.rsplit("/", 1)[-1] for p in paths] == ["payment-methods", "fund"]
    paths.clear()
    named, _ = call(toolkit.get_tool("wallet"), action="fund", amount=20, payment_method_id="pm_card_visa")
    assert named["ok"] and [p.rsplit("/", 1)[-1] for p in paths] == ["fund"]  # nothing to resolve
    outside, _ = call(toolkit.get_tool("wallet"), action="fund", amount=40)
    assert not outside["ok"] and asked == []  # the mandate's limits are hard
