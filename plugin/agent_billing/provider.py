"""The provider: one object per provider package, and the only thing the core reads of a provider.

A provider package (built in, or installed as its own distribution under the ``agent_billing.providers``
entry-point group) exposes ``PROVIDER = Provider(...)`` in its ``__init__``. Everything else it declares
lives in modules of that package, found through the object, never through a path the core spells out:

- ``operations.REGISTRY``: its operations, wire conventions and connection (``agent_billing.registry``);
- ``actions.ACTIONS``: tool actions beyond the operations (workflows, hand-offs);
- ``prompt.FACTS``: what its system prompts say (``agent_billing.prompts.PromptFacts``);
- ``scopes``: its least-privilege action sets;
- ``client``: its typed clients (named in ``clients``).

What is small and declarative sits on the object itself: the user-facing title, the hand-off that gives a
person a page (``HandOff``) and the result fields that are receipts.

Example:
    >>> from agent_billing.provider import default_provider, get_provider
    >>> p = get_provider(default_provider())
    >>> p.name == p.registry.provider == default_provider(), p.part("no_such_part")
    (True, None)
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import entry_points
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent_billing.registry import Registry

ENTRY_POINT_GROUP = "agent_billing.providers"


@dataclass(frozen=True)
class HandOff:
    """How this provider gives a person a page for what the agent may not do itself.

    ``group`` and ``action`` name the tool action that creates the page; ``wait_action`` the action of the
    same tool that waits for the person (None: the provider has no wait); ``unpaid_code`` the error code
    meaning "the person has not paid yet" (None: none). Every text an agent reads about handing over to a
    person is built from these, so an agent is only ever told to call a tool it has.

    Example:
        >>> h = HandOff(group="billing", action="checkout", wait_action="wait")
        >>> h.call(), h.call(wait=True)
        ('billing action=checkout', 'billing action=wait')
    """

    group: str
    action: str
    wait_action: str | None = None
    unpaid_code: str | None = None
    expired_code: str | None = None  # the error code meaning "the page expired unpaid" (None: none)
    # Result fields that hold a page's URL, each with the purpose it implies (None: the result's own ``purpose``),
    # and the field with the page's id, which the wait action takes under the same name (None: no page in results).
    page_fields: tuple[tuple[str, str | None], ...] = ()
    page_id_field: str | None = None

    def call(self, *, wait: bool = False) -> str:
        """The tool call, as an agent is told to make it (``group action=...``)."""
        if wait and self.wait_action is None:
            raise ValueError(f"the {self.group} hand-off has no wait action")
        return f"{self.group} action={self.wait_action if wait else self.action}"


@dataclass(frozen=True)
class Provider:
    """One billing provider, as the core sees it.

    ``package`` is the module its parts live in (``f"{package}.operations"`` and so on); ``title`` the
    name people read; ``receipt_fields`` the result keys whose values are the provider's receipts (kept in
    the audit record of a success); ``clients`` the names of its typed sync and async clients in
    ``f"{package}.client"``.

    Example:
        >>> p = Provider(name="example_co", package="agent_billing.providers.example_co_missing")
        >>> p.title, p.handoff, p.part("actions")
        ('example_co', None, None)
    """

    name: str
    package: str
    title: str = ""
    handoff: HandOff | None = None
    receipt_fields: tuple[str, ...] = ("id",)
    clients: tuple[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not self.title:
            object.__setattr__(self, "title", self.name)

    def part(self, name: str) -> ModuleType | None:
        """The package's optional module ``name``, or None when it has none.

        A module that exists but fails to import (something it imports is missing) is an error, not None.
        """
        module = f"{self.package}.{name}"
        try:
            return importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and not module.startswith(exc.name):
                raise  # the module exists but something it imports does not
            return None

    @cached_property
    def registry(self) -> Registry:
        """Its operations (``operations.REGISTRY``)."""
        from agent_billing.registry import Registry

        module = self.part("operations")
        registry = getattr(module, "REGISTRY", None)
        if not isinstance(registry, Registry):
            raise TypeError(f"provider {self.name!r}: {self.package}.operations.REGISTRY is not a Registry")
        return registry


_PROVIDERS: dict[str, Provider] = {}


def register(provider: Provider) -> Provider:
    """Make ``provider`` available by name (a test or an application may add one at run time).

    Example:
        >>> register(Provider(name="example_registered", package="example_pkg")).title
        'example_registered'
        >>> unregister("example_registered"); "example_registered" in provider_names()
        False
    """
    _PROVIDERS[provider.name] = provider
    return provider


def unregister(name: str) -> None:
    """Forget the provider called ``name`` and its loaded registry (the undo of ``register``; no error if unknown)."""
    from agent_billing import registry

    _PROVIDERS.pop(name, None)
    registry._LOADED.pop(name, None)


def _load(reference: str) -> Provider:
    module, _, attribute = reference.partition(":")
    value = getattr(importlib.import_module(module), attribute or "PROVIDER")
    if callable(value) and not isinstance(value, Provider):
        value = value()
    if not isinstance(value, Provider):
        raise TypeError(f"{reference} is not an agent_billing.provider.Provider")
    return value


def _discover() -> None:
    """Find the built-in providers and those installed under the entry-point group, the same way."""
    from agent_billing.providers import PROVIDERS  # the list of built-ins, not a provider

    for name, reference in PROVIDERS.items():
        if name not in _PROVIDERS:
            _PROVIDERS[name] = _load(reference)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name not in _PROVIDERS:
            _PROVIDERS[entry.name] = _load(entry.value)


def provider_names() -> list[str]:
    """Every provider that can be loaded, by name, built-ins first.

    Example:
        >>> from agent_billing.providers import PROVIDERS
        >>> provider_names()[:len(PROVIDERS)] == list(PROVIDERS)
        True
    """
    _discover()
    return list(_PROVIDERS)


def get_provider(name: str | None = None) -> Provider:
    """The provider called ``name`` (default: ``default_provider()``); KeyError naming the known ones.

    Example:
        >>> _ = register(Provider(name="example_named", package="example_pkg", title="Example & Co"))
        >>> get_provider("example_named").title
        'Example & Co'
        >>> unregister("example_named"); get_provider("example_named")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        KeyError: "unknown provider 'example_named'; known: ..."
    """
    name = name or default_provider()
    if name not in _PROVIDERS:
        _discover()
    try:
        return _PROVIDERS[name]
    except KeyError:
        raise KeyError(f"unknown provider {name!r}; known: {', '.join(_PROVIDERS)}") from None


def default_provider() -> str:
    """The provider used when none is named: the first built-in.

    Example:
        >>> default_provider() in provider_names()
        True
    """
    from agent_billing.providers import PROVIDERS

    return next(iter(PROVIDERS))
