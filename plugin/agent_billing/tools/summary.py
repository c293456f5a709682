"""Human-readable summaries of what an approval-gated call will do, and what it will cost.

The summary names the amount, the currency, the card (brand and last four only), the plan and
whether it recurs, so a person can say yes or no to exactly what happens. It is built with read-only
calls (saved cards, plan catalogue, subscription status) so it is safe to run twice under LangGraph's
re-execution. The cost it finds is what the mandate checks for operations with no amount argument
(a subscription's plan price).

Example:
    >>> Described(summary="Charge $25.00", amount=None).recurring
    False
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from agent_billing.errors import BillingError
from agent_billing.money import format_usd
from agent_billing.registry import Operation
from agent_billing.tools.steps import ApiCall


@dataclass(frozen=True)
class Described:
    """The words and the figures of one gated call.

    Example:
        >>> card = "Visa ending 4242"
        >>> Described(f"Charge $25.00 to {card} (one-off).", Decimal("25.00"), payment_method=card).amount
        Decimal('25.00')
    """

    summary: str
    amount: Decimal | None
    recurring: bool = False
    payment_method: str | None = None
    plan: str | None = None
    plan_id: int | None = None


def _card_text(card: Any) -> str:
    brand = (getattr(card, "brand", None) or "card").capitalize()
    last4 = getattr(card, "last4", None)
    return f"{brand} ending {last4}" if last4 else brand


def _find_card(payment_method_id: str | None, look_up: bool = True) -> Generator[ApiCall, Any, str]:
    """'Visa ending 4242' for the given (or default) card, from the saved cards; ids as a fallback.

    ``look_up=False`` skips the read (nobody will see the words) and names the card by id only.
    """
    if not look_up:
        return f"payment method {payment_method_id}" if payment_method_id else "the default card"
    try:
        cards = (yield ApiCall("list_payment_methods", {})).payment_methods
    except BillingError:
        cards = []
    for card in cards:
        if (payment_method_id and card.id == payment_method_id) or (not payment_method_id and card.is_default):
            return _card_text(card)
    if payment_method_id:
        return f"payment method {payment_method_id}"
    return "the default card"


_PERIODS = {"monthly": "month", "yearly": "year", "annual": "year", "weekly": "week", "daily": "day"}


def _find_plan(plan_id: int | None) -> Generator[ApiCall, Any, tuple[str, Decimal | None, str]]:
    """(name text, price, period) of a plan from the catalogue."""
    if plan_id is None:
        return ("the current plan", None, "period")
    try:
        plans = (yield ApiCall("list_plans", {})).subscription_plans
    except BillingError:
        plans = []
    for plan in plans:
        if plan.id == plan_id:
            period = _PERIODS.get(plan.period or "", plan.period or "period")
            price = f", {format_usd(plan.price)} per {period}" if plan.price is not None else ""
            return (f"{plan.name} (plan {plan_id}{price})", plan.price, period)
    return (f"plan {plan_id}", None, "period")


def _subscription_plan(subscription_id: int) -> Generator[ApiCall, Any, int | None]:
    try:
        status = yield ApiCall("get_subscription_status", {"subscription_id": subscription_id})
    except BillingError:
        return None
    plan_id = getattr(status, "plan_id", None)
    return int(plan_id) if plan_id is not None else None


def describe(op: Operation, args: BaseModel, *, name_cards: bool = True) -> Generator[ApiCall, Any, Described]:
    """Describe a gated call (reads only). ``name_cards=False`` skips the saved-card lookup: a mandate that
    auto-approves needs the cost (a plan's price), not the words, so a charge costs no extra request.

    Example:
        >>> from agent_billing.registry import get_registry
        >>> op = get_registry().get("withdraw")
        >>> try:
        ...     next(describe(op, op.validate({"amount": "50"})))  # a withdrawal needs no reads
        ... except StopIteration as done:
        ...     done.value.summary
        'Pay out $50.00 from the wallet balance.'
    """
    a: Any = args
    name = op.name
    if name == "fund_wallet":
        card = yield from _find_card(a.payment_method_id, name_cards)
        amount = format_usd(a.amount)
        return Described(f"Charge {amount} to {card} to add {amount} to the wallet (one-off).", a.amount,
                         payment_method=card)
    if name == "charge_subscription_amount":
        card = yield from _find_card(None, name_cards)
        return Described(f"Charge {format_usd(a.amount)} to {card} (one-off).", a.amount, payment_method=card)
    if name == "redeem_coupon":
        card = yield from _find_card(a.payment_method_id, name_cards)
        return Described(f"Charge {format_usd(a.purchase_amount)} to {card} and redeem coupon {a.coupon_code} "
                         "for its bonus credit (one-off).", a.purchase_amount, payment_method=card)
    if name == "enable_auto_funding":
        card = yield from _find_card(None, name_cards)
        return Described(f"Allow automatic charges of {format_usd(a.auto_charge_amount)} to {card} whenever the "
                         f"wallet balance falls below {format_usd(a.charge_threshold)} (recurring, until disabled).",
                         a.auto_charge_amount, recurring=True, payment_method=card)
    if name == "withdraw":
        return Described(f"Pay out {format_usd(a.amount)} from the wallet balance.", a.amount)
    if name == "create_subscription":
        plan, price, period = yield from _find_plan(a.plan_id)
        if a.payment_method_id:
            card = yield from _find_card(a.payment_method_id, name_cards)
            return Described(f"Subscribe to {plan}: charged now to {card} and every {period} until cancelled "
                             "(recurring).", price, recurring=True, payment_method=card, plan=plan, plan_id=a.plan_id)
        return Described(f"Start a checkout for {plan} that a person completes; nothing is charged until they "
                         "pay (recurring once paid).", price, recurring=True, plan=plan, plan_id=a.plan_id)
    if name == "update_subscription":
        plan, price, _ = yield from _find_plan(a.new_plan_id)
        return Described(f"Move subscription {a.subscription_id} to {plan}; an upgrade charges the price "
                         "difference now to the default card (recurring).", price, recurring=True, plan=plan,
                         plan_id=a.new_plan_id)
    if name in ("resume_subscription", "reset_subscription_cycle", "fix_payment"):
        plan_id = yield from _subscription_plan(a.subscription_id)
        plan, price, _ = yield from _find_plan(plan_id)
        card = yield from _find_card(None, name_cards)
        what = {
            "resume_subscription": f"Resume subscription {a.subscription_id} on {plan}: billing restarts and the "
                                   f"plan price is charged to {card} (recurring).",
            "reset_subscription_cycle": f"Start a new billing period for subscription {a.subscription_id} on {plan} "
                                        f"now: the plan price is charged to {card}.",
            "fix_payment": f"Retry the failed payment of subscription {a.subscription_id} on {plan}, "
                           f"charged to {card}.",
        }[name]
        return Described(what, price, recurring=name == "resume_subscription", payment_method=card, plan=plan,
                         plan_id=plan_id)
    if name == "remove_payment_method":
        card = yield from _find_card(a.payment_method_id, name_cards)
        return Described(f"Remove {card} from the account.", None, payment_method=card)
    if name == "pause_subscription":
        return Described(f"Pause subscription {a.subscription_id}: service stops until it is resumed.", None)
    if name == "disable_auto_funding":
        return Described("Turn off automatic wallet recharges.", None)
    fields = ", ".join(f"{k}={v}" for k, v in args.model_dump(exclude_none=True).items())
    return Described(f"{op.description} ({op.name}{': ' + fields if fields else ''})", None)
