"""Result models of 10ex's payments API: snake_case, credits and amounts read as ``Decimal``.

The field names of 10ex's objects are not public; these are the names the sandbox serves and the
ones a deployer can expect from ``app/modules/payments/schemas.py``-style models. Unknown fields are
kept (``model_extra``), so a real response with more fields still reads.

Example:
    >>> usage = Usage.model_validate({"credits_used": "78500", "soft_cap": 80000, "hard_cap": 100000})
    >>> usage.credits_used, usage.hard_cap
    (Decimal('78500'), Decimal('100000'))
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _number(value: Any) -> Any:
    # Credits and amounts may come as numbers or decimal strings; a float is read through its shortest repr
    # so 12.5 stays Decimal('12.5') rather than the binary approximation.
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            parsed = Decimal(value)
        except InvalidOperation:
            raise ValueError("must be a decimal number") from None
        if not parsed.is_finite():
            raise ValueError("must be a finite number")
        return parsed
    return value


Credits = Annotated[Decimal, BeforeValidator(_number)]
Amount = Annotated[Decimal, BeforeValidator(_number)]


class Result(BaseModel):
    """Base of every result: unknown fields kept.

    Example:
        >>> Result.model_validate({"something_new": 1}).model_extra
        {'something_new': 1}
    """

    model_config = ConfigDict(extra="allow")

    idempotency_replay: bool = Field(False, repr=False)


class Subscription(Result):
    """The current subscription: plan name, status, renewal date.

    Example:
        >>> Subscription.model_validate({"plan": "Team", "status": "active", "renews_at": "2026-12-01T00:00:00Z"}).status
        'active'
    """

    id: str | None = None
    plan: str
    status: str
    renews_at: str | None = None
    current_period_start: str | None = None
    current_period_end: str | None = None
    cancel_at_period_end: bool = False


class Plan(Result):
    """The plan: included credits per period and the two caps (soft: warnings; hard: new runs refused).

    Example:
        >>> Plan.model_validate({"name": "Team", "included_credits": 100000, "soft_cap": 80000,
        ...                      "hard_cap": 100000}).soft_cap
        Decimal('80000')
    """

    id: str | None = None
    name: str
    included_credits: Credits
    soft_cap: Credits
    hard_cap: Credits
    price: Amount | None = None
    currency: str | None = None
    interval: str | None = None


class AgentUsage(Result):
    """One agent's credit use in the current period.

    Example:
        >>> AgentUsage.model_validate({"agent_id": "agt_1", "credits_used": 12.5}).credits_used
        Decimal('12.5')
    """

    agent_id: str
    name: str | None = None
    credits_used: Credits
    runs: int | None = None
    period_start: str | None = None
    period_end: str | None = None


class Usage(Result):
    """The workspace's credit use in the current period against the caps, with each agent's share.

    Example:
        >>> Usage.model_validate({"credits_used": 10, "agents": [{"agent_id": "a", "credits_used": 10}]}).agents[0].agent_id
        'a'
    """

    period_start: str | None = None
    period_end: str | None = None
    credits_used: Credits
    included_credits: Credits | None = None
    soft_cap: Credits | None = None
    hard_cap: Credits | None = None
    agents: list[AgentUsage] = Field(default_factory=list)


class Invoice(Result):
    """A 10ex invoice (Stripe-backed).

    Example:
        >>> Invoice.model_validate({"id": "in_1", "status": "paid", "total": "49.00"}).total
        Decimal('49.00')
    """

    id: str
    status: str
    total: Amount | None = None
    currency: str | None = None
    number: str | None = None
    created_at: str | None = None
    period_start: str | None = None
    period_end: str | None = None
    hosted_invoice_url: str | None = None


class InvoicePage(Result):
    """One cursor page of invoices: ``next_cursor`` is None on the last page.

    Example:
        >>> InvoicePage.model_validate({"items": [], "next_cursor": None}).next_cursor is None
        True
    """

    items: list[Invoice]
    next_cursor: str | None = None
    total: int | None = None


class LedgerEntry(Result):
    """One credit ledger entry: a grant (positive) or a run's debit (negative), with the balance after it.

    Example:
        >>> LedgerEntry.model_validate({"id": "cle_1", "kind": "debit", "credits": "-120"}).credits
        Decimal('-120')
    """

    id: str
    kind: str
    credits: Credits
    agent_id: str | None = None
    run_id: str | None = None
    description: str | None = None
    balance_after: Credits | None = None
    occurred_at: str | None = None


class LedgerPage(Result):
    """One cursor page of the credit ledger (newest first).

    Example:
        >>> LedgerPage.model_validate({"items": [{"id": "cle_1", "kind": "grant", "credits": 5}]}).items[0].kind
        'grant'
    """

    items: list[LedgerEntry]
    next_cursor: str | None = None
    total: int | None = None


class PortalSession(Result):
    """A billing-portal session: the URL a logged-in admin opens to change the plan, card or address.

    Example:
        >>> PortalSession.model_validate({"url": "https://billing.example/p/bps_1"}).url
        'https://billing.example/p/bps_1'
    """

    id: str | None = None
    url: str
    expires_at: str | None = None
