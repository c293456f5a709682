"""Approval before money moves: the request a person sees, their decision, and the approvers.

Approvers:

- ``InterruptApprover`` (``approval="interrupt"``): raises a LangGraph ``interrupt()`` carrying the
  request; the host resumes the graph with ``Command(resume="approve")`` or ``"reject"`` (also
  ``True``/``False`` or ``{"approved": bool, "reason": ...}``). Safe under LangGraph's re-execution of
  the tool on resume: everything before it is side-effect free and the idempotency key is stable.
- ``CallbackApprover`` (``approval=callable``): a sync or async function of the ``ApprovalRequest``
  returning ``True``/``False``, ``"yes"``/``"no"`` or an ``ApprovalDecision``; for chatbots and voice
  assistants that ask the person through their own channel.
- ``ConfirmationApprover`` (``approval="confirmation"``): a single-use token bound to the exact operation
  and arguments, expiring after a few minutes. WEAKER than a person's answer: the same model that
  asked could pass the token back, so the toolkit allows it only inside a mandate.

Example:
    >>> approver = CallbackApprover(lambda request: request.amount is not None and request.amount <= 50)
    >>> approver.describe()
    'callback'
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent_billing.guardrails.approval_text import card_brand, card_last4, period_of, plain_id, safe_line, safe_text
from agent_billing.money import format_usd


class ApprovalRequest(BaseModel):
    """What a person is asked to approve: exactly what will happen, in words and in fields.

    ``summary`` is the text every approver shows, rendered from the charge intent by
    ``guardrails/approval_text.py``: the facts line first (amount with currency, one-off or every period,
    the card by brand and last four, the plan by id), then the provider's words, labelled and quoted. The
    structured fields carry the same facts for hosts that lay out their own screen. Whoever builds a
    request, its display fields hold no control, bidi or zero-width characters (they are cleaned here).

    Example:
        >>> request = ApprovalRequest(operation="top_up", effect="charge", summary="Charge $25.00\x1b[2J",
        ...                           amount=Decimal("25"))
        >>> request.amount_text, request.summary
        ('$25.00', 'Charge $25.00[2J')
    """

    model_config = ConfigDict(frozen=True)

    kind: Literal["agent_billing_approval"] = "agent_billing_approval"
    operation: str
    effect: str
    summary: str = Field(description="the text to show: the facts line, then the provider's words, quoted")
    amount: Decimal | None = None
    currency: str = "USD"
    recurring: bool = False
    period: str | None = Field(None, description="day, week, month or year when recurring and recognised")
    payment_method: str | None = Field(None, description="brand and last four only")
    card_brand: str | None = Field(None, description="a known card network (visa, mastercard, amex...), else None")
    card_last4: str | None = Field(None, description="exactly four ASCII digits, else None")
    plan: str | None = Field(None, description="the plan by id and price")
    plan_id: str | None = Field(None, description="the plan's id when it is plain text")
    plan_name: str | None = Field(None, description="the provider's name for the plan (cleaned data)")
    description: str | None = Field(None, description="the resolver's description, quoting the provider (cleaned)")
    mandate: str | None = Field(None, description="why a mandate did not cover it, if one is set")
    arguments: dict[str, Any] = Field({}, description="the resolved arguments that will be sent (redacted)")
    idempotency_key: str | None = None
    intent_digest: str | None = Field(None, description="SHA-256 of the charge intent this approval is bound to")
    approval_id: str | None = Field(None, description="where the decision is recorded (tool call and charge)")
    confirmation: str | None = Field(None, description="single-use token, confirmation approver only")

    @field_validator("summary")
    @classmethod
    def _plain_text(cls, value: str) -> str:
        return safe_text(value)

    @field_validator("payment_method", "plan", "mandate", "plan_name", "description")
    @classmethod
    def _plain_line(cls, value: str | None) -> str | None:
        return safe_line(value) if value is not None else None

    @field_validator("card_brand")
    @classmethod
    def _known_brand(cls, value: str | None) -> str | None:
        return card_brand(value)

    @field_validator("card_last4")
    @classmethod
    def _four_digits(cls, value: str | None) -> str | None:
        return card_last4(value)

    @field_validator("plan_id")
    @classmethod
    def _plain_id(cls, value: str | None) -> str | None:
        return plain_id(value)

    @field_validator("period")
    @classmethod
    def _known_period(cls, value: str | None) -> str | None:
        return period_of(value)

    @property
    def amount_text(self) -> str | None:
        """The amount as a person reads it.

        Example:
            >>> from decimal import Decimal
            >>> ApprovalRequest(operation="o", effect="charge", summary="s", amount=Decimal("25")).amount_text
            '$25.00'
        """
        return format_usd(self.amount) if self.amount is not None else None


class ApprovalDecision(BaseModel):
    """A yes or a no, who gave it, and why.

    Example:
        >>> ApprovalDecision(approved=False, approver="callback", reason="too much").approved
        False
    """

    model_config = ConfigDict(frozen=True)

    approved: bool
    approver: str
    reason: str | None = None
    failed: bool = Field(False, description="the approver broke before answering (a no, not remembered as one)")
    evidence: dict[str, str] | None = Field(None, description="how the decision was recorded (receipts carry it)")


_YES = {"y", "yes", "approve", "approved", "ok", "confirm", "confirmed", "accept", "true"}


def coerce_decision(value: Any, approver: str) -> ApprovalDecision:
    """Read an approver's answer; anything not clearly a yes is a no (fail closed).

    Example:
        >>> coerce_decision("approve", "x").approved, coerce_decision("maybe", "x").approved
        (True, False)
    """
    if isinstance(value, ApprovalDecision):
        return value
    if isinstance(value, bool):
        return ApprovalDecision(approved=value, approver=approver)
    if isinstance(value, str):
        return ApprovalDecision(approved=value.strip().lower() in _YES, approver=approver)
    if isinstance(value, dict):
        # {"approved": bool}, or HumanInTheLoopMiddleware-style {"type": "approve"|"reject"} / {"decision": ...}
        raw = value.get("approved", value.get("decision", value.get("type")))
        approved = raw is True or (isinstance(raw, str) and raw.strip().lower() in _YES)
        reason = value.get("reason") or value.get("message")
        return ApprovalDecision(approved=approved, approver=str(value.get("approver") or approver),
                                reason=str(reason) if reason else None)
    return ApprovalDecision(approved=False, approver=approver, reason="unrecognised answer")


@runtime_checkable
class Approver(Protocol):
    """Decides approval requests. Implement ``decide`` (and ``adecide`` for async hosts).

    Example:
        >>> isinstance(CallbackApprover(lambda request: True), Approver)
        True
    """

    def describe(self) -> str:
        """A short name for audit records.

        Example:
            >>> CallbackApprover(lambda request: True, name="ops-desk").describe()
            'ops-desk'
        """
        ...

    def decide(self, request: ApprovalRequest) -> ApprovalDecision:
        """Ask and return the decision (may raise a LangGraph interrupt).

        Example:
            >>> request = ApprovalRequest(operation="o", effect="charge", summary="s")
            >>> CallbackApprover(lambda request: "no").decide(request).approved
            False
        """
        ...

    async def adecide(self, request: ApprovalRequest) -> ApprovalDecision:
        """Async form of ``decide``.

        Example:
            >>> import asyncio
            >>> request = ApprovalRequest(operation="o", effect="charge", summary="s")
            >>> asyncio.run(CallbackApprover(lambda r: "yes").adecide(request)).approved
            True
        """
        ...


class CallbackApprover:
    """Asks the host application through a function (sync or async).

    Example:
        >>> CallbackApprover(lambda r: "yes").decide(
        ...     ApprovalRequest(operation="top_up", effect="charge", summary="s")).approved
        True
    """

    def __init__(self, callback: Callable[[ApprovalRequest], Any], name: str = "callback") -> None:
        self._callback = callback
        self._name = name

    def describe(self) -> str:
        """A short name for audit records."""
        return self._name

    def decide(self, request: ApprovalRequest) -> ApprovalDecision:
        """Call the callback; an async callback is run to completion in a private event loop."""
        answer = self._callback(request)
        if inspect.isawaitable(answer):
            answer = _run_awaitable(answer)
        return coerce_decision(answer, self._name)

    async def adecide(self, request: ApprovalRequest) -> ApprovalDecision:
        """Call the callback, awaiting it if it is async; a sync one runs in a thread of its own lane, so a
        callback that waits for a person does not stall the event loop."""
        if _is_async(self._callback):
            answer = self._callback(request)
        else:
            from agent_billing.lanes import APPROVAL_LANE, run_in

            answer = await run_in(APPROVAL_LANE, self._callback, request)
        if inspect.isawaitable(answer):
            answer = await answer
        return coerce_decision(answer, self._name)


def _is_async(callback: Callable[..., Any]) -> bool:
    """An ``async def`` function (or an object whose ``__call__`` is one)."""
    return inspect.iscoroutinefunction(callback) or inspect.iscoroutinefunction(type(callback).__call__)


def _run_awaitable(awaitable: Awaitable[Any]) -> Any:
    import asyncio
    import concurrent.futures

    async def wrap() -> Any:
        return await awaitable

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(wrap())
    # Called synchronously from inside a running loop: finish it on a worker thread's own loop.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, wrap()).result()


class InterruptApprover:
    """Pauses the LangGraph run with ``interrupt()``; the host resumes with the person's decision.

    The interrupt value is the request as JSON (``kind == "agent_billing_approval"``), so a host can
    render ``summary`` and answer ``Command(resume="approve")`` or ``Command(resume="reject")``.

    Example:
        >>> InterruptApprover().describe()
        'langgraph-interrupt'
    """

    def describe(self) -> str:
        """A short name for audit records."""
        return "langgraph-interrupt"

    def decide(self, request: ApprovalRequest) -> ApprovalDecision:
        """Interrupt the graph (first run) or return the resume value (re-run after resume)."""
        from langgraph.types import interrupt

        answer = interrupt(request.model_dump(mode="json", exclude={"confirmation"}))
        return coerce_decision(answer, "human (langgraph interrupt)")

    async def adecide(self, request: ApprovalRequest) -> ApprovalDecision:
        """Same as ``decide``: LangGraph's ``interrupt`` is synchronous in async graphs too."""
        return self.decide(request)


class ConfirmationApprover:
    """Single-use confirmations bound to the exact operation and arguments (weaker; mandate only).

    The first call returns no decision: the tool answers with the summary and a token, and the agent
    must ask the person and call again with ``confirmation=<token>``. A token works once, for those
    arguments only, for ``ttl_seconds``.

    Example:
        >>> ConfirmationApprover().describe()
        'single-use-confirmation'
    """

    def __init__(self, store: Any = None, ttl_seconds: int = 300) -> None:
        from agent_billing.guardrails.confirmation import ConfirmationStore

        self.store = store if store is not None else ConfirmationStore()
        self.ttl_seconds = ttl_seconds

    def describe(self) -> str:
        """A short name for audit records."""
        return "single-use-confirmation"

    def decide(self, request: ApprovalRequest) -> ApprovalDecision:
        """Not used: the toolkit issues and consumes tokens itself (see ``tools/pipeline.py``)."""
        return ApprovalDecision(approved=False, approver=self.describe(), reason="confirmation token required")

    async def adecide(self, request: ApprovalRequest) -> ApprovalDecision:
        """Not used; see ``decide``."""
        return self.decide(request)


class MiddlewareApprover:
    """Approvals come from the toolkit's agent middleware (``toolkit.middleware()``), recorded per tool call.

    The middleware asks the person in the agent's ``after_model`` step and records each decision under
    the tool call and the charge intent it showed. The tool flow then looks the decision up; with no
    recorded yes for that exact call and intent (the middleware was left out, or the call changed) it
    refuses. Asked directly, this approver never says yes: it has nobody to ask.

    Example:
        >>> MiddlewareApprover().decide(ApprovalRequest(operation="top_up", effect="charge", summary="s")).approved
        False
    """

    def describe(self) -> str:
        """A short name for audit records."""
        return "agent middleware"

    def decide(self, request: ApprovalRequest) -> ApprovalDecision:
        """No: only a decision recorded by the middleware counts (the tool flow reads it)."""
        return ApprovalDecision(approved=False, approver=self.describe(),
                                reason="no decision recorded by toolkit.middleware()")

    async def adecide(self, request: ApprovalRequest) -> ApprovalDecision:
        """Async form of ``decide``."""
        return self.decide(request)


ApprovalSetting = Literal["interrupt", "confirmation", "middleware"] | Approver | Callable[[ApprovalRequest], Any] | None


def resolve_approver(approval: ApprovalSetting) -> Approver | None:
    """Turn the toolkit's ``approval=`` setting into an approver (None: no approver).

    Example:
        >>> resolve_approver("interrupt").describe()
        'langgraph-interrupt'
    """
    if approval is None:
        return None
    if approval == "interrupt":
        return InterruptApprover()
    if approval == "confirmation":
        return ConfirmationApprover()
    if approval == "middleware":
        return MiddlewareApprover()
    if isinstance(approval, str):
        raise ValueError(f"unknown approval setting {approval!r}: use 'interrupt', 'confirmation', 'middleware', "
                         "a callable or an Approver")
    if isinstance(approval, Approver):
        return approval
    if callable(approval):
        return CallbackApprover(approval)
    raise TypeError(f"approval must be 'interrupt', 'confirmation', a callable or an Approver, not {type(approval).__name__}")
