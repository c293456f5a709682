"""Charging cards: which card pays, what the charge does, and how the outcome is reported.

Every charge attempt records a payment intent (``pi_...``). A successful one also records a paid
invoice (or pays the open invoice it settles) in the same transaction; a declined one is reported as
HTTP 402 ``payment_declined`` with ``details = {decline_code, payment_intent_id}``; a card that needs
3-D Secure gives HTTP 202 with ``data.payment.status = "requires_action"`` and moves no money.

Example:
    >>> from agent_billing.providers.modelslab.sandbox.ledger import Ledger
    >>> ledger = Ledger(":memory:", clock=lambda: 1_800_000_000.0)
    >>> acct = ledger.ensure_account("sk_x", reseller=False)
    >>> card = resolve_card(ledger, acct.id, "pm_card_visa", now=ledger.clock())
    >>> result = charge(ledger, acct.id, 2500, card, purpose="subscription", description="Plan")
    >>> result.status, result.invoice is not None
    ('succeeded', True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent_billing.providers.modelslab.sandbox.envelope import ApiError, Reply, invalid
from agent_billing.providers.modelslab.sandbox.ledger import Account, Invoice, Ledger, PaymentIntent, SavedCard
from agent_billing.sandbox.cards import AUTHENTICATE, BEHAVIOURS, DECLINE, MAGIC_METHODS, Behaviour
from agent_billing.sandbox.units import month_of, year_of

NEXT_STEP = ("No money moved. Try another card, or create a payment link (POST /billing/payment-link) "
             "so a human can pay on the hosted checkout page.")


@dataclass(frozen=True)
class Card:
    """A payment method resolved for one account: what may be shown, and how it behaves.

    Example:
        >>> Card("pm_card_visa", "visa", "4242", 12, 2030, BEHAVIOURS["succeed"]).summary(is_default=True)
        {'id': 'pm_card_visa', 'brand': 'visa', 'last4': '4242', 'exp_month': 12, 'exp_year': 2030, 'is_default': True}
    """

    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    behaviour: Behaviour
    from_stripe_api: bool = False

    def summary(self, *, is_default: bool = False) -> dict[str, Any]:
        """The card as the API shows it: brand and last4, never more."""
        return {"id": self.id, "brand": self.brand, "last4": self.last4, "exp_month": self.exp_month,
                "exp_year": self.exp_year, "is_default": is_default}


def saved_summary(card: SavedCard, default_id: str | None) -> dict[str, Any]:
    """A saved card as the API shows it.

    Example:
        >>> card = SavedCard(1, "pm_card_amex", "amex", "0005", 12, 2030, "succeed", 0.0)
        >>> saved_summary(card, "pm_card_visa")
        {'id': 'pm_card_amex', 'brand': 'amex', 'last4': '0005', 'exp_month': 12, 'exp_year': 2030, 'is_default': False}
    """
    return {"id": card.id, "brand": card.brand, "last4": card.last4, "exp_month": card.exp_month,
            "exp_year": card.exp_year, "is_default": card.id == default_id}


def _no_such(pm_id: str) -> ApiError:
    return invalid(f"No such payment method: '{pm_id}'. Use a pm_... id created with the Stripe publishable "
                   "key (GET /billing/stripe-config), a saved card, or create a payment link.", "payment_method_id")


def resolve_card(ledger: Ledger, account_id: int, pm_id: str, *, now: float) -> Card:
    """The card behind ``pm_id`` for this account, or 400 ``validation_error`` "No such payment method".

    Looks at the account's saved cards, then Stripe's ``pm_card_*`` test methods, then payment methods
    created through the sandbox's Stripe API (usable by one customer only, never after detaching).

    Example:
        >>> ledger = Ledger(":memory:", clock=lambda: 1_800_000_000.0)
        >>> acct = ledger.ensure_account("sk_sandbox_demo", reseller=False)
        >>> card = resolve_card(ledger, acct.id, "pm_card_chargeDeclined", now=ledger.clock())
        >>> card.last4, card.exp_year, card.behaviour.decline_code
        ('0002', 2030, 'generic_decline')
    """
    saved = ledger.saved_card(account_id, pm_id)
    if saved is not None:
        return Card(saved.id, saved.brand, saved.last4, saved.exp_month, saved.exp_year,
                    BEHAVIOURS[saved.behaviour], from_stripe_api=pm_id not in MAGIC_METHODS)
    magic = MAGIC_METHODS.get(pm_id)
    if magic is not None:
        return Card(pm_id, magic.brand, magic.last4, 12, year_of(now) + 3, magic.behaviour)
    spm = ledger.stripe_payment_method(pm_id)
    if spm is None or spm.detached or spm.customer_account_id not in (None, account_id):
        raise _no_such(pm_id)
    return Card(spm.id, spm.brand, spm.last4, spm.exp_month, spm.exp_year, BEHAVIOURS[spm.behaviour],
                from_stripe_api=True)


def default_card(ledger: Ledger, account: Account, *, now: float) -> Card | None:
    """The account's default card, if it has one.

    Example:
        >>> ledger = Ledger(":memory:", clock=lambda: 1_800_000_000.0)
        >>> acct = ledger.ensure_account("sk_sandbox_demo", reseller=False)
        >>> ledger.set_default_payment_method(acct.id, "pm_card_amex")
        >>> default_card(ledger, ledger.account(acct.id), now=ledger.clock()).brand
        'amex'
    """
    if not account.default_payment_method:
        return None
    try:
        return resolve_card(ledger, account.id, account.default_payment_method, now=now)
    except ApiError:
        return None


def card_or_default(ledger: Ledger, account: Account, pm_id: str | None, *, now: float, what: str) -> Card:
    """``pm_id``'s card, else the default card, else 400 pointing at the alternatives.

    Example:
        >>> ledger = Ledger(":memory:", clock=lambda: 1_800_000_000.0)
        >>> acct = ledger.ensure_account("sk_sandbox_demo", reseller=False)
        >>> card_or_default(ledger, acct, None, now=ledger.clock(), what="charge")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        agent_billing...envelope.ApiError: No payment_method_id given and the account has no default card to charge. ...
    """
    if pm_id:
        return resolve_card(ledger, account.id, pm_id, now=now)
    card = default_card(ledger, account, now=now)
    if card is None:
        raise invalid(f"No payment_method_id given and the account has no default card to {what}. Pass a "
                      "payment_method_id, save a card with POST /billing/payment-methods (make_default), or "
                      "create a payment link (POST /billing/payment-link) for a human to pay.", "payment_method_id")
    return card


@dataclass(frozen=True)
class ChargeResult:
    """The outcome of one charge attempt.

    Example:
        >>> ledger = Ledger(":memory:", clock=lambda: 1_800_000_000.0)
        >>> acct = ledger.ensure_account("sk_sandbox_demo", reseller=False)
        >>> card = resolve_card(ledger, acct.id, "pm_card_authenticationRequired", now=ledger.clock())
        >>> result = charge(ledger, acct.id, 2500, card, purpose="wallet_funding", description="Wallet top-up")
        >>> result.succeeded, result.payment()["status"], result.invoice
        (False, 'requires_action', None)
    """

    status: str  # "succeeded", "failed" or "requires_action"
    intent: PaymentIntent
    invoice: Invoice | None
    card: Card
    behaviour: Behaviour

    @property
    def succeeded(self) -> bool:
        """Whether the money moved."""
        return self.status == "succeeded"

    def payment(self) -> dict[str, Any]:
        """The ``payment`` object of a response."""
        out: dict[str, Any] = {"status": self.status, "payment_intent_id": self.intent.id}
        if self.status == "requires_action":
            out["client_secret"] = self.intent.client_secret
        return out


def _expired(card: Card, now: float) -> bool:
    year, month = year_of(now), month_of(now)
    return card.exp_year < year or (card.exp_year == year and card.exp_month < month)


def charge(
    ledger: Ledger,
    account_id: int,
    cents: int,
    card: Card,
    *,
    purpose: str,
    description: str,
    settles: Invoice | None = None,
    subscription_id: int | None = None,
    plan_id: int | None = None,
    period: tuple[float, float] | None = None,
) -> ChargeResult:
    """Charge ``cents`` to ``card``; on success record a paid invoice (or pay ``settles``).

    Example:
        >>> ledger = Ledger(":memory:", clock=lambda: 1_800_000_000.0)
        >>> acct = ledger.ensure_account("sk_sandbox_demo", reseller=False)
        >>> card = resolve_card(ledger, acct.id, "pm_card_chargeDeclinedInsufficientFunds", now=ledger.clock())
        >>> result = charge(ledger, acct.id, 2500, card, purpose="wallet_funding", description="Wallet top-up")
        >>> result.status, result.intent.decline_code, result.invoice
        ('failed', 'insufficient_funds', None)
    """
    behaviour = card.behaviour
    if behaviour.outcome != DECLINE and _expired(card, ledger.clock()):
        behaviour = BEHAVIOURS["expired_card"]
    status = {DECLINE: "failed", AUTHENTICATE: "requires_action"}.get(behaviour.outcome, "succeeded")
    with ledger.transaction():
        if card.from_stripe_api:
            ledger.claim_stripe_payment_method(card.id, account_id)
        intent = ledger.insert_payment_intent(
            account_id, cents, status=status, purpose=purpose, description=description,
            payment_method_id=card.id, decline_code=behaviour.decline_code if status == "failed" else None,
        )
        invoice: Invoice | None = None
        if settles is not None:
            values: dict[str, Any] = {"payment_intent_id": intent.id}
            if status == "succeeded":
                values.update(status="paid", paid_at=ledger.clock())
            ledger.update_invoice(settles.id, **values)
            invoice = ledger.invoice(settles.id)
        elif status == "succeeded":
            invoice = ledger.insert_invoice(account_id, cents, status="paid", description=description,
                                            payment_intent_id=intent.id, subscription_id=subscription_id,
                                            plan_id=plan_id, period=period)
    return ChargeResult(status, intent, invoice, card, behaviour)


def unless_succeeded(result: ChargeResult, *, extra: dict[str, Any] | None = None) -> Reply | None:
    """``None`` when the charge succeeded; a 202 reply when it needs 3-D Secure; raises 402 when declined.

    The 402 keeps the failed payment intent (so its status can be looked up) and carries
    ``details = {decline_code, payment_intent_id}``.

    Example:
        >>> ledger = Ledger(":memory:", clock=lambda: 1_800_000_000.0)
        >>> acct = ledger.ensure_account("sk_sandbox_demo", reseller=False)
        >>> card = resolve_card(ledger, acct.id, "pm_card_authenticationRequired", now=ledger.clock())
        >>> reply = unless_succeeded(charge(ledger, acct.id, 2500, card, purpose="wallet_funding", description="Wallet top-up"))
        >>> reply.status, reply.data["payment"]["status"]
        (202, 'requires_action')
    """
    if result.succeeded:
        return None
    if result.status == "requires_action":
        message = ("The card needs 3-D Secure authentication, which only the cardholder can complete. No money "
                   "moved. Create a payment link (POST /billing/payment-link) and send it to a human to pay.")
        data = {"message": message, "payment": result.payment(), **(extra or {})}
        return Reply(data, 202)
    b = result.behaviour
    raise ApiError(
        402, "payment_declined", f"{(b.message or 'Your card was declined.').rstrip('.')} (decline code: "
        f"{b.decline_code}). {NEXT_STEP}",
        {"decline_code": b.decline_code, "payment_intent_id": result.intent.id, "stripe_code": b.code},
        keep_changes=True,
    )
