"""Steps of a tool flow, and the two drivers (sync and async) that carry them out.

A flow is a generator that yields steps (an API call, a question to the approver, a pause) and gets
their results sent back; it returns a ``ToolOutcome``. The same flow therefore runs under ``invoke``
and ``ainvoke`` with one implementation of the guardrails: only the drivers differ.

Example:
    >>> def flow():
    ...     balance = yield ApiCall("get_wallet_balance", {})
    ...     return ToolOutcome({"ok": True, "balance": str(balance)})
    >>> isinstance(ApiCall("get_wallet_balance", {}), ApiCall)
    True
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agent_billing.errors import BillingError
from agent_billing.guardrails.approval import ApprovalDecision, ApprovalRequest, Approver

if TYPE_CHECKING:
    from agent_billing.client import AsyncBillingClient, BillingClient


@dataclass(frozen=True)
class ApiCall:
    """Call an operation through the client (errors are thrown back into the flow)."""

    name: str
    args: Mapping[str, Any] | BaseModel
    idempotency_key: str | None = None


@dataclass(frozen=True)
class AskApproval:
    """Ask the configured approver; the flow receives an ``ApprovalDecision``."""

    request: ApprovalRequest


@dataclass(frozen=True)
class Sleep:
    """Wait (polling a checkout): ``time.sleep`` or ``asyncio.sleep``."""

    seconds: float


Step = ApiCall | AskApproval | Sleep


@dataclass
class ToolOutcome:
    """What a tool returns: ``content`` for the model, ``artifact`` for the host, and whether it failed."""

    content: dict[str, Any]
    is_error: bool = False
    artifact: dict[str, Any] = field(default_factory=dict)


Flow = Generator[Step, Any, ToolOutcome]


def _no_approver(request: ApprovalRequest) -> ApprovalDecision:
    return ApprovalDecision(approved=False, approver="none", reason="no approver configured")


def drive(flow: Flow, client: BillingClient, approver: Approver | None) -> ToolOutcome:
    """Run a flow synchronously."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = flow.throw(error) if error is not None else flow.send(value)
        except StopIteration as stop:
            outcome: ToolOutcome = stop.value
            return outcome
        value, error = None, None
        try:
            if isinstance(step, ApiCall):
                value = client.call(step.name, step.args, idempotency_key=step.idempotency_key)
            elif isinstance(step, AskApproval):
                value = approver.decide(step.request) if approver else _no_approver(step.request)
            else:
                time.sleep(step.seconds)
        except BillingError as exc:
            error = exc


async def adrive(flow: Flow, client: AsyncBillingClient, approver: Approver | None) -> ToolOutcome:
    """Run a flow asynchronously."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = flow.throw(error) if error is not None else flow.send(value)
        except StopIteration as stop:
            outcome: ToolOutcome = stop.value
            return outcome
        value, error = None, None
        try:
            if isinstance(step, ApiCall):
                value = await client.call(step.name, step.args, idempotency_key=step.idempotency_key)
            elif isinstance(step, AskApproval):
                value = await approver.adecide(step.request) if approver else _no_approver(step.request)
            else:
                await asyncio.sleep(step.seconds)
        except BillingError as exc:
            error = exc
