"""A provider's wire conventions and connection facts, declared once beside its operations.

The core (client, exchange, config) reads these instead of knowing any provider: whether bodies are
wrapped in an envelope, how amounts travel, which header carries the idempotency key, how the
provider's error codes map onto the exception hierarchy, which environment variables hold the key
and the base URL, and which keys move real money.

Example:
    >>> wire = WireConventions(envelope=False, amounts="string")
    >>> wire.encode_amount(Decimal("99"))
    '99.00'
    >>> Connection(default_base_url="https://api.example.com/v1", token_variables=("EXAMPLE_KEY",)).token_variables
    ('EXAMPLE_KEY',)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from agent_billing.money import CENT


@dataclass(frozen=True)
class ActionRequired:
    """A success answer that really means "a person must act first" (e.g. a card's 3-D Secure check).

    The answer's ``data[container][status_field] == value`` marks it; ``details`` names the container's
    fields handed on (ids a person's page needs); ``message_field`` in ``data`` gives the words, else
    ``message``. The core raises ``ActionRequiredError`` for it instead of returning a result.

    Example:
        >>> rule = ActionRequired(container="step", value="needs_person", details=("step_id",), message="Ask a person.")
        >>> rule.matches({"step": {"status": "needs_person", "step_id": "s_1"}}), rule.matches({"step": {}})
        (True, False)
    """

    container: str
    value: str
    details: tuple[str, ...] = ()
    message: str = "A person must act before this can go on."
    status_field: str = "status"
    message_field: str = "message"

    def matches(self, data: Mapping[str, Any]) -> bool:
        """Whether ``data`` (an answer's data object) is this action-required shape."""
        inner = data.get(self.container)
        return isinstance(inner, Mapping) and inner.get(self.status_field) == self.value


@dataclass(frozen=True)
class Pagination:
    """How a provider's cursor-paged lists page (read by the clients' ``paginate``).

    A list operation takes the cursor as its argument ``cursor_arg``; each page holds its items in
    ``items_field`` and the next page's cursor in ``next_field`` (None or absent on the last page).

    Example:
        >>> Pagination(next_field="next_page").cursor_arg, Pagination(next_field="next_page").items_field
        ('cursor', 'items')
    """

    next_field: str
    cursor_arg: str = "cursor"
    items_field: str = "items"


@dataclass(frozen=True)
class WireConventions:
    """How one provider's API looks on the wire.

    ``envelope``: bodies are ``{data, error, meta}`` (else the object itself, errors as ``{"error": {...}}``).
    ``amounts``: ``Decimal`` sent as a JSON number or as a decimal string with two places.
    ``error_classes``: the provider's error codes mapped onto the exception hierarchy (by name of the
    class in ``agent_billing.errors``, so declarations need not import it); unmapped codes go by status.
    ``error_body``: where an error is read: ``"error"`` (``{"error": {code, message, details}}`` or the
    envelope's ``error``) or ``"detail"`` (FastAPI's ``{"detail": "...", "code": ...}``, and 422
    ``{"detail": [{loc, msg, type}]}``). ``action_required``: the shape of a success answer that means a
    person must act first (see ``ActionRequired``), raised as ``ActionRequiredError``; its ``details`` are
    read as attributes of that error. ``pagination``: how its cursor-paged lists page (``Pagination``).
    ``error_attributes``: other error details read as attributes, by error class name
    (``{"PaymentDeclinedError": ("charge_ref",)}`` makes ``err.charge_ref`` the detail, or None).

    Example:
        >>> WireConventions().encode_amount(Decimal("25"))
        Decimal('25')
    """

    envelope: bool = True
    amounts: Literal["number", "string"] = "number"
    idempotency_header: str = "Idempotency-Key"
    request_id_header: str = "X-Request-Id"
    error_classes: Mapping[str, str] = field(default_factory=dict)
    error_body: Literal["error", "detail"] = "error"
    action_required: ActionRequired | None = None  # a success answer that means "a person must act first"
    paging_keys: tuple[str, ...] = ()  # result keys that continue a paged list (cursor, "more" flag)
    pagination: Pagination | None = None  # how its cursor-paged lists page (None: it has none)
    # Error details read as attributes of the error (class name -> detail fields, e.g. the id of a failed payment).
    error_attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def encode_amount(self, amount: Decimal) -> Any:
        """An amount as this provider's JSON carries it."""
        return format(amount.quantize(CENT), "f") if self.amounts == "string" else amount


@dataclass(frozen=True)
class WebhookFormat:
    """How one provider signs and shapes the webhooks it sends (read by ``agent_billing.webhooks``).

    ``header``: the signature header (``sha256=<hex>``, HMAC-SHA256 of the raw body). ``timestamp_field``
    and ``type_field``: the event's own time and name; ``id_field``: its id, which retries repeat (None:
    the payload has no id, and a retry is known by the digest of its body). ``retry_delays``: the waits
    between delivery attempts the provider documents (None: it documents none). ``events``: the event
    names its sandbox sends. ``aliases``: other names a caller may give the provider (its display name).

    Example:
        >>> fmt = WebhookFormat(header="X-Example-Signature", timestamp_field="created", aliases=("Example",))
        >>> fmt.answers_to("example"), fmt.id_field, fmt.retry_delays
        (True, None, None)
    """

    header: str
    timestamp_field: str
    type_field: str = "type"
    id_field: str | None = None
    retry_delays: tuple[float, ...] | None = None
    events: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    def answers_to(self, name: str) -> bool:
        """Whether ``name`` is one of this provider's aliases (case-insensitive)."""
        return name.lower() in (alias.lower() for alias in self.aliases)


@dataclass(frozen=True)
class Connection:
    """Where a provider is and how a key is found and judged.

    ``live_prefixes``: keys that act on real money. A client refuses them unless the deployer opts in
    (``allow_live=True`` or ``AGENT_BILLING_ALLOW_LIVE=1``): a test key pointed at production by mistake
    is harmless, a live key in a development setup is not.

    Example:
        >>> Connection(default_base_url="https://x", live_prefixes=("ex_live_",)).is_live("ex_live_abc")
        True
    """

    default_base_url: str
    # Where the embedded sandbox serves this provider, and the key a sandbox account is reached with.
    sandbox_path: str = "/"
    sandbox_token: str = "sandbox"
    # "module:function" building the provider's sandbox (agent_billing.sandbox.ProviderSandbox); "" for none.
    sandbox_app: str = ""
    token_variables: tuple[str, ...] = ()
    base_url_variables: tuple[str, ...] = ()
    key_prefixes: tuple[str, ...] = ()
    live_prefixes: tuple[str, ...] = ()
    # How its webhooks are signed and shaped (None: the provider sends none).
    webhook: WebhookFormat | None = None
    # Other variables its connection reads (path overrides...), passed on by generated host configurations.
    setting_variables: tuple[str, ...] = ()
    key_patterns: tuple[str, ...] = ()  # regexes of its key shapes without a fixed prefix (redacted, refused)

    def is_live(self, token: str) -> bool:
        """Whether ``token`` is a production key of this provider."""
        return any(token.startswith(prefix) for prefix in self.live_prefixes)
