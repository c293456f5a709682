"""How each gated ModelsLab operation resolves its charge intent (see ``guardrails/intent.py``).

Each resolver reads what its charge depends on (saved cards, the plan catalogue, a subscription's
plan) with read-only calls, so it is safe to run again under LangGraph's re-execution, and returns the
words a person approves together with the binding facts. Where the API takes a ``payment_method_id``
(fund, bonus-coupon purchase, headless subscribe) the resolved card id is filled in, so the request
names the card that was approved instead of "the default". Where it does not (charge-amount,
auto-funding, plan changes and the subscription actions charge the default card server-side) the
resolved default card is recorded, checked again right before the call, and changes of the default
through the same toolkit wait for the charge (``changes_funding`` on the declarations).

A change of the default card (``set_default``, ``add`` with ``make_default``) is a standing
authorisation: the new card carries every automatic recharge and renewal that charges the default, so
its intent names them (read from the billing overview and the plan catalogue) and binds them.
Prices from the catalogue are checked (``check_price``) before any words are written with them.

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

import re
from collections.abc import Generator
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from agent_billing.errors import BillingError
from agent_billing.guardrails.intent import (
    CardRef,
    IntentDraft,
    IntentUnavailable,
    PlanRef,
    PriceRefused,
    Standing,
    check_price,
)
from agent_billing.money import format_usd
from agent_billing.providers.modelslab.arguments import MAX_AMOUNT
from agent_billing.tools.steps import ApiCall

Reads = Generator[ApiCall, Any, Any]

_PERIODS = {"monthly": "month", "yearly": "year", "annual": "year", "weekly": "week", "daily": "day"}
BOUND = Decimal(MAX_AMOUNT)  # the API's largest charge: a plan priced above it is not believed
_LIVE = ("active", "trialing", "past_due")  # subscriptions that renew (a past-due one is retried)


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


def _whole(value: Any, field: str, default: int) -> int:
    # A count the provider gives (interval, trial days): a small whole number, or refused.
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or value != int(value) \
            or not 0 <= value <= 10_000:
        raise PriceRefused(field, "is not a whole number from 0 to 10,000")
    return int(value)


def plan_ref(plan: Any) -> PlanRef:
    """A catalogue entry as the intent binds it: every term its price depends on, each checked.

    Example:
        >>> from agent_billing.providers.modelslab.results import Plan
        >>> plan_ref(Plan.model_validate({"id": 43, "name": "Imagen Starter", "period": "monthly", "price": "9.00",
        ...                                "currency": "USD", "trial_days": 7})).text
        'Imagen Starter (plan 43, $9.00 per month, 7-day trial)'
    """
    currency = getattr(plan, "currency", None) or "USD"
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{3}", currency):
        raise PriceRefused("plan.currency", "is not a three-letter currency code")
    currency = currency.upper()
    price = check_price(plan.price, "plan.price", currency=currency, bound=BOUND)
    period = plan.period if isinstance(plan.period, str) and plan.period else None
    return PlanRef(id=plan.id, name=plan.name, price=price, period=_PERIODS.get(period or "", period),
                   interval_count=max(1, _whole(getattr(plan, "interval_count", None), "plan.interval_count", 1)),
                   currency=currency, trial_days=_whole(getattr(plan, "trial_days", None), "plan.trial_days", 0))


def catalogue(what: str) -> Reads:
    """The plan catalogue (a failure means nothing may be charged)."""
    try:
        return (yield ApiCall("list_plans", {})).subscription_plans
    except BillingError as exc:
        if not exc.retryable:
            raise  # a missing scope or a bad token: its own error says what to do
        raise IntentUnavailable(f"Could not read the plan catalogue to price {what} ({exc.code}); nothing was "
                                "charged. Try again shortly.") from None


def plan_of(plan_id: int) -> Reads:
    """The plan with its price terms, from the catalogue (an unknown plan is refused before anyone is asked)."""
    plans = yield from catalogue(f"plan {plan_id}")
    for plan in plans:
        if plan.id == plan_id:
            return plan_ref(plan)
    known = ", ".join(str(p.id) for p in plans)
    raise IntentUnavailable(f"Plan {plan_id} is not in the catalogue (plans: {known}); nothing was charged.")


def _money(value: Any, field: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, float):
        value = Decimal(repr(value))
    return check_price(value, field, charged=False, bound=BOUND)


def standing_charges() -> Reads:
    """The standing authorisations that charge the default card: auto-funding and live subscriptions' renewals.

    Read from the billing overview (auto-funding, subscriptions) and the catalogue (their prices). An
    overview that does not say whether auto-funding is on counts as unbounded recharges (fail closed).
    """
    try:
        overview = yield ApiCall("get_billing_overview", {})
    except BillingError as exc:
        if not exc.retryable:
            raise
        raise IntentUnavailable(f"Could not read the automatic charges on the account ({exc.code}); nothing was "
                                "changed. Try again shortly.") from None
    carried: list[Standing] = []
    auto = getattr(overview, "auto_funding", None)
    if not isinstance(auto, dict):
        carried.append(Standing(kind="auto_funding", ref="unknown"))  # its state is not readable: no bound
    elif auto.get("enabled"):
        carried.append(Standing(kind="auto_funding", ref="auto_funding",
                                amount=_money(auto.get("auto_charge_amount"), "auto_funding.amount"),
                                threshold=_money(auto.get("charge_threshold"), "auto_funding.threshold")))
    live = [sub for sub in overview.subscriptions if sub.status in _LIVE]
    if live:
        plans = {plan.id: plan for plan in (yield from catalogue("the subscriptions' renewals"))}
        for sub in live:
            plan = plans.get(sub.plan_id) if sub.plan_id is not None else None
            ref = plan_ref(plan) if plan is not None else None
            carried.append(Standing(kind="renewal", ref=str(sub.id), amount=ref.price if ref else None,
                                    currency=ref.currency if ref else "USD", plan=ref,
                                    per_24h=ref.renewals_per_24h() if ref else None))
    return tuple(carried)


def _carried_words(carried: tuple[Standing, ...]) -> str:
    if not carried:
        return "no automatic charges are set up now; later charges that name no card will hit it"
    return "from now on it pays " + "; ".join(item.text for item in carried) + \
        ", and any later charge that names no card"


def default_change(card_id: str, for_person: bool, *, adding: bool) -> Reads:
    """Making a card the default: the card, the card it replaces, and what it will carry from now on."""
    cards: list[Any] = []
    try:
        cards = (yield ApiCall("list_payment_methods", {})).payment_methods
    except BillingError as exc:
        if not exc.retryable:
            raise
        raise IntentUnavailable(f"Could not read the saved cards ({exc.code}); nothing was changed. Try again "
                                "shortly.") from None
    card = next((_card(item) for item in cards if item.id == card_id), CardRef(id=card_id))
    current = next((_card(item) for item in cards if item.is_default), None)
    if current is not None and current.id == card_id:
        return IntentDraft(summary=f"Keep {card.text} as the default card (it already is; nothing changes).",
                           payment_method=card, funding="explicit", bound=BOUND)
    carried = yield from standing_charges()
    verb = f"Save {card.text} and make it" if adding else f"Make {card.text}"
    instead = f" instead of {current.text}" if current is not None else ""
    return IntentDraft(summary=f"{verb} the default card{instead}: {_carried_words(carried)} (standing, until "
                               "changed).", payment_method=card, funding="explicit", recurring=bool(carried),
                       carries=carried, bound=BOUND)


def set_default_payment_method(args: Any, for_person: bool) -> Reads:
    """A new default card: every automatic recharge and renewal moves to it."""
    return (yield from default_change(args.payment_method_id, for_person, adding=False))


def add_payment_method(args: Any, for_person: bool) -> Reads:
    """A card saved as the default (``make_default``): as ``set_default``; saved only, it carries nothing."""
    if not args.make_default:
        return IntentDraft(summary=f"Save payment method {args.payment_method_id} (not as the default).",
                           payment_method=CardRef(id=args.payment_method_id), funding="explicit")
    return (yield from default_change(args.payment_method_id, for_person, adding=True))


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
    """Permission for future automatic charges of the default card, as often as usage drains the wallet."""
    card = yield from default_card("charge automatically")
    auto = Standing(kind="auto_funding", ref="auto_funding", amount=args.auto_charge_amount,
                    threshold=args.charge_threshold)
    return IntentDraft(summary=f"Allow automatic charges of {format_usd(args.auto_charge_amount)} to {card.text} "
                               f"whenever the wallet balance falls below {format_usd(args.charge_threshold)}, with "
                               "no limit on how many in a day (recurring, until disabled).",
                       amount=args.auto_charge_amount, payment_method=card, funding="default", recurring=True,
                       carries=(auto,), bound=BOUND)


def withdraw(args: Any, for_person: bool) -> Reads:
    """A payout from the wallet (no card involved)."""
    return IntentDraft(summary=f"Pay out {format_usd(args.amount)} from the wallet balance.", amount=args.amount)
    yield  # pragma: no cover - a resolver is a generator even when it reads nothing


def create_subscription(args: Any, for_person: bool) -> Reads:
    """Headless (the named card is charged now and every period) or a checkout a person completes."""
    plan = yield from plan_of(args.plan_id)
    if args.payment_method_id:
        card = yield from explicit_card(args.payment_method_id, for_person)
        first = "after the trial" if plan.trial_days else "now"
        return IntentDraft(summary=f"Subscribe to {plan.text}: charged {first} to {card.text} and then "
                                   f"{plan.every} until cancelled (recurring).", amount=plan.price,
                           currency=plan.currency, payment_method=card, funding="explicit", plan=plan,
                           recurring=True, bound=BOUND)
    return IntentDraft(summary=f"Start a checkout for {plan.text} that a person completes; nothing is charged until "
                               "they pay (recurring once paid).", amount=plan.price, currency=plan.currency,
                       funding="checkout", plan=plan, recurring=True, bound=BOUND)


def update_subscription(args: Any, for_person: bool) -> Reads:
    """A plan change; an upgrade charges the difference to the default card."""
    plan = yield from plan_of(args.new_plan_id)
    card = yield from default_card("charge for the plan change")
    return IntentDraft(summary=f"Move subscription {args.subscription_id} to {plan.text}; an upgrade charges the "
                               f"price difference now to {card.text}, then renews {plan.every} on it (recurring).",
                       amount=plan.price, currency=plan.currency, payment_method=card, funding="default", plan=plan,
                       recurring=True, bound=BOUND)


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
                       amount=plan.price, currency=plan.currency, payment_method=card, funding="default", plan=plan,
                       recurring=recurring, bound=BOUND)


def resume_subscription(args: Any, for_person: bool) -> Reads:
    """Billing restarts: the plan price goes to the default card."""
    return (yield from _subscription_charge(args, "Resume subscription {sub} on {plan}: billing restarts and the "
                                                  "plan price is charged to {card}, then every renewal "
                                                  "(recurring).", True))


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

