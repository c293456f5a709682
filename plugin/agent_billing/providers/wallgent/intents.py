"""How each gated Wallgent operation resolves its charge intent (see ``guardrails/intent.py``).

Wallgent bills a plan to one billing method, ``WALLET`` or ``CARD`` (the saved card). The resolvers read
``GET /billing`` for the current plan, method and card, so the person sees (and the intent binds) what
will actually pay: "Visa ending 4242" or "the Wallgent wallet". Plan prices are Wallgent's published
self-serve prices (the API has no catalogue endpoint); a price ``GET /billing`` reports is checked
(``check_price``) before it is shown or bound. A plan change charges a prorated difference that only the
server computes; the intent counts its upper bound, the full difference, and binds its basis (the plan
and price it replaces). Switching what pays, or saving the billing card, is a standing authorisation:
its intent carries the plan's renewals.

Example:
    >>> from agent_billing.providers.wallgent.operations import REGISTRY
    >>> op = REGISTRY.get("subscribe")
    >>> try:
    ...     next(op.intent(op.validate({"plan": "STARTER", "payment_method": "WALLET"}), False))
    ... except StopIteration as done:
    ...     done.value.summary
    ... # doctest: +ELLIPSIS
    'Subscribe to Starter (plan STARTER, $99.00 per month): $99.00 now from the Wallgent wallet, then every month...'
"""

from __future__ import annotations

from collections.abc import Generator
from decimal import Decimal
from typing import Any

from agent_billing.errors import BillingError
from agent_billing.guardrails.intent import (
    CardRef,
    Funding,
    IntentDraft,
    IntentUnavailable,
    PlanRef,
    Standing,
    check_price,
)
from agent_billing.money import format_usd
from agent_billing.tools.steps import ApiCall

Reads = Generator[ApiCall, Any, Any]

# Wallgent's published monthly prices of the self-serve plans (FREE is the sandbox start plan).
PRICES: dict[str, Decimal] = {"FREE": Decimal("0.00"), "STARTER": Decimal("99.00"), "GROWTH": Decimal("249.00")}
WALLET = "the Wallgent wallet"
BOUND = Decimal("100000")  # no Wallgent plan or renewal is believed above this
_RENEWING = ("ACTIVE", "PAST_DUE", "TRIALING")


def plan_ref(plan: str) -> PlanRef:
    """A Wallgent plan with its published monthly price.

    Example:
        >>> plan_ref("GROWTH").text
        'Growth (plan GROWTH, $249.00 per month)'
    """
    return PlanRef(id=plan, name=plan.capitalize(), price=PRICES.get(plan), period="month")


def billed_price(info: Any) -> Decimal | None:
    """What the current plan costs per month: the price ``GET /billing`` reports (checked), else the published one.

    Example:
        >>> from agent_billing.providers.wallgent.results import BillingInfo
        >>> billed_price(BillingInfo.model_validate({"plan": "GROWTH", "price": "249.00"}))
        Decimal('249.00')
    """
    if info.price is None:
        return PRICES.get(info.plan)
    return check_price(info.price, "price", charged=False, bound=BOUND)


def renewal(info: Any) -> Standing | None:
    """The current plan's monthly renewal, when it renews and costs something (what a billing method carries)."""
    price = billed_price(info)
    if not price or info.billing_status not in _RENEWING or info.cancel_at_period_end:
        return None
    plan = plan_ref(info.plan).model_copy(update={"price": price})
    return Standing(kind="renewal", ref=info.plan, amount=price, plan=plan, per_24h=plan.renewals_per_24h())


def billing(what: str) -> Reads:
    """``GET /billing``: what pays today (a failure means nothing may be charged)."""
    try:
        return (yield ApiCall("get_billing", {}))
    except BillingError as exc:
        if not exc.retryable:
            raise  # a missing scope or a bad token: its own error says what to do
        raise IntentUnavailable(f"Could not read the billing settings to see what would pay for {what} ({exc.code}); "
                                "nothing was charged. Try again shortly.") from None


def _saved_card(info: Any) -> CardRef | None:
    card = info.card_details
    if card is None or not card.payment_method_id:
        return None
    return CardRef(id=card.payment_method_id, brand=card.brand, last4=card.last4)


def _payer(info: Any, what: str) -> tuple[Funding, CardRef | None, str]:
    """(funding, card, words) for the current billing method."""
    if info.billing_payment_method == "WALLET":
        return "wallet", None, WALLET
    card = _saved_card(info)
    if card is None:
        raise IntentUnavailable(f"There is no saved billing card to pay for {what}. Save one (setup intent, then "
                                "payment_method save) or switch billing to WALLET first.")
    return "default", card, card.text


def subscribe(args: Any, for_person: bool) -> Reads:
    """A new subscription, paid now and every month from the wallet or the named card."""
    plan = plan_ref(args.plan)
    price = format_usd(PRICES[args.plan])
    if args.payment_method == "WALLET":
        return IntentDraft(summary=f"Subscribe to {plan.text}: {price} now from {WALLET}, then every month until "
                                   "cancelled (recurring).", amount=PRICES[args.plan], funding="wallet", plan=plan,
                           recurring=True, bound=BOUND)
    card = CardRef(id=args.stripe_payment_method_id)
    if for_person:
        info = yield from billing("the subscription")
        saved = _saved_card(info)
        card = saved if saved is not None and saved.id == card.id else card
    return IntentDraft(summary=f"Subscribe to {plan.text}: {price} charged now to {card.text}, then every month until "
                               "cancelled (recurring).", amount=PRICES[args.plan], payment_method=card,
                       funding="explicit", plan=plan, recurring=True, bound=BOUND)


def change_plan(args: Any, for_person: bool) -> Reads:
    """A plan change: an upgrade charges the prorated difference now to the billing method."""
    info = yield from billing("the plan change")
    if info.plan not in ("STARTER", "GROWTH"):
        raise IntentUnavailable(f"The account is on {info.plan}, not a paid self-serve plan; subscribe instead.")
    current = billed_price(info) or PRICES[info.plan]
    # The prorated charge is computed from the plan and price it replaces: that basis binds too.
    new = plan_ref(args.plan).model_copy(update={"basis": f"{info.plan} at {current}"})
    difference = max(PRICES[args.plan] - current, Decimal("0.00"))
    funding, card, payer = _payer(info, "the plan change")
    if difference > 0:
        words = (f"Change the plan from {info.plan} to {new.text}: the prorated difference, at most "
                 f"{format_usd(difference)}, is charged now to {payer}, then the new price every month (recurring).")
    else:
        words = f"Change the plan from {info.plan} to {new.text} now; nothing is charged today (recurring)."
    return IntentDraft(summary=words, amount=difference, payment_method=card, funding=funding, plan=new,
                       recurring=True, bound=BOUND)


def retry_payment(args: Any, for_person: bool) -> Reads:
    """The failed renewal, paid again with the billing method."""
    info = yield from billing("the failed payment")
    if info.billing_status != "PAST_DUE":
        raise IntentUnavailable(f"Nothing to retry: the subscription is {info.billing_status or 'not active'}.")
    funding, card, payer = _payer(info, "the failed payment")
    amount = check_price(billed_price(info), "price", bound=BOUND)  # a retry charges: zero or none is refused
    plan = plan_ref(info.plan).model_copy(update={"price": amount})
    return IntentDraft(summary=f"Retry the failed {info.plan} payment of {format_usd(amount)}, charged to {payer}.",
                       amount=amount, payment_method=card, funding=funding, plan=plan, bound=BOUND)


def change_payment_method(args: Any, for_person: bool) -> Reads:
    """Switching what future renewals hit: the wallet, or a card."""
    info = yield from billing("future renewals")
    carried = renewal(info)
    carries = (carried,) if carried is not None else ()
    plan, price = (carried.plan, carried.amount) if carried is not None else (None, None)
    what = (f"the {info.plan} renewals ({format_usd(price)} per month)" if price is not None
            else "later renewals (none are due now)")
    if args.payment_method == "WALLET":
        return IntentDraft(summary=f"From now on, charge {what} to {WALLET}.", amount=price, funding="wallet",
                           plan=plan, recurring=True, carries=carries, bound=BOUND)
    saved = _saved_card(info)
    card = CardRef(id=args.stripe_payment_method_id) if args.stripe_payment_method_id else saved
    if card is None:
        raise IntentUnavailable("There is no saved card to bill; save one first or name its pm_ id.")
    send = None
    if saved is not None and saved.id == card.id:
        # Naming the saved card or leaving it out is one charge: sent in one form, so a no covers both.
        card, send = saved, type(args).model_validate({"payment_method": "CARD"})
    return IntentDraft(summary=f"From now on, charge {what} to {card.text}.", amount=price, payment_method=card,
                       funding="explicit", plan=plan, recurring=True, carries=carries, bound=BOUND, send=send)


def save_card(args: Any, for_person: bool) -> Reads:
    """Saving a card as the billing card: under CARD billing every later renewal is charged to it, so the
    person is told which plan and price it will carry (and the intent binds that card and the billing method)."""
    info = yield from billing("saving the card")
    card = CardRef(id=args.payment_method_id)
    carried = renewal(info)
    if info.billing_payment_method == "CARD" and carried is not None and carried.amount is not None:
        return IntentDraft(summary=f"Save {card.text} as the billing card: from now on the {info.plan} renewals "
                                   f"({format_usd(carried.amount)} per month) are charged to it.",
                           amount=carried.amount, payment_method=card, funding="explicit", plan=carried.plan,
                           recurring=True, carries=(carried,), bound=BOUND)
    method = info.billing_payment_method or "none"
    return IntentDraft(summary=f"Save {card.text} as the billing card (billing is by {method}: nothing is charged to "
                               "it now; switching the plan to CARD billing asks again).", payment_method=card,
                       funding="explicit")


def cancel(args: Any, for_person: bool) -> Reads:
    """Cancelling at the end of the period."""
    info = yield from billing("the cancellation")
    end = f" ({info.billing_period_end})" if info.billing_period_end else ""
    return IntentDraft(summary=f"Cancel the {info.plan} plan at the end of the current period{end}; access stays until "
                               "then.", plan=plan_ref(info.plan))


def remove_card(args: Any, for_person: bool) -> Reads:
    """Removing the saved card."""
    info = yield from billing("the card removal")
    card = _saved_card(info)
    words = card.text if card is not None else "the saved card"
    return IntentDraft(summary=f"Remove {words} from the account (billing is by {info.billing_payment_method or 'none'}).",
                       payment_method=card)
