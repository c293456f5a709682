"""ModelsLab token scopes: which scope each operation and tool action needs.

ModelsLab tokens may be limited to scopes (``billing:read|write``, ``wallet:read|write``,
``subscriptions:read|write``; a token without scopes has ``*``). A call outside them gets 403
``insufficient_scope``. The scope of an operation follows its group: billing, payment methods,
invoices and payment links are ``billing``, the wallet and coupons ``wallet``, subscriptions
``subscriptions``; reads need ``:read``, everything else ``:write``.

Example:
    >>> from agent_billing.providers.modelslab.operations import REGISTRY
    >>> operation_scope(REGISTRY.get("fund_wallet")), operation_scope(REGISTRY.get("list_invoices"))
    ('wallet:write', 'billing:read')
"""

from __future__ import annotations

from collections.abc import Iterable

from agent_billing.registry import Effect, Operation

SCOPES: frozenset[str] = frozenset(f"{area}:{level}" for area in ("billing", "wallet", "subscriptions")
                                   for level in ("read", "write"))
ALL = "*"

_AREA = {"billing": "billing", "payment_methods": "billing", "invoices": "billing", "payment_links": "billing",
         "wallet": "wallet", "coupons": "wallet", "subscriptions": "subscriptions"}

# The workflow actions (workflows.py) are not operations: they need the scopes of every operation
# they may call (ensure_funded may read the cards and fall back to a payment link).
WORKFLOW_OPERATIONS: dict[str, tuple[str, ...]] = {
    "payment_links.handoff": ("create_payment_link",),
    "payment_links.wait": ("confirm_wallet_checkout", "confirm_subscription_checkout"),
    "wallet.ensure_funded": ("get_wallet_balance", "list_payment_methods", "fund_wallet", "create_payment_link"),
    "wallet.fund_via_human": ("create_payment_link", "confirm_wallet_checkout"),
    "payment_path.advise": (),
}


def operation_scope(op: Operation) -> str:
    """The scope a token needs to call ``op``.

    Example:
        >>> from agent_billing.providers.modelslab.operations import REGISTRY
        >>> operation_scope(REGISTRY.get("pause_subscription"))
        'subscriptions:write'
    """
    level = "read" if op.effect is Effect.READ and op.effect_for is None else "write"
    return f"{_AREA[op.group]}:{level}"


def action_scopes(action: str, operations: dict[str, Operation]) -> frozenset[str]:
    """The scopes a tool action (``group.action``) needs: its operation's, or those of a workflow's operations.

    Example:
        >>> from agent_billing.providers.modelslab.operations import REGISTRY
        >>> sorted(action_scopes("wallet.fund_via_human", REGISTRY.operations))
        ['billing:write']
        >>> sorted(action_scopes("coupons.validate", REGISTRY.operations))
        ['wallet:read']
    """
    if action in WORKFLOW_OPERATIONS:
        return frozenset(operation_scope(operations[name]) for name in WORKFLOW_OPERATIONS[action])
    group, _, name = action.partition(".")
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
