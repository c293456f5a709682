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
naming the card for a person costs no second resolution. Everything a price depends on is: the plan's
price, period, interval count, currency, trial, quantity and proration basis, and the standing
authorisations (automatic recharges, renewals) the charge's card will carry.

Prices come from the provider, so they are checked before anyone is asked (``check_price``): a price
that is missing, not finite, negative, zero where it is charged, finer than the currency's smallest
unit or beyond the bound is refused with :class:`PriceRefused`, which names the field.

Example:
    >>> from decimal import Decimal
    >>> card = CardRef(id="pm_card_visa", brand="visa", last4="4242")
    >>> intent = ChargeIntent(operation="top_up", effect="charge", account="acct_1", amount=Decimal("25"),
    ...                       payment_method=card, funding="explicit", arguments={"amount": Decimal("25.00"),
    ...                       "payment_method_id": "pm_card_visa"}, summary="Charge $25.00 to Visa ending 4242")
    >>> other = intent.model_copy(update={"payment_method": CardRef(id="pm_card_mastercard")})
    >>> intent.digest == other.digest, card.text
    (False, 'Visa ending 4242')
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Mapping
from decimal import Decimal, InvalidOperation
from functools import cached_property
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
        """How a person reads it: brand and last four only.

        Example:
            >>> CardRef(id="pm_9", brand="amex", last4="0005").text
            'Amex ending 0005'
        """
        if self.last4:
            return f"{(self.brand or 'card').capitalize()} ending {self.last4}"
        return f"payment method {self.id}"


class PlanRef(BaseModel):
    """A plan as the intent names it: everything its price depends on binds; the name is for people.

    ``period`` and ``interval_count`` say how often it renews ("month", 3: every three months),
    ``trial_days`` how long before the first charge, ``quantity`` how many are bought, ``basis`` what a
    prorated charge is computed from (the plan and price it replaces). All but the name are in the digest.

    Example:
        >>> PlanRef(id=10, name="Standard", price=Decimal("29"), period="month").text
        'Standard (plan 10, $29.00 per month)'
        >>> PlanRef(id=7, price=Decimal("90"), period="month", interval_count=3, trial_days=7).text
        'plan 7 ($90.00 every 3 months, 7-day trial)'
    """

    model_config = ConfigDict(frozen=True)

    id: int | str
    name: str | None = None
    price: Decimal | None = None
    period: str | None = None
    interval_count: int = 1
    currency: str = "USD"
    trial_days: int = 0
    quantity: int = 1
    basis: str | None = None

    @property
    def every(self) -> str:
        """How often it is charged, in words: "per month", "every 3 months".

        Example:
            >>> PlanRef(id=1, period="month").every, PlanRef(id=1, period="month", interval_count=3).every
            ('per month', 'every 3 months')
        """
        period = self.period or "period"
        return f"per {period}" if self.interval_count == 1 else f"every {self.interval_count} {period}s"

    @property
    def text(self) -> str:
        """The plan as a person reads it.

        Example:
            >>> PlanRef(id=10, name="Standard", price=Decimal("29"), period="month").text
            'Standard (plan 10, $29.00 per month)'
        """
        from agent_billing.guardrails.mandate import format_money

        terms = []
        if self.price is not None and self.price.is_finite():
            terms.append(f"{format_money(self.price, self.currency)} {self.every}")
        if self.quantity != 1:
            terms.append(f"quantity {self.quantity}")
        if self.trial_days:
            terms.append(f"{self.trial_days}-day trial")
        price = ", ".join(terms)
        if self.name:
            return f"{self.name} (plan {self.id}{', ' + price if price else ''})"
        return f"plan {self.id}" + (f" ({price})" if price else "")

    def binding(self) -> dict[str, Any]:
        """What binds (everything but the name).

        Example:
            >>> "name" in PlanRef(id=10, name="Standard").binding()
            False
        """
        return self.model_dump(exclude={"name"})

    def renewals_per_24h(self) -> int | None:
        """At most how many renewals fall in any 24 h (a daily plan: 2, at both ends); None: unknown period.

        Example:
            >>> PlanRef(id=1, period="month").renewals_per_24h(), PlanRef(id=1, period="day").renewals_per_24h()
            (1, 2)
        """
        days = _PERIOD_DAYS.get(self.period or "")
        if days is None or self.interval_count < 1:
            return None
        return 1 if days * self.interval_count > 1 else 2


_PERIOD_DAYS = {"day": 1, "week": 7, "month": 28, "year": 365}


class Standing(BaseModel):
    """A standing authorisation: charges that happen later without anyone being asked.

    ``kind`` is ``auto_funding`` (a recharge of ``amount`` whenever the balance falls below ``threshold``)
    or ``renewal`` (a subscription's ``plan`` renewing). ``per_24h`` bounds how many charges can fall in
    any 24 hours (None: no bound, e.g. automatic recharges as often as usage drains the wallet).

    Example:
        >>> auto = Standing(kind="auto_funding", ref="auto_funding", amount=Decimal("25"), threshold=Decimal("5"))
        >>> auto.text, auto.worst_24h
        ('automatic recharges of $25.00 whenever the balance falls below $5.00', None)
    """

    model_config = ConfigDict(frozen=True)

    kind: Literal["auto_funding", "renewal"]
    ref: str
    amount: Decimal | None = None
    currency: str = "USD"
    threshold: Decimal | None = None
    plan: PlanRef | None = None
    per_24h: int | None = None

    @property
    def worst_24h(self) -> Decimal | None:
        """The most it can charge in any 24 hours (None: unbounded or unknown).

        Example:
            >>> Standing(kind="renewal", ref="sub_1", amount=Decimal("29"), per_24h=2).worst_24h
            Decimal('58')
        """
        if self.amount is None or self.per_24h is None:
            return None
        return self.amount * self.per_24h

    @property
    def text(self) -> str:
        """What it charges, as a person reads it.

        Example:
            >>> Standing(kind="renewal", ref="sub_1", plan=PlanRef(id=10)).text
            'the renewals of subscription sub_1 on plan 10'
        """
        from agent_billing.guardrails.mandate import format_money

        if self.kind == "auto_funding":
            amount = format_money(self.amount, self.currency) if self.amount is not None else "an amount"
            below = format_money(self.threshold, self.currency) if self.threshold is not None else "a threshold"
            return f"automatic recharges of {amount} whenever the balance falls below {below}"
        plan = self.plan.text if self.plan is not None else "an unknown plan"
        return f"the renewals of subscription {self.ref} on {plan}"

    def binding(self) -> dict[str, Any]:
        """What binds (the plan without its name).

        Example:
            >>> Standing(kind="renewal", ref="sub_1", plan=PlanRef(id=10, name="Standard")).binding()["plan"]["id"]
            10
        """
        return {"kind": self.kind, "ref": self.ref, "amount": self.amount, "currency": self.currency,
                "threshold": self.threshold, "plan": self.plan.binding() if self.plan else None,
                "per_24h": self.per_24h}


class ChargeIntent(BaseModel):
    """The exact charge a gated call will make, resolved (see the module docstring).

    ``funding`` says what pays: ``explicit`` (the card id is sent with the request), ``default`` (the
    API charges the account's default card, resolved here to ``payment_method``), ``checkout`` (a person
    pays on a hosted page; nothing is charged now), ``wallet`` or ``none`` (a payout, a removal).
    ``arguments`` are the validated arguments that will be sent, with resolved values filled in.

    Example:
        >>> ChargeIntent(operation="pay_out", effect="payout", account="acct_1", amount=Decimal("50"),
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
    carries: tuple[Standing, ...] = ()
    arguments: dict[str, Any] = Field(default_factory=dict)
    summary: str

    @cached_property
    def digest(self) -> str:
        """SHA-256 over what binds: operation, account, amount, currency, card id, the plan's price terms
        (price, period, interval count, currency, trial, quantity, basis), recurrence, the standing
        authorisations carried and the arguments sent (not the words, brand, last four or plan name).
        Computed once: the intent is frozen, so the value cannot change after the first read.

        Example:
            >>> a = ChargeIntent(operation="o", effect="payout", account="a", summary="s")
            >>> len(a.digest), a.digest == a.model_copy(update={"summary": "other words"}).digest
            (64, True)
        """
        binding = {
            "account": self.account, "effect": self.effect, "amount": self.amount, "currency": self.currency,
            "payment_method": self.payment_method.id if self.payment_method else None, "funding": self.funding,
            "plan": self.plan.binding() if self.plan else None, "recurring": self.recurring,
            "carries": [item.binding() for item in self.carries], "arguments": self.arguments,
        }
        return fingerprint(self.operation, binding)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> ChargeIntent:
        """A copy (see pydantic); the cached ``digest`` is dropped, so a changed copy hashes its own fields.

        Example:
            >>> a = ChargeIntent(operation="o", effect="payout", account="a", summary="s")
            >>> a.digest == a.model_copy(update={"account": "b"}).digest
            False
        """
        copy = super().model_copy(update=update, deep=deep)
        copy.__dict__.pop("digest", None)
        return copy

    @property
    def worst_24h(self) -> Decimal | None:
        """The most the standing authorisations it carries can charge in any 24 hours (None: unbounded).

        Example:
            >>> renewal = Standing(kind="renewal", ref="1", amount=Decimal("29"), per_24h=1)
            >>> ChargeIntent(operation="o", effect="authorize", account="a", summary="s", carries=(renewal,)).worst_24h
            Decimal('29')
        """
        total = Decimal(0)
        for item in self.carries:
            worst = item.worst_24h
            if worst is None:
                return None
            total += worst
        return total

    @property
    def largest_charge(self) -> Decimal | None:
        """The largest single charge it makes or carries (None: a carried one is unknown; 0: it charges nothing).

        Example:
            >>> ChargeIntent(operation="o", effect="authorize", account="a", summary="s").largest_charge
            Decimal('0')
        """
        if any(item.amount is None for item in self.carries):
            return None
        known = [a for a in (self.amount, *(item.amount for item in self.carries)) if a is not None]
        return max(known, default=Decimal(0))

    def describe_change(self, newer: ChargeIntent) -> str:
        """One sentence on what differs between this (approved) intent and ``newer`` (about to run).

        Example:
            >>> a = ChargeIntent(operation="top_up", effect="charge", account="a", summary="s",
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
        mine_plan, their_plan = self.plan or PlanRef(id=""), newer.plan or PlanRef(id="")
        for term, words in _PLAN_TERMS.items():
            if getattr(mine_plan, term) != getattr(their_plan, term):
                changes.append(f"the plan's {words} changed from {getattr(mine_plan, term)} to "
                               f"{getattr(their_plan, term)}")
        if self.amount != newer.amount:
            changes.append("the amount changed")
        if [item.binding() for item in self.carries] != [item.binding() for item in newer.carries]:
            changes.append("the automatic charges it carries changed")
        return "; ".join(changes) or "what the charge depends on changed"

    def record(self) -> dict[str, Any]:
        """The intent for an audit record or an approval request (JSON-safe, brand and last four only).

        Example:
            >>> len(ChargeIntent(operation="pay_out", effect="payout", account="a", summary="s").record()["digest"])
            64
        """
        data: dict[str, Any] = json.loads(self.model_dump_json())
        data["digest"] = self.digest
        return data


_PLAN_TERMS = {"id": "id", "price": "price", "period": "billing period", "interval_count": "interval count",
               "currency": "currency", "trial_days": "trial days", "quantity": "quantity", "basis": "proration basis"}


class IntentUnavailable(Exception):
    """The intent cannot be resolved (no default card, unknown plan...): nothing may be charged.

    Example:
        >>> str(IntentUnavailable("The account has no default card."))
        'The account has no default card.'
    """


class PriceRefused(IntentUnavailable):
    """A price or amount the provider gave cannot be charged or shown truthfully; ``field`` names it.

    Example:
        >>> exc = PriceRefused("plan.price", "is negative")
        >>> exc.field, str(exc).split(". ")[0]
        ('plan.price', 'Refused before anyone was asked: plan.price from the provider is negative')
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"Refused before anyone was asked: {field} from the provider {problem}. Nothing was charged; "
                         "the provider's price must be fixed first.")


# ISO 4217 minor units where they differ from two; money finer than this cannot be charged.
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "XAF": 0, "XOF": 0,
                "BHD": 3, "JOD": 3, "KWD": 3, "OMR": 3, "TND": 3}
# Without a bound from the provider: no single charge or price above this is believed.
DEFAULT_BOUND = Decimal("1000000")


def check_price(value: Any, field: str, *, currency: str = "USD", charged: bool = True,
                bound: Decimal | None = None) -> Decimal:
    """A provider's price, refused (``PriceRefused`` naming ``field``) unless it can be charged as shown.

    Missing, not a number, not finite, negative, zero where it is ``charged``, finer than the currency's
    smallest unit, or above ``bound`` (default ``DEFAULT_BOUND``): refused.

    Example:
        >>> check_price(Decimal("29.00"), "plan.price")
        Decimal('29.00')
        >>> for bad in (None, Decimal("0"), Decimal("-29"), Decimal("29.999"), Decimal("1E-7"), Decimal("Infinity")):
        ...     try:
        ...         check_price(bad, "plan.price")
        ...     except PriceRefused as exc:
        ...         print(exc.field, str(exc).split(" from the provider ")[1].split(".")[0])
        plan.price is missing
        plan.price is zero
        plan.price is negative
        plan.price has more decimal places than USD allows
        plan.price has more decimal places than USD allows
        plan.price is not a finite number
    """
    if value is None:
        raise PriceRefused(field, "is missing")
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise PriceRefused(field, "is not a number")
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError):
        raise PriceRefused(field, "is not a number") from None
    if not amount.is_finite():
        raise PriceRefused(field, "is not a finite number")
    if amount < 0:
        raise PriceRefused(field, "is negative")
    if amount == 0 and charged:
        raise PriceRefused(field, "is zero")
    limit = bound if bound is not None else DEFAULT_BOUND
    if amount > limit:
        raise PriceRefused(field, f"is above the bound of {limit:,}")
    units = _MINOR_UNITS.get(currency.upper(), 2)
    if amount != amount.quantize(Decimal(1).scaleb(-units)):
        raise PriceRefused(field, f"has more decimal places than {currency.upper()} allows")
    return amount


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
    carries: tuple[Standing, ...] = ()
    bound: Decimal | None = Field(None, description="the API's largest amount, for the price checks")
    send: BaseModel | None = Field(None, description="the arguments to send, when they differ from the call's")


def build_intent(operation: str, effect: str, account: str, args: BaseModel, draft: IntentDraft) -> ChargeIntent:
    """Complete a resolver's draft into the intent, after checking every price in it (``PriceRefused``).

    The amount and the carried amounts may be zero (a downgrade charges nothing now); a plan's price
    may not where the call charges or authorises (an effect of ``charge`` or ``authorize``).

    Example:
        >>> from pydantic import BaseModel
        >>> class Arguments(BaseModel):
        ...     amount: Decimal
        >>> build_intent("pay_out", "payout", "acct_1", Arguments(amount=Decimal("50.00")),
        ...              IntentDraft(summary="Pay out $50.00", amount=Decimal("50"))).arguments
        {'amount': Decimal('50.00')}
    """
    charges = effect in ("charge", "authorize")
    if draft.amount is not None:
        check_price(draft.amount, "amount", currency=draft.currency, charged=False, bound=draft.bound)
    if draft.plan is not None and (charges or draft.plan.price is not None):
        check_price(draft.plan.price, "plan.price", currency=draft.plan.currency, charged=charges, bound=draft.bound)
    for item in draft.carries:
        if item.amount is not None:
            check_price(item.amount, f"{item.kind}.amount", currency=item.currency, charged=False, bound=draft.bound)
        if item.threshold is not None:
            check_price(item.threshold, f"{item.kind}.threshold", currency=item.currency, charged=False,
                        bound=draft.bound)
    sent = draft.send if draft.send is not None else args
    return ChargeIntent(
        operation=operation, effect=effect, account=account, amount=draft.amount, currency=draft.currency,
        payment_method=draft.payment_method, funding=draft.funding, plan=draft.plan, recurring=draft.recurring,
        carries=draft.carries, arguments=sent.model_dump(mode="python", exclude_none=True), summary=draft.summary,
    )
