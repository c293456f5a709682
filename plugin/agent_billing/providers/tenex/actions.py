"""10ex's tool actions that answer without changing anything: the portal handoff and ``can_start_run``.

10ex keeps creating, changing and cancelling subscriptions in its billing portal, so no tool offers
them. An agent asked to do one calls ``subscription`` with ``change_request`` (or the ``upgrade``,
``downgrade``, ``change_plan``, ``cancel``, ``resume`` and ``subscribe`` aliases, there so that the
obvious guess also lands here): the answer is a billing-portal URL for a logged-in admin, chat and voice messages to relay, and
the reason, with ``changed: false``. ``usage`` ``can_start_run`` reads the plan's caps and this
period's usage and answers ``go`` (under the soft cap), ``warn`` (at or over the soft cap, under the
hard cap) or ``refuse`` (at or over the hard cap), with the numbers. All are declared ``reads=True``:
they change nothing in the workspace, so the ``read_only`` preset offers them and MCP marks them read-only.

``BillingToolkit(client=<a 10ex client>)`` offers these (the toolkit takes a provider's ``ACTIONS``).

Example:
    >>> [f"{a.group}.{a.action}" for a in ACTIONS]  # doctest: +NORMALIZE_WHITESPACE
    ['subscription.change_request', 'subscription.upgrade', 'subscription.downgrade', 'subscription.change_plan',
     'subscription.cancel', 'subscription.resume', 'subscription.subscribe', 'usage.can_start_run']
    >>> run_decision(Decimal("78500"), Decimal("1000"), Decimal("80000"), Decimal("100000"))
    'go'
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from agent_billing.errors import BillingError
from agent_billing.tools.schemas import model_field_schemas
from agent_billing.tools.shaping import error_content, parse_args, result_content
from agent_billing.tools.steps import ApiCall, Flow, ToolOutcome
from agent_billing.tools.toolkit import CustomAction

if TYPE_CHECKING:
    from agent_billing.tools.toolkit import BillingToolkit

Change = Literal["upgrade", "downgrade", "change_plan", "cancel", "resume", "subscribe", "other"]
Decision = Literal["go", "warn", "refuse"]

WHY = ("10ex does not let programs create, change or cancel a subscription: that stays in its billing portal, "
       "where an admin who is logged in to 10ex does it. Nothing has been changed.")
_WHAT: dict[str, str] = {
    "upgrade": "upgrade the plan", "downgrade": "downgrade the plan", "change_plan": "change the plan",
    "cancel": "cancel the subscription", "resume": "resume the subscription", "subscribe": "start a subscription",
    "other": "change the subscription",
}


class ChangeRequestArgs(BaseModel):
    """What the person asked for (nothing is changed; the answer is the portal handoff).

    Example:
        >>> ChangeRequestArgs(change="upgrade", plan="Business").channel
        'chat'
    """

    model_config = ConfigDict(extra="forbid")

    change: Change = Field("other", description="upgrade, downgrade, change_plan, cancel, resume, subscribe or other")
    plan: Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)] | None = Field(
        None, description="the plan the person asked for, if any")
    channel: Literal["chat", "voice", "email", "none"] = "chat"
    return_url: Annotated[str, StringConstraints(pattern=r"^https?://\S{1,2000}$")] | None = Field(
        None, description="http(s) URL the portal returns the admin to")


class CanStartRunArgs(BaseModel):
    """A run's estimated credits (and optionally the agent that will run it).

    Example:
        >>> CanStartRunArgs(estimated_credits="1200.5").estimated_credits
        Decimal('1200.5')
    """

    model_config = ConfigDict(extra="forbid")

    estimated_credits: Decimal = Field(gt=Decimal(0), le=Decimal(1_000_000_000), allow_inf_nan=False,
                                       description="credits the run is expected to use")
    agent_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,100}$")] | None = Field(
        None, description="the agent that will run it (its usage is shown too)")


def relay_messages(what: str, url: str, product: str) -> dict[str, str]:
    """The chat message (URL verbatim) and the voice message (no URL read aloud) of a portal handoff.

    Example:
        >>> relay_messages("cancel the subscription", "https://p.example/bps_1", "Acme")["voice"]  # doctest: +ELLIPSIS
        "I can't cancel the subscription myself: 10ex only allows that in its billing portal. ..."
    """
    return {
        "chat": f"I can't {what} for {product} myself: 10ex only allows that in its billing portal. An admin who is "
                f"logged in to 10ex can do it here:\n{url}\nNothing has been changed yet.",
        "voice": f"I can't {what} myself: 10ex only allows that in its billing portal. I have a portal link for an "
                 "admin; shall I send it to you as a message?",
    }


def change_request_flow(tk: BillingToolkit, raw: dict[str, Any], tool_call_id: str | None,
                        change: str | None = None, action: str = "change_request") -> Flow:
    """Answer a request to subscribe, upgrade, downgrade, change or cancel with the billing-portal handoff.

    Example:
        >>> from agent_billing.audit import MemoryAuditLog
        >>> from agent_billing.inprocess import sandbox_clients
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.tools import BillingToolkit
        >>> toolkit = BillingToolkit(client=sandbox_clients(create_app(), provider="tenex")[0], audit=MemoryAuditLog())
        >>> outcome = toolkit.run_flow(change_request_flow(toolkit, {"change": "cancel"}, None))
        >>> outcome.content["changed"], outcome.content["portal_url"].startswith("http")
        (False, True)
    """
    if change is not None:
        raw = {**raw, "change": change}  # the action named it
    args = parse_args(ChangeRequestArgs, raw, action)
    if isinstance(args, ToolOutcome):
        return args
    assert isinstance(args, ChangeRequestArgs)
    try:
        session = yield ApiCall("create_portal_session", {"return_url": args.return_url} if args.return_url else {})
    except BillingError as exc:
        return ToolOutcome(error_content(exc, "create_portal_session"), is_error=True)
    what = _WHAT[args.change] + (f" to {args.plan}" if args.plan and args.change in ("upgrade", "downgrade",
                                                                                       "change_plan", "subscribe") else "")
    content = {
        "ok": True, "operation": action, "requested": args.change, "changed": False,
        "portal_url": session.url, "expires_at": session.expires_at, "why": WHY,
        "messages": relay_messages(what, session.url, tk.product_name),
        "next_step": f"Relay the {args.channel} message (the URL exactly as given; in voice offer to send it, never "
                     "read it aloud). Do not retry or look for another way: no API call can make this change.",
    }
    return ToolOutcome(content, artifact={"result": result_content(session)})


def run_decision(used: Decimal, estimated: Decimal, soft_cap: Decimal, hard_cap: Decimal) -> Decision:
    """``go`` under the soft cap, ``warn`` at or over it but under the hard cap, ``refuse`` at or over the hard cap.

    Caps are judged on the usage after the run (``used + estimated``).

    Example:
        >>> [run_decision(Decimal(u), Decimal(10), Decimal(80), Decimal(100)) for u in (60, 70, 85, 90, 95)]
        ['go', 'warn', 'warn', 'refuse', 'refuse']
    """
    after = used + estimated
    if used >= hard_cap or after >= hard_cap:
        return "refuse"
    return "warn" if after >= soft_cap else "go"


def _n(value: Decimal) -> str:
    return format(value.normalize() if value == value.to_integral_value() else value, ",f")


def can_start_run_flow(tk: BillingToolkit, raw: dict[str, Any], tool_call_id: str | None) -> Flow:
    """``usage.can_start_run``: whether a run of ``estimated_credits`` fits under the caps, with the numbers.

    Example:
        >>> from agent_billing.audit import MemoryAuditLog
        >>> from agent_billing.inprocess import sandbox_clients
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.tools import BillingToolkit
        >>> toolkit = BillingToolkit(client=sandbox_clients(create_app(), provider="tenex")[0], audit=MemoryAuditLog())
        >>> toolkit.run_flow(can_start_run_flow(toolkit, {"estimated_credits": 500}, None)).content["decision"]
        'go'
    """
    args = parse_args(CanStartRunArgs, raw, "can_start_run")
    if isinstance(args, ToolOutcome):
        return args
    assert isinstance(args, CanStartRunArgs)
    try:
        plan = yield ApiCall("get_plan", {})
        usage = yield ApiCall("get_usage", {})
        agent = (yield ApiCall("get_agent_usage", {"agent_id": args.agent_id})) if args.agent_id else None
    except BillingError as exc:
        return ToolOutcome(error_content(exc, "can_start_run"), is_error=True)
    used, estimated, soft, hard = usage.credits_used, args.estimated_credits, plan.soft_cap, plan.hard_cap
    after = used + estimated
    decision = run_decision(used, estimated, soft, hard)
    numbers = (f"{_n(used)} credits used this period + {_n(estimated)} estimated = {_n(after)}; soft cap {_n(soft)}, "
               f"hard cap {_n(hard)}.")
    message = {
        "go": f"Go: the run fits under the soft cap ({_n(soft - after)} credits to spare). {numbers}",
        "warn": f"Warn: the run would reach the soft cap; 10ex warns but still runs it ({_n(hard - after)} credits "
                f"left before the hard cap). Tell the person. {numbers}",
        "refuse": f"Refuse: the run would reach the hard cap, where 10ex refuses new runs. Do not start it; an admin "
                  f"can raise the plan in the billing portal (subscription action=change_request). {numbers}",
    }[decision]
    content: dict[str, Any] = {
        "ok": True, "operation": "can_start_run", "decision": decision, "allowed": decision != "refuse",
        "credits_used": format(used, "f"), "estimated_credits": format(estimated, "f"),
        "credits_after_run": format(after, "f"), "soft_cap": format(soft, "f"), "hard_cap": format(hard, "f"),
        "remaining_before_soft_cap": format(max(soft - used, Decimal(0)), "f"),
        "remaining_before_hard_cap": format(max(hard - used, Decimal(0)), "f"),
        "message": message,
    }
    if agent is not None:
        content["agent"] = {"agent_id": agent.agent_id, "credits_used": format(agent.credits_used, "f")}
    return ToolOutcome(content)


def _alias(change: str) -> Any:
    def flow(tk: BillingToolkit, raw: dict[str, Any], tool_call_id: str | None) -> Flow:
        return change_request_flow(tk, raw, tool_call_id, change=change, action=change)

    return flow


def _actions() -> list[CustomAction]:
    change_fields = model_field_schemas([ChangeRequestArgs])
    handoff = "Not possible through the API: answers with the billing-portal link for an admin, and why."
    # reads=True: a portal session changes nothing until an admin acts in the portal, and can_start_run only reads.
    return [
        CustomAction("subscription", "change_request", "Any subscribe, upgrade, downgrade, plan change or "
                     "cancellation: 10ex allows them only in its billing portal; answers with the portal link for an "
                     "admin, messages to relay and why. Changes nothing.", change_fields, change_request_flow,
                     reads=True),
        *[CustomAction("subscription", change, handoff, change_fields, _alias(change), reads=True)
          for change in ("upgrade", "downgrade", "change_plan", "cancel", "resume", "subscribe")],
        CustomAction("usage", "can_start_run", "Whether a run of estimated_credits fits: go (under the soft cap), warn "
                     "(soft cap reached) or refuse (hard cap reached), with the numbers.",
                     model_field_schemas([CanStartRunArgs]), can_start_run_flow, reads=True),
    ]


ACTIONS = _actions()
