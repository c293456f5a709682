"""Every one of the 34 operations, through the typed client, against the in-process sandbox: sync and async."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from tests.conftest import RESELLER_TOKEN

from agent_billing import (
    AsyncModelsLabClient,
    InvalidRequestError,
    ModelsLabClient,
    PermissionDeniedError,
    get_registry,
)
from agent_billing.inprocess import sandbox_clients

Call = Callable[..., Awaitable[Any]]


def recording(client: ModelsLabClient | AsyncModelsLabClient, seen: set[str]) -> Call:
    """Call a typed method by name (awaiting it for the async client) and record which ran."""

    async def call(operation: str, /, *args: Any, **kwargs: Any) -> Any:
        seen.add(operation)
        result = getattr(client, operation)(*args, **kwargs)
        if isinstance(client, AsyncModelsLabClient):
            result = await result
        return result

    return call


async def scenario(call: Call, root: httpx.Client) -> None:
    """A realistic account history touching every operation."""
    overview = await call("get_billing_overview")
    assert overview.wallet_balance == Decimal("0.00")
    assert (await call("get_stripe_config")).publishable_key.startswith("pk_")
    plans = await call("list_plans")
    assert {10, 42} <= {p.id for p in plans.subscription_plans}
    assert plans.pay_as_you_go["minimum_topup_usd"] == Decimal("10.00")

    assert (await call("get_billing_info")).name is None
    info = await call("update_billing_info", name="Acme Corp", address_country="US", tax_id="EU123456789")
    assert info.name == "Acme Corp" and info.address_country == "US"

    assert (await call("list_payment_methods")).payment_methods == []
    assert (await call("create_setup_intent")).setup_intent_id.startswith("seti_")
    added = await call("add_payment_method", "pm_card_visa", make_default=True)
    assert added.payment_method.last4 == "4242"
    await call("add_payment_method", "pm_card_mastercard", make_default=False)
    await call("set_default_payment_method", "pm_card_mastercard")
    await call("set_default_payment_method", "pm_card_visa")
    cards = (await call("list_payment_methods")).payment_methods
    assert [c.is_default for c in cards if c.id == "pm_card_visa"] == [True]

    funded = await call("fund_wallet", Decimal("25.00"), "pm_card_visa")
    assert funded.balance == Decimal("25.00")
    assert (await call("get_wallet_balance")).balance == Decimal("25.00")
    ledger = await call("get_wallet_transactions", type="credit")
    assert [t.amount for t in ledger.items] == [Decimal("25.00")]
    intent = funded.payment.payment_intent_id
    assert (await call("get_payment_status", intent)).status == "succeeded"

    invoices = (await call("list_invoices")).invoices
    assert invoices
    invoice = await call("get_invoice", invoices[0].id)
    assert invoice.amount == Decimal("25.00")
    pdf = await call("get_invoice_pdf", invoices[0].id)
    assert pdf.pdf_url and pdf.receipt_url

    auto = await call("enable_auto_funding", Decimal("25"), Decimal("5"))
    assert auto.enabled and auto.charge_threshold == Decimal("5.00")
    assert (await call("disable_auto_funding")).enabled is False

    assert (await call("validate_coupon", "WELCOME50")).valid
    redeemed = await call("redeem_coupon", "WELCOME50")
    assert redeemed.credited == Decimal("5.00")

    link = await call("create_payment_link", "fund", amount=Decimal("30"))
    assert link.session_id.startswith("cs_") and link.payment_url.startswith("http")
    assert root.post(f"/sandbox/checkout/{link.session_id}/complete").status_code == 200
    confirmed = await call("confirm_wallet_checkout", link.session_id)
    assert confirmed.balance == Decimal("60.00")
    again = await call("confirm_wallet_checkout", link.session_id)
    assert again.balance == Decimal("60.00") and again.already_confirmed

    created = await call("create_subscription", 10, "pm_card_visa")
    sub_id = created.subscription.id
    assert created.subscription.status == "active"
    assert [s.id for s in (await call("list_subscriptions")).subscriptions] == [sub_id]
    assert (await call("get_subscription_status", sub_id)).status == "active"
    assert (await call("update_subscription", sub_id, 11)).subscription.plan_id == 11
    assert (await call("pause_subscription", sub_id)).subscription.status == "paused"
    assert (await call("resume_subscription", sub_id)).subscription.status == "active"
    assert (await call("reset_subscription_cycle", sub_id)).subscription.status == "active"
    assert root.post(f"/sandbox/subscriptions/{sub_id}/fail-payment").status_code == 200
    assert (await call("get_subscription_status", sub_id)).status == "past_due"
    assert (await call("fix_payment", sub_id)).subscription.status == "active"
    charge = await call("charge_subscription_amount", Decimal("5.00"))
    assert charge.payment.status == "succeeded"

    sub_link = await call("create_payment_link", "subscribe", plan_id=42)
    root.post(f"/sandbox/checkout/{sub_link.session_id}/complete")
    sub_confirmed = await call("confirm_subscription_checkout", sub_link.session_id)
    assert sub_confirmed.subscription.plan_id == 42 and sub_confirmed.subscription.status in ("active", "trialing")

    with pytest.raises(PermissionDeniedError):
        await call("withdraw", Decimal("5"))
    removed = await call("remove_payment_method", "pm_card_mastercard")
    assert removed.payment_method is None or removed.payment_method.id == "pm_card_mastercard"
    assert "pm_card_mastercard" not in [c.id for c in (await call("list_payment_methods")).payment_methods]


def test_every_operation_sync(client: ModelsLabClient, sandbox_root: httpx.Client, sandbox_app: Any) -> None:
    import asyncio

    seen: set[str] = set()
    asyncio.run(scenario(recording(client, seen), sandbox_root))
    reseller, _ = sandbox_clients(sandbox_app, token=RESELLER_TOKEN)
    reseller.fund_wallet(Decimal("20"), "pm_card_visa")
    assert reseller.withdraw(Decimal("5")).balance == Decimal("15.00")
    assert seen == {op.name for op in get_registry()}


async def test_every_operation_async(aclient: AsyncModelsLabClient, sandbox_root: httpx.Client) -> None:
    seen: set[str] = set()
    await scenario(recording(aclient, seen), sandbox_root)
    assert seen == {op.name for op in get_registry()}


def test_unknown_plan_is_refused_locally_once_the_catalogue_is_known(client: ModelsLabClient) -> None:
    sent: list[str] = []
    client._http.event_hooks["request"].append(lambda request: sent.append(request.url.path))
    client.list_plans()
    sent.clear()
    with pytest.raises(InvalidRequestError, match="unknown plan_id 999999"):
        client.create_subscription(999999, "pm_card_visa")
    assert sent == []
