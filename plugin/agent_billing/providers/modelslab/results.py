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
    """Base of every result: unknown fields are kept, ``idempotency_replay`` marks a replayed response.

    Example:
        >>> Result.model_validate({"note": "unknown fields are kept"}).note
        'unknown fields are kept'
    """

    model_config = ConfigDict(extra="allow")

    idempotency_replay: bool = Field(False, repr=False)


def _wrap_list(key: str) -> Any:
    """A ``mode="before"`` validator that accepts a bare list as ``{key: list}``."""

    def wrap(cls: type[BaseModel], value: Any) -> Any:
        return {key: value} if isinstance(value, list) else value

    return model_validator(mode="before")(classmethod(wrap))  # type: ignore[arg-type]


class Message(Result):
    """An acknowledgement with an optional message (DELETE and similar).

    Example:
        >>> Message.model_validate({"message": "Payment method removed"}).message
        'Payment method removed'
    """

    message: str | None = None


class CardSummary(Result):
    """A saved card: brand and last four only.

    Example:
        >>> CardSummary.model_validate({"id": "pm_1", "brand": "visa", "last4": "4242"}).last4
        '4242'
    """

    id: str
    brand: str | None = None
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None
    is_default: bool = False


class PaymentMethodList(Result):
    """Saved payment methods.

    Example:
        >>> PaymentMethodList.model_validate([{"id": "pm_1", "is_default": True}]).payment_methods[0].is_default
        True
    """

    payment_methods: list[CardSummary] = []
    _accept_list = _wrap_list("payment_methods")


class PaymentMethodResult(Result):
    """A payment method after attach / set default / remove.

    Example:
        >>> PaymentMethodResult.model_validate({"message": "Default updated", "payment_method": {"id": "pm_1"}}).payment_method.id
        'pm_1'
    """

    message: str | None = None
    payment_method: CardSummary | None = None


class SubscriptionSummary(Result):
    """A subscription as listed or returned by a lifecycle call.

    Example:
        >>> SubscriptionSummary.model_validate({"id": 1, "plan_id": 10, "status": "active"}).status
        'active'
    """

    id: int | str
    plan_id: int | None = None
    plan_name: str | None = None
    status: str | None = None
    stripe_subscription_id: str | None = None
    current_period_start: str | None = None
    current_period_end: str | None = None


class BillingOverview(Result):
    """Wallet summary, cards, subscriptions and invoice count.

    Example:
        >>> BillingOverview.model_validate({"wallet_balance": 75.5, "invoice_count": 3}).wallet_balance
        Decimal('75.5')
    """

    wallet_balance: Amount | None = None
    currency: str | None = None
    payment_methods: list[CardSummary] = []
    subscriptions: list[SubscriptionSummary] = []
    invoice_count: int | None = None


class StripeConfig(Result):
    """The Stripe publishable key for tokenization by trusted code.

    Example:
        >>> StripeConfig.model_validate({"publishable_key": "pk_test_123"}).publishable_key
        'pk_test_123'
    """

    publishable_key: str
    instructions: str | None = None


class SetupIntent(Result):
    """A SetupIntent to confirm with Stripe (by trusted code or a human).

    Example:
        >>> SetupIntent.model_validate({"setup_intent_id": "seti_123", "client_secret": "seti_123_secret_abc"}).setup_intent_id
        'seti_123'
    """

    setup_intent_id: str
    client_secret: str | None = None


class PaymentLink(Result):
    """A hosted checkout URL for a human to pay.

    Example:
        >>> link = PaymentLink.model_validate({"payment_url": "https://checkout.example/c/cs_1", "session_id": "cs_1",
        ...                                    "purpose": "fund", "amount": 25})
        >>> link.session_id, link.amount
        ('cs_1', Decimal('25'))
    """

    payment_url: str
    session_id: str
    purpose: str
    amount: Amount | None = None
    plan_id: int | None = None
    expires_at: str | None = None
    instructions: str | None = None


class BillingInfo(Result):
    """Billing profile.

    Example:
        >>> BillingInfo.model_validate({"name": "Acme Corp", "address_country": "DE"}).address_country
        'DE'
    """

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
    """One invoice.

    Example:
        >>> Invoice.model_validate({"id": "in_1", "amount": 29.0, "status": "paid"}).amount
        Decimal('29.0')
    """

    id: str | int
    amount: Amount | None = None
    currency: str | None = None
    status: str | None = None
    description: str | None = None
    created_at: str | None = None


class InvoiceList(Result):
    """Invoices, newest first.

    Example:
        >>> InvoiceList.model_validate([{"id": "in_1"}, {"id": "in_2"}]).invoices[1].id
        'in_2'
    """

    invoices: list[Invoice] = []
    _accept_list = _wrap_list("invoices")


class InvoicePdf(Result):
    """Where to download an invoice.

    Example:
        >>> InvoicePdf.model_validate({"invoice_id": "in_1", "pdf_url": "https://files.example/in_1.pdf"}).pdf_url
        'https://files.example/in_1.pdf'
    """

    invoice_id: str | int | None = None
    pdf_url: str | None = None
    receipt_url: str | None = None


class WalletBalance(Result):
    """Wallet balance.

    Example:
        >>> WalletBalance.model_validate({"balance": "12.50"}).currency
        'USD'
    """

    balance: Amount
    currency: str = "USD"


class Transaction(Result):
    """One wallet ledger entry.

    Example:
        >>> Transaction.model_validate({"id": 7, "type": "credit", "amount": 25.0}).amount
        Decimal('25.0')
    """

    id: int | str
    source: str | None = None
    transaction_id: str | None = None
    type: str
    amount: Amount
    status: str | None = None
    usecase: str | None = None
    created_at: str | None = None


class WalletSummary(Result):
    """Totals of the wallet.

    Example:
        >>> WalletSummary.model_validate({"balance": 40, "total_credited": 65, "amount_used": 25}).amount_used
        Decimal('25')
    """

    balance: Amount
    currency: str = "USD"
    total_credited: Amount | None = None
    amount_used: Amount | None = None


class WalletTransactions(Result):
    """A page of the wallet ledger.

    Example:
        >>> page = WalletTransactions.model_validate({"items": [{"id": 1, "type": "debit", "amount": 2.5}], "total": 9})
        >>> page.items[0].amount, page.total
        (Decimal('2.5'), 9)
    """

    items: list[Transaction] = []
    count: int = 0
    total: int = 0
    wallet: WalletSummary | None = None


class PaymentInfo(Result):
    """The card payment behind a charge.

    Example:
        >>> PaymentInfo.model_validate({"status": "succeeded", "payment_intent_id": "pi_123"}).status
        'succeeded'
    """

    status: str
    payment_intent_id: str | None = None
    client_secret: str | None = None


class Charge(Result):
    """A charge that went through (wallet funding, custom charge, coupon purchase).

    Example:
        >>> Charge.model_validate({"amount": 25, "balance": 100, "payment": {"status": "succeeded"}}).payment.status
        'succeeded'
    """

    message: str | None = None
    amount: Amount | None = None
    balance: Amount | None = None
    currency: str | None = None
    payment: PaymentInfo | None = None
    invoice_id: str | int | None = None


class CheckoutConfirmation(Result):
    """A confirmed checkout session (wallet funding or subscription).

    Example:
        >>> CheckoutConfirmation.model_validate({"session_id": "cs_1", "status": "paid", "balance": 65.0}).balance
        Decimal('65.0')
    """

    session_id: str | None = None
    status: str | None = None
    amount: Amount | None = None
    balance: Amount | None = None
    subscription: SubscriptionSummary | None = None
    already_confirmed: bool = False


class AutoFunding(Result):
    """Auto-funding settings.

    Example:
        >>> AutoFunding.model_validate({"enabled": True, "auto_charge_amount": 25, "charge_threshold": 5}).charge_threshold
        Decimal('5')
    """

    enabled: bool
    auto_charge_amount: Amount | None = None
    charge_threshold: Amount | None = None


class Withdrawal(Result):
    """A withdrawal from a reseller wallet.

    Example:
        >>> Withdrawal.model_validate({"amount": 50, "balance": 25, "status": "pending"}).status
        'pending'
    """

    amount: Amount
    balance: Amount | None = None
    status: str | None = None
    withdrawal_id: str | None = None


class CouponValidation(Result):
    """What a coupon would do.

    Example:
        >>> CouponValidation.model_validate({"valid": True, "coupon_code": "WELCOME50", "credit_amount": 50}).credit_amount
        Decimal('50')
    """

    valid: bool
    coupon_code: str | None = None
    coupon_type: str | None = None
    credit_amount: Amount | None = None
    bonus_amount: Amount | None = None
    message: str | None = None


class CouponRedemption(Charge):
    """A redeemed coupon, with the purchase when it was a bonus coupon.

    Example:
        >>> CouponRedemption.model_validate({"coupon_code": "WELCOME50", "credited": 50, "balance": 50}).credited
        Decimal('50')
    """

    coupon_code: str | None = None
    credited: Amount | None = None


class PaymentStatus(Result):
    """Status of a payment intent.

    Example:
        >>> PaymentStatus.model_validate({"status": "requires_action", "payment_intent_id": "pi_123"}).status
        'requires_action'
    """

    status: str
    payment_intent_id: str
    amount: Amount | None = None
    currency: str | None = None


class Plan(Result):
    """A subscription plan.

    Example:
        >>> Plan.model_validate({"id": 10, "name": "Standard", "period": "monthly", "price": 29.0}).price
        Decimal('29.0')
    """

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
    """Plans and the pay-as-you-go option.

    Example:
        >>> PlanCatalogue.model_validate({"subscription_plans": [{"id": 10, "name": "Standard"}]}).subscription_plans[0].name
        'Standard'
    """

    subscription_plans: list[Plan] = []
    pay_as_you_go: dict[str, Any] | None = None
    count: int | None = None


class SubscriptionList(Result):
    """The account's subscriptions.

    Example:
        >>> SubscriptionList.model_validate([{"id": 1, "plan_id": 10, "status": "active"}]).subscriptions[0].plan_id
        10
    """

    subscriptions: list[SubscriptionSummary] = []
    _accept_list = _wrap_list("subscriptions")


class SubscriptionResult(Result):
    """A subscription after create / update / pause / resume / reset-cycle / fix-payment.

    Example:
        >>> SubscriptionResult.model_validate({"checkout_url": "https://pay.example/c/cs_1", "session_id": "cs_1"}).session_id
        'cs_1'
    """

    message: str | None = None
    subscription: SubscriptionSummary | None = None
    stripe_subscription_id: str | None = None
    status: str | None = None
    checkout_url: str | None = None
    session_id: str | None = None
    payment: PaymentInfo | None = None
    invoice_id: str | int | None = None


class SubscriptionStatus(SubscriptionSummary):
    """Status of one subscription.

    Example:
        >>> SubscriptionStatus.model_validate({"id": 1, "plan_id": 10, "status": "paused"}).status
        'paused'
    """
