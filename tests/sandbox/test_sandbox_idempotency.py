"""Idempotency keys: replay without moving money, 409 on reuse with another request, concurrency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx
from sandbox_helpers import TOKEN, Api, FakeClock, count, snapshot

from agent_billing import wire
from agent_billing.providers.modelslab.sandbox.ledger import Ledger
from agent_billing.sandbox import SandboxServer

FUND = {"amount": 25, "payment_method_id": "pm_card_visa"}


async def test_same_key_same_body_replays_and_credits_once(api: Api, ledger: Ledger) -> None:
    first = await api.call("POST", "/wallet/fund", json=FUND, key="fund-25-a")
    second = await api.call("POST", "/wallet/fund", json={"payment_method_id": "pm_card_visa", "amount": Decimal("25.00")},
                            key="fund-25-a")
    assert first.status_code == second.status_code == 200
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    a, b = wire.loads(first.content), wire.loads(second.content)
    assert b["data"].pop("idempotency_replay") is True
    assert a["data"] == b["data"]
    assert b["meta"]["request_id"] != a["meta"]["request_id"]
    assert b["meta"]["original_request_id"] == a["meta"]["request_id"]
    assert (await api.ok("GET", "/wallet/balance"))["balance"] == 25
    assert count(ledger, "SELECT COUNT(*) FROM payment_intents") == 1
    assert count(ledger, "SELECT COUNT(*) FROM wallet_entries") == 1


async def test_same_key_different_request_is_409_and_moves_nothing(api: Api, ledger: Ledger) -> None:
    await api.ok("POST", "/wallet/fund", json=FUND, key="k")
    before = snapshot(ledger)
    err = await api.err("POST", "/wallet/fund", 409, "idempotency_error", json={**FUND, "amount": 26}, key="k")
    assert "different request" in err["message"]
    await api.err("POST", "/subscriptions/charge-amount", 409, "idempotency_error", json={"amount": 25}, key="k")
    assert snapshot(ledger) == before


async def test_keys_are_scoped_per_account(api: Api, other_api: Api) -> None:
    await api.ok("POST", "/wallet/fund", json=FUND, key="shared-key")
    r = await other_api.call("POST", "/wallet/fund", json={**FUND, "amount": 40}, key="shared-key")
    assert r.status_code == 200 and "idempotent-replayed" not in r.headers
    assert (await other_api.ok("GET", "/wallet/balance"))["balance"] == 40


async def test_declines_and_validation_errors_are_replayed_too(api: Api, ledger: Ledger) -> None:
    declined = {"amount": 25, "payment_method_id": "pm_card_chargeDeclined"}
    first = await api.call("POST", "/wallet/fund", json=declined, key="d")
    again = await api.call("POST", "/wallet/fund", json=declined, key="d")
    assert first.status_code == again.status_code == 402
    assert again.headers["idempotent-replayed"] == "true"
    assert first.json()["error"] == again.json()["error"]
    assert count(ledger, "SELECT COUNT(*) FROM payment_intents") == 1
    bad = {"amount": 5}
    assert (await api.call("POST", "/wallet/fund", json=bad, key="v")).status_code == 400
    r = await api.call("POST", "/wallet/fund", json=bad, key="v")
    assert r.status_code == 400 and r.headers["idempotent-replayed"] == "true"


async def test_requires_action_is_replayed_without_a_second_payment(api: Api, ledger: Ledger) -> None:
    body = {"amount": 25, "payment_method_id": "pm_card_authenticationRequired"}
    first = await api.ok("POST", "/wallet/fund", 202, json=body, key="3ds")
    again = await api.ok("POST", "/wallet/fund", 202, json=body, key="3ds")
    assert again["idempotency_replay"] is True
    assert again["payment"] == first["payment"]
    assert count(ledger, "SELECT COUNT(*) FROM payment_intents") == 1


async def test_keys_expire_after_24_hours(api: Api, clock: FakeClock) -> None:
    await api.ok("POST", "/wallet/fund", json=FUND, key="old")
    clock.advance(24 * 3600 - 1)
    assert (await api.call("POST", "/wallet/fund", json=FUND, key="old")).headers["idempotent-replayed"] == "true"
    clock.advance(2)
    r = await api.call("POST", "/wallet/fund", json=FUND, key="old")
    assert "idempotent-replayed" not in r.headers
    assert (await api.ok("GET", "/wallet/balance"))["balance"] == 50


async def test_invalid_keys_are_refused(api: Api, ledger: Ledger) -> None:
    before = snapshot(ledger)
    await api.err("POST", "/wallet/fund", 400, "validation_error", json=FUND, key="x" * 256)
    await api.err("POST", "/wallet/fund", 400, "validation_error", json=FUND, key="has space")
    assert snapshot(ledger) == before


async def test_get_requests_ignore_keys(api: Api) -> None:
    r1 = await api.call("GET", "/wallet/balance", key="g")
    r2 = await api.call("GET", "/wallet/balance", key="g")
    assert "idempotent-replayed" not in r2.headers and r1.status_code == r2.status_code == 200


def _parallel(n: int, fn: Any) -> list[Any]:
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_concurrent_requests_with_one_key_charge_once(server: SandboxServer) -> None:
    def fund(_: int) -> httpx.Response:
        return httpx.post(server.base_url + "/wallet/fund", json=FUND,
                          headers={"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": "race-1"})

    responses = _parallel(8, fund)
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 7
    assert len({r.json()["data"]["payment"]["payment_intent_id"] for r in responses}) == 1
    assert count(server.ledger, "SELECT COUNT(*) FROM wallet_entries") == 1
    assert server.ledger.balance(1) == 2500


def test_concurrent_requests_without_keys_all_run(server: SandboxServer) -> None:
    def fund(_: int) -> httpx.Response:
        return httpx.post(server.base_url + "/wallet/fund", json=FUND, headers={"Authorization": f"Bearer {TOKEN}"})

    responses = _parallel(6, fund)
    assert all(r.status_code == 200 for r in responses)
    assert server.ledger.balance(1) == 6 * 2500
