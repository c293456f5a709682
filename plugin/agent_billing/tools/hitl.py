"""LangChain 1.x ``HumanInTheLoopMiddleware`` configuration that gates only the money-moving tools.

The middleware decides per tool name, before the tool runs, and cannot look at the ``action``; so a
group tool that holds a money-moving action is gated whole (reads in that group are asked about too).
With ``granularity="operation"`` exactly the money-moving operations are gated. Decisions are
approve or reject only: an edited amount would be a charge nobody approved.

Example:
    >>> from agent_billing.sandbox import create_app
    >>> from agent_billing.inprocess import sandbox_clients
    >>> from agent_billing.audit import MemoryAuditLog
    >>> from agent_billing.tools import BillingToolkit
    >>> client, _ = sandbox_clients(create_app())
    >>> toolkit = BillingToolkit(client=client, approval="middleware", granularity="operation", audit=MemoryAuditLog())
    >>> sorted(interrupt_on(toolkit))[:3]
    ['charge_subscription_amount', 'create_subscription', 'disable_auto_funding']
"""

from __future__ import annotations

from typing import Any

from agent_billing.tools.toolkit import BillingToolkit


def _describe(tool_call: Any, state: Any = None, runtime: Any = None) -> str:
    args = tool_call.get("args", {}) if isinstance(tool_call, dict) else {}
    shown = ", ".join(f"{k}={v}" for k, v in args.items())
    return f"Billing action {tool_call.get('name') if isinstance(tool_call, dict) else ''}({shown}) may move money."


def interrupt_on(toolkit: BillingToolkit) -> dict[str, Any]:
    """``interrupt_on`` for ``HumanInTheLoopMiddleware``: every tool that can move money, approve/reject only.

    Pair it with ``BillingToolkit(approval="middleware")`` so the tools accept the middleware's yes.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.inprocess import sandbox_clients
        >>> from agent_billing.audit import MemoryAuditLog
        >>> toolkit = BillingToolkit(client=sandbox_clients(create_app())[0], approval="middleware", audit=MemoryAuditLog())
        >>> sorted(interrupt_on(toolkit))
        ['coupons', 'payment_methods', 'subscriptions', 'wallet']
    """
    gated: dict[str, Any] = {}
    groups = toolkit.registry.groups()
    for tool in toolkit.get_tools():
        if tool.name in groups:
            ops = groups[tool.name]
            customs = [c for c in toolkit.custom_actions or [] if c.group == tool.name and c.gated]
            needs = bool(customs) or any(toolkit.gated(op) for op in ops)
        elif tool.name in toolkit.registry.operations:
            needs = toolkit.gated(toolkit.registry.get(tool.name))
        else:
            needs = False
        if needs:
            gated[tool.name] = {"allowed_decisions": ["approve", "reject"], "description": _describe}
    return gated
