"""MCP tool annotations of the billing tools, derived from the effects of the actions each tool offers.

Hosts use the hints to decide what to confirm, so they must not understate: a group tool holding any
mutation is not read-only; a tool that can charge, pay out, authorise future charges, remove or pause
is destructive; a tool is idempotent only when repeating any of its actions with the same arguments is
harmless (reads, PUT/DELETE changes that move no money, and waiting for a payment). Every tool that
calls the billing API is open-world; the payment-path advisor computes locally and is not.

Example:
    >>> from agent_billing.sandbox import create_app
    >>> from agent_billing.inprocess import sandbox_clients
    >>> from agent_billing.audit import MemoryAuditLog
    >>> from agent_billing.tools import BillingToolkit
    >>> toolkit = BillingToolkit(client=sandbox_clients(create_app())[0], audit=MemoryAuditLog())
    >>> hints = tool_annotations(toolkit, "wallet")
    >>> hints.title, hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint, hints.open_world_hint
    ('Wallet: balance, top-ups, payouts', False, True, False, True)
"""

from __future__ import annotations

from mcp.types import ToolAnnotations

from agent_billing.registry import Effect, Operation
from agent_billing.tools import BillingToolkit

ADVISOR_TITLE = "Payment path advisor"
LOCAL_TOOLS = frozenset({"payment_path"})  # computed here, no API call


def operation_hints(op: Operation) -> tuple[bool, bool, bool]:
    """(only reads, destructive, idempotent) of one operation.

    Example:
        >>> [operation_hints(example_registry.get(name)) for name in ("read_entries", "pay_out", "top_up")]
        [(True, False, True), (False, True, False), (False, True, False)]
    """
    may_charge = op.effect_for is not None
    reads = op.effect is Effect.READ and not may_charge
    destructive = may_charge or op.effect in (Effect.CHARGE, Effect.AUTHORIZE, Effect.PAYOUT, Effect.DESTRUCTIVE)
    idempotent = reads or (op.method in ("PUT", "DELETE") and not op.effect.moves_money and not may_charge)
    return reads, destructive, idempotent


def tool_annotations(toolkit: BillingToolkit, tool_name: str) -> ToolAnnotations:
    """The annotations of one of ``toolkit``'s tools (a group, an operation, or the advisor).

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.inprocess import sandbox_clients
        >>> from agent_billing.audit import MemoryAuditLog
        >>> reader = BillingToolkit(client=sandbox_clients(create_app())[0], actions="read_only",
        ...                         audit=MemoryAuditLog())
        >>> tool_annotations(reader, "wallet").read_only_hint  # only the reads are offered
        True
    """
    registry = toolkit.registry
    if tool_name in LOCAL_TOOLS:
        return ToolAnnotations(title=ADVISOR_TITLE, read_only_hint=True, destructive_hint=False,
                               idempotent_hint=True, open_world_hint=False)
    if tool_name in registry.operations:
        op = registry.operations[tool_name]
        hints = [operation_hints(op)]
        title = op.name.replace("_", " ").capitalize()
    else:
        hints = [operation_hints(op) for op in registry.groups()[tool_name] if toolkit.allows(tool_name, op.action)]
        hints += [c.hints() for c in toolkit.custom_actions or []
                  if c.group == tool_name and toolkit.allows(c.group, c.action)]
        title = registry.group_title(tool_name)
    read_only = all(h[0] for h in hints)
    return ToolAnnotations(title=title, read_only_hint=read_only, destructive_hint=any(h[1] for h in hints),
                           idempotent_hint=all(h[2] for h in hints), open_world_hint=True)
