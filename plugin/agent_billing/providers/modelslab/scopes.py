"""ModelsLab token scopes: which scope each operation and tool action needs.

ModelsLab tokens may be limited to scopes (``billing:read|write``, ``wallet:read|write``,
``subscriptions:read|write``; a token without scopes has ``*``). A call outside them gets 403
``insufficient_scope``. The scope of an operation follows its group, whose area is declared with the group
(``REGISTRY.describe_group(..., scope=...)`` in operations.py); reads need ``:read``, everything else
``:write``. A workflow action needs the scopes of every operation it may call, declared with the action
(``CustomAction(..., calls=...)`` in workflows.py). Nothing is listed here: a new group, operation or action
without its declaration is an error, never an action that any token may call.

Example:
    >>> from agent_billing.providers.modelslab.operations import REGISTRY
    >>> operation_scope(REGISTRY.get("fund_wallet")), operation_scope(REGISTRY.get("list_invoices"))
    ('wallet:write', 'billing:read')
"""

from __future__ import annotations

from collections.abc import Iterable

from agent_billing.providers.modelslab.operations import REGISTRY
from agent_billing.registry import Effect, Operation

LEVELS = ("read", "write")
SCOPES: frozenset[str] = frozenset(f"{area}:{level}" for area in REGISTRY.group_scopes.values() for level in LEVELS)
ALL = "*"


def operation_scope(op: Operation) -> str:
    """The scope a token needs to call ``op``.

    Example:
        >>> from agent_billing.providers.modelslab.operations import REGISTRY
        >>> operation_scope(REGISTRY.get("pause_subscription"))
        'subscriptions:write'
    """
    try:
        area = REGISTRY.group_scopes[op.group]
    except KeyError:
        raise KeyError(f"group {op.group!r} declares no scope area: REGISTRY.describe_group(..., scope=...)") from None
    level = "read" if op.effect is Effect.READ and op.effect_for is None else "write"
    return f"{area}:{level}"


def action_scopes(action: str, operations: dict[str, Operation]) -> frozenset[str]:
    """The scopes a tool action (``group.action``) needs: its operation's, or those of a workflow's operations.

    Example:
        >>> from agent_billing.providers.modelslab.operations import REGISTRY
        >>> sorted(action_scopes("wallet.fund_via_human", REGISTRY.operations))
        ['billing:write']
        >>> sorted(action_scopes("coupons.validate", REGISTRY.operations))
        ['wallet:read']
        >>> action_scopes("payment_path.advise", REGISTRY.operations)  # the advisor only reasons: no call
        frozenset()
    """
    from agent_billing.providers.modelslab.actions import ACTIONS  # the workflows import the toolkit: not at load
    from agent_billing.tools.actions import ADVISOR

    if action == ADVISOR:
        return frozenset()
    group, _, name = action.partition(".")
    for custom in ACTIONS:
        if (custom.group, custom.action) == (group, name):
            if custom.calls is None:
                raise KeyError(f"action {action!r} declares no calls=(...): the operations it may call")
            return frozenset(operation_scope(operations[call]) for call in custom.calls)
    for op in operations.values():
        if op.group == group and op.action == name:
            return frozenset({operation_scope(op)})
    raise KeyError(f"no action {action!r}")


def check_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """Validate a token's scopes (an unknown one is an error, as ModelsLab's 422 at token creation).

    Example:
        >>> sorted(check_scopes(["wallet:read", "billing:read"]))
        ['billing:read', 'wallet:read']
        >>> check_scopes(["wallet:admin"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: unknown scope 'wallet:admin'; known: *, billing:read, billing:write, ...
    """
    out = frozenset(scopes)
    for scope in sorted(out):
        if scope != ALL and scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}; known: {', '.join([ALL, *sorted(SCOPES)])}")
    return out


def covers(granted: frozenset[str], needed: Iterable[str]) -> bool:
    """Whether a token with ``granted`` scopes may do something that needs ``needed``.

    Example:
        >>> covers(frozenset({"wallet:read"}), {"wallet:read"}), covers(frozenset({"*"}), {"wallet:write"})
        (True, True)
    """
    return ALL in granted or set(needed) <= granted
