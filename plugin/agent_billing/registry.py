"""The operation registry: every API operation declared once, as data.

The client methods, the LangChain tools, the sandbox routes and the endpoint tables in the skills are
all derived from these declarations, so none of them can disagree on a path, a bound or an effect.

Example (``example_registry``: a made-up provider's operations, from the doctest set-up):
    >>> op = example_registry.get("top_up")
    >>> (op.method, op.path, op.effect.value)
    ('POST', '/balance/top-ups', 'charge')
    >>> all(get_registry(name).provider == name for name in provider_names())  # each provider's own
    True
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agent_billing.conventions import Connection, WireConventions

if TYPE_CHECKING:
    from agent_billing.advisor import PaymentPaths

_PLACEHOLDER = re.compile(r"{(\w+)}")


class Effect(str, Enum):
    """What an operation does to the account; decides which guardrails apply.

    Example:
        >>> Effect.CHARGE.moves_money, Effect.DESTRUCTIVE.needs_approval, Effect.WRITE.needs_approval
        (True, True, False)
    """

    READ = "read"
    WRITE = "write"
    CHARGE = "charge"
    AUTHORIZE = "authorize"
    PAYOUT = "payout"
    DESTRUCTIVE = "destructive"

    @property
    def moves_money(self) -> bool:
        """True for effects that spend or pay out money now or later."""
        return self in (Effect.CHARGE, Effect.AUTHORIZE, Effect.PAYOUT)

    @property
    def needs_approval(self) -> bool:
        """True for effects that need a yes (destructive by default; the toolkit can relax it)."""
        return self not in (Effect.READ, Effect.WRITE)


@dataclass(frozen=True)
class Operation:
    """One API operation.

    ``args`` is the pydantic model of its arguments (path parameters are the fields named in ``path``;
    the rest go in the query string for GET and DELETE, in the JSON body otherwise). ``effect_for`` lets
    an operation's effect depend on its arguments (a coupon with a purchase is a charge, without one it
    is a write).

    Example:
        >>> example_registry.get("get_item").path_params
        ('item_id',)
    """

    name: str
    group: str
    action: str
    method: str
    path: str
    args: type[BaseModel]
    result: type[BaseModel]
    effect: Effect
    description: str
    # The provider's rate-limit class this operation counts against (``Registry.rate_classes``; "": its default).
    limiter: str = ""
    effect_for: Callable[[BaseModel], Effect] | None = None
    # Field names holding a money amount, and the field holding a plan id, for mandates and summaries.
    amount_field: str | None = None
    plan_field: str | None = None
    # How a gated call resolves its charge intent: (validated args, for_person) -> generator of reads
    # returning an ``IntentDraft`` (see guardrails/intent.py). None: a generic description.
    intent: Callable[[BaseModel, bool], Generator[Any, Any, Any]] | None = None
    # True for operations that change which card later charges hit (set default, add as default,
    # remove): a charge that relies on the default card is not interleaved with them.
    changes_funding: bool = False
    # For the operation that lists the plan catalogue: the plan ids in its result. The client remembers
    # them and refuses an unknown id in ``plan_field`` before any request.
    plan_catalogue: Callable[[Any], Iterable[Any]] | None = None
    # What the agent should do after a success: a sentence, or a function of the shaped result (None: nothing).
    next_step: str | Callable[[dict[str, Any]], str | None] | None = None
    # Its typed method's docstring example (a ``codegen.MethodExample``; None: a plain call), declared here so
    # codegen reads it from the declaration, not from a list beside it.
    example: Any = None

    @property
    def path_params(self) -> tuple[str, ...]:
        """Names of the fields that are substituted into the path."""
        return tuple(_PLACEHOLDER.findall(self.path))

    @property
    def has_body(self) -> bool:
        """Whether non-path arguments travel as a JSON body (else as query parameters)."""
        return self.method not in ("GET", "DELETE")

    @property
    def is_mutation(self) -> bool:
        """Mutations carry an Idempotency-Key and are only retried with the same key."""
        return self.method != "GET"

    def next_step_after(self, shaped: Any) -> str | None:
        """The declared next step after a success whose shaped result is ``shaped``.

        Example:
            >>> op = Operation("ping", "misc", "ping", "GET", "/ping", BaseModel, BaseModel, Effect.READ, "Ping.",
            ...                next_step=lambda shaped: f"Tell the person: {shaped['note']}")
            >>> op.next_step_after({"note": "all set"}), op.next_step_after("not shaped")
            ('Tell the person: all set', None)
        """
        if callable(self.next_step):
            return self.next_step(shaped) if isinstance(shaped, dict) else None
        return self.next_step

    def effect_of(self, args: BaseModel) -> Effect:
        """The effect of a call with these (validated) arguments."""
        return self.effect_for(args) if self.effect_for else self.effect

    def validate(self, raw: Mapping[str, Any]) -> BaseModel:
        """Validate raw arguments (``None`` values count as absent)."""
        return self.args.model_validate({k: v for k, v in raw.items() if v is not None})

    def render_path(self, args: BaseModel) -> str:
        """The path with its placeholders filled from validated arguments."""
        values = args.model_dump(mode="json")
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), self.path)

    def split(self, args: BaseModel) -> tuple[dict[str, Any], dict[str, Any]]:
        """Split validated arguments into (path values, query-or-body values), dropping unset ``None``."""
        data = args.model_dump(mode="python", exclude_none=True)
        path = {k: data[k] for k in self.path_params if k in data}
        # The rest travels under the wire names (camelCase aliases, where a provider declares them).
        rest = args.model_dump(mode="python", exclude_none=True, by_alias=True, exclude=set(self.path_params))
        return path, rest


@dataclass
class Registry:
    """The operations of one provider, in declaration order.

    Example:
        >>> reg = example_registry
        >>> len(reg), sorted(reg.groups())
        (7, ['balance', 'codes', 'items', 'ledger', 'wallet'])
    """

    provider: str
    base_path: str
    operations: dict[str, Operation] = field(default_factory=dict)
    group_descriptions: dict[str, str] = field(default_factory=dict)
    # Short human titles of the groups' tools (MCP hosts show them); a group without one is titled from its name.
    group_titles: dict[str, str] = field(default_factory=dict)
    wire: WireConventions = field(default_factory=WireConventions)
    # The payment-path advisor's mapping for this provider (``agent_billing.advisor.PaymentPaths``): what
    # each path means in its calls. None: the toolkit offers no advisor.
    advisor: PaymentPaths[Any] | None = None
    # What the ``chatbot`` and ``autonomous`` presets add to the reads (``group.action`` names or globs): the
    # hand-off to a person, and the routine money moves meant for use within a mandate.
    presets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Where ``python -m agent_billing.codegen`` writes the typed client methods: (module, sync class, async class).
    typed_methods: tuple[str, str, str] | None = None
    connection: Connection = field(default_factory=lambda: Connection(default_base_url="http://127.0.0.1:8787"))
    # The provider's server-side rate-limit classes: name -> requests per minute (the last is the default).
    rate_classes: dict[str, int] = field(default_factory=dict)
    group_scopes: dict[str, str] = field(default_factory=dict)  # group -> its token-scope area (the ``scopes`` part's)

    def add(self, op: Operation) -> Operation:
        """Register an operation; names and (method, path) pairs must be unique."""
        if op.name in self.operations:
            raise ValueError(f"operation {op.name!r} declared twice")
        for other in self.operations.values():
            if (other.method, other.path) == (op.method, op.path):
                raise ValueError(f"{op.name!r} and {other.name!r} share {op.method} {op.path}")
            if (other.group, other.action) == (op.group, op.action):
                raise ValueError(f"{op.name!r} and {other.name!r} share action {op.group}.{op.action}")
        missing = set(op.path_params) - set(op.args.model_fields)
        if missing:
            raise ValueError(f"{op.name!r}: path parameters {sorted(missing)} are not fields of its args")
        self.operations[op.name] = op
        return op

    def declare(self, name: str, group: str, action: str, method: str, path: str, args: type[BaseModel],
                result: type[BaseModel], effect: Effect, description: str, **extra: Any) -> Operation:
        """Declare one operation as one line of data (every provider's declarations use this).

        Example:
            >>> from pydantic import BaseModel
            >>> registry = Registry(provider="example", base_path="/v1")
            >>> registry.declare("get_thing", "things", "get", "GET", "/things", BaseModel, BaseModel,
            ...                  Effect.READ, "One thing.").action
            'get'
        """
        return self.add(Operation(name=name, group=group, action=action, method=method, path=path, args=args,
                                  result=result, effect=effect, description=description, **extra))

    def describe_group(self, group: str, description: str, *, title: str | None = None,
                       scope: str | None = None) -> None:
        """Set the one-sentence description of a group (its tool's description starts with it), its title and
        the area of the provider's token scopes its operations need (read by the provider's ``scopes`` part)."""
        self.group_descriptions[group] = description
        if title is not None:
            self.group_titles[group] = title
        if scope is not None:
            self.group_scopes[group] = scope

    def group_title(self, group: str) -> str:
        """The title of a group's tool: the declared one, else its name in words.

        Example:
            >>> reg = Registry("x", "/")
            >>> reg.describe_group("balance", "Money on the account.", title="Balance: top-ups and payouts")
            >>> reg.group_title("balance"), reg.group_title("payment_pages")
            ('Balance: top-ups and payouts', 'Payment pages')
        """
        return self.group_titles.get(group) or group.replace("_", " ").capitalize()

    def get(self, name: str) -> Operation:
        """The operation called ``name`` (KeyError with the known names otherwise)."""
        try:
            return self.operations[name]
        except KeyError:
            raise KeyError(f"unknown operation {name!r}; known: {', '.join(self.operations)}") from None

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations.values())

    def __len__(self) -> int:
        return len(self.operations)

    def rate_class(self, op: Operation) -> str:
        """The rate-limit class ``op`` counts against: its own, else the default (the last declared; "" if none).

        Example:
            >>> reg = Registry(provider="example", base_path="/v1", rate_classes={"writes": 10, "reads": 100})
            >>> reg.rate_class(Operation("ping", "misc", "ping", "GET", "/ping", BaseModel, BaseModel, Effect.READ, "Ping."))
            'reads'
        """
        return op.limiter or (list(self.rate_classes)[-1] if self.rate_classes else "")

    def groups(self) -> dict[str, list[Operation]]:
        """Operations by group, in declaration order."""
        out: dict[str, list[Operation]] = {}
        for op in self:
            out.setdefault(op.group, []).append(op)
        return out

    def by_action(self, group: str, action: str) -> Operation:
        """The operation behind a tool's ``action`` within ``group``."""
        for op in self.groups().get(group, []):
            if op.action == action:
                return op
        raise KeyError(f"group {group!r} has no action {action!r}")


_REGISTRIES: dict[str, Callable[[], Registry]] = {}
_LOADED: dict[str, Registry] = {}


def register_provider(name: str, loader: Callable[[], Registry]) -> None:
    """Make a bare registry available by name (loaded lazily on first use), without a provider package.

    Example:
        >>> register_provider("example", lambda: Registry(provider="example", base_path="/api/v1"))
        >>> get_registry("example").base_path
        '/api/v1'
    """
    _REGISTRIES[name] = loader


def default_provider() -> str:
    """The provider used when none is named (``agent_billing.provider.default_provider``).

    Example:
        >>> default_provider() in provider_names()
        True
    """
    from agent_billing.provider import default_provider as first

    return first()


def provider_part(provider: str, part: str) -> ModuleType | None:
    """A provider package's optional module ``part`` (its tool ``actions``, its ``prompt`` facts), or None.

    Found through the provider object (``agent_billing.provider.Provider.part``), so built-in and
    entry-point providers are looked up the same way. A bare registry (``register_provider``) has none.

    Example:
        >>> name = default_provider()
        >>> provider_part(name, "operations").REGISTRY is get_registry(name), provider_part(name, "nope")
        (True, None)
    """
    from agent_billing.provider import get_provider

    if provider in _REGISTRIES:
        return None
    return get_provider(provider).part(part)


def provider_names() -> list[str]:
    """Every provider that can be loaded, by name.

    Example:
        >>> len(provider_names()) >= 1
        True
    """
    from agent_billing.provider import provider_names as packaged

    return [*packaged(), *(name for name in _REGISTRIES if name not in packaged())]


def get_registry(provider: str | None = None) -> Registry:
    """The registry of ``provider`` (default: ``default_provider()``).

    Example:
        >>> get_registry() is get_registry(default_provider())
        True
    """
    from agent_billing.provider import get_provider

    name = provider or default_provider()
    if name not in _LOADED:
        _LOADED[name] = _REGISTRIES[name]() if name in _REGISTRIES else get_provider(name).registry
    return _LOADED[name]
