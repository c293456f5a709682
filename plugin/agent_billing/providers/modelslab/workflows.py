"""Workflow actions: the human handoff, waiting for the payment, and keeping the wallet funded.

- ``payment_links.handoff``: create a payment link (fund or subscribe) and return the URL, session id,
  expiry and messages ready to relay (chat and voice forms).
- ``payment_links.wait``: poll confirm-checkout with backoff, within the rate limits, until the person
  has paid, the link expired or the time limit passed; report the new balance or subscription status.
- ``wallet.ensure_funded``: check the balance against what a job will cost; when short, top up with the
  saved default card (through the same mandate/approval gate as ``fund``) or fall back to the handoff,
  as the payment-path advisor decides.
- ``wallet.fund_via_human``: the reference's "human-assisted funding with polling": handoff, deliver the
  link to the host (``handoff_notifier`` and the LangGraph stream), then wait.

Example:
    >>> [f"{a.group}.{a.action}" for a in WORKFLOW_ACTIONS]
    ['payment_links.handoff', 'payment_links.wait', 'wallet.ensure_funded', 'wallet.fund_via_human']
"""

from __future__ import annotations

import math
from collections.abc import Generator
from datetime import datetime, timezone
from decimal import ROUND_UP, Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent_billing.errors import BillingError, ConflictError, RateLimitedError
from agent_billing.money import CENT, Money, format_usd, wire_amount
from agent_billing.providers.modelslab.paths import Situation, advise
from agent_billing.tools.schemas import model_field_schemas
from agent_billing.tools.shaping import error_content, parse_args, result_content
from agent_billing.tools.steps import ApiCall, Flow, Sleep, ToolOutcome

if TYPE_CHECKING:
    from agent_billing.tools.toolkit import BillingToolkit

Channel = str
MIN_TOP_UP = Decimal("10")
# The toolkit memory where a hand-off keeps what each checkout session pays for ("fund" or "subscribe").
_SESSIONS = "checkout_sessions"


class HandoffArgs(BaseModel):
    """Arguments of ``payment_links.handoff``.

    Example:
        >>> HandoffArgs(purpose="fund", amount="25").channel
        'chat'
    """

    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(pattern="^(fund|subscribe)$")
    amount: Money | None = None
    plan_id: int | None = None
    channel: str = Field("chat", pattern="^(chat|voice|email|none)$")


class WaitArgs(BaseModel):
    """Arguments of ``payment_links.wait``.

    Example:
        >>> WaitArgs(session_id="cs_test_123", timeout_seconds=120).timeout_seconds
        120
    """

    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(pattern=r"^cs_[A-Za-z0-9_]{1,200}$")
    purpose: str | None = Field(None, pattern="^(fund|subscribe)$")
    timeout_seconds: int | None = Field(None, ge=1, le=1800)
    person_says_paid: bool = False


class EnsureFundedArgs(BaseModel):
    """Arguments of ``wallet.ensure_funded``.

    Example:
        >>> EnsureFundedArgs(job_cost="3.50").top_up_amount is None  # tops up by the shortfall, at least $10
        True
    """

    model_config = ConfigDict(extra="forbid")

    job_cost: Money = Field(gt=Decimal(0), le=Decimal(10000))
    top_up_amount: Money | None = Field(None, ge=MIN_TOP_UP, le=Decimal(10000))
    channel: str = Field("chat", pattern="^(chat|voice|email|none)$")


class FundViaHumanArgs(BaseModel):
    """Arguments of ``wallet.fund_via_human``.

    Example:
        >>> FundViaHumanArgs(amount=40, channel="voice").amount
        Decimal('40')
    """

    model_config = ConfigDict(extra="forbid")

    amount: Money = Field(ge=MIN_TOP_UP, le=Decimal(10000))
    channel: str = Field("chat", pattern="^(chat|voice|email|none)$")
    timeout_seconds: int | None = Field(None, ge=1, le=1800)


def _timestamp(iso: object) -> float | None:
    """Unix seconds of an ISO 8601 time (``Z`` or an offset; none means UTC), or None if unreadable."""
    if not isinstance(iso, str) or not iso:
        return None
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _minutes_until(expires_at: str | None, now: float) -> int | None:
    moment = _timestamp(expires_at)
    return None if moment is None else max(0, math.floor((moment - now) / 60))


def relay_messages(link: Any, what: str, product: str, now: float) -> dict[str, str]:
    """Ready-to-relay messages: chat (URL verbatim) and voice (no URL read aloud).

    Example:
        >>> from agent_billing.providers.modelslab.results import PaymentLink
        >>> link = PaymentLink(payment_url="https://checkout.example/c/cs_1", session_id="cs_1", purpose="fund",
        ...                    expires_at="1970-01-01T00:30:00Z")
        >>> relay_messages(link, "add $25.00 to your wallet", "Acme", now=0.0)["chat"].splitlines()[1]
        'The link expires in about 30 minutes. Let me know once you have paid.'
    """
    minutes = _minutes_until(getattr(link, "expires_at", None), now)
    expiry = f"in about {minutes} minutes" if minutes is not None else "soon"
    return {
        "chat": f"To {what} for {product}, please pay on this secure page: {link.payment_url}\n"
                f"The link expires {expiry}. Let me know once you have paid.",
        "voice": f"I've prepared a secure payment page to {what}. It expires {expiry}. "
                 "Shall I send you the link by text message or email?",
    }


def _handoff(tk: BillingToolkit, args: HandoffArgs) -> Flow:
    """Create the link and the relay messages (no waiting)."""
    payload: dict[str, Any] = {"purpose": args.purpose}
    if args.purpose == "fund":
        payload["amount"] = args.amount
        what = f"add {format_usd(args.amount)} to your wallet" if args.amount is not None else "fund your wallet"
    else:
        payload["plan_id"] = args.plan_id
        what = f"subscribe to plan {args.plan_id}"
    try:
        link = yield ApiCall("create_payment_link", payload)
    except BillingError as exc:
        return ToolOutcome(error_content(exc, "create_payment_link"), is_error=True)
    tk.memory(_SESSIONS)[link.session_id] = args.purpose  # so wait picks the right confirmation
    content = {
        "ok": True, "operation": "handoff", "payment_url": link.payment_url, "session_id": link.session_id,
        "purpose": args.purpose, "expires_at": link.expires_at,
        "messages": relay_messages(link, what, tk.product_name, tk.guard.clock()),
        "next_step": f"Relay the {args.channel} message (the URL exactly as given), then call payment_links "
                     "action=wait with this session_id.",
    }
    if args.amount is not None:
        content["amount"] = format(wire_amount(args.amount), "f")
    return ToolOutcome(content, artifact={"result": link.model_dump(mode="json")})


def handoff_flow(tk: BillingToolkit, raw: dict[str, Any], tool_call_id: str | None) -> Flow:
    """``payment_links.handoff``.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.inprocess import sandbox_clients
        >>> from agent_billing.audit import MemoryAuditLog
        >>> from agent_billing.tools import BillingToolkit
        >>> toolkit = BillingToolkit(client=sandbox_clients(create_app())[0], audit=MemoryAuditLog())
        >>> outcome = toolkit.run_flow(handoff_flow(toolkit, {"purpose": "fund", "amount": 25}, None))
        >>> outcome.content["session_id"].startswith("cs_"), outcome.content["amount"]
        (True, '25.00')
    """
    args = parse_args(HandoffArgs, raw, "handoff")
    if isinstance(args, ToolOutcome):
        return args
    assert isinstance(args, HandoffArgs)
    return (yield from _handoff(tk, args))


# Waiting for a person to pay. Polls of confirm-checkout count against the agent-billing limiter (15 per
# minute, documented), so at most POLLS_PER_MINUTE of them go out in any minute, leaving room for the
# link's creation and a retry. While a payment is most likely (the first PEAK_SECONDS of the link's
# life) that is one poll every ~4.6 s: a payment is noticed ~2.3 s after it lands on average, sooner
# than fixed 5 s polling. Later the interval grows with the square root of the link's age: the chance
# that a person who has not paid yet pays in the next seconds falls, and a poll interval proportional
# to 1/sqrt(that chance) is the one that spends fewest requests for a given average delay. A person
# who says they paid is checked at once, then a few times in quick succession (a card payment can take
# seconds to register). Figures: benchmarks/RESULTS.md (benchmarks/wait_detection.py).
POLLS_PER_MINUTE = 13
PEAK_SECONDS = 90.0
LINK_TTL_SECONDS = 1800.0  # hosted checkout links live 30 minutes; the age of a link is read from its expiry
CLAIM_RECHECKS = (1.0, 2.0, 4.0)  # after "I have paid": seconds between the quick re-checks


def poll_interval_for(age: float, bounds: tuple[float, float] = (0.0, 15.0), slow: float = 1.0) -> float:
    """Seconds until the next check of a link that is ``age`` seconds old, within ``bounds``.

    ``slow`` stretches it (after the limiter refused a poll, the budget is shared with something else).

    Example:
        >>> [round(poll_interval_for(age), 2) for age in (0, 60, 90, 180, 360, 1200)]
        [4.62, 4.62, 4.62, 6.53, 9.23, 15.0]
        >>> poll_interval_for(30, bounds=(0.01, 0.05))  # the bounds win (tests and demos poll fast)
        0.05
    """
    base = 60.0 / POLLS_PER_MINUTE * math.sqrt(max(1.0, age / PEAK_SECONDS)) * slow
    low, high = bounds
    return min(max(base, low), high)


def link_age(details: dict[str, Any], now: float) -> float | None:
    """The age of a checkout link from the ``expires_at`` a not-paid answer carries, if readable.

    Example:
        >>> link_age({"expires_at": "1970-01-01T00:30:00Z"}, now=60.0)
        60.0
        >>> link_age({}, now=60.0) is None
        True
    """
    expires_at = _timestamp(details.get("expires_at"))
    if expires_at is None:
        return None
    age = LINK_TTL_SECONDS - (expires_at - now)
    return age if 0 <= age <= LINK_TTL_SECONDS else None


def _wait(tk: BillingToolkit, session_id: str, purpose: str, timeout: float, *, age: float | None = None,
          person_says_paid: bool = False) -> Flow:
    """Poll confirm-checkout until paid, expired or ``timeout``; ``age`` is the link's age if known (None:
    check at once, then learn it from the answer)."""
    operation = "confirm_wallet_checkout" if purpose == "fund" else "confirm_subscription_checkout"
    clock = getattr(tk, "clock", None) or tk.guard.clock
    started = clock()
    deadline = started + timeout
    created = None if age is None else started - age
    rechecks = list(CLAIM_RECHECKS) if person_says_paid else []
    first_delay = 0.0 if age is None or person_says_paid else poll_interval_for(age, tk.poll_interval)
    polls, slow, retry_after = 0, 1.0, 0.0
    if first_delay > 0:
        yield Sleep(min(first_delay, timeout))
    while True:
        polls += 1
        try:
            result = yield ApiCall(operation, {"session_id": session_id})
        except RateLimitedError as exc:
            slow = min(slow * 1.25, 4.0)
            retry_after = exc.retry_after or tk.poll_interval[1]
        except ConflictError as exc:
            if exc.code == "checkout_expired":
                tk.notify_progress(f"Payment link {session_id} expired.")
                return ToolOutcome({"ok": False, "operation": "wait", "status": "expired", "session_id": session_id,
                                    "message": "The payment link expired before it was paid.",
                                    "next_step": "Ask the person whether they still want to pay; if so, create a "
                                                 "new link."}, is_error=True)
            if exc.code != "checkout_not_paid":
                return ToolOutcome(error_content(exc, operation), is_error=True)
            if created is None:
                learned = link_age(exc.details, clock())
                created = clock() - (learned if learned is not None else 0.0)
        except BillingError as exc:
            return ToolOutcome(error_content(exc, operation), is_error=True)
        else:
            content = {"ok": True, "operation": "wait", "status": "paid", "session_id": session_id,
                       "result": result_content(result)}
            tk.notify_progress(f"Payment received for {session_id}.")
            return ToolOutcome(content, artifact={"result": result.model_dump(mode="json")})
        now = clock()
        remaining = deadline - now
        if remaining <= 0:
            return ToolOutcome({"ok": False, "operation": "wait", "status": "pending", "session_id": session_id,
                                "polls": polls, "message": "Not paid yet; the link is still open until it expires.",
                                "next_step": "Ask the person whether they have paid; call wait again later."},
                               is_error=True)
        tk.notify_progress(f"Waiting for the person to pay ({polls} checks so far)...")
        delay = poll_interval_for(now - (created if created is not None else started), tk.poll_interval, slow)
        if retry_after:
            delay, retry_after = max(delay, retry_after), 0.0
        elif rechecks:
            delay = min(rechecks.pop(0), tk.poll_interval[1])  # below the usual minimum: the person said so
        yield Sleep(min(delay, remaining))


def wait_flow(tk: BillingToolkit, raw: dict[str, Any], tool_call_id: str | None) -> Flow:
    """``payment_links.wait``.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.inprocess import sandbox_clients
        >>> from agent_billing.audit import MemoryAuditLog
        >>> from agent_billing.tools import BillingToolkit
        >>> toolkit = BillingToolkit(client=sandbox_clients(create_app())[0], audit=MemoryAuditLog(), wait_timeout=0.1)
        >>> link = toolkit.run_flow(handoff_flow(toolkit, {"purpose": "fund", "amount": 25}, None)).content
        >>> toolkit.run_flow(wait_flow(toolkit, {"session_id": link["session_id"]}, None)).content["status"]  # nobody paid
        'pending'
    """
    args = parse_args(WaitArgs, raw, "wait")
    if isinstance(args, ToolOutcome):
        return args
    assert isinstance(args, WaitArgs)
    purpose = args.purpose or tk.memory(_SESSIONS).get(args.session_id) or "fund"
    timeout = float(args.timeout_seconds or tk.wait_timeout)
    return (yield from _wait(tk, args.session_id, purpose, timeout, person_says_paid=args.person_says_paid))


def _plan_top_up(args: EnsureFundedArgs) -> Generator[ApiCall, Any, tuple[Decimal, Decimal, Decimal, Situation, Any]]:
    """(balance, shortfall, top-up, situation, advice) from reads only; shortfall <= 0 means enough."""
    balance = (yield ApiCall("get_wallet_balance", {})).balance
    shortfall = (args.job_cost - balance).quantize(CENT, rounding=ROUND_UP)
    top_up = max(args.top_up_amount or Decimal(0), shortfall, MIN_TOP_UP)
    try:
        cards = (yield ApiCall("list_payment_methods", {})).payment_methods
    except BillingError:
        cards = []
    situation = Situation(purpose="fund", amount=top_up, saved_default_card=any(c.is_default for c in cards),
                          channel=args.channel, human_present=args.channel != "none")
    return balance, shortfall, top_up, situation, advise(situation)


def ensure_funded_gate(tk: BillingToolkit, raw: dict[str, Any]) -> Generator[ApiCall, Any, tuple[str, dict[str, Any]] | None]:
    """The top-up ``ensure_funded`` would charge (for the agent middleware to ask about), or None."""
    try:
        args = EnsureFundedArgs.model_validate(raw)
        _, shortfall, top_up, _, advice = yield from _plan_top_up(args)
    except (ValidationError, BillingError):
        return None
    if shortfall <= 0 or advice.path != "headless":
        return None
    return "fund_wallet", {"amount": top_up}


def ensure_funded_flow(tk: BillingToolkit, raw: dict[str, Any], tool_call_id: str | None) -> Flow:
    """``wallet.ensure_funded``: enough balance for ``job_cost``, topping up when short.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.inprocess import sandbox_clients
        >>> from agent_billing.audit import MemoryAuditLog
        >>> from agent_billing.tools import BillingToolkit
        >>> toolkit = BillingToolkit(client=sandbox_clients(create_app())[0], audit=MemoryAuditLog())
        >>> toolkit.run_flow(ensure_funded_flow(toolkit, {"job_cost": 5}, None)).content["status"]  # no card: a person pays
        'needs_human_payment'
    """
    args = parse_args(EnsureFundedArgs, raw, "ensure_funded")
    if isinstance(args, ToolOutcome):
        return args
    assert isinstance(args, EnsureFundedArgs)
    try:
        plan = yield from _plan_top_up(args)
    except BillingError as exc:
        return ToolOutcome(error_content(exc, "get_wallet_balance"), is_error=True)
    balance, shortfall, top_up, situation, advice = plan
    if shortfall <= 0:
        return ToolOutcome({"ok": True, "operation": "ensure_funded", "status": "sufficient",
                            "balance": format(balance, "f"), "job_cost": format(args.job_cost, "f")})
    if advice.path == "headless":
        fund_op = tk.registry.get("fund_wallet")
        outcome = yield from tk.guard.operation_flow(fund_op, {"amount": top_up}, tool_call_id)
        if not outcome.is_error:
            outcome.content.update({"operation": "ensure_funded", "status": "topped_up",
                                    "shortfall": format(shortfall, "f")})
            return outcome
        if outcome.content.get("error") not in ("payment_declined", "requires_action"):
            return outcome  # rejected, refused or unknown outcome: never fall back to another charge path
        advice = advise(situation.model_copy(update={
            "card_declined": outcome.content.get("error") == "payment_declined",
            "card_requires_3ds": outcome.content.get("error") == "requires_action"}))
    if advice.path == "human_assisted":
        link = yield from _handoff(tk, HandoffArgs(purpose="fund", amount=top_up, channel=args.channel))
        link.content.update({"operation": "ensure_funded", "status": "needs_human_payment",
                             "balance": format(balance, "f"), "shortfall": format(shortfall, "f"),
                             "reason": advice.reason})
        return link
    return ToolOutcome({"ok": False, "operation": "ensure_funded", "status": "cannot_pay",
                        "balance": format(balance, "f"), "shortfall": format(shortfall, "f"),
                        "message": advice.reason, "next_step": advice.steps[0]}, is_error=True)


def fund_via_human_flow(tk: BillingToolkit, raw: dict[str, Any], tool_call_id: str | None) -> Flow:
    """``wallet.fund_via_human``: handoff, deliver the link to the host, wait for the payment.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.inprocess import sandbox_clients
        >>> from agent_billing.audit import MemoryAuditLog
        >>> from agent_billing.tools import BillingToolkit
        >>> toolkit = BillingToolkit(client=sandbox_clients(create_app())[0], audit=MemoryAuditLog())
        >>> outcome = toolkit.run_flow(fund_via_human_flow(toolkit, {"amount": 40}, None))
        >>> outcome.content["next_step"].startswith("No channel delivers links")  # no handoff_notifier here
        True
    """
    args = parse_args(FundViaHumanArgs, raw, "fund_via_human")
    if isinstance(args, ToolOutcome):
        return args
    assert isinstance(args, FundViaHumanArgs)
    link = yield from _handoff(tk, HandoffArgs(purpose="fund", amount=args.amount, channel=args.channel))
    if link.is_error:
        return link
    if not tk.deliver_link(link.content):
        link.content["next_step"] = ("No channel delivers links automatically here: relay the message yourself, "
                                     "then call payment_links action=wait with the session_id.")
        return link
    waited = yield from _wait(tk, link.content["session_id"], "fund", float(args.timeout_seconds or tk.wait_timeout),
                              age=0.0)  # the link was just created and delivered
    waited.content["payment_url"] = link.content["payment_url"]
    return waited


def _fields(model: type[BaseModel], descriptions: dict[str, str]) -> dict[str, dict[str, Any]]:
    schemas = model_field_schemas([model])
    for name, text in descriptions.items():
        schemas[name]["description"] = text
    return schemas


def _actions() -> list[Any]:
    from agent_billing.tools.toolkit import CustomAction

    # ``calls``: every operation the flow may call (its token scopes are theirs; see scopes.py).
    return [
        CustomAction("payment_links", "handoff", "Link plus messages to relay.",
                     _fields(HandoffArgs, {}), handoff_flow, calls=("create_payment_link",)),
        CustomAction("payment_links", "wait", "Wait until paid or expired.",
                     _fields(WaitArgs, {"timeout_seconds": "default 300",
                                           "person_says_paid": "the person says they paid"}), wait_flow,
                     idempotent=True,  # it confirms a paid checkout, which credits once however often it is repeated
                     calls=("confirm_wallet_checkout", "confirm_subscription_checkout")),
        CustomAction("wallet", "ensure_funded", "Cover job_cost: tops up or hands off.",
                     _fields(EnsureFundedArgs, {"job_cost": "USD"}), ensure_funded_flow, gated=True,
                     gate=ensure_funded_gate,  # it may read the cards and fall back to a payment link
                     calls=("get_wallet_balance", "list_payment_methods", "fund_wallet", "create_payment_link")),
        CustomAction("wallet", "fund_via_human", "Link for amount, then wait.",
                     _fields(FundViaHumanArgs, {}), fund_via_human_flow,
                     calls=("create_payment_link", "confirm_wallet_checkout")),
    ]


WORKFLOW_ACTIONS = _actions()
