"""Wallgent's plan tiers as the billing guide lists them, and the proration arithmetic of a plan change.

FREE is the sandbox-only start plan; STARTER and GROWTH are self-serve; ENTERPRISE has a custom price
and cannot be bought through the API. A billing period is 30 days in the sandbox, so proration is
simple to check by hand: an upgrade pays the monthly price difference times the days left over 30.

Example:
    >>> PLANS["GROWTH"].price, PLANS["STARTER"].read_rpm, PLANS["FREE"].write_rpm
    (Decimal('249.00'), 200, 10)
    >>> proration(PLANS["STARTER"], PLANS["GROWTH"], seconds_left=15 * DAY)
    (Decimal('75.00'), 15)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from agent_billing.money import CENT

DAY = 86_400
PERIOD_DAYS = 30
PERIOD_SECONDS = PERIOD_DAYS * DAY


@dataclass(frozen=True)
class Plan:
    """One tier: its monthly price (``None`` when custom), its rate limits, whether the API sells it.

    Example:
        >>> PLANS["ENTERPRISE"].price is None, PLANS["ENTERPRISE"].self_serve
        (True, False)
    """

    name: str
    price: Decimal | None
    read_rpm: int
    write_rpm: int
    self_serve: bool

    @property
    def rank(self) -> int:
        """Position in the tier order (FREE 0 ... ENTERPRISE 3), so "upgrade" is a higher rank.

        Example:
            >>> PLANS["GROWTH"].rank > PLANS["STARTER"].rank
            True
        """
        return list(PLANS).index(self.name)


PLANS: dict[str, Plan] = {
    p.name: p
    for p in (
        Plan("FREE", Decimal("0.00"), 60, 10, False),
        Plan("STARTER", Decimal("99.00"), 200, 50, True),
        Plan("GROWTH", Decimal("249.00"), 500, 100, True),
        Plan("ENTERPRISE", None, 2000, 500, False),
    )
}
PAID_SELF_SERVE = tuple(name for name, plan in PLANS.items() if plan.self_serve)


def proration(old: Plan, new: Plan, *, seconds_left: float) -> tuple[Decimal, int]:
    """The upgrade charge and the whole days it covers (a started day counts as remaining).

    The price difference times ``days_left / 30``, rounded half up to cents; zero for a downgrade.

    Example:
        >>> proration(PLANS["STARTER"], PLANS["GROWTH"], seconds_left=10 * DAY + 1)
        (Decimal('55.00'), 11)
        >>> proration(PLANS["GROWTH"], PLANS["STARTER"], seconds_left=20 * DAY)
        (Decimal('0.00'), 20)
    """
    days = min(PERIOD_DAYS, max(0, math.ceil(seconds_left / DAY)))
    if old.price is None or new.price is None or new.price <= old.price:
        return Decimal("0.00"), days
    amount = (new.price - old.price) * days / PERIOD_DAYS
    return amount.quantize(CENT, rounding=ROUND_HALF_UP), days
