"""The rows of the sandbox ledger, as frozen dataclasses (one per table; amounts in integer cents).

Example:
    >>> Coupon("X", "credit", "", 500, None, None, None, None).credit_cents
    500
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Account:
    """An account (one per access token)."""

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
    """One wallet ledger entry."""

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
    """A payment method created through the sandbox's Stripe API (``pm_...``)."""

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
    """A payment method saved on an account."""

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
    """One card payment attempt (``pi_...``)."""

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
    """An invoice (``in_...``): paid when its payment succeeded, open while a renewal is unpaid."""

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
    """A SetupIntent (``seti_...``) waiting for a card."""

    id: str
    account_id: int
    client_secret: str
    status: str
    payment_method_id: str | None
    created_at: float


@dataclass(frozen=True)
class CheckoutSession:
    """A hosted checkout session (``cs_test_...``) behind a payment link."""

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
    """A plan of the catalogue."""

    id: int
    name: str
    category: str
    period: str
    type: str
    price_cents: int
    api_call_limit: int
    rate_limit: int
    features: str  # JSON list
    trial_days: int

    @property
    def feature_list(self) -> list[str]:
        """The features as a list."""
        value = json.loads(self.features)
        return [str(v) for v in value]


@dataclass(frozen=True)
class Subscription:
    """A subscription."""

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
    """A coupon definition."""

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
    """A coupon redeemed by an account (``credit_cents`` is everything the coupon itself added)."""

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
    """A stored response to replay for an ``Idempotency-Key``."""

    account_id: int
    key: str
    fingerprint: str
    status: int
    body: bytes
    request_id: str
    created_at: float
