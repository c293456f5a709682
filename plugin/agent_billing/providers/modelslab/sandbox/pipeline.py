"""The request pipeline every API call goes through, in this order:

1. **auth**: ``Authorization: Bearer <token>`` or ``X-Agent-Token``; otherwise 401 ``unauthenticated``
   (after the limiter, a scoped token outside its scopes: 403 ``insufficient_scope``);
2. **rate limiter**: the operation's limiter (``agent-billing`` / ``agent-general``); 429 ``rate_limited``;
3. **parse**: path parameters + query string (GET, DELETE) or JSON body (read with ``wire.loads``, so
   amounts are ``Decimal``); bad JSON (also NaN, invalid UTF-8, nesting too deep, not an object) is 400
   ``validation_error``;
4. **card-data refusal**: raw card numbers, security codes or expiry dates anywhere in the arguments
   give 400 ``card_data_not_allowed`` (the message names the safe alternatives, never the digits);
5. **idempotency**: a stored response for the ``Idempotency-Key`` is replayed (see ``idempotency``);
6. **validation** with the operation's argument model: 400 ``validation_error`` with
   ``details.errors = [{field, message}]`` and no input value echoed;
7. **handler**, inside a ledger transaction: all its writes stand or none do (a decline keeps its failed
   payment intent). Its ``data`` is checked against the operation's result model before it is sent.

Before the handler, subscription periods that ended on the sandbox clock are billed.

Example:
    >>> _scrub("Value error, not a valid amount: '1.2.3'", "1.2.3")
    'Value error, not a valid amount: <value>'
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from starlette.responses import Response

from agent_billing import wire
from agent_billing.guardrails.card_data import scan_arguments
from agent_billing.money import format_usd
from agent_billing.providers.modelslab.sandbox import subscriptions as subs
from agent_billing.providers.modelslab.sandbox.dispatch import Ctx, Handler
from agent_billing.providers.modelslab.sandbox.envelope import (
    ApiError,
    check_key,
    envelope,
    error_response,
    invalid,
    json_response,
    replay_body,
)
from agent_billing.providers.modelslab.sandbox.ledger import Account, token_digest
from agent_billing.providers.modelslab.sandbox.state import Sandbox
from agent_billing.providers.modelslab.scopes import covers, operation_scope
from agent_billing.registry import Operation
from agent_billing.sandbox import idempotency
from agent_billing.sandbox.rate_limit import Decision
from agent_billing.sandbox.units import dumps, request_id

logger = logging.getLogger("agent_billing.sandbox")

CARD_DATA_MESSAGE = (
    "Raw card data (a card number, security code or expiry date) is never accepted by this API, and nothing "
    "was done. Tokenize the card with Stripe using the publishable key from GET /billing/stripe-config and "
    "pass the resulting payment_method_id (pm_...), save a card through a setup intent "
    "(POST /billing/setup-intent), or create a payment link (POST /billing/payment-link) for a human to pay."
)
# get_stripe_config's fields also appear at the top level of the body (the docs show it both ways).
SQLITE_MAX_INT = 2**63 - 1  # the ledger stores integers as SQLite INTEGER (signed 64-bit)
TOP_LEVEL_COPIES: dict[str, tuple[str, ...]] = {"get_stripe_config": ("publishable_key", "instructions")}


@dataclass
class Incoming:
    """What the pipeline needs from an HTTP request (read on the event loop, processed in a thread).

    Example:
        >>> incoming = Incoming(method="GET", path="/api/agents/v1/wallet/balance", path_params={}, query=[],
        ...                     headers={"authorization": "Bearer sk_sandbox_demo"}, body=b"", root_url="http://127.0.0.1:8787")
        >>> bearer_token(incoming.headers), incoming.client
        ('sk_sandbox_demo', 'unknown')
    """

    method: str
    path: str
    path_params: Mapping[str, str]
    query: Sequence[tuple[str, str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    root_url: str
    client: str = "unknown"
    extra_headers: dict[str, str] = field(default_factory=dict)


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The access token of a request (``Authorization: Bearer`` first, then ``X-Agent-Token``).

    Example:
        >>> bearer_token({"authorization": "Bearer sk_1"}), bearer_token({"x-agent-token": "sk_2"})
        ('sk_1', 'sk_2')
    """
    auth = headers.get("authorization", "")
    scheme, _, value = auth.strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    token = headers.get("x-agent-token", "").strip()
    return token or None


def authenticate(sandbox: Sandbox, incoming: Incoming) -> Account | None:
    """The caller's account, or ``None``.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> incoming = Incoming("GET", "/api/agents/v1/wallet/balance", {}, [], {"x-agent-token": "sk_sandbox_demo"}, b"", "http://s")
        >>> authenticate(create_app().state.sandbox, incoming).token_hint
        'sk_s…demo'
    """
    token = bearer_token(incoming.headers)
    return sandbox.account_for_token(token) if token else None


def unauthenticated() -> ApiError:
    """The 401 every unauthenticated API call gets.

    Example:
        >>> err = unauthenticated()
        >>> err.status, err.code, err.headers["WWW-Authenticate"]
        (401, 'unauthenticated', 'Bearer realm="agent-billing sandbox"')
    """
    return ApiError(401, "unauthenticated", "Missing or invalid access token. Send 'Authorization: Bearer <token>' "
                    "(or X-Agent-Token) with a token the sandbox was started with.",
                    headers={"WWW-Authenticate": 'Bearer realm="agent-billing sandbox"'})


def check_scope(sandbox: Sandbox, op: Operation, incoming: Incoming) -> None:
    """403 ``insufficient_scope`` (naming the scope, also in ``WWW-Authenticate``) for a scoped token without it.

    Example:
        >>> from agent_billing.registry import get_registry
        >>> from agent_billing.sandbox import create_app
        >>> app = create_app(scoped_tokens={"sk_reader": ["wallet:read"]})
        >>> incoming = Incoming("POST", "/api/agents/v1/wallet/fund", {}, [], {"x-agent-token": "sk_reader"}, b"", "http://s")
        >>> try:
        ...     check_scope(app.state.sandbox, get_registry().get("fund_wallet"), incoming)
        ... except ApiError as err:
        ...     err.status, err.code, err.details
        (403, 'insufficient_scope', {'required_scope': 'wallet:write'})
    """
    token = bearer_token(incoming.headers)
    granted = sandbox.token_scopes.get(token_digest(token)) if token else None
    if granted is None:
        return
    needed = operation_scope(op)
    if not covers(granted, {needed}):
        raise ApiError(403, "insufficient_scope", f"This access token lacks the scope {needed} that this call needs. "
                       f"Create a token with {needed} and authenticate again; retrying will not help.",
                       {"required_scope": needed},
                       headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{needed}"'})


def rate_limited(decision: Decision) -> ApiError:
    """The 429 of a refused request.

    Example:
        >>> err = rate_limited(Decision(False, 15, 0, 1_800_000_060.0, 42, "agent-billing"))
        >>> err.status, err.details
        (429, {'limiter': 'agent-billing', 'limit': 15, 'retry_after': 42})
    """
    return ApiError(429, "rate_limited", f"Rate limit of the {decision.limiter} limiter reached ({decision.limit} "
                    f"requests per window). Retry after {decision.retry_after} seconds.",
                    {"limiter": decision.limiter, "limit": decision.limit, "retry_after": decision.retry_after})


def raw_arguments(op: Operation, incoming: Incoming) -> tuple[dict[str, Any], Any]:
    """(raw arguments, parsed body) of a request: path params + query (GET/DELETE) or JSON body.

    Example:
        >>> from agent_billing.registry import get_registry
        >>> incoming = Incoming("POST", "/api/agents/v1/wallet/fund", {}, [], {}, b'{"amount": 25.00}', "http://s")
        >>> raw_arguments(get_registry().get("fund_wallet"), incoming)
        ({'amount': Decimal('25.00')}, {'amount': Decimal('25.00')})
    """
    raw: dict[str, Any] = {}
    body: Any = None
    if op.has_body:
        if incoming.body.strip():
            try:
                # Strict UTF-8 first: json.loads on bytes lets encoded surrogates through.
                body = wire.loads(incoming.body.decode("utf-8"))
                dumps(body)  # a "\ud800" escape parses but cannot be stored or fingerprinted
            except (ValueError, UnicodeError):
                raise invalid("The request body is not valid JSON.") from None
            except RecursionError:  # a body nested thousands deep is the caller's error, not a 500
                raise invalid("The request body is nested too deeply.") from None
            if not isinstance(body, dict):
                raise invalid("The request body must be a JSON object.")
            raw.update(body)
    else:
        for key, value in incoming.query:
            if key in raw:
                raise invalid(f"Query parameter '{key[:40]}' was given more than once.", key[:40])
            raw[key] = value
    for name, value in incoming.path_params.items():
        if name in raw:
            raise invalid(f"'{name}' belongs in the URL path, not in the request.", name)
        raw[name] = value
    return raw, body


def _scrub(message: str, value: Any) -> str:
    # Custom validators may quote the input; the API never echoes what it was sent.
    if isinstance(value, str) and value:
        for form in (repr(value), repr(value[:32])):
            message = message.replace(form, "<value>")
        if len(value) >= 6:
            message = message.replace(value, "<value>")
    return message


def _dollars(message: str) -> str:
    """Bounds in pydantic's messages as money: ``Decimal('10')`` reads ``$10.00`` (every bound here is USD).

    Example:
        >>> _dollars("Input should be greater than or equal to Decimal('10')")
        'Input should be greater than or equal to $10.00'
    """
    return re.sub(r"Decimal\('(-?\d+(?:\.\d+)?)'\)", lambda m: format_usd(Decimal(m.group(1))), message)


def validate(op: Operation, raw: Mapping[str, Any]) -> Any:
    """The operation's validated argument model, or 400 ``validation_error`` listing each field.

    Example:
        >>> from agent_billing.registry import get_registry
        >>> op = get_registry().get("fund_wallet")
        >>> validate(op, {"amount": "25.00", "payment_method_id": "pm_card_visa"}).amount
        Decimal('25.00')
        >>> validate(op, {"amount": "-5"})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        agent_billing.providers.modelslab.sandbox.envelope.ApiError: Invalid arguments. amount: ...
        >>> validate(get_registry().get("get_wallet_transactions"), {"offset": str(2**70)})
        Traceback (most recent call last):
        agent_billing.providers.modelslab.sandbox.envelope.ApiError: offset is out of range.
    """
    try:
        args = op.validate(raw)
    except ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False):
            loc = ".".join(str(p) for p in err.get("loc", ()))
            message = _dollars(str(err.get("msg", "invalid")).removeprefix("Value error, "))
            errors.append({"field": loc or None, "message": _scrub(message, err.get("input"))})
        summary = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else str(e["message"]) for e in errors)
        raise ApiError(400, "validation_error", f"Invalid arguments. {summary}", {"errors": errors}) from None
    for name, value in args.model_dump().items():
        # Found by fuzzing: an unbounded integer (a page offset) past SQLite's range was a 500.
        if isinstance(value, int) and not -SQLITE_MAX_INT <= value <= SQLITE_MAX_INT:
            raise invalid(f"{name} is out of range.", name)
    return args


def _validated(op: Operation, raw: dict[str, Any]) -> Any:
    """The validated arguments, or the ``ApiError`` to answer with (validation reads nothing, so it runs
    before the ledger transaction; the error is still answered, and stored for replay, inside it)."""
    try:
        return validate(op, raw)
    except ApiError as err:
        return err


def _run_handler(
    op: Operation, handler: Handler, ctx: Ctx, args: Any, rid: str
) -> tuple[int, Any, dict[str, str]]:
    """Run the handler on validated ``args`` in a savepoint; returns (status, envelope, extra headers)."""
    try:
        with ctx.ledger.transaction():
            if isinstance(args, ApiError):
                raise args
            reply = handler(ctx, args)
            try:
                op.result.model_validate(reply.data)
            except ValidationError as exc:  # a sandbox bug: never send a shape the client cannot read
                raise RuntimeError(f"{op.name} returned data that does not match {op.result.__name__}: {exc}") from exc
    except ApiError as err:
        return err.status, envelope(None, err.to_error(), rid), err.headers
    body = envelope(reply.data, None, rid)
    if reply.status < 300:
        for name in TOP_LEVEL_COPIES.get(op.name, ()):
            body[name] = reply.data[name]
    return reply.status, body, {}


def handle(sandbox: Sandbox, op: Operation, handler: Handler, incoming: Incoming, *, limited: bool = True) -> Response:
    """Run one API request through the pipeline and build its response.

    Example:
        >>> from agent_billing.registry import get_registry
        >>> from agent_billing.providers.modelslab.sandbox import dispatch
        >>> from agent_billing.sandbox import create_app
        >>> sandbox, op = create_app().state.sandbox, get_registry().get("get_wallet_balance")  # create_app loads the handlers
        >>> incoming = Incoming("GET", "/api/agents/v1/wallet/balance", {}, [], {"x-agent-token": "sk_sandbox_demo"}, b"", "http://s")
        >>> wire.loads(handle(sandbox, op, dispatch.HANDLERS[op.name], incoming).body)["data"]
        {'balance': Decimal('0.00'), 'currency': 'USD'}
    """
    rid = request_id()
    headers: dict[str, str] = {"X-Request-Id": rid, **incoming.extra_headers}
    try:
        account = authenticate(sandbox, incoming)
        decision = None
        if limited and sandbox.limiter is not None:
            subject = f"account:{account.id}" if account else f"address:{incoming.client}"
            decision = sandbox.limiter.hit(subject, op.limiter if account else "")  # "": the default class
            headers.update(decision.headers())
        if account is None:
            raise unauthenticated()
        if decision is not None and not decision.allowed:
            raise rate_limited(decision)
        check_scope(sandbox, op, incoming)
        raw, body = raw_arguments(op, incoming)
        findings = scan_arguments(raw)
        if findings:
            where = sorted({f.path for f in findings if f.path})
            raise ApiError(400, "card_data_not_allowed", CARD_DATA_MESSAGE,
                           {"fields": where, "kinds": sorted({f.kind for f in findings})})
        key = incoming.headers.get(idempotency.HEADER) if op.is_mutation else None
        if key is not None:
            check_key(key)
        args = _validated(op, raw)
        ledger = sandbox.ledger
        with ledger.transaction():
            subs.process_due(ledger, account, now=sandbox.now())
        with ledger.transaction():
            ctx = Ctx(sandbox, ledger.account(account.id), incoming.root_url)  # read inside: no stale default card
            fingerprint = ""
            if key is not None:
                query = [] if op.has_body else list(incoming.query)
                fingerprint = idempotency.fingerprint(op.method, incoming.path, query, body)
                record = ledger.idempotency_record(account.id, key,
                                                   newer_than=sandbox.now() - idempotency.RETENTION_SECONDS)
                if record is not None:
                    if record.fingerprint != fingerprint:
                        raise ApiError(409, "idempotency_error", "This Idempotency-Key was already used with a "
                                       "different request. Use a new key for a new request; retry a request only "
                                       "with its own key and identical arguments.",
                                       {"original_request_id": record.request_id})
                    replay = replay_body(record.body, rid, record.request_id)
                    headers.update({"Idempotent-Replayed": "true", "Original-Request": record.request_id,
                                    "Cache-Control": "no-store"})
                    return Response(replay, status_code=record.status, headers=headers,
                                    media_type="application/json")
            status, out, extra = _run_handler(op, handler, ctx, args, rid)
            headers.update(extra)
            payload = dumps(out)  # once: the response and the stored replay are the same bytes
            if key is not None and status < 500:
                ledger.store_idempotency_record(account.id, key, fingerprint=fingerprint, status=status,
                                                body=payload, request_id=rid)
        return json_response(payload, status, headers)
    except ApiError as err:
        return error_response(err, rid, headers)
    except Exception:
        logger.exception("sandbox error in %s (request %s)", op.name, rid)
        return error_response(ApiError(500, "server_error", "Internal sandbox error; nothing was changed. "
                                       f"Quote request id {rid} when reporting it."), rid, headers)
