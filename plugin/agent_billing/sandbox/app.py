"""``create_app``: the sandbox as an ASGI application, fully built at construction.

The API routes are derived from the operation registry: each ``Operation`` is mounted at
``registry.base_path + op.path`` with ``op.method`` and dispatched to the handler registered under
``op.name``. Construction fails if any operation lacks a handler, so the client (also derived from the
registry) and the sandbox cannot disagree on a path. Literal paths are tried before parameterised
ones (``/subscriptions/plans`` before ``/subscriptions/{subscription_id}``).

Example:
    >>> app = create_app(tokens=("sk_test_1",))
    >>> any(getattr(r, "path", "") == "/api/agents/v1/wallet/fund" for r in app.routes)
    True
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from agent_billing.openapi import openapi_document
from agent_billing.providers.modelslab.scopes import check_scopes
from agent_billing.registry import Operation, Registry, get_registry
from agent_billing.sandbox import checkout, controls, documents, stripe_api
from agent_billing.sandbox.dispatch import Handler, load_handlers
from agent_billing.sandbox.envelope import ApiError, error_response, json_response
from agent_billing.sandbox.faults import FaultInjector, eligible
from agent_billing.sandbox.ledger import token_digest
from agent_billing.sandbox.pipeline import Incoming, handle
from agent_billing.sandbox.rate_limit import RateLimits
from agent_billing.sandbox.state import Sandbox
from agent_billing.sandbox.units import Clock, request_id

PROVIDER = "modelslab"
MAX_BODY_BYTES = 1_000_000  # no operation takes more than a few hundred bytes


def _route_order(path: str) -> list[tuple[int, str]]:
    # Segment by segment, a literal segment sorts before a {parameter}, so literals win.
    return [(1 if seg.startswith("{") else 0, seg) for seg in path.strip("/").split("/")]


def _incoming(request: Request, body: bytes) -> Incoming:
    return Incoming(
        method=request.method,
        path=request.url.path,
        path_params={k: str(v) for k, v in request.path_params.items()},
        query=list(request.query_params.multi_items()),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        root_url=str(request.base_url).rstrip("/"),
        client=request.client.host if request.client else "unknown",
    )


def _endpoint(
    sandbox: Sandbox, ops: dict[str, Operation], handlers: dict[str, Handler], *, limited: bool,
    faults: FaultInjector | None = None,
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        op = ops[request.method if request.method != "HEAD" else "GET"]

        async def respond() -> Response:
            body = await request.body()
            if len(body) > MAX_BODY_BYTES:
                err = ApiError(413, "payload_too_large", f"The request body exceeds {MAX_BODY_BYTES} bytes.")
                return error_response(err, request_id())
            incoming = _incoming(request, body)
            return await run_in_threadpool(handle, sandbox, op, handlers[op.name], incoming, limited=limited)

        if faults is not None and eligible(op):
            return await faults.apply(op, request, respond)
        return await respond()

    return endpoint


def api_routes(sandbox: Sandbox, registry: Registry, handlers: dict[str, Handler],
               faults: FaultInjector | None = None) -> list[Route]:
    """One route per distinct path of the registry (its methods dispatch to their operations).

    ``faults`` (see ``agent_billing.sandbox.faults``) misbehaves around money-moving operations.

    Example:
        >>> sandbox, registry = create_app().state.sandbox, get_registry(PROVIDER)
        >>> paths = [r.path for r in api_routes(sandbox, registry, load_handlers())]
        >>> paths.index("/api/agents/v1/subscriptions/plans") < paths.index("/api/agents/v1/subscriptions/{subscription_id}")
        True
        >>> api_routes(sandbox, registry, {})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        RuntimeError: sandbox has no handler for operations: get_billing_overview, ...
    """
    missing = [op.name for op in registry if op.name not in handlers]
    if missing:
        raise RuntimeError(f"sandbox has no handler for operations: {', '.join(missing)}")
    by_path: dict[str, dict[str, Operation]] = {}
    for op in registry:
        by_path.setdefault(op.path, {})[op.method] = op
    routes = []
    for path in sorted(by_path, key=_route_order):
        ops = by_path[path]
        routes.append(Route(registry.base_path + path, _endpoint(sandbox, ops, handlers, limited=True, faults=faults),
                            methods=list(ops)))
    return routes


def control_routes(sandbox: Sandbox) -> list[Route]:
    """The sandbox-only control endpoints (same pipeline, not rate limited).

    Example:
        >>> routes = control_routes(create_app().state.sandbox)
        >>> routes[0].path, routes[-1].path, len(routes)
        ('/sandbox/usage', '/sandbox/ledger/check', 4)
    """
    routes = []
    for op in controls.CONTROL_OPERATIONS:
        endpoint = _endpoint(sandbox, {op.method: op}, controls.CONTROL_HANDLERS, limited=False)
        routes.append(Route(op.path, endpoint, methods=[op.method]))
    routes.append(controls.ledger_check_route(sandbox))
    return routes


def openapi_route(registry: Registry) -> Route:
    """``GET <base path>/openapi.json``: the OpenAPI 3.1 document of the registry (no token needed).

    Example:
        >>> route = openapi_route(get_registry(PROVIDER))
        >>> route.path, sorted(route.methods or ())
        ('/api/agents/v1/openapi.json', ['GET', 'HEAD'])
    """
    built: list[bytes] = []  # on first request (~50 ms), not in every create_app; the registry is fixed

    async def document(request: Request) -> Response:
        if not built:
            built.append(json.dumps(openapi_document(registry)).encode())
        return Response(built[0], media_type="application/json", headers={"Cache-Control": "no-cache"})

    return Route(registry.base_path + "/openapi.json", document, methods=["GET"])


def _index(sandbox: Sandbox, registry: Registry) -> Route:
    async def index(request: Request) -> Response:
        root = str(request.base_url).rstrip("/")
        e = html.escape
        rows = "".join(f"<tr><td>{e(op.method)}</td><td><code>{e(registry.base_path + op.path)}</code></td>"
                       f"<td>{e(op.description)}</td></tr>" for op in registry)
        return HTMLResponse(
            "<!doctype html><html lang=en><head><meta charset=utf-8><title>agent-billing sandbox</title>"
            "<style>body{font-family:system-ui,sans-serif;max-width:960px;margin:32px auto;color:#1f2328}"
            "td{padding:3px 8px;border-bottom:1px solid #eee;font-size:14px}</style></head><body>"
            "<h1>agent-billing sandbox</h1><p>An offline ModelsLab Agent Control Plane. No real money moves.</p>"
            f"<p>API base URL: <code>{e(root + registry.base_path)}</code><br>Stripe API base (tokenization): "
            f"<code>{e(root)}</code>, publishable key <code>{e(sandbox.publishable_key)}</code></p>"
            f"<table>{rows}</table></body></html>")

    return Route("/", index, methods=["GET"])


def create_app(
    *,
    tokens: Iterable[str] = ("sk_sandbox_demo",),
    reseller_tokens: Iterable[str] = (),
    db_path: str = ":memory:",
    rate_limit: bool | RateLimits = True,
    clock: Clock = time.time,
    checkout_ttl_seconds: float = 1800,
    faults: str | Mapping[str, float] | None = None,
    fault_seed: int | None = None,
    fault_delay_seconds: float = 30.0,
    scoped_tokens: Mapping[str, Iterable[str]] | None = None,
    wallgent_keys: Mapping[str, Iterable[str]] | Iterable[str] = (),
) -> Starlette:
    """Build the sandbox ASGI app (ready at once: no lifespan needed, so ``httpx.ASGITransport`` works).

    ``tokens`` are the access tokens of standard accounts, ``reseller_tokens`` those of reseller
    accounts (the only ones allowed to withdraw); each token has its own account. ``db_path`` is a
    SQLite file (kept across restarts) or ``":memory:"``. ``rate_limit`` is ``True`` for the documented
    limits, ``False`` for none, or a :class:`RateLimits`. ``clock`` returns Unix seconds and drives rate
    windows, checkout expiry, subscription periods and idempotency retention. ``faults``
    (``"kind=probability,..."``), ``fault_seed`` and ``fault_delay_seconds`` turn on fault injection
    around money-moving requests (see ``agent_billing.sandbox.faults``; off by default).
    ``scoped_tokens`` maps more standard-account tokens to their ModelsLab scopes (``wallet:read``...): a
    call outside them gets 403 ``insufficient_scope`` naming the missing scope.
    The Wallgent sandbox is mounted at ``/wallgent`` (API base ``/wallgent/v1``); ``wallgent_keys`` are its
    extra ``wg_test_`` keys, optionally with permissions (see ``agent_billing.providers.wallgent.sandbox``).
    The 10ex sandbox is mounted at ``/tenex`` (API base ``/tenex/api/v1/payments``, any ``tnx_`` key; see
    ``agent_billing.providers.tenex.sandbox``).

    The sandbox state is at ``app.state.sandbox``; ``app.state.sandbox.ledger.check_invariants()``
    verifies the ledger.

    Example:
        >>> import httpx
        >>> app = create_app(tokens=("sk_test_1",), rate_limit=False)
        >>> async def balance() -> str:
        ...     transport = httpx.ASGITransport(app=app)
        ...     async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        ...         r = await client.get("/api/agents/v1/wallet/balance", headers={"Authorization": "Bearer sk_test_1"})
        ...         return r.text
        >>> import asyncio; '"balance":0.00' in asyncio.run(balance())
        True
    """
    # Imported here: the provider's sandbox builds on this package, so a top-level import would be circular.
    from agent_billing.providers.tenex.sandbox import create_tenex_app
    from agent_billing.providers.wallgent.sandbox import create_wallgent_app

    injector = FaultInjector(faults, seed=fault_seed, delay_seconds=fault_delay_seconds) if faults else None
    scoped = {token: check_scopes(scopes) for token, scopes in (scoped_tokens or {}).items()}
    sandbox = Sandbox(tokens=[*tokens, *scoped], reseller_tokens=reseller_tokens, db_path=db_path,
                      rate_limit=rate_limit, clock=clock, checkout_ttl_seconds=checkout_ttl_seconds)
    sandbox.token_scopes = {token_digest(token): scopes for token, scopes in scoped.items()}
    registry = get_registry(PROVIDER)
    handlers = load_handlers()
    routes: list[BaseRoute] = [
        openapi_route(registry),
        *api_routes(sandbox, registry, handlers, injector),
        *stripe_api.routes(sandbox),
        *checkout.routes(sandbox),
        *documents.routes(sandbox),
        *control_routes(sandbox),
        Mount("/wallgent", app=create_wallgent_app(keys=wallgent_keys, clock=clock, rate_limit=rate_limit is not False,
                                                   db_path=db_path if db_path == ":memory:" else db_path + ".wallgent")),
        Mount("/tenex", app=create_tenex_app(clock=clock)),
        _index(sandbox, registry),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if request.url.path.startswith(registry.base_path) or request.url.path.startswith("/sandbox/"):
            rid = request_id()
            if exc.status_code == 405:
                err = ApiError(405, "method_not_allowed", f"{request.method} is not allowed on this path.",
                               headers=dict(exc.headers or {}))
            else:
                err = ApiError(exc.status_code, "not_found" if exc.status_code == 404 else "http_error",
                               "No such endpoint." if exc.status_code == 404 else str(exc.detail))
            return error_response(err, rid)
        if request.url.path.startswith("/v1/"):  # the Stripe part answers in Stripe's error shape
            body = {"error": {"type": "invalid_request_error",
                              "message": f"Unrecognized request URL ({request.method}: {request.url.path}). The "
                              "sandbox serves only the tokenization endpoints of the Stripe API."}}
            return json_response(body, 404 if exc.status_code == 404 else exc.status_code)
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code, headers=dict(exc.headers or {}))

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.state.sandbox = sandbox
    app.state.faults = injector
    return app
