"""Acme's token scopes: ``account:read|write`` and ``credits:read|write`` (a token without scopes has ``*``).

Derived from the declarations by the core's ``ScopeTable``: each group's area is declared with the group
(``describe_group(..., scope=...)`` in operations.py), each custom action's operations with the action
(``calls=`` in actions.py). The toolkit reads ``check_scopes``, ``covers`` and ``action_scopes``.

Example:
    >>> sorted(SCOPES)
    ['account:read', 'account:write', 'credits:read', 'credits:write']
    >>> from .operations import REGISTRY
    >>> sorted(action_scopes("credits.refill", REGISTRY.operations))  # it reads the account, then buys
    ['account:read', 'credits:write']
"""

from __future__ import annotations

from agent_billing.token_scopes import ScopeTable

from .operations import REGISTRY


def _actions() -> list[object]:
    from .actions import ACTIONS  # they import the toolkit: loaded when a toolkit asks, not with the scopes

    return list(ACTIONS)


TABLE = ScopeTable(REGISTRY, _actions)
SCOPES = TABLE.scopes
action_scopes, check_scopes, covers = TABLE.action_scopes, TABLE.check_scopes, TABLE.covers
