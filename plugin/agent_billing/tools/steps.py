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
    """Call an operation through the client (errors are thrown back into the flow).

    Example:
        >>> call = ApiCall("fund_wallet", {"amount": "25"}, idempotency_key="k1")
        >>> call.name, call.idempotency_key
        ('fund_wallet', 'k1')
    """

    name: str
    args: Mapping[str, Any] | BaseModel
    idempotency_key: str | None = None


@dataclass(frozen=True)
class AskApproval:
    """Ask the configured approver; the flow receives an ``ApprovalDecision``.

    Example:
        >>> step = AskApproval(ApprovalRequest(operation="withdraw", effect="payout", summary="Pay out $50.00"))
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


Step = ApiCall | AskApproval | Sleep


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


def drive(flow: Flow, client: BillingClient, approver: Approver | None) -> ToolOutcome:
    """Run a flow synchronously.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.inprocess import sandbox_clients
        >>> def balance_flow():
        ...     result = yield ApiCall("get_wallet_balance", {})
        ...     return ToolOutcome({"ok": True, "balance": str(result.balance)})
        >>> drive(balance_flow(), sandbox_clients(create_app())[0], approver=None).content
        {'ok': True, 'balance': '0.00'}
    """
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
    """Run a flow asynchronously.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.inprocess import sandbox_clients
        >>> def balance_flow():
        ...     result = yield ApiCall("get_wallet_balance", {})
        ...     return ToolOutcome({"ok": True, "balance": str(result.balance)})
        >>> asyncio.run(adrive(balance_flow(), sandbox_clients(create_app())[1], approver=None)).content
        {'ok': True, 'balance': '0.00'}
    """
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
