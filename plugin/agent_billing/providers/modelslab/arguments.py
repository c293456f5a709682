"""Argument models of the ModelsLab Agent Control Plane operations.

Bounds come from the API documents: funding and payment links at least $10, a custom charge $5 to
$10,000, auto-funding charge at least $5 and threshold at least $1, transaction pages of at most 200.
Upper bounds the documents leave open are capped at $10,000 (the documented charge ceiling) so a slip
of the tongue cannot become a five-figure charge; raise them in a mandate-aware fork if you must.

Example:
    >>> from agent_billing.providers.modelslab.arguments import FundWalletArgs
    >>> FundWalletArgs(amount="25", payment_method_id="pm_card_visa").amount
    Decimal('25')
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from agent_billing.money import Money

MAX_AMOUNT = "10000"


def _reject_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")
    return value


def _int_to_str(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected an id, not true/false")
    return str(value) if isinstance(value, int) else value


def _id_pattern(prefix: str) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, pattern=rf"^{prefix}[A-Za-z0-9_]{{1,200}}$")


PaymentMethodId = Annotated[str, _id_pattern("pm_")]
CheckoutSessionId = Annotated[str, _id_pattern("cs_")]
PaymentIntentId = Annotated[str, _id_pattern("pi_")]
# No upper bound of our own: the API answers an id it does not know (a bound here only cost every schema).
PlanId = Annotated[int, BeforeValidator(_reject_bool), Field(ge=1, description="from plans")]
SubscriptionId = Annotated[int, BeforeValidator(_reject_bool), Field(ge=1)]
InvoiceId = Annotated[str, BeforeValidator(_int_to_str), StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
CouponCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_-]{1,64}$")]
HttpsUrl = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^https://[^\s]{3,2000}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")]
TaxId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9 .\-/]{2,32}$")]
PostalCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9 -]{2,12}$")]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]

_MAX = Decimal(MAX_AMOUNT)
FundAmount = Annotated[Money, Field(ge=Decimal("10"), le=_MAX)]
ChargeAmount = Annotated[Money, Field(ge=Decimal("5"), le=_MAX)]
AutoChargeAmount = Annotated[Money, Field(ge=Decimal("5"), le=_MAX)]
Threshold = Annotated[Money, Field(ge=Decimal("1"), le=_MAX)]
PayoutAmount = Annotated[Money, Field(gt=Decimal("0"), le=_MAX)]


class Args(BaseModel):
    """Base of every argument model: unknown fields are refused, not ignored.

    Example:
        >>> Args.model_config["extra"], Args.model_config["frozen"]
        ('forbid', True)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoArgs(Args):
    """Operations that take no arguments.

    Example:
        >>> NoArgs().model_dump()
        {}
    """


class PaymentLinkArgs(Args):
    """Arguments of ``create_payment_link``: an amount to fund, or a plan to subscribe to.

    Example:
        >>> PaymentLinkArgs(purpose="subscribe", plan_id=10).plan_id
        10
    """

    purpose: Literal["fund", "subscribe"]
    amount: FundAmount | None = Field(None, description="USD; purpose=fund")
    plan_id: PlanId | None = Field(None, description="purpose=subscribe")

    @model_validator(mode="after")
    def _purpose_matches(self) -> PaymentLinkArgs:
        if self.purpose == "fund" and (self.amount is None or self.plan_id is not None):
            raise ValueError("purpose 'fund' needs amount and no plan_id")
        if self.purpose == "subscribe" and (self.plan_id is None or self.amount is not None):
            raise ValueError("purpose 'subscribe' needs plan_id and no amount")
        return self


class PaymentMethodArgs(Args):
    """A saved payment method, by id.

    Example:
        >>> PaymentMethodArgs(payment_method_id=" pm_card_visa ").payment_method_id
        'pm_card_visa'
    """

    payment_method_id: PaymentMethodId


class AddPaymentMethodArgs(PaymentMethodArgs):
    """Attach a payment method created by trusted code or a confirmed setup intent.

    Example:
        >>> AddPaymentMethodArgs(payment_method_id="pm_card_visa").make_default
        True
    """

    make_default: bool = True


class BillingInfoArgs(Args):
    """Billing profile fields to change; fields left out stay as they are.

    Example:
        >>> BillingInfoArgs(email="ap@acme.example").model_dump(exclude_unset=True)
        {'email': 'ap@acme.example'}
    """

    name: Text | None = None
    email: Email | None = None
    tax_id: TaxId | None = None
    tax_id_type: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}_[a-z]{2,6}$")] | None = Field(
        None, description="e.g. eu_vat"
    )
    address_line1: Text | None = None
    address_line2: Text | None = None
    address_city: Text | None = None
    address_state: Text | None = None
    address_postal_code: PostalCode | None = None
    address_country: CountryCode | None = Field(None, description="ISO 3166-1 alpha-2")

    @model_validator(mode="after")
    def _something_to_change(self) -> BillingInfoArgs:
        if not self.model_fields_set:
            raise ValueError("give at least one billing field to change")
        return self


class InvoiceArgs(Args):
    """One invoice, by id.

    Example:
        >>> InvoiceArgs(invoice_id=123).invoice_id
        '123'
    """

    invoice_id: InvoiceId


class TransactionsArgs(Args):
    """A page of the wallet ledger.

    Example:
        >>> args = TransactionsArgs(type="credit")
        >>> args.limit, args.offset
        (50, 0)
    """

    type: Literal["credit", "debit"] | None = None
    limit: Annotated[int, BeforeValidator(_reject_bool), Field(ge=1, le=200)] = 50
    offset: Annotated[int, BeforeValidator(_reject_bool), Field(ge=0)] = 0


class FundWalletArgs(Args):
    """Charge a saved payment method and credit the wallet.

    Example:
        >>> FundWalletArgs(amount=25).payment_method_id is None  # the default card pays
        True
    """

    amount: FundAmount = Field(description="USD")
    payment_method_id: PaymentMethodId | None = Field(None, description="omit: default card")


class CheckoutArgs(Args):
    """A checkout session to confirm.

    Example:
        >>> CheckoutArgs(session_id="cs_test_123").session_id
        'cs_test_123'
    """

    session_id: CheckoutSessionId


class AutoFundingArgs(Args):
    """Recharge ``auto_charge_amount`` whenever the balance falls below ``charge_threshold``.

    Example:
        >>> AutoFundingArgs(auto_charge_amount="25", charge_threshold="5").charge_threshold
        Decimal('5')
    """

    auto_charge_amount: AutoChargeAmount = Field(description="USD per recharge")
    charge_threshold: Threshold = Field(description="USD trigger balance")


class WithdrawArgs(Args):
    """Withdraw from the wallet (reseller accounts only).

    Example:
        >>> WithdrawArgs(amount="12.50").amount
        Decimal('12.50')
    """

    amount: PayoutAmount


class ValidateCouponArgs(Args):
    """Check a coupon without redeeming it.

    Example:
        >>> ValidateCouponArgs(coupon_code="WELCOME50", purchase_amount=50).purchase_amount
        Decimal('50')
    """

    coupon_code: CouponCode
    purchase_amount: FundAmount | None = None


class RedeemCouponArgs(Args):
    """Redeem a coupon; a bonus coupon needs a purchase (amount and payment method).

    Example:
        >>> RedeemCouponArgs(coupon_code="BONUS20", purchase_amount=50, payment_method_id="pm_card_visa").purchase_amount
        Decimal('50')
    """

    coupon_code: CouponCode
    payment_method_id: PaymentMethodId | None = None
    purchase_amount: FundAmount | None = Field(None, description="USD, bonus coupons")

    @model_validator(mode="after")
    def _purchase_is_complete(self) -> RedeemCouponArgs:
        if (self.purchase_amount is None) != (self.payment_method_id is None):
            raise ValueError("a bonus-coupon purchase needs both purchase_amount and payment_method_id")
        return self


class PaymentStatusArgs(Args):
    """A payment intent, by id.

    Example:
        >>> PaymentStatusArgs(payment_intent_id="pi_123").payment_intent_id
        'pi_123'
    """

    payment_intent_id: PaymentIntentId


class CreateSubscriptionArgs(Args):
    """Subscribe to a plan: headless with a payment method, else a checkout URL is returned.

    Example:
        >>> CreateSubscriptionArgs(plan_id=10, payment_method_id="pm_card_visa").plan_id
        10
    """

    plan_id: PlanId
    payment_method_id: PaymentMethodId | None = None
    success_url: HttpsUrl | None = None
    cancel_url: HttpsUrl | None = None


class SubscriptionArgs(Args):
    """One subscription, by id.

    Example:
        >>> SubscriptionArgs(subscription_id=1).subscription_id
        1
    """

    subscription_id: SubscriptionId


class UpdateSubscriptionArgs(SubscriptionArgs):
    """Move a subscription to another plan.

    Example:
        >>> UpdateSubscriptionArgs(subscription_id=1, new_plan_id=42).new_plan_id
        42
    """

    new_plan_id: PlanId


class ChargeAmountArgs(Args):
    """A one-off charge on the subscription's payment method.

    Example:
        >>> ChargeAmountArgs(amount="7.50").amount
        Decimal('7.50')
    """

    amount: ChargeAmount = Field(description="USD")

