"""``BillingToolkit``: the billing tools an agent holds, with their guardrails.

One ``StructuredTool`` per operation group of the provider by default (``billing``, ``wallet``,
``invoices``...), or one per operation with ``granularity="operation"``; both generated from the
registry. Nothing touches the network at
construction.

Setup:
    ``pip install agent-billing``; set ``AGENT_BILLING_TOKEN`` (and ``AGENT_BILLING_BASE_URL`` for a
    non-default API), or pass clients. For offline development use the embedded sandbox.

Instantiate:
    >>> from agent_billing.sandbox import create_app
    >>> from agent_billing.inprocess import sandbox_clients
    >>> from agent_billing.audit import MemoryAuditLog
    >>> client, aclient = sandbox_clients(create_app())
    >>> toolkit = BillingToolkit(client=client, async_client=aclient, approval=lambda request: False,
    ...                          audit=MemoryAuditLog())
    >>> [tool.name for tool in toolkit.get_tools()] == list(toolkit.registry.groups()) + ["payment_path"]
    True

Invoke:
    >>> wallet = toolkit.get_tool("wallet")
    >>> import json
    >>> json.loads(wallet.invoke({"action": "balance"}))["result"]
    {'balance': '0.00', 'currency': 'USD'}
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.tools import BaseTool, BaseToolkit
from pydantic import ConfigDict, PrivateAttr, ValidationError

from agent_billing.advisor import TOOL_DESCRIPTION, advise
from agent_billing.audit import AuditLog
from agent_billing.client import AsyncClient, SyncClient, provider_clients
from agent_billing.exchange import validation_error
from agent_billing.guardrails.approval import ApprovalRequest, ApprovalSetting, ConfirmationApprover, resolve_approver
from agent_billing.guardrails.mandate import Mandate
from agent_billing.guardrails.out_of_band import OutOfBandApprover
from agent_billing.guardrails.spend_store import SpendStore
from agent_billing.guardrails.store import StoreUnavailableError, open_store
from agent_billing.provider import get_provider
from agent_billing.receipts import resolve_receipts
from agent_billing.registry import Operation, Registry, get_registry, provider_part
from agent_billing.tools.actions import ADVISOR, allowed_actions
from agent_billing.tools.pipeline import Guard, _refusal
from agent_billing.tools.schemas import (
    bound_notes,
    group_args_model,
    merge_field_schemas,
    model_field_schemas,
    operation_args_model,
    operation_args_model_from,
)
from agent_billing.tools.shaping import error_content
from agent_billing.tools.steps import Flow, ToolOutcome, adrive, drive
from agent_billing.tools.tool import INPUT_SCANNED, BillingTool, make_tool

logger = logging.getLogger("agent_billing.tools")

CONFIRMATION_FIELD = {"type": "string", "description": "from confirmation_required, after the person's yes"}


@dataclass(frozen=True)
class CustomAction:
    """A tool action that is a workflow over several operations (handoff, ensure-funded...).

    ``flow(toolkit, raw_args, tool_call_id)`` returns a flow (see ``steps.py``). ``reads``: the action
    changes nothing in the account (it reads, or opens a portal session that only a person acts in), so
    the ``read_only`` preset offers it and MCP marks it read-only; the default is the cautious False.
    ``destructive`` and ``idempotent`` are its MCP hints; unset, an action is destructive if it is gated
    (it may charge) and idempotent if it only reads.

    Example:
        >>> def flow(toolkit, raw, tool_call_id):
        ...     return ToolOutcome({"ok": True})
        ...     yield
        >>> look = CustomAction("wallet", "look", "Look around.", {}, flow, reads=True)
        >>> pay = CustomAction("wallet", "pay_later", "Pay later.", {}, flow, gated=True)
        >>> look.hints(), pay.hints()
        ((True, False, True), (False, True, False))
    """

    group: str
    action: str
    description: str
    fields: dict[str, dict[str, Any]]
    flow: Callable[[BillingToolkit, dict[str, Any], str | None], Flow]
    gated: bool = False
    # For a gated action: which operation (name, raw arguments) it would run, found with reads only,
    # so the agent middleware can ask the person about that exact charge before the action runs.
    gate: Callable[[BillingToolkit, dict[str, Any]], Generator[Any, Any, tuple[str, dict[str, Any]] | None]] | None = None
    reads: bool = False
    destructive: bool | None = None
    idempotent: bool | None = None
    calls: tuple[str, ...] | None = None  # the operations its flow may call (None: undeclared; token scopes need it)

    def hints(self) -> tuple[bool, bool, bool]:
        """(only reads, destructive, idempotent): what MCP hosts are told about this action."""
        destructive = self.gated if self.destructive is None else self.destructive
        return self.reads, destructive, self.reads if self.idempotent is None else self.idempotent


@dataclass(frozen=True)
class ResolvedCall:
    """A tool call resolved (see ``BillingToolkit.resolve_call``): the operation or custom action it names, its
    arguments without ``action``, and the refusal the tool answers with instead (None: it may run).

    Example:
        >>> ResolvedCall().refusal is None
        True
    """

    op: Operation | None = None
    custom: CustomAction | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    refusal: ToolOutcome | None = None


def _provider_actions(provider: str) -> list[CustomAction] | None:
    module = provider_part(provider, "actions")
    return None if module is None else list(module.ACTIONS)


class BillingToolkit(BaseToolkit):
    """Billing tools with card-data guard, mandates, approvals, idempotency and audit.

    ``approval``: ``"interrupt"`` (LangGraph), a callable ``(ApprovalRequest) -> bool`` (sync or async),
    an ``Approver``, ``"confirmation"`` (single-use tokens, only inside a mandate), or ``None``.
    ``mandate``: a ``Mandate`` (spending policy); with ``auto_approve=True`` calls inside it need no
    person. With neither an approver nor a covering mandate, money-moving calls are refused.
    ``actions``: an allowlist of ``group.action`` names (globs allowed) or a preset (``read_only``,
    ``chatbot``, ``autonomous``, ``full``); ``scopes``: the token's scopes. Other actions are in no
    schema or description and are refused (see ``tools/actions.py``).

    Example:
        >>> BillingToolkit.model_fields["granularity"].default
        'group'
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    client: SyncClient | None = None
    async_client: AsyncClient | None = None
    approval: Any = None
    mandate: Mandate | None = None
    spend_store: Any = None
    audit: Any = None
    pending_outcomes: Any = None
    approval_records: Any = None
    # Where all guardrail state lives: a URL (sqlite:///..., postgresql://...), a store object, or None for
    # $AGENT_BILLING_STORE_URL, unset meaning the state directory's files (see guardrails/store.py).
    store: Any = None
    granularity: Literal["group", "operation"] = "group"
    approve_destructive: bool = True
    provider: str | None = None  # default: the client's provider
    custom_actions: list[CustomAction] | None = None
    product_name: str = "your account"
    handoff_notifier: Callable[[dict[str, Any]], Any] | None = None
    progress: Callable[[str], Any] | None = None
    poll_interval: tuple[float, float] = (3.0, 15.0)
    wait_timeout: float = 300.0
    actions: list[str] | str | None = None
    scopes: list[str] | None = None
    receipts: Any = None  # a ReceiptSigner or ReceiptBook signing each executed money move; None: $AGENT_BILLING_RECEIPT_KEY
    # The agent's name for spend authorities (guardrails/authority.py): set, its money-moving calls need one.
    agent: str | None = None

    _guard: Guard = PrivateAttr()
    _registry: Registry = PrivateAttr()
    _tools: list[BaseTool] = PrivateAttr()
    _memory: dict[str, dict[str, Any]] = PrivateAttr(default_factory=dict)
    _allowed: frozenset[str] = PrivateAttr(default=frozenset())

    def model_post_init(self, context: Any, /) -> None:
        """Resolve the approver and stores; build the tools (no network)."""
        if self.client is None and self.async_client is None:
            raise ValueError("BillingToolkit needs client= and/or async_client= (or use BillingToolkit.from_env())")
        approver = resolve_approver(self.approval)
        account = (self.client or self.async_client).account_id  # type: ignore[union-attr]
        # Explicit parts win; the rest come from the store, opened only when used.
        opened = open_store(self.store)
        state = opened.for_account(account)

        def part(name: str) -> Any:
            return _state_part(opened.name, lambda: getattr(state, name))

        audit: AuditLog = self.audit if self.audit is not None else part("audit")
        store: SpendStore | None = self.spend_store if self.spend_store is not None else \
            (part("spend") if self.mandate is not None else None)
        pending = self.pending_outcomes if self.pending_outcomes is not None else part("pending")
        approvals = self.approval_records if self.approval_records is not None else part("approvals")
        if isinstance(approver, ConfirmationApprover) and self.approval == "confirmation":
            approver.store = part("confirmations")
        if isinstance(approver, OutOfBandApprover):  # its requests live in this toolkit's store, for this account
            approver = approver.bound(part("approval_requests"), account)
        self._registry = get_registry(self.provider) if self.provider else \
            (self.client or self.async_client).registry  # type: ignore[union-attr]
        self._guard = Guard(approver=approver, mandate=self.mandate, spend_store=store, audit=audit,
                            approve_destructive=self.approve_destructive, pending=pending, approvals=approvals,
                            account=account, declined=part("declined"),
                            authorities=part("authorities") if self.agent is not None else None,
                            agent=self.agent, payee=self._registry.provider)
        if self.custom_actions is None:
            # A provider's own actions beyond its operations (``agent_billing.providers.<name>.actions.ACTIONS``).
            self.custom_actions = [c for c in _provider_actions(self._registry.provider) or []
                                   if c.group in self._registry.groups()]
        if self.mandate is not None or self.agent is not None:  # limits to check against: a dry run per gated group
            from agent_billing.tools.check_spend import spend_checks

            self.custom_actions = [*self.custom_actions, *spend_checks(self._registry, self.custom_actions)]
        self._allowed = allowed_actions(self._registry, self.custom_actions, self.actions, self.scopes)
        book = resolve_receipts(self.receipts)  # asked for signing and no key: refuse to start (receipts.py)
        self._guard.receipts = book.for_account(account, self._registry.provider) if book is not None else None
        self._tools = self._build_tools()

    @classmethod
    def from_env(cls, *, approval: ApprovalSetting = None, mandate: Mandate | None = None,
                 provider: str | None = None, **kwargs: Any) -> BillingToolkit:
        """A toolkit whose clients are configured from the provider's variables and ``.env``
        (``AGENT_BILLING_TOKEN`` for the default provider, the variable its connection declares for another)."""
        sync_client, async_client = provider_clients(get_registry(provider))  # the provider's typed clients
        return cls(client=sync_client.from_env(provider=provider),
                   async_client=async_client.from_env(provider=provider), approval=approval, mandate=mandate,
                   provider=provider, **kwargs)

    @property
    def guard(self) -> Guard:
        """The guardrail settings in force (approver, mandate, stores, audit)."""
        return self._guard

    @property
    def registry(self) -> Registry:
        """The registry the tools were generated from."""
        return self._registry

    def allows(self, group: str, action: str) -> bool:
        """Whether this toolkit offers ``group.action`` (its ``actions`` allowlist and token ``scopes``).

        Example:
            >>> from agent_billing.sandbox import create_app
            >>> from agent_billing.inprocess import sandbox_clients
            >>> from agent_billing.audit import MemoryAuditLog
            >>> reader = BillingToolkit(client=sandbox_clients(create_app())[0], actions="read_only",
            ...                         audit=MemoryAuditLog())
            >>> reader.allows("wallet", "balance"), reader.allows("wallet", "fund")
            (True, False)
        """
        return f"{group}.{action}" in self._allowed

    def get_tools(self) -> list[BaseTool]:
        """The tools, one per group (default) or per operation."""
        return list(self._tools)

    def get_tool(self, name: str) -> BaseTool:
        """One tool by name."""
        for tool in self._tools:
            if tool.name == name:
                return tool
        raise KeyError(f"no tool {name!r}; tools: {', '.join(t.name for t in self._tools)}")

    def system_prompt(self, variant: str = "system", language: str = "en") -> str:
        """The system prompt for an agent holding these tools: its provider's prompt, with the same product
        name, mandate and tool names (see ``agent_billing.prompts``).

        Example:
            >>> from agent_billing.sandbox import create_app
            >>> from agent_billing.inprocess import sandbox_clients
            >>> from agent_billing.audit import MemoryAuditLog
            >>> toolkit = BillingToolkit(client=sandbox_clients(create_app())[0], audit=MemoryAuditLog())
            >>> all(tool.name in toolkit.system_prompt("voice", "zh") for tool in toolkit.get_tools()[:2])
            True
        """
        from agent_billing.prompts import load_prompt
        from agent_billing.tools.check_spend import CHECK

        return load_prompt(variant, language, product_name=self.product_name,  # type: ignore[arg-type]
                           mandate=self.mandate, tools=[tool.name for tool in self._tools],
                           provider=self._registry.provider,
                           checks=any(name.endswith(f".{CHECK}") for name in self._allowed))

    # --- what a provider's workflows keep between calls, and the human hand-off's plumbing

    def memory(self, namespace: str) -> dict[str, Any]:
        """A small dict a provider's workflows keep state in between tool calls of this toolkit (what a page
        opened for a person is for, say), one per ``namespace``; it lives as long as the toolkit.

        Example:
            >>> from agent_billing.sandbox import create_app
            >>> from agent_billing.inprocess import sandbox_clients
            >>> from agent_billing.audit import MemoryAuditLog
            >>> toolkit = BillingToolkit(client=sandbox_clients(create_app())[0], audit=MemoryAuditLog())
            >>> toolkit.memory("pages")["page_1"] = "top up"
            >>> toolkit.memory("pages"), toolkit.memory("other")
            ({'page_1': 'top up'}, {})
        """
        return self._memory.setdefault(namespace, {})

    def notify_progress(self, message: str) -> None:
        """Tell the host how a wait is going (``progress`` callback and the LangGraph custom stream)."""
        if self.progress is not None:
            self.progress(message)
        _stream({"agent_billing": "progress", "message": message})

    def deliver_link(self, handoff: dict[str, Any]) -> bool:
        """Hand a payment link to the host so a person sees it; False when nothing delivers links."""
        if self.handoff_notifier is None:
            return False
        self.handoff_notifier(handoff)
        _stream({"agent_billing": "payment_link", **handoff})
        return True

    # --- approvals asked before the tool runs (the agent middleware)

    def middleware(self, *, interrupt_mode: Literal["batched", "per_call"] = "batched") -> Any:
        """The agent middleware that asks a person before this toolkit's gated calls run.

        Use with ``approval="middleware"``: ``create_agent(model, toolkit.get_tools(),
        middleware=[toolkit.middleware()], checkpointer=...)``. By default it interrupts once per model turn
        for the calls that need a person (never for reads, or for calls a mandate covers), showing each
        charge's summary, and takes ``HumanInTheLoopMiddleware``'s batched resume format:
        ``Command(resume={"decisions": [{"type": "approve"}, {"type": "reject"}]})``; with
        ``interrupt_mode="per_call"`` it interrupts once per gated call, answered by interrupt id:
        ``Command(resume={interrupt.id: {"type": "approve"}})``. A gated call then runs only if a yes was
        recorded for that exact tool call and charge; a rejected call is answered with its refusal and the
        model speaks next. Needs ``langchain`` (``pip install 'agent-billing[langchain]'``).

        Example:
            >>> from agent_billing.sandbox import create_app
            >>> from agent_billing.inprocess import sandbox_clients
            >>> from agent_billing.audit import MemoryAuditLog
            >>> gated = BillingToolkit(client=sandbox_clients(create_app())[0], approval="middleware",
            ...                        audit=MemoryAuditLog())
            >>> type(gated.middleware()).__name__
            'BillingApprovalMiddleware'
        """
        from agent_billing.guardrails.approval import MiddlewareApprover
        from agent_billing.tools.middleware import BillingApprovalMiddleware

        if not isinstance(self._guard.approver, MiddlewareApprover):
            # With another approver the person would be asked twice, and the tools would not read these answers.
            raise ValueError("toolkit.middleware() works with BillingToolkit(approval='middleware'); this toolkit "
                             f"asks through {self._guard.approver.describe() if self._guard.approver else 'no approver'}")
        return BillingApprovalMiddleware(self, interrupt_mode=interrupt_mode)

    def approval_request(self, tool_name: str, tool_args: dict[str, Any], tool_call_id: str | None = None) -> Flow:
        """The approval a person must give before this tool call may run, or None (reads only).

        None also when the tool will refuse by itself (card data, forbidden, outside a hard mandate) or a
        mandate approves it alone: nothing to ask. Used by the agent middleware; the flow's outcome
        content is ``{"request": ApprovalRequest | None}``.
        """
        from agent_billing.guardrails.card_data import scan_arguments

        if scan_arguments(tool_args):
            return ToolOutcome({"request": None})
        resolved = self.resolve_call(tool_name, tool_args)
        if resolved.refusal is not None:
            return ToolOutcome({"request": None})  # the tool refuses it by itself
        target: tuple[Operation, dict[str, Any]] | None = None
        if resolved.custom is not None:
            gate = resolved.custom.gate
            found = (yield from gate(self, resolved.raw)) if gate is not None else None
            target = (self._registry.get(found[0]), found[1]) if found is not None else None
        elif resolved.op is not None:
            target = (resolved.op, resolved.raw)
        if target is None:
            return ToolOutcome({"request": None})
        request: ApprovalRequest | None = yield from self._guard.approval_request(*target, tool_call_id)
        return ToolOutcome({"request": request})

    def resolve_call(self, tool_name: str, tool_args: dict[str, Any]) -> ResolvedCall:
        """What a call of one of these tools names: its operation (or custom action) and its arguments without
        ``action``, or the refusal the tool answers with. The one place a tool call is resolved: the run, the
        agent middleware's question and the audit of a refused call all read it.

        Example:
            >>> from agent_billing.sandbox import create_app
            >>> from agent_billing.inprocess import sandbox_clients
            >>> from agent_billing.audit import MemoryAuditLog
            >>> toolkit = BillingToolkit(client=sandbox_clients(create_app())[0], actions="read_only",
            ...                          audit=MemoryAuditLog())
            >>> read = toolkit.resolve_call("wallet", {"action": "balance"})
            >>> read.op.action, read.raw, read.refusal
            ('balance', {}, None)
            >>> toolkit.resolve_call("wallet", {"action": "fund"}).refusal.content["error"]
            'action_not_allowed'
        """
        raw = dict(tool_args)
        if self.granularity == "operation":
            op = self._registry.operations.get(tool_name)
            if op is None or not self.allows(op.group, op.action):
                return ResolvedCall(op=op, raw=raw, refusal=_refusal(tool_name, f"no tool {tool_name!r} here",
                                                                      error="action_not_allowed"))
            return ResolvedCall(op=op, raw=raw)
        action = raw.pop("action", None)
        custom = next((c for c in self.custom_actions or [] if c.group == tool_name and c.action == action), None)
        op = None
        if custom is None:
            try:
                op = self._registry.by_action(tool_name, str(action))
            except KeyError:
                op = None
        refusal: ToolOutcome | None = None
        if not self.allows(tool_name, str(action)):
            refusal = _refusal(str(action), f"action {action!r} is not available here: this toolkit offers only its "
                               "allowed actions (see the tool's description). Do not retry; tell the person it is not "
                               "permitted in this setup.", error="action_not_allowed")
        elif custom is None and op is None:
            refusal = _refusal(str(action), f"unknown action {action!r}", error="validation_error")
        elif op is not None:
            unexpected = sorted(set(raw) - set(op.args.model_fields) - {"confirmation"})
            if unexpected:
                refusal = _refusal(op.name, f"action {action!r} does not take: {', '.join(unexpected)}",
                                   error="validation_error")
        return ResolvedCall(op=op, custom=custom, raw=raw, refusal=refusal)

    # --- running flows

    def run_flow(self, flow: Flow) -> ToolOutcome:
        """Run a flow with the sync client (or the async one, on a private loop)."""
        if self.client is not None:
            return drive(flow, self.client, self._guard.approver)
        assert self.async_client is not None
        return asyncio.run(adrive(flow, self.async_client, self._guard.approver))

    async def arun_flow(self, flow: Flow) -> ToolOutcome:
        """Run a flow with the async client (or the sync one, in a worker thread)."""
        if self.async_client is not None:
            return await adrive(flow, self.async_client, self._guard.approver, inline=not self._guard.blocking)
        from agent_billing.lanes import FLOW_LANE, run_in

        return await run_in(FLOW_LANE, self.run_flow, flow)  # not the loop's default pool: the flow may wait

    # --- building the tools

    def _flow_for(self, name: str) -> Callable[[dict[str, Any], str | None], Flow]:
        def start(raw: dict[str, Any], tool_call_id: str | None) -> Flow:
            resolved = self.resolve_call(name, raw)
            if resolved.refusal is not None:
                return _static(resolved.refusal)
            if resolved.custom is not None:
                return resolved.custom.flow(self, resolved.raw, tool_call_id)
            assert resolved.op is not None  # resolve_call gives an operation, a custom action or a refusal
            # The tool scanned these raw arguments for card data and secrets (``BillingTool.run``).
            return self._guard.operation_flow(resolved.op, resolved.raw, tool_call_id, scanned=INPUT_SCANNED.get())

        return start

    def _make(self, name: str, description: str, schema: type[Any],
              start: Callable[[dict[str, Any], str | None], Flow], op: Operation | None) -> BillingTool:
        def run_sync(raw: dict[str, Any], call_id: str | None) -> tuple[dict[str, Any], bool, dict[str, Any]]:
            try:
                outcome = self.run_flow(start(raw, call_id))
            except Exception as exc:
                outcome = _internal_failure(name, exc)
            return outcome.content, outcome.is_error, outcome.artifact

        async def run_async(raw: dict[str, Any], call_id: str | None) -> tuple[dict[str, Any], bool, dict[str, Any]]:
            try:
                outcome = await self.arun_flow(start(raw, call_id))
            except Exception as exc:
                outcome = _internal_failure(name, exc)
            return outcome.content, outcome.is_error, outcome.artifact

        def refused(what: str) -> Callable[[list[str], Any], None]:
            def record(paths: list[str], tool_input: Any) -> None:
                target = op
                if target is None and name in self._registry.groups():
                    # Attributed to the operation the call names, else to the group's first.
                    named = self.resolve_call(name, tool_input if isinstance(tool_input, dict) else {}).op
                    target = named if named is not None else self._registry.groups()[name][0]
                if target is not None:
                    self._guard.record_refusal(target, what, paths)

            return record

        return make_tool(name=name, description=description, args_schema=schema, run_sync=run_sync,
                         run_async=run_async, on_card_data=refused("card data"), on_secret=refused("a secret"),
                         known_secrets=self._known_secrets, handoff=get_provider(self._registry.provider).handoff)

    def _known_secrets(self) -> list[str]:
        """The access tokens of this toolkit's clients: no tool argument may carry them."""
        return [client._token.get_secret_value() for client in (self.client, self.async_client) if client is not None]

    def _extra_fields(self) -> dict[str, dict[str, Any]]:
        return {"confirmation": CONFIRMATION_FIELD} if isinstance(self._guard.approver, ConfirmationApprover) else {}

    def gated(self, op: Operation) -> bool:
        """Whether calls of ``op`` may need a yes (its effect, or an argument-dependent effect)."""
        return self._guard.needs_approval_for(op.effect) or (op.effect_for is not None)

    def _build_tools(self) -> list[BaseTool]:
        tools: list[BaseTool] = []
        extra = self._extra_fields()
        if self.granularity == "operation":
            for op in self._registry:
                if not self.allows(op.group, op.action):
                    continue
                mark = " Needs approval." if self.gated(op) else ""
                schema = operation_args_model(op, extra_fields=extra if self.gated(op) else None)
                tools.append(self._make(op.name, op.description + mark, schema, self._flow_for(op.name), op))
            return tools
        for group, every in self._registry.groups().items():
            ops = [op for op in every if self.allows(group, op.action)]
            customs = [c for c in self.custom_actions or [] if c.group == group and self.allows(group, c.action)]
            if not ops and not customs:
                continue
            fields: dict[str, dict[str, Any]] = {}
            for custom in customs:
                fields.update(custom.fields)
            if any(self.gated(op) for op in ops):
                fields.update(extra)
            schema = group_args_model(self._registry, group, extra_actions=[c.action for c in customs],
                                      extra_fields=fields, ops=ops)
            tools.append(self._make(group, _group_description(self._registry, group, ops, customs, self.gated),
                                    schema, self._flow_for(group), None))
        if ADVISOR in self._allowed:
            tools.append(self._advisor_tool())
        return tools

    def _advisor_tool(self) -> BillingTool:
        paths = self._registry.advisor
        assert paths is not None  # the advisor is only offered where the provider declares its paths

        def run(raw: dict[str, Any], call_id: str | None) -> tuple[dict[str, Any], bool, dict[str, Any]]:
            try:
                advice = advise(paths.situation.model_validate(raw), paths)
            except ValidationError as exc:
                content = error_content(validation_error(exc, "payment_path"), "payment_path")
                return content, True, {}
            return {"ok": True, **advice.model_dump()}, False, {}

        return make_tool(name="payment_path", description=TOOL_DESCRIPTION,
                         args_schema=operation_args_model_from(paths.situation, name="payment_path"), run_sync=run,
                         run_async=run,
                         known_secrets=self._known_secrets, handoff=get_provider(self._registry.provider).handoff)


def _group_description(registry: Registry, group: str, ops: Iterable[Operation], customs: Iterable[CustomAction],
                       gated: Callable[[Operation], bool]) -> str:
    """The group tool's description: what the group is, then one line per action (``*``: needs approval).

    An action's own bound that the shared schema cannot state (the actions using the field disagree) is
    noted on that action's line, so every bound is said once and only where it is true. Actions whose
    lines would read the same (aliases) share one line.

    Example:
        >>> from agent_billing.registry import get_registry
        >>> registry = get_registry()
        >>> ops = [op for op in registry.groups()["wallet"] if op.action in ("fund", "balance")]
        >>> for line in _group_description(registry, "wallet", ops, [], lambda op: op.effect != "read").split(" | "):
        ...     print(line)
        balance: Current balance.
        fund*: Charge a saved card into the wallet.
        *: approval
    """
    ops, customs = list(ops), list(customs)
    owns = [model_field_schemas([op.args]) for op in ops] + [c.fields for c in customs]
    merged = merge_field_schemas(owns)
    lines = [(op.action, gated(op), op.description) for op in ops] + [(c.action, c.gated, c.description) for c in customs]
    said: dict[str, list[str]] = {}  # what a line says -> the actions that say it, in order
    for (action, star, text), own in zip(lines, owns, strict=True):
        notes = bound_notes(own, merged)
        said.setdefault(f"{text}{' ' + notes if notes else ''}", []).append(f"{action}{'*' if star else ''}")
    items = [f"{', '.join(actions)}: {text}" for text, actions in said.items()]
    head = registry.group_descriptions.get(group, "")
    tail = " | *: approval" if any(star for _, star, _ in lines) else ""
    return (f"{head} " if head else "") + " | ".join(items) + tail


def _stream(event: dict[str, Any]) -> None:
    """Write to LangGraph's custom stream when running inside a graph (no-op elsewhere)."""
    try:
        from langgraph.config import get_stream_writer

        get_stream_writer()(event)
    except Exception:
        pass


def _internal_failure(tool: str, exc: Exception) -> ToolOutcome:
    """A failure inside the toolkit itself: reported to the agent as an error, never raised into the host.

    LangGraph's interrupt and its other control-flow exceptions pass through untouched.
    """
    from agent_billing.tools.steps import bubbles

    if bubbles(exc):
        raise exc
    logger.exception("agent-billing tool %s failed unexpectedly", tool)
    return ToolOutcome({"ok": False, "operation": tool, "error": "internal_error",
                        "message": f"The billing tool failed unexpectedly ({type(exc).__name__}). If this was a charge, "
                                   "its outcome is unknown: check the wallet transactions before anything else, and do "
                                   "not retry with other arguments."}, is_error=True)


class _UnavailablePart:
    """A part of the guardrail state that could not be opened (a corrupt or unreadable file): every use raises
    the typed error naming it, so money-moving calls fail closed while reads, which need no state, still work."""

    def __init__(self, error: StoreUnavailableError) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def unavailable(*args: Any, **kwargs: Any) -> Any:
            raise self.error

        return unavailable


def _state_part(store: str, make: Callable[[], Any]) -> Any:
    """Open one part of the guardrail state; if it cannot be opened, a stand-in that refuses every use.

    Example:
        >>> part = _state_part("state directory /x", lambda: open("/nonexistent/dir/audit.jsonl"))
        >>> part.record("event")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        agent_billing.guardrails.sqlite_state.StoreUnavailableError: the guardrail store state directory /x is ...
    """
    try:
        return make()
    except StoreUnavailableError as exc:
        logger.warning("agent-billing: %s; money-moving calls are refused until it is fixed", exc)
        return _UnavailablePart(exc)
    except (sqlite3.Error, OSError, UnicodeDecodeError) as exc:  # a part not opened through the store helpers
        error = StoreUnavailableError(store, f"{type(exc).__name__}: {exc}")
        logger.warning("agent-billing: %s; money-moving calls are refused until it is fixed", error)
        return _UnavailablePart(error)


def _static(outcome: ToolOutcome) -> Flow:
    return outcome
    yield  # pragma: no cover - makes this a generator
