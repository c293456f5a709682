"""One API exchange without I/O: arguments to an HTTP request, an HTTP response to a result or error.

The sync and async clients share this, so they cannot differ in validation, headers or error mapping.

Example:
    >>> from agent_billing.registry import get_registry
    >>> op = get_registry().get("get_invoice")
    >>> call = prepare(op, {"invoice_id": "in_1"})
    >>> (call.method, call.path, call.params)
    ('GET', '/billing/invoices/in_1', {})
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from agent_billing import wire
from agent_billing.errors import ActionRequiredError, BillingError, InvalidRequestError, error_from_envelope
from agent_billing.registry import Operation
from agent_billing.retry import server_wait_hint


@dataclass(frozen=True)
class PreparedCall:
    """A validated call, ready to send (and to resend with the same idempotency key).

    Example:
        >>> from agent_billing.registry import get_registry
        >>> call = prepare(get_registry().get("fund_wallet"), {"amount": "25"}, idempotency_key="k1")
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

    def headers(self) -> dict[str, str]:
        """Request headers other than authorization."""
        headers = {"Accept": "application/json"}
        if self.body is not None:
            headers["Content-Type"] = "application/json"
        if self.idempotency_key:
            headers["Idempotency-Key"] = self.idempotency_key
        return headers


def validation_error(exc: PydanticValidationError, operation: str) -> InvalidRequestError:
    """A clear, value-free validation error (inputs may hold secrets or card data, so none are echoed).

    Example:
        >>> from agent_billing.providers.modelslab.arguments import FundWalletArgs
        >>> try:
        ...     FundWalletArgs(amount="25", cvc="123")
        ... except PydanticValidationError as exc:
        ...     validation_error(exc, "fund_wallet").message
        'invalid arguments for fund_wallet: cvc: Extra inputs are not permitted'
    """
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]) or "(arguments)", "message": e["msg"]}
        for e in exc.errors(include_input=False, include_url=False)
    ]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return InvalidRequestError(f"invalid arguments for {operation}: {summary}", details={"errors": errors})


def validate_args(op: Operation, raw: Mapping[str, Any]) -> BaseModel:
    """Validate raw arguments against the operation's model, raising ``InvalidRequestError``.

    Example:
        >>> from agent_billing.registry import get_registry
        >>> validate_args(get_registry().get("get_invoice"), {"invoice_id": 42}).invoice_id
        '42'
    """
    try:
        return op.validate(raw)
    except PydanticValidationError as exc:
        raise validation_error(exc, op.name) from None


def prepare(op: Operation, raw: Mapping[str, Any] | BaseModel, idempotency_key: str | None = None) -> PreparedCall:
    """Validate ``raw`` and build the call. Mutations always get an idempotency key.

    Example:
        >>> from agent_billing.registry import get_registry
        >>> call = prepare(get_registry().get("fund_wallet"), {"amount": "25"})
        >>> call.method, call.path, call.body, call.idempotency_key.startswith("ab_")
        ('POST', '/wallet/fund', b'{"amount":25.00}', True)
    """
    args = raw if isinstance(raw, op.args) else validate_args(op, dict(raw))
    _, rest = op.split(args)
    params: dict[str, Any] = {}
    body: bytes | None = None
    if op.has_body:
        body = wire.dumps(rest) if rest else None
    else:
        params = {k: (format(v, "f") if not isinstance(v, (str, int)) else v) for k, v in rest.items()}
    key = (idempotency_key or f"ab_{uuid.uuid4().hex}") if op.is_mutation else None
    return PreparedCall(op, args, op.method, op.render_path(args), params, body, key)


def _json(response: httpx.Response) -> Any:
    try:
        return wire.loads(response.content) if response.content else None
    except ValueError:
        return None


def interpret(call: PreparedCall, response: httpx.Response) -> BaseModel:
    """Turn a response into the operation's result model, or raise the matching ``BillingError``.

    Accepts the documented envelope ``{data, error, meta}`` and a bare object (``stripe-config`` is
    documented both ways). A 202 with a payment in ``requires_action`` raises ``ActionRequiredError``.

    Example:
        >>> from agent_billing.registry import get_registry
        >>> call = prepare(get_registry().get("get_wallet_balance"), {})
        >>> interpret(call, httpx.Response(200, json={"data": {"balance": 12.5, "currency": "USD"}})).balance
        Decimal('12.5')
    """
    payload = _json(response)
    enveloped = isinstance(payload, dict) and ("data" in payload or "error" in payload)
    meta = payload.get("meta") if enveloped and isinstance(payload.get("meta"), dict) else {}
    request_id = (meta or {}).get("request_id") or response.headers.get("X-Request-Id")
    if response.status_code >= 400 or (enveloped and payload.get("error")):
        error = payload.get("error") if enveloped else None
        if not isinstance(error, dict):
            error = {"message": f"HTTP {response.status_code} from {call.method} {call.path}"}
        hint = server_wait_hint(response.headers) if response.status_code == 429 else None
        raise error_from_envelope(response.status_code, error, request_id, retry_after=hint)
    data = payload.get("data") if enveloped else payload
    if isinstance(data, dict):
        payment = data.get("payment")
        if isinstance(payment, dict) and payment.get("status") == "requires_action":
            raise ActionRequiredError(
                str(data.get("message") or "The card needs 3-D Secure authentication by a person."),
                details={k: payment.get(k) for k in ("payment_intent_id", "client_secret") if payment.get(k)},
                status=response.status_code,
                request_id=request_id,
            )
        if response.headers.get("Idempotent-Replayed") == "true":
            data = {**data, "idempotency_replay": True}
    if data is None:
        data = {}
    try:
        return call.operation.result.model_validate(data)
    except PydanticValidationError as exc:
        raise BillingError(
            f"unexpected response shape from {call.method} {call.path}: {exc.error_count()} field error(s)",
            code="unexpected_response",
            status=response.status_code,
            request_id=request_id,
        ) from None
