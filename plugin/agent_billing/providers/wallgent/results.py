"""Result models of Wallgent's billing API: camelCase on the wire, decimal-string amounts read as ``Decimal``.

Unknown fields are kept (Wallgent may add some); amounts never pass through ``float``.

Example:
    >>> info = BillingInfo.model_validate({"plan": "STARTER", "billingStatus": "ACTIVE", "price": "99.00",
    ...                                    "cardDetails": {"paymentMethodId": "pm_1", "brand": "visa", "last4": "4242"}})
    >>> info.price, info.card_details.last4
    (Decimal('99.00'), '4242')
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel


def _amount(value: Any) -> Any:
    # Amounts are decimal strings; a JSON float would already have lost exactness.
    if isinstance(value, float):
        raise ValueError("amounts must be decimal strings, not floats")
    return value


Amount = Annotated[Decimal, BeforeValidator(_amount)]


class Result(BaseModel):
    """Base of every result: camelCase wire names, unknown fields kept.

    Example:
        >>> Result.model_validate({"somethingNew": 1}).model_extra
        {'somethingNew': 1}
    """

    model_config = ConfigDict(extra="allow", alias_generator=to_camel, populate_by_name=True)

    idempotency_replay: bool = Field(False, repr=False)


class CardDetails(Result):
    """The saved billing card: brand and last four for people, the id for charges.

    Example:
        >>> CardDetails(payment_method_id="pm_1", brand="visa", last4="4242").last4
        '4242'
    """

    payment_method_id: str | None = None
    brand: str | None = None
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None


class BillingInfo(Result):
    """``GET /billing``: plan, status, period, billing method, saved card.

    Example:
        >>> BillingInfo.model_validate({"plan": "FREE", "billingStatus": "NONE"}).billing_payment_method is None
        True
    """

    plan: str
    billing_status: str | None = None
    billing_payment_method: str | None = None
    billing_period_start: str | None = None
    billing_period_end: str | None = None
    cancel_at_period_end: bool = False
    past_due_since: str | None = None
    pending_plan: str | None = None
    monthly_api_calls: int | None = None
    card_details: CardDetails | None = None
    price: Amount | None = None
    stripe_subscription_id: str | None = None
    trial_ends_at: str | None = None


class Subscription(Result):
    """``POST /billing/subscribe``: the first invoice and the period (the charge is on that invoice).

    Example:
        >>> Subscription.model_validate({"plan": "STARTER", "invoiceId": "inv_1"}).invoice_id
        'inv_1'
    """

    plan: str | None = None
    billing_status: str | None = None
    billing_payment_method: str | None = None
    invoice_id: str | None = None
    billing_period_start: str | None = None
    billing_period_end: str | None = None


class PlanChange(Result):
    """``POST /billing/change-plan``: the new plan and the proration charged now, if any.

    Example:
        >>> PlanChange.model_validate({"plan": "GROWTH", "prorationCharge": "75.00"}).proration_charge
        Decimal('75.00')
    """

    plan: str
    billing_status: str | None = None
    proration_charge: Amount | None = None
    invoice_id: str | None = None
    billing_period_end: str | None = None


class Cancellation(Result):
    """``POST /billing/cancel``: cancels at the period end.

    Example:
        >>> answer = {"cancelAtPeriodEnd": True, "billingPeriodEnd": "2026-12-29T00:00:00Z"}
        >>> Cancellation.model_validate(answer).billing_period_end
        '2026-12-29T00:00:00Z'
    """

    cancel_at_period_end: bool = True
    billing_period_end: str | None = None


class Url(Result):
    """A hosted page for a person (checkout, portal): relay the URL verbatim.

    Example:
        >>> Url(url="https://checkout.example/cs_1").url
        'https://checkout.example/cs_1'
    """

    url: str


class Ok(Result):
    """``{"ok": true}`` answers (payment-method changes); saving a card also answers its details.

    Example:
        >>> Ok.model_validate({"ok": True}).ok
        True
    """

    ok: bool
    card_details: CardDetails | None = None


class SetupIntent(Result):
    """``POST /billing/setup-intent``: the client secret is for trusted code (the model never sees it).

    Example:
        >>> SetupIntent(client_secret="seti_1_secret_x").client_secret
        'seti_1_secret_x'
    """

    client_secret: str


class RetriedPayment(Result):
    """``POST /billing/retry-payment``.

    Example:
        >>> RetriedPayment.model_validate({"invoiceId": "inv_1", "billingStatus": "ACTIVE"}).billing_status
        'ACTIVE'
    """

    invoice_id: str | None = None
    billing_status: str | None = None


class InvoiceLine(Result):
    """One line item of an invoice (``GET /billing/invoices/{id}``), as Wallgent's SDK shapes line items.

    Example:
        >>> InvoiceLine.model_validate({"description": "Starter", "unitPrice": "99.00", "quantity": 1}).unit_price
        Decimal('99.00')
    """

    description: str | None = None
    unit_price: Amount | None = None
    quantity: int = 1
    total: Amount | None = None


class Invoice(Result):
    """One billing invoice.

    Example:
        >>> Invoice.model_validate({"id": "inv_1", "amount": "99.00", "status": "paid"}).status
        'paid'
    """

    id: str
    amount: Amount | None = None
    status: str | None = None
    payment_method: str | None = None
    description: str | None = None
    created_at: str | None = None
    period_start: str | None = None
    period_end: str | None = None
    line_items: list[InvoiceLine] = []


class InvoicePage(Result):
    """``GET /billing/invoices``: one page.

    Example:
        >>> InvoicePage.model_validate({"invoices": [], "page": 1, "limit": 20, "total": 0}).total
        0
    """

    invoices: list[Invoice] = []
    page: int = 1
    limit: int = 20
    total: int | None = None
    has_more: bool = False
