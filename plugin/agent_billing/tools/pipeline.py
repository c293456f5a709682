"""The life of one tool call: validation, charge intent, mandate, approval, execution, outcome, audit.

``Guard.operation_flow`` is that life for one registry operation, written once as a flow (see
``steps.py``) so ``invoke`` and ``ainvoke`` share every guardrail. The card-data and secret scan runs
earlier, in the tool itself, on the raw arguments before anything else sees them.

Rules it enforces:

- read and write operations run directly (a mandate can still forbid them, e.g. read-only);
- a gated call (charge, authorize, payout, and destructive unless relaxed) first resolves its charge
  intent (``guardrails/intent.py``): the card actually charged, the plan's price, the arguments that
  will be sent. Everything before the approval is free of side effects other than bookkeeping;
- the deployer's mandate is hard: outside it (per-charge cap, 24 h cap, plan allowlist, expiry) the
  call is refused before anyone is asked, unless the mandate says ``beyond="ask"``. Inside it, an
  auto-approving mandate says yes alone; otherwise the approver asks. No approver: refuse, clearly;
- a yes is bound to the intent's digest. Right before the request the intent is resolved again (with
  the account's funding lock held when the API charges the default card); if it changed, nothing is
  charged and the person is asked again. The request sends the resolved values (the card id);
- the idempotency key derives from the intent and the tool call, so LangGraph's re-execution after
  ``interrupt()`` never charges twice;
- an outcome that cannot be read (no answer, 5xx, unreadable 2xx) is UNKNOWN: the reservation stays,
  the call is kept with its key and exact arguments, and a repeat (same arguments, or arguments that
  resolve to the same charge, from this or a fresh toolkit on the same state) replays it;
- a request the person declined is not asked again for ten minutes (an agent cannot nag its way in),
  neither in the same words nor in other arguments that resolve to the same charge (the intent's digest);
- a provider's price that is missing, not finite, negative, zero where charged, finer than a cent or
  beyond the API's bounds is refused before anyone is asked (``error: invalid_price`` naming the field);
- a standing authorisation (a new default card, automatic top-ups) is auto-approved by a mandate only when
  its worst case fits the mandate's limits; otherwise a person is asked.

Example:
    >>> from agent_billing.guardrails.mandate import Mandate
    >>> guard = Guard(mandate=Mandate(max_per_charge="50", auto_approve=True))
    >>> guard.needs_approval_for("charge")
    True
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from agent_billing import telemetry
from agent_billing.audit_backends import MemoryAuditLog
from agent_billing.audit_event import AuditEvent, AuditLog, scrub
from agent_billing.errors import BillingError, IdempotencyConflictError, InvalidRequestError, OutcomeUnknownError
from agent_billing.exchange import validate_args
from agent_billing.guardrails.approval import (
    ApprovalDecision,
    ApprovalRequest,
    Approver,
    ConfirmationApprover,
    MiddlewareApprover,
)
from agent_billing.guardrails.approval_records import ApprovalRecords, ApprovalStore
from agent_billing.guardrails.approval_requests import DECLINE_MEMORY
from agent_billing.guardrails.approval_text import display_arguments, render, request_fields
from agent_billing.guardrails.authority import AuthorityStore, SpendCall, current_task
from agent_billing.guardrails.card_data import redact
from agent_billing.guardrails.confirmation import fingerprint
from agent_billing.guardrails.intent import ChargeIntent, IntentDraft, IntentUnavailable, PriceRefused, build_intent
from agent_billing.guardrails.mandate import Mandate, MandateDecision
from agent_billing.guardrails.pending_outcomes import PendingCall, PendingOutcomes, PendingStore
from agent_billing.guardrails.spend_store import MemorySpendStore, SpendStore
from agent_billing.guardrails.store import (
    DeclinedRequests,
    MemoryDeclinedRequests,
    StoreUnavailableError,
    shared_transactions,
)
from agent_billing.receipts import ReceiptBook, approval_evidence, mint, receipt_digest
from agent_billing.registry import Effect, Operation
from agent_billing.tools.shaping import error_content, next_step_for, success_content
from agent_billing.tools.steps import Answer, ApiCall, AskApproval, Flow, Hold, Release, Step, ToolOutcome, bubbles

REJECTION_MEMORY = DECLINE_MEMORY  # a no told to the toolkit, or recorded on an out-of-band page
_logger = logging.getLogger("agent_billing.tools")


class _ExpiringSet:
    """Fingerprints remembered for a while (requests the person declined), in the store's declined memory."""

    def __init__(self, ttl: timedelta, now: Callable[[], datetime], memory: DeclinedRequests) -> None:
        self._ttl, self._now, self._memory = ttl, now, memory

    def add(self, item: str) -> None:
        self._memory.remember(item, until=self._now() + self._ttl)

    def __contains__(self, item: object) -> bool:
        return self._memory.is_declined(str(item), now=self._now())


def _refusal(operation: str, message: str, *, error: str = "refused", **extra: Any) -> ToolOutcome:
    return ToolOutcome({"ok": False, "operation": operation, "error": error, "message": message, **extra},
                       is_error=True)


def _generic_intent(op: Operation, args: BaseModel) -> Generator[ApiCall, Any, IntentDraft]:
    """For a gated operation whose declaration has no resolver: its description and fields, no card."""
    fields = ", ".join(f"{k}={v}" for k, v in args.model_dump(exclude_none=True).items())
    amount = getattr(args, op.amount_field) if op.amount_field else None
    return IntentDraft(summary=f"{op.description} ({op.name}{': ' + fields if fields else ''})", amount=amount)
    yield  # pragma: no cover - a generator that reads nothing


@dataclass(frozen=True, slots=True)
class CallContext:
    """One call of an operation on its way through the guard: built once, when the call is admitted, and
    carried unchanged to the send. Every step of the flow (and any hook on it) reads this one object.

    ``args`` are the validated arguments and ``effect`` their effect; ``scope`` and ``fp`` key the call's
    pending outcome, declined memory and approval record (``approval_id``: where a yes for this call in this
    tool call or LangGraph task is kept); ``audit_arguments`` are the arguments as the audit records them,
    scrubbed once for every record of the call (or not at all when the tool scanned its raw input clean).

    Example:
        >>> from agent_billing.registry import get_registry
        >>> op = next(op for op in get_registry() if not op.args.model_fields)
        >>> call = Guard().admit(op, {}, tool_call_id="call_1")
        >>> call.op is op, call.tool_call_id, call.audit_arguments
        (True, 'call_1', {})
    """

    op: Operation
    args: BaseModel
    effect: Effect
    audit_arguments: dict[str, Any]
    tool_call_id: str | None = None
    confirmation: Any = None
    scope: str = ""
    fp: str = ""
    approval_id: str | None = None


@dataclass(frozen=True, slots=True)
class Decided:
    """A gated call that may be sent: its intent, the digest the yes was given for, its idempotency key,
    who said yes, and whether a mandate said it alone.

    Example:
        >>> Decided.__slots__
        ('intent', 'approved', 'key', 'approver', 'auto', 'evidence')
    """

    intent: ChargeIntent
    approved: str
    key: str
    approver: str
    auto: bool
    evidence: dict[str, str] | None = None  # the approver's record of the decision (receipts carry it)

    def audit(self) -> dict[str, Any]:
        """The fields every audit record of this charge carries."""
        return {"amount": self.intent.amount, "approver": self.approver, "key": self.key, "intent": self.intent}


@dataclass(frozen=True)
class _Stop:
    """The call goes no further: the tool's answer, and what the audit records as the refusal (None: nothing)."""

    outcome: ToolOutcome
    audit: dict[str, Any] | None = None


@dataclass(frozen=True)
class _Replay:
    """The call repeats one whose outcome was unknown: send that again."""

    earlier: PendingCall


@dataclass(frozen=True)
class _Checked:
    """A gated call that may be asked about: its intent and the mandate's verdict."""

    intent: ChargeIntent
    verdict: MandateDecision | None
    inside: bool


class Guard:
    """The guardrail settings of a toolkit, and the flows that apply them.

    ``account`` names the account the client acts on (the client's ``account_id``): approvals, pending
    outcomes, locks and rejections are kept per account, so toolkits of two accounts never mix them.

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
        pending: PendingStore | None = None,
        approvals: ApprovalStore | None = None,
        account: str = "default",
        clock: Callable[[], float] = time.time,
        declined: DeclinedRequests | None = None,
        authorities: AuthorityStore | None = None,  # spend authorities per agent and task (guardrails/authority.py)
        agent: str | None = None,
        payee: str | None = None,  # whom this toolkit's charges pay (the provider), for authorities' payee lists
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
        self.account = account
        # The billing account's own: kept when ``account`` is narrowed to one tenant of it (``mcp/oauth.py``), so a
        # card change still waits for every tenant's charge on the default card.
        self.funding_lock = account
        declined_memory = declined if declined is not None else MemoryDeclinedRequests()
        self._rejected = _ExpiringSet(REJECTION_MEMORY, self._now, declined_memory)
        self.pending: PendingStore = pending if pending is not None else PendingOutcomes()
        self.approvals: ApprovalStore = approvals if approvals is not None else ApprovalRecords()
        self.receipts: ReceiptBook | None = None  # signs each executed money move (receipts.py); the toolkit sets it
        # Whether a flow's own work (between its steps) may wait on a disk, a network or another process's lock:
        # only then does the async driver move it off the event loop.
        self.blocking = not all(_in_memory(part) for part in (spend_store, audit, self.pending, self.approvals,
                                                              declined_memory))
        self.authorities, self.agent, self.payee = authorities, agent, payee
        # Stores whose calls a gated flow joins into one transaction per stretch between two steps (PostgreSQL, the
        # state directory's spend file).
        shared = shared_transactions(spend_store, audit, self.pending, self.approvals, declined_memory)
        if authorities is not None:
            # A claim made on another connection must not wait for a transaction the flow holds open.
            through = {id(store) for store in shared_transactions(getattr(authorities, "backend", None))}
            shared = [store for store in shared if id(store) in through]
        self._shared = shared

    # --- small pieces

    def needs_approval_for(self, effect: Effect | str) -> bool:
        """Whether calls with this effect need a yes."""
        effect = Effect(effect)
        if effect is Effect.DESTRUCTIVE:
            return self.approve_destructive
        return effect.needs_approval

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=timezone.utc)

    def approval_id(self, tool_call_id: str | None, operation: str, fp: str) -> str | None:
        """The id a yes is recorded under: this call (operation and arguments) in this tool call or LangGraph task.

        LangGraph re-runs an interrupted tool with the same tool-call id, task and arguments, so the
        question and the answer meet under one id; the record is dropped once the call has run, so a
        model that reuses tool-call ids starts afresh. A call with neither id gets none (it is asked
        and answered in one run).
        """
        scope = tool_call_id or _langgraph_task()
        return f"{self.account}:{operation}:{fp[:24]}:{scope}" if scope else None

    def idempotency_key(self, intent: ChargeIntent, approval_id: str | None) -> str:
        """The key for this charge: the same intent in the same tool call always gets the same key."""
        if approval_id:
            digest = hashlib.sha256(f"{intent.digest}|{approval_id}".encode()).hexdigest()
            return f"ab_{digest[:40]}"
        return f"ab_{uuid.uuid4().hex}"

    def record(self, op: Operation, effect: Effect, decision: str, *, amount: Decimal | None = None,
               approver: str | None = None, key: str | None = None, request_id: str | None = None,
               reason: str | None = None, args: BaseModel | dict[str, Any] | None = None,
               result: dict[str, Any] | None = None, intent: ChargeIntent | None = None) -> None:
        """Write one audit event (no-op without an audit log); its arguments and result are scrubbed."""
        telemetry.note_decision(self, op, effect, decision, amount=amount, approver=approver, key=key,
                                intent=intent)  # telemetry hook
        if self.audit is None:
            return
        arguments = args.model_dump(mode="json") if isinstance(args, BaseModel) else dict(args or {})
        self.audit.record(AuditEvent(
            timestamp=self._now(), operation=op.name, effect=effect.value, amount=amount, decision=decision,
            approver=approver, idempotency_key=key, request_id=request_id,
            mandate=self.mandate.name if self.mandate else None, reason=reason, arguments=arguments, result=result,
            intent_digest=intent.digest if intent is not None else None,
            correlation=telemetry.correlation(),  # telemetry hook: the agent run, thread and tool call
        ))

    def _audit(self, call: CallContext, decision: str, *, amount: Decimal | None = None, approver: str | None = None,
               key: str | None = None, request_id: str | None = None, reason: str | None = None,
               result: dict[str, Any] | None = None, intent: ChargeIntent | None = None,
               receipt: str | None = None) -> None:
        """Write one audit event of ``call``: its arguments as scrubbed once at admission, and ``result`` as the
        tool's answer already shows it (shaped and redacted once, for the agent and the audit alike)."""
        telemetry.note_decision(self, call.op, call.effect, decision, amount=amount, approver=approver, key=key,
                                intent=intent)  # telemetry hook
        if self.audit is None:
            return
        self.audit.record(AuditEvent.of_clean(
            call.audit_arguments, result, timestamp=self._now(), operation=call.op.name, effect=call.effect.value,
            amount=amount, decision=decision, approver=approver, idempotency_key=key, request_id=request_id,
            mandate=self.mandate.name if self.mandate else None, reason=reason,
            intent_digest=intent.digest if intent is not None else None, receipt=receipt,
            correlation=telemetry.correlation(),  # telemetry hook: the agent run, thread and tool call
        ))

    def remember_rejection(self, op: Operation, raw: dict[str, Any], digest: str | None = None) -> None:
        """A person declined this call outside the flow (the agent middleware): do not ask again soon, for these
        arguments and for the charge they resolved to (``digest``, the intent the person was shown)."""
        if digest is not None:
            self._rejected.add(_declined_intent(f"{self.account}:{op.name}", digest))
        try:
            args = validate_args(op, {k: v for k, v in raw.items() if k != "confirmation"})
        except InvalidRequestError:
            return
        self._rejected.add(f"{self.account}:{op.name}:{fingerprint(op.name, args)}")
        self.record(op, op.effect_of(args), "rejected", approver="person (agent middleware)", args=args)

    def record_refusal(self, op: Operation, what: str, paths: list[str]) -> None:
        """Audit a call refused for carrying ``what`` (card data, a secret): only the field paths are kept."""
        self.record(op, op.effect, "refused", reason=f"{what} in arguments: " + ", ".join(paths))

    def resolve(self, op: Operation, args: BaseModel, effect: Effect, *, for_person: bool = True,
                ) -> Generator[ApiCall, Any, ChargeIntent]:
        """Resolve the charge intent of a gated call (reads only; raises ``IntentUnavailable``)."""
        with telemetry.phase(telemetry.INTENT_RESOLUTION):  # telemetry hook
            try:
                draft: IntentDraft = yield from (op.intent(args, for_person) if op.intent is not None
                                                 else _generic_intent(op, args))
            except BillingError as exc:  # a read the charge depends on failed for a reason a retry will not fix
                step = next_step_for(exc)
                raise IntentUnavailable(f"Nothing was charged: a read this charge depends on failed: {exc.message}"
                                        + (f" {step}" if step else "")) from None
            return build_intent(op.name, effect.value, self.account, args, draft)

    # --- the flow of one operation

    def operation_flow(self, op: Operation, raw: dict[str, Any], tool_call_id: str | None = None, *,
                       scanned: bool = False) -> Flow:
        """Validate, check, approve, call and shape one operation (a generator; see ``steps.drive``).

        ``scanned``: the tool scanned these raw arguments for card data and secrets and found none, so the
        audit records them as they are instead of scrubbing them again.
        """
        call = self.admit(op, raw, tool_call_id, scanned=scanned)
        if isinstance(call, _Stop):
            return self._stopped(call)
        if not self.needs_approval_for(call.effect):
            return (yield from self._direct(call))
        return (yield from self._fail_closed(call, self._gated_flow(call)))

    def admit(self, op: Operation, raw: dict[str, Any], tool_call_id: str | None = None, *, scanned: bool = False,
              ) -> CallContext | _Stop:
        """The checks every call passes first, with no store and no request (valid arguments, not forbidden),
        and the call's context, built once: what every later step of its flow reads."""
        raw = dict(raw)
        confirmation = raw.pop("confirmation", None)
        try:
            args = validate_args(op, raw)
        except InvalidRequestError as exc:
            return _Stop(ToolOutcome(error_content(exc, op.name), is_error=True))
        effect = op.effect_of(args)
        dumped = args.model_dump(mode="json")
        # The tool's scan lets confirmation tokens through (the model passes them back by design); the audit hides
        # them wherever they are, so arguments mentioning one are scrubbed like unscanned ones.
        audit_arguments = dumped if scanned and not _mentions(dumped, "conf_") else scrub(dumped)
        if self.mandate is not None:
            forbidden = self.mandate.evaluate(operation=op.name, effect=effect, amount=None,
                                              spent_24h=Decimal(0), now=self._now())
            if forbidden.verdict == "forbidden":
                call = CallContext(op, args, effect, audit_arguments)
                return _Stop(_refusal(op.name, f"Not allowed by the deployer's mandate: {forbidden.message} Do not "
                                      "retry."), {"reason": forbidden.message, "call": call})
        if not self.needs_approval_for(effect):
            return CallContext(op, args, effect, audit_arguments, tool_call_id, confirmation)
        fp = fingerprint(op.name, args)
        return CallContext(op, args, effect, audit_arguments, tool_call_id, confirmation, f"{self.account}:{op.name}",
                           fp, self.approval_id(tool_call_id, op.name, fp))

    def _stopped(self, stop: _Stop) -> ToolOutcome:
        """Audit why the call stops here (when there is something to audit) and answer with its refusal."""
        if stop.audit is not None:
            fields = dict(stop.audit)
            call: CallContext = fields.pop("call")
            self._audit(call, "refused", **fields)
        return stop.outcome

    def _checks(self, call: CallContext, *, for_person: bool) -> Generator[ApiCall, Any, _Checked | _Replay | _Stop]:
        """What a gated call comes to before anyone is asked: a replay of an unknown outcome, a refusal, or
        its intent and the mandate's verdict. Reads only (the API, the pending outcomes once, the declined
        requests): the flow and ``approval_request`` share it, so a preview never differs from the run."""
        op, scope = call.op, call.scope
        # Indexed lookups: the same tool arguments replay at once, the same intent once it is resolved.
        earlier = self.pending.find(scope, fingerprint=call.fp, now=self._now())
        if earlier is not None:
            return _Replay(earlier)
        if f"{scope}:{call.fp}" in self._rejected:
            return _Stop(_refusal(op.name, "The person already declined exactly this request. Do not retry it; ask "
                                  "them what they would like to do instead.", error="rejected"),
                         {"reason": "declined earlier", "call": call})
        try:
            intent = yield from self.resolve(op, call.args, call.effect, for_person=for_person)
        except PriceRefused as exc:
            return _Stop(_refusal(op.name, str(exc), error="invalid_price", field=exc.field),
                         {"reason": str(exc), "call": call})
        except IntentUnavailable as exc:
            return _Stop(_refusal(op.name, str(exc)), {"reason": str(exc), "call": call})
        earlier = self.pending.find(scope, digest=intent.digest, now=self._now())
        if earlier is not None:
            return _Replay(earlier)
        if _declined_intent(scope, intent.digest) in self._rejected:
            return _Stop(_refusal(op.name, "The person already declined this charge (asked in other words). Do not "
                                  "retry it; ask them what they would like to do instead.", error="rejected",
                                  summary=intent.summary),
                         {"reason": "declined earlier (the same charge)", "call": call, "intent": intent})
        verdict = self._evaluate(call, intent)
        inside = verdict is None or verdict.verdict == "inside"
        if not inside and (not self._may_ask_beyond() or (verdict is not None and verdict.verdict == "forbidden")):
            assert verdict is not None
            return _Stop(_refusal(op.name, "Outside the deployer's spending mandate, so it cannot be done, not even "
                                  f"with a person's yes: {verdict.message} Nothing was charged. Do not retry; tell the "
                                  "person.", summary=render(intent).text),
                         {"amount": intent.amount, "reason": verdict.message, "call": call, "intent": intent})
        return _Checked(intent, verdict, inside)

    def _fail_closed(self, call: CallContext, flow: Flow) -> Flow:
        """Run a gated flow; when its own state fails (the guardrail store, the audit log, anything but the
        API's answer, which the flow handles), refuse, saying whether the request had been sent.

        Like ``yield from flow``, but it notes whether a keyed request went out. Before that, nothing was
        sent (``sent: false``); after it, the write-ahead record of the request stays, so a repeat replays
        it under its key instead of charging again (``sent: true``, the outcome unknown).

        Each stretch of the flow between two steps runs its store calls in one transaction per store that can
        share one (``_stretch``), committed before the step goes out; if that commit fails the step does not
        run, and the flow learns why at that step (nothing of the stretch was kept).
        """
        sent = False
        value: Any = None
        error: BaseException | None = None
        try:
            while True:
                step, done, failed = self._stretch(flow, value, error)
                if done is not None:
                    if failed is not None:  # what the last stretch wrote is lost; its answer stands
                        _logger.warning("agent-billing could not record the end of %s: %s", call.op.name, _why(failed))
                    return done
                assert step is not None
                if failed is not None:
                    # The stretch before this step was not kept, so the step must not run: the flow learns why.
                    value, error = None, failed
                    continue
                sent = sent or (isinstance(step, ApiCall) and step.idempotency_key is not None)
                value, error = None, None
                try:
                    value = yield step
                except GeneratorExit:
                    flow.close()
                    raise
                except BaseException as exc:
                    error = exc
        except Exception as exc:
            if bubbles(exc):  # LangGraph's interrupt is control flow, not a failure
                raise
            _logger.warning("agent-billing refused %s (%s): %s", call.op.name, "sent" if sent else "nothing sent", exc,
                            exc_info=not isinstance(exc, StoreUnavailableError))
            with contextlib.suppress(Exception):  # the audit log may be what failed, or live in the failed store
                self._audit(call, "unknown" if sent else "refused", reason=_why(exc))
            return _local_failure(call.op.name, exc, sent=sent)

    def _stretch(self, flow: Flow, value: Any, error: BaseException | None,
                 ) -> tuple[Step | None, ToolOutcome | None, Exception | None]:
        """Resume a gated flow up to its next step or its end, its store calls in one transaction per store,
        committed before the step goes out: (the step, or the outcome at the end; the commit's failure)."""
        if not self._shared:  # nothing to join (memory stores): no per-step bookkeeping
            try:
                return flow.throw(error) if error is not None else flow.send(value), None, None
            except StopIteration as stop:
                return None, stop.value, None
        with contextlib.ExitStack() as joined:
            for store in self._shared:
                joined.enter_context(store.joined())
            step: Step | None = None
            done: ToolOutcome | None = None
            try:
                step = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as stop:
                done = stop.value
            try:
                self._flush()
            except Exception as exc:
                return step, done, exc
        return step, done, None

    def _flush(self) -> None:
        """Commit what the flow's stores hold so far (see ``_stretch``): before a send it must be durable."""
        for store in self._shared:
            store.flush()

    def _direct(self, call: CallContext) -> Flow:
        op = call.op
        # A change of the default card waits for any charge that relies on the default to finish.
        if op.changes_funding:
            yield Hold(self.funding_lock)
        try:
            result = yield ApiCall(op.name, call.args)
        except BillingError as exc:
            outcome = ToolOutcome(error_content(exc, op.name), is_error=True)
        else:
            outcome = ToolOutcome(success_content(op, result), artifact=_artifact(result))
        if op.changes_funding:
            yield Release(self.funding_lock)
        return outcome

    def _gated_flow(self, call: CallContext) -> Flow:
        op = call.op
        # With spend authorities the card's brand and last four are read: an authority may allow-list them.
        may_auto = self.mandate is not None and self.mandate.auto_approve and self.authorities is None
        # Card names are for a person's eyes: skip those reads while an auto-approving mandate may decide alone.
        checked = yield from self._checks(call, for_person=not may_auto)
        if isinstance(checked, _Replay):
            return (yield from self._replay(call, checked.earlier))
        if isinstance(checked, _Stop):
            return self._stopped(checked)
        intent, verdict, inside = checked.intent, checked.verdict, checked.inside

        key = self.idempotency_key(intent, call.approval_id)
        auto_by = self.auto_approver(verdict)
        if auto_by is not None:
            if self._reserve(key, intent.amount, capped=True):
                refused = self._claim(call, intent, key)
                if refused is not None:
                    return self._claim_refused(call, intent, key, refused)
                return (yield from self._execute(call, Decided(intent, intent.digest, key, auto_by, auto=True)))
            if not self._may_ask_beyond():
                self._audit(call, "refused", amount=intent.amount, key=key, intent=intent, reason="24 h cap reached")
                return _refusal(op.name, "The mandate's rolling 24 h cap has just been reached; nothing was charged.")
            inside, verdict = False, MandateDecision(verdict="outside",
                                                     reasons=("The rolling 24 h cap has just been reached.",))

        if may_auto:
            try:
                intent = yield from self.resolve(op, call.args, call.effect)  # now with the names a person reads
            except IntentUnavailable as exc:
                self._audit(call, "refused", reason=str(exc))
                return _refusal(op.name, str(exc))
        request = _request(intent, verdict, inside, key, call.approval_id)
        asked = yield from self._ask(call, request, intent, inside, key)
        if isinstance(asked, ToolOutcome):
            if call.approval_id is not None:
                self.approvals.forget(call.approval_id)  # a no (or a refusal) is final for this call
            return asked
        decision, approved_digest = asked
        if not self._reserve(key, intent.amount, capped=inside):
            self._audit(call, "refused", amount=intent.amount, key=key, intent=intent,
                        reason="24 h cap reached after the yes")
            outcome = _refusal(op.name, "The mandate's rolling 24 h cap was reached while waiting for the yes; "
                               "nothing was charged.")
        elif (refused := self._claim(call, intent, key)) is not None:
            outcome = self._claim_refused(call, intent, key, refused)
        else:
            outcome = yield from self._execute(call, Decided(intent, approved_digest, key, decision.approver,
                                                             auto=False, evidence=decision.evidence))
        if call.approval_id is not None:
            # This yes has been used: a later call reusing the tool-call id must be asked afresh.
            self.approvals.forget(call.approval_id)
        return outcome

    def approval_request(self, op: Operation, raw: dict[str, Any], tool_call_id: str | None = None,
                         ) -> Generator[ApiCall, Any, ApprovalRequest | None]:
        """What a person would be asked before this call runs, or None when nobody will be asked.

        The flow's own checks (``admit``, ``_checks``), without asking or sending: reads, writes, forbidden
        calls, repeats of unknown outcomes, calls outside a hard mandate and calls a mandate approves alone
        ask nobody.
        """
        call = self.admit(op, raw, tool_call_id)
        if isinstance(call, _Stop) or not self.needs_approval_for(call.effect):
            return None
        checked = yield from self._checks(call, for_person=True)
        if not isinstance(checked, _Checked):
            return None
        if self.auto_approver(checked.verdict) is not None:
            return None
        return _request(checked.intent, checked.verdict, checked.inside, None, call.approval_id)

    def _evaluate(self, call: CallContext, intent: ChargeIntent) -> MandateDecision | None:
        decision = self._evaluate_mandate(call, intent)
        if self.authorities is None or not call.effect.moves_money:
            return decision
        return MandateDecision.with_authorities(decision, self.authorities.check(self.spend_call(call.op, call.effect,
                                                                                                 intent),
                                                                                 now=self._now()))

    def spend_call(self, op: Operation, effect: Effect, intent: ChargeIntent) -> SpendCall:
        """The facts spend authorities judge: this call's amount, plan, card and payee, its agent and task."""
        standing = effect is Effect.AUTHORIZE
        return SpendCall(operation=op.name, effect=effect, amount=intent.largest_charge if standing else intent.amount,
                         currency=intent.currency, plan=intent.plan.id if intent.plan is not None else None,
                         instrument=intent.payment_method, payee=self.payee, agent=self.agent, task=current_task())

    def auto_approver(self, verdict: MandateDecision | None) -> str | None:
        """Who says yes without a person (``mandate:<name>``, ``authority:<ids>``), or None: a person is asked.
        Every layer in force must agree: an auto-approving mandate and/or auto-approving spend authorities."""
        if verdict is None or verdict.verdict != "inside" or not verdict.auto:
            return None
        if self.mandate is not None and not self.mandate.may_auto_approve(verdict):
            return None
        if verdict.authorities:
            return "authority:" + ",".join(verdict.authorities)
        return f"mandate:{self.mandate.name}" if self.mandate is not None else None

    def _claim(self, call: CallContext, intent: ChargeIntent, key: str) -> str | None:
        """Claim the charge from every applicable spend authority (checked and reserved in one transaction);
        the refusal's reasons, having released the mandate's reservation, or None."""
        if self.authorities is None or not call.effect.moves_money:
            return None
        try:
            claim = self.authorities.claim(self.spend_call(call.op, call.effect, intent), key, now=self._now())
        except BaseException:
            # Nothing is sent without the claim: the mandate's reservation must not hold the cap meanwhile.
            _quietly(self._release, key)
            raise
        if claim.granted:
            return None
        if self.spend_store is not None:
            self.spend_store.release(key)
        return " ".join(claim.reasons)

    def _claim_refused(self, call: CallContext, intent: ChargeIntent, key: str, reasons: str) -> ToolOutcome:
        self._audit(call, "refused", amount=intent.amount, key=key, intent=intent, reason=reasons)
        return _refusal(call.op.name, "Outside the spend authority, so it cannot be done, not even with a person's "
                        f"yes: {reasons} Nothing was charged. Do not retry; tell the person.")

    def _evaluate_mandate(self, call: CallContext, intent: ChargeIntent) -> MandateDecision | None:
        if self.mandate is None or self.spend_store is None:
            return None
        spent = self.spend_store.spent(self.mandate.name, now=self._now())
        # A standing authorisation is judged by its largest single charge and its worst case in 24 h; without a
        # resolver to say what it carries, its worst case is unknown (never auto-approved).
        standing = call.effect is Effect.AUTHORIZE
        worst = intent.worst_24h if standing and call.op.intent is not None else None
        plan = intent.plan.id if intent.plan is not None else None
        return self.mandate.evaluate(operation=call.op.name, effect=call.effect,
                                     amount=intent.largest_charge if standing else intent.amount, plan=plan,
                                     spent_24h=spent, now=self._now(), currency=intent.currency, worst_24h=worst)

    def _may_ask_beyond(self) -> bool:
        return self.mandate is None or self.mandate.beyond == "ask"

    def _ask(self, call: CallContext, request: ApprovalRequest, intent: ChargeIntent, inside: bool, key: str,
             ) -> Generator[Step, Any, ToolOutcome | tuple[ApprovalDecision, str]]:
        """Get a yes (and the digest it was given for) from the approver, or the refusal outcome."""
        op, approval_id = call.op, call.approval_id
        audit: dict[str, Any] = {"amount": intent.amount, "key": key, "intent": intent}
        if self.approver is None:
            why = request.mandate or ("no spending mandate covers it" if self.mandate else "no mandate is configured")
            self._audit(call, "refused", reason=f"no approver; {why}", **audit)
            return _refusal(op.name, f"This needs a person's approval and none can be asked here ({why}). Nothing "
                            "was charged. Tell the person what you wanted to do; the operator must configure an "
                            "approver or a mandate.", summary=request.summary)
        if isinstance(self.approver, ConfirmationApprover):
            return self._confirm(call, request, intent, inside, key)
        if call.confirmation is not None:
            return _refusal(op.name, "confirmation is not used with this approver; call without it.",
                            error="validation_error")
        if isinstance(self.approver, MiddlewareApprover):
            recorded = self.approvals.decision(approval_id, now=self._now()) if approval_id else None
            if recorded is None:
                self._audit(call, "refused", reason="approval='middleware' but no middleware decision", **audit)
                return _refusal(op.name, "This toolkit expects approvals from its agent middleware, and none was "
                                "recorded for this call, so nothing was charged. The operator must add it: "
                                "create_agent(..., middleware=[toolkit.middleware()]).", summary=request.summary)
            decision = ApprovalDecision(approved=recorded.approved, approver=recorded.approver)
            shown = recorded.digest
        else:
            # The first digest shown under this id is the one a later yes (LangGraph's resume) answers.
            shown = self.approvals.shown(approval_id, intent.digest, now=self._now()) if approval_id else intent.digest
            decision = yield AskApproval(request)
        if decision.failed:
            self._audit(call, "refused", approver=decision.approver, reason=decision.reason, **audit)
            return _refusal(op.name, f"The approval could not be asked ({decision.reason}). Nothing was charged.",
                            summary=request.summary)
        if not decision.approved:
            self._rejected.add(f"{call.scope}:{call.fp}")
            self._rejected.add(_declined_intent(call.scope, intent.digest))  # the same charge in other words too
            self._audit(call, "rejected", approver=decision.approver, reason=decision.reason, **audit)
            return _refusal(op.name, "The person declined. Nothing was charged. Do not retry this request.",
                            error="rejected", summary=request.summary)
        return decision, shown

    def _confirm(self, call: CallContext, request: ApprovalRequest, intent: ChargeIntent, inside: bool, key: str,
                 ) -> ToolOutcome | tuple[ApprovalDecision, str]:
        """Single-use confirmation bound to the intent's digest: issue a token, or consume the one given."""
        assert isinstance(self.approver, ConfirmationApprover)
        op, confirmation = call.op, call.confirmation
        audit: dict[str, Any] = {"amount": intent.amount, "key": key, "intent": intent}
        if not inside:
            self._audit(call, "refused", reason="confirmation outside mandate", **audit)
            return _refusal(op.name, "Single-use confirmations are only allowed inside the deployer's mandate, and "
                            f"this is outside it: {request.mandate or 'no mandate'}. Nothing was charged.")
        store = self.approver.store
        if confirmation is None:
            issued = store.issue(op.name, intent.digest, request.summary,
                                 ttl=timedelta(seconds=self.approver.ttl_seconds), now=self._now())
            self._audit(call, "requested", **audit)
            return ToolOutcome({
                "ok": False, "operation": op.name, "status": "confirmation_required", "summary": request.summary,
                "confirmation": issued.token, "expires_at": issued.expires_at.isoformat(),
                "next_step": "Tell the person exactly the summary and ask for a yes. Only if they say yes, call "
                             "again with the same arguments and this confirmation. Never confirm on their behalf.",
            })
        if not isinstance(confirmation, str) or not store.consume(confirmation, op.name, intent.digest,
                                                                  now=self._now()):
            self._audit(call, "refused", reason="invalid confirmation", **audit)
            return _refusal(op.name, "That confirmation is not valid for this exact charge: wrong, used, expired, "
                            "or the charge changed since it was issued (for example a different default card). "
                            "Nothing was charged. Call again without it to get the current summary for the person.",
                            error="confirmation_invalid")
        return ApprovalDecision(approved=True, approver=self.approver.describe()), intent.digest

    def _execute(self, call: CallContext, decided: Decided) -> Flow:
        """Check that the charge is still the approved one, then send exactly it (under the funding lock when
        the API charges the default card)."""
        locked = decided.intent.funding == "default" or call.op.changes_funding
        if locked:
            try:
                yield Hold(self.funding_lock)
            except StoreUnavailableError:
                # The lock wait ran out before anything was sent: the reservation made for this charge must not
                # keep counting against the mandate's cap.
                _quietly(self._release, decided.key)
                raise
        outcome = yield from self._send_checked(call, decided, recheck=locked or not decided.auto)
        if locked:
            yield Release(self.funding_lock)
        return outcome

    def _send_checked(self, call: CallContext, decided: Decided, *, recheck: bool) -> Flow:
        op, intent, key = call.op, decided.intent, decided.key
        if recheck:
            try:
                current = yield from self.resolve(op, call.args, call.effect, for_person=False)
            except IntentUnavailable as exc:
                self._release(key)
                self._audit(call, "refused", amount=intent.amount, key=key, reason=str(exc), intent=intent)
                return _refusal(op.name, str(exc))
            if current.digest != decided.approved:
                self._release(key)
                change = intent.describe_change(current)
                self._audit(call, "changed", amount=intent.amount, approver=decided.approver, key=key, intent=current,
                            reason=f"approved intent {decided.approved[:12]}: {change}")
                return _refusal(op.name, f"What was approved changed before it ran ({change}), so nothing was charged. "
                                "Ask the person again: call again with the same arguments and they will see the "
                                f"current details: {render(current).facts}", error="intent_changed",
                                summary=render(current).text)
        audit = decided.audit()
        # Before anything is sent: the audit's yes, then the write-ahead record (key, digest, exact request).
        # If either cannot be written, nothing is sent.
        evidence = approval_evidence(decided.approver, auto=decided.auto,
                                     mandate=self.mandate.name if self.mandate else None, at=self._now(),
                                     details=decided.evidence)
        try:
            self._audit(call, "auto_approved" if decided.auto else "approved", **audit)
            self.pending.remember(call.scope, call.fp, intent.digest, key, intent.arguments, now=self._now())
            self._flush()  # with the reservation, in one transaction where the stores share one
        except Exception as exc:
            return self._not_sent(call, exc, audit, release=key)
        sent = validate_args(op, intent.arguments)
        try:
            answer: Answer = yield ApiCall(op.name, sent, key, with_request_id=True)
        except OutcomeUnknownError as exc:
            # Neither done nor failed: the reservation and the write-ahead record stay, so a repeat replays it.
            _quietly(self._audit, call, "unknown", request_id=exc.request_id, reason=exc.message, **audit)
            return ToolOutcome({**error_content(exc, op.name, gated=True), "sent": True}, is_error=True)
        except BillingError as exc:
            return self._failed(call, exc, audit, release=True)
        outcome = self._succeeded(call, answer, audit, evidence)
        outcome.content["approved_by"] = decided.approver
        return outcome

    def _replay(self, call: CallContext, earlier: PendingCall) -> Flow:
        """Send an unsettled call again, identically and under its key: the API replays, never recharges."""
        op = call.op
        sent = validate_args(op, earlier.arguments)
        # The audit records what is sent again (the earlier call's arguments), not this call's words for it.
        call = replace(call, audit_arguments=scrub(sent.model_dump(mode="json")))
        audit: dict[str, Any] = {"key": earlier.idempotency_key}
        try:
            self._audit(call, "replayed", reason="repeat of a call whose outcome was not recorded", **audit)
        except Exception as exc:
            return self._not_sent(call, exc, audit, release=None)  # the earlier call's reservation stays
        try:
            answer: Answer = yield ApiCall(op.name, sent, earlier.idempotency_key, with_request_id=True)
        except (OutcomeUnknownError, IdempotencyConflictError) as exc:
            # Still unknown (or the key is busy with the first send): the record stays for the next repeat.
            _quietly(self._audit, call, "unknown", request_id=exc.request_id, reason=exc.message, **audit)
            return ToolOutcome({**error_content(exc, op.name, gated=True), "sent": True}, is_error=True)
        except BillingError as exc:
            return self._failed(call, exc, audit, release=True)
        outcome = self._succeeded(call, answer, audit, {"decision": "replayed", "intent_digest": earlier.digest})
        outcome.content["note"] = ("This completes an earlier identical request whose outcome was not recorded; it "
                                   "was sent again under the same idempotency key, so nothing was charged twice.")
        return outcome

    def _succeeded(self, call: CallContext, answer: Answer, audit: dict[str, Any],
                   evidence: dict[str, Any] | None = None) -> ToolOutcome:
        """Done: count the spend, audit it, then settle the write-ahead record, in that order, so a failure to
        record leaves the record in place and a repeat replays this result instead of charging again."""
        content = success_content(call.op, answer.result)  # shaped and redacted once: the agent's and the audit's
        key = audit["key"]
        try:
            self._confirm_spend(key)
            receipt = mint(self.receipts, operation=call.op.name, effect=call.effect, answer=answer, audit=audit,
                           evidence=evidence, now=self._now())
            if receipt is not None:
                content["signed_receipt"] = receipt["id"]
            self._audit(call, "succeeded", request_id=answer.request_id, result=_recorded(content),
                        receipt=receipt_digest(receipt) if receipt is not None else None, **audit)
            self.pending.forget(call.scope, key)
            self._flush()
        except Exception as exc:
            _logger.warning("agent-billing %s succeeded (key %s) but could not be recorded: %s", call.op.name, key,
                            exc, exc_info=not isinstance(exc, StoreUnavailableError))
            content["recorded"] = False
            content["warning"] = (f"This was done, but the toolkit could not record it ({_why(exc)}). Report it as "
                                  "done. Repeating exactly this call replays this result under the same idempotency "
                                  "key and does not charge again. Tell the operator the audit or store needs "
                                  "attention.")
        return ToolOutcome(content, artifact=_artifact(answer.result))

    def _failed(self, call: CallContext, exc: BillingError, audit: dict[str, Any], *, release: bool) -> ToolOutcome:
        """A definite failure from the API: nothing moved. Settle the record and the reservation, then audit."""
        key = audit["key"]
        if release:
            _quietly(self._release, key)
        _quietly(self.pending.forget, call.scope, key)
        _quietly(self._audit, call, "failed", request_id=exc.request_id, reason=f"{exc.code}: {exc.message}", **audit)
        return ToolOutcome(error_content(exc, call.op.name, gated=True), is_error=True)

    def _not_sent(self, call: CallContext, exc: Exception, audit: dict[str, Any], *, release: str | None,
                  ) -> ToolOutcome:
        """The record before the send could not be written: nothing goes out; free the reservation it held."""
        if release is not None:
            _quietly(self._release, release)
        _quietly(self._audit, call, "refused", reason=_why(exc), **audit)
        return _local_failure(call.op.name, exc, sent=False)

    def _reserve(self, key: str, amount: Decimal | None, *, capped: bool) -> bool:
        if self.mandate is None or self.spend_store is None or amount is None:
            return True
        with telemetry.phase(telemetry.STORE_RESERVATION):  # telemetry hook
            reservation = self.spend_store.reserve(
                self.mandate.name, key, amount, limit=self.mandate.max_per_24h if capped else None, now=self._now())
        return reservation.granted

    def _release(self, key: str) -> None:
        if self.spend_store is not None:
            self.spend_store.release(key)
        if self.authorities is not None:
            self.authorities.release(key)

    def _confirm_spend(self, key: str) -> None:
        # KeyError: nothing was reserved (no mandate, or no amount), so there is nothing to confirm.
        if self.spend_store is not None:
            with contextlib.suppress(KeyError):
                self.spend_store.confirm(key)
        if self.authorities is not None:
            self.authorities.confirm(key)


def _request(intent: ChargeIntent, verdict: MandateDecision | None, inside: bool, key: str | None,
             approval_id: str | None) -> ApprovalRequest:
    """The approval request for an intent: the one rendered text (``approval_text``) and the binding facts,
    never the raw tool arguments or a provider's unchecked words."""
    return ApprovalRequest(
        operation=intent.operation, effect=intent.effect, amount=intent.amount, currency=intent.currency,
        recurring=intent.recurring, **request_fields(intent),
        mandate=verdict.message if verdict is not None and not inside else None,
        arguments=display_arguments(redact(dict(intent.arguments))), idempotency_key=key,
        intent_digest=intent.digest, approval_id=approval_id,
    )


def _mentions(value: Any, text: str) -> bool:
    """Whether any string in a JSON-like value (keys included) contains ``text``.

    Example:
        >>> _mentions({"a": [1, {"b": "x conf_123"}]}, "conf_"), _mentions({"a": "b"}, "conf_")
        (True, False)
    """
    if isinstance(value, str):
        return text in value
    if isinstance(value, dict):
        return any(_mentions(k, text) or _mentions(v, text) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_mentions(item, text) for item in value)
    return False


def _in_memory(part: object) -> bool:
    """Whether a part of the guardrail state lives in this process's memory only (None: there is no such part),
    so using it never waits on a disk, a network or another process's lock.

    Example:
        >>> _in_memory(None), _in_memory(MemoryAuditLog()), _in_memory(PendingOutcomes()), _in_memory(object())
        (True, True, True, False)
    """
    if part is None or isinstance(part, (MemoryAuditLog, MemorySpendStore, MemoryDeclinedRequests)):
        return True
    # The SQLite-backed stores opened without a file (PendingOutcomes(), ApprovalRecords()) say so in their name.
    return isinstance(part, (PendingOutcomes, ApprovalRecords)) and str(getattr(part, "_name", "")).startswith(
        "in-memory ")


def _why(exc: Exception) -> str:
    """A local failure in a few words (never a traceback)."""
    return str(exc) if isinstance(exc, StoreUnavailableError) else f"{type(exc).__name__}: {exc}"


def _quietly(write: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """Bookkeeping once the answer is settled: a failure is logged, never turned into a wrong answer."""
    try:
        write(*args, **kwargs)
    except Exception as exc:
        _logger.warning("agent-billing could not record %s: %s", getattr(write, "__name__", "state"), _why(exc))


def _local_failure(operation: str, exc: Exception, *, sent: bool) -> ToolOutcome:
    """The answer when the toolkit's own state failed: whether the request was sent, and what to do.

    ``store_unavailable`` (the guardrail store) or ``nothing_sent`` (anything else) when nothing was sent;
    ``store_unavailable`` or ``outcome_unknown`` with ``sent: true`` after the send.

    Example:
        >>> _local_failure("add_funds", OSError(28, "No space left on device"), sent=False).content["error"]
        'nothing_sent'
    """
    store = isinstance(exc, StoreUnavailableError)
    extra: dict[str, Any] = {"sent": sent}
    if isinstance(exc, StoreUnavailableError):
        extra["store"] = exc.store
    if sent:
        return _refusal(operation, f"The request was sent, but then the toolkit failed to record its outcome "
                        f"({_why(exc)}), so it may or may not have gone through. Do not report success or failure: "
                        "check the transactions first. The request was recorded before it was sent: once the "
                        "problem is fixed, repeating exactly this call replays it under the same idempotency key and "
                        "cannot charge twice. Never charge again with other arguments.",
                        error="store_unavailable" if store else "outcome_unknown", **extra)
    if store:
        return _refusal(operation, f"Refused because {exc}: the spending limits and approvals cannot be checked "
                        "without it. Nothing was charged (nothing was sent). Money-moving calls stay refused until "
                        "it is back; reads still work. Tell the person; do not retry in a loop.",
                        error="store_unavailable", **extra)
    return _refusal(operation, f"Nothing was charged (nothing was sent): the toolkit could not write its own record "
                    f"before sending ({_why(exc)}). Tell the person and the operator (the audit log or state "
                    "directory needs attention); do not retry in a loop.", error="nothing_sent", **extra)


def _declined_intent(scope: str, digest: str) -> str:
    """The declined-memory key of a charge the person said no to, whatever arguments named it."""
    return f"{scope}:intent:{digest}"


def _langgraph_task() -> str | None:
    """The running LangGraph task (stable across an interrupt's re-execution), outside a graph None."""
    try:
        from langgraph.config import get_config

        configurable = get_config().get("configurable", {})
    except Exception:
        return None
    thread, namespace = configurable.get("thread_id"), configurable.get("checkpoint_ns")
    return f"lg:{thread}:{namespace}" if thread and namespace else None


def _recorded(content: dict[str, Any]) -> dict[str, Any] | None:
    """The part of a success the audit record keeps: the result object."""
    result = content.get("result")
    return result if isinstance(result, dict) else None


def _artifact(result: Any) -> dict[str, Any]:
    if isinstance(result, BaseModel):
        return {"result": result.model_dump(mode="json")}
    return {"result": result}


__all__ = ["CallContext", "Decided", "Guard"]
