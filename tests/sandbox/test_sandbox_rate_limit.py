"""The documented rate limiters, with an injected clock and tiny windows."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sandbox_helpers import OTHER_TOKEN, TOKEN, Api, FakeClock, make_app

from agent_billing.registry import get_registry
from agent_billing.sandbox import RateLimits


@pytest.fixture
async def limited(clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(clock, rate_limit=RateLimits({"agent-billing": 3, "agent-general": 5}, window_seconds=10))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test") as client:
        yield client
    app.state.sandbox.ledger.check_invariants()


async def test_every_api_response_carries_the_headers(limited: httpx.AsyncClient, clock: FakeClock) -> None:
    api = Api(limited, TOKEN)
    for r in (await api.call("GET", "/wallet/balance"), await api.call("POST", "/wallet/fund", json={"amount": 1}),
              await Api(limited, "sk_wrong").call("GET", "/wallet/balance")):
        assert r.headers["x-ratelimit-limit"] == "5" or r.headers["x-ratelimit-limit"] == "3"
        assert int(r.headers["x-ratelimit-remaining"]) >= 0
        assert int(r.headers["x-ratelimit-reset"]) == int(clock.now + 10)


async def test_billing_limiter_refuses_with_429_then_recovers(limited: httpx.AsyncClient, clock: FakeClock) -> None:
    api = Api(limited, TOKEN)
    remaining = []
    for _ in range(3):
        r = await api.call("POST", "/billing/setup-intent")
        assert r.status_code == 200
        assert r.headers["x-ratelimit-limiter"] == "agent-billing"
        remaining.append(int(r.headers["x-ratelimit-remaining"]))
    assert remaining == [2, 1, 0]
    clock.advance(4)
    r = await api.call("POST", "/billing/setup-intent")
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "rate_limited"
    assert r.headers["retry-after"] == "6"
    assert r.headers["x-ratelimit-remaining"] == "0"
    # Another limiter and another token are unaffected.
    assert (await api.call("GET", "/wallet/balance")).status_code == 200
    assert (await Api(limited, OTHER_TOKEN).call("POST", "/billing/setup-intent")).status_code == 200
    clock.advance(6)
    r = await api.call("POST", "/billing/setup-intent")
    assert r.status_code == 200 and r.headers["x-ratelimit-remaining"] == "2"


async def test_general_limiter(limited: httpx.AsyncClient, clock: FakeClock) -> None:
    api = Api(limited, TOKEN)
    statuses = [(await api.call("GET", "/wallet/balance")).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    clock.advance(10)
    assert (await api.call("GET", "/billing/overview")).status_code == 200


async def test_refused_requests_do_nothing(limited: httpx.AsyncClient) -> None:
    api = Api(limited, TOKEN)
    for _ in range(3):
        await api.call("POST", "/billing/setup-intent")
    r = await api.call("POST", "/wallet/fund", json={"amount": 25, "payment_method_id": "pm_card_visa"})
    assert r.status_code == 429
    assert (await api.ok("GET", "/wallet/balance"))["balance"] == 0


async def test_documented_defaults_and_switching_off(clock: FakeClock) -> None:
    app = make_app(clock, rate_limit=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        api = Api(client, TOKEN)
        assert (await api.call("GET", "/wallet/balance")).headers["x-ratelimit-limit"] == "120"
        assert (await api.call("POST", "/billing/setup-intent")).headers["x-ratelimit-limit"] == "15"
        statuses = [(await api.call("POST", "/billing/setup-intent")).status_code for _ in range(15)]
        assert statuses.count(429) == 1 and statuses[-1] == 429
    app = make_app(clock, rate_limit=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        r = await Api(client, TOKEN).call("GET", "/wallet/balance")
        assert "x-ratelimit-limit" not in r.headers


def test_rate_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RateLimits({"agent-billing": 0})


def test_rate_classes_are_the_providers_declaration() -> None:
    # The numbers live in ModelsLab's registry, not in the core; every operation names a declared class or the default.
    registry = get_registry("modelslab")
    limits = RateLimits(registry.rate_classes)
    assert (limits.limit_for("agent-billing"), limits.limit_for("agent-general"), limits.window_seconds) == (15, 120, 60)
    assert {limits.class_for(op.limiter) for op in registry} == {"agent-billing", "agent-general"}
    assert limits.class_for("") == "agent-general"  # a request without a known token
    with pytest.raises(ValueError):
        RateLimits({"a": 1}, default="b")
