"""One API exchange without I/O: arguments to an HTTP request, an HTTP response to a result or error.

The sync and async clients share this, so they cannot differ in validation, headers or error mapping.

Example (``example_registry``: a made-up provider's operations, from the doctest set-up):
    >>> call = prepare(example_registry.get("get_item"), {"item_id": "it_1"})
    >>> (call.method, call.path, call.params)
    ('GET', '/items/it_1', {})
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from agent_billing import wire
from agent_billing.conventions import WireConventions
from agent_billing.errors import (
    ActionRequiredError,
    BillingError,
    InvalidRequestError,
    OutcomeUnknownError,
    UnexpectedResponseError,
    error_from_envelope,
)
from agent_billing.money import format_usd, in_range
from agent_billing.registry import Operation
from agent_billing.retry import server_wait_hint


@dataclass(frozen=True)
class PreparedCall:
    """A validated call, ready to send (and to resend with the same idempotency key).

    Example:
        >>> call = prepare(example_registry.get("top_up"), {"amount": "25"}, idempotency_key="k1")
        >>> call.headers()
        {'Accept': 'application/json', 'Content-Type': 'application/json', 'Idempotency-Key': 'k1'}
    """

    operation: Operation
    args: BaseModel
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    body: bytes | None = None
    idempotency_key: str | None = None
    conventions: WireConventions = field(default_factory=WireConventions)

    def headers(self) -> dict[str, str]:
        """Request headers other than authorization."""
        headers = {"Accept": "application/json"}
        if self.body is not None:
            headers["Content-Type"] = "application/json"
        if self.idempotency_key:
            headers[self.conventions.idempotency_header] = self.idempotency_key
        return headers


def validation_error(exc: PydanticValidationError, operation: str) -> InvalidRequestError:
    """A clear, value-free validation error (inputs may hold secrets or card data, so none are echoed).

    Example:
        >>> try:
        ...     example_registry.get("top_up").args(amount="25", cvc="123")
        ... except PydanticValidationError as exc:
        ...     validation_error(exc, "top_up").message
        'invalid arguments for top_up: cvc: Extra inputs are not permitted'
    """
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]) or "(arguments)", "message": _readable(e["msg"])}
        for e in exc.errors(include_input=False, include_url=False)
    ]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return InvalidRequestError(f"invalid arguments for {operation}: {summary}", details={"errors": errors})


_DECIMAL_REPR = re.compile(r"Decimal\('(-?[0-9]+(?:\.[0-9]+)?)'\)")


def _readable(message: str) -> str:
    """pydantic writes a money bound as ``Decimal('10')``; people read ``$10.00``."""
    return _DECIMAL_REPR.sub(lambda m: format_usd(Decimal(m.group(1))), message)


def validate_args(op: Operation, raw: Mapping[str, Any]) -> BaseModel:
    """Validate raw arguments against the operation's model, raising ``InvalidRequestError``.

    Example:
        >>> validate_args(example_registry.get("top_up"), {"amount": 5})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        agent_billing.errors.InvalidRequestError: invalid arguments for top_up: amount: ... to $10.00 (code=validation_error)
    """
    try:
        return op.validate(raw)
    except PydanticValidationError as exc:
        raise validation_error(exc, op.name) from None


def prepare(op: Operation, raw: Mapping[str, Any] | BaseModel, idempotency_key: str | None = None,
            conventions: WireConventions | None = None) -> PreparedCall:
    """Validate ``raw`` and build the call in the provider's conventions. Mutations always get an idempotency key.

    Example:
        >>> call = prepare(example_registry.get("top_up"), {"amount": "25"})
        >>> call.method, call.path, call.body, call.idempotency_key.startswith("ab_")
        ('POST', '/balance/top-ups', b'{"amount":25.00}', True)
    """
    conventions = conventions or WireConventions()
    args = raw if isinstance(raw, op.args) else validate_args(op, dict(raw))
    _, rest = op.split(args)
    rest = _amounts(rest, conventions)
    params: dict[str, Any] = {}
    body: bytes | None = None
    if op.has_body:
        body = wire.dumps(rest) if rest else None
    else:
        params = {k: (format(v, "f") if not isinstance(v, (str, int)) else v) for k, v in rest.items()}
    key = (idempotency_key or f"ab_{uuid.uuid4().hex}") if op.is_mutation else None
    return PreparedCall(op, args, op.method, op.render_path(args), params, body, key, conventions)


def _amounts(value: Any, conventions: WireConventions) -> Any:
    """Every ``Decimal`` in ``value`` as the provider's JSON carries amounts."""
    if isinstance(value, Decimal):
        return conventions.encode_amount(value)
    if isinstance(value, dict):
        return {k: _amounts(v, conventions) for k, v in value.items()}
    if isinstance(value, list):
        return [_amounts(v, conventions) for v in value]
    return value


class _Unreadable(Exception):
    """Internal: the body of a 2xx could not be read as the operation's result."""


def _json(response: httpx.Response) -> tuple[Any, str | None]:
    """(payload, None), or (None, why it cannot be read)."""
    if not response.content:
        return None, "empty body"
    try:
        return wire.loads(response.content), None
    except ValueError as exc:
        # json's messages name a position, never the content, so they are safe to show.
        return None, f"not readable JSON: {exc}"


def unreadable(call: PreparedCall, response: httpx.Response, why: str, request_id: str | None) -> BillingError:
    """The error for a 2xx whose body cannot be read: an unknown outcome for a mutation, else a typed error.

    Example:
        >>> call = prepare(example_registry.get("top_up"), {"amount": "25"}, idempotency_key="k1")
        >>> err = unreadable(call, httpx.Response(200, content=b"<html>"), "body is not JSON", None)
        >>> type(err).__name__, err.code, err.idempotency_key
        ('OutcomeUnknownError', 'outcome_unknown', 'k1')
    """
    where = f"{call.method} {call.path}"
    if call.operation.is_mutation:
        return OutcomeUnknownError(
            f"{where} answered {response.status_code} but the answer cannot be read ({why}); the request may "
            "have taken effect. Check the ledger before doing anything else; repeat only with the same "
            "idempotency key.",
            idempotency_key=call.idempotency_key, cause="unreadable_response", status=response.status_code,
            request_id=request_id,
            details={"idempotency_key": call.idempotency_key} if call.idempotency_key else {},
        )
    return UnexpectedResponseError(f"{where} answered {response.status_code} with an unreadable body ({why})",
                                   status=response.status_code, request_id=request_id)


def detail_error(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A FastAPI-style error body as ``{code, message, details}``: ``{"detail": "...", "code": ...}``, or a
    422's ``{"detail": [{loc, msg, type}]}`` (fields named by ``loc`` without its ``body``/``query``/``path`` head).

    Example:
        >>> detail_error({"detail": "No such invoice.", "code": "not_found"})
        {'code': 'not_found', 'message': 'No such invoice.', 'details': {}}
        >>> detail_error({"detail": [{"loc": ["query", "limit"], "msg": "must be <= 200", "type": "less_than_equal"}]})
        {'code': 'validation_error', 'message': 'limit: must be <= 200', 'details': {'errors': [{'field': 'limit', \
'message': 'must be <= 200', 'type': 'less_than_equal'}]}}
    """
    detail, code = payload.get("detail"), payload.get("code")
    if isinstance(detail, list):
        errors = []
        for item in detail[:50]:
            item = item if isinstance(item, dict) else {"msg": str(item)}
            loc = [str(part) for part in item.get("loc") or [] if not isinstance(part, (dict, list))]
            if loc and loc[0] in ("body", "query", "path", "header"):
                loc = loc[1:]
            errors.append({"field": ".".join(loc) or "(request)", "message": str(item.get("msg") or "invalid")[:300],
                           "type": str(item.get("type") or "")[:100]})
        message = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
        return {"code": str(code or "validation_error"), "message": message[:1000], "details": {"errors": errors}}
    return {"code": str(code) if code else None, "message": str(detail)[:1000] if detail else None, "details": {}}


def interpret(call: PreparedCall, response: httpx.Response) -> BaseModel:
    """Turn a response into the operation's result model, or raise the matching ``BillingError``.

    Accepts the documented envelope ``{data, error, meta}`` and, for reads, a bare object (a provider may
    document a read both ways). A mutation's 2xx must carry the envelope with an object
    in ``data``: anything else (not JSON, ``NaN``, truncated, nested too deep, wrong types) is an
    ``OutcomeUnknownError``, never a success. A success in the provider's declared action-required shape
    (``WireConventions.action_required``) raises ``ActionRequiredError``.

    Example:
        >>> call = prepare(example_registry.get("get_balance"), {})
        >>> interpret(call, httpx.Response(200, json={"data": {"balance": 12.5, "currency": "USD"}})).balance
        Decimal('12.5')
    """
    return interpret_with_id(call, response)[0]


def interpret_with_id(call: PreparedCall, response: httpx.Response) -> tuple[BaseModel, str | None]:
    """``interpret``, with the request id the API gave the call (``meta.request_id``, else the header).

    Example:
        >>> call = prepare(example_registry.get("get_balance"), {})
        >>> body = {"data": {"balance": 1, "currency": "USD"}, "meta": {"request_id": "req_7"}}
        >>> interpret_with_id(call, httpx.Response(200, json=body))[1]
        'req_7'
    """
    payload, problem = _json(response)
    conventions = call.conventions
    if conventions.envelope:
        enveloped = isinstance(payload, dict) and ("data" in payload or "error" in payload)
    else:
        # No envelope: the body is the object itself, an error is {"error": {...}}.
        enveloped = isinstance(payload, dict) and isinstance(payload.get("error"), dict)
    meta = payload.get("meta") if enveloped and isinstance(payload.get("meta"), dict) else {}
    raw_id = (meta or {}).get("request_id") or response.headers.get(conventions.request_id_header)
    request_id = str(raw_id)[:200] if raw_id is not None else None
    if response.status_code >= 400 or (enveloped and payload.get("error")):
        error = payload.get("error") if enveloped else None
        if conventions.error_body == "detail" and isinstance(payload, dict) and "detail" in payload:
            error = detail_error(payload)
        if not isinstance(error, dict):
            error = {"message": f"HTTP {response.status_code} from {call.method} {call.path}"}
        hint = server_wait_hint(response.headers) if response.status_code == 429 else None
        raise error_from_envelope(response.status_code, error, request_id, retry_after=hint,
                                  classes=conventions.error_classes)
    if not conventions.envelope:
        enveloped, payload = True, {"data": payload}
    try:
        return _result(call, response, payload, problem, enveloped, request_id), request_id
    except _Unreadable as exc:
        raise unreadable(call, response, str(exc), request_id) from None
    except (RecursionError, TypeError, ValueError, PydanticValidationError) as exc:
        raise unreadable(call, response, type(exc).__name__, request_id) from None


def _result(call: PreparedCall, response: httpx.Response, payload: Any, problem: str | None, enveloped: bool,
            request_id: str | None) -> BaseModel:
    if problem is not None:
        if call.operation.is_mutation or response.content:
            raise _Unreadable(problem)
        payload = None  # an empty 2xx read (e.g. 204) reads as an empty result
    if call.operation.is_mutation and not enveloped:
        raise _Unreadable("no response envelope")
    data = payload.get("data") if enveloped else payload
    if data is None and not call.operation.is_mutation:
        data = {}
    if not isinstance(data, dict):
        raise _Unreadable(f"data is {type(data).__name__}, not an object")
    rule = call.conventions.action_required
    if rule is not None and rule.matches(data):
        inner = data[rule.container]
        raise ActionRequiredError(
            str(data.get(rule.message_field) or rule.message),
            details={k: inner.get(k) for k in rule.details if inner.get(k)},
            status=response.status_code,
            request_id=request_id,
        )
    if response.headers.get("Idempotent-Replayed") == "true":
        data = {**data, "idempotency_replay": True}
    try:
        result = call.operation.result.model_validate(data)
    except PydanticValidationError as exc:
        raise _Unreadable(f"unexpected response shape: {exc.error_count()} field error(s)") from None
    odd = _odd_number(result)
    if odd is not None:
        raise _Unreadable(f"a number no amount can be ({odd})")
    return result


def _odd_number(result: BaseModel) -> str | None:
    """Where the result holds a number no money arithmetic can take (NaN, infinite, beyond ``MAX_MAGNITUDE``),
    or None. Such a value would otherwise pass here and break a summary, a mandate check or an audit record.

    Example:
        >>> model = example_registry.get("get_balance").result
        >>> _odd_number(model.model_validate({"balance": Decimal("1E+309")})), _odd_number(model.model_validate({"balance": 2}))
        ('balance', None)
    """
    stack: list[tuple[str, Any]] = [("", result)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, BaseModel):
            fields = {**value.__dict__, **(value.__pydantic_extra__ or {})}
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in fields.items())
        elif isinstance(value, dict):
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(value))
        elif isinstance(value, (Decimal, float)) and not in_range(Decimal(repr(value)) if isinstance(value, float)
                                                                  else value):
            return where
    return None
