"""Fixtures of the Wallgent sandbox tests: an injected clock, the app mounted at ``/wallgent`` as the server does, raw calls.

Every app built here has its invariants checked when the test ends (wallet = credits - debits, one
charge per paid invoice, none for open or void ones, one wallet debit per WALLET charge).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sandbox_helpers import FakeClock
from starlette.applications import Starlette
from wallgent_helpers import KEY, Wallgent, billing_of, make_app


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(clock: FakeClock) -> Iterator[Starlette]:
    application = make_app(clock)
    yield application
    billing_of(application).check_invariants()
    billing_of(application).close()


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test") as client:
        yield client


@pytest.fixture
def wg(http: httpx.AsyncClient) -> Wallgent:
    return Wallgent(http, KEY)
