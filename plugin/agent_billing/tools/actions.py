"""Least privilege: which tool actions a toolkit offers (``BillingToolkit(actions=..., scopes=...)``).

Actions are named ``group.action`` (``wallet.fund``, ``payment_path.advise``).
``actions`` is a preset name or a list of names, globs (``fnmatch``: ``wallet.*``) and presets:

- ``read_only``: everything that only reads (and the payment-path advisor): operations whose effect is
  read, and a provider's custom actions declared ``reads=True``;
- ``chatbot``: reads plus the provider's hand-off to a person (the page a person pays on, and the wait
  for it, as its ``HandOff`` names them), without the path advisor;
- ``autonomous``: reads plus the provider's routine money moves (a wallet top-up, a retried payment),
  meant for use within a mandate;
- ``full``: every action (the default).

What ``chatbot`` and ``autonomous`` add is the provider's declaration (``Registry.presets``).

``scopes`` are the access token's scopes: actions the token cannot call are left out too. Actions
outside the result appear in no schema or description, and a call naming one is refused.

Example:
    >>> provider = get_provider()
    >>> chosen = allowed_actions(provider.registry, provider.part("actions").ACTIONS, "chatbot")
    >>> provider.handoff.call().replace(" action=", ".") in chosen, "wallet.fund" in chosen, "wallet.balance" in chosen
    (True, False, True)
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Any

from agent_billing.provider import get_provider
from agent_billing.registry import Effect, Registry

ADVISOR = "payment_path.advise"
PRESETS = ("read_only", "chatbot", "autonomous", "full")


def action_names(registry: Registry, custom_actions: Iterable[Any]) -> dict[str, bool]:
    """Every tool action as ``group.action`` -> whether it only reads (the advisor included).

    Example:
        >>> from agent_billing.registry import get_registry
        >>> names = action_names(get_registry(), [])
        >>> names["wallet.balance"], names["wallet.fund"], names[ADVISOR]
        (True, False, True)
    """
    names = {f"{op.group}.{op.action}": op.effect is Effect.READ and op.effect_for is None for op in registry}
    groups = registry.groups()
    names.update({f"{c.group}.{c.action}": c.reads for c in custom_actions if c.group in groups})
    if registry.advisor:
        names[ADVISOR] = True
    return names


def allowed_actions(registry: Registry, custom_actions: Iterable[Any], actions: list[str] | str | None = None,
                    scopes: Iterable[str] | None = None) -> frozenset[str]:
    """The ``group.action`` names a toolkit offers, from an allowlist or preset and the token's scopes.

    A name or glob that matches nothing is an error (a typo must not silently hide or show actions).

    Example:
        >>> from agent_billing.registry import get_registry
        >>> sorted(allowed_actions(get_registry(), [], ["wallet.b*", "coupons.validate"]))
        ['coupons.validate', 'wallet.balance']
        >>> sorted(allowed_actions(get_registry(), [], "read_only", scopes=["wallet:read"]))[:3]
        ['coupons.validate', 'payment_path.advise', 'wallet.balance']
        >>> allowed_actions(get_registry(), [], ["wallet.fnud"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: actions: 'wallet.fnud' matches no action; use group.action names, globs, or a preset (...)
    """
    names = action_names(registry, custom_actions)
    items = [actions] if isinstance(actions, str) else list(actions) if actions is not None else ["full"]
    chosen: set[str] = set()
    for item in (part.strip() for entry in items for part in entry.split(",")):
        if not item:
            continue
        if item in PRESETS:
            chosen.update(name for name, reads in names.items() if reads)
            patterns = ("*",) if item == "full" else registry.presets.get(item, ())
            chosen.update(name for name in names for pattern in patterns if fnmatchcase(name, pattern))
            if item == "chatbot":
                # A chatbot's path is always the hand-off to a person: the path advisor would only cost tokens.
                chosen.discard(ADVISOR)
            continue
        matched = {name for name in names if fnmatchcase(name, item)}
        if not matched:
            raise ValueError(f"actions: {item!r} matches no action; use group.action names, globs, or a "
                             f"preset ({', '.join(PRESETS)})")
        chosen |= matched
    if scopes is not None:
        chosen = {name for name in chosen if _scope_allows(registry, name, scopes)}
    return frozenset(chosen)


def _scope_allows(registry: Registry, name: str, scopes: Iterable[str]) -> bool:
    # The scope table belongs to the provider (its package's ``scopes`` part); the core names no provider.
    table = get_provider(registry.provider).part("scopes")
    if table is None:
        raise ValueError(f"provider {registry.provider!r} declares no token scopes; leave scopes= unset")
    from agent_billing.tools.check_spend import CHECK  # it imports the guard, which imports the tools' parts

    granted = table.check_scopes(scopes)
    group, _, action = name.partition(".")
    if action == CHECK:
        # The dry run moves nothing; it makes the reads its group's charges resolve their intents with.
        needed = {table.operation_scope(op).rsplit(":", 1)[0] + ":read" for op in registry.groups()[group]}
    else:
        needed = set(table.action_scopes(name, registry.operations))
    allowed: bool = table.covers(granted, needed)
    return allowed
