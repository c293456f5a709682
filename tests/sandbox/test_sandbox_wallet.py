"""Wallet funding, test cards, payment methods, withdrawals, payment status and auto-funding."""

from __future__ import annotations

import pytest
from sandbox_helpers import Api, count, snapshot

from agent_billing.providers.modelslab.sandbox.ledger import Ledger


async def test_fund_with_a_test_card_credits_records_invoice_and_payment(api: Api, ledger: Ledger) -> None:
    data = await api.ok("POST", "/wallet/fund", json={"amount": 25, "payment_method_id": "pm_card_visa"})
    assert data["amount"] == 25 and data["balance"] == 25 and data["currency"] == "USD"
    assert data["payment"]["status"] == "succeeded"
    pi = data["payment"]["payment_intent_id"]
    status = await api.ok("GET", f"/payments/{pi}/status")
    assert status == {**status, "status": "succeeded", "payment_intent_id": pi, "amount": 25, "currency": "usd"}
    invoice = await api.ok("GET", f"/billing/invoices/{data['invoice_id']}")
    assert invoice["status"] == "paid" and invoice["amount"] == 25 and invoice["payment_intent_id"] == pi
    txns = await api.ok("GET", "/wallet/transactions")
    assert txns["items"][0] == {**txns["items"][0], "source": "stripe", "transaction_id": pi, "type": "credit",
                                "amount": 25, "status": "success", "usecase": "wallet_funding"}
    assert txns["wallet"] == {"balance": 25, "currency": "USD", "total_credited": 25, "amount_used": 0}


@pytest.mark.parametrize(
    ("pm", "decline_code"),
    [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_chargeDeclinedLostCard", "lost_card"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card"),
        ("pm_card_chargeCustomerFail", "generic_decline"),
    ],
)
async def test_declines_are_402_with_decline_code_and_move_no_money(api: Api, ledger: Ledger, pm: str,
                                                                    decline_code: str) -> None:
    err = await api.err("POST", "/wallet/fund", 402, "payment_declined", json={"amount": 25, "payment_method_id": pm})
    assert err["details"]["decline_code"] == decline_code
    pi = err["details"]["payment_intent_id"]
    assert (await api.ok("GET", f"/payments/{pi}/status"))["status"] == "failed"
    assert (await api.ok("GET", "/wallet/balance"))["balance"] == 0
    assert (await api.ok("GET", "/billing/invoices"))["count"] == 0
    assert "payment link" in err["message"]


async def test_3ds_card_is_202_requires_action_and_pending(api: Api) -> None:
    r = await api.call("POST", "/wallet/fund", json={"amount": 25, "payment_method_id": "pm_card_authenticationRequired"})
    assert r.status_code == 202
    data = r.json()["data"]
    assert set(data) == {"message", "payment"}
    assert data["payment"]["status"] == "requires_action"
    assert data["payment"]["client_secret"].startswith(data["payment"]["payment_intent_id"] + "_secret_")
    assert "payment link" in data["message"]
    status = await api.ok("GET", f"/payments/{data['payment']['payment_intent_id']}/status")
    assert status["status"] == "pending"
    assert (await api.ok("GET", "/wallet/balance"))["balance"] == 0


async def test_unknown_payment_method_and_missing_default(api: Api, ledger: Ledger) -> None:
    err = await api.err("POST", "/wallet/fund", 400, "validation_error",
                        json={"amount": 25, "payment_method_id": "pm_1NoSuchThing"})
    assert "No such payment method" in err["message"]
    err = await api.err("POST", "/wallet/fund", 400, "validation_error", json={"amount": 25})
    assert "payment link" in err["message"] and "default" in err["message"]
    await api.ok("POST", "/billing/payment-methods", json={"payment_method_id": "pm_card_mastercard"})
    data = await api.ok("POST", "/wallet/fund", json={"amount": 10})
    assert "Mastercard ending 4444" in data["message"]
    assert count(ledger, "SELECT COUNT(*) FROM payment_intents") == 1


async def test_payment_methods_add_default_remove(api: Api) -> None:
    added = await api.ok("POST", "/billing/payment-methods", json={"payment_method_id": "pm_card_visa",
                                                                   "make_default": False})
    assert added["payment_method"]["is_default"] is True  # the only card is the default
    await api.ok("POST", "/billing/payment-methods", json={"payment_method_id": "pm_card_amex", "make_default": False})
    listed = await api.ok("GET", "/billing/payment-methods")
    assert [(c["id"], c["brand"], c["last4"], c["is_default"]) for c in listed["payment_methods"]] == [
        ("pm_card_visa", "visa", "4242", True), ("pm_card_amex", "amex", "0005", False)]
    assert all(set(c) == {"id", "brand", "last4", "exp_month", "exp_year", "is_default"}
               for c in listed["payment_methods"])
    await api.ok("PUT", "/billing/payment-methods/pm_card_amex/default")
    overview = await api.ok("GET", "/billing/overview")
    assert overview["default_payment_method"] == "pm_card_amex"
    removed = await api.ok("DELETE", "/billing/payment-methods/pm_card_amex")
    assert "no default card" in removed["message"]
    assert (await api.ok("GET", "/billing/payment-methods"))["default_payment_method"] is None
    await api.err("PUT", "/billing/payment-methods/pm_card_amex/default", 404, "not_found")
    await api.err("DELETE", "/billing/payment-methods/pm_card_amex", 404, "not_found")
    again = await api.ok("POST", "/billing/payment-methods", json={"payment_method_id": "pm_card_visa"})
    assert "already saved" in again["message"] and again["payment_method"]["is_default"] is True


async def test_transactions_filter_and_paging(api: Api, reseller_api: Api) -> None:
    for amount in (10, 20, 30):
        await api.ok("POST", "/wallet/fund", json={"amount": amount, "payment_method_id": "pm_card_visa"})
    await api.ok("POST", "/sandbox/usage", json={"amount": "7.25"})
    page = await api.ok("GET", "/wallet/transactions", params={"limit": 2, "offset": 1})
    assert page["count"] == 2 and page["total"] == 4
    assert [i["amount"] for i in page["items"]] == [30, 20]
    debits = await api.ok("GET", "/wallet/transactions", params={"type": "debit"})
    assert debits["total"] == 1 and debits["items"][0]["usecase"] == "api_usage"
    assert str(debits["items"][0]["amount"]) == "7.25"
    assert debits["wallet"] == {"balance": 52.75, "currency": "USD", "total_credited": 60, "amount_used": 7.25}
    assert (await reseller_api.ok("GET", "/wallet/transactions"))["total"] == 0


async def test_withdraw_is_for_resellers_only(api: Api, reseller_api: Api, ledger: Ledger) -> None:
    await api.ok("POST", "/wallet/fund", json={"amount": 50, "payment_method_id": "pm_card_visa"})
    await api.err("POST", "/wallet/withdraw", 403, "forbidden", json={"amount": 10})
    assert (await api.ok("GET", "/wallet/balance"))["balance"] == 50
    await reseller_api.ok("POST", "/wallet/fund", json={"amount": 30, "payment_method_id": "pm_card_visa"})
    err = await reseller_api.err("POST", "/wallet/withdraw", 400, "insufficient_balance", json={"amount": "30.01"})
    assert err["details"]["balance"] == 30
    data = await reseller_api.ok("POST", "/wallet/withdraw", json={"amount": "12.50"})
    assert data["amount"] == 12.5 and data["balance"] == 17.5 and data["withdrawal_id"].startswith("wd_")
    debits = await reseller_api.ok("GET", "/wallet/transactions", params={"type": "debit"})
    assert debits["items"][0]["usecase"] == "withdrawal"


async def test_payment_status_of_another_account_is_not_found(api: Api, other_api: Api) -> None:
    data = await api.ok("POST", "/wallet/fund", json={"amount": 25, "payment_method_id": "pm_card_visa"})
    pi = data["payment"]["payment_intent_id"]
    await other_api.err("GET", f"/payments/{pi}/status", 404, "not_found")
    await api.err("GET", "/payments/pi_3NotAPayment/status", 404, "not_found")


async def test_auto_funding_is_real(api: Api, ledger: Ledger) -> None:
    err = await api.err("PUT", "/wallet/auto-funding", 400, "validation_error",
                        json={"auto_charge_amount": 25, "charge_threshold": 5})
    assert "default card" in err["message"]
    await api.ok("POST", "/billing/payment-methods", json={"payment_method_id": "pm_card_visa"})
    await api.ok("POST", "/wallet/fund", json={"amount": 10})
    on = await api.ok("PUT", "/wallet/auto-funding", json={"auto_charge_amount": 25, "charge_threshold": 5})
    assert on == {**on, "enabled": True, "auto_charge_amount": 25, "charge_threshold": 5}
    assert (await api.ok("GET", "/billing/overview"))["auto_funding"]["enabled"] is True
    above = await api.ok("POST", "/sandbox/usage", json={"amount": 4})
    assert above["auto_funding"] == {"triggered": False} and above["balance"] == 6
    below = await api.ok("POST", "/sandbox/usage", json={"amount": "1.50"})
    assert below["auto_funding"]["triggered"] is True and below["auto_funding"]["status"] == "succeeded"
    assert below["balance"] == 29.5
    credits = await api.ok("GET", "/wallet/transactions", params={"type": "credit"})
    assert credits["items"][0]["usecase"] == "auto_funding" and credits["items"][0]["amount"] == 25
    assert count(ledger, "SELECT COUNT(*) FROM invoices") == 2
    off = await api.ok("DELETE", "/wallet/auto-funding")
    assert off == {**off, "enabled": False, "auto_charge_amount": None, "charge_threshold": None}
    after = await api.ok("POST", "/sandbox/usage", json={"amount": 27})
    assert after["auto_funding"] == {"triggered": False} and after["balance"] == 2.5


async def test_auto_funding_with_a_declining_default_card(api: Api) -> None:
    await api.ok("POST", "/wallet/fund", json={"amount": 10, "payment_method_id": "pm_card_visa"})
    await api.ok("POST", "/billing/payment-methods", json={"payment_method_id": "pm_card_chargeDeclinedInsufficientFunds"})
    await api.ok("PUT", "/wallet/auto-funding", json={"auto_charge_amount": 20, "charge_threshold": 5})
    data = await api.ok("POST", "/sandbox/usage", json={"amount": 6})
    assert data["auto_funding"]["status"] == "failed"
    assert data["auto_funding"]["decline_code"] == "insufficient_funds"
    assert data["balance"] == 4
    status = await api.ok("GET", f"/payments/{data['auto_funding']['payment_intent_id']}/status")
    assert status["status"] == "failed"


async def test_usage_cannot_overdraw(api: Api, ledger: Ledger) -> None:
    before = snapshot(ledger)
    await api.err("POST", "/sandbox/usage", 400, "insufficient_balance", json={"amount": "0.01"})
    await api.err("POST", "/sandbox/usage", 400, "validation_error", json={"amount": 0})
    await api.err("POST", "/sandbox/usage", 401, "unauthenticated", json={"amount": 1}, headers={"Authorization": "x"})
    assert snapshot(ledger) == before


async def test_billing_info_merges_fields(api: Api) -> None:
    empty = await api.ok("GET", "/billing/info")
    assert set(empty.values()) == {None} and len(empty) == 10
    await api.ok("PUT", "/billing/info", json={"name": "Acme Corp", "email": "billing@acme.com"})
    await api.ok("PUT", "/billing/info", json={"address_city": "San Francisco", "address_country": "US"})
    info = await api.ok("GET", "/billing/info")
    assert info == {**empty, "name": "Acme Corp", "email": "billing@acme.com", "address_city": "San Francisco",
                    "address_country": "US"}
