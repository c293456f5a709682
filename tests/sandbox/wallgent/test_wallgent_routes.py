"""The Wallgent sandbox's routes are the registry's operations (issue 21: derive, don't list).

Each declared operation is answered on its declared method and path, the sandbox answers no other API
route, and only the ``/v1/sandbox/...`` controls are written in the sandbox itself.
"""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from agent_billing.providers.wallgent.sandbox.app import create_wallgent_app
from agent_billing.registry import Registry, get_registry


def api_routes(app: Starlette) -> set[tuple[str, str]]:
    """(method, path) of every route the app answers under ``/v1`` (HEAD, Starlette's GET twin, left out)."""
    return {(method, route.path) for route in app.routes if isinstance(route, Route) and route.path.startswith("/v1/")
            for method in route.methods or () if method != "HEAD"}


def test_every_operation_has_a_route_and_every_api_route_an_operation() -> None:
    registry = get_registry("wallgent")
    declared = {(op.method, registry.base_path + op.path) for op in registry}
    routes = api_routes(create_wallgent_app(rate_limit=False))
    assert declared == {r for r in routes if not r[1].startswith("/v1/sandbox/")}
    assert len(declared) == len(registry) == 13


def moved(registry: Registry, base_path: str, **paths: str) -> Registry:
    """A copy of ``registry`` under ``base_path``, with some operations' paths changed."""
    copy = Registry(provider=registry.provider, base_path=base_path, wire=registry.wire)
    for op in registry:
        copy.add(dataclasses.replace(op, path=paths.get(op.name, op.path)))
    return copy


async def test_the_routes_follow_the_declarations() -> None:
    # A path changed in the declaration moves the sandbox's route with it: no second list to forget.
    registry = moved(get_registry("wallgent"), "/v1", get_invoice="/billing/bills/{invoice_id}")
    app = create_wallgent_app(rate_limit=False, registry=registry)
    assert ("GET", "/v1/billing/bills/{invoice_id}") in api_routes(app)
    assert ("GET", "/v1/billing/invoices/{invoice_id}") not in api_routes(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test",
                                 headers={"Authorization": "Bearer wg_test_sandbox"}) as http:
        missing = await http.get("/v1/billing/bills/inv_nope")
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "INVOICE_NOT_FOUND")
        old = await http.get("/v1/billing/invoices/inv_nope")
        assert (old.status_code, old.json()["error"]["code"]) == (404, "NOT_FOUND")  # no such endpoint any more


def test_an_operation_without_a_handler_fails_loudly() -> None:
    registry = moved(get_registry("wallgent"), "/v1")
    registry.add(dataclasses.replace(registry.get("get_billing"), name="get_usage", action="usage", path="/billing/usage"))
    with pytest.raises(RuntimeError, match="no handler for: get_usage"):
        create_wallgent_app(rate_limit=False, registry=registry)
