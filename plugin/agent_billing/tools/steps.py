"""Steps of a tool flow, and the two drivers (sync and async) that carry them out.

A flow is a generator that yields steps (an API call, a question to the approver, a pause) and gets
their results sent back; it returns a ``ToolOutcome``. The same flow therefore runs under ``invoke``
and ``ainvoke`` with one implementation of the guardrails: only the drivers differ.

Between two steps a flow does synchronous work: the guardrail stores (SQLite, PostgreSQL), the audit
log, intent resolution. The async driver therefore resumes the flow in a worker thread of its own bounded
lane (``lanes.FLOW_LANE``, not the loop's default pool, which waiting flows would otherwise fill while
reads queue behind them), so a store waiting on a lock never stalls the event loop; a flow whose stores are
all in memory (``inline=True``) runs on the loop instead, with no thread hop per step; the steps themselves
(API calls, the approver, locks, sleeps) run on the loop. Callbacks a flow calls directly (a workflow's
progress and hand-off notifications) therefore run in that thread too, with the caller's context.

Every wait has a bound: an API call its deadline (``AGENT_BILLING_TIMEOUT``), the funding lock
(``Hold``) ``lock_timeout`` (``AGENT_BILLING_LOCK_TIMEOUT``). A lock not obtained in time is thrown into
the flow as ``FundingLockTimeout``, a ``StoreUnavailableError``: a gated flow refuses with
``store_unavailable`` (nothing sent); a flow that does not handle it ends with the same answer.

Example:
    >>> def flow():
    ...     balance = yield ApiCall("read_balance", {})
    ...     return ToolOutcome({"ok": True, "balance": str(balance)})
    >>> isinstance(ApiCall("read_balance", {}), ApiCall)
    True
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agent_billing import telemetry
from agent_billing.errors import BillingError, OutcomeUnknownError
from agent_billing.guardrails.approval import ApprovalDecision, ApprovalRequest, Approver
from agent_billing.guardrails.store import StoreUnavailableError
from agent_billing.lanes import FLOW_LANE, run_in

if TYPE_CHECKING:
    from agent_billing.client import AsyncClient, SyncClient


@dataclass(frozen=True)
class ApiCall:
    """Call an operation through the client (errors are thrown back into the flow).

    Example:
        >>> call = ApiCall("add_funds", {"amount": "25"}, idempotency_key="k1")
        >>> call.name, call.idempotency_key
        ('add_funds', 'k1')
    """

    name: str
    args: Mapping[str, Any] | BaseModel
    idempotency_key: str | None = None
    # True: the flow receives an ``Answer`` (the result and the API's request id), not the bare result.
    with_request_id: bool = False


@dataclass(frozen=True)
class Answer:
    """What an ``ApiCall(..., with_request_id=True)`` receives: the result and the request id the API gave it.

    Example:
        >>> Answer({"balance": "0.00"}, "req_1").request_id
        'req_1'
    """

    result: Any
    request_id: str | None = None


@dataclass(frozen=True)
class AskApproval:
    """Ask the configured approver; the flow receives an ``ApprovalDecision``.

    Example:
        >>> step = AskApproval(ApprovalRequest(operation="pay_out", effect="payout", summary="Pay out $50.00"))
        >>> step.request.summary
        'Pay out $50.00'
    """

    request: ApprovalRequest


@dataclass(frozen=True)
class Sleep:
    """Wait (polling a checkout): ``time.sleep`` or ``asyncio.sleep``.

    Example:
        >>> Sleep(1.5).seconds
        1.5
    """

    seconds: float


@dataclass(frozen=True)
class Hold:
    """Take the named lock until ``Release`` (or the end of the flow): a charge that relies on the default
    card holds its account's lock from its last check to its request, and so do changes of the default.

    Example:
        >>> Hold("acct_1").name
        'acct_1'
    """

    name: str


@dataclass(frozen=True)
class Release:
    """Give back a lock taken with ``Hold``.

    Example:
        >>> Release("acct_1").name
        'acct_1'
    """

    name: str


Step = ApiCall | AskApproval | Sleep | Hold | Release

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock(name: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(name, threading.Lock())


class FundingLockTimeout(StoreUnavailableError):
    """The account's funding lock stayed taken longer than the bound: nothing was sent.

    A ``StoreUnavailableError``, so a gated flow answers ``store_unavailable`` as for any guardrail state it
    cannot reach (and audits the refusal).

    Example:
        >>> err = FundingLockTimeout("acct_1", 10.0)
        >>> err.store, isinstance(err, StoreUnavailableError)
        ('funding lock', True)
        >>> str(err)
        'another call on this account held its funding lock for more than 10 s (AGENT_BILLING_LOCK_TIMEOUT)'
    """

    def __init__(self, name: str, seconds: float) -> None:
        super().__init__("funding lock", f"held by another call for more than {seconds:g} s")
        # The store's usual "is unreachable" wording does not fit a lock that is merely busy.
        self.args = (f"another call on this account held its funding lock for more than {seconds:g} s "
                     "(AGENT_BILLING_LOCK_TIMEOUT)",)
        self.name, self.seconds = name, seconds

    def outcome(self) -> ToolOutcome:
        """The answer of a flow that let the timeout through (a direct change of the default card)."""
        return ToolOutcome({"ok": False, "error": "store_unavailable", "store": self.store,
                            "message": f"Refused because {self}. Nothing was sent. Try again shortly; do not retry "
                                       "in a loop."}, is_error=True)


def _lock_bound(client: Any, lock_timeout: float | None) -> float:
    """The funding lock's wait bound: the driver's argument, else the client's settings."""
    if lock_timeout is not None:
        return lock_timeout
    settings = getattr(client, "settings", None)
    return float(getattr(settings, "lock_timeout", _DEFAULT_LOCK_TIMEOUT))


_DEFAULT_LOCK_TIMEOUT = 10.0


@dataclass
class ToolOutcome:
    """What a tool returns: ``content`` for the model, ``artifact`` for the host, and whether it failed.

    Example:
        >>> outcome = ToolOutcome({"ok": False, "error": "not_found"}, is_error=True)
        >>> outcome.is_error, outcome.artifact
        (True, {})
    """

    content: dict[str, Any]
    is_error: bool = False
    artifact: dict[str, Any] = field(default_factory=dict)


Flow = Generator[Step, Any, ToolOutcome]


def _no_approver(request: ApprovalRequest) -> ApprovalDecision:
    return ApprovalDecision(approved=False, approver="none", reason="no approver configured")


def _approver_failed(approver: Approver, exc: Exception) -> ApprovalDecision:
    # An approver that breaks has not said yes: fail closed, but do not remember it as a "no".
    return ApprovalDecision(approved=False, approver=approver.describe(), reason=f"approver failed: "
                            f"{type(exc).__name__}", failed=True)


def _unexpected(step: ApiCall, client: Any, exc: Exception) -> BillingError:
    """Anything but a ``BillingError`` from a call becomes one (a mutation's outcome is then unknown)."""
    op = client.registry.operations.get(step.name)
    if op is not None and op.is_mutation:
        return OutcomeUnknownError(f"{step.name} failed unexpectedly ({type(exc).__name__}); it may have taken "
                                   "effect.", idempotency_key=step.idempotency_key, cause=type(exc).__name__)
    return BillingError(f"{step.name} failed unexpectedly ({type(exc).__name__})", code="internal_error")


def bubbles(exc: BaseException) -> bool:
    """LangGraph's interrupt (and its other control-flow exceptions) must pass through untouched."""
    try:
        from langgraph.errors import GraphBubbleUp
    except ImportError:  # pragma: no cover - langgraph is a dependency
        return False
    return isinstance(exc, GraphBubbleUp)


def _call(client: SyncClient, step: ApiCall) -> Answer:
    if isinstance(step.args, BaseModel):
        result, request_id = client._call_validated(client.registry.get(step.name), step.args, step.idempotency_key)
        return Answer(result, request_id)
    # Raw arguments take the client's public path (card-data guard, validation), which returns the result alone.
    return Answer(client.call(step.name, step.args, idempotency_key=step.idempotency_key))


async def _acall(client: AsyncClient, step: ApiCall) -> Answer:
    if isinstance(step.args, BaseModel):
        result, request_id = await client._call_validated(client.registry.get(step.name), step.args,
                                                          step.idempotency_key)
        return Answer(result, request_id)
    return Answer(await client.call(step.name, step.args, idempotency_key=step.idempotency_key))


@dataclass(frozen=True)
class _Finished:
    outcome: ToolOutcome


def _advance(flow: Flow, value: Any, error: BaseException | None) -> Step | _Finished:
    """Resume the flow up to its next step (or its end); the part of a run that does the flow's own work."""
    try:
        return flow.throw(error) if error is not None else flow.send(value)
    except StopIteration as stop:
        # Returned, not raised: a StopIteration cannot travel through the future of a worker thread.
        return _Finished(stop.value)
    except FundingLockTimeout as timeout:
        return _Finished(timeout.outcome())


def drive(flow: Flow, client: SyncClient, approver: Approver | None, *, lock_timeout: float | None = None,
          ) -> ToolOutcome:
    """Run a flow synchronously. ``lock_timeout`` bounds a ``Hold`` (default: the client's settings).

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.inprocess import sandbox_clients
        >>> client = sandbox_clients(create_app())[0]
        >>> read = next(op.name for op in client.registry if op.effect == "read" and not op.args.model_fields)
        >>> def read_flow():
        ...     result = yield ApiCall(read, {})
        ...     return ToolOutcome({"ok": True, "read": type(result).__name__})
        >>> drive(read_flow(), client, approver=None).content["ok"]
        True
    """
    value: Any = None
    error: BaseException | None = None
    held: list[threading.Lock] = []
    try:
        while True:
            step = _advance(flow, value, error)
            if isinstance(step, _Finished):
                return step.outcome
            value, error = None, None
            if isinstance(step, ApiCall):
                try:
                    answer = _call(client, step)
                    value = answer if step.with_request_id else answer.result
                except BillingError as exc:
                    error = exc
                except Exception as exc:
                    error = _unexpected(step, client, exc)
            elif isinstance(step, AskApproval):
                with telemetry.phase(telemetry.APPROVAL_WAIT):  # telemetry hook
                    try:
                        value = approver.decide(step.request) if approver else _no_approver(step.request)
                    except Exception as exc:
                        if bubbles(exc) or approver is None:
                            raise
                        value = _approver_failed(approver, exc)
            elif isinstance(step, Hold):
                lock = _lock(step.name)
                bound = _lock_bound(client, lock_timeout)
                if lock.acquire(timeout=bound):
                    held.append(lock)
                else:
                    error = FundingLockTimeout(step.name, bound)
            elif isinstance(step, Release):
                _release(held, step.name)
            else:
                time.sleep(step.seconds)
    finally:
        for lock in held:
            lock.release()


async def adrive(flow: Flow, client: AsyncClient, approver: Approver | None, *, lock_timeout: float | None = None,
                 inline: bool = False) -> ToolOutcome:
    """Run a flow asynchronously. ``lock_timeout`` bounds a ``Hold`` (default: the client's settings).

    ``inline``: the flow's own work between steps never blocks (its stores are in memory), so it runs on the
    event loop instead of hopping to a worker thread at every step.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.inprocess import sandbox_clients
        >>> client = sandbox_clients(create_app())[1]
        >>> read = next(op.name for op in client.registry if op.effect == "read" and not op.args.model_fields)
        >>> def read_flow():
        ...     result = yield ApiCall(read, {})
        ...     return ToolOutcome({"ok": True, "read": type(result).__name__})
        >>> asyncio.run(adrive(read_flow(), client, approver=None)).content["ok"]
        True
        >>> asyncio.run(adrive(read_flow(), client, approver=None, inline=True)).content["ok"]  # no worker thread
        True
    """
    value: Any = None
    error: BaseException | None = None
    held: list[threading.Lock] = []
    try:
        while True:
            # Off the loop and off its default pool: the flow's work between steps may wait on a store's lock.
            step = _advance(flow, value, error) if inline else await run_in(FLOW_LANE, _advance, flow, value, error)
            if isinstance(step, _Finished):
                return step.outcome
            value, error = None, None
            if isinstance(step, ApiCall):
                try:
                    answer = await _acall(client, step)
                    value = answer if step.with_request_id else answer.result
                except BillingError as exc:
                    error = exc
                except Exception as exc:
                    error = _unexpected(step, client, exc)
            elif isinstance(step, AskApproval):
                with telemetry.phase(telemetry.APPROVAL_WAIT):  # telemetry hook
                    try:
                        value = await approver.adecide(step.request) if approver else _no_approver(step.request)
                    except Exception as exc:
                        if bubbles(exc) or approver is None:
                            raise
                        value = _approver_failed(approver, exc)
            elif isinstance(step, Hold):
                lock = _lock(step.name)
                bound = _lock_bound(client, lock_timeout)
                if await _acquire(lock, bound):
                    held.append(lock)
                else:
                    error = FundingLockTimeout(step.name, bound)
            elif isinstance(step, Release):
                _release(held, step.name)
            else:
                await asyncio.sleep(step.seconds)
    finally:
        for lock in held:
            lock.release()


async def _acquire(lock: threading.Lock, seconds: float) -> bool:
    """Take ``lock`` within ``seconds``. Polled, not awaited in a thread: a cancelled task must never end up
    owning the lock, and no thread is held while waiting."""
    loop = asyncio.get_running_loop()
    give_up, pause = loop.time() + seconds, 0.002
    while not lock.acquire(blocking=False):
        if loop.time() >= give_up:
            return False
        await asyncio.sleep(min(pause, max(0.0, give_up - loop.time())))
        pause = min(pause * 2, 0.05)
    return True


def _release(held: list[threading.Lock], name: str) -> None:
    lock = _lock(name)
    if lock in held:
        held.remove(lock)
        lock.release()
