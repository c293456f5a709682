"""The ``/v1`` JSON endpoints: authentication, permissions, per-tier rate limits, idempotency, body checks.

Every request goes through :func:`process` in this order: the key (401 ``UNAUTHORIZED``, 403
``ENVIRONMENT_MISMATCH`` for ``wg_live_``), the plan's read or write limit (429
``RATE_LIMIT_EXCEEDED``), the key's permission (403 ``PERMISSION_DENIED``), due renewals, the body
(400 ``VALIDATION_ERROR`` for bad JSON, too deep JSON, a non-object, unknown or wrong fields), the
``Idempotency-Key`` (replay, or 409 ``IDEMPOTENCY_KEY_REUSE``), then the operation. The
``/v1/sandbox/...`` controls skip the limits and permissions.

The routes are the Wallgent registry's operations (:func:`endpoints`), each answered by the
:data:`HANDLERS` entry of its name, plus the sandbox-only controls.

Example:
    >>> sorted(HANDLERS) == sorted(op.name for op in get_registry("wallgent"))
    True
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from starlette.responses import Response

from agent_billing import wire
from agent_billing.money import to_decimal
from agent_billing.providers.wallgent.sandbox.billing import Billing, announce, snapshot
from agent_billing.providers.wallgent.sandbox.errors import WallgentError, validation_error, validation_errors
from agent_billing.providers.wallgent.sandbox.plans import PLANS
from agent_billing.providers.wallgent.sandbox.store import Account
from agent_billing.registry import Registry, get_registry
from agent_billing.sandbox.idempotency import RETENTION_SECONDS, fingerprint
from agent_billing.sandbox.rate_limit import RateLimiter, RateLimits

READ, WRITE = "billing:read", "billing:write"
DEFAULT_PERMISSIONS = frozenset({READ, WRITE})
KEY_PATTERN = re.compile(r"^wg_(test|live)_[A-Za-z0-9_-]{1,200}$")
MAX_BODY_BYTES = 64_000  # the largest body any endpoint takes is a few hundred bytes


def json_response(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    """A compact JSON response (Wallgent sends bodies bare, amounts as strings).

    Example:
        >>> json_response(200, {"ok": True}).body
        b'{"ok":true}'
    """
    return Response(json.dumps(body, separators=(",", ":")).encode(), status, dict(headers or {}),
                    media_type="application/json")


# -- body fields --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One body field: how to read it, and whether it must be there.

    Example:
        >>> Field(choice("WALLET", "CARD"), required=True).parse("CARD")
        'CARD'
    """

    parse: Callable[[Any], Any]
    required: bool = False


def choice(*values: str) -> Callable[[Any], str]:
    """A reader that accepts exactly one of ``values``.

    Example:
        >>> choice("WALLET", "CARD")("card")
        Traceback (most recent call last):
        ValueError: must be one of WALLET, CARD
    """

    def parse(value: Any) -> str:
        if value not in values:
            raise ValueError(f"must be one of {', '.join(values)}")
        return str(value)

    return parse


def text(value: Any) -> str:
    """A non-empty string of at most 255 characters.

    Example:
        >>> text("pm_card_visa"), text("a" * 10)
        ('pm_card_visa', 'aaaaaaaaaa')
    """
    if not isinstance(value, str) or not 1 <= len(value) <= 255:
        raise ValueError("must be a string of 1 to 255 characters")
    return value


def flag(value: Any) -> bool:
    """A JSON boolean.

    Example:
        >>> flag(True)
        True
    """
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def amount(value: Any) -> Decimal:
    """A decimal string amount (``"500.00"``) from 0 to 1,000,000 with at most two decimals.

    Example:
        >>> amount("12.5")
        Decimal('12.5')
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError('must be a decimal string such as "100.00"')
    result = to_decimal(value)
    if not Decimal(0) <= result <= Decimal(1_000_000):
        raise ValueError("must be from 0.00 to 1000000.00")
    return result


def seconds(value: Any) -> int:
    """Whole seconds, from 1 up to ten years.

    Example:
        >>> seconds(86400)
        86400
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10 * 366 * 86_400:
        raise ValueError("must be a whole number of seconds from 1 to ten years")
    return value


def read_fields(body: Mapping[str, Any], fields: Mapping[str, Field]) -> dict[str, Any]:
    """The body's fields, read; every problem reported at once (unknown fields included).

    An explicit ``null`` is kept as ``None`` (for a required field it is missing).

    Example:
        >>> read_fields({"plan": "STARTER", "extra": 1}, {"plan": Field(text, required=True)})
        Traceback (most recent call last):
        agent_billing.providers.wallgent.sandbox.errors.WallgentError: extra: unknown field
    """
    errors = [{"field": str(name), "message": "unknown field"} for name in body if name not in fields]
    out: dict[str, Any] = {}
    for name, spec in fields.items():
        if body.get(name) is None:
            if spec.required:
                errors.append({"field": name, "message": "required"})
            elif name in body:
                out[name] = None
            continue
        try:
            out[name] = spec.parse(body[name])
        except ValueError as exc:
            errors.append({"field": name, "message": str(exc)})
    if errors:
        raise validation_errors(errors)
    return out


def positive_int(query: Mapping[str, str], name: str, default: int, high: int) -> int:
    """A query parameter as an integer from 1 to ``high``.

    Example:
        >>> positive_int({"limit": "101"}, "limit", 20, 100)
        Traceback (most recent call last):
        agent_billing.providers.wallgent.sandbox.errors.WallgentError: limit: must be an integer from 1 to 100
    """
    raw = query.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw) or not 1 <= int(raw) <= high:
        raise validation_error(name, f"must be an integer from 1 to {high}")
    return int(raw)


# -- endpoints ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """What a handler gets: the state, the caller's account, the read body, query and path parameters.

    ``root`` is the URL the Wallgent app is reached at (``http://127.0.0.1:8787/wallgent``).
    """

    billing: Billing
    account: Account
    body: dict[str, Any]
    query: dict[str, str]
    params: dict[str, str]
    root: str


@dataclass(frozen=True)
class Endpoint:
    """One method on one path: the handler, its body fields, whether it is a sandbox-only control.

    Example:
        >>> Endpoint("GET", "/v1/billing", HANDLERS["get_billing"].run).permission
        'billing:read'
        >>> Endpoint("POST", "/v1/sandbox/advance", lambda c: {}, sandbox=True).permission
        'billing:write'
    """

    method: str
    path: str
    handler: Callable[[Call], dict[str, Any]]
    fields: Mapping[str, Field] = field(default_factory=dict)
    sandbox: bool = False

    @property
    def permission(self) -> str:
        """``billing:read`` for reads, ``billing:write`` for everything else."""
        return READ if self.method == "GET" else WRITE


PLAN = Field(text, required=True)
CARD_OR_WALLET = {"paymentMethod": Field(choice("WALLET", "CARD"), required=True), "stripePaymentMethodId": Field(text)}


def _invoices(c: Call) -> dict[str, Any]:
    page = positive_int(c.query, "page", 1, 1_000_000)
    return c.billing.invoices(c.account, page, positive_int(c.query, "limit", 20, 100))


def _subscribe(c: Call) -> dict[str, Any]:
    return c.billing.subscribe(c.account, c.body["plan"], c.body["paymentMethod"], c.body.get("stripePaymentMethodId"))


def _change_payment_method(c: Call) -> dict[str, Any]:
    return c.billing.change_payment_method(c.account, c.body["paymentMethod"], c.body.get("stripePaymentMethodId"))


def _complete(c: Call) -> dict[str, Any]:
    pm_id = c.body.get("paymentMethodId") or "pm_card_visa"
    return c.billing.complete_checkout(c.params["session_id"], pm_id, account_id=c.account.id)


def scale(value: Any) -> float:
    """A number from 0 to 1 (how much of the retry schedule to wait).

    Example:
        >>> scale(0.01)
        0.01
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError("must be a number from 0 to 1")
    return float(value)


@dataclass(frozen=True)
class Handler:
    """How the sandbox answers one declared operation: the handler and the body fields it reads.

    The method and path are the operation's own (from the registry), so they are never written twice.

    Example:
        >>> sorted(HANDLERS["subscribe"].fields)
        ['paymentMethod', 'plan', 'stripePaymentMethodId']
    """

    run: Callable[[Call], dict[str, Any]]
    fields: Mapping[str, Field] = field(default_factory=dict)


# One handler per operation of ``operations.py``, by its name.
HANDLERS: dict[str, Handler] = {
    "get_billing": Handler(lambda c: c.billing.view(c.account)),
    "subscribe": Handler(_subscribe, {"plan": PLAN, **CARD_OR_WALLET}),
    "create_checkout": Handler(
        lambda c: {"url": f"{c.root}/checkout/{c.billing.start_checkout(c.account, c.body['plan']).id}"}, {"plan": PLAN}),
    "change_plan": Handler(lambda c: c.billing.change_plan(c.account, c.body["plan"]), {"plan": PLAN}),
    "cancel": Handler(lambda c: c.billing.cancel(c.account)),
    "change_payment_method": Handler(_change_payment_method, CARD_OR_WALLET),
    "create_setup_intent": Handler(lambda c: c.billing.setup_intent()),
    "save_payment_method": Handler(lambda c: c.billing.save_payment_method(c.account, c.body["paymentMethodId"]),
                                   {"paymentMethodId": Field(text, required=True)}),
    "remove_payment_method": Handler(lambda c: c.billing.remove_payment_method(c.account)),
    "retry_payment": Handler(lambda c: c.billing.retry_payment(c.account)),
    "create_portal_session": Handler(lambda c: {"url": f"{c.root}/portal/{c.billing.start_portal(c.account).id}"}),
    "list_invoices": Handler(_invoices),
    "get_invoice": Handler(lambda c: c.billing.invoice(c.account, c.params["invoice_id"])),
}

# Sandbox-only controls, not in Wallgent's API (so not in the registry): their paths are the sandbox's own.
SANDBOX_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/v1/sandbox/wallet", lambda c: c.billing.wallet_view(c.account), sandbox=True),
    Endpoint("POST", "/v1/sandbox/wallet", lambda c: c.billing.set_wallet(c.account, c.body["balance"]),
             {"balance": Field(amount, required=True)}, sandbox=True),
    Endpoint("POST", "/v1/sandbox/policy", lambda c: c.billing.set_policy(c.account, c.body),
             {"requireHumanApproval": Field(flag), "maxTransactionAmount": Field(amount)}, sandbox=True),
    Endpoint("POST", "/v1/sandbox/advance", lambda c: c.billing.advance(c.account, c.body.get("seconds")),
             {"seconds": Field(seconds)}, sandbox=True),
    Endpoint("POST", "/v1/sandbox/fail-next-renewal", lambda c: c.billing.fail_next_renewal(c.account), sandbox=True),
    Endpoint("POST", "/v1/sandbox/checkout/{session_id}/complete", _complete,
             {"paymentMethodId": Field(text)}, sandbox=True),
    Endpoint("POST", "/v1/sandbox/webhooks", lambda c: _register_webhook(c.billing, c.body),
             {"url": Field(text, required=True), "secret": Field(text, required=True), "retryScale": Field(scale)},
             sandbox=True),
)


def endpoints(registry: Registry | None = None) -> tuple[Endpoint, ...]:
    """Every route: each declared operation on its declared method and path, then the sandbox controls.

    ``registry`` defaults to the loaded Wallgent registry; an operation without a handler fails loudly.

    Example:
        >>> [f"{e.method} {e.path}" for e in endpoints()][:3]
        ['GET /v1/billing', 'POST /v1/billing/subscribe', 'POST /v1/billing/checkout']
    """
    registry = registry or get_registry("wallgent")
    missing = [op.name for op in registry if op.name not in HANDLERS]
    if missing:
        raise RuntimeError(f"the Wallgent sandbox has no handler for: {', '.join(missing)}")
    declared = tuple(Endpoint(op.method, registry.base_path + op.path, HANDLERS[op.name].run, HANDLERS[op.name].fields)
                     for op in registry)
    return declared + SANDBOX_ENDPOINTS


def _register_webhook(billing: Billing, body: Mapping[str, Any]) -> dict[str, Any]:
    try:
        endpoint = billing.webhooks.register(body["url"], body["secret"], retry_scale=body.get("retryScale") or 1.0)
    except ValueError as exc:
        raise validation_error("url", str(exc)) from None
    return {"url": endpoint.url, "retryDelays": list(endpoint.delays), "header": "Wallgent-Signature"}


# -- the request pipeline -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    """The parts of an HTTP request the pipeline reads (so it runs in a worker thread, off the event loop)."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    root: str


class Gate:
    """Who may call: configured keys and their permissions, and the per-plan rate limiters.

    Any ``wg_test_`` key is an account with both permissions unless configured otherwise.

    Example:
        >>> gate = Gate({"wg_test_readonly": ["billing:read"]}, limited=False, clock=lambda: 0.0)
        >>> sorted(gate.permissions("wg_test_readonly")), sorted(gate.permissions("wg_test_other"))
        (['billing:read'], ['billing:read', 'billing:write'])
    """

    def __init__(self, keys: Mapping[str, frozenset[str]], *, limited: bool, clock: Callable[[], float]) -> None:
        self._permissions = dict(keys)
        self._limiters = {name: RateLimiter(RateLimits({"write": plan.write_rpm, "read": plan.read_rpm}, window_seconds=60),
                                            clock=clock) for name, plan in PLANS.items()} if limited else None

    def permissions(self, key: str) -> frozenset[str]:
        """The permissions of a test key."""
        return self._permissions.get(key, DEFAULT_PERMISSIONS)

    def limit(self, acct: Account, *, write: bool) -> dict[str, str]:
        """Count a request against the plan's read or write limit: the headers, or 429 ``RATE_LIMIT_EXCEEDED``."""
        if self._limiters is None:
            return {}
        decision = self._limiters[acct.plan].hit(f"account:{acct.id}", "write" if write else "read")
        headers = {k: v for k, v in decision.headers().items() if k != "X-RateLimit-Limiter"}
        if not decision.allowed:
            kind = "write" if write else "read"
            raise WallgentError(429, "RATE_LIMIT_EXCEEDED", f"{acct.plan} allows {decision.limit} {kind} requests a "
                                f"minute; retry in {decision.retry_after} s.",
                                {"limit": decision.limit, "retryAfter": decision.retry_after, "plan": acct.plan}, headers)
        return headers


def authenticate(headers: Mapping[str, str]) -> str:
    """The test key of the ``Authorization: Bearer`` header (401 ``UNAUTHORIZED``, 403 ``ENVIRONMENT_MISMATCH``).

    Example:
        >>> authenticate({"authorization": "Bearer wg_test_sandbox"})
        'wg_test_sandbox'
        >>> authenticate({"authorization": "Bearer wg_live_abc"})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        agent_billing.providers.wallgent.sandbox.errors.WallgentError: This is the sandbox: a wg_live_ key ...
    """
    scheme, _, key = headers.get("authorization", "").strip().partition(" ")
    match = KEY_PATTERN.match(key.strip()) if scheme.lower() == "bearer" else None
    if match is None:
        raise WallgentError(401, "UNAUTHORIZED", "Missing or invalid API key: send Authorization: Bearer wg_test_...")
    if match.group(1) == "live":
        raise WallgentError(403, "ENVIRONMENT_MISMATCH", "This is the sandbox: a wg_live_ key belongs to production. "
                            "Use a wg_test_ key.")
    return key.strip()


def _json_object(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_BODY_BYTES:
        raise validation_error("body", f"larger than {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        return {}
    try:
        value = wire.loads(raw)
    except ValueError as exc:
        raise validation_error("body", f"not valid JSON ({str(exc)[:120]})") from None
    if not isinstance(value, dict):
        raise validation_error("body", "must be a JSON object")
    return value


def _idempotency_key(headers: Mapping[str, str]) -> str | None:
    key = headers.get("idempotency-key")
    if key is not None and (not 1 <= len(key) <= 255 or not all(33 <= ord(ch) <= 126 for ch in key)):
        raise validation_error("Idempotency-Key", "must be 1 to 255 printable ASCII characters without spaces")
    return key


def process(billing: Billing, gate: Gate, endpoint: Endpoint, req: Incoming) -> Response:
    """Answer one API request (see the module docstring for the order of checks).

    Example:
        >>> billing = Billing(clock=lambda: 1_815_000_000.0)
        >>> gate = Gate({}, limited=True, clock=billing.now)
        >>> req = Incoming("GET", "/v1/billing", {}, {}, {"authorization": "Bearer wg_test_sandbox"}, b"", "http://x")
        >>> r = process(billing, gate, endpoints()[0], req)
        >>> r.status_code, r.headers["x-ratelimit-limit"], json.loads(r.body)["plan"]
        (200, '60', 'FREE')
    """
    rate_headers: dict[str, str] = {}
    try:
        key = authenticate(req.headers)
        with billing.lock:
            acct = billing.account(key)
            if not endpoint.sandbox:
                rate_headers = gate.limit(acct, write=endpoint.method != "GET")
                if endpoint.permission not in gate.permissions(key):
                    raise WallgentError(403, "PERMISSION_DENIED", f"This API key lacks the {endpoint.permission} "
                                        "permission.", {"required": endpoint.permission})
                billing.count_call(acct)
            before = snapshot(billing, acct.id)  # webhooks: what this request (renewals included) changes
            try:
                return _answer(billing, endpoint, req, billing.settle(acct.id), rate_headers)
            finally:
                announce(billing, acct.id, before)
    except WallgentError as exc:
        return json_response(exc.status, exc.body(), {**rate_headers, **exc.headers})


def _answer(billing: Billing, endpoint: Endpoint, req: Incoming, acct: Account, rate_headers: dict[str, str]) -> Response:
    """The body checks, idempotency and the operation of :func:`process`, for an authenticated account."""
    raw = _json_object(req.body) if req.method != "GET" else {}
    fields = read_fields(raw, endpoint.fields)
    idem = _idempotency_key(req.headers) if req.method != "GET" else None
    digest = fingerprint(req.method, req.path, sorted(req.query.items()), raw)
    if idem is not None:
        stored = billing.store.stored_response(acct.id, idem, not_before=billing.now() - RETENTION_SECONDS)
        if stored is not None and stored[0] != digest:
            raise WallgentError(409, "IDEMPOTENCY_KEY_REUSE", "This Idempotency-Key was used with a different "
                                "request; use a new key for a new request.")
        if stored is not None:
            return Response(stored[2], stored[1], {**rate_headers, "Idempotent-Replayed": "true"},
                            media_type="application/json")
    call = Call(billing, acct, fields, req.query, req.params, req.root)
    try:
        status, body = 200, endpoint.handler(call)
    except WallgentError as exc:
        status, body = exc.status, exc.body()
    encoded = json.dumps(body, separators=(",", ":")).encode()
    if idem is not None and status < 500:
        billing.store.store_response(acct.id, idem, digest, status, encoded, now=billing.now())
    return Response(encoded, status, rate_headers, media_type="application/json")
