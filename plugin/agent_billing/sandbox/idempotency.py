"""Idempotency keys: a retried mutation replays its first response instead of running again.

Rules (the card processor's, which the providers' docs point to):

- any non-GET request may carry ``Idempotency-Key`` (1 to 255 printable ASCII characters);
- keys are scoped per account and kept 24 hours;
- the same key with the same method, path and arguments replays the stored status and body, with
  ``data.idempotency_replay = true`` and the header ``Idempotent-Replayed: true``; no money moves;
- the same key with a different request is refused with 409 ``idempotency_error``;
- every final response below 500 is stored, declines and validation errors included; a 5xx is not,
  so the retry runs again;
- concurrent requests with one key are serialised by the ledger transaction: the second replays.

Example:
    >>> from decimal import Decimal
    >>> fingerprint("POST", "/wallet/fund", [], {"amount": Decimal("25.00")}) == \\
    ...     fingerprint("POST", "/wallet/fund", [], {"amount": 25})
    True
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from agent_billing import wire
from agent_billing.sandbox.envelope import ApiError

RETENTION_SECONDS = 24 * 3600
HEADER = "idempotency-key"


def check_key(key: str) -> str:
    """The key, or a 400 ``validation_error`` when it is empty, too long or not printable ASCII.

    Example:
        >>> check_key("fund-2026-01-15-001")
        'fund-2026-01-15-001'
        >>> check_key("two words")
        Traceback (most recent call last):
        agent_billing.sandbox.envelope.ApiError: Idempotency-Key must be 1 to 255 printable ASCII characters without spaces.
    """
    if not 1 <= len(key) <= 255 or not all(33 <= ord(ch) <= 126 for ch in key):
        raise ApiError(400, "validation_error", "Idempotency-Key must be 1 to 255 printable ASCII characters "
                       "without spaces.", {"errors": [{"field": "Idempotency-Key", "message": "invalid key"}]})
    return key


def _canonical(value: Any) -> Any:
    # 25, 25.0 and 25.00 are the same amount: compare numbers by value, keys in sorted order.
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, Decimal, float)):
        number = Decimal(str(value))
        return "#" + (format(number.normalize(), "f") if number.is_finite() else str(number))
    if isinstance(value, dict):
        return {str(k): _canonical(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return repr(value)


def fingerprint(method: str, path: str, query: Sequence[tuple[str, str]], body: Any) -> str:
    """A digest of what makes two requests "the same request" (the body itself is never stored).

    Example:
        >>> first = fingerprint("POST", "/wallet/fund", [], {"amount": 25, "payment_method_id": "pm_card_visa"})
        >>> len(first), first == fingerprint("POST", "/wallet/fund", [], {"payment_method_id": "pm_card_visa", "amount": 25.0})
        (64, True)
    """
    material = wire.dumps([method.upper(), path, sorted(query), _canonical(body)])
    return hashlib.sha256(material).hexdigest()


def replay_body(stored: bytes, rid: str, original_rid: str) -> bytes:
    """The stored envelope, marked as a replay, under the new request id.

    Example:
        >>> replay_body(b'{"data":{"balance":25.00},"error":null,"meta":{"request_id":"req_1"}}', "req_2", "req_1")
        b'{"data":{"balance":25.00,"idempotency_replay":true},"error":null,"meta":{"request_id":"req_2","original_request_id":"req_1"}}'
    """
    body = wire.loads(stored)
    if isinstance(body.get("data"), dict):
        body["data"]["idempotency_replay"] = True
    body["meta"] = {**body.get("meta", {}), "request_id": rid, "original_request_id": original_rid}
    return wire.dumps(body)
