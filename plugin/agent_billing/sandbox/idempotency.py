"""Idempotency keys: a retried mutation replays its first response instead of running again.

The rules every provider sandbox shares (the card processor's, which the providers' docs point to):

- any non-GET request may carry an idempotency key (1 to 255 printable ASCII characters, no spaces);
- keys are scoped per account and kept :data:`RETENTION_SECONDS` (24 hours);
- the same key with the same method, path and arguments (:func:`fingerprint`) replays the stored status
  and body; no money moves;
- the same key with a different request is refused with a 409;
- every final response below 500 is stored, declines and validation errors included; a 5xx is not,
  so the retry runs again;
- concurrent requests with one key are serialised by the account's transaction: the second replays.

How a replay is marked and how a refusal reads is each provider's wire (its sandbox's envelope).

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

from agent_billing.sandbox.units import dumps

RETENTION_SECONDS = 24 * 3600
HEADER = "idempotency-key"


def valid_key(key: str) -> bool:
    """Whether ``key`` is 1 to 255 printable ASCII characters without spaces.

    Example:
        >>> valid_key("fund-2026-01-15-001"), valid_key("two words"), valid_key("")
        (True, False, False)
    """
    return 1 <= len(key) <= 255 and all(33 <= ord(ch) <= 126 for ch in key)


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
        >>> first = fingerprint("POST", "/wallet/fund", [], {"amount": 25, "card": "pm_card_visa"})
        >>> len(first), first == fingerprint("POST", "/wallet/fund", [], {"card": "pm_card_visa", "amount": 25.0})
        (64, True)
    """
    material = dumps([method.upper(), path, sorted(query), _canonical(body)])
    return hashlib.sha256(material).hexdigest()
