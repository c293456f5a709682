"""Typed results of the ModelsLab operations.

The API documents some shapes exactly and leaves others to inference, so every model keeps unknown
fields (``extra="allow"``) and most fields are optional: the client stays useful when the wire shape
grows. Lists tolerate both a bare JSON array and an object wrapping it.

Example:
    >>> from agent_billing.providers.modelslab.results import WalletBalance
    >>> WalletBalance.model_validate({"balance": 75.5, "currency": "USD"}).balance
    Decimal('75.5')
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator


def _amount(value: Any) -> Any:
    # Amounts arrive as JSON numbers (parsed to float by most decoders): read them through repr.
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


Amount = Annotated[Decimal, BeforeValidator(_amount)]


class Result(BaseModel):
    """Base of every result: unknown fields are kept, ``idempotency_replay`` marks a replayed response."""

    model_config = ConfigDict(extra="allow")

    idempotency_replay: bool = Field(False, repr=False)


def _wrap_list(key: str) -> Any:
    """A ``mode="before"`` validator that accepts a bare list as ``{key: list}``."""

    def wrap(cls: type[BaseModel], value: Any) -> Any:
        return {key: value} if isinstance(value, list) else value

    return model_validator(mode="before")(classmethod(wrap))  # type: ignore[arg-type]


class Message(Result):
    """An acknowledgement with an optional message (DELETE and similar)."""

    message: str | None = None


class CardSummary(Result):
    """A saved card: brand and last four only."""

    id: str
    brand: str | None = None
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None
    is_default: bool = False


class PaymentMethodList(Result):
    """Saved payment methods."""

    payment_methods: list[CardSummary] = []
    _accept_list = _wrap_list("payment_methods")


class PaymentMethodResult(Result):
    """A payment method after attach / set default / remove."""

    message: str | None = None
    payment_method: CardSummary | None = None


class SubscriptionSummary(Result):
    """A subscription as listed or returned by a lifecycle call."""

    id: int | str
    plan_id: int | None = None
    plan_name: str | None = None
    status: str | None = None
    stripe_subscription_id: str | None = None
    current_period_start: str | None = None
    current_period_end: str | None = None


class BillingOverview(Result):
    """Wallet summary, cards, subscriptions and invoice count."""

    wallet_balance: Amount | None = None
    currency: str | None = None
    payment_methods: list[CardSummary] = []
    subscriptions: list[SubscriptionSummary] = []
    invoice_count: int | None = None


class StripeConfig(Result):
    """The Stripe publishable key for tokenization by trusted code."""

    publishable_key: str
    instructions: str | None = None


class SetupIntent(Result):
    """A SetupIntent to confirm with Stripe (by trusted code or a human)."""

    setup_intent_id: str
    client_secret: str | None = None


class PaymentLink(Result):
    """A hosted checkout URL for a human to pay."""

    payment_url: str
    session_id: str
    purpose: str
    amount: Amount | None = None
    plan_id: int | None = None
    expires_at: str | None = None
    instructions: str | None = None


class BillingInfo(Result):
    """Billing profile."""

    name: str | None = None
    email: str | None = None
    tax_id: str | None = None
    tax_id_type: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    address_city: str | None = None
    address_state: str | None = None
    address_postal_code: str | None = None
    address_country: str | None = None


class Invoice(Result):
    """One invoice."""

    id: str | int
    amount: Amount | None = None
    currency: str | None = None
    status: str | None = None
    description: str | None = None
    created_at: str | None = None


class InvoiceList(Result):
    """Invoices, newest first."""

    invoices: list[Invoice] = []
    _accept_list = _wrap_list("invoices")


class InvoicePdf(Result):
    """Where to download an invoice."""

    invoice_id: str | int | None = None
    pdf_url: str | None = None
    receipt_url: str | None = None


class WalletBalance(Result):
    """Wallet balance."""

    balance: Amount
    currency: str = "USD"


class Transaction(Result):
    """One wallet ledger entry."""

    id: int | str
    source: str | None = None
    transaction_id: str | None = None
    type: str
    amount: Amount
    status: str | None = None
    usecase: str | None = None
    created_at: str | None = None


class WalletSummary(Result):
    """Totals of the wallet."""

    balance: Amount
    currency: str = "USD"
    total_credited: Amount | None = None
    amount_used: Amount | None = None


class WalletTransactions(Result):
    """A page of the wallet ledger."""

    items: list[Transaction] = []
    count: int = 0
    total: int = 0
    wallet: WalletSummary | None = None


class PaymentInfo(Result):
    """The card payment behind a charge."""

    status: str
    payment_intent_id: str | None = None
    client_secret: str | None = None


class Charge(Result):
    """A charge that went through (wallet funding, custom charge, coupon purchase)."""

    message: str | None = None
    amount: Amount | None = None
    balance: Amount | None = None
    currency: str | None = None
    payment: PaymentInfo | None = None
    invoice_id: str | int | None = None


class CheckoutConfirmation(Result):
    """A confirmed checkout session (wallet funding or subscription)."""

    session_id: str | None = None
    status: str | None = None
    amount: Amount | None = None
    balance: Amount | None = None
    subscription: SubscriptionSummary | None = None
    already_confirmed: bool = False


class AutoFunding(Result):
    """Auto-funding settings."""

    enabled: bool
    auto_charge_amount: Amount | None = None
    charge_threshold: Amount | None = None


class Withdrawal(Result):
    """A withdrawal from a reseller wallet."""

    amount: Amount
    balance: Amount | None = None
    status: str | None = None
    withdrawal_id: str | None = None


class CouponValidation(Result):
    """What a coupon would do."""

    valid: bool
    coupon_code: str | None = None
    coupon_type: str | None = None
    credit_amount: Amount | None = None
    bonus_amount: Amount | None = None
    message: str | None = None


class CouponRedemption(Charge):
    """A redeemed coupon, with the purchase when it was a bonus coupon."""

    coupon_code: str | None = None
    credited: Amount | None = None


class PaymentStatus(Result):
    """Status of a payment intent."""

    status: str
    payment_intent_id: str
    amount: Amount | None = None
    currency: str | None = None


class Plan(Result):
    """A subscription plan."""

    id: int
    name: str
    category: str | None = None
    period: str | None = None
    type: str | None = None
    price: Amount | None = None
    api_call_limit: int | None = None
    rate_limit: int | None = None
    features: list[str] = []


class PlanCatalogue(Result):
    """Plans and the pay-as-you-go option."""

    subscription_plans: list[Plan] = []
    pay_as_you_go: dict[str, Any] | None = None
    count: int | None = None


class SubscriptionList(Result):
    """The account's subscriptions."""

    subscriptions: list[SubscriptionSummary] = []
    _accept_list = _wrap_list("subscriptions")


class SubscriptionResult(Result):
    """A subscription after create / update / pause / resume / reset-cycle / fix-payment."""

    message: str | None = None
    subscription: SubscriptionSummary | None = None
    stripe_subscription_id: str | None = None
    status: str | None = None
    checkout_url: str | None = None
    session_id: str | None = None
    payment: PaymentInfo | None = None
    invoice_id: str | int | None = None


class SubscriptionStatus(SubscriptionSummary):
    """Status of one subscription."""
