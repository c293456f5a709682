"""Acme's sandbox: an offline Acme API, mounted by the main sandbox at ``/acme`` (``Connection.sandbox_app``).

Any ``acme_`` key is an account with 10 credits; ``pm_card_visa`` and ``pm_card_mastercard`` are saved
card tokens; bundles are ``small`` (5 USD) and ``large`` (20 USD); a purchase must carry the bundle's
price as its amount; a purchase repeated with the same ``Idempotency-Key`` answers the same receipt.

Example:
    >>> part = acme_sandbox()
    >>> part.mount, part.banner("http://127.0.0.1:8787")
    ('/acme', ['  Acme API          http://127.0.0.1:8787/acme/acme-api'])
"""

from __future__ import annotations

from decimal import Decimal
from itertools import count
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agent_billing.sandbox import ProviderSandbox

from ..operations import BASE_PATH, BUNDLES, CONNECTION, REGISTRY

CARDS = {"pm_card_visa", "pm_card_mastercard"}


class AcmeBooks:
    """Accounts by key, and every purchase made (what the tests count)."""

    def __init__(self) -> None:
        self.accounts: dict[str, dict[str, Any]] = {}
        self.purchases: list[dict[str, Any]] = []
        self.replays: dict[tuple[str, str], dict[str, Any]] = {}  # (key, Idempotency-Key) -> the receipt
        self._ids = count(1)

    def account(self, key: str) -> dict[str, Any]:
        return self.accounts.setdefault(key, {"id": f"acct_{len(self.accounts) + 1}", "nickname": "Acme account",
                                              "credit_balance": "10", "closed": False})

    def next_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids)}"


def _error(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail, "code": code}, status_code=status)


def create_acme_app() -> Starlette:
    """The Acme API alone (routes under ``BASE_PATH``), its books on ``app.state.acme``."""
    books = AcmeBooks()

    async def handle(request: Request) -> JSONResponse:
        key = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not key.startswith("acme_"):
            return _error(401, "acme_bad_key", "an acme_ key is required")
        account = books.account(key)
        path = request.url.path.split(BASE_PATH, 1)[-1]  # mounted under /acme: the part after the API base
        body: dict[str, Any] = await request.json() if request.method == "POST" else {}
        if account["closed"]:
            return _error(404, "not_found", "the account is closed")
        if path == "/account/nickname":
            account["nickname"] = str(body.get("nickname", ""))
        elif path == "/account/closure":
            account["closed"] = True
        elif path == "/checkout-pages":
            page = books.next_id("chk")
            return JSONResponse({"id": page, "checkout_url": f"https://pay.acme.invalid/{page}"})
        elif path == "/credit-purchases":
            price = BUNDLES.get(str(body.get("bundle")))
            if price is None or Decimal(str(body.get("amount"))) != price:
                return _error(400, "acme_no_such_bundle", "unknown bundle or wrong amount")
            if body.get("saved_card") not in CARDS:
                return _error(400, "acme_no_such_bundle", "unknown card token")
            replay = (key, request.headers.get(REGISTRY.wire.idempotency_header, ""))
            if replay[1] and replay in books.replays:  # the same purchase again: the same receipt, no charge
                return JSONResponse(books.replays[replay])
            receipt = {"id": books.next_id("pur"), "receipt_number": books.next_id("R"), "amount": str(price),
                       "currency": "usd", "bundle": body["bundle"]}
            books.purchases.append(receipt)
            if replay[1]:
                books.replays[replay] = receipt
            account["credit_balance"] = str(Decimal(account["credit_balance"]) + price)
            return JSONResponse(receipt)
        return JSONResponse(account)

    # The routes come from the declarations: one per operation, nothing listed twice.
    routes = [Route(BASE_PATH + op.path, handle, methods=[op.method]) for op in REGISTRY.operations.values()]
    app = Starlette(routes=routes)
    app.state.acme = books
    return app


def acme_sandbox(**_: Any) -> ProviderSandbox:
    """The Acme sandbox as ``agent_billing.sandbox.create_app`` mounts it: at ``/acme``."""
    app = create_acme_app()
    api = CONNECTION.sandbox_path
    return ProviderSandbox(app=app, mount="/acme", state={"acme": app.state.acme},
                           banner=lambda root: [f"  Acme API          {root}{api}"])
