"""Handlers of the coupons group: validate (never changes anything) and redeem.

A ``credit`` coupon adds a fixed credit; a ``bonus`` coupon needs a purchase (``purchase_amount`` and
``payment_method_id``), charges it, and credits the purchase plus a percentage bonus up to a cap;
a ``credit_or_bonus`` coupon (``WELCOME50``) does whichever the request asks for. Each coupon is
redeemable once per account; a declined purchase does not use it up.

Example:
    >>> from agent_billing.providers.modelslab.sandbox.ledger import Coupon
    >>> c = Coupon("X", "bonus", "", None, 50, 5000, None, None)
    >>> bonus_cents(c, 2000), bonus_cents(c, 20000)
    (1000, 5000)
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from agent_billing.providers.modelslab import arguments as a
from agent_billing.providers.modelslab.sandbox.dispatch import Ctx, handles
from agent_billing.providers.modelslab.sandbox.envelope import Reply, invalid
from agent_billing.providers.modelslab.sandbox.ledger import Coupon
from agent_billing.providers.modelslab.sandbox.payments import charge, resolve_card, unless_succeeded
from agent_billing.sandbox.units import iso_or_none, to_cents, usd


def bonus_cents(coupon: Coupon, purchase_cents: int) -> int:
    """The bonus a purchase earns: the percentage, rounded half up to the cent, capped.

    Example:
        >>> bonus20 = Coupon("BONUS20", "bonus", "", None, 20, 10000, 2500, None)
        >>> bonus_cents(bonus20, 2500), bonus_cents(bonus20, 100000)
        (500, 10000)
    """
    pct = Decimal(coupon.bonus_percent or 0)
    bonus = int((Decimal(purchase_cents) * pct / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return min(bonus, coupon.max_bonus_cents) if coupon.max_bonus_cents is not None else bonus


def _problem(ctx: Ctx, coupon: Coupon | None, code: str, purchase_cents: int | None) -> str | None:
    """Why this coupon cannot be used as asked, or ``None`` when it can."""
    if coupon is None:
        return f"No coupon with code {code!r}."
    if coupon.expires_at is not None and ctx.now() >= coupon.expires_at:
        return f"Coupon {coupon.code} expired on {iso_or_none(coupon.expires_at)}."
    if ctx.ledger.redemption(ctx.account.id, coupon.code) is not None:
        return f"Coupon {coupon.code} was already redeemed on this account."
    if purchase_cents is None and coupon.kind == "bonus":
        return (f"Coupon {coupon.code} is a bonus coupon: redeem it with purchase_amount and payment_method_id "
                "(the purchase is charged and credited with the bonus).")
    if purchase_cents is not None and coupon.kind == "credit":
        return f"Coupon {coupon.code} is a credit coupon: redeem it without a purchase."
    if purchase_cents is not None and coupon.min_purchase_cents and purchase_cents < coupon.min_purchase_cents:
        return f"Coupon {coupon.code} needs a purchase of at least ${usd(coupon.min_purchase_cents)}."
    return None


def _terms(coupon: Coupon) -> dict[str, Any]:
    return {
        "coupon_code": coupon.code, "coupon_type": coupon.kind, "description": coupon.description,
        "requires_purchase": coupon.kind == "bonus",
        "bonus_percent": coupon.bonus_percent,
        "max_bonus": usd(coupon.max_bonus_cents) if coupon.max_bonus_cents is not None else None,
        "min_purchase": usd(coupon.min_purchase_cents) if coupon.min_purchase_cents else None,
        "expires_at": iso_or_none(coupon.expires_at),
    }


@handles("validate_coupon")
def validate_coupon(ctx: Ctx, args: a.ValidateCouponArgs) -> Reply:
    """What the coupon would give (``valid: false`` with a message when it cannot be used).

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     client.validate_coupon("WELCOME50", purchase_amount=40).message
        'Valid: a $40.00 purchase is credited $60.00.'
    """
    coupon = ctx.ledger.coupon(args.coupon_code)
    purchase = to_cents(args.purchase_amount) if args.purchase_amount is not None else None
    problem = _problem(ctx, coupon, args.coupon_code, purchase)
    if coupon is None:
        return Reply({"valid": False, "coupon_code": args.coupon_code, "message": problem})
    data: dict[str, Any] = {"valid": problem is None, **_terms(coupon),
                            "credit_amount": usd(coupon.credit_cents) if coupon.credit_cents else None,
                            "bonus_amount": None}
    if purchase is not None and coupon.kind != "credit":
        bonus = bonus_cents(coupon, purchase)
        data.update(bonus_amount=usd(bonus), purchase_amount=usd(purchase), total_credit=usd(purchase + bonus))
    if problem is None:
        if purchase is not None:
            data["message"] = (f"Valid: a ${usd(purchase)} purchase is credited "
                               f"${usd(purchase + bonus_cents(coupon, purchase))}.")
        elif coupon.kind == "bonus":
            data["message"] = f"Valid with a purchase: {coupon.bonus_percent}% bonus."
        else:
            data["message"] = f"Valid: ${usd(coupon.credit_cents or 0)} credit."
    else:
        data["message"] = problem
    return Reply(data)


@handles("redeem_coupon")
def redeem_coupon(ctx: Ctx, args: a.RedeemCouponArgs) -> Reply:
    """Redeem: a plain credit, or charge the purchase and credit it with the bonus.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     client.redeem_coupon("FREE10").message
        'Coupon FREE10 redeemed: $10.00 credited.'
    """
    ledger, acct = ctx.ledger, ctx.account
    coupon = ledger.coupon(args.coupon_code)
    purchase = to_cents(args.purchase_amount) if args.purchase_amount is not None else None
    problem = _problem(ctx, coupon, args.coupon_code, purchase)
    if problem is not None or coupon is None:
        raise invalid(problem or "Unknown coupon.", "coupon_code")
    if purchase is None:
        credit = coupon.credit_cents or 0
        with ledger.transaction():
            red = ledger.insert_redemption(acct.id, coupon.code, mode="credit", credit_cents=credit)
            ledger.credit(acct.id, credit, source="coupon", transaction_id=red.id, usecase="coupon_credit",
                          description=f"Coupon {coupon.code}")
        return Reply({"message": f"Coupon {coupon.code} redeemed: ${usd(credit)} credited.", "coupon_code": coupon.code,
                      "credited": usd(credit), "bonus_amount": None, "amount": None,
                      "balance": usd(ledger.balance(acct.id)), "currency": "USD", "redemption_id": red.id})
    assert args.payment_method_id is not None  # the argument model requires both or neither
    card = resolve_card(ledger, acct.id, args.payment_method_id, now=ctx.now())
    bonus = bonus_cents(coupon, purchase)
    with ledger.transaction():
        result = charge(ledger, acct.id, purchase, card, purpose="coupon_purchase",
                        description=f"Wallet top-up of ${usd(purchase)} with coupon {coupon.code}")
        other = unless_succeeded(result, extra={"coupon_code": coupon.code})
        if other is not None:
            return other
        ledger.credit(acct.id, purchase, source="stripe", transaction_id=result.intent.id, usecase="coupon_purchase",
                      description=f"{card.brand.title()} ending {card.last4}")
        red = ledger.insert_redemption(acct.id, coupon.code, mode="bonus", credit_cents=bonus, purchase_cents=purchase,
                                       payment_intent_id=result.intent.id)
        ledger.credit(acct.id, bonus, source="coupon", transaction_id=red.id, usecase="coupon_bonus",
                      description=f"Coupon {coupon.code} bonus")
    return Reply({
        "message": f"Coupon {coupon.code} redeemed: ${usd(purchase)} charged, ${usd(purchase + bonus)} credited "
        f"(bonus ${usd(bonus)}).",
        "coupon_code": coupon.code, "amount": usd(purchase), "bonus_amount": usd(bonus),
        "credited": usd(purchase + bonus), "balance": usd(ledger.balance(acct.id)), "currency": "USD",
        "payment": result.payment(), "invoice_id": result.invoice.id if result.invoice else None,
        "redemption_id": red.id,
    })
