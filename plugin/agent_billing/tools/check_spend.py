"""``check_spend``: would this call be allowed, asked or refused, and why, without moving anything.

In a toolkit with limits to check against (a ``mandate`` or an ``agent`` with spend authorities), every group
tool whose actions may need a yes gets a ``check_spend`` action, derived from the registry (no provider lists
it by hand): ``wallet(action="check_spend", check="<action>", <that action's arguments>)``.
It runs the same checks the real call would run before anyone is asked (valid arguments, the mandate's
allow-lists, the charge intent resolved with reads, declined requests, the mandate's caps and every spend
authority against the current spend) and answers with the verdict:

- ``allowed``: it would go ahead without a person (inside an auto-approving mandate or spend authority, or an
  action that needs no yes);
- ``asked``: a person would be asked (and what they would be told);
- ``refused``: it would be refused, with the reasons.

and the limits in force with what has been spent against them. It only reads (the provider's reads a charge
intent needs, and the guardrail store), so its MCP annotation is read-only and the ``read_only`` preset offers
it. The verdict is a forecast: another worker may spend the rest of a budget before the real call.

Example:
    >>> from agent_billing.registry import get_registry
    >>> actions = spend_checks(get_registry(), [])
    >>> all(a.action == CHECK and a.reads and a.hints() == (True, False, True) for a in actions)
    True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from agent_billing.guardrails.approval import ConfirmationApprover
from agent_billing.guardrails.approval_text import render
from agent_billing.guardrails.intent import ChargeIntent
from agent_billing.registry import Effect, Operation, Registry
from agent_billing.tools.pipeline import Guard, _Checked, _Replay, _Stop
from agent_billing.tools.steps import Flow, ToolOutcome

if TYPE_CHECKING:
    from agent_billing.tools.toolkit import BillingToolkit, CustomAction

CHECK = "check_spend"


def _may_need_a_yes(op: Operation) -> bool:
    # Derived from the declaration: an effect that needs approval, or one that depends on the arguments.
    return op.effect.needs_approval or op.effect is Effect.DESTRUCTIVE or op.effect_for is not None


def spend_checks(registry: Registry, existing: Iterable[CustomAction]) -> list[CustomAction]:
    """One ``check_spend`` action per group that has an action which may need a yes (unless it has one already)."""
    from agent_billing.tools.toolkit import CustomAction

    taken = {(c.group, c.action) for c in existing}
    made: list[CustomAction] = []
    for group, ops in registry.groups().items():
        targets = [op.action for op in ops if _may_need_a_yes(op)]
        if not targets or (group, CHECK) in taken:
            continue
        made.append(CustomAction(
            group, CHECK, "Dry run of action check (same arguments): allowed, asked or refused, why; moves nothing.",
            {"check": {"type": "string", "enum": targets}},
            _flow(group), reads=True, destructive=False, idempotent=True))
    return made


def _flow(group: str) -> Any:
    def flow(toolkit: BillingToolkit, raw: dict[str, Any], tool_call_id: str | None) -> Flow:
        args = {k: v for k, v in raw.items() if v is not None}
        target = args.pop("check", None)
        try:
            op = toolkit.registry.by_action(group, str(target))
        except KeyError:
            return _answer(str(target), "refused", [f"check must name one of {group}'s actions, not {target!r}."])
        if not toolkit.allows(group, op.action):
            return _answer(op.name, "refused", [f"{group}.{op.action} is not offered by this toolkit."])
        return (yield from check_spend(toolkit.guard, op, args))

    return flow


def check_spend(guard: Guard, op: Operation, raw: dict[str, Any]) -> Flow:
    """The verdict on one proposed call of ``op`` with arguments ``raw`` (a flow of reads; see the module)."""
    admitted = guard.admit(op, raw)
    if isinstance(admitted, _Stop):
        return _answer(op.name, "refused", [_why(admitted)])
    if not guard.needs_approval_for(admitted.effect):
        return _answer(op.name, "allowed", [f"{op.name} is {admitted.effect.value}: it runs without approval."])
    checked = yield from guard._checks(admitted, for_person=True)
    if isinstance(checked, _Replay):
        return _answer(op.name, "allowed", ["It repeats an earlier call whose outcome is unknown: that call would be "
                                            "sent again under its idempotency key, charging nothing new."])
    if isinstance(checked, _Stop):
        stopped = (checked.audit or {}).get("intent")
        extra = _limits(guard, op, admitted.effect, stopped) if isinstance(stopped, ChargeIntent) else {}
        return _answer(op.name, "refused", [_why(checked)], **extra)
    assert isinstance(checked, _Checked)
    intent, verdict = checked.intent, checked.verdict
    reasons = list(verdict.reasons) if verdict is not None else []
    auto = guard.auto_approver(verdict)
    if auto is not None:
        outcome, why = "allowed", [f"Inside the limits; approved without a person by {auto}."]
    elif guard.approver is None:
        outcome, why = "refused", ["It needs a person's approval and none can be asked here."]
    elif isinstance(guard.approver, ConfirmationApprover) and not checked.inside:
        outcome, why = "refused", ["Single-use confirmations are only allowed inside the mandate."]
    else:
        note = verdict.note if verdict is not None and verdict.note else None
        outcome, why = "asked", [note or ("Outside the mandate's limits: a person may approve it beyond them."
                                          if not checked.inside else "A person approves each charge.")]
    return _answer(op.name, outcome, reasons + why, **_limits(guard, op, admitted.effect, intent))


def _why(stop: _Stop) -> str:
    """The reason a check stops at, without the refusal's instructions (nothing was tried)."""
    content = stop.outcome.content
    reason = (stop.audit or {}).get("reason") if content.get("error") == "refused" else None
    return str(reason) if reason else str(content.get("message", "refused"))


def _limits(guard: Guard, op: Operation, effect: Effect, intent: ChargeIntent) -> dict[str, Any]:
    """What the charge is, and the limits in force with the spend against them."""
    limits: dict[str, Any] = {}
    if guard.mandate is not None:
        limits["mandate"] = {"description": guard.mandate.describe()}
        if guard.spend_store is not None:
            limits["mandate"]["spent_24h"] = str(guard.spend_store.spent(guard.mandate.name, now=guard._now()))
    if guard.authorities is not None and effect.moves_money:
        judged = guard.authorities.check(guard.spend_call(op, effect, intent), now=guard._now())
        limits["authorities"] = [status.as_dict() for status in judged.statuses]
    return {"summary": render(intent).text, "limits": limits}


def _answer(operation: str, verdict: str, reasons: list[str], **extra: Any) -> ToolOutcome:
    return ToolOutcome({"ok": True, "operation": operation, "check": verdict, "reasons": reasons, "moved": False,
                        **extra, "next_step": _NEXT[verdict]})


_NEXT = {
    "allowed": "It may go ahead; nothing was done yet. Call the action itself to do it.",
    "asked": "A person would be asked first; tell them what you want to do and why before you call it.",
    "refused": "It would be refused: do not call it; tell the person why, or propose something inside the limits.",
}


__all__ = ["CHECK", "check_spend", "spend_checks"]
