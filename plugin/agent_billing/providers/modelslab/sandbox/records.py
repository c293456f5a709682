"""The rows of the sandbox ledger, as frozen dataclasses (one per table; amounts in integer cents).

Example:
    >>> Coupon("X", "credit", "", 500, None, None, None, None).credit_cents
    500
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Account:
    """An account (one per access token).

    Example:
        >>> from agent_billing.providers.modelslab.sandbox.ledger import Ledger
        >>> acct = Ledger(":memory:", clock=lambda: 0.0).ensure_account("sk_sandbox_demo", reseller=False)
        >>> acct.token_hint, acct.balance_cents, acct.default_payment_method
        ('sk_s…demo', 0, None)
    """

    id: int
    token_sha256: str
    token_hint: str
    reseller: int
    balance_cents: int
    default_payment_method: str | None
    auto_funding_enabled: int
    auto_charge_cents: int | None
    charge_threshold_cents: int | None
    created_at: float


@dataclass(frozen=True)
class WalletEntry:
    """One wallet ledger entry.

    Example:
        >>> entry = WalletEntry(1, 1, "credit", 2500, "stripe", "pi_1", "success", "wallet_funding", "Visa ending 4242", 0.0)
        >>> entry.type, entry.amount_cents
        ('credit', 2500)
    """

    id: int
    account_id: int
    type: str
    amount_cents: int
    source: str
    transaction_id: str
    status: str
    usecase: str
    description: str | None
    created_at: float


@dataclass(frozen=True)
class StripePaymentMethod:
    """A payment method created through the sandbox's Stripe API (``pm_...``).

    Example:
        >>> pm = StripePaymentMethod("pm_1abc", "visa", "4242", 12, 2030, "credit", "US", "succeed", None, 0, 0.0)
        >>> pm.brand, pm.last4, pm.customer_account_id
        ('visa', '4242', None)
    """

    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    funding: str
    country: str
    behaviour: str
    customer_account_id: int | None
    detached: int
    created_at: float


@dataclass(frozen=True)
class SavedCard:
    """A payment method saved on an account.

    Example:
        >>> SavedCard(1, "pm_card_visa", "visa", "4242", 12, 2030, "succeed", 0.0).behaviour
        'succeed'
    """

    account_id: int
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    behaviour: str
    created_at: float


@dataclass(frozen=True)
class PaymentIntent:
    """One card payment attempt (``pi_...``).

    Example:
        >>> pi = PaymentIntent("pi_1", 1, 2500, "usd", "failed", "wallet_funding", "Wallet top-up", "pm_card_chargeDeclined",
        ...                    "generic_decline", "pi_1_secret_x", 0.0)
        >>> pi.status, pi.decline_code
        ('failed', 'generic_decline')
    """

    id: str
    account_id: int
    amount_cents: int
    currency: str
    status: str
    purpose: str
    description: str
    payment_method_id: str | None
    decline_code: str | None
    client_secret: str
    created_at: float


@dataclass(frozen=True)
class Invoice:
    """An invoice (``in_...``): paid when its payment succeeded, open while a renewal is unpaid.

    Example:
        >>> inv = Invoice("in_1abc", "SBX-000001", 1, 4700, "usd", "open", "Renewal", None, 1001, 10, 0.0, 2592000.0, 0.0, None)
        >>> inv.status, inv.paid_at
        ('open', None)
    """

    id: str
    number: str
    account_id: int
    amount_cents: int
    currency: str
    status: str
    description: str
    payment_intent_id: str | None
    subscription_id: int | None
    plan_id: int | None
    period_start: float | None
    period_end: float | None
    created_at: float
    paid_at: float | None


@dataclass(frozen=True)
class SetupIntent:
    """A SetupIntent (``seti_...``) waiting for a card.

    Example:
        >>> SetupIntent("seti_1abc", 1, "seti_1abc_secret_x", "requires_payment_method", None, 0.0).status
        'requires_payment_method'
    """

    id: str
    account_id: int
    client_secret: str
    status: str
    payment_method_id: str | None
    created_at: float


@dataclass(frozen=True)
class CheckoutSession:
    """A hosted checkout session (``cs_test_...``) behind a payment link.

    Example:
        >>> s = CheckoutSession("cs_test_a1", 1, "fund", 2500, None, "open", None, None, None,
        ...                     0.0, 1800.0, None, None, None, None)
        >>> s.status, s.expires_at - s.created_at
        ('open', 1800.0)
    """

    id: str
    account_id: int
    purpose: str
    amount_cents: int
    plan_id: int | None
    status: str
    payment_intent_id: str | None
    success_url: str | None
    cancel_url: str | None
    created_at: float
    expires_at: float
    paid_at: float | None
    confirmed_at: float | None
    result: str | None
    last_error: str | None


@dataclass(frozen=True)
class Plan:
    """A plan of the catalogue (prices in cents): a row of ``plans``, and an entry of ``seed.PLANS``.

    Example:
        >>> plan = Plan(43, "Imagen Starter", "imagen", "monthly", "app", 900, 1000, 10, ("7-day free trial",), 7)
        >>> Plan.from_row({**plan.__dict__, "features": '["7-day free trial"]'}) == plan
        True
    """

    id: int
    name: str
    category: str
    period: str
    type: str
    price_cents: int
    api_call_limit: int
    rate_limit: int
    features: tuple[str, ...]
    trial_days: int = 0

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Plan:
        """A plan from its table row (where the features are a JSON list)."""
        return cls(**{**row, "features": tuple(str(f) for f in json.loads(row["features"]))})


@dataclass(frozen=True)
class Subscription:
    """A subscription.

    Example:
        >>> sub = Subscription(1001, 1, 10, "active", "sub_1abc", "pm_card_visa", 0.0, 2592000.0, 0.0, None, None, "headless")
        >>> sub.status, (sub.current_period_end - sub.current_period_start) / 86400
        ('active', 30.0)
    """

    id: int
    account_id: int
    plan_id: int
    status: str
    stripe_subscription_id: str
    payment_method_id: str | None
    current_period_start: float
    current_period_end: float
    created_at: float
    paused_at: float | None
    canceled_at: float | None
    source: str


@dataclass(frozen=True)
class Coupon:
    """A coupon definition.

    Example:
        >>> Coupon("BONUS20", "bonus", "20% bonus", None, 20, 10000, 2500, None).max_bonus_cents
        10000
    """

    code: str
    kind: str
    description: str
    credit_cents: int | None
    bonus_percent: int | None
    max_bonus_cents: int | None
    min_purchase_cents: int | None
    expires_at: float | None


@dataclass(frozen=True)
class Redemption:
    """A coupon redeemed by an account (``credit_cents`` is everything the coupon itself added).

    Example:
        >>> red = Redemption("cpnr_1", 1, "FREE10", "credit", None, 1000, None, 0.0)
        >>> red.code, red.credit_cents
        ('FREE10', 1000)
    """

    id: str
    account_id: int
    code: str
    mode: str
    purchase_cents: int | None
    credit_cents: int
    payment_intent_id: str | None
    created_at: float


@dataclass(frozen=True)
class IdempotencyRecord:
    """A stored response to replay for an ``Idempotency-Key``.

    Example:
        >>> rec = IdempotencyRecord(1, "fund-001", "9f2c", 200, b'{"data":{}}', "req_1", 0.0)
        >>> rec.key, rec.status, rec.request_id
        ('fund-001', 200, 'req_1')
    """

    account_id: int
    key: str
    fingerprint: str
    status: int
    body: bytes
    request_id: str
    created_at: float
