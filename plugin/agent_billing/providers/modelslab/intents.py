"""How each gated ModelsLab operation resolves its charge intent (see ``guardrails/intent.py``).

Each resolver reads what its charge depends on (saved cards, the plan catalogue, a subscription's
plan) with read-only calls, so it is safe to run again under LangGraph's re-execution, and returns the
words a person approves together with the binding facts. Where the API takes a ``payment_method_id``
(fund, bonus-coupon purchase, headless subscribe) the resolved card id is filled in, so the request
names the card that was approved instead of "the default". Where it does not (charge-amount,
auto-funding, plan changes and the subscription actions charge the default card server-side) the
resolved default card is recorded, checked again right before the call, and changes of the default
through the same toolkit wait for the charge (``changes_funding`` on the declarations).

Example:
    >>> from agent_billing.providers.modelslab.operations import REGISTRY
    >>> op = REGISTRY.get("withdraw")
    >>> try:
    ...     next(op.intent(op.validate({"amount": "50"}), True))  # a payout needs no reads
    ... except StopIteration as done:
    ...     done.value.summary
    'Pay out $50.00 from the wallet balance.'
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from pydantic import BaseModel

from agent_billing.errors import BillingError
from agent_billing.guardrails.intent import CardRef, IntentDraft, IntentUnavailable, PlanRef
from agent_billing.money import format_usd
from agent_billing.tools.steps import ApiCall

Reads = Generator[ApiCall, Any, Any]

_PERIODS = {"monthly": "month", "yearly": "year", "annual": "year", "weekly": "week", "daily": "day"}


def _card(item: Any) -> CardRef:
    return CardRef(id=str(item.id), brand=getattr(item, "brand", None), last4=getattr(item, "last4", None))


def explicit_card(payment_method_id: str, for_person: bool) -> Reads:
    """The named card; its brand and last four are looked up only when a person will read them."""
    if not for_person:
        return CardRef(id=payment_method_id)
    try:
        cards = (yield ApiCall("list_payment_methods", {})).payment_methods
    except BillingError:
        cards = []
    for item in cards:
        if item.id == payment_method_id:
            return _card(item)
    return CardRef(id=payment_method_id)


def default_card(what: str) -> Reads:
    """The account's default card, resolved to its id (the charge must not follow a later swap)."""
    try:
        cards = (yield ApiCall("list_payment_methods", {})).payment_methods
    except BillingError as exc:
        if not exc.retryable:
            raise  # a missing scope or a bad token: its own error says what to do
        raise IntentUnavailable(f"Could not read the saved cards to see which card would pay ({exc.code}); "
                                "nothing was charged. Try again shortly.") from None
    for item in cards:
        if item.is_default:
            return _card(item)
    raise IntentUnavailable(f"The account has no default card to {what}. Save one first (setup intent, then "
                            "payment_methods add with make_default), or hand off with a payment link.")


def plan_of(plan_id: int) -> Reads:
    """The plan with its price, from the catalogue (an unknown plan is refused before anyone is asked)."""
    try:
        plans = (yield ApiCall("list_plans", {})).subscription_plans
    except BillingError as exc:
        if not exc.retryable:
            raise  # a missing scope or a bad token: its own error says what to do
        raise IntentUnavailable(f"Could not read the plan catalogue to price plan {plan_id} ({exc.code}); nothing "
                                "was charged. Try again shortly.") from None
    for plan in plans:
        if plan.id == plan_id:
            return PlanRef(id=plan.id, name=plan.name, price=plan.price,
                           period=_PERIODS.get(plan.period or "", plan.period or None))
    known = ", ".join(str(p.id) for p in plans)
    raise IntentUnavailable(f"Plan {plan_id} is not in the catalogue (plans: {known}); nothing was charged.")


def _with_card(args: BaseModel, card: CardRef) -> BaseModel:
    return type(args).model_validate({**args.model_dump(exclude_none=True), "payment_method_id": card.id})


def fund_wallet(args: Any, for_person: bool) -> Reads:
    """A top-up: the given card, or the default card resolved and then sent by id."""
    card = (yield from explicit_card(args.payment_method_id, for_person)) if args.payment_method_id else \
        (yield from default_card("fund the wallet"))
    amount = format_usd(args.amount)
    return IntentDraft(summary=f"Charge {amount} to {card.text} to add {amount} to the wallet (one-off).",
                       amount=args.amount, payment_method=card, funding="explicit", send=_with_card(args, card))


def charge_subscription_amount(args: Any, for_person: bool) -> Reads:
    """A one-off charge to the default card (the API takes no card id)."""
    card = yield from default_card("charge")
    return IntentDraft(summary=f"Charge {format_usd(args.amount)} to {card.text} (one-off).", amount=args.amount,
                       payment_method=card, funding="default")


def redeem_coupon(args: Any, for_person: bool) -> Reads:
    """A bonus coupon's purchase, charged to the named card."""
    card = yield from explicit_card(args.payment_method_id, for_person)
    return IntentDraft(summary=f"Charge {format_usd(args.purchase_amount)} to {card.text} and redeem coupon "
                               f"{args.coupon_code} for its bonus credit (one-off).",
                       amount=args.purchase_amount, payment_method=card, funding="explicit")


def enable_auto_funding(args: Any, for_person: bool) -> Reads:
    """Permission for future automatic charges of the default card."""
    card = yield from default_card("charge automatically")
    return IntentDraft(summary=f"Allow automatic charges of {format_usd(args.auto_charge_amount)} to {card.text} "
                               f"whenever the wallet balance falls below {format_usd(args.charge_threshold)} "
                               "(recurring, until disabled).",
                       amount=args.auto_charge_amount, payment_method=card, funding="default", recurring=True)


def withdraw(args: Any, for_person: bool) -> Reads:
    """A payout from the wallet (no card involved)."""
    return IntentDraft(summary=f"Pay out {format_usd(args.amount)} from the wallet balance.", amount=args.amount)
    yield  # pragma: no cover - a resolver is a generator even when it reads nothing


def create_subscription(args: Any, for_person: bool) -> Reads:
    """Headless (the named card is charged now and every period) or a checkout a person completes."""
    plan = yield from plan_of(args.plan_id)
    if args.payment_method_id:
        card = yield from explicit_card(args.payment_method_id, for_person)
        return IntentDraft(summary=f"Subscribe to {plan.text}: charged now to {card.text} and every "
                                   f"{plan.period or 'period'} until cancelled (recurring).",
                           amount=plan.price, payment_method=card, funding="explicit", plan=plan, recurring=True)
    return IntentDraft(summary=f"Start a checkout for {plan.text} that a person completes; nothing is charged until "
                               "they pay (recurring once paid).", amount=plan.price, funding="checkout", plan=plan,
                       recurring=True)


def update_subscription(args: Any, for_person: bool) -> Reads:
    """A plan change; an upgrade charges the difference to the default card."""
    plan = yield from plan_of(args.new_plan_id)
    card = yield from default_card("charge for the plan change")
    return IntentDraft(summary=f"Move subscription {args.subscription_id} to {plan.text}; an upgrade charges the "
                               f"price difference now to {card.text} (recurring).",
                       amount=plan.price, payment_method=card, funding="default", plan=plan, recurring=True)


def _subscription_plan(subscription_id: int) -> Reads:
    try:
        status = yield ApiCall("get_subscription_status", {"subscription_id": subscription_id})
    except BillingError as exc:
        if not exc.retryable:
            raise  # a missing scope or a bad token: its own error says what to do
        raise IntentUnavailable(f"Could not read subscription {subscription_id} ({exc.code}); nothing was "
                                "charged.") from None
    if status.plan_id is None:
        raise IntentUnavailable(f"Subscription {subscription_id} names no plan, so its price is unknown; nothing "
                                "was charged.")
    return (yield from plan_of(int(status.plan_id)))


def _subscription_charge(args: Any, words: str, recurring: bool) -> Reads:
    plan = yield from _subscription_plan(args.subscription_id)
    card = yield from default_card("charge")
    return IntentDraft(summary=words.format(sub=args.subscription_id, plan=plan.text, card=card.text),
                       amount=plan.price, payment_method=card, funding="default", plan=plan, recurring=recurring)


def resume_subscription(args: Any, for_person: bool) -> Reads:
    """Billing restarts: the plan price goes to the default card."""
    return (yield from _subscription_charge(args, "Resume subscription {sub} on {plan}: billing restarts and the "
                                                  "plan price is charged to {card} (recurring).", True))


def reset_subscription_cycle(args: Any, for_person: bool) -> Reads:
    """A new period starts now and is charged."""
    return (yield from _subscription_charge(args, "Start a new billing period for subscription {sub} on {plan} now: "
                                                  "the plan price is charged to {card}.", False))


def fix_payment(args: Any, for_person: bool) -> Reads:
    """The failed payment is retried on the default card."""
    return (yield from _subscription_charge(args, "Retry the failed payment of subscription {sub} on {plan}, "
                                                  "charged to {card}.", False))


def remove_payment_method(args: Any, for_person: bool) -> Reads:
    """Detaching a saved card."""
    card = yield from explicit_card(args.payment_method_id, for_person)
    return IntentDraft(summary=f"Remove {card.text} from the account.", payment_method=card, funding="none")


def pause_subscription(args: Any, for_person: bool) -> Reads:
    """Service stops until resumed."""
    return IntentDraft(summary=f"Pause subscription {args.subscription_id}: service stops until it is resumed.")
    yield  # pragma: no cover


def disable_auto_funding(args: Any, for_person: bool) -> Reads:
    """Automatic recharges stop."""
    return IntentDraft(summary="Turn off automatic wallet recharges.")
    yield  # pragma: no cover

