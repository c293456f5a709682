"""Coupons: WELCOME50 both ways, bonus-only, credit-only, expired, once per account."""

from __future__ import annotations

from sandbox_helpers import Api, count, snapshot

from agent_billing.providers.modelslab.sandbox.ledger import Ledger


async def test_validate_describes_without_changing_anything(api: Api, ledger: Ledger) -> None:
    before = snapshot(ledger)
    plain = await api.ok("GET", "/wallet/coupons/validate", params={"coupon_code": "WELCOME50"})
    assert plain["valid"] is True and plain["coupon_type"] == "credit_or_bonus" and plain["credit_amount"] == 5
    small = await api.ok("GET", "/wallet/coupons/validate", params={"coupon_code": "WELCOME50", "purchase_amount": 40})
    assert small["bonus_amount"] == 20 and small["total_credit"] == 60
    capped = await api.ok("GET", "/wallet/coupons/validate", params={"coupon_code": "welcome50", "purchase_amount": 500})
    assert capped["bonus_amount"] == 50 and capped["coupon_code"] == "WELCOME50"
    unknown = await api.ok("GET", "/wallet/coupons/validate", params={"coupon_code": "NOPE"})
    assert unknown["valid"] is False and "No coupon" in unknown["message"]
    expired = await api.ok("GET", "/wallet/coupons/validate", params={"coupon_code": "SUMMER2024"})
    assert expired["valid"] is False and "expired" in expired["message"]
    bonus_only = await api.ok("GET", "/wallet/coupons/validate", params={"coupon_code": "BONUS20"})
    assert bonus_only["valid"] is False and bonus_only["requires_purchase"] is True
    assert snapshot(ledger) == before


async def test_welcome50_as_a_plain_credit_once(api: Api) -> None:
    data = await api.ok("POST", "/wallet/coupons/redeem", json={"coupon_code": "WELCOME50"})
    assert data["credited"] == 5 and data["balance"] == 5 and data["coupon_code"] == "WELCOME50"
    err = await api.err("POST", "/wallet/coupons/redeem", 400, "validation_error", json={"coupon_code": "WELCOME50"})
    assert "already redeemed" in err["message"]
    await api.err("POST", "/wallet/coupons/redeem", 400, "validation_error",
                  json={"coupon_code": "WELCOME50", "purchase_amount": 40, "payment_method_id": "pm_card_visa"})
    assert (await api.ok("GET", "/wallet/coupons/validate", params={"coupon_code": "WELCOME50"}))["valid"] is False
    assert (await api.ok("GET", "/wallet/balance"))["balance"] == 5


async def test_welcome50_as_a_purchase_bonus(other_api: Api, ledger: Ledger) -> None:
    body = {"coupon_code": "WELCOME50", "purchase_amount": 40, "payment_method_id": "pm_card_visa"}
    data = await other_api.ok("POST", "/wallet/coupons/redeem", json=body)
    assert data["amount"] == 40 and data["bonus_amount"] == 20 and data["credited"] == 60 and data["balance"] == 60
    assert data["payment"]["status"] == "succeeded"
    invoice = await other_api.ok("GET", f"/billing/invoices/{data['invoice_id']}")
    assert invoice["amount"] == 40
    usecases = [i["usecase"] for i in (await other_api.ok("GET", "/wallet/transactions"))["items"]]
    assert sorted(usecases) == ["coupon_bonus", "coupon_purchase"]
    await other_api.err("POST", "/wallet/coupons/redeem", 400, "validation_error", json={"coupon_code": "WELCOME50"})
    assert count(ledger, "SELECT COUNT(*) FROM payment_intents") == 1


async def test_bonus_cap_at_fifty(api: Api) -> None:
    data = await api.ok("POST", "/wallet/coupons/redeem",
                        json={"coupon_code": "WELCOME50", "purchase_amount": 250, "payment_method_id": "pm_card_visa"})
    assert data["bonus_amount"] == 50 and data["balance"] == 300


async def test_a_declined_purchase_does_not_use_up_the_coupon(api: Api, ledger: Ledger) -> None:
    err = await api.err("POST", "/wallet/coupons/redeem", 402, "payment_declined",
                        json={"coupon_code": "BONUS20", "purchase_amount": 100,
                              "payment_method_id": "pm_card_chargeDeclined"})
    assert err["details"]["decline_code"] == "generic_decline"
    assert count(ledger, "SELECT COUNT(*) FROM coupon_redemptions") == 0
    r = await api.call("POST", "/wallet/coupons/redeem", json={"coupon_code": "BONUS20", "purchase_amount": 100,
                                                             "payment_method_id": "pm_card_authenticationRequired"})
    assert r.status_code == 202 and r.json()["data"]["payment"]["status"] == "requires_action"
    data = await api.ok("POST", "/wallet/coupons/redeem", json={"coupon_code": "BONUS20", "purchase_amount": 100,
                                                               "payment_method_id": "pm_card_visa"})
    assert data["credited"] == 120 and data["balance"] == 120


async def test_bonus_only_credit_only_and_expired_coupons(api: Api, ledger: Ledger) -> None:
    before = snapshot(ledger)
    err = await api.err("POST", "/wallet/coupons/redeem", 400, "validation_error", json={"coupon_code": "BONUS20"})
    assert "purchase_amount" in err["message"]
    err = await api.err("POST", "/wallet/coupons/redeem", 400, "validation_error",
                        json={"coupon_code": "BONUS20", "purchase_amount": 20, "payment_method_id": "pm_card_visa"})
    assert "at least $25.00" in err["message"]
    err = await api.err("POST", "/wallet/coupons/redeem", 400, "validation_error",
                        json={"coupon_code": "FREE10", "purchase_amount": 50, "payment_method_id": "pm_card_visa"})
    assert "without a purchase" in err["message"]
    await api.err("POST", "/wallet/coupons/redeem", 400, "validation_error", json={"coupon_code": "SUMMER2024"})
    await api.err("POST", "/wallet/coupons/redeem", 400, "validation_error", json={"coupon_code": "NOSUCHCODE"})
    assert snapshot(ledger) == before
    assert (await api.ok("POST", "/wallet/coupons/redeem", json={"coupon_code": "FREE10"}))["balance"] == 10
