"""Argument models of Wallgent's billing API: camelCase on the wire, snake_case in Python and in tools.

Example:
    >>> SubscribeArgs(plan="STARTER", payment_method="CARD", stripe_payment_method_id="pm_card_visa").model_dump(
    ...     by_alias=True, exclude_none=True)
    {'plan': 'STARTER', 'paymentMethod': 'CARD', 'stripePaymentMethodId': 'pm_card_visa'}
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel

# Enterprise is custom-priced and not self-serve; Free is the sandbox start plan.
SelfServePlan = Literal["STARTER", "GROWTH"]
BillingMethod = Literal["WALLET", "CARD"]
StripePaymentMethodId = Annotated[str, StringConstraints(pattern=r"^pm_[A-Za-z0-9_]{1,200}$", strip_whitespace=True)]


class Args(BaseModel):
    """Base of every argument model: unknown fields refused, wire names in camelCase.

    Example:
        >>> Args.model_config["extra"]
        'forbid'
    """

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class NoArgs(Args):
    """No arguments.

    Example:
        >>> NoArgs().model_dump()
        {}
    """


class PlanArgs(Args):
    """A self-serve plan (checkout, change-plan).

    Example:
        >>> PlanArgs(plan="GROWTH").plan
        'GROWTH'
    """

    plan: SelfServePlan = Field(description="STARTER ($99/month) or GROWTH ($249/month)")


class SubscribeArgs(PlanArgs):
    """Subscribe, paid from the Wallgent wallet or a card.

    Example:
        >>> from pydantic import ValidationError
        >>> try:
        ...     SubscribeArgs(plan="STARTER", payment_method="CARD")
        ... except ValidationError as exc:
        ...     print(exc.errors()[0]["msg"])
        Value error, paying by CARD needs stripe_payment_method_id (a pm_ id from trusted code or a saved card)
    """

    payment_method: BillingMethod = Field(description="WALLET or CARD")
    stripe_payment_method_id: StripePaymentMethodId | None = Field(None, description="pm_ id; required for CARD")

    @model_validator(mode="after")
    def _card_needs_id(self) -> SubscribeArgs:
        if self.payment_method == "CARD" and self.stripe_payment_method_id is None:
            raise ValueError("paying by CARD needs stripe_payment_method_id (a pm_ id from trusted code or a saved card)")
        if self.payment_method == "WALLET" and self.stripe_payment_method_id is not None:
            raise ValueError("stripe_payment_method_id is only for CARD")
        return self


class ChangePaymentMethodArgs(Args):
    """Switch what future charges hit.

    Example:
        >>> ChangePaymentMethodArgs(payment_method="WALLET").stripe_payment_method_id is None
        True
    """

    payment_method: BillingMethod = Field(description="WALLET or CARD")
    stripe_payment_method_id: StripePaymentMethodId | None = Field(None, description="pm_ id for CARD, else the saved card")


class SavePaymentMethodArgs(Args):
    """Save a card confirmed through a setup intent.

    Example:
        >>> SavePaymentMethodArgs(payment_method_id="pm_card_visa").model_dump(by_alias=True)
        {'paymentMethodId': 'pm_card_visa'}
    """

    payment_method_id: StripePaymentMethodId = Field(description="pm_ id from the confirmed setup intent")


class InvoicePageArgs(Args):
    """One page of invoices.

    Example:
        >>> InvoicePageArgs().limit
        20
    """

    page: Annotated[int, Field(ge=1, le=100_000)] = 1
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class InvoiceArgs(Args):
    """One invoice.

    Example:
        >>> InvoiceArgs(invoice_id="inv_123").invoice_id
        'inv_123'
    """

    invoice_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,100}$", strip_whitespace=True)]
