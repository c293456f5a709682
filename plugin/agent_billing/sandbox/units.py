"""Small value conversions every sandbox module uses: ids, cents and timestamps.

Money lives in the ledger as integer cents and in code as ``Decimal``; it never passes through a
float. Timestamps are Unix seconds from the injectable clock, shown as ISO 8601 UTC.

Example:
    >>> from decimal import Decimal
    >>> to_cents(Decimal("25.5")), usd(2550)
    (2550, Decimal('25.50'))
    >>> iso(0)
    '1970-01-01T00:00:00Z'
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal

from agent_billing.money import CENT

Clock = Callable[[], float]

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    """A random processor-style id: ``prefix`` then ``length`` letters and digits.

    Example:
        >>> new_id("pi_").startswith("pi_")
        True
    """
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def request_id() -> str:
    """A fresh request id (``req_...``), as carried in ``meta.request_id`` and ``X-Request-Id``.

    Example:
        >>> rid = request_id()
        >>> rid.startswith("req_"), len(rid)
        (True, 24)
    """
    return new_id("req_", 20)


def to_cents(amount: Decimal) -> int:
    """Whole cents of a validated amount (at most two decimals: anything finer is a bug upstream).

    Example:
        >>> to_cents(Decimal("10"))
        1000
    """
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError("amount has more than two decimal places")
    return int(cents)


def usd(cents: int) -> Decimal:
    """Cents as a two-decimal ``Decimal`` (the wire form of every amount).

    Example:
        >>> usd(5)
        Decimal('0.05')
    """
    return (Decimal(cents) / 100).quantize(CENT)


def iso(ts: float) -> str:
    """Unix seconds as ISO 8601 UTC with a ``Z`` (``2026-02-20T12:30:00Z``).

    Example:
        >>> iso(1_800_000_000)
        '2027-01-15T08:00:00Z'
    """
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_or_none(ts: float | None) -> str | None:
    """``iso(ts)``, or ``None`` for a missing timestamp.

    Example:
        >>> iso_or_none(None), iso_or_none(1_800_000_000)
        (None, '2027-01-15T08:00:00Z')
    """
    return None if ts is None else iso(ts)


def year_of(ts: float) -> int:
    """The UTC calendar year of a timestamp.

    Example:
        >>> year_of(1_800_000_000)
        2027
    """
    return datetime.fromtimestamp(ts, tz=timezone.utc).year


def month_of(ts: float) -> int:
    """The UTC calendar month (1-12) of a timestamp.

    Example:
        >>> month_of(1_800_000_000)
        1
    """
    return datetime.fromtimestamp(ts, tz=timezone.utc).month
