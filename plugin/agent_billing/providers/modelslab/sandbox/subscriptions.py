"""Subscription rules: periods, who pays, conflicts, renewals and the ``past_due`` path.

Statuses are ``active``, ``trialing``, ``past_due``, ``paused`` and ``canceled``. Transitions:

==================  ===============================  =============================================
operation           allowed from                     effect
==================  ===============================  =============================================
create (headless)   -                                charges the plan price -> ``active`` (a trial plan
                                                     starts ``trialing`` and charges at trial end)
update              active, trialing                 upgrade charges the price difference now (not during
                                                     a trial); downgrade charges nothing
pause               active, trialing, past_due       ``paused``; no renewals while paused
resume              paused                           charges the plan price -> ``active``, new period
reset-cycle         active, trialing                 charges the plan price -> ``active``, period from now
fix-payment         past_due                         pays the open invoice -> ``active``, period from now
renewal (clock)     active, trialing at period end   charges the plan price; a failure -> ``past_due``
==================  ===============================  =============================================

Anything else is 409 ``invalid_state``. Charges go to the account's default card, else to the card the
subscription was created with. Renewals happen lazily: before each request, due periods of the
caller's subscriptions are billed (so an injected clock can move a subscription through months).

Example:
    >>> from agent_billing.providers.modelslab.sandbox.ledger import Ledger
    >>> ledger = Ledger(":memory:", clock=lambda: 0.0)
    >>> start, end = period_from(ledger.plan(10), 0.0)
    >>> (end - start) / 86400
    30.0
"""

from __future__ import annotations

from typing import Any

from agent_billing.providers.modelslab.sandbox.envelope import ApiError, invalid, invalid_state, not_found
from agent_billing.providers.modelslab.sandbox.ledger import Account, Ledger, Plan, Subscription
from agent_billing.providers.modelslab.sandbox.payments import Card, charge, default_card, resolve_card
from agent_billing.providers.modelslab.sandbox.seed import PERIOD_SECONDS
from agent_billing.sandbox.units import iso, usd

LIVE = ("active", "trialing", "past_due", "paused")
MAX_RENEWALS_PER_PASS = 24


def period_from(plan: Plan, start: float) -> tuple[float, float]:
    """A billing period of ``plan`` starting at ``start``.

    Example:
        >>> period_from(Ledger(":memory:", clock=lambda: 0.0).plan(12), 0.0)
        (0.0, 31536000.0)
    """
    return start, start + PERIOD_SECONDS[plan.period]


def plan_or_400(ledger: Ledger, plan_id: int, field: str = "plan_id") -> Plan:
    """The plan, or 400 ``validation_error`` naming ``GET /subscriptions/plans``.

    Example:
        >>> ledger = Ledger(":memory:", clock=lambda: 0.0)
        >>> plan_or_400(ledger, 10).name
        'Standard'
        >>> plan_or_400(ledger, 99)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        agent_billing...envelope.ApiError: No plan with id 99; list the plans with GET /subscriptions/plans.
    """
    plan = ledger.plan(plan_id)
    if plan is None:
        raise invalid(f"No plan with id {plan_id}; list the plans with GET /subscriptions/plans.", field)
    return plan


def sub_or_404(ledger: Ledger, account_id: int, sub_id: int) -> Subscription:
    """The account's subscription, or 404 ``not_found``.

    Example:
        >>> ledger = Ledger(":memory:", clock=lambda: 0.0)
        >>> acct = ledger.ensure_account("sk_sandbox_demo", reseller=False)
        >>> sub_or_404(ledger, acct.id, 1001)
        Traceback (most recent call last):
        agent_billing.providers.modelslab.sandbox.envelope.ApiError: No subscription with id 1001 on this account.
    """
    sub = ledger.subscription(sub_id, account_id)
    if sub is None:
        raise not_found(f"No subscription with id {sub_id} on this account.")
    return sub


def plan_summary(plan: Plan) -> dict[str, Any]:
    """A plan as ``GET /subscriptions/plans`` lists it.

    Example:
        >>> summary = plan_summary(Ledger(":memory:", clock=lambda: 0.0).plan(43))
        >>> summary["name"], summary["price"], summary["trial_days"]
        ('Imagen Starter', Decimal('9.00'), 7)
    """
    out: dict[str, Any] = {
        "id": plan.id, "name": plan.name, "category": plan.category, "period": plan.period, "type": plan.type,
        "price": usd(plan.price_cents), "currency": "USD", "api_call_limit": plan.api_call_limit,
        "rate_limit": plan.rate_limit, "features": list(plan.features),
    }
    if plan.trial_days:
        out["trial_days"] = plan.trial_days
    return out


def summary(ledger: Ledger, sub: Subscription) -> dict[str, Any]:
    """A subscription as the API shows it.

    Example:
        >>> sub = Subscription(1001, 1, 10, "active", "sub_1abc", "pm_card_visa", 0.0, 2592000.0, 0.0, None, None, "headless")
        >>> view = summary(Ledger(":memory:", clock=lambda: 0.0), sub)
        >>> view["id"], view["plan_name"], view["status"], view["current_period_end"]
        (1001, 'Standard', 'active', '1970-01-31T00:00:00Z')
    """
    plan = ledger.plan(sub.plan_id)
    assert plan is not None
    return {
        "id": sub.id, "plan_id": sub.plan_id, "plan_name": plan.name, "feature": plan.category,
        "status": sub.status, "stripe_subscription_id": sub.stripe_subscription_id,
        "current_period_start": iso(sub.current_period_start), "current_period_end": iso(sub.current_period_end),
        "price": usd(plan.price_cents), "period": plan.period, "payment_method_id": sub.payment_method_id,
        "created_at": iso(sub.created_at),
    }


def result(ledger: Ledger, sub: Subscription, message: str, **extra: Any) -> dict[str, Any]:
    """The body of a lifecycle response (create, update, pause, resume, reset-cycle, fix-payment).

    Example:
        >>> sub = Subscription(1001, 1, 10, "active", "sub_1abc", "pm_card_visa", 0.0, 2592000.0, 0.0, None, None, "headless")
        >>> body = result(Ledger(":memory:", clock=lambda: 0.0), sub, "Subscribed to Standard.", invoice_id="in_1abc")
        >>> body["message"], body["status"], body["subscription"]["plan_name"], body["invoice_id"]
        ('Subscribed to Standard.', 'active', 'Standard', 'in_1abc')
    """
    return {"message": message, "subscription": summary(ledger, sub),
            "stripe_subscription_id": sub.stripe_subscription_id, "status": sub.status, **extra}


def conflicting(ledger: Ledger, account_id: int, plan: Plan, *, ignore: int | None = None) -> Subscription | None:
    """A live subscription that ``plan`` would duplicate (same plan type; add-ons only the same add-on).

    Example:
        >>> ledger = Ledger(":memory:", clock=lambda: 0.0)
        >>> acct = ledger.ensure_account("sk_sandbox_demo", reseller=False)
        >>> sub = ledger.insert_subscription(acct.id, 10, status="active", payment_method_id="pm_card_visa",
        ...                               period=(0.0, 30 * 86400.0), source="headless")
        >>> conflicting(ledger, acct.id, ledger.plan(11)) == sub, conflicting(ledger, acct.id, ledger.plan(20))
        (True, None)
    """
    for sub in ledger.subscriptions(account_id):
        if sub.status not in LIVE or sub.id == ignore:
            continue
        other = ledger.plan(sub.plan_id)
        assert other is not None
        if other.id == plan.id or (plan.type != "addon" and other.type == plan.type):
            return sub
    return None


def require_status(sub: Subscription, allowed: tuple[str, ...], action: str) -> None:
    """409 ``invalid_state`` unless the subscription is in one of ``allowed``.

    Example:
        >>> sub = Subscription(1001, 1, 10, "paused", "sub_1abc", None, 0.0, 2592000.0, 0.0, 0.0, None, "headless")
        >>> require_status(sub, ("active", "trialing"), "change the plan of")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        agent_billing...envelope.ApiError: Cannot change the plan of subscription 1001: it is paused ... Resume it first ...
    """
    if sub.status not in allowed:
        hint = {
            "past_due": " Fix the payment first (POST /subscriptions/{id}/fix-payment).",
            "paused": " Resume it first (POST /subscriptions/{id}/resume).",
            "canceled": " Create a new subscription instead.",
        }.get(sub.status, "")
        raise invalid_state(
            f"Cannot {action} subscription {sub.id}: it is {sub.status} (allowed from: {', '.join(allowed)})."
            + hint.replace("{id}", str(sub.id)),
            subscription_id=sub.id, status=sub.status, allowed_from=list(allowed),
        )


def payer(ledger: Ledger, account: Account, sub: Subscription, *, now: float) -> Card | None:
    """The card a subscription charge goes to: the default card, else the subscription's own card.

    Example:
        >>> ledger = Ledger(":memory:", clock=lambda: 0.0)
        >>> acct = ledger.ensure_account("sk_sandbox_demo", reseller=False)
        >>> sub = Subscription(1001, acct.id, 10, "active", "sub_1", "pm_card_visa", 0.0, 2592000.0, 0.0, None, None, "headless")
        >>> payer(ledger, acct, sub, now=0.0).id  # no default card: the subscription's own card
        'pm_card_visa'
    """
    card = default_card(ledger, account, now=now)
    if card is None and sub.payment_method_id:
        try:
            card = resolve_card(ledger, account.id, sub.payment_method_id, now=now)
        except ApiError:
            card = None
    return card


def payer_or_400(ledger: Ledger, account: Account, sub: Subscription, *, now: float) -> Card:
    """:func:`payer`, or 400 when there is no usable card.

    Example:
        >>> ledger = Ledger(":memory:", clock=lambda: 0.0)
        >>> acct = ledger.ensure_account("sk_sandbox_demo", reseller=False)
        >>> sub = Subscription(1001, acct.id, 10, "active", "sub_1abc", None, 0.0, 2592000.0, 0.0, None, None, "headless")
        >>> payer_or_400(ledger, acct, sub, now=0.0)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        agent_billing.providers.modelslab.sandbox.envelope.ApiError: No usable card for this subscription. ...
    """
    card = payer(ledger, account, sub, now=now)
    if card is None:
        raise invalid("No usable card for this subscription. Save a card with POST /billing/payment-methods "
                      "(make_default true), or create a payment link (POST /billing/payment-link).",
                      "payment_method_id")
    return card


def fail_payment(ledger: Ledger, sub: Subscription, *, now: float, reason: str = "generic_decline") -> Subscription:
    """Make an active or trialing subscription ``past_due``: an open invoice and a failed payment.

    Example:
        >>> ledger = Ledger(":memory:", clock=lambda: 0.0)
        >>> acct = ledger.ensure_account("sk_sandbox_demo", reseller=False)
        >>> sub = ledger.insert_subscription(acct.id, 10, status="active", payment_method_id="pm_card_visa",
        ...                               period=(0.0, 30 * 86400.0), source="headless")
        >>> fail_payment(ledger, sub, now=0.0).status, ledger.open_invoice(sub.id).description
        ('past_due', 'Standard renewal')
    """
    require_status(sub, ("active", "trialing"), "fail the payment of")
    plan = ledger.plan(sub.plan_id)
    assert plan is not None
    with ledger.transaction():
        invoice = ledger.insert_invoice(sub.account_id, plan.price_cents, status="open",
                                        description=f"{plan.name} renewal", payment_intent_id=None,
                                        subscription_id=sub.id, plan_id=plan.id,
                                        period=period_from(plan, sub.current_period_end))
        intent = ledger.insert_payment_intent(sub.account_id, plan.price_cents, status="failed",
                                              purpose="subscription_renewal", description=f"{plan.name} renewal",
                                              payment_method_id=sub.payment_method_id, decline_code=reason)
        ledger.update_invoice(invoice.id, payment_intent_id=intent.id)
        return ledger.update_subscription(sub.id, status="past_due")


def process_due(ledger: Ledger, account: Account, *, now: float) -> None:
    """Bill every period of the account's subscriptions that has ended (active and trialing only).

    Example:
        >>> ledger = Ledger(":memory:", clock=lambda: 0.0)
        >>> acct = ledger.ensure_account("sk_sandbox_demo", reseller=False)
        >>> sub = ledger.insert_subscription(acct.id, 10, status="active", payment_method_id="pm_card_visa",
        ...                               period=(0.0, 30 * 86400.0), source="headless")
        >>> process_due(ledger, acct, now=30 * 86400.0)  # the period ended: renew it
        >>> ledger.subscription(sub.id).current_period_end / 86400, ledger.invoices(acct.id)[0].status
        (60.0, 'paid')
    """
    for sub in ledger.subscriptions(account.id):
        for _ in range(MAX_RENEWALS_PER_PASS):
            if sub.status not in ("active", "trialing") or sub.current_period_end > now:
                break
            sub = _renew(ledger, account, sub, now=now)


def _renew(ledger: Ledger, account: Account, sub: Subscription, *, now: float) -> Subscription:
    plan = ledger.plan(sub.plan_id)
    assert plan is not None
    period = period_from(plan, sub.current_period_end)
    with ledger.transaction():
        invoice = ledger.insert_invoice(account.id, plan.price_cents, status="open",
                                        description=f"{plan.name} renewal", payment_intent_id=None,
                                        subscription_id=sub.id, plan_id=plan.id, period=period)
        card = payer(ledger, ledger.account(account.id), sub, now=now)
        if card is None:
            return ledger.update_subscription(sub.id, status="past_due")
        outcome = charge(ledger, account.id, plan.price_cents, card, purpose="subscription_renewal",
                         description=f"{plan.name} renewal", settles=invoice)
        if not outcome.succeeded:
            return ledger.update_subscription(sub.id, status="past_due")
        return ledger.update_subscription(sub.id, status="active", current_period_start=period[0],
                                          current_period_end=period[1], payment_method_id=card.id)
