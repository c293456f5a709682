"""``create_wallgent_app``: the Wallgent sandbox as one Starlette app (API under ``/v1``, hosted pages beside it).

The main sandbox server mounts it at ``/wallgent``, so the API base URL is ``<server>/wallgent/v1`` and
checkout pages are at ``<server>/wallgent/checkout/cs_...``. Unknown paths under ``/v1`` answer in
Wallgent's error envelope (404 ``NOT_FOUND``, 405 ``METHOD_NOT_ALLOWED``).

Example:
    >>> import asyncio, httpx
    >>> app = create_wallgent_app(clock=lambda: 1_815_000_000.0)
    >>> async def plan() -> str:
    ...     async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox",
    ...                                  headers={"Authorization": "Bearer wg_test_sandbox"}) as client:
    ...         return (await client.get("/v1/billing")).json()["plan"]
    >>> asyncio.run(plan())
    'FREE'
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from agent_billing.providers.wallgent.sandbox import pages
from agent_billing.providers.wallgent.sandbox.api import (
    DEFAULT_PERMISSIONS,
    KEY_PATTERN,
    Endpoint,
    Gate,
    Incoming,
    endpoints,
    json_response,
    process,
)
from agent_billing.providers.wallgent.sandbox.billing import Billing
from agent_billing.providers.wallgent.sandbox.errors import WallgentError
from agent_billing.registry import Registry, get_registry
from agent_billing.sandbox.app import ProviderSandbox, route_order
from agent_billing.sandbox.rate_limit import RateLimits
from agent_billing.sandbox.units import Clock

DEFAULT_KEY = "wg_test_sandbox"


def _key_permissions(keys: Mapping[str, Iterable[str]] | Iterable[str]) -> dict[str, frozenset[str]]:
    pairs = keys.items() if isinstance(keys, Mapping) else ((k, DEFAULT_PERMISSIONS) for k in keys)
    out: dict[str, frozenset[str]] = {}
    for key, permissions in pairs:
        match = KEY_PATTERN.match(key)
        if match is None or match.group(1) != "test":
            raise ValueError(f"sandbox keys are wg_test_ keys (letters, digits, '_' and '-'), not {key[:12]!r}...")
        granted = frozenset(permissions)
        if not granted <= DEFAULT_PERMISSIONS:
            raise ValueError(f"unknown permissions {sorted(granted - DEFAULT_PERMISSIONS)}; known: billing:read, billing:write")
        out[key] = granted
    return out


def _endpoint(billing: Billing, gate: Gate, by_method: dict[str, Endpoint]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        chosen = by_method[request.method if request.method != "HEAD" else "GET"]
        body = await request.body()
        root = pages.root_of(request)
        incoming = Incoming(
            method=chosen.method, path=chosen.path.format(**request.path_params),
            params={k: str(v) for k, v in request.path_params.items()}, query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()}, body=body, root=root,
        )
        return await run_in_threadpool(process, billing, gate, chosen, incoming)

    return endpoint


def create_wallgent_app(
    *,
    keys: Mapping[str, Iterable[str]] | Iterable[str] = (),
    clock: Clock = time.time,
    rate_limit: bool = True,
    db_path: str = ":memory:",
    registry: Registry | None = None,
) -> Starlette:
    """Build the Wallgent sandbox (ready at once, no lifespan, so ``httpx.ASGITransport`` works).

    ``keys`` configures test keys and their permissions (``{"wg_test_readonly": ["billing:read"]}``, or
    a list of keys with both permissions); ``wg_test_sandbox`` exists from the start and any other
    ``wg_test_`` key becomes an account on first use. ``clock`` returns Unix seconds and drives billing
    periods, rate windows and idempotency retention. ``rate_limit=False`` turns the per-plan limits off.
    ``db_path`` is a SQLite file (kept across restarts) or ``":memory:"``. ``registry`` (default: the loaded
    Wallgent registry) decides the API's methods and paths; the ``/v1/sandbox/...`` controls are the
    sandbox's own. The state is at ``app.state.wallgent``; ``app.state.wallgent.check_invariants()``
    verifies the ledger.

    Example:
        >>> app = create_wallgent_app(keys={"wg_test_readonly": ["billing:read"]}, rate_limit=False)
        >>> app.state.wallgent.check_invariants()
        >>> create_wallgent_app(keys=["wg_live_x"])
        Traceback (most recent call last):
        ValueError: sandbox keys are wg_test_ keys (letters, digits, '_' and '-'), not 'wg_live_x'...
    """
    permissions = _key_permissions(keys)
    billing = Billing(clock=clock, db_path=db_path)
    billing.account(DEFAULT_KEY)
    gate = Gate(permissions, limited=rate_limit, clock=billing.now)
    by_path: dict[str, dict[str, Endpoint]] = {}
    for ep in endpoints(registry):  # the registry's operations on their declared paths, then the sandbox controls
        by_path.setdefault(ep.path, {})[ep.method] = ep
    routes: list[BaseRoute] = [Route(path, _endpoint(billing, gate, by_path[path]), methods=list(by_path[path]))
                               for path in sorted(by_path, key=route_order)]
    routes.extend(pages.routes(billing))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        root_path, path = str(request.scope.get("root_path", "")), request.url.path
        if not path.removeprefix(root_path).startswith("/v1/"):
            return PlainTextResponse(str(exc.detail), exc.status_code, dict(exc.headers or {}))
        if exc.status_code == 405:
            err = WallgentError(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed on this path.",
                                headers=dict(exc.headers or {}))
        else:
            err = WallgentError(exc.status_code, "NOT_FOUND" if exc.status_code == 404 else "HTTP_ERROR",
                                "No such endpoint." if exc.status_code == 404 else str(exc.detail))
        return json_response(err.status, err.body(), err.headers)

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.state.wallgent = billing
    return app


def wallgent_sandbox(
    *,
    wallgent_keys: Mapping[str, Iterable[str]] | Iterable[str] = (),
    clock: Clock = time.time,
    rate_limit: bool | RateLimits = True,
    db_path: str = ":memory:",
) -> ProviderSandbox:
    """The Wallgent sandbox as ``agent_billing.sandbox.create_app`` mounts it: at ``/wallgent``.

    ``wallgent_keys`` are the ``keys`` of :func:`create_wallgent_app`; any ``rate_limit`` but ``False``
    keeps the per-plan limits; a ledger file ``db_path`` gets a Wallgent file beside it
    (``<db_path>.wallgent``).

    Example:
        >>> part = wallgent_sandbox(wallgent_keys=["wg_test_other"], rate_limit=False)
        >>> part.mount, part.banner("http://127.0.0.1:8787")
        ('/wallgent', ['  Wallgent API     http://127.0.0.1:8787/wallgent/v1'])
        >>> part.check_invariants(); part.close()
    """
    app = create_wallgent_app(keys=wallgent_keys, clock=clock, rate_limit=rate_limit is not False,
                              db_path=db_path if db_path == ":memory:" else db_path + ".wallgent")
    billing: Billing = app.state.wallgent
    api = get_registry("wallgent").connection.sandbox_path
    return ProviderSandbox(app=app, mount="/wallgent", banner=lambda root: [f"  Wallgent API     {root}{api}"],
                           check_invariants=billing.check_invariants, close=billing.close)
