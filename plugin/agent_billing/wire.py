"""JSON on the wire with exact money: ``Decimal`` out as a JSON number, JSON numbers in as ``Decimal``.

The standard library turns ``Decimal`` into an error and JSON numbers into floats; both are wrong for
money. ``dumps`` writes a ``Decimal`` as its plain digits (``25.00``), ``loads`` reads every
non-integer number as ``Decimal``.

Example:
    >>> from decimal import Decimal
    >>> dumps({"amount": Decimal("25.00"), "ok": True})
    b'{"amount":25.00,"ok":true}'
    >>> loads(b'{"amount": 25.10}')
    {'amount': Decimal('25.10')}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def _encode(value: Any, out: list[str]) -> None:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("cannot send a non-finite amount")
        out.append(format(value, "f"))
    elif value is None or isinstance(value, (bool, int, str)):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, float):
        raise TypeError("floats are not sent on the wire; use Decimal for money")
    elif isinstance(value, Mapping):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    elif isinstance(value, (datetime, date)):
        out.append(json.dumps(value.isoformat()))
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(value: Any) -> bytes:
    """Encode ``value`` as compact UTF-8 JSON, with ``Decimal`` as exact numbers.

    Example:
        >>> dumps([Decimal("0.10"), None, True])
        b'[0.10,null,true]'
    """
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode()


MAX_DEPTH = 64


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _depth_ok(value: Any, limit: int) -> bool:
    # Iterative, so a hostile document cannot exhaust the stack here either.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return True


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode JSON with non-integer numbers as ``Decimal``; only ``ValueError`` on bad input.

    ``NaN`` and ``Infinity`` are refused (no amount is ever one), and so is nesting deeper than
    ``max_depth``: a hostile or broken body must not reach the interpreter's recursion limit.

    Example:
        >>> loads('{"count": 3, "price": 9.99}')
        {'count': 3, 'price': Decimal('9.99')}
        >>> loads('{"balance": NaN}')
        Traceback (most recent call last):
        ...
        ValueError: NaN is not a JSON number
        >>> loads("[" * 100 + "]" * 100)
        Traceback (most recent call last):
        ...
        ValueError: JSON nested deeper than 64 levels
    """
    try:
        value = json.loads(data, parse_float=Decimal, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {max_depth} levels") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"JSON is not valid UTF-8: {exc.reason}") from None
    if not _depth_ok(value, max_depth):
        raise ValueError(f"JSON nested deeper than {max_depth} levels")
    return value
