"""The life of one tool call: validation, mandate, approval, idempotency, the call, shaping, audit.

``Guard.operation_flow`` is that life for one registry operation, written once as a flow (see
``steps.py``) so ``invoke`` and ``ainvoke`` share every guardrail. The card-data scan runs earlier, in
the tool itself, on the raw arguments before anything else sees them.

Rules it enforces:

- read and write operations run directly (a mandate can still forbid them, e.g. read-only);
- charge / authorize / payout (and destructive, unless the deployer relaxed it) need a yes: a mandate
  with ``auto_approve`` that covers the call, or the configured approver. Neither: refuse, clearly;
- everything before the approval is free of side effects and the idempotency key is a pure function
  of the tool call, so LangGraph's re-execution after ``interrupt()`` never charges twice;
- a request the person declined is not asked again for ten minutes (an agent cannot nag its way in);
- a call whose outcome is unknown (connection lost, 5xx) keeps its idempotency key, on disk for an hour:
  calling again with the same arguments replays instead of charging again, even after a restart.

Example:
    >>> from agent_billing.guardrails.mandate import Mandate
    >>> guard = Guard(mandate=Mandate(max_per_charge="50", auto_approve=True))
    >>> guard.needs_approval_for("charge")
    True
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Generator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from agent_billing.audit import AuditEvent, AuditLog
from agent_billing.errors import (
    BillingConnectionError,
    BillingError,
    InvalidRequestError,
    ServerError,
)
from agent_billing.exchange import validate_args
from agent_billing.guardrails.approval import ApprovalDecision, ApprovalRequest, Approver, ConfirmationApprover
from agent_billing.guardrails.card_data import redact
from agent_billing.guardrails.confirmation import fingerprint
from agent_billing.guardrails.mandate import Mandate, MandateDecision
from agent_billing.guardrails.pending_outcomes import PendingOutcomes
from agent_billing.guardrails.spend_store import SpendStore
from agent_billing.registry import Effect, Operation
from agent_billing.tools.shaping import error_content, success_content
from agent_billing.tools.steps import ApiCall, AskApproval, Flow, Step, ToolOutcome
from agent_billing.tools.summary import Described, describe

REJECTION_MEMORY = timedelta(minutes=10)


class _ExpiringSet:
    """Fingerprints remembered for a while (requests the person declined)."""

    def __init__(self, ttl: timedelta, clock: Callable[[], float]) -> None:
        self._ttl = ttl.total_seconds()
        self._clock = clock
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, item: str) -> None:
        with self._lock:
            self._until[item] = self._clock() + self._ttl

    def __contains__(self, item: object) -> bool:
        with self._lock:
            until = self._until.get(str(item))
            if until is not None and until < self._clock():
                del self._until[str(item)]
                return False
            return until is not None


def _refusal(operation: str, message: str, *, error: str = "refused", **extra: Any) -> ToolOutcome:
    return ToolOutcome({"ok": False, "operation": operation, "error": error, "message": message, **extra},
                       is_error=True)


class Guard:
    """The guardrail settings of a toolkit, and the flows that apply them.

    Example:
        >>> Guard().needs_approval_for("destructive"), Guard(approve_destructive=False).needs_approval_for("destructive")
        (True, False)
    """

    def __init__(
        self,
        *,
        approver: Approver | None = None,
        mandate: Mandate | None = None,
        spend_store: SpendStore | None = None,
        audit: AuditLog | None = None,
        approve_destructive: bool = True,
        pending: PendingOutcomes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.approver = approver
        self.mandate = mandate
        if spend_store is None and mandate is not None:
            from agent_billing.guardrails.spend_store import SqliteSpendStore

            spend_store = SqliteSpendStore()
        self.spend_store = spend_store
        self.audit = audit
        self.approve_destructive = approve_destructive
        self.clock = clock
        self._rejected = _ExpiringSet(REJECTION_MEMORY, clock)
        self.pending = pending if pending is not None else PendingOutcomes()

    # --- small pieces

    def needs_approval_for(self, effect: Effect | str) -> bool:
        """Whether calls with this effect need a yes."""
        effect = Effect(effect)
        if effect is Effect.DESTRUCTIVE:
            return self.approve_destructive
        return effect.needs_approval

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=timezone.utc)

    def idempotency_key(self, op: Operation, fp: str, tool_call_id: str | None) -> str:
        """The key for this call: reused after an unknown outcome, else derived from the tool call.

        The same tool call (LangGraph re-runs it after a resume) always gets the same key; a call with
        no tool-call id gets a fresh one (the client keeps it across its own retries).
        """
        pending = self.pending.key_for(op.name, fp, now=self._now())
        if pending:
            return pending
        if tool_call_id:
            digest = hashlib.sha256(f"{op.name}|{fp}|{tool_call_id}".encode()).hexdigest()
            return f"ab_{digest[:40]}"
        return f"ab_{uuid.uuid4().hex}"

    def record(self, op: Operation, effect: Effect, decision: str, *, amount: Decimal | None = None,
               approver: str | None = None, key: str | None = None, request_id: str | None = None,
               reason: str | None = None, args: BaseModel | dict[str, Any] | None = None,
               result: dict[str, Any] | None = None) -> None:
        """Write one audit event (no-op without an audit log)."""
        if self.audit is None:
            return
        arguments = args.model_dump(mode="json") if isinstance(args, BaseModel) else dict(args or {})
        self.audit.record(AuditEvent(
            timestamp=self._now(), operation=op.name, effect=effect.value, amount=amount, decision=decision,
            approver=approver, idempotency_key=key, request_id=request_id,
            mandate=self.mandate.name if self.mandate else None, reason=reason, arguments=arguments, result=result,
        ))

    def record_card_refusal(self, op: Operation, paths: list[str]) -> None:
        """Audit a refused call that carried card data (only the field paths are kept)."""
        self.record(op, op.effect, "refused", reason="card data in arguments: " + ", ".join(paths))

    # --- the flow of one operation

    def operation_flow(self, op: Operation, raw: dict[str, Any], tool_call_id: str | None = None) -> Flow:
        """Validate, check, approve, call and shape one operation (a generator; see ``steps.drive``)."""
        raw = dict(raw)
        confirmation = raw.pop("confirmation", None)
        try:
            args = validate_args(op, raw)
        except InvalidRequestError as exc:
            return ToolOutcome(error_content(exc, op.name), is_error=True)
        effect = op.effect_of(args)

        if self.mandate is not None:
            forbidden = self.mandate.evaluate(operation=op.name, effect=effect, amount=None, plan_id=None,
                                              spent_24h=Decimal(0), now=self._now())
            if forbidden.verdict == "forbidden":
                self.record(op, effect, "refused", reason=forbidden.message, args=args)
                return _refusal(op.name, f"Not allowed by the deployer's mandate: {forbidden.message} Do not retry.")

        if not self.needs_approval_for(effect):
            try:
                result = yield ApiCall(op.name, args)
            except BillingError as exc:
                return ToolOutcome(error_content(exc, op.name), is_error=True)
            return ToolOutcome(success_content(op.name, result), artifact=_artifact(result))

        return (yield from self._gated_flow(op, args, effect, confirmation, tool_call_id))

    def _gated_flow(self, op: Operation, args: BaseModel, effect: Effect, confirmation: Any,
                    tool_call_id: str | None) -> Flow:
        fp = fingerprint(op.name, args.model_dump(mode="python"))
        key = self.idempotency_key(op, fp, tool_call_id)
        if fp in self._rejected:
            self.record(op, effect, "refused", reason="declined earlier", args=args, key=key)
            return _refusal(op.name, "The person already declined exactly this request. Do not retry it; ask them "
                            "what they would like to do instead.", error="rejected")

        may_auto = self.mandate is not None and self.mandate.auto_approve
        # Card names are for a person's eyes: skip that read while an auto-approving mandate may decide alone.
        described: Described = yield from describe(op, args, name_cards=not may_auto)
        amount = getattr(args, op.amount_field) if op.amount_field else described.amount
        plan_id = getattr(args, op.plan_field) if op.plan_field else described.plan_id
        verdict: MandateDecision | None = None
        if self.mandate is not None and self.spend_store is not None:
            spent = self.spend_store.spent(self.mandate.name, now=self._now())
            verdict = self.mandate.evaluate(operation=op.name, effect=effect, amount=amount, plan_id=plan_id,
                                            spent_24h=spent, now=self._now())
        inside = verdict is not None and verdict.verdict == "inside"

        approved_by: str | None = None
        capped = False
        if inside and self.mandate is not None and self.mandate.auto_approve:
            if self._reserve(key, amount, capped=True):
                approved_by, capped = f"mandate:{self.mandate.name}", True
            else:
                inside = False
                verdict = MandateDecision(verdict="outside", reasons=("The rolling 24 h cap has just been reached.",))

        if approved_by is None:
            if may_auto:
                described = yield from describe(op, args)
            request = ApprovalRequest(
                operation=op.name, effect=effect.value, summary=described.summary, amount=amount,
                recurring=described.recurring, payment_method=described.payment_method, plan=described.plan,
                mandate=verdict.message if verdict is not None and not inside else None,
                arguments=redact(args.model_dump(mode="json")), idempotency_key=key,
            )
            outcome = yield from self._ask(op, args, effect, request, inside, confirmation, fp, amount, key)
            if isinstance(outcome, ToolOutcome):
                return outcome
            approved_by = outcome.approver

        self.record(op, effect, "auto_approved" if capped else "approved", amount=amount, approver=approved_by,
                    key=key, args=args)
        try:
            result = yield ApiCall(op.name, args, key)
        except (BillingConnectionError, ServerError) as exc:
            # Unknown outcome: keep the reservation and the key so a repeat replays instead of charging.
            self.pending.remember(op.name, fp, key, now=self._now())
            self.record(op, effect, "failed", amount=amount, approver=approved_by, key=key,
                        request_id=exc.request_id, reason=f"outcome unknown: {exc.code}", args=args)
            return ToolOutcome(error_content(exc, op.name, gated=True), is_error=True)
        except BillingError as exc:
            self._release(key)
            self.pending.forget(op.name, fp)
            self.record(op, effect, "failed", amount=amount, approver=approved_by, key=key,
                        request_id=exc.request_id, reason=f"{exc.code}: {exc.message}", args=args)
            return ToolOutcome(error_content(exc, op.name, gated=True), is_error=True)
        self.pending.forget(op.name, fp)
        if self.mandate is not None and self.spend_store is not None and amount is not None:
            self.spend_store.confirm(key)
        content = success_content(op.name, result)
        self.record(op, effect, "succeeded", amount=amount, approver=approved_by, key=key, args=args,
                    result=content["result"] if isinstance(content.get("result"), dict) else None)
        content["approved_by"] = approved_by
        return ToolOutcome(content, artifact=_artifact(result))

    def _ask(self, op: Operation, args: BaseModel, effect: Effect, request: ApprovalRequest, inside: bool,
             confirmation: Any, fp: str, amount: Decimal | None, key: str,
             ) -> Generator[Step, Any, ToolOutcome | ApprovalDecision]:
        """Get a yes from the approver, or return the refusal/rejection outcome."""
        if self.approver is None:
            why = request.mandate or ("no spending mandate covers it" if self.mandate else "no mandate is configured")
            self.record(op, effect, "refused", amount=amount, key=key, reason=f"no approver; {why}", args=args)
            return _refusal(op.name, f"This needs a person's approval and none can be asked here ({why}). Nothing "
                            "was charged. Tell the person what you wanted to do; the operator must configure an "
                            "approver or a mandate.", summary=request.summary)
        if isinstance(self.approver, ConfirmationApprover):
            return self._confirm(op, args, effect, request, inside, confirmation, fp, amount, key)
        if confirmation is not None:
            return _refusal(op.name, "confirmation is not used with this approver; call without it.",
                            error="validation_error")
        decision: ApprovalDecision = yield AskApproval(request)
        if not decision.approved:
            self._rejected.add(fp)
            self.record(op, effect, "rejected", amount=amount, approver=decision.approver, key=key,
                        reason=decision.reason, args=args)
            return _refusal(op.name, "The person declined. Nothing was charged. Do not retry this request.",
                            error="rejected", summary=request.summary)
        if not self._reserve(key, amount, capped=False):
            return _refusal(op.name, "Could not record the spend; nothing was charged.")
        return decision

    def _confirm(self, op: Operation, args: BaseModel, effect: Effect, request: ApprovalRequest, inside: bool,
                 confirmation: Any, fp: str, amount: Decimal | None, key: str) -> ToolOutcome | ApprovalDecision:
        """Single-use confirmation: issue a token, or consume the one given (only inside a mandate)."""
        assert isinstance(self.approver, ConfirmationApprover)
        if not inside:
            self.record(op, effect, "refused", amount=amount, key=key, reason="confirmation outside mandate", args=args)
            return _refusal(op.name, "Single-use confirmations are only allowed inside the deployer's mandate, and "
                            f"this is outside it: {request.mandate or 'no mandate'}. Nothing was charged.")
        store = self.approver.store
        if confirmation is None:
            issued = store.issue(op.name, fp, request.summary, ttl=timedelta(seconds=self.approver.ttl_seconds),
                                 now=self._now())
            self.record(op, effect, "requested", amount=amount, key=key, args=args)
            return ToolOutcome({
                "ok": False, "operation": op.name, "status": "confirmation_required", "summary": request.summary,
                "confirmation": issued.token, "expires_at": issued.expires_at.isoformat(),
                "next_step": "Tell the person exactly the summary and ask for a yes. Only if they say yes, call "
                             "again with the same arguments and this confirmation. Never confirm on their behalf.",
            })
        if not isinstance(confirmation, str) or not store.consume(confirmation, op.name, fp, now=self._now()):
            self.record(op, effect, "refused", amount=amount, key=key, reason="invalid confirmation", args=args)
            return _refusal(op.name, "That confirmation is not valid for this exact request (wrong, used, expired or "
                            "for other arguments). Nothing was charged.")
        if not self._reserve(key, amount, capped=True):
            return _refusal(op.name, "The mandate's 24 h cap has been reached; nothing was charged.")
        return ApprovalDecision(approved=True, approver=self.approver.describe())

    def _reserve(self, key: str, amount: Decimal | None, *, capped: bool) -> bool:
        if self.mandate is None or self.spend_store is None or amount is None:
            return True
        reservation = self.spend_store.reserve(
            self.mandate.name, key, amount, limit=self.mandate.max_per_24h if capped else None, now=self._now())
        return reservation.granted

    def _release(self, key: str) -> None:
        if self.spend_store is not None:
            self.spend_store.release(key)


def _artifact(result: Any) -> dict[str, Any]:
    if isinstance(result, BaseModel):
        return {"result": result.model_dump(mode="json")}
    return {"result": result}
