"""Handlers of the subscriptions group (the rules live in :mod:`agent_billing.providers.modelslab.sandbox.subscriptions`).

Example:
    >>> from agent_billing.providers.modelslab.sandbox.dispatch import HANDLERS
    >>> "create_subscription" in HANDLERS and "fix_payment" in HANDLERS
    True
"""

from __future__ import annotations

from agent_billing.providers.modelslab import arguments as a
from agent_billing.providers.modelslab.sandbox import subscriptions as subs
from agent_billing.providers.modelslab.sandbox.checkout import checkout_url
from agent_billing.providers.modelslab.sandbox.dispatch import Ctx, handles
from agent_billing.providers.modelslab.sandbox.envelope import Reply, invalid, invalid_state
from agent_billing.providers.modelslab.sandbox.payments import card_or_default, charge, resolve_card, unless_succeeded
from agent_billing.providers.modelslab.sandbox.seed import pay_as_you_go
from agent_billing.sandbox.units import iso, to_cents, usd


@handles("list_plans")
def list_plans(ctx: Ctx, args: a.NoArgs) -> Reply:
    """The catalogue and the pay-as-you-go option.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     [(p.id, p.name, p.price) for p in client.list_plans().subscription_plans][:2]
        [(5, 'Basic', Decimal('27.00')), (10, 'Standard', Decimal('47.00'))]
    """
    plans = [subs.plan_summary(p) for p in ctx.ledger.plans()]
    return Reply({"subscription_plans": plans, "pay_as_you_go": pay_as_you_go(), "count": len(plans)})


@handles("list_subscriptions")
def list_subscriptions(ctx: Ctx, args: a.NoArgs) -> Reply:
    """The account's subscriptions, every status included.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     _ = client.create_subscription(10, "pm_card_visa")
        ...     [(s.id, s.plan_name, s.status) for s in client.list_subscriptions().subscriptions]
        [(1001, 'Standard', 'active')]
    """
    items = [subs.summary(ctx.ledger, s) for s in ctx.ledger.subscriptions(ctx.account.id)]
    return Reply({"subscriptions": items, "count": len(items)})


@handles("create_subscription")
def create_subscription(ctx: Ctx, args: a.CreateSubscriptionArgs) -> Reply:
    """Headless with a payment method (charges now), else a checkout URL for a human.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     client.create_subscription(10, "pm_card_visa").message
        ...     client.create_subscription(42).status  # no payment method: a checkout URL for a human
        'Subscribed to Standard: $47.00 charged to Visa ending 4242.'
        'checkout_required'
    """
    ledger, acct, now = ctx.ledger, ctx.account, ctx.now()
    plan = subs.plan_or_400(ledger, args.plan_id)
    existing = subs.conflicting(ledger, acct.id, plan)
    if existing is not None:
        raise invalid_state(
            f"The account already has subscription {existing.id} ({existing.status}) of this kind; change its "
            f"plan with PUT /subscriptions/{existing.id} instead.", subscription_id=existing.id)
    if args.payment_method_id is None:
        session = ledger.insert_checkout_session(acct.id, purpose="subscribe", cents=plan.price_cents,
                                                 plan_id=plan.id, ttl_seconds=ctx.sandbox.checkout_ttl_seconds,
                                                 success_url=args.success_url, cancel_url=args.cancel_url)
        return Reply({
            "message": f"Send checkout_url to a human to subscribe to {plan.name} (${usd(plan.price_cents)}/"
            f"{plan.period}); then confirm with POST /subscriptions/confirm-checkout and the session_id.",
            "checkout_url": checkout_url(ctx.root_url, session.id), "session_id": session.id,
            "status": "checkout_required", "plan_id": plan.id, "amount": usd(plan.price_cents),
            "expires_at": iso(session.expires_at),
        })
    card = resolve_card(ledger, acct.id, args.payment_method_id, now=now)
    if plan.trial_days:
        ledger.claim_stripe_payment_method(card.id, acct.id)
        sub = ledger.insert_subscription(acct.id, plan.id, status="trialing", payment_method_id=card.id,
                                         period=(now, now + plan.trial_days * 86400), source="headless")
        return Reply(subs.result(ledger, sub, f"Trial of {plan.name} started; the first charge of "
                                 f"${usd(plan.price_cents)} is on {iso(sub.current_period_end)}."))
    period = subs.period_from(plan, now)
    with ledger.transaction():
        result = charge(ledger, acct.id, plan.price_cents, card, purpose="subscription",
                        description=f"{plan.name} subscription", plan_id=plan.id, period=period)
        other = unless_succeeded(result, extra={"plan_id": plan.id})
        if other is not None:
            return other
        sub = ledger.insert_subscription(acct.id, plan.id, status="active", payment_method_id=card.id,
                                         period=period, source="headless")
        assert result.invoice is not None
        ledger.update_invoice(result.invoice.id, subscription_id=sub.id)
    return Reply(subs.result(ledger, sub, f"Subscribed to {plan.name}: ${usd(plan.price_cents)} charged to "
                             f"{card.brand.title()} ending {card.last4}.", payment=result.payment(),
                             invoice_id=result.invoice.id))


@handles("get_subscription_status")
def get_subscription_status(ctx: Ctx, args: a.SubscriptionArgs) -> Reply:
    """Status and current period.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     subscription_id = client.create_subscription(10, "pm_card_visa").subscription.id
        ...     client.get_subscription_status(subscription_id).status
        'active'
    """
    return Reply(subs.summary(ctx.ledger, subs.sub_or_404(ctx.ledger, ctx.account.id, args.subscription_id)))


@handles("update_subscription")
def update_subscription(ctx: Ctx, args: a.UpdateSubscriptionArgs) -> Reply:
    """Change plan: an upgrade charges the price difference now, a downgrade charges nothing.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     subscription_id = client.create_subscription(10, "pm_card_visa").subscription.id
        ...     client.update_subscription(subscription_id, new_plan_id=11).message
        'Upgraded to Premium: $100.00 price difference charged.'
    """
    ledger, acct, now = ctx.ledger, ctx.account, ctx.now()
    sub = subs.sub_or_404(ledger, acct.id, args.subscription_id)
    subs.require_status(sub, ("active", "trialing"), "change the plan of")
    old = subs.plan_or_400(ledger, sub.plan_id)
    new = subs.plan_or_400(ledger, args.new_plan_id, "new_plan_id")
    if new.id == old.id:
        raise invalid_state(f"Subscription {sub.id} is already on plan {new.id} ({new.name}).", subscription_id=sub.id)
    if new.type != old.type or old.type == "addon":
        raise invalid(f"Plan {new.id} ({new.name}) is not a plan this subscription can move to; create a separate "
                      "subscription for it.", "new_plan_id")
    diff = new.price_cents - old.price_cents
    with ledger.transaction():
        extra: dict[str, object] = {"previous_plan_id": old.id, "amount_charged": usd(0)}
        if diff > 0 and sub.status == "active":
            card = subs.payer_or_400(ledger, acct, sub, now=now)
            result = charge(ledger, acct.id, diff, card, purpose="subscription_upgrade",
                            description=f"Upgrade {old.name} -> {new.name} (price difference)",
                            subscription_id=sub.id, plan_id=new.id)
            other = unless_succeeded(result, extra={"subscription_id": sub.id})
            if other is not None:
                return other
            extra.update(amount_charged=usd(diff), payment=result.payment(),
                         invoice_id=result.invoice.id if result.invoice else None)
            message = f"Upgraded to {new.name}: ${usd(diff)} price difference charged."
        elif diff > 0:
            message = f"Upgraded to {new.name} during the trial; nothing charged now."
        else:
            message = f"Moved to {new.name}; nothing charged (no refund for the current period)."
        sub = ledger.update_subscription(sub.id, plan_id=new.id)
    return Reply(subs.result(ledger, sub, message, **extra))


@handles("pause_subscription")
def pause_subscription(ctx: Ctx, args: a.SubscriptionArgs) -> Reply:
    """Pause billing and service.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     subscription_id = client.create_subscription(10, "pm_card_visa").subscription.id
        ...     client.pause_subscription(subscription_id).status
        'paused'
    """
    sub = subs.sub_or_404(ctx.ledger, ctx.account.id, args.subscription_id)
    subs.require_status(sub, ("active", "trialing", "past_due"), "pause")
    sub = ctx.ledger.update_subscription(sub.id, status="paused", paused_at=ctx.now())
    return Reply(subs.result(ctx.ledger, sub, f"Subscription {sub.id} paused; no charges until it is resumed."))


def _charge_new_period(ctx: Ctx, sub_id: int, *, allowed: tuple[str, ...], action: str, done: str, purpose: str,
                       settle_open_invoice: bool = False) -> Reply:
    """Charge the plan price (or the open invoice) to the payer; on success start a period now."""
    ledger, acct, now = ctx.ledger, ctx.account, ctx.now()
    sub = subs.sub_or_404(ledger, acct.id, sub_id)
    subs.require_status(sub, allowed, action)
    plan = subs.plan_or_400(ledger, sub.plan_id)
    card = subs.payer_or_400(ledger, acct, sub, now=now)
    period = subs.period_from(plan, now)
    open_invoice = ledger.open_invoice(sub.id) if settle_open_invoice else None
    cents = open_invoice.amount_cents if open_invoice else plan.price_cents
    with ledger.transaction():
        result = charge(ledger, acct.id, cents, card, purpose=purpose, description=f"{plan.name} ({action})",
                        settles=open_invoice, subscription_id=sub.id, plan_id=plan.id, period=period)
        other = unless_succeeded(result, extra={"subscription_id": sub.id})
        if other is not None:
            return other
        sub = ledger.update_subscription(sub.id, status="active", current_period_start=period[0],
                                         current_period_end=period[1], paused_at=None, payment_method_id=card.id)
    return Reply(subs.result(ledger, sub, f"Subscription {sub.id} {done}: ${usd(cents)} charged to "
                             f"{card.brand.title()} ending {card.last4}; period ends {iso(period[1])}.",
                             payment=result.payment(), invoice_id=result.invoice.id if result.invoice else None,
                             amount_charged=usd(cents)))


@handles("resume_subscription")
def resume_subscription(ctx: Ctx, args: a.SubscriptionArgs) -> Reply:
    """Resume a paused subscription: charges the plan price, starts a new period.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     subscription_id = client.create_subscription(10, "pm_card_visa").subscription.id
        ...     _ = client.pause_subscription(subscription_id)
        ...     client.resume_subscription(subscription_id).status
        'active'
    """
    return _charge_new_period(ctx, args.subscription_id, allowed=("paused",), action="resume", done="resumed",
                              purpose="subscription_resume")


@handles("reset_subscription_cycle")
def reset_subscription_cycle(ctx: Ctx, args: a.SubscriptionArgs) -> Reply:
    """Start a new period now, charging the plan price.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     subscription_id = client.create_subscription(10, "pm_card_visa").subscription.id
        ...     client.reset_subscription_cycle(subscription_id).amount_charged
        Decimal('47.00')
    """
    return _charge_new_period(ctx, args.subscription_id, allowed=("active", "trialing"),
                              action="reset the cycle of", done="restarted", purpose="subscription_reset")


@handles("fix_payment")
def fix_payment(ctx: Ctx, args: a.SubscriptionArgs) -> Reply:
    """Pay a past-due subscription's open invoice with the default card.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> app = sandbox.create_app(); ledger = app.state.sandbox.ledger
        >>> with inprocess.sandbox_clients(app)[0] as client:
        ...     sub = ledger.subscription(client.create_subscription(10, "pm_card_visa").subscription.id)
        ...     _ = subs.fail_payment(ledger, sub, now=ledger.clock())  # the renewal is declined: past_due
        ...     client.fix_payment(sub.id).status
        'active'
    """
    return _charge_new_period(ctx, args.subscription_id, allowed=("past_due",), action="fix the payment of", done="paid up",
                              purpose="subscription_fix", settle_open_invoice=True)


@handles("charge_subscription_amount")
def charge_subscription_amount(ctx: Ctx, args: a.ChargeAmountArgs) -> Reply:
    """A one-off charge to the default card, credited to the wallet as API credit.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     _ = client.add_payment_method("pm_card_visa")
        ...     client.charge_subscription_amount(10).message
        '$10.00 charged to Visa ending 4242 and added to the wallet as API credit.'
    """
    cents = to_cents(args.amount)
    card = card_or_default(ctx.ledger, ctx.account, None, now=ctx.now(), what="charge")
    with ctx.ledger.transaction():
        result = charge(ctx.ledger, ctx.account.id, cents, card, purpose="charge_amount",
                        description=f"One-off charge {usd(cents)} USD")
        other = unless_succeeded(result)
        if other is not None:
            return other
        ctx.ledger.credit(ctx.account.id, cents, source="stripe", transaction_id=result.intent.id,
                          usecase="charge_amount", description=f"{card.brand.title()} ending {card.last4}")
    return Reply({"message": f"${usd(cents)} charged to {card.brand.title()} ending {card.last4} and added to the "
                  "wallet as API credit.", "amount": usd(cents), "balance": usd(ctx.ledger.balance(ctx.account.id)),
                  "currency": "USD", "payment": result.payment(),
                  "invoice_id": result.invoice.id if result.invoice else None})
