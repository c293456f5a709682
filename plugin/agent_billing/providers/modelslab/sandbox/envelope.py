"""The ModelsLab sandbox's response envelope, its error type, and how it shows idempotent replays.

Every API response is ``{"data": ..., "error": null, "meta": {"request_id": "req_..."}}`` or
``{"data": null, "error": {"code", "message", "details"}, "meta": {...}}``, written with
:func:`agent_billing.wire.dumps` so amounts are exact JSON numbers.

Example:
    >>> from decimal import Decimal
    >>> envelope({"balance": Decimal("0.00")}, None, "req_1")
    {'data': {'balance': Decimal('0.00')}, 'error': None, 'meta': {'request_id': 'req_1'}}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from agent_billing import wire
from agent_billing.sandbox import idempotency
from agent_billing.sandbox.units import dumps


class ApiError(Exception):
    """An error the API reports in the envelope: HTTP ``status``, ``code``, ``message``, ``details``.

    ``keep_changes`` says the ledger writes made before the error stand (a declined card leaves a
    failed payment intent behind, which ``GET /payments/{id}/status`` must still find).

    Example:
        >>> err = ApiError(404, "not_found", "No such invoice")
        >>> err.status, err.code
        (404, 'not_found')
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        *,
        keep_changes: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        self.keep_changes = keep_changes
        self.headers: dict[str, str] = dict(headers or {})

    def to_error(self) -> dict[str, Any]:
        """The ``error`` object of the envelope."""
        return {"code": self.code, "message": self.message, "details": self.details}


@dataclass
class Reply:
    """A handler's successful answer: the envelope's ``data`` and the HTTP status (202 for 3-D Secure).

    Example:
        >>> Reply({"balance": "25.00"}).status, Reply({"payment": {"status": "requires_action"}}, 202).status
        (200, 202)
    """

    data: Any
    status: int = 200


def invalid(message: str, field: str | None = None) -> ApiError:
    """A 400 ``validation_error`` (optionally naming the offending field).

    Example:
        >>> invalid("No such plan", "plan_id").details
        {'errors': [{'field': 'plan_id', 'message': 'No such plan'}]}
    """
    details = {"errors": [{"field": field, "message": message}]} if field else {}
    return ApiError(400, "validation_error", message, details)


def not_found(message: str) -> ApiError:
    """A 404 ``not_found``.

    Example:
        >>> err = not_found("No such invoice")
        >>> err.status, err.to_error()
        (404, {'code': 'not_found', 'message': 'No such invoice', 'details': {}})
    """
    return ApiError(404, "not_found", message)


def invalid_state(message: str, **details: Any) -> ApiError:
    """A 409 ``invalid_state``: the object is not in a state that allows this transition.

    Example:
        >>> err = invalid_state("Subscription 1001 is already paused.", subscription_id=1001)
        >>> err.status, err.code, err.details
        (409, 'invalid_state', {'subscription_id': 1001})
    """
    return ApiError(409, "invalid_state", message, details)


def envelope(data: Any, error: Mapping[str, Any] | None, rid: str, **meta: Any) -> dict[str, Any]:
    """The envelope around ``data`` or ``error``.

    Example:
        >>> envelope(None, not_found("No such plan").to_error(), "req_1")
        {'data': None, 'error': {'code': 'not_found', 'message': 'No such plan', 'details': {}}, 'meta': {'request_id': 'req_1'}}
    """
    return {"data": data, "error": dict(error) if error is not None else None, "meta": {"request_id": rid, **meta}}


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response (``body`` already encoded, or written with ``units.dumps``: exact Decimal amounts).

    Example:
        >>> from decimal import Decimal
        >>> r = json_response({"balance": Decimal("25.00")}, 200, {"X-Request-Id": "req_1"})
        >>> r.body, r.headers["cache-control"], r.headers["x-request-id"]
        (b'{"balance":25.00}', 'no-store', 'req_1')
    """
    all_headers = {"Cache-Control": "no-store"}
    all_headers.update(headers or {})
    content = body if isinstance(body, bytes) else dumps(body)
    return Response(content, status_code=status, headers=all_headers, media_type="application/json")


def error_response(err: ApiError, rid: str, headers: Mapping[str, str] | None = None) -> Response:
    """The error envelope of ``err`` as a response, with ``X-Request-Id``.

    Example:
        >>> r = error_response(not_found("No such invoice"), "req_1")
        >>> r.status_code, r.headers["x-request-id"], r.body[:40]
        (404, 'req_1', b'{"data":null,"error":{"code":"not_found"')
    """
    all_headers = {"X-Request-Id": rid, **err.headers, **(headers or {})}
    return json_response(envelope(None, err.to_error(), rid), err.status, all_headers)


def check_key(key: str) -> str:
    """The idempotency key, or a 400 ``validation_error`` when it is empty, too long or not printable ASCII.

    Example:
        >>> check_key("fund-2026-01-15-001")
        'fund-2026-01-15-001'
        >>> check_key("two words")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        agent_billing...ApiError: Idempotency-Key must be 1 to 255 printable ASCII characters without spaces.
    """
    if not idempotency.valid_key(key):
        raise ApiError(400, "validation_error", "Idempotency-Key must be 1 to 255 printable ASCII characters "
                       "without spaces.", {"errors": [{"field": "Idempotency-Key", "message": "invalid key"}]})
    return key


def replay_body(stored: bytes, rid: str, original_rid: str) -> bytes:
    """The stored envelope, marked as a replay (``data.idempotency_replay``), under the new request id.

    Example:
        >>> replay_body(b'{"data":{"balance":25.00},"error":null,"meta":{"request_id":"req_1"}}', "req_2", "req_1")
        b'{"data":{"balance":25.00,"idempotency_replay":true},"error":null,"meta":{"request_id":"req_2","original_request_id":"req_1"}}'
    """
    body = wire.loads(stored)
    if isinstance(body.get("data"), dict):
        body["data"]["idempotency_replay"] = True
    body["meta"] = {**body.get("meta", {}), "request_id": rid, "original_request_id": original_rid}
    return dumps(body)
