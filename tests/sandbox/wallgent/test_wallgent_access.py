"""Keys (test accounts, live refusal, missing or malformed keys), permissions and per-plan rate limits."""

from __future__ import annotations

import httpx
import pytest
from sandbox_helpers import FakeClock
from wallgent_helpers import KEY, VISA, Wallgent, billing_of, make_app


async def test_any_test_key_is_its_own_account(wg: Wallgent) -> None:
    other = wg.as_key("wg_test_brand_new-1")
    await other.ok("POST", "/billing/subscribe", json=VISA)
    assert (await other.billing())["plan"] == "STARTER"
    assert (await wg.billing())["plan"] == "FREE"


async def test_live_keys_are_refused_and_move_nothing(wg: Wallgent) -> None:
    live = wg.as_key("wg_live_abc123")
    error = await live.err("POST", "/billing/subscribe", 403, "ENVIRONMENT_MISMATCH", json=VISA)
    assert "wg_test_" in error["message"]
    await live.err("GET", "/billing", 403, "ENVIRONMENT_MISMATCH")
    assert (await wg.ok("GET", "/billing/invoices"))["total"] == 0


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer sk_test_123", "Basic wg_test_sandbox", "Bearer wg_test_",
                                    "Bearer wg_test_has space", "Bearer wg_prod_abc"])
async def test_missing_or_malformed_keys_are_unauthorized(http: httpx.AsyncClient, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    r = await http.get("/wallgent/v1/billing", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "UNAUTHORIZED"


async def test_a_read_only_key_reads_but_cannot_write(clock: FakeClock) -> None:
    app = make_app(clock, keys={"wg_test_readonly": ["billing:read"], "wg_test_writeonly": ["billing:write"]})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test") as http:
        reader = Wallgent(http, "wg_test_readonly")
        assert (await reader.billing())["plan"] == "FREE"
        await reader.ok("GET", "/billing/invoices")
        for method, path in (("POST", "/billing/subscribe"), ("POST", "/billing/setup-intent"),
                             ("DELETE", "/billing/payment-method"), ("POST", "/billing/portal")):
            error = await reader.err(method, path, 403, "PERMISSION_DENIED", json=VISA if path.endswith("subscribe") else None)
            assert error["details"] == {"required": "billing:write"}
        writer = Wallgent(http, "wg_test_writeonly")
        error = await writer.err("GET", "/billing", 403, "PERMISSION_DENIED")
        assert error["details"] == {"required": "billing:read"}
        await writer.ok("POST", "/billing/subscribe", json=VISA)
    billing_of(app).check_invariants()


def test_configured_keys_must_be_test_keys_with_known_permissions() -> None:
    with pytest.raises(ValueError, match="wg_test_"):
        make_app(FakeClock(), keys=["wg_live_x"])
    with pytest.raises(ValueError, match="unknown permissions"):
        make_app(FakeClock(), keys={"wg_test_x": ["billing:admin"]})


async def test_free_plan_write_limit_then_reset_on_the_injected_clock(clock: FakeClock) -> None:
    app = make_app(clock, rate_limit=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test") as http:
        wg = Wallgent(http, KEY)
        for i in range(10):  # FREE: 10 writes a minute
            r = await wg.call("POST", "/billing/setup-intent")
            assert r.status_code == 200
            assert (r.headers["X-RateLimit-Limit"], r.headers["X-RateLimit-Remaining"]) == ("10", str(9 - i))
            assert r.headers["X-RateLimit-Reset"] == str(int(clock.now) + 60)
        error = await wg.err("POST", "/billing/setup-intent", 429, "RATE_LIMIT_EXCEEDED")
        assert error["details"] == {"limit": 10, "retryAfter": 60, "plan": "FREE"}
        r = await wg.call("POST", "/billing/setup-intent")
        assert r.headers["Retry-After"] == "60" and r.headers["X-RateLimit-Remaining"] == "0"
        # Reads have their own budget; sandbox controls are not limited.
        assert (await wg.call("GET", "/billing")).headers["X-RateLimit-Limit"] == "60"
        await wg.ok("POST", "/sandbox/wallet", json={"balance": "500.00"})
        clock.advance(59)
        assert (await wg.call("POST", "/billing/setup-intent")).headers["Retry-After"] == "1"
        clock.advance(1)
        assert (await wg.call("POST", "/billing/setup-intent")).status_code == 200


async def test_a_paid_plan_gets_its_tier_limits(clock: FakeClock) -> None:
    app = make_app(clock, rate_limit=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test") as http:
        wg = Wallgent(http, KEY)
        await wg.ok("POST", "/billing/subscribe", json=VISA)
        r = await wg.call("POST", "/billing/setup-intent")
        assert (r.headers["X-RateLimit-Limit"], r.headers["X-RateLimit-Remaining"]) == ("50", "49")
        await wg.ok("POST", "/billing/change-plan", json={"plan": "GROWTH"})
        assert (await wg.call("GET", "/billing")).headers["X-RateLimit-Limit"] == "500"
        # The GROWTH window starts with the plan: 100 writes, then 429.
        assert all([(await wg.call("POST", "/billing/setup-intent")).status_code == 200 for _ in range(100)])
        await wg.err("POST", "/billing/setup-intent", 429, "RATE_LIMIT_EXCEEDED")
    billing_of(app).check_invariants()


async def test_read_limit_of_the_free_plan(clock: FakeClock) -> None:
    app = make_app(clock, rate_limit=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test") as http:
        wg = Wallgent(http, KEY)
        statuses = [(await wg.call("GET", "/billing/invoices")).status_code for _ in range(61)]
        assert statuses.count(200) == 60 and statuses[-1] == 429


async def test_monthly_api_calls_count_this_calendar_month(wg: Wallgent, clock: FakeClock) -> None:
    for _ in range(3):
        await wg.ok("POST", "/billing/setup-intent")
    assert (await wg.billing())["monthlyApiCalls"] == 4
    await wg.ok("POST", "/sandbox/wallet", json={"balance": "1.00"})  # sandbox controls do not count
    clock.advance(31 * 86_400)
    assert (await wg.billing())["monthlyApiCalls"] == 1
