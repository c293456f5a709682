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

import json
import secrets
import string
from collections.abc import Callable
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from agent_billing.money import CENT

Clock = Callable[[], float]

_ALPHABET = (string.ascii_letters + string.digits).encode()
# Each random byte to a letter or digit in one C call (bytes.translate), not one draw per character. The
# small bias (256 is not a multiple of 62) is no matter for ids, which need to be unique, not uniform.
_TO_ALPHABET = bytes(_ALPHABET[b % len(_ALPHABET)] for b in range(256))


def new_id(prefix: str, length: int = 24) -> str:
    """A random processor-style id: ``prefix`` then ``length`` letters and digits.

    Example:
        >>> pid = new_id("pi_")
        >>> pid.startswith("pi_"), len(pid), pid[3:].isalnum() and pid[3:].isascii()
        (True, 27, True)
    """
    return prefix + secrets.token_bytes(length).translate(_TO_ALPHABET).decode("ascii")


# Decimals are written by the standard library's C encoder as marked strings, then unmarked: the marker
# holds a per-process random nonce, so no string a client sends can pass for a number.
_MARK = "\x01" + secrets.token_hex(8)
_OPEN, _CLOSE = json.dumps(_MARK + "<")[:-1], json.dumps(">" + _MARK)[1:]


def _number(value: Any) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("cannot send a non-finite amount")
        return f"{_MARK}<{value:f}>{_MARK}"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON with ``Decimal`` as exact numbers: the bytes ``agent_billing.wire.dumps`` writes,
    by the standard library's encoder (``default=``) instead of a walk in Python.

    Example:
        >>> dumps({"balance": Decimal("25.00"), "note": "\x01<1>", "ok": [True, None]})
        b'{"balance":25.00,"note":"\\\\u0001<1>","ok":[true,null]}'
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_number, allow_nan=False)
    if _OPEN in text:
        text = text.replace(_OPEN, "").replace(_CLOSE, "")
    return text.encode()


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
