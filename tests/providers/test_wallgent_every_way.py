"""Every Wallgent operation through the typed client, sync and async, in-process and over a loopback socket,
and every error code the issue names provoked through the client (not only at the HTTP level).

The walk is one scenario (a free account subscribes by card, changes plan with proration, switches to the
wallet, fails a renewal, retries it, cancels, removes its card), written once; the sync and the async client
each run all of it, in-process and over a socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from agent_billing import AsyncWallgentClient, WallgentClient
from agent_billing.errors import (
    AuthenticationError,
    BillingError,
    IdempotencyConflictError,
    InsufficientScopeError,
    InvalidRequestError,
    NotFoundError,
    PaymentDeclinedError,
    PermissionDeniedError,
    ProviderApprovalRequiredError,
    RateLimitedError,
)
from agent_billing.inprocess import SANDBOX_ORIGIN, SyncASGITransport
from agent_billing.retry import RetryPolicy
from agent_billing.sandbox import SandboxServer, create_app

KEY = "wg_test_everyway"


class Both:
    """One sandbox reached two ways: a sync and an async typed client, plus raw access to the control endpoints."""

    def __init__(self, root_url: str, transport: httpx.BaseTransport | None, atransport: httpx.AsyncBaseTransport | None,
                 **client_kwargs: Any) -> None:
        self.base = root_url + "/wallgent/v1"
        self._transport = transport
        self.sync = WallgentClient(base_url=self.base, token=KEY, transport=transport, **client_kwargs)
        self._atransport = atransport
        self._client_kwargs = client_kwargs
        self.control = httpx.Client(base_url=self.base, transport=transport, headers={"Authorization": f"Bearer {KEY}"})

    def aclient(self, token: str = KEY, **kwargs: Any) -> AsyncWallgentClient:
        return AsyncWallgentClient(base_url=self.base, token=token, transport=self._atransport,
                                   **{**self._client_kwargs, **kwargs})

    def client(self, token: str = KEY, **kwargs: Any) -> WallgentClient:
        return WallgentClient(base_url=self.base, token=token, transport=self._transport,
                              **{**self._client_kwargs, **kwargs})

    def post(self, path: str, body: dict[str, Any] | None = None) -> None:
        self.control.post(path, json=body or {}).raise_for_status()

    def close(self) -> None:
        self.sync.close()
        self.control.close()


@pytest.fixture(params=["in_process", "loopback"])
def both(request: pytest.FixtureRequest) -> Iterator[Both]:
    options: dict[str, Any] = {"rate_limit": False, "wallgent_keys": {KEY: ["billing:read", "billing:write"],
                                                                       "wg_test_reader": ["billing:read"]}}
    if request.param == "in_process":
        app = create_app(**options)
        b = Both(SANDBOX_ORIGIN, SyncASGITransport(app), httpx.ASGITransport(app=app))
        yield b
        b.close()
    else:
        with SandboxServer(**options) as server:
            b = Both(server.root_url, None, None)
            yield b
            b.close()


async def walk(call: Callable[[str, tuple[Any, ...], dict[str, Any]], Awaitable[Any]], both: Both) -> list[str]:
    """Every operation once, checking what each answers; returns the operations called, in order."""
    done: list[str] = []

    async def op(name: str, *args: Any, **kwargs: Any) -> Any:
        done.append(name)
        return await call(name, args, kwargs)

    assert (await op("get_billing")).plan == "FREE"
    assert (await op("create_checkout", "GROWTH")).url.startswith("http")
    assert (await op("create_setup_intent")).client_secret.startswith("seti_")
    assert (await op("save_payment_method", "pm_card_mastercard")).card_details.last4 == "4444"
    sub = await op("subscribe", "STARTER", "CARD", "pm_card_mastercard")
    # Wallgent's subscribe answers the invoice, not the amount: the charge is read from that invoice.
    first = await call("get_invoice", (sub.invoice_id,), {})
    assert first.amount == Decimal("99.00") and [line.total for line in first.line_items] == [Decimal("99.00")]
    change = await op("change_plan", "GROWTH")
    assert change.plan == "GROWTH" and change.proration_charge is not None and Decimal(0) < change.proration_charge
    both.post("/sandbox/wallet", {"balance": "2000.00"})
    assert (await op("change_payment_method", "WALLET")).ok
    assert (await op("create_portal_session")).url.startswith("http")
    page = await op("list_invoices", page=1, limit=1)
    assert len(page.invoices) == 1 and page.total == 2 and page.has_more
    invoice = await op("get_invoice", page.invoices[0].id)
    assert invoice.id == page.invoices[0].id and isinstance(invoice.amount, Decimal)
    both.post("/sandbox/fail-next-renewal")
    both.post("/sandbox/advance")
    assert (await op("get_billing")).billing_status == "PAST_DUE"
    assert (await op("retry_payment")).billing_status == "ACTIVE"
    assert (await op("cancel")).cancel_at_period_end is True
    assert (await op("remove_payment_method")).ok
    return done


def every_operation() -> set[str]:
    from agent_billing.registry import get_registry

    return set(get_registry("wallgent").operations)


def test_every_operation_sync(both: Both) -> None:
    async def call(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return getattr(both.sync, name)(*args, **kwargs)

    assert set(asyncio.run(walk(call, both))) == every_operation()


def test_every_operation_async(both: Both) -> None:
    async def run() -> list[str]:
        async with both.aclient() as aclient:
            async def call(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
                return await getattr(aclient, name)(*args, **kwargs)

            return await walk(call, both)

    assert set(asyncio.run(run())) == every_operation()


# --- every error code the issue names, through the client, sync and async


def provoke() -> list[tuple[str, Callable[[Any], Any], type[BillingError]]]:
    """(code, a call that provokes it given a client for the right key, the exception it must map to)."""
    return [
        ("INSUFFICIENT_FUNDS", lambda c: c.subscribe("STARTER", "WALLET"), PaymentDeclinedError),
        ("VALIDATION_ERROR", lambda c: c.subscribe("STARTER", "CARD", "pm_not_a_test_card"), InvalidRequestError),
        ("NOT_FOUND", lambda c: c.get_invoice("inv_missing"), NotFoundError),
    ]


async def _maybe(value: Any) -> Any:
    return await value if asyncio.iscoroutine(value) else value


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_every_error_code_through_the_client(both: Both, mode: str) -> None:
    async def run() -> None:
        def client(token: str = KEY, **kwargs: Any) -> Any:
            return both.client(token, **kwargs) if mode == "sync" else both.aclient(token, **kwargs)

        c = client()
        seen: dict[str, BillingError] = {}

        async def expect(code: str, kind: type[BillingError], action: Callable[[], Any]) -> None:
            with pytest.raises(kind) as info:
                await _maybe(action())
            # Wallgent answers a missing object with NOT_FOUND or a specific *_NOT_FOUND (INVOICE_NOT_FOUND here).
            assert info.value.code == code or (code == "NOT_FOUND" and str(info.value.code).endswith("_NOT_FOUND")), \
                (code, info.value)
            seen[code] = info.value

        both.post("/sandbox/wallet", {"balance": "0.00"})
        for code, action, kind in provoke():
            await expect(code, kind, lambda action=action: action(c))  # type: ignore[misc]
        await expect("PERMISSION_DENIED", InsufficientScopeError, lambda: client("wg_test_reader").create_setup_intent())
        assert seen["PERMISSION_DENIED"].scope == "billing:write"  # type: ignore[attr-defined]
        await expect("ENVIRONMENT_MISMATCH", AuthenticationError,
                     lambda: client("wg_live_everyway", allow_live=True).get_billing())
        both.post("/sandbox/wallet", {"balance": "500.00"})
        both.post("/sandbox/policy", {"requireHumanApproval": True})
        await expect("APPROVAL_REQUIRED", ProviderApprovalRequiredError, lambda: c.subscribe("STARTER", "WALLET"))
        both.post("/sandbox/policy", {"requireHumanApproval": False, "maxTransactionAmount": "50.00"})
        await expect("POLICY_DENIED", PermissionDeniedError, lambda: c.subscribe("STARTER", "WALLET"))
        both.post("/sandbox/policy", {"maxTransactionAmount": None})
        await _maybe(c.subscribe("STARTER", "WALLET", idempotency_key=f"every-way-{mode}"))
        await expect("IDEMPOTENCY_KEY_REUSE", IdempotencyConflictError,
                     lambda: c.change_plan("GROWTH", idempotency_key=f"every-way-{mode}"))
        # Nothing above moved money except the one subscription.
        assert (await _maybe(c.list_invoices())).total == 1

    asyncio.run(run())


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_rate_limit_exceeded_through_the_client(mode: str) -> None:
    with SandboxServer(wallgent_keys=[KEY]) as server:  # the guide's limits are on
        base = server.root_url + "/wallgent/v1"

        async def run() -> RateLimitedError:
            if mode == "sync":
                client: Any = WallgentClient(base_url=base, token=KEY, retry=RetryPolicy.none())
            else:
                client = AsyncWallgentClient(base_url=base, token=KEY, retry=RetryPolicy.none())
            with pytest.raises(RateLimitedError) as info:
                for _ in range(30):  # FREE allows 10 writes a minute
                    await _maybe(client.create_setup_intent())
            return info.value

        error = asyncio.run(run())
        assert error.code == "RATE_LIMIT_EXCEEDED" and error.retry_after is not None and error.retry_after > 0


def test_the_typed_clients_drive_the_toolkit(both: Both) -> None:
    """A Wallgent user's own WallgentClient / AsyncWallgentClient are what the toolkit takes."""
    import json

    from agent_billing.audit import MemoryAuditLog
    from agent_billing.tools import BillingToolkit

    asked: list[Any] = []
    toolkit = BillingToolkit(client=both.sync, async_client=both.aclient(), audit=MemoryAuditLog(),
                             approval=lambda request: asked.append(request) or True)
    assert toolkit.registry.provider == "wallgent"
    billing = toolkit.get_tool("billing")
    content = json.loads(billing.invoke({"action": "subscribe", "plan": "STARTER", "payment_method": "WALLET"}))
    assert content["ok"] and asked and asked[0].amount == Decimal("99.00"), content
    got = json.loads(asyncio.run(billing.ainvoke({"action": "get"})))
    assert got["result"]["plan"] == "STARTER"
