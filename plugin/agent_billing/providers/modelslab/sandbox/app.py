"""The ModelsLab sandbox as an ASGI application: API routes, Stripe tokenization, checkout, documents.

The API routes are derived from the operation registry: each ``Operation`` is mounted at
``registry.base_path + op.path`` with ``op.method`` and dispatched to the handler registered under
``op.name``. Construction fails if any operation lacks a handler, so the client (also derived from the
registry) and the sandbox cannot disagree on a path. Literal paths are tried before parameterised
ones (``/subscriptions/plans`` before ``/subscriptions/{subscription_id}``). :func:`modelslab_sandbox` is what
``agent_billing.sandbox.create_app`` calls (the registry's ``Connection.sandbox_app``); it serves at
the root.

Example:
    >>> app = modelslab_sandbox(tokens=("sk_test_1",)).app
    >>> any(getattr(r, "path", "") == "/api/agents/v1/wallet/fund" for r in app.routes)
    True
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from agent_billing.providers.modelslab.sandbox import checkout, controls, documents, stripe_api
from agent_billing.providers.modelslab.sandbox.dispatch import Handler, load_handlers
from agent_billing.providers.modelslab.sandbox.envelope import ApiError, error_response, json_response
from agent_billing.providers.modelslab.sandbox.pipeline import Incoming, handle
from agent_billing.providers.modelslab.sandbox.state import Sandbox
from agent_billing.providers.modelslab.scopes import check_scopes
from agent_billing.registry import Operation, Registry, get_registry
from agent_billing.sandbox.app import ProviderSandbox, openapi_route, route_order
from agent_billing.sandbox.faults import FaultInjector, Refusal, eligible
from agent_billing.sandbox.rate_limit import RateLimits
from agent_billing.sandbox.store import mask_token, token_digest
from agent_billing.sandbox.units import Clock, request_id

PROVIDER = "modelslab"
DEMO_TOKEN = "sk_sandbox_demo"
MAX_BODY_BYTES = 1_000_000  # no operation takes more than a few hundred bytes
logger = logging.getLogger("agent_billing.sandbox")


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


def refuse(refusal: Refusal) -> Response:
    """An injected fault's refusal in this API's envelope: 500 ``server_error``, 429 ``rate_limited``.

    Example:
        >>> r = refuse(Refusal("rate_limit", 429, "Retry later.", {"Retry-After": "1"}, retry_after=1))
        >>> r.status_code, r.headers["retry-after"], b'"code":"rate_limited"' in r.body
        (429, '1', True)
    """
    code = "rate_limited" if refusal.status == 429 else "server_error"
    details = {"retry_after": refusal.retry_after} if refusal.retry_after is not None else {}
    return error_response(ApiError(refusal.status, code, refusal.message, details, headers=refusal.headers),
                          request_id())


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
            try:
                return await sandbox.writer.run(handle, sandbox, op, handlers[op.name], incoming, limited=limited)
            except Exception:  # the batch's commit failed: nothing of this request stands
                logger.exception("sandbox commit failed in %s", op.name)
                return error_response(ApiError(500, "server_error", "The sandbox could not save this request; "
                                               "nothing was changed. Retry it with the same Idempotency-Key."),
                                      request_id())

        if faults is not None and eligible(op):
            return await faults.apply(op, request, respond)
        return await respond()

    return endpoint


def api_routes(sandbox: Sandbox, registry: Registry, handlers: dict[str, Handler],
               faults: FaultInjector | None = None) -> list[Route]:
    """One route per distinct path of the registry (its methods dispatch to their operations).

    ``faults`` (see ``agent_billing.sandbox.faults``) misbehaves around money-moving operations.

    Example:
        >>> sandbox, registry = modelslab_sandbox().app.state.sandbox, get_registry(PROVIDER)
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
    for path in sorted(by_path, key=route_order):
        ops = by_path[path]
        routes.append(Route(registry.base_path + path, _endpoint(sandbox, ops, handlers, limited=True, faults=faults),
                            methods=list(ops)))
    return routes


def control_routes(sandbox: Sandbox) -> list[Route]:
    """The sandbox-only control endpoints (same pipeline, not rate limited).

    Example:
        >>> routes = control_routes(modelslab_sandbox().app.state.sandbox)
        >>> routes[0].path, routes[-1].path, len(routes)
        ('/sandbox/usage', '/sandbox/ledger/check', 4)
    """
    routes = []
    for op in controls.CONTROL_OPERATIONS:
        endpoint = _endpoint(sandbox, {op.method: op}, controls.CONTROL_HANDLERS, limited=False)
        routes.append(Route(op.path, endpoint, methods=[op.method]))
    routes.append(controls.ledger_check_route(sandbox))
    return routes


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


def _http_errors(registry: Registry) -> Callable[[Request, Exception], Awaitable[Response]]:
    """Unrouted requests: the API's envelope under its base path, Stripe's shape under ``/v1/``, else text."""

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

    return http_error


def modelslab_sandbox(
    *,
    tokens: Iterable[str] = (DEMO_TOKEN,),
    reseller_tokens: Iterable[str] = (),
    db_path: str = ":memory:",
    rate_limit: bool | RateLimits = True,
    clock: Clock = time.time,
    checkout_ttl_seconds: float = 1800,
    faults: str | Mapping[str, float] | None = None,
    fault_seed: int | None = None,
    fault_delay_seconds: float = 30.0,
    scoped_tokens: Mapping[str, Iterable[str]] | None = None,
) -> ProviderSandbox:
    """The ModelsLab sandbox, served at the root (``agent_billing.sandbox.create_app`` serves it with the others).

    ``tokens`` are the access tokens of standard accounts, ``reseller_tokens`` those of reseller
    accounts (the only ones allowed to withdraw); each token has its own account. ``db_path`` is a
    SQLite file (kept across restarts) or ``":memory:"``. ``rate_limit`` is ``True`` for the documented
    limits, ``False`` for none, or a :class:`RateLimits`. ``clock`` returns Unix seconds and drives rate
    windows, checkout expiry, subscription periods and idempotency retention. ``faults``
    (``"kind=probability,..."``), ``fault_seed`` and ``fault_delay_seconds`` turn on fault injection
    around money-moving requests (see ``agent_billing.sandbox.faults``; off by default).
    ``scoped_tokens`` maps more standard-account tokens to their ModelsLab scopes (``wallet:read``...): a
    call outside them gets 403 ``insufficient_scope`` naming the missing scope.

    Its app's state (and the composed app's) is at ``app.state.sandbox``;
    ``app.state.sandbox.ledger.check_invariants()`` verifies the ledger.

    Example:
        >>> import asyncio, httpx
        >>> part = modelslab_sandbox(tokens=("sk_sandbox_demo", "sk_test_1"), rate_limit=False)
        >>> part.mount, [line.split()[0] for line in part.banner("http://127.0.0.1:8787")]
        ('', ['provider', 'API', 'root', 'publishable', 'accounts', 'ledger', 'rate', 'try'])
        >>> part.check_invariants()
        >>> app = part.app
        >>> async def balance() -> str:
        ...     transport = httpx.ASGITransport(app=app)
        ...     async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        ...         r = await client.get("/api/agents/v1/wallet/balance", headers={"Authorization": "Bearer sk_test_1"})
        ...         return r.text
        >>> '"balance":0.00' in asyncio.run(balance())
        True
        >>> part.close()
    """
    tokens = list(tokens)
    injector = (FaultInjector(faults, refuse=refuse, seed=fault_seed, delay_seconds=fault_delay_seconds)
                if faults else None)
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
        _index(sandbox, registry),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_errors(registry)})
    app.state.sandbox = sandbox
    app.state.faults = injector
    resellers = list(reseller_tokens)

    def banner(root: str) -> list[str]:
        limits = sandbox.limiter.limits if sandbox.limiter else None
        accounts = [f"{_shown_token(t)} (standard)" for t in tokens if t not in resellers]
        accounts += [f"{_shown_token(t)} (reseller)" for t in resellers]
        api = root + get_registry(PROVIDER).base_path
        lines = ["  provider         ModelsLab Agent Control Plane (offline)",
                 f"  API base URL     {api}",
                 f"  root             {root}  (hosted checkout, invoices, Stripe tokenization at {root}/v1)",
                 f"  publishable key  {sandbox.publishable_key}",
                 f"  accounts         {', '.join(accounts)}",
                 f"  ledger           {db_path}",
                 "  rate limits      " + (", ".join(f"{name} {n}" for name, n in limits.classes.items()) +
                                          f" per {limits.window_seconds:g} s" if limits else "off")]
        if DEMO_TOKEN in tokens:
            lines.append(f"  try              curl -H 'Authorization: Bearer {DEMO_TOKEN}' {api}/wallet/balance")
        return lines

    return ProviderSandbox(app=app, state={"sandbox": sandbox, "faults": injector}, banner=banner,
                           check_invariants=sandbox.ledger.check_invariants, close=sandbox.close)


def _shown_token(token: str) -> str:
    # The demo token is printed in every README and is no secret; a token the user chose may be one.
    return token if token == DEMO_TOKEN else mask_token(token)
