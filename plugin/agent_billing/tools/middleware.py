"""The toolkit's agent middleware: a person approves each gated call before it runs, fail-closed.

LangChain's ``HumanInTheLoopMiddleware`` decides by tool name and shows raw arguments. A billing
toolkit needs more: one group tool holds reads and charges, the person must see the charge as it will
run (the card actually charged, the plan's price), and a yes must count for that charge only. So this
middleware, after each model turn, asks the toolkit which of the turn's tool calls need a person (a
balance read never does; neither does a call carrying card data, which the tool refuses, nor a call a
mandate covers), interrupts once with their redacted summaries, and records each decision under the
tool call's id, bound to the digest of the intent that was shown. The tool itself, with
``approval="middleware"``, runs a gated call only if such a yes exists for that exact call and intent,
and refuses (naming this middleware) when there is none: leaving the middleware out moves nothing.

The interrupt values and resume formats are ``HumanInTheLoopMiddleware``'s, in both of its modes:

- ``interrupt_mode="batched"`` (default): one interrupt per model turn,
  ``{"action_requests": [{"name", "args", "description"}], "review_configs": [...]}``, answered with
  ``Command(resume={"decisions": [{"type": "approve"} | {"type": "reject", "message": ...}]})``, one
  decision per request, in order;
- ``interrupt_mode="per_call"``: one interrupt per gated call as it starts,
  ``{"type": "tool_approval", "tool_call_id", "name", "args", "description"}``, each answered by its
  interrupt id: ``Command(resume={interrupt.id: {"type": "approve"}, ...})``.

Only approve and reject are allowed: an edited amount would be a charge nobody approved, so any other
answer counts as a reject. A rejected call keeps its place in the model's message and is answered by a
tool message carrying the refusal, as LangChain's middleware does: every ``tool_calls`` id has exactly
one answer (what OpenAI's and Anthropic's APIs require of a history), and the model then gets its turn
to speak to the person.

Example:
    >>> from agent_billing.sandbox import create_app
    >>> from agent_billing.inprocess import sandbox_clients
    >>> from agent_billing.audit import MemoryAuditLog
    >>> from agent_billing.tools import BillingToolkit
    >>> toolkit = BillingToolkit(client=sandbox_clients(create_app())[0], approval="middleware", audit=MemoryAuditLog())
    >>> isinstance(toolkit.middleware(), BillingApprovalMiddleware)
    True
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

try:
    from langchain.agents.middleware import AgentMiddleware
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("toolkit.middleware() needs LangChain 1.x agents: pip install 'agent-billing[langchain]'") from exc
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.types import Command, interrupt

from agent_billing.guardrails.approval import ApprovalRequest

if TYPE_CHECKING:
    from agent_billing.tools.toolkit import BillingToolkit

APPROVER = "person (agent middleware)"


class BillingApprovalMiddleware(AgentMiddleware):
    """Asks a person about the gated calls of each model turn; see the module docstring.

    Example:
        >>> BillingApprovalMiddleware.__mro__[1].__name__
        'AgentMiddleware'
    """

    def __init__(self, toolkit: BillingToolkit, *, interrupt_mode: Literal["batched", "per_call"] = "batched") -> None:
        super().__init__()
        if interrupt_mode not in ("batched", "per_call"):
            raise ValueError(f"interrupt_mode must be 'batched' or 'per_call', not {interrupt_mode!r}")
        self._toolkit = toolkit
        self.interrupt_mode = interrupt_mode

    @property
    def name(self) -> str:
        """Middleware name (unique within an agent)."""
        return "BillingApprovalMiddleware"

    def after_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """After the model's turn: ask about its gated calls, record the decisions, answer the rejected ones."""
        turn = _last_turn(state)
        if turn is None or self.interrupt_mode == "per_call":
            return None
        gated = [(call, self._toolkit.run_flow(self._toolkit.approval_request(call["name"], call.get("args") or {},
                                                                              call["id"])))
                 for call in turn.tool_calls if call.get("id")]
        asks = self._shown([(call, outcome.content["request"]) for call, outcome in gated])
        if not asks:
            return None
        return self._settle(turn, asks, _interrupt(asks))

    async def aafter_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Async form of ``after_model``: the approval store is written off the event loop."""
        turn = _last_turn(state)
        if turn is None or self.interrupt_mode == "per_call":
            return None
        gated = []
        for call in turn.tool_calls:
            if call.get("id"):
                outcome = await self._toolkit.arun_flow(self._toolkit.approval_request(call["name"],
                                                                                       call.get("args") or {},
                                                                                       call["id"]))
                gated.append((call, outcome.content["request"]))
        asks = await asyncio.to_thread(self._shown, gated)
        if not asks:
            return None
        answer = _interrupt(asks)  # on the loop: LangGraph's interrupt belongs to the running task
        return await asyncio.to_thread(self._settle, turn, asks, answer)

    def _shown(self, gated: list[tuple[Any, ApprovalRequest | None]]) -> list[tuple[Any, ApprovalRequest]]:
        """The calls to ask about; records the digest each one shows (a store write)."""
        asks = [(call, request) for call, request in gated if request is not None]
        guard = self._toolkit.guard
        now = guard._now()
        for _, request in asks:
            assert request.approval_id is not None and request.intent_digest is not None
            # LangGraph re-runs this step on resume: the first digest shown is the one the answer is about.
            guard.approvals.shown(request.approval_id, request.intent_digest, now=now)
        return asks

    def _settle(self, turn: AIMessage, asks: list[tuple[Any, ApprovalRequest]], answer: Any) -> dict[str, Any] | None:
        """Record the person's decisions (store writes) and answer each rejected call with its refusal.

        The rejected calls stay in the turn: the agent loop runs only calls without an answer, so they do
        not run, and the history keeps each ``tool_calls`` id paired with exactly one tool message.
        """
        decisions = answer.get("decisions") if isinstance(answer, dict) else None
        if not isinstance(decisions, list) or len(decisions) != len(asks):
            raise ValueError(f"expected {len(asks)} decision(s) in {{'decisions': [...]}}, got {answer!r:.200}")
        rejected = [refusal for (call, request), decision in zip(asks, decisions, strict=True)
                    if (refusal := self._decide(call, request, decision)) is not None]
        return {"messages": rejected} if rejected else None

    def _decide(self, call: Any, request: ApprovalRequest, decision: Any) -> ToolMessage | None:
        """Record one decision (a store write); a rejection's tool message, or None for a yes."""
        guard = self._toolkit.guard
        approved = isinstance(decision, dict) and decision.get("type") == "approve"
        assert request.approval_id is not None
        if approved:
            guard.approvals.decide(request.approval_id, approved=True, approver=APPROVER, now=guard._now())
            return None
        # A rejected call never runs, so nothing would clear its record: drop it now, or a later call that
        # reuses the tool-call id (some models number their calls) would meet this old answer.
        guard.approvals.forget(request.approval_id)
        return self._rejection(call, request, decision)

    # --- per-call mode: one interrupt per gated call, as it starts

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], ToolMessage | Command[Any]],
                       ) -> ToolMessage | Command[Any]:
        """In ``per_call`` mode: ask about this call (if it is gated) before it runs; else just run it."""
        if self.interrupt_mode == "per_call":
            call = request.tool_call
            outcome = self._toolkit.run_flow(self._toolkit.approval_request(call["name"], call.get("args") or {},
                                                                            call.get("id")))
            refusal = self._ask_one(call, self._shown([(call, outcome.content["request"])]))
            if refusal is not None:
                return refusal
        return handler(request)

    async def awrap_tool_call(self, request: Any, handler: Callable[[Any], Awaitable[ToolMessage | Command[Any]]],
                              ) -> ToolMessage | Command[Any]:
        """Async form of ``wrap_tool_call``: the flow's reads and the store writes stay off the event loop."""
        if self.interrupt_mode == "per_call":
            call = request.tool_call
            outcome = await self._toolkit.arun_flow(self._toolkit.approval_request(call["name"], call.get("args") or {},
                                                                                   call.get("id")))
            asks = await asyncio.to_thread(self._shown, [(call, outcome.content["request"])])
            if asks:
                answer = _interrupt_one(call, asks[0][1])  # on the loop: the interrupt belongs to the running task
                refusal = await asyncio.to_thread(self._decide, call, asks[0][1], answer)
                if refusal is not None:
                    return refusal
        return await handler(request)

    def _ask_one(self, call: Any, asks: list[tuple[Any, ApprovalRequest]]) -> ToolMessage | None:
        if not asks:
            return None
        (_, request), = asks
        return self._decide(call, request, _interrupt_one(call, request))

    def _rejection(self, call: Any, request: ApprovalRequest, decision: Any) -> ToolMessage:
        operation = self._toolkit.registry.get(request.operation)
        self._toolkit.guard.remember_rejection(operation, _operation_args(call, operation.action),
                                               digest=request.intent_digest)
        reason = decision.get("message") if isinstance(decision, dict) else None
        content = {"ok": False, "operation": request.operation, "error": "rejected",
                   "message": "The person declined. Nothing was charged. Do not retry this request.",
                   "summary": request.summary}
        if isinstance(reason, str) and reason:
            content["reason"] = reason[:500]
        return ToolMessage(content=json.dumps(content, ensure_ascii=False), name=call["name"], tool_call_id=call["id"],
                           status="error")


def _interrupt(asks: list[tuple[Any, ApprovalRequest]]) -> Any:
    """One interrupt for the turn's gated calls, in ``HumanInTheLoopMiddleware``'s format; returns the answer."""
    return interrupt({
        "action_requests": [{"name": call["name"], "args": request.arguments, "description": request.summary}
                            for call, request in asks],
        "review_configs": [{"action_name": call["name"], "allowed_decisions": ["approve", "reject"]}
                           for call, _ in asks],
        "agent_billing": [request.model_dump(mode="json", exclude={"approval_id", "idempotency_key"})
                          for _, request in asks],
    })


def _interrupt_one(call: Any, request: ApprovalRequest) -> Any:
    """One call's interrupt, in ``HumanInTheLoopMiddleware``'s per-call format; returns the answer."""
    return interrupt({
        "type": "tool_approval", "tool_call_id": call["id"], "name": call["name"], "args": request.arguments,
        "description": request.summary, "allowed_decisions": ["approve", "reject"],
        "agent_billing": request.model_dump(mode="json", exclude={"approval_id", "idempotency_key"}),
    })


def _last_turn(state: Any) -> AIMessage | None:
    messages = state.get("messages") if isinstance(state, dict) else getattr(state, "messages", None)
    if not messages:
        return None
    last = messages[-1]
    return last if isinstance(last, AIMessage) and last.tool_calls else None


def _operation_args(call: Any, action: str) -> dict[str, Any]:
    args = dict(call.get("args") or {})
    if args.get("action") == action:
        args.pop("action")
    return args
