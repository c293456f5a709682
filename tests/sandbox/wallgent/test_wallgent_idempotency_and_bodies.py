"""Idempotency-Key replay and reuse, and request bodies that must be refused with 400, never a 500."""

from __future__ import annotations

import asyncio
import json

import pytest
from sandbox_helpers import FakeClock
from starlette.applications import Starlette
from wallgent_helpers import VISA, WALLET, Wallgent, billing_of


async def test_a_replay_returns_the_stored_response_and_charges_once(wg: Wallgent, app: Starlette) -> None:
    first = await wg.call("POST", "/billing/subscribe", json=VISA, idem="sub-1")
    # Same request, keys in another order and other spacing: still the same request.
    again = await wg.call("POST", "/billing/subscribe", idem="sub-1", headers={"Content-Type": "application/json"},
                          content=json.dumps(dict(reversed(list(VISA.items()))), indent=2))
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.content == first.content and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert billing_of(app).store.charge_count(1) == 1
    # Without the key, the same body is a new request.
    await wg.err("POST", "/billing/subscribe", 409, "ALREADY_SUBSCRIBED", json=VISA)


async def test_reusing_a_key_for_another_request_is_refused(wg: Wallgent) -> None:
    await wg.ok("POST", "/billing/subscribe", json=VISA, idem="k-1")
    error = await wg.err("POST", "/billing/subscribe", 409, "IDEMPOTENCY_KEY_REUSE", json={**VISA, "plan": "GROWTH"}, idem="k-1")
    assert "new key" in error["message"]
    await wg.err("POST", "/billing/cancel", 409, "IDEMPOTENCY_KEY_REUSE", idem="k-1")
    assert (await wg.billing())["cancelAtPeriodEnd"] is False


async def test_refusals_replay_too_and_keys_belong_to_one_account(wg: Wallgent) -> None:
    declined = {**VISA, "stripePaymentMethodId": "pm_card_chargeDeclined"}
    await wg.err("POST", "/billing/subscribe", 402, "PAYMENT_FAILED", json=declined, idem="try-1")
    replay = await wg.call("POST", "/billing/subscribe", json=declined, idem="try-1")
    assert replay.status_code == 402 and replay.headers["Idempotent-Replayed"] == "true"
    other = wg.as_key("wg_test_other")
    assert (await other.ok("POST", "/billing/subscribe", json=VISA, idem="try-1"))["plan"] == "STARTER"


async def test_delete_replays_and_keys_expire_after_a_day(wg: Wallgent, clock: FakeClock) -> None:
    await wg.ok("POST", "/billing/payment-method", json={"paymentMethodId": "pm_card_visa"})
    assert await wg.ok("DELETE", "/billing/payment-method", idem="del-1") == {"ok": True}
    assert await wg.ok("DELETE", "/billing/payment-method", idem="del-1") == {"ok": True}  # replayed, not a 404
    first = await wg.ok("POST", "/billing/setup-intent", idem="si-1")
    clock.advance(24 * 3600 - 1)
    assert await wg.ok("POST", "/billing/setup-intent", idem="si-1") == first
    clock.advance(2)
    assert await wg.ok("POST", "/billing/setup-intent", idem="si-1") != first
    await wg.err("DELETE", "/billing/payment-method", 404, "PAYMENT_METHOD_NOT_FOUND", idem="del-2")


async def test_concurrent_requests_with_one_key_charge_once(wg: Wallgent, app: Starlette) -> None:
    responses = await asyncio.gather(*(wg.call("POST", "/billing/subscribe", json=WALLET, idem="race") for _ in range(8)))
    assert {r.status_code for r in responses} == {200} and len({r.content for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 7
    assert billing_of(app).store.charge_count(1) == 1
    assert (await wg.wallet()) == "401.00"


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "caf\u00e9"])
async def test_a_malformed_idempotency_key_is_a_validation_error(wg: Wallgent, key: str) -> None:
    headers = {"Authorization": b"Bearer wg_test_sandbox", "Idempotency-Key": key.encode()}
    r = await wg.client.post("/wallgent/v1/billing/setup-intent", headers=headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("content", [b"{", b"not json", b'{"plan": NaN}', b"[1, 2]", b'"STARTER"', b"\xff\xfe",
                                     b"[" * 5000 + b"]" * 5000, b'{"a":' * 100 + b"1" + b"}" * 100,
                                     b'{"plan": "' + b"x" * 70_000 + b'"}'])
async def test_unreadable_bodies_are_validation_errors(wg: Wallgent, content: bytes) -> None:
    error = await wg.err("POST", "/billing/subscribe", 400, "VALIDATION_ERROR", content=content,
                         headers={"Content-Type": "application/json"})
    assert error["details"]["errors"][0]["field"] == "body"


async def test_unknown_and_wrong_fields_are_listed(wg: Wallgent) -> None:
    error = await wg.err("POST", "/billing/subscribe", 400, "VALIDATION_ERROR",
                         json={"plan": 5, "paymentMethod": "WALLET", "coupon": "FREE"})
    assert sorted(e["field"] for e in error["details"]["errors"]) == ["coupon", "plan"]
    error = await wg.err("POST", "/billing/cancel", 400, "VALIDATION_ERROR", json={"now": True})
    assert error["details"] == {"errors": [{"field": "now", "message": "unknown field"}]}
    await wg.err("POST", "/billing/checkout", 400, "VALIDATION_ERROR", json={})
    await wg.err("POST", "/billing/checkout", 400, "VALIDATION_ERROR", json={"plan": "ENTERPRISE"})
    # An explicit null for an optional field is the same as leaving it out.
    await wg.ok("POST", "/billing/subscribe", json={**WALLET, "stripePaymentMethodId": None})


async def test_bodyless_posts_need_no_content_type(wg: Wallgent) -> None:
    await wg.ok("POST", "/billing/subscribe", json=VISA)
    r = await wg.client.post("/wallgent/v1/billing/cancel", headers={"Authorization": "Bearer wg_test_sandbox"})
    assert r.status_code == 200 and r.json()["cancelAtPeriodEnd"] is True


async def test_unknown_paths_and_methods_answer_in_the_error_envelope(wg: Wallgent) -> None:
    await wg.err("GET", "/billing/nothing-here", 404, "NOT_FOUND")
    r = await wg.call("PUT", "/billing")
    assert r.status_code == 405 and r.json()["error"]["code"] == "METHOD_NOT_ALLOWED" and "GET" in r.headers["allow"]
