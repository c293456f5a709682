"""Subscribing by CARD and WALLET, plan changes with proration, cancelling at period end, renewals and retries."""

from __future__ import annotations

from decimal import Decimal

from sandbox_helpers import FakeClock
from starlette.applications import Starlette
from wallgent_helpers import DAY, VISA, WALLET, Wallgent, billing_of


async def test_a_new_account_is_free_with_a_funded_wallet(wg: Wallgent) -> None:
    assert await wg.billing() == {
        "plan": "FREE", "billingStatus": "NONE", "billingPaymentMethod": None, "billingPeriodStart": None,
        "billingPeriodEnd": None, "cancelAtPeriodEnd": False, "pastDueSince": None, "pendingPlan": None,
        "monthlyApiCalls": 1, "cardDetails": None, "price": "0.00", "stripeSubscriptionId": None, "trialEndsAt": None,
    }
    assert await wg.wallet() == "500.00"


async def test_subscribe_by_card_charges_once_and_saves_the_card(wg: Wallgent, app: Starlette) -> None:
    body = await wg.ok("POST", "/billing/subscribe", json={**VISA, "plan": "GROWTH"})
    assert body == {"plan": "GROWTH", "billingStatus": "ACTIVE", "billingPaymentMethod": "CARD",
                    "invoiceId": body["invoiceId"], "billingPeriodStart": "2027-07-07T22:40:00Z",
                    "billingPeriodEnd": "2027-08-06T22:40:00Z"}
    info = await wg.billing()
    assert info["plan"] == "GROWTH" and info["price"] == "249.00" and info["billingPaymentMethod"] == "CARD"
    assert info["cardDetails"] == {"paymentMethodId": "pm_card_visa", "brand": "visa", "last4": "4242",
                                   "expMonth": 12, "expYear": 2030}
    assert (await wg.wallet()) == "500.00" and info["stripeSubscriptionId"].startswith("sub_")
    invoice = await wg.ok("GET", f"/billing/invoices/{body['invoiceId']}")
    assert invoice == {"id": body["invoiceId"], "amount": "249.00", "status": "paid", "paymentMethod": "CARD",
                       "description": "Wallgent GROWTH subscription", "createdAt": "2027-07-07T22:40:00Z",
                       "periodStart": "2027-07-07T22:40:00Z", "periodEnd": "2027-08-06T22:40:00Z",
                       "lineItems": [{"description": "GROWTH plan, 2027-07-07 to 2027-08-06", "unitPrice": "249.00",
                                      "quantity": 1, "total": "249.00"}]}
    assert billing_of(app).store.charge_count(1) == 1


async def test_subscribe_by_wallet_debits_the_wallet(wg: Wallgent) -> None:
    body = await wg.ok("POST", "/billing/subscribe", json=WALLET)
    assert body["billingPaymentMethod"] == "WALLET" and "amount" not in body  # the invoice carries the amount
    info = await wg.billing()
    assert (await wg.wallet()) == "401.00" and info["cardDetails"] is None and info["billingPaymentMethod"] == "WALLET"


async def test_subscribe_refusals_move_nothing(wg: Wallgent, app: Starlette) -> None:
    error = await wg.err("POST", "/billing/subscribe", 400, "VALIDATION_ERROR", json={"plan": "STARTER", "paymentMethod": "CARD"})
    assert error["details"] == {"errors": [{"field": "stripePaymentMethodId", "message": "required when paymentMethod is CARD"}]}
    error = await wg.err("POST", "/billing/subscribe", 400, "VALIDATION_ERROR",
                         json={"plan": "ENTERPRISE", "paymentMethod": "WALLET"})
    assert "not self-serve" in error["message"]
    await wg.err("POST", "/billing/subscribe", 400, "VALIDATION_ERROR", json={"plan": "FREE", "paymentMethod": "WALLET"})
    await wg.err("POST", "/billing/subscribe", 400, "VALIDATION_ERROR", json={"plan": "STARTER", "paymentMethod": "BANK"})
    await wg.err("POST", "/billing/subscribe", 400, "VALIDATION_ERROR",
                 json={"plan": "STARTER", "paymentMethod": "CARD", "stripePaymentMethodId": "pm_made_up"})
    declined = await wg.err("POST", "/billing/subscribe", 402, "PAYMENT_FAILED",
                            json={**VISA, "stripePaymentMethodId": "pm_card_chargeDeclined"})
    assert declined["details"] == {"declineCode": "generic_decline"}
    poor = await wg.err("POST", "/billing/subscribe", 402, "PAYMENT_FAILED",
                        json={**VISA, "stripePaymentMethodId": "pm_card_chargeDeclinedInsufficientFunds"})
    assert poor["details"] == {"declineCode": "insufficient_funds"}
    three_ds = await wg.err("POST", "/billing/subscribe", 402, "PAYMENT_FAILED",
                            json={**VISA, "stripePaymentMethodId": "pm_card_authenticationRequired"})
    assert three_ds["details"] == {"declineCode": "authentication_required"}
    await wg.ok("POST", "/sandbox/wallet", json={"balance": "20.00"})
    short = await wg.err("POST", "/billing/subscribe", 402, "INSUFFICIENT_FUNDS", json=WALLET)
    assert short["details"] == {"required": "99.00", "available": "20.00"}
    info = await wg.billing()
    assert info["plan"] == "FREE" and info["cardDetails"] is None and (await wg.wallet()) == "20.00"
    assert (await wg.ok("GET", "/billing/invoices"))["total"] == 0
    assert billing_of(app).store.charge_count(1) == 0


async def test_subscribing_twice_is_already_subscribed(wg: Wallgent) -> None:
    await wg.ok("POST", "/billing/subscribe", json=VISA)
    error = await wg.err("POST", "/billing/subscribe", 409, "ALREADY_SUBSCRIBED", json={**VISA, "plan": "GROWTH"})
    assert error["details"] == {"plan": "STARTER"} and "change-plan" in error["message"]


async def test_upgrade_charges_the_prorated_difference_by_days_left(wg: Wallgent, clock: FakeClock) -> None:
    await wg.ok("POST", "/billing/subscribe", json=WALLET)
    clock.advance(15 * DAY)  # 15 of 30 days left: half of 249 - 99
    body = await wg.ok("POST", "/billing/change-plan", json={"plan": "GROWTH"})
    assert body == {"plan": "GROWTH", "billingStatus": "ACTIVE", "prorationCharge": "75.00",
                    "invoiceId": body["invoiceId"], "billingPeriodEnd": "2027-08-06T22:40:00Z"}
    invoice = await wg.ok("GET", f"/billing/invoices/{body['invoiceId']}")
    assert invoice["amount"] == "75.00" and invoice["paymentMethod"] == "WALLET" and invoice["status"] == "paid"
    assert invoice["lineItems"] == [{"description": "GROWTH minus STARTER, 15 of 30 days", "unitPrice": "75.00",
                                     "quantity": 1, "total": "75.00"}]
    assert (await wg.wallet()) == "326.00"  # 500 - 99 - 75


async def test_proration_counts_a_started_day_and_rounds_to_cents(wg: Wallgent, clock: FakeClock) -> None:
    await wg.ok("POST", "/billing/subscribe", json={**VISA, "plan": "STARTER"})
    clock.advance(22 * DAY + 3600)  # 7 days and 23 hours left: 8 days; 150 * 8 / 30 = 40.00
    assert (await wg.ok("POST", "/billing/change-plan", json={"plan": "GROWTH"}))["prorationCharge"] == "40.00"
    clock.advance(DAY)
    downgrade = await wg.ok("POST", "/billing/change-plan", json={"plan": "STARTER"})
    assert downgrade["prorationCharge"] is None and downgrade["invoiceId"] is None and downgrade["plan"] == "STARTER"
    clock.advance(3 * DAY + 7 * 3600)  # 3 days 16 h left -> 4 days: 150 * 4 / 30 = 20.00
    assert (await wg.ok("POST", "/billing/change-plan", json={"plan": "GROWTH"}))["prorationCharge"] == "20.00"


def test_proration_rounding_half_up() -> None:
    from agent_billing.providers.wallgent.sandbox.plans import PLANS, Plan, proration

    odd = Plan("ODD", Decimal("99.01"), 1, 1, True)
    # 0.02 * 1 / 30 = 0.000666... -> 0.00; 150 * 1 / 30 = 5.00; (249 - 99.01) * 7 / 30 = 34.9976... -> 35.00
    assert proration(odd, PLANS["GROWTH"], seconds_left=7 * DAY) == (Decimal("35.00"), 7)
    assert proration(PLANS["STARTER"], PLANS["GROWTH"], seconds_left=DAY) == (Decimal("5.00"), 1)


async def test_change_plan_refusals(wg: Wallgent, app: Starlette) -> None:
    await wg.err("POST", "/billing/change-plan", 409, "NOT_SUBSCRIBED", json={"plan": "GROWTH"})
    await wg.ok("POST", "/billing/subscribe", json=WALLET)
    await wg.err("POST", "/billing/change-plan", 400, "VALIDATION_ERROR", json={"plan": "ENTERPRISE"})
    await wg.err("POST", "/billing/change-plan", 400, "VALIDATION_ERROR", json={"plan": "STARTER"})
    await wg.ok("POST", "/sandbox/wallet", json={"balance": "10.00"})
    short = await wg.err("POST", "/billing/change-plan", 402, "INSUFFICIENT_FUNDS", json={"plan": "GROWTH"})
    assert short["details"] == {"required": "150.00", "available": "10.00"}
    assert (await wg.billing())["plan"] == "STARTER"
    assert billing_of(app).store.charge_count(1) == 1


async def test_card_upgrade_declines_when_the_billing_card_declines(wg: Wallgent) -> None:
    await wg.ok("POST", "/billing/subscribe", json=VISA)
    await wg.ok("POST", "/billing/payment-method", json={"paymentMethodId": "pm_card_chargeDeclinedInsufficientFunds"})
    error = await wg.err("POST", "/billing/change-plan", 402, "PAYMENT_FAILED", json={"plan": "GROWTH"})
    assert error["details"] == {"declineCode": "insufficient_funds"}
    assert (await wg.billing())["plan"] == "STARTER"


async def test_cancel_keeps_the_plan_until_the_period_ends(wg: Wallgent) -> None:
    await wg.err("POST", "/billing/cancel", 409, "NOT_SUBSCRIBED")
    await wg.ok("POST", "/billing/subscribe", json=VISA)
    assert await wg.ok("POST", "/billing/cancel") == {"cancelAtPeriodEnd": True, "billingPeriodEnd": "2027-08-06T22:40:00Z"}
    info = await wg.billing()
    state = (info["plan"], info["billingStatus"], info["cancelAtPeriodEnd"], info["pendingPlan"])
    assert state == ("STARTER", "ACTIVE", True, "FREE")
    moved = await wg.ok("POST", "/sandbox/advance")
    assert moved["now"] == "2027-08-06T22:40:00Z"
    ended = moved["billing"]
    assert (ended["plan"], ended["billingStatus"], ended["billingPaymentMethod"], ended["billingPeriodEnd"]) == (
        "FREE", "CANCELED", None, None)
    assert (await wg.ok("GET", "/billing/invoices"))["total"] == 1  # no renewal invoice
    # A canceled account may subscribe again.
    assert (await wg.ok("POST", "/billing/subscribe", json=VISA))["billingPeriodStart"] == "2027-08-06T22:40:00Z"


async def test_advance_renews_by_the_billing_method(wg: Wallgent, app: Starlette) -> None:
    await wg.err("POST", "/sandbox/advance", 409, "NOT_SUBSCRIBED")
    await wg.ok("POST", "/billing/subscribe", json={"plan": "GROWTH", "paymentMethod": "WALLET"})
    renewed = (await wg.ok("POST", "/sandbox/advance"))["billing"]
    assert renewed["billingStatus"] == "ACTIVE" and (await wg.wallet()) == "2.00"  # 500 - 249 - 249
    assert (renewed["billingPeriodStart"], renewed["billingPeriodEnd"]) == ("2027-08-06T22:40:00Z", "2027-09-05T22:40:00Z")
    page = await wg.ok("GET", "/billing/invoices")
    assert [i["description"] for i in page["invoices"]] == ["Wallgent GROWTH renewal", "Wallgent GROWTH subscription"]
    # The next renewal finds the wallet short: PAST_DUE with an open invoice, no charge.
    past_due = (await wg.ok("POST", "/sandbox/advance"))["billing"]
    assert past_due["billingStatus"] == "PAST_DUE" and past_due["pastDueSince"] == "2027-09-05T22:40:00Z"
    assert billing_of(app).store.charge_count(1) == 2
    await wg.err("POST", "/billing/retry-payment", 402, "INSUFFICIENT_FUNDS")
    await wg.ok("POST", "/sandbox/wallet", json={"balance": "300.00"})
    retried = await wg.ok("POST", "/billing/retry-payment")
    assert retried["billingStatus"] == "ACTIVE"
    assert (await wg.ok("GET", f"/billing/invoices/{retried['invoiceId']}"))["status"] == "paid"
    assert (await wg.wallet()) == "51.00"


async def test_a_renewal_made_to_fail_can_be_retried_once(wg: Wallgent, app: Starlette) -> None:
    await wg.err("POST", "/billing/retry-payment", 409, "NOTHING_TO_RETRY")
    await wg.err("POST", "/sandbox/fail-next-renewal", 409, "NOT_SUBSCRIBED")
    await wg.ok("POST", "/billing/subscribe", json=VISA)
    assert (await wg.ok("POST", "/sandbox/fail-next-renewal"))["failNextRenewal"] is True
    info = (await wg.ok("POST", "/sandbox/advance"))["billing"]
    assert (info["billingStatus"], info["pastDueSince"], info["plan"]) == ("PAST_DUE", "2027-08-06T22:40:00Z", "STARTER")
    open_invoice = (await wg.ok("GET", "/billing/invoices"))["invoices"][0]
    assert (open_invoice["status"], open_invoice["amount"], open_invoice["paymentMethod"]) == ("open", "99.00", "CARD")
    body = await wg.ok("POST", "/billing/retry-payment")
    assert body == {"invoiceId": open_invoice["id"], "billingStatus": "ACTIVE"}
    assert (await wg.billing())["pastDueSince"] is None
    await wg.err("POST", "/billing/retry-payment", 409, "NOTHING_TO_RETRY")
    assert billing_of(app).store.charge_count(1) == 2


async def test_a_period_left_unpaid_ends_the_subscription_and_voids_its_invoice(wg: Wallgent, clock: FakeClock) -> None:
    await wg.ok("POST", "/billing/subscribe", json=VISA)
    await wg.ok("POST", "/sandbox/fail-next-renewal")
    clock.advance(30 * DAY)  # the injected clock alone triggers the renewal on the next request
    assert (await wg.billing())["billingStatus"] == "PAST_DUE"
    clock.advance(30 * DAY)
    info = await wg.billing()
    assert (info["plan"], info["billingStatus"]) == ("FREE", "CANCELED")
    statuses = [i["status"] for i in (await wg.ok("GET", "/billing/invoices"))["invoices"]]
    assert statuses == ["void", "paid"]
    await wg.err("POST", "/billing/retry-payment", 409, "NOTHING_TO_RETRY")


async def test_advance_by_seconds_moves_every_account(wg: Wallgent) -> None:
    other = wg.as_key("wg_test_other")
    await other.ok("POST", "/billing/subscribe", json=VISA)
    moved = await wg.ok("POST", "/sandbox/advance", json={"seconds": 31 * DAY})
    assert moved["now"] == "2027-08-07T22:40:00Z" and moved["billing"]["plan"] == "FREE"
    assert len((await other.ok("GET", "/billing/invoices"))["invoices"]) == 2
    await wg.err("POST", "/sandbox/advance", 400, "VALIDATION_ERROR", json={"seconds": 0})
