"""Payment methods (setup intent, save, remove, switch WALLET/CARD) and the invoice list and detail."""

from __future__ import annotations

import re

from sandbox_helpers import FakeClock
from wallgent_helpers import DAY, VISA, Wallgent


async def test_setup_intent_then_save_then_remove_a_card(wg: Wallgent) -> None:
    secret = (await wg.ok("POST", "/billing/setup-intent"))["clientSecret"]
    assert re.fullmatch(r"seti_[A-Za-z0-9]{24}_secret_[A-Za-z0-9]{24}", secret)
    saved = await wg.ok("POST", "/billing/payment-method", json={"paymentMethodId": "pm_card_mastercard"})
    assert saved == {"ok": True, "cardDetails": {"paymentMethodId": "pm_card_mastercard", "brand": "mastercard",
                                                 "last4": "4444", "expMonth": 12, "expYear": 2030}}
    assert (await wg.billing())["cardDetails"] == saved["cardDetails"]
    assert await wg.ok("DELETE", "/billing/payment-method") == {"ok": True}
    assert (await wg.billing())["cardDetails"] is None
    await wg.err("DELETE", "/billing/payment-method", 404, "PAYMENT_METHOD_NOT_FOUND")


async def test_saving_a_card_the_card_check_refuses(wg: Wallgent) -> None:
    declined = {"paymentMethodId": "pm_card_chargeDeclined"}
    error = await wg.err("POST", "/billing/payment-method", 402, "PAYMENT_FAILED", json=declined)
    assert error["details"] == {"declineCode": "generic_decline"}
    error = await wg.err("POST", "/billing/payment-method", 400, "VALIDATION_ERROR", json={"paymentMethodId": "pm_123"})
    assert error["details"]["errors"][0]["field"] == "paymentMethodId"
    await wg.err("POST", "/billing/payment-method", 400, "VALIDATION_ERROR", json={})
    assert (await wg.billing())["cardDetails"] is None


async def test_the_billing_card_cannot_be_removed_while_in_use(wg: Wallgent) -> None:
    await wg.ok("POST", "/billing/subscribe", json=VISA)
    error = await wg.err("DELETE", "/billing/payment-method", 409, "PAYMENT_METHOD_IN_USE")
    assert "WALLET" in error["message"]
    # The whole answer is {"ok": true}, as Wallgent documents it; GET /billing shows the switch.
    assert await wg.ok("POST", "/billing/change-payment-method", json={"paymentMethod": "WALLET"}) == {"ok": True}
    assert (await wg.billing())["billingPaymentMethod"] == "WALLET"
    assert await wg.ok("DELETE", "/billing/payment-method") == {"ok": True}


async def test_switching_between_wallet_and_card(wg: Wallgent, clock: FakeClock) -> None:
    await wg.err("POST", "/billing/change-payment-method", 409, "NOT_SUBSCRIBED", json={"paymentMethod": "CARD"})
    await wg.ok("POST", "/billing/subscribe", json={"plan": "STARTER", "paymentMethod": "WALLET"})
    error = await wg.err("POST", "/billing/change-payment-method", 400, "VALIDATION_ERROR", json={"paymentMethod": "CARD"})
    assert error["details"]["errors"][0]["field"] == "stripePaymentMethodId"
    await wg.err("POST", "/billing/change-payment-method", 400, "VALIDATION_ERROR",
                 json={"paymentMethod": "WALLET", "stripePaymentMethodId": "pm_card_visa"})
    amex = {"paymentMethod": "CARD", "stripePaymentMethodId": "pm_card_amex"}
    body = await wg.ok("POST", "/billing/change-payment-method", json=amex)
    assert body == {"ok": True}
    info = await wg.billing()
    assert info["billingPaymentMethod"] == "CARD" and info["cardDetails"]["last4"] == "0005"
    # The next charge hits the card, not the wallet.
    clock.advance(10 * DAY)
    upgrade = await wg.ok("POST", "/billing/change-plan", json={"plan": "GROWTH"})
    assert (await wg.ok("GET", f"/billing/invoices/{upgrade['invoiceId']}"))["paymentMethod"] == "CARD"
    assert (await wg.wallet()) == "401.00"
    # With a saved card, CARD needs no payment method id.
    await wg.ok("POST", "/billing/change-payment-method", json={"paymentMethod": "WALLET"})
    assert await wg.ok("POST", "/billing/change-payment-method", json={"paymentMethod": "CARD"}) == {"ok": True}
    assert (await wg.billing())["billingPaymentMethod"] == "CARD"


async def test_invoices_page_newest_first(wg: Wallgent) -> None:
    empty = await wg.ok("GET", "/billing/invoices")
    assert empty == {"invoices": [], "page": 1, "limit": 20, "total": 0, "hasMore": False}
    await wg.ok("POST", "/billing/subscribe", json={"plan": "STARTER", "paymentMethod": "WALLET"})
    for _ in range(3):
        await wg.ok("POST", "/sandbox/advance")
    first = await wg.ok("GET", "/billing/invoices", params={"page": 1, "limit": 3})
    assert (first["total"], first["hasMore"], len(first["invoices"])) == (4, True, 3)
    assert [i["periodStart"][:10] for i in first["invoices"]] == ["2027-10-05", "2027-09-05", "2027-08-06"]
    last = await wg.ok("GET", "/billing/invoices", params={"page": "2", "limit": "3"})
    assert (last["page"], last["hasMore"], [i["description"] for i in last["invoices"]]) == (
        2, False, ["Wallgent STARTER subscription"])
    beyond = await wg.ok("GET", "/billing/invoices", params={"page": 9})
    assert beyond["invoices"] == [] and beyond["total"] == 4


async def test_invoice_query_and_lookup_errors(wg: Wallgent) -> None:
    for params in ({"limit": 0}, {"limit": 101}, {"page": 0}, {"page": "x"}, {"limit": "-1"}):
        error = await wg.err("GET", "/billing/invoices", 400, "VALIDATION_ERROR", params=params)
        assert error["details"]["errors"][0]["field"] in params
    assert (await wg.ok("GET", "/billing/invoices", params={"limit": 100}))["limit"] == 100
    await wg.err("GET", "/billing/invoices/inv_nope", 404, "INVOICE_NOT_FOUND")
    # Another account's invoice is not found either.
    invoice_id = (await wg.as_key("wg_test_other").ok("POST", "/billing/subscribe", json=VISA))["invoiceId"]
    await wg.err("GET", f"/billing/invoices/{invoice_id}", 404, "INVOICE_NOT_FOUND")
