"""Helpers of the sandbox tests: an injectable clock, raw HTTP calls, ledger snapshots.

(A module with its own name, not ``conftest``, so test modules can import it reliably.)
"""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from agent_billing import wire
from agent_billing.providers.modelslab.sandbox.ledger import Ledger
from agent_billing.sandbox import RateLimits, create_app

TOKEN = "sk_sandbox_alice"
OTHER_TOKEN = "sk_sandbox_bob"
RESELLER_TOKEN = "sk_sandbox_reseller"
API = "/api/agents/v1"
START = 1_815_000_000.0  # 2027-07-07T22:40:00Z (mid-year, so a card can expire this year)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Api:
    """Raw HTTP calls to the sandbox API for one token (``key=`` sends an Idempotency-Key)."""

    def __init__(self, client: httpx.AsyncClient, token: str | None) -> None:
        self.client = client
        self.token = token

    async def call(self, method: str, path: str, *, json: Any = None, params: Any = None, key: str | None = None,
                   headers: dict[str, str] | None = None, content: bytes | str | None = None) -> httpx.Response:
        all_headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if key is not None:
            all_headers["Idempotency-Key"] = key
        all_headers.update(headers or {})
        body = content
        if json is not None:
            body = wire.dumps(json)
            all_headers["Content-Type"] = "application/json"
        url = path if path.startswith("/sandbox") or path.startswith("/v1") else API + path
        return await self.client.request(method, url, content=body, params=params, headers=all_headers)

    async def ok(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        """Call and return ``data``, asserting the status and a clean envelope."""
        r = await self.call(method, path, **kw)
        assert r.status_code == status, r.text
        body = wire.loads(r.content)
        assert body["error"] is None
        assert body["meta"]["request_id"] == r.headers["x-request-id"]
        return body["data"]

    async def err(self, method: str, path: str, status: int, code: str, **kw: Any) -> dict[str, Any]:
        """Call and return ``error``, asserting the status and code."""
        r = await self.call(method, path, **kw)
        assert r.status_code == status, r.text
        body = wire.loads(r.content)
        assert body["data"] is None, r.text
        assert body["error"]["code"] == code, r.text
        error: dict[str, Any] = body["error"]
        return error


def snapshot(ledger: Ledger) -> dict[str, Any]:
    """Everything that moves money or records a charge (to prove a refused request changed nothing)."""
    tables = ("wallet_entries", "payment_intents", "invoices", "subscriptions", "coupon_redemptions",
              "checkout_sessions", "withdrawals", "payment_methods")
    with ledger.transaction():
        counts = {t: ledger._conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
        counts["balances"] = [tuple(r) for r in ledger._conn.execute("SELECT id, balance_cents FROM accounts")]
    return counts


def count(ledger: Ledger, sql: str, *params: Any) -> int:
    """A ``SELECT COUNT(*)`` on the ledger."""
    with ledger.transaction():
        return int(ledger._conn.execute(sql, params).fetchone()[0])


def make_app(clock: FakeClock, rate_limit: bool | RateLimits = False, **kw: Any) -> Starlette:
    """An app with the three standard accounts."""
    return create_app(tokens=(TOKEN, OTHER_TOKEN), reseller_tokens=(RESELLER_TOKEN,), rate_limit=rate_limit,
                      clock=clock, **kw)


