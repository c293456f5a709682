"""50 concurrent clients on loopback: exact balances, and every credit exactly once.

Each client is its own ``httpx.AsyncClient`` (its own connection) against a real ``SandboxServer``; the
requests of a round are released together. Bounded: one round of 50 per scenario, 10 s timeouts.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
from sandbox_helpers import API, TOKEN, count

from agent_billing import wire
from agent_billing.sandbox import SandboxServer

N = 50
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def _together(server: SandboxServer, method: str, path: str, bodies: list[Any],
                    keys: list[str | None]) -> list[httpx.Response]:
    """Send one request per client at once (each client its own connection)."""
    clients = [httpx.AsyncClient(base_url=server.root_url, timeout=10) for _ in bodies]
    start = asyncio.Event()

    async def one(client: httpx.AsyncClient, body: Any, key: str | None) -> httpx.Response:
        headers = dict(AUTH) if key is None else {**AUTH, "Idempotency-Key": key}
        await client.get(API + "/wallet/balance", headers=AUTH)  # connect first, so the sends overlap
        await start.wait()
        return await client.request(method, path, content=wire.dumps(body) if body is not None else None,
                                    headers={**headers, "Content-Type": "application/json"})

    try:
        tasks = [asyncio.create_task(one(c, b, k)) for c, b, k in zip(clients, bodies, keys, strict=True)]
        await asyncio.sleep(0.05)
        start.set()
        return await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


def _balance(server: SandboxServer) -> int:
    account = server.sandbox.account_for_token(TOKEN)
    assert account is not None
    return server.ledger.balance(account.id)


def _credits(server: SandboxServer, where: str = "1 = 1") -> int:
    return count(server.ledger, f"SELECT COUNT(*) FROM wallet_entries WHERE amount_cents > 0 AND {where}")


def _statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


async def test_fifty_clients_funding_with_their_own_keys_all_credit(server: SandboxServer) -> None:
    body = {"amount": 10, "payment_method_id": "pm_card_visa"}
    responses = await _together(server, "POST", API + "/wallet/fund", [body] * N, [f"fund-{i}" for i in range(N)])
    assert _statuses(responses) == {200: N}
    assert _credits(server) == N
    balances = sorted(wire.loads(r.content)["data"]["balance"] for r in responses)
    assert balances[-1] == 10 * N and len(set(balances)) == N  # each saw its own credit, none lost
    assert _balance(server) == 10 * N * 100
    server.check_invariants()


async def test_fifty_clients_funding_with_one_key_credit_once(server: SandboxServer) -> None:
    body = {"amount": 10, "payment_method_id": "pm_card_visa"}
    responses = await _together(server, "POST", API + "/wallet/fund", [body] * N, ["same-key"] * N)
    assert _statuses(responses) == {200: N}
    assert _credits(server) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == N - 1
    assert {wire.loads(r.content)["data"]["balance"] for r in responses} == {10}
    assert _balance(server) == 1000
    server.check_invariants()


async def test_fifty_clients_redeeming_one_coupon_credit_once(server: SandboxServer) -> None:
    responses = await _together(server, "POST", API + "/wallet/coupons/redeem", [{"coupon_code": "FREE10"}] * N,
                                [None] * N)
    assert _statuses(responses) == {200: 1, 409: N - 1} or _statuses(responses) == {200: 1, 400: N - 1}
    assert _credits(server) == 1
    assert count(server.ledger, "SELECT COUNT(*) FROM coupon_redemptions") == 1
    assert _balance(server) == 1000
    server.check_invariants()


async def test_fifty_clients_confirming_one_paid_checkout_credit_once(server: SandboxServer) -> None:
    async with httpx.AsyncClient(base_url=server.root_url, headers=AUTH, timeout=10) as http:
        link = (await http.post(API + "/billing/payment-link", json={"purpose": "fund", "amount": 40})).json()["data"]
        paid = await http.post(f"/sandbox/checkout/{link['session_id']}/complete")
        assert paid.status_code == 200, paid.text
    responses = await _together(server, "POST", API + "/wallet/confirm-checkout",
                                [{"session_id": link["session_id"]}] * N, [None] * N)
    assert _statuses(responses) == {200: N}
    datas = [wire.loads(r.content)["data"] for r in responses]
    assert sum(not d.get("already_confirmed") for d in datas) == 1
    assert _credits(server) == 1 and _balance(server) == 4000
    server.check_invariants()


async def test_fifty_clients_creating_subscriptions_charge_once_per_plan_type(server: SandboxServer) -> None:
    # Plan 10 (api) and 42 (app): an account holds one live subscription per plan type, so of 25 racing
    # creates per plan exactly one wins and is charged.
    bodies = [{"plan_id": 10 if i % 2 else 42, "payment_method_id": "pm_card_visa"} for i in range(N)]
    responses = await _together(server, "POST", API + "/subscriptions", bodies, [None] * N)
    assert _statuses(responses) == {200: 2, 409: N - 2}
    assert count(server.ledger, "SELECT COUNT(*) FROM subscriptions") == 2
    charges = count(server.ledger, "SELECT COUNT(*) FROM payment_intents WHERE status = 'succeeded'")
    assert charges == 2
    server.check_invariants()
