"""The request pipeline over raw HTTP: auth, parsing, card-data refusal, validation, envelope, amounts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sandbox_helpers import OTHER_TOKEN, Api, snapshot

from agent_billing import wire
from agent_billing.providers.modelslab.sandbox.ledger import Ledger


async def test_missing_and_unknown_tokens_are_401(anon_api: Api, api: Api) -> None:
    err = await anon_api.err("GET", "/wallet/balance", 401, "unauthenticated")
    assert "Bearer" in err["message"]
    r = await anon_api.call("GET", "/wallet/balance", headers={"Authorization": "Bearer sk_nope"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = await anon_api.call("GET", "/wallet/balance", headers={"Authorization": "Basic c2tfc2FuZGJveF9hbGljZTo="})
    assert r.status_code == 401


async def test_x_agent_token_header_is_accepted(anon_api: Api) -> None:
    data = await anon_api.ok("GET", "/wallet/balance", headers={"X-Agent-Token": OTHER_TOKEN})
    assert data == {"balance": 0, "currency": "USD"}


async def test_envelope_request_id_and_exact_two_decimal_amounts(api: Api) -> None:
    r = await api.call("POST", "/wallet/fund", json={"amount": 25, "payment_method_id": "pm_card_visa"})
    assert r.status_code == 200
    body = r.json()
    assert body["error"] is None and body["meta"]["request_id"] == r.headers["x-request-id"]
    assert re.match(r"^req_[A-Za-z0-9]{20}$", body["meta"]["request_id"])
    assert '"amount":25.00' in r.text and '"balance":25.00' in r.text
    r = await api.call("GET", "/wallet/transactions")
    assert '"total_credited":25.00' in r.text and '"amount_used":0.00' in r.text


async def test_stripe_config_is_in_the_envelope_and_at_the_top_level(api: Api) -> None:
    r = await api.call("GET", "/billing/stripe-config")
    body = r.json()
    assert body["data"]["publishable_key"].startswith("pk_test_sandbox_")
    assert body["publishable_key"] == body["data"]["publishable_key"]
    assert body["instructions"] == body["data"]["instructions"]


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"{not json", "bad JSON"),
        (b"[1, 2]", "not an object"),
        (b'"amount"', "not an object"),
    ],
)
async def test_unparseable_bodies_are_validation_errors(api: Api, ledger: Ledger, raw: bytes, why: str) -> None:
    before = snapshot(ledger)
    err = await api.err("POST", "/wallet/fund", 400, "validation_error", content=raw,
                        headers={"Content-Type": "application/json"})
    assert "JSON" in err["message"], why
    assert snapshot(ledger) == before


BAD_REQUESTS: list[tuple[str, str, Any, str | None]] = [
    ("POST", "/wallet/fund", {"amount": -25, "payment_method_id": "pm_card_visa"}, "amount"),
    ("POST", "/wallet/fund", {"amount": 0, "payment_method_id": "pm_card_visa"}, "amount"),
    ("POST", "/wallet/fund", b'{"amount": NaN, "payment_method_id": "pm_card_visa"}', None),  # refused by the parser
    ("POST", "/wallet/fund", b'{"amount": Infinity, "payment_method_id": "pm_card_visa"}', None),  # refused by the parser
    ("POST", "/wallet/fund", {"amount": "10.005", "payment_method_id": "pm_card_visa"}, "amount"),
    ("POST", "/wallet/fund", b'{"amount": 10.005, "payment_method_id": "pm_card_visa"}', "amount"),
    ("POST", "/wallet/fund", {"amount": "9.99", "payment_method_id": "pm_card_visa"}, "amount"),
    ("POST", "/wallet/fund", {"amount": 10001, "payment_method_id": "pm_card_visa"}, "amount"),
    ("POST", "/wallet/fund", {"amount": True, "payment_method_id": "pm_card_visa"}, "amount"),
    ("POST", "/wallet/fund", {"amount": "ten", "payment_method_id": "pm_card_visa"}, "amount"),
    ("POST", "/wallet/fund", {"payment_method_id": "pm_card_visa"}, "amount"),
    ("POST", "/wallet/fund", {"amount": 25, "payment_method_id": "pm-123"}, "payment_method_id"),
    ("POST", "/wallet/fund", {"amount": 25, "payment_method_id": "abc"}, "payment_method_id"),
    ("POST", "/wallet/fund", {"amount": 25, "payment_method_id": "pm_does_not_exist"}, "payment_method_id"),
    ("POST", "/wallet/fund", {"amount": 25, "payment_method_id": "pm_card_visa", "currency": "EUR"}, "currency"),
    ("POST", "/wallet/confirm-checkout", {"session_id": "cs_"}, "session_id"),
    ("POST", "/wallet/confirm-checkout", {"session_id": "abc"}, "session_id"),
    ("POST", "/subscriptions", {"plan_id": 999999, "payment_method_id": "pm_card_visa"}, "plan_id"),
    ("POST", "/subscriptions", {"plan_id": "ten", "payment_method_id": "pm_card_visa"}, "plan_id"),
    ("POST", "/subscriptions", {"plan_id": 10, "payment_method_id": "pm_card_visa", "success_url": "http://x.y/z"},
     "success_url"),
    ("POST", "/billing/payment-link", {"purpose": "subscribe", "plan_id": 999999}, "plan_id"),
    ("POST", "/billing/payment-link", {"purpose": "fund"}, None),
    ("POST", "/billing/payment-link", {"purpose": "fund", "amount": 25, "plan_id": 10}, None),
    ("POST", "/billing/payment-link", {"purpose": "donate", "amount": 25}, "purpose"),
    ("POST", "/billing/payment-link", {"purpose": "fund", "amount": 25, "success_url": "https://evil.example"},
     "success_url"),
    ("POST", "/subscriptions/charge-amount", {"amount": "4.99"}, "amount"),
    ("POST", "/subscriptions/charge-amount", b'{"amount": 10000.01}', "amount"),
    ("PUT", "/wallet/auto-funding", {"auto_charge_amount": 4, "charge_threshold": 5}, "auto_charge_amount"),
    ("PUT", "/wallet/auto-funding", {"auto_charge_amount": 25, "charge_threshold": "0.99"}, "charge_threshold"),
    ("POST", "/wallet/coupons/redeem", {"coupon_code": "WELCOME50", "purchase_amount": 20}, None),
    ("POST", "/wallet/coupons/redeem", {"coupon_code": "has space"}, "coupon_code"),
    ("GET", "/wallet/transactions?limit=201", None, "limit"),
    ("GET", "/wallet/transactions?type=refund", None, "type"),
    ("GET", "/wallet/transactions?offset=-1", None, "offset"),
    ("GET", "/wallet/transactions?limit=1&limit=2", None, "limit"),
    ("GET", "/wallet/transactions?cursor=abc", None, "cursor"),
    ("GET", "/subscriptions/abc/status", None, "subscription_id"),
    ("POST", "/subscriptions/0/pause", None, "subscription_id"),
    ("PUT", "/subscriptions/1001", {"new_plan_id": 10, "subscription_id": 1002}, "subscription_id"),
    ("GET", "/payments/abc/status", None, "payment_intent_id"),
    ("PUT", "/billing/info", {}, None),
    ("PUT", "/billing/info", {"address_country": "usa"}, "address_country"),
    ("PUT", "/billing/info", {"email": "not-an-email"}, "email"),
    ("POST", "/billing/payment-methods", {"payment_method_id": "pm_card_visa", "make_default": "maybe"},
     "make_default"),
    ("POST", "/billing/setup-intent", {"usage": "on_session"}, "usage"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), BAD_REQUESTS)
async def test_bad_inputs_are_400_validation_error_and_change_nothing(
    api: Api, ledger: Ledger, method: str, path: str, body: Any, field: str | None
) -> None:
    before = snapshot(ledger)
    kw: dict[str, Any] = {"content": body, "headers": {"Content-Type": "application/json"}} \
        if isinstance(body, bytes) else {"json": body}
    if "?" in path:
        path, query = path.split("?")
        kw["params"] = [tuple(p.split("=")) for p in query.split("&")]
    err = await api.err(method, path, 400, "validation_error", **kw)
    assert err["message"]
    if field is not None:
        fields = [e["field"] for e in err["details"].get("errors", [])]
        assert field in fields, err
    assert snapshot(ledger) == before


async def test_validation_messages_do_not_echo_inputs(api: Api) -> None:
    secret = "amount-made-of-words-xyzzy"
    r = await api.call("POST", "/wallet/fund", json={"amount": secret})
    assert r.status_code == 400
    assert secret not in r.text and "xyzzy" not in r.text
    r = await api.call("POST", "/wallet/fund", json={"amount": "1.2.3.4", "payment_method_id": "pm_card_visa"})
    assert r.status_code == 400 and "1.2.3.4" not in r.text


CARD_BODIES: list[tuple[str, str, Any, str]] = [
    ("POST", "/wallet/fund", {"amount": 25, "card_number": "4242424242424242"}, "4242424242424242"),
    ("POST", "/wallet/fund", {"amount": 25, "payment_method_id": "pm_card_visa",
                              "note": "use 4000 0566 5566 5556 exp 12/29"}, "5566"),
    ("POST", "/billing/payment-methods", {"payment_method_id": "pm_card_visa",
                                          "card": {"number": "5555555555554444", "cvc": "123"}}, "5555555555554444"),
    ("PUT", "/billing/info", {"name": "Jo", "address_line1": "4242 4242", "address_line2": "4242 4242"}, "4242 4242"),
    ("POST", "/wallet/fund", {"amount": 25, "cvc": "737"}, "737"),
    ("GET", "/wallet/coupons/validate?coupon_code=378282246310005", None, "378282246310005"),
]


@pytest.mark.parametrize(("method", "path", "body", "digits"), CARD_BODIES)
async def test_card_data_is_refused_and_never_echoed(
    api: Api, ledger: Ledger, method: str, path: str, body: Any, digits: str
) -> None:
    before = snapshot(ledger)
    params = None
    if "?" in path:
        path, query = path.split("?")
        params = dict([query.split("=")])
    r = await api.call(method, path, json=body, params=params, key="card-key-1" if method != "GET" else None)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == "card_data_not_allowed"
    assert "payment_method_id" in err["message"] and "payment link" in err["message"]
    assert digits not in r.text
    assert not re.search(r"\d{4}[ -]?\d{4}", r.text.replace(r.json()["meta"]["request_id"], ""))
    assert snapshot(ledger) == before
    assert "card-key-1" not in {row[0] for row in ledger._conn.execute("SELECT key FROM idempotency_keys")}


async def test_refused_card_data_does_not_burn_the_idempotency_key(api: Api) -> None:
    r = await api.call("POST", "/wallet/fund", json={"amount": 25, "card_number": "4242424242424242"}, key="k-1")
    assert r.status_code == 400
    data = await api.ok("POST", "/wallet/fund", json={"amount": 25, "payment_method_id": "pm_card_visa"}, key="k-1")
    assert data["balance"] == 25


async def test_path_params_are_scanned_and_validated(api: Api) -> None:
    await api.err("PUT", "/billing/payment-methods/4242424242424242/default", 400, "card_data_not_allowed")
    r = await api.call("GET", "/billing/invoices/in_missing")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_non_default_content_types_and_empty_bodies(api: Api) -> None:
    # A POST without a body is fine for operations without arguments.
    data = await api.ok("POST", "/billing/setup-intent")
    assert data["setup_intent_id"].startswith("seti_") and data["client_secret"].startswith(data["setup_intent_id"])
    r = await api.call("POST", "/billing/setup-intent", content=b"   ")
    assert r.status_code == 200


async def test_server_never_sends_floats(api: Api) -> None:
    await api.ok("POST", "/wallet/fund", json={"amount": "10.10", "payment_method_id": "pm_card_visa"})
    r = await api.call("GET", "/billing/overview")
    body = wire.loads(r.content)
    assert str(body["data"]["wallet_balance"]) == "10.10"


async def test_oversized_bodies_are_refused(api: Api, ledger: Ledger) -> None:
    before = snapshot(ledger)
    body = b'{"amount": 25, "payment_method_id": "pm_card_visa", "pad": "' + b"x" * 1_000_001 + b'"}'
    r = await api.call("POST", "/wallet/fund", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert snapshot(ledger) == before
