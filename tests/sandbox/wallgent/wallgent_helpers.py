"""Helpers of the Wallgent sandbox tests: the app as the server mounts it, raw HTTP calls, state access.

(A module with its own name, not ``conftest``, so test modules can import it reliably.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from agent_billing.providers.wallgent.sandbox import create_wallgent_app
from agent_billing.providers.wallgent.sandbox.billing import Billing

KEY = "wg_test_sandbox"
API = "/wallgent/v1"
VISA = {"plan": "STARTER", "paymentMethod": "CARD", "stripePaymentMethodId": "pm_card_visa"}
WALLET = {"plan": "STARTER", "paymentMethod": "WALLET"}
DAY = 86_400


def make_app(clock: Any, *, keys: Mapping[str, Iterable[str]] | Iterable[str] = (), rate_limit: bool = False) -> Starlette:
    """The Wallgent sandbox mounted at ``/wallgent``, as ``agent_billing.sandbox.create_app`` mounts it."""
    inner = create_wallgent_app(keys=keys, clock=clock, rate_limit=rate_limit)
    outer = Starlette(routes=[Mount("/wallgent", app=inner)])
    outer.state.wallgent = inner.state.wallgent
    return outer


def billing_of(app: Starlette) -> Billing:
    """The sandbox state behind an app built by :func:`make_app`."""
    billing: Billing = app.state.wallgent
    return billing


class Wallgent:
    """Raw calls to the Wallgent sandbox for one key (``idem=`` sends an Idempotency-Key)."""

    def __init__(self, client: httpx.AsyncClient, key: str | None) -> None:
        self.client = client
        self.key = key

    def as_key(self, key: str | None) -> Wallgent:
        """The same client with another key (``None``: no Authorization header)."""
        return Wallgent(self.client, key)

    async def call(self, method: str, path: str, *, json: Any = None, idem: str | None = None,
                   headers: dict[str, str] | None = None, content: bytes | str | None = None,
                   params: Any = None) -> httpx.Response:
        all_headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        if idem is not None:
            all_headers["Idempotency-Key"] = idem
        all_headers.update(headers or {})
        return await self.client.request(method, API + path, json=json, content=content, params=params,
                                         headers=all_headers)

    async def ok(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        """Call, assert the status, return the bare JSON body (never an envelope)."""
        r = await self.call(method, path, **kw)
        assert r.status_code == status, r.text
        assert r.headers["content-type"] == "application/json"
        body = r.json()
        assert "error" not in body and "data" not in body, body
        return body

    async def err(self, method: str, path: str, status: int, code: str, **kw: Any) -> dict[str, Any]:
        """Call, assert status and error code, return ``error`` (which always has code, message and details)."""
        r = await self.call(method, path, **kw)
        assert r.status_code == status, r.text
        body = r.json()
        assert set(body) == {"error"}, body
        assert body["error"]["code"] == code, r.text
        assert set(body["error"]) == {"code", "message", "details"} and body["error"]["message"]
        error: dict[str, Any] = body["error"]
        return error

    async def billing(self) -> dict[str, Any]:
        """``GET /billing``."""
        body: dict[str, Any] = await self.ok("GET", "/billing")
        return body

    async def wallet(self) -> str:
        """The sandbox wallet's balance (``GET /sandbox/wallet``; ``GET /billing`` has no such field)."""
        body: dict[str, Any] = await self.ok("GET", "/sandbox/wallet")
        return str(body["walletBalance"])
