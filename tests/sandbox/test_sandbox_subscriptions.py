"""Subscriptions: headless creation, the state machine, charges, renewals on the clock, past_due."""

from __future__ import annotations

from typing import Any

from sandbox_helpers import Api, FakeClock, count, snapshot

from agent_billing.providers.modelslab.sandbox.ledger import Ledger
from agent_billing.sandbox.units import iso

DAY = 86400.0


async def subscribe(api: Api, plan_id: int = 10, pm: str = "pm_card_visa") -> dict[str, Any]:
    data: dict[str, Any] = await api.ok("POST", "/subscriptions", json={"plan_id": plan_id, "payment_method_id": pm})
    return data


async def charged(api: Api) -> list[float]:
    """Amounts of the account's invoices, oldest first."""
    invoices = (await api.ok("GET", "/billing/invoices"))["invoices"]
    return [i["amount"] for i in reversed(invoices)]


async def test_plans_catalogue_is_as_documented(api: Api) -> None:
    data = await api.ok("GET", "/subscriptions/plans")
    plans = {p["id"]: p for p in data["subscription_plans"]}
    assert {10, 42} <= set(plans)
    assert {p["category"] for p in plans.values()} == {"normal", "addon", "enterprise", "imagen"}
    for plan in plans.values():
        assert {"id", "name", "category", "period", "type", "price", "api_call_limit", "rate_limit",
                "features"} <= set(plan)
    payg = data["pay_as_you_go"]
    assert payg["available"] is True and str(payg["minimum_topup_usd"]) == "10.00"
    assert set(payg["auto_payments"]) == {"supported", "description", "configure_endpoint", "disable_endpoint"}
    assert "fund_endpoint" in payg and data["count"] == len(plans)


async def test_headless_create_charges_the_plan_price(api: Api, clock: FakeClock) -> None:
    data = await subscribe(api)
    sub = data["subscription"]
    assert data["status"] == sub["status"] == "active" and sub["plan_id"] == 10 and sub["id"] >= 1001
    assert data["stripe_subscription_id"] == sub["stripe_subscription_id"] and sub["feature"] == "normal"
    assert sub["current_period_start"] == iso(clock.now) and sub["current_period_end"] == iso(clock.now + 30 * DAY)
    assert await charged(api) == [47]
    status = await api.ok("GET", f"/subscriptions/{sub['id']}/status")
    assert {k: status[k] for k in ("id", "plan_id", "status")} == {"id": sub["id"], "plan_id": 10, "status": "active"}
    assert (await api.ok("GET", "/wallet/balance"))["balance"] == 0  # a subscription is not wallet credit


async def test_create_declined_or_needing_3ds_makes_no_subscription(api: Api, ledger: Ledger) -> None:
    err = await api.err("POST", "/subscriptions", 402, "payment_declined",
                        json={"plan_id": 10, "payment_method_id": "pm_card_chargeDeclinedInsufficientFunds"})
    assert err["details"]["decline_code"] == "insufficient_funds"
    r = await api.call("POST", "/subscriptions", json={"plan_id": 10, "payment_method_id": "pm_card_authenticationRequired"})
    assert r.status_code == 202 and r.json()["data"]["payment"]["status"] == "requires_action"
    assert (await api.ok("GET", "/subscriptions"))["count"] == 0
    assert count(ledger, "SELECT COUNT(*) FROM invoices") == 0


async def test_one_live_subscription_per_kind_addons_alongside(api: Api, ledger: Ledger) -> None:
    first = await subscribe(api, 10)
    before = snapshot(ledger)
    err = await api.err("POST", "/subscriptions", 409, "invalid_state", json={"plan_id": 11, "payment_method_id": "pm_card_visa"})
    assert f"PUT /subscriptions/{first['subscription']['id']}" in err["message"]
    assert snapshot(ledger) == before
    await subscribe(api, 20)
    await subscribe(api, 21)
    await api.err("POST", "/subscriptions", 409, "invalid_state", json={"plan_id": 20, "payment_method_id": "pm_card_visa"})
    await subscribe(api, 42)  # another kind (app)
    assert (await api.ok("GET", "/subscriptions"))["count"] == 4


async def test_unknown_ids(api: Api) -> None:
    await api.err("POST", "/subscriptions", 400, "validation_error",
                  json={"plan_id": 999999, "payment_method_id": "pm_card_visa"})
    for method, path in (("GET", "/subscriptions/999/status"), ("POST", "/subscriptions/999/pause"),
                         ("POST", "/subscriptions/999/resume"), ("POST", "/subscriptions/999/fix-payment"),
                         ("POST", "/subscriptions/999/reset-cycle")):
        await api.err(method, path, 404, "not_found")
    sub = (await subscribe(api))["subscription"]["id"]
    await api.err("PUT", f"/subscriptions/{sub}", 400, "validation_error", json={"new_plan_id": 999999})


async def test_another_accounts_subscription_is_not_found(api: Api, other_api: Api) -> None:
    sub = (await subscribe(api))["subscription"]["id"]
    await other_api.err("POST", f"/subscriptions/{sub}/pause", 404, "not_found")
    await other_api.err("GET", f"/subscriptions/{sub}/status", 404, "not_found")


async def test_pause_resume_and_invalid_transitions(api: Api, clock: FakeClock) -> None:
    sub = (await subscribe(api))["subscription"]["id"]
    await api.err("POST", f"/subscriptions/{sub}/resume", 409, "invalid_state")
    paused = await api.ok("POST", f"/subscriptions/{sub}/pause")
    assert paused["status"] == "paused"
    err = await api.err("POST", f"/subscriptions/{sub}/pause", 409, "invalid_state")
    assert err["details"]["status"] == "paused"
    for path in ("reset-cycle", "fix-payment"):
        await api.err("POST", f"/subscriptions/{sub}/{path}", 409, "invalid_state")
    await api.err("PUT", f"/subscriptions/{sub}", 409, "invalid_state", json={"new_plan_id": 11})
    clock.advance(60 * DAY)  # no renewals while paused
    assert await charged(api) == [47]
    # Resume charges the default card, else the subscription's card.
    await api.ok("POST", "/billing/payment-methods", json={"payment_method_id": "pm_card_amex"})
    resumed = await api.ok("POST", f"/subscriptions/{sub}/resume")
    assert resumed["status"] == "active" and resumed["payment"]["status"] == "succeeded"
    assert resumed["subscription"]["current_period_start"] == iso(clock.now)
    assert resumed["subscription"]["payment_method_id"] == "pm_card_amex"
    assert await charged(api) == [47, 47]


async def test_resume_declined_stays_paused(api: Api) -> None:
    sub = (await subscribe(api))["subscription"]["id"]
    await api.ok("POST", f"/subscriptions/{sub}/pause")
    await api.ok("POST", "/billing/payment-methods", json={"payment_method_id": "pm_card_chargeDeclined"})
    await api.err("POST", f"/subscriptions/{sub}/resume", 402, "payment_declined")
    assert (await api.ok("GET", f"/subscriptions/{sub}/status"))["status"] == "paused"


async def test_upgrade_charges_the_difference_downgrade_nothing(api: Api) -> None:
    sub = (await subscribe(api, 10))["subscription"]["id"]
    up = await api.ok("PUT", f"/subscriptions/{sub}", json={"new_plan_id": 11})
    assert up["subscription"]["plan_id"] == 11 and up["amount_charged"] == 100
    down = await api.ok("PUT", f"/subscriptions/{sub}", json={"new_plan_id": 5})
    assert down["subscription"]["plan_id"] == 5 and down["amount_charged"] == 0
    assert await charged(api) == [47, 100]
    await api.err("PUT", f"/subscriptions/{sub}", 409, "invalid_state", json={"new_plan_id": 5})
    err = await api.err("PUT", f"/subscriptions/{sub}", 400, "validation_error", json={"new_plan_id": 42})
    assert err["details"]["errors"][0]["field"] == "new_plan_id"
    await api.ok("POST", "/billing/payment-methods", json={"payment_method_id": "pm_card_chargeDeclined"})
    await api.err("PUT", f"/subscriptions/{sub}", 402, "payment_declined", json={"new_plan_id": 30})
    assert (await api.ok("GET", f"/subscriptions/{sub}/status"))["plan_id"] == 5


async def test_reset_cycle_starts_a_period_now_and_charges(api: Api, clock: FakeClock) -> None:
    sub = (await subscribe(api))["subscription"]["id"]
    clock.advance(10 * DAY)
    data = await api.ok("POST", f"/subscriptions/{sub}/reset-cycle")
    assert data["subscription"]["current_period_start"] == iso(clock.now)
    assert data["subscription"]["current_period_end"] == iso(clock.now + 30 * DAY)
    assert await charged(api) == [47, 47]


async def test_past_due_and_fix_payment(api: Api, ledger: Ledger) -> None:
    sub = (await subscribe(api))["subscription"]["id"]
    failed = await api.ok("POST", f"/sandbox/subscriptions/{sub}/fail-payment")
    assert failed["status"] == "past_due"
    open_invoice = await api.ok("GET", f"/billing/invoices/{failed['invoice_id']}")
    assert open_invoice["status"] == "open" and open_invoice["receipt_url"] is None
    await api.err("POST", f"/sandbox/subscriptions/{sub}/fail-payment", 409, "invalid_state")
    await api.err("PUT", f"/subscriptions/{sub}", 409, "invalid_state", json={"new_plan_id": 11})
    await api.err("POST", f"/subscriptions/{sub}/reset-cycle", 409, "invalid_state")
    await api.ok("POST", "/billing/payment-methods", json={"payment_method_id": "pm_card_chargeCustomerFail"})
    await api.err("POST", f"/subscriptions/{sub}/fix-payment", 402, "payment_declined")
    assert (await api.ok("GET", f"/subscriptions/{sub}/status"))["status"] == "past_due"
    await api.ok("POST", "/billing/payment-methods", json={"payment_method_id": "pm_card_visa", "make_default": True})
    fixed = await api.ok("POST", f"/subscriptions/{sub}/fix-payment")
    assert fixed["status"] == "active" and fixed["invoice_id"] == failed["invoice_id"]
    assert (await api.ok("GET", f"/billing/invoices/{failed['invoice_id']}"))["status"] == "paid"
    assert count(ledger, "SELECT COUNT(*) FROM invoices") == 2
    # past_due may also be paused.
    await api.ok("POST", f"/sandbox/subscriptions/{sub}/fail-payment")
    assert (await api.ok("POST", f"/subscriptions/{sub}/pause"))["status"] == "paused"


async def test_canceled_is_final(api: Api) -> None:
    sub = (await subscribe(api))["subscription"]["id"]
    assert (await api.ok("POST", f"/sandbox/subscriptions/{sub}/cancel"))["status"] == "canceled"
    for path in ("pause", "resume", "reset-cycle", "fix-payment"):
        err = await api.err("POST", f"/subscriptions/{sub}/{path}", 409, "invalid_state")
        assert "canceled" in err["message"]
    await api.err("POST", f"/sandbox/subscriptions/{sub}/cancel", 409, "invalid_state")
    await subscribe(api, 11)  # the kind is free again


async def test_renewals_follow_the_clock(api: Api, clock: FakeClock) -> None:
    sub = (await subscribe(api))["subscription"]["id"]
    clock.advance(30 * DAY + 1)
    status = await api.ok("GET", f"/subscriptions/{sub}/status")
    assert status["status"] == "active" and status["current_period_end"] == iso(clock.now - 1 + 30 * DAY)
    assert await charged(api) == [47, 47]
    clock.advance(65 * DAY)  # two more periods
    await api.ok("GET", "/billing/overview")
    assert await charged(api) == [47, 47, 47, 47]


async def test_a_failed_renewal_makes_it_past_due(api: Api, clock: FakeClock) -> None:
    await api.ok("POST", "/billing/payment-methods", json={"payment_method_id": "pm_card_visa"})
    created = await subscribe(api)
    await api.ok("POST", "/billing/payment-methods", json={"payment_method_id": "pm_card_chargeCustomerFail",
                                                           "make_default": True})
    clock.advance(31 * DAY)
    status = await api.ok("GET", f"/subscriptions/{created['subscription']['id']}/status")
    assert status["status"] == "past_due"
    invoices = (await api.ok("GET", "/billing/invoices"))["invoices"]
    assert [i["status"] for i in invoices] == ["open", "paid"]


async def test_trial_plan_starts_trialing_and_charges_at_trial_end(api: Api, clock: FakeClock) -> None:
    data = await subscribe(api, 43)
    assert data["status"] == "trialing" and await charged(api) == []
    sub = data["subscription"]["id"]
    assert (await api.ok("PUT", f"/subscriptions/{sub}", json={"new_plan_id": 42}))["amount_charged"] == 0
    clock.advance(7 * DAY)
    status = await api.ok("GET", f"/subscriptions/{sub}/status")
    assert status["status"] == "active" and status["plan_id"] == 42
    assert await charged(api) == [19]


async def test_charge_amount_charges_the_default_card_into_the_wallet(api: Api, ledger: Ledger) -> None:
    before = snapshot(ledger)
    err = await api.err("POST", "/subscriptions/charge-amount", 400, "validation_error", json={"amount": 5})
    assert "payment link" in err["message"]
    assert snapshot(ledger) == before
    await api.ok("POST", "/billing/payment-methods", json={"payment_method_id": "pm_card_visa"})
    data = await api.ok("POST", "/subscriptions/charge-amount", json={"amount": "5.00"})
    assert data["amount"] == 5 and data["balance"] == 5 and data["invoice_id"].startswith("in_")
    data = await api.ok("POST", "/subscriptions/charge-amount", json={"amount": 10000})
    assert data["balance"] == 10005
