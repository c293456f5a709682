"""Fixtures of the sandbox tests: an injectable clock, an in-process app, raw HTTP helpers, a loopback server.

Every app built here has its ledger invariants checked when the test ends, so each scenario also
proves that the balance equals credits minus debits, that every charge has its invoice, and that
nothing was credited twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sandbox_helpers import OTHER_TOKEN, RESELLER_TOKEN, TOKEN, Api, FakeClock, make_app
from starlette.applications import Starlette

from agent_billing.providers.modelslab.sandbox.ledger import Ledger
from agent_billing.sandbox import SandboxServer


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(clock: FakeClock) -> Iterator[Starlette]:
    application = make_app(clock)
    yield application
    application.state.sandbox.ledger.check_invariants()
    application.state.sandbox.close()


@pytest.fixture
def ledger(app: Starlette) -> Ledger:
    result: Ledger = app.state.sandbox.ledger
    return result


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test") as client:
        yield client


@pytest.fixture
def api(http: httpx.AsyncClient) -> Api:
    return Api(http, TOKEN)


@pytest.fixture
def other_api(http: httpx.AsyncClient) -> Api:
    return Api(http, OTHER_TOKEN)


@pytest.fixture
def reseller_api(http: httpx.AsyncClient) -> Api:
    return Api(http, RESELLER_TOKEN)


@pytest.fixture
def anon_api(http: httpx.AsyncClient) -> Api:
    return Api(http, None)


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    """A real loopback server (real clock, no rate limits), invariants checked at the end."""
    with SandboxServer(tokens=(TOKEN, OTHER_TOKEN), reseller_tokens=(RESELLER_TOKEN,), rate_limit=False) as srv:
        yield srv
        srv.check_invariants()
