"""ModelsLab token scopes: which scope each operation and tool action needs.

ModelsLab tokens may be limited to scopes (``billing:read|write``, ``wallet:read|write``,
``subscriptions:read|write``; a token without scopes has ``*``). A call outside them gets 403
``insufficient_scope``. The scope of an operation follows its group, whose area is declared with the group
(``REGISTRY.describe_group(..., scope=...)`` in operations.py); reads need ``:read``, everything else
``:write``. A workflow action needs the scopes of every operation it may call, declared with the action
(``CustomAction(..., calls=...)`` in workflows.py); ``agent_billing.token_scopes.ScopeTable`` derives the
rest. Nothing is listed here: a new group, operation or action without its declaration is an error, never
an action that any token may call.

Example:
    >>> from agent_billing.providers.modelslab.operations import REGISTRY
    >>> operation_scope(REGISTRY.get("fund_wallet")), operation_scope(REGISTRY.get("list_invoices"))
    ('wallet:write', 'billing:read')
    >>> sorted(action_scopes("wallet.fund_via_human", REGISTRY.operations))  # a workflow: its calls' scopes
    ['billing:write']
    >>> check_scopes(["wallet:admin"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown scope 'wallet:admin'; known: *, billing:read, billing:write, ...
"""

from __future__ import annotations

from agent_billing.providers.modelslab.operations import REGISTRY
from agent_billing.token_scopes import ALL, ScopeTable


def _actions() -> list[object]:
    from agent_billing.providers.modelslab.actions import ACTIONS  # the workflows import the toolkit: not at load

    return list(ACTIONS)


TABLE = ScopeTable(REGISTRY, _actions)
SCOPES = TABLE.scopes
operation_scope, action_scopes, check_scopes, covers = (TABLE.operation_scope, TABLE.action_scopes,
                                                        TABLE.check_scopes, TABLE.covers)

__all__ = ["ALL", "SCOPES", "TABLE", "action_scopes", "check_scopes", "covers", "operation_scope"]
