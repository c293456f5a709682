"""A fund's statements are index lookups only: nothing on its path walks a whole table, so its cost does not
grow with the ledger's history (a ``COUNT(*)`` over every invoice made a fund 20 % dearer after 20,000).

Every statement the ledger runs for a request is traced, and SQLite's own query plan for it is read.
"""

from __future__ import annotations

import asyncio

import httpx
from sandbox_helpers import API, TOKEN, FakeClock, make_app


def _plans(calls: list[tuple[str, str, dict[str, object]]]) -> tuple[list[str], dict[str, str]]:
    app = make_app(FakeClock())
    ledger = app.state.sandbox.ledger
    traced: list[str] = []

    async def send() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox",
                                     headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            for n, (method, path, body) in enumerate(calls):
                r = await client.request(method, API + path, json=body, headers={"Idempotency-Key": f"key-{n}"})
                assert r.status_code == 200, r.text
                if n == 0:
                    ledger._conn.set_trace_callback(traced.append)  # after the set-up call: the fund only

    asyncio.run(send())
    ledger._conn.set_trace_callback(None)
    plans = {}
    for sql in traced:
        if sql.split()[0].upper() in ("SELECT", "UPDATE", "DELETE"):
            plans[sql] = " | ".join(row[-1] for row in ledger.rows("EXPLAIN QUERY PLAN " + sql))
    app.state.sandbox.close()
    return traced, plans


def test_a_fund_walks_no_table() -> None:
    traced, plans = _plans([("POST", "/billing/payment-methods", {"payment_method_id": "pm_card_visa"}),
                            ("POST", "/wallet/fund", {"amount": 10, "payment_method_id": "pm_card_visa"})])
    assert any("INSERT INTO invoices" in sql for sql in traced)  # the fund did run (and was traced)
    scans = {sql: plan for sql, plan in plans.items() if "SCAN" in plan}
    assert not scans, scans
