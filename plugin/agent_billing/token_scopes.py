"""Token scopes derived from a provider's declarations: ``area:read`` / ``area:write`` per tool group.

A provider whose access tokens carry scopes declares each group's scope area with the group
(``Registry.describe_group(..., scope=...)``) and each custom action's operations with the action
(``CustomAction(..., calls=...)``); its package's ``scopes`` part is then a ``ScopeTable`` over them
(``check_scopes``, ``covers``, ``action_scopes`` are what the toolkit reads, see ``tools/actions.py``).
An operation that only reads needs ``area:read``, any other ``area:write``; a custom action needs the
scopes of every operation it may call. Nothing is listed twice, and a group or action without its
declaration is an error, never an action that a token of any scope may call.

Example:
    >>> from pydantic import BaseModel
    >>> from agent_billing.registry import Effect, Registry
    >>> registry = Registry(provider="example", base_path="/v1")
    >>> _ = registry.declare("get_thing", "things", "get", "GET", "/things", BaseModel, BaseModel, Effect.READ, "A thing.")
    >>> registry.describe_group("things", "Things.", scope="stock")
    >>> table = ScopeTable(registry)
    >>> sorted(table.scopes), table.action_scopes("things.get", registry.operations)
    (['stock:read', 'stock:write'], frozenset({'stock:read'}))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from agent_billing.registry import Effect, Operation, Registry

ALL = "*"  # a token without scopes may call everything
LEVELS = ("read", "write")


class ScopeTable:
    """The scopes of one provider's tokens and what each tool action needs, from its declarations.

    ``actions`` returns the provider's custom actions (a callable: they are loaded when first needed, since
    they import the toolkit, which a sandbox enforcing scopes need not load).

    Example:
        >>> from pydantic import BaseModel
        >>> registry = Registry(provider="example", base_path="/v1")
        >>> op = registry.declare("add_thing", "things", "add", "POST", "/things", BaseModel, BaseModel, Effect.WRITE, "Add.")
        >>> registry.describe_group("things", "Things.", scope="stock")
        >>> ScopeTable(registry).operation_scope(op)
        'stock:write'
    """

    def __init__(self, registry: Registry, actions: Callable[[], Sequence[Any]] = tuple) -> None:
        self.registry = registry
        self._actions = actions
        self.scopes: frozenset[str] = frozenset(f"{area}:{level}" for area in registry.group_scopes.values()
                                                for level in LEVELS)

    def operation_scope(self, op: Operation) -> str:
        """The scope a token needs to call ``op``: its group's area, ``:read`` only for an operation that only reads."""
        try:
            area = self.registry.group_scopes[op.group]
        except KeyError:
            raise KeyError(f"group {op.group!r} declares no scope area: "
                           f"describe_group({op.group!r}, ..., scope=...)") from None
        level = "read" if op.effect is Effect.READ and op.effect_for is None else "write"
        return f"{area}:{level}"

    def action_scopes(self, action: str, operations: dict[str, Operation]) -> frozenset[str]:
        """The scopes a tool action (``group.action``) needs: its operation's, or those of a custom action's calls.

        Example:
            >>> from agent_billing.tools.actions import ADVISOR
            >>> ScopeTable(Registry(provider="example", base_path="/v1")).action_scopes(ADVISOR, {})  # reasons only
            frozenset()
        """
        from agent_billing.tools.actions import ADVISOR  # the tools import the providers' parts: not at load

        if action == ADVISOR:
            return frozenset()
        group, _, name = action.partition(".")
        for custom in self._actions():
            if (custom.group, custom.action) == (group, name):
                if custom.calls is None:
                    raise KeyError(f"action {action!r} declares no calls=(...): the operations it may call")
                return frozenset(self.operation_scope(operations[call]) for call in custom.calls)
        for op in operations.values():
            if (op.group, op.action) == (group, name):
                return frozenset({self.operation_scope(op)})
        raise KeyError(f"no action {action!r}")

    def check_scopes(self, scopes: Iterable[str]) -> frozenset[str]:
        """Validate a token's scopes (an unknown one is an error, as a provider refuses it at token creation).

        Example:
            >>> registry = Registry(provider="example", base_path="/v1", group_scopes={"things": "stock"})
            >>> sorted(ScopeTable(registry).check_scopes(["stock:read", "*"]))
            ['*', 'stock:read']
            >>> ScopeTable(registry).check_scopes(["stock:admin"])
            Traceback (most recent call last):
            ...
            ValueError: unknown scope 'stock:admin'; known: *, stock:read, stock:write
        """
        out = frozenset(scopes)
        for scope in sorted(out):
            if scope != ALL and scope not in self.scopes:
                raise ValueError(f"unknown scope {scope!r}; known: {', '.join([ALL, *sorted(self.scopes)])}")
        return out

    @staticmethod
    def covers(granted: frozenset[str], needed: Iterable[str]) -> bool:
        """Whether a token with ``granted`` scopes may do something that needs ``needed``.

        Example:
            >>> ScopeTable.covers(frozenset({"stock:read"}), {"stock:read"}), ScopeTable.covers(frozenset({"*"}), {"x:write"})
            (True, True)
        """
        return ALL in granted or set(needed) <= granted
