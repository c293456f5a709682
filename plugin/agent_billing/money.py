"""Money as ``Decimal``: parsing, bounds and the two-decimal wire form.

Floats never carry money here. A float that reaches us (an LLM's JSON number) is read through its
shortest ``repr`` so ``10.1`` stays ``Decimal("10.1")`` and ``10.005`` is caught as three decimals
instead of being rounded silently.

Example:
    >>> from agent_billing.money import to_decimal, wire_amount
    >>> to_decimal(25.5)
    Decimal('25.5')
    >>> wire_amount(to_decimal("25"))
    Decimal('25.00')
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

CENT = Decimal("0.01")
# No amount any billing API takes or gives comes near this; beyond it ``Decimal``'s default 28 digits of
# precision would make cent arithmetic raise ``InvalidOperation`` instead of answering.
MAX_MAGNITUDE = Decimal(10) ** 15


def in_range(value: Decimal) -> bool:
    """Whether ``value`` can be money at all: finite and below ``MAX_MAGNITUDE`` in size (either sign).

    Example:
        >>> in_range(Decimal("25.00")), in_range(Decimal("1e309")), in_range(Decimal("NaN"))
        (True, False, False)
    """
    return value.is_finite() and abs(value) < MAX_MAGNITUDE


def to_decimal(value: Any) -> Decimal:
    """Read a money value without ever going through binary floating point arithmetic.

    Accepts ``Decimal``, ``int``, numeric ``str`` and ``float`` (via its shortest repr). Rejects bools,
    NaN, infinities and more than two decimal places.

    Example:
        >>> to_decimal("10.00")
        Decimal('10.00')
    """
    if isinstance(value, bool):
        raise ValueError("an amount must be a number, not true/false")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip().removeprefix("$").strip()
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"not a valid amount: {value[:32]!r}") from None
    else:
        raise ValueError(f"an amount must be a number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError("an amount must be a finite number")
    if not in_range(result):
        raise ValueError(f"an amount must be smaller than {MAX_MAGNITUDE:,}")
    exponent = result.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and result != wire_amount(result):
        raise ValueError("an amount has at most two decimal places (whole cents)")
    return result


def wire_amount(value: Decimal) -> Decimal:
    """The two-decimal form an envelope API documents on the wire (``25`` -> ``25.00``).

    Any finite value works, however long (the precision grows to fit); a non-finite one is a ``ValueError``.

    Example:
        >>> wire_amount(Decimal("7.5")), wire_amount(Decimal("1e30"))
        (Decimal('7.50'), Decimal('1000000000000000000000000000000.00'))
    """
    if not value.is_finite():
        raise ValueError("a non-finite number is not an amount")
    with localcontext() as context:
        context.prec = max(context.prec, value.adjusted() + 4)
        return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def format_usd(value: Decimal) -> str:
    """Human form for summaries and prompts: ``$1,234.50``.

    Never raises: a provider's odd number (``NaN``, ``1e309``) is shown as it is rather than crash a summary.

    Example:
        >>> format_usd(Decimal("1234.5")), format_usd(Decimal("NaN"))
        ('$1,234.50', '$NaN')
    """
    if not value.is_finite():
        return f"${value}"
    return f"${wire_amount(value):,}"


Money = Annotated[Decimal, BeforeValidator(to_decimal), PlainSerializer(wire_amount, return_type=Decimal)]
"""A Decimal amount read safely (see ``to_decimal``) and serialized with two decimals; add bounds with
``Annotated[Money, Field(ge=...)]``.

Example:
    >>> from pydantic import TypeAdapter
    >>> TypeAdapter(Money).dump_python(Decimal("12.5"))
    Decimal('12.50')
"""
