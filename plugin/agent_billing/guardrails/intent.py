"""The charge intent: everything a gated call will use, resolved before anyone is asked.

A person approves a *charge*, not a tool call: an amount, a card, a plan at a price, one-off or
recurring, on one account. The tool arguments do not say all of that (a charge without
``payment_method_id`` goes to whatever card is the default when it runs), so before an approval is
asked for, the operation's declared resolver reads what the charge depends on and writes it down as
a ``ChargeIntent``: the default card resolved to its id, the plan's price from the catalogue, the
arguments that will be sent (with the resolved card id filled in wherever the API takes one).

Its ``digest`` binds the approval, the confirmation token, the mandate reservation, the idempotency key
and the audit record. Right before execution the intent is resolved again; if the digest differs
(the default card was swapped, the price changed), nothing is charged and the person is asked again.
Display-only facts (brand, last four, plan name, the summary text) are not part of the digest, so
naming the card for a person costs no second resolution.

Example:
    >>> from decimal import Decimal
    >>> card = CardRef(id="pm_card_visa", brand="visa", last4="4242")
    >>> intent = ChargeIntent(operation="fund_wallet", effect="charge", account="acct_1", amount=Decimal("25"),
    ...                       payment_method=card, funding="explicit", arguments={"amount": Decimal("25.00"),
    ...                       "payment_method_id": "pm_card_visa"}, summary="Charge $25.00 to Visa ending 4242")
    >>> other = intent.model_copy(update={"payment_method": CardRef(id="pm_card_mastercard")})
    >>> intent.digest == other.digest, card.text
    (False, 'Visa ending 4242')
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent_billing.guardrails.confirmation import fingerprint

if TYPE_CHECKING:
    from agent_billing.tools.steps import ApiCall

Funding = Literal["explicit", "default", "checkout", "wallet", "none"]


class CardRef(BaseModel):
    """A card as the intent names it: the id that binds, brand and last four for people.

    Example:
        >>> CardRef(id="pm_1", brand="mastercard", last4="4444").text, CardRef(id="pm_2").text
        ('Mastercard ending 4444', 'payment method pm_2')
    """

    model_config = ConfigDict(frozen=True)

    id: str
    brand: str | None = None
    last4: str | None = None

    @property
    def text(self) -> str:
        """How a person reads it: brand and last four only."""
        if self.last4:
            return f"{(self.brand or 'card').capitalize()} ending {self.last4}"
        return f"payment method {self.id}"


class PlanRef(BaseModel):
    """A plan as the intent names it: id and price bind; name and period are for people.

    Example:
        >>> PlanRef(id=10, name="Standard", price=Decimal("29"), period="month").text
        'Standard (plan 10, $29.00 per month)'
    """

    model_config = ConfigDict(frozen=True)

    id: int | str
    name: str | None = None
    price: Decimal | None = None
    period: str | None = None

    @property
    def text(self) -> str:
        """The plan as a person reads it."""
        from agent_billing.money import format_usd

        price = f"{format_usd(self.price)} per {self.period or 'period'}" if self.price is not None else None
        if self.name:
            return f"{self.name} (plan {self.id}{', ' + price if price else ''})"
        return f"plan {self.id}" + (f" ({price})" if price else "")


class ChargeIntent(BaseModel):
    """The exact charge a gated call will make, resolved (see the module docstring).

    ``funding`` says what pays: ``explicit`` (the card id is sent with the request), ``default`` (the
    API charges the account's default card, resolved here to ``payment_method``), ``checkout`` (a person
    pays on a hosted page; nothing is charged now), ``wallet`` or ``none`` (a payout, a removal).
    ``arguments`` are the validated arguments that will be sent, with resolved values filled in.

    Example:
        >>> ChargeIntent(operation="withdraw", effect="payout", account="acct_1", amount=Decimal("50"),
        ...              arguments={"amount": Decimal("50")}, summary="Pay out $50.00").funding
        'none'
    """

    model_config = ConfigDict(frozen=True)

    operation: str
    effect: str
    account: str
    amount: Decimal | None = None
    currency: str = "USD"
    payment_method: CardRef | None = None
    funding: Funding = "none"
    plan: PlanRef | None = None
    recurring: bool = False
    arguments: dict[str, Any] = Field(default_factory=dict)
    summary: str

    @property
    def digest(self) -> str:
        """SHA-256 over what binds: operation, account, amount, currency, card id, plan id and price,
        recurrence and the arguments sent (not the words, brand or last four)."""
        binding = {
            "account": self.account, "effect": self.effect, "amount": self.amount, "currency": self.currency,
            "payment_method": self.payment_method.id if self.payment_method else None, "funding": self.funding,
            "plan": self.plan.id if self.plan else None, "price": self.plan.price if self.plan else None,
            "recurring": self.recurring, "arguments": self.arguments,
        }
        return fingerprint(self.operation, binding)

    @property
    def plan_id(self) -> int | str | None:
        """The plan's id (what mandates allow-list): a number or a name, as the provider has it."""
        return self.plan.id if self.plan is not None else None

    def describe_change(self, newer: ChargeIntent) -> str:
        """One sentence on what differs between this (approved) intent and ``newer`` (about to run).

        Example:
            >>> a = ChargeIntent(operation="fund_wallet", effect="charge", account="a", summary="s",
            ...                  payment_method=CardRef(id="pm_1", brand="visa", last4="4242"))
            >>> a.describe_change(a.model_copy(update={"payment_method": CardRef(id="pm_2", brand="mastercard",
            ...                                                                     last4="4444")}))
            'the card changed from Visa ending 4242 to Mastercard ending 4444'
        """
        changes: list[str] = []
        mine, theirs = self.payment_method, newer.payment_method
        if (mine.id if mine else None) != (theirs.id if theirs else None):
            changes.append(f"the card changed from {mine.text if mine else 'none'} to "
                           f"{theirs.text if theirs else 'none'}")
        if (self.plan.price if self.plan else None) != (newer.plan.price if newer.plan else None):
            changes.append("the plan's price changed")
        if self.amount != newer.amount:
            changes.append("the amount changed")
        return "; ".join(changes) or "what the charge depends on changed"

    def record(self) -> dict[str, Any]:
        """The intent for an audit record or an approval request (JSON-safe, brand and last four only).

        Example:
            >>> len(ChargeIntent(operation="withdraw", effect="payout", account="a", summary="s").record()["digest"])
            64
        """
        data: dict[str, Any] = json.loads(self.model_dump_json())
        data["digest"] = self.digest
        return data


class IntentUnavailable(Exception):
    """The intent cannot be resolved (no default card, unknown plan...): nothing may be charged.

    Example:
        >>> str(IntentUnavailable("The account has no default card."))
        'The account has no default card.'
    """


Resolver = Callable[[BaseModel, bool], Generator["ApiCall", Any, "IntentDraft"]]


class IntentDraft(BaseModel):
    """What an operation's resolver returns; the guard adds operation, effect and account.

    ``for_person=False`` (an auto-approving mandate decides alone) lets a resolver skip reads that only
    name things for a person; the binding facts must be the same either way.

    Example:
        >>> IntentDraft(summary="Pay out $50.00", amount=Decimal("50")).recurring
        False
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    summary: str
    amount: Decimal | None = None
    currency: str = "USD"
    payment_method: CardRef | None = None
    funding: Funding = "none"
    plan: PlanRef | None = None
    recurring: bool = False
    send: BaseModel | None = Field(None, description="the arguments to send, when they differ from the call's")


def build_intent(operation: str, effect: str, account: str, args: BaseModel, draft: IntentDraft) -> ChargeIntent:
    """Complete a resolver's draft into the intent.

    Example:
        >>> from agent_billing.registry import get_registry
        >>> op = get_registry().get("withdraw")
        >>> build_intent("withdraw", "payout", "acct_1", op.validate({"amount": "50"}),
        ...              IntentDraft(summary="Pay out $50.00", amount=Decimal("50"))).arguments
        {'amount': Decimal('50.00')}
    """
    sent = draft.send if draft.send is not None else args
    return ChargeIntent(
        operation=operation, effect=effect, account=account, amount=draft.amount, currency=draft.currency,
        payment_method=draft.payment_method, funding=draft.funding, plan=draft.plan, recurring=draft.recurring,
        arguments=sent.model_dump(mode="python", exclude_none=True), summary=draft.summary,
    )
