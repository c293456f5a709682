"""``create_tenex_app``: the 10ex sandbox as one Starlette app (API under ``/api/v1/payments``, portal pages beside it).

The API routes come from the 10ex registry (so a deployer's ``TENEX_PATHS`` moves the sandbox's paths
with the client's); each operation is answered by the handler of its name. The main sandbox mounts
this app at ``/tenex``, so the API base URL is ``<server>/tenex/api/v1/payments``.

Example:
    >>> import asyncio, httpx
    >>> app = create_tenex_app(clock=lambda: 1_815_000_000.0)
    >>> async def plan() -> dict[str, str]:
    ...     async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox",
    ...                                  headers={"Authorization": "Bearer tnx_sandbox"}) as client:
    ...         return (await client.get("/api/v1/payments/plans/current")).json()
    >>> body = asyncio.run(plan())
    >>> body["name"], body["soft_cap"], body["hard_cap"]
    ('Team', '80000', '100000')
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from agent_billing.providers.tenex.operations import BASE_PATH
from agent_billing.providers.tenex.sandbox.state import PLANS, TenexError, TenexState, Workspace, invalid
from agent_billing.providers.wallgent.sandbox.pages import root_of  # mount-aware, not Wallgent's own
from agent_billing.registry import Registry, get_registry
from agent_billing.sandbox.app import ProviderSandbox, route_order
from agent_billing.sandbox.units import Clock

DEFAULT_KEY = "tnx_sandbox"
KEY_PATTERN = re.compile(r"^tnx_[A-Za-z0-9_-]{1,200}$")
AGENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
MAX_BODY_BYTES = 64_000


def json_response(status: int, body: Mapping[str, Any] | list[Any]) -> Response:
    """A compact JSON response.

    Example:
        >>> json_response(200, {"ok": True}).body
        b'{"ok":true}'
    """
    return Response(json.dumps(body, separators=(",", ":")).encode(), status, media_type="application/json")


@dataclass(frozen=True)
class Call:
    """What a handler gets: the state, the caller's workspace, query, path parameters, body and root URL."""

    state: TenexState
    ws: Workspace
    query: dict[str, str]
    params: dict[str, str]
    body: dict[str, Any]
    root: str


def authenticate(headers: Mapping[str, str]) -> str:
    """The ``tnx_`` key of ``Authorization: Bearer`` (401 ``not_authenticated`` otherwise).

    Example:
        >>> authenticate({"authorization": "Bearer tnx_sandbox"})
        'tnx_sandbox'
        >>> authenticate({"authorization": "Bearer sk_live_1"}).startswith("tnx_")
        Traceback (most recent call last):
        agent_billing.providers.tenex.sandbox.state.TenexError: Not authenticated: send Authorization: Bearer tnx_...
    """
    scheme, _, key = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not KEY_PATTERN.match(key.strip()):
        raise TenexError(401, "not_authenticated", "Not authenticated: send Authorization: Bearer tnx_...")
    return key.strip()


def limit_of(query: Mapping[str, str]) -> int:
    """``?limit=``: 1 to 200, default 50 (422 otherwise).

    Example:
        >>> limit_of({}), limit_of({"limit": "200"})
        (50, 200)
    """
    raw = query.get("limit")
    if raw is None:
        return 50
    if not re.fullmatch(r"[0-9]{1,9}", raw):
        raise invalid(("query", "limit"), "Input should be a valid integer", "int_parsing")
    if not 1 <= int(raw) <= 200:
        kind = "greater_than_equal" if int(raw) < 1 else "less_than_equal"
        raise invalid(("query", "limit"), "Input should be from 1 to 200", kind)
    return int(raw)


def _agent_filter(query: Mapping[str, str]) -> str | None:
    agent_id = query.get("agent_id")
    if agent_id is not None and not AGENT_ID.match(agent_id):
        raise invalid(("query", "agent_id"), "Invalid agent id", "string_pattern_mismatch")
    return agent_id


def _credits(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise invalid(("body", "credits"), "Input should be a whole number or a decimal string", "decimal_type")
    try:
        credits = Decimal(value)
    except InvalidOperation:
        raise invalid(("body", "credits"), "Input should be a valid decimal", "decimal_parsing") from None
    exponent = credits.as_tuple().exponent
    if not isinstance(exponent, int) or exponent < -4 or not Decimal(0) < credits <= Decimal(1_000_000_000):
        raise invalid(("body", "credits"), "Input should be greater than 0 and at most 1e9, 4 decimals at most",
                      "value_error")
    return credits


def _fields(body: Mapping[str, Any], allowed: Mapping[str, type | tuple[type, ...]], required: tuple[str, ...] = ()) -> None:
    problems = [{"loc": ["body", name], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}
                for name in body if name not in allowed]
    problems += [{"loc": ["body", name], "msg": "Field required", "type": "missing"}
                 for name in required if body.get(name) is None]
    problems += [{"loc": ["body", name], "msg": "Input has the wrong type", "type": "type_error"}
                 for name, kinds in allowed.items() if body.get(name) is not None
                 and (not isinstance(body[name], kinds) or (isinstance(body[name], bool) and bool not in (
                     kinds if isinstance(kinds, tuple) else (kinds,))))]
    if problems:
        raise TenexError(422, None, problems)


def _post_usage(c: Call) -> dict[str, Any]:
    _fields(c.body, {"agent_id": str, "credits": (int, str), "description": str}, ("agent_id", "credits"))
    if not AGENT_ID.match(c.body["agent_id"]):
        raise invalid(("body", "agent_id"), "Invalid agent id", "string_pattern_mismatch")
    return c.state.post_usage(c.ws, c.body["agent_id"], _credits(c.body["credits"]), c.body.get("description"))


def _change_subscription(c: Call) -> dict[str, Any]:
    _fields(c.body, {"plan": str, "status": str, "cancel_at_period_end": bool})
    if c.body.get("plan") is not None and c.body["plan"] not in PLANS:
        raise invalid(("body", "plan"), f"Input should be one of {', '.join(PLANS)}", "enum")
    if c.body.get("status") is not None and c.body["status"] not in ("active", "trialing", "past_due", "canceled"):
        raise invalid(("body", "status"), "Input should be active, trialing, past_due or canceled", "enum")
    return c.state.change_subscription(c.ws, c.body.get("plan"), c.body.get("status"), c.body.get("cancel_at_period_end"))


def _register_webhook(c: Call) -> dict[str, Any]:
    _fields(c.body, {"url": str, "secret": str, "retry_scale": (int, float)}, ("url", "secret"))
    try:
        endpoint = c.state.webhooks.register(c.body["url"], c.body["secret"],
                                             retry_scale=float(c.body.get("retry_scale", 1.0)))
    except ValueError as exc:
        raise invalid(("body", "url" if "url" in str(exc) or "loopback" in str(exc) else "retry_scale"), str(exc),
                      "value_error") from None
    return {"url": endpoint.url, "retry_delays": list(endpoint.delays), "header": "X-10ex-Signature"}


def _webhook_log(c: Call) -> dict[str, Any]:
    endpoint = c.state.webhooks.endpoint
    return {"url": endpoint.url if endpoint else None, "retry_delays": list(endpoint.delays) if endpoint else [],
            "attempts": list(c.state.webhooks.attempts)}


def _portal(c: Call) -> dict[str, Any]:
    _fields(c.body, {"return_url": str})
    return c.state.portal_session(c.ws, c.root)


HANDLERS: dict[str, Callable[[Call], dict[str, Any]]] = {
    "get_subscription": lambda c: c.state.subscription(c.ws),
    "get_plan": lambda c: c.state.plan(c.ws),
    "get_usage": lambda c: c.state.usage(c.ws),
    "get_agent_usage": lambda c: c.state.agent_usage(c.ws, c.params["agent_id"]),
    "list_invoices": lambda c: c.state.invoices(c.ws, limit_of(c.query), c.query.get("cursor")),
    "get_invoice": lambda c: c.state.invoice(c.ws, c.params["invoice_id"]),
    "list_ledger": lambda c: c.state.ledger(c.ws, limit_of(c.query), c.query.get("cursor"), _agent_filter(c.query)),
    "create_portal_session": _portal,
}
# Sandbox-only (not in 10ex's API): what happens elsewhere, and the webhook receiver.
SANDBOX_ENDPOINTS: tuple[tuple[str, str, Callable[[Call], dict[str, Any]]], ...] = (
    ("POST", "/sandbox/usage", _post_usage),
    ("POST", "/sandbox/subscription", _change_subscription),
    ("POST", "/sandbox/renew", lambda c: c.state.renew(c.ws)),
    ("POST", "/sandbox/webhooks", _register_webhook),
    ("GET", "/sandbox/webhooks", _webhook_log),
)


def _body(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_BODY_BYTES:
        raise TenexError(413, "payload_too_large", f"The request body exceeds {MAX_BODY_BYTES} bytes.")
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise invalid(("body",), "JSON decode error", "json_invalid") from None
    if not isinstance(value, dict):
        raise invalid(("body",), "Input should be a valid dictionary or object", "model_type")
    return value


def _endpoint(state: TenexState, handlers: Mapping[str, Callable[[Call], dict[str, Any]]]
              ) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        handler = handlers[request.method if request.method != "HEAD" else "GET"]
        raw = await request.body()
        try:
            key = authenticate({k.lower(): v for k, v in request.headers.items()})
            body = _body(raw) if request.method not in ("GET", "HEAD") else {}
            with state.lock:
                call = Call(state, state.workspace(key), dict(request.query_params),
                            {k: str(v) for k, v in request.path_params.items()}, body, root_of(request))
                return json_response(200, handler(call))
        except TenexError as exc:
            return json_response(exc.status, exc.body())

    return endpoint


def _portal_page(state: TenexState) -> Callable[[Request], Awaitable[Response]]:
    async def page(request: Request) -> Response:
        session_id = str(request.path_params["session_id"])
        with state.lock:
            owner = next((ws for ws in state.workspaces() if session_id in ws.portal_sessions), None)
            if owner is None or owner.portal_sessions[session_id] < state.clock():
                return PlainTextResponse("This billing-portal session does not exist or has expired.", 404)
            sub = state.subscription(owner)
        e = html.escape
        return HTMLResponse(
            "<!doctype html><html lang=en><head><meta charset=utf-8><title>10ex billing portal (sandbox)</title></head>"
            f"<body><h1>10ex billing portal</h1><p>Sandbox. Plan <b>{e(sub['plan'])}</b>, status {e(sub['status'])}, "
            f"renews {e(str(sub['renews_at']))}.</p><p>In 10ex an admin upgrades, changes or cancels the plan here. "
            "In the sandbox, POST /api/v1/payments/sandbox/subscription stands for that.</p></body></html>")

    return page


def create_tenex_app(*, clock: Clock = time.time, registry: Registry | None = None,
                     webhook_sleep: Callable[[float], Any] | None = None) -> Starlette:
    """Build the 10ex sandbox (ready at once, no lifespan, so ``httpx.ASGITransport`` works).

    Any ``tnx_`` key is a workspace, seeded on first use (see ``state.py``). ``clock`` returns Unix
    seconds. ``registry`` (default: the loaded 10ex registry, ``TENEX_PATHS`` included) decides the
    paths. ``webhook_sleep`` replaces ``time.sleep`` between webhook retries (tests pass a recorder).
    The state is at ``app.state.tenex``.

    Example:
        >>> app = create_tenex_app()
        >>> sorted(r.path for r in app.routes if getattr(r, "path", "").endswith("usage"))
        ['/api/v1/payments/credits/usage', '/api/v1/payments/sandbox/usage']
    """
    registry = registry or get_registry("tenex")
    missing = [op.name for op in registry if op.name not in HANDLERS]
    if missing:
        raise RuntimeError(f"the 10ex sandbox has no handler for: {', '.join(missing)}")
    state = TenexState(clock=clock, webhook_sleep=webhook_sleep)
    by_path: dict[str, dict[str, Callable[[Call], dict[str, Any]]]] = {}
    for op in registry:
        by_path.setdefault(registry.base_path + op.path, {})[op.method] = HANDLERS[op.name]
    for method, path, handler in SANDBOX_ENDPOINTS:
        by_path.setdefault(BASE_PATH + path, {})[method] = handler
    routes: list[BaseRoute] = [Route(path, _endpoint(state, by_path[path]), methods=list(by_path[path]))
                               for path in sorted(by_path, key=route_order)]
    routes.append(Route("/portal/{session_id}", _portal_page(state), methods=["GET"]))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        path = request.url.path.removeprefix(str(request.scope.get("root_path", "")))
        if not path.startswith(BASE_PATH):
            return PlainTextResponse(str(exc.detail), exc.status_code, dict(exc.headers or {}))
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return json_response(exc.status_code, {"detail": str(exc.detail), "code": code})

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.state.tenex = state
    return app


def tenex_sandbox(*, clock: Clock = time.time) -> ProviderSandbox:
    """The 10ex sandbox as ``agent_billing.sandbox.create_app`` mounts it: at ``/tenex``.

    Example:
        >>> part = tenex_sandbox(clock=lambda: 1_815_000_000.0)
        >>> part.mount, part.banner("http://127.0.0.1:8787")
        ('/tenex', ['  10ex API         http://127.0.0.1:8787/tenex/api/v1/payments'])
    """
    api = get_registry("tenex").connection.sandbox_path
    app = create_tenex_app(clock=clock)
    return ProviderSandbox(app=app, mount="/tenex", banner=lambda root: [f"  10ex API         {root}{api}"],
                           close=app.state.tenex.webhooks.close)
