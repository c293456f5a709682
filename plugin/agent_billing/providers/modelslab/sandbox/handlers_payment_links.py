"""Handlers of the payment-links group: create a hosted checkout link, confirm it once paid.

Example:
    >>> from agent_billing.providers.modelslab.sandbox.dispatch import HANDLERS
    >>> "create_payment_link" in HANDLERS and "confirm_wallet_checkout" in HANDLERS
    True
"""

from __future__ import annotations

from typing import Any

from agent_billing.providers.modelslab import arguments as a
from agent_billing.providers.modelslab.sandbox import subscriptions as subs
from agent_billing.providers.modelslab.sandbox.checkout import checkout_url, confirm
from agent_billing.providers.modelslab.sandbox.dispatch import Ctx, handles
from agent_billing.providers.modelslab.sandbox.envelope import Reply, invalid_state
from agent_billing.sandbox.units import iso, to_cents, usd

INSTRUCTIONS = (
    "Forward this URL to the user. They will complete payment on the hosted checkout page. After payment, "
    "they are redirected to the success page where the session_id is displayed for copy-to-clipboard. Use the "
    "session_id to confirm the payment via {confirm}; until the user has paid it answers 409 checkout_not_paid "
    "(poll again later)."
)


@handles("create_payment_link")
def create_payment_link(ctx: Ctx, args: a.PaymentLinkArgs) -> Reply:
    """A hosted checkout URL to fund the wallet or subscribe to a plan.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     link = client.create_payment_link("fund", amount=25)
        >>> link.payment_url == "http://sandbox.local/sandbox/checkout/" + link.session_id, link.amount
        (True, Decimal('25.00'))
    """
    ledger, acct = ctx.ledger, ctx.account
    extra: dict[str, Any] = {}
    if args.purpose == "fund":
        assert args.amount is not None  # the argument model requires it for purpose "fund"
        cents, plan_id = to_cents(args.amount), None
        confirm_with = "POST /wallet/confirm-checkout"
    else:
        assert args.plan_id is not None
        plan = subs.plan_or_400(ledger, args.plan_id)
        existing = subs.conflicting(ledger, acct.id, plan)
        if existing is not None:
            raise invalid_state(f"The account already has subscription {existing.id} ({existing.status}) of this "
                                f"kind; change its plan with PUT /subscriptions/{existing.id} instead.",
                                subscription_id=existing.id)
        cents, plan_id = plan.price_cents, plan.id
        extra = {"plan_id": plan.id, "plan_name": plan.name}
        confirm_with = "POST /subscriptions/confirm-checkout"
    session = ledger.insert_checkout_session(acct.id, purpose=args.purpose, cents=cents, plan_id=plan_id,
                                             ttl_seconds=ctx.sandbox.checkout_ttl_seconds)
    return Reply({
        "payment_url": checkout_url(ctx.root_url, session.id), "session_id": session.id, "purpose": args.purpose,
        "amount": usd(cents), **extra, "expires_at": iso(session.expires_at),
        "instructions": INSTRUCTIONS.format(confirm=confirm_with),
    })


@handles("confirm_wallet_checkout")
def confirm_wallet_checkout(ctx: Ctx, args: a.CheckoutArgs) -> Reply:
    """Credit the wallet for a paid fund session (once).

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> from agent_billing.providers.modelslab.sandbox import checkout
        >>> app = sandbox.create_app()
        >>> with inprocess.sandbox_clients(app)[0] as client:
        ...     session_id = client.create_payment_link("fund", amount=25).session_id
        ...     _ = checkout.complete_session(app.state.sandbox, session_id)  # the human pays on the hosted page
        ...     client.confirm_wallet_checkout(session_id).message
        'Payment confirmed: $25.00 credited to the wallet.'
    """
    return confirm(ctx, args.session_id, "fund")


@handles("confirm_subscription_checkout")
def confirm_subscription_checkout(ctx: Ctx, args: a.CheckoutArgs) -> Reply:
    """Start the subscription of a paid subscribe session (once).

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> from agent_billing.providers.modelslab.sandbox import checkout
        >>> app = sandbox.create_app()
        >>> with inprocess.sandbox_clients(app)[0] as client:
        ...     session_id = client.create_payment_link("subscribe", plan_id=10).session_id
        ...     _ = checkout.complete_session(app.state.sandbox, session_id)  # the human pays on the hosted page
        ...     client.confirm_subscription_checkout(session_id).subscription.status
        'active'
    """
    return confirm(ctx, args.session_id, "subscribe")
