"""The audit event: who asked for what, how much, what was decided, and what happened; and its scrubbing.

One :class:`AuditEvent` per step of a tool call that matters (requested, approved or rejected,
succeeded or failed). Card data and secrets never reach a log: every event is scrubbed when it is
built (once), and an event assembled some other way (``model_construct``, which skips validation) is
scrubbed by :func:`redact_event` before any log writes it, so a PAN smuggled into an argument, a reason
or a result is still caught. Scrubbing means:

- everything passes the one outgoing redaction (:mod:`agent_billing.guardrails.redaction`, the same the
  model-facing output and the library's logs use): configured tokens by value first (and their
  URL-encoded, base64... variants), then card data (:func:`agent_billing.guardrails.card_data.redact`);
- secrets as :mod:`agent_billing.guardrails.secrets` defines them (the same policy the model-facing
  output and the argument check use): values under keys named like a secret (``token``,
  ``refresh_token``, ``client_secret``, ``api_key``, ``authorization``, ``password``...) become
  ``"[redacted]"``, and secret-looking text inside strings and keys (``Bearer ...``,
  client secrets, every provider's declared key prefixes, ``conf_...`` confirmation tokens, ``token=...``)
  is replaced by ``[redacted]``;
- objects that are not plain data are written as ``<TypeName>``, never through their ``repr``.

Example:
    >>> from decimal import Decimal
    >>> AuditEvent(operation="example_charge", effect="charge", amount=Decimal("25"),
    ...            decision="requested", arguments={"amount": Decimal("25"), "token": "abc"}).arguments
    {'amount': Decimal('25'), 'token': '[redacted]'}
"""

from __future__ import annotations

import errno
import json
from collections.abc import Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretBytes,
    SecretStr,
    field_validator,
    model_validator,
)

from agent_billing.errors import AuditWriteError
from agent_billing.guardrails.card_data import redact
from agent_billing.guardrails.redaction import redact_outgoing, redact_outgoing_text
from agent_billing.guardrails.secrets import REDACTED, is_secret_key
from agent_billing.money import to_decimal
from agent_billing.registry import Effect

# "unknown": a request that may have taken effect got no readable answer (neither succeeded nor failed);
# "replayed": a repeat of such a request under its original key; "changed": the charge changed after the yes.
Decision = Literal["requested", "approved", "auto_approved", "rejected", "refused", "succeeded", "failed", "unknown",
                   "replayed", "changed"]

# The fields a chained record adds to its event (see ``audit_chain``): not the event's own.
CHAIN_FIELDS = ("seq", "prev_hash", "hash", "receipt_ids", "kid", "torn")

_TEXT_FIELDS = ("operation", "currency", "approver", "idempotency_key", "request_id", "mandate", "reason",
                "intent_digest")


def is_secret_name(name: str) -> bool:
    """Whether a key's name says its value is a secret (the shared policy: ``guardrails.secrets``).

    Example:
        >>> is_secret_name("client_secret"), is_secret_name("X-API-Key"), is_secret_name("idempotency_key")
        (True, True, False)
    """
    return is_secret_key(name)


def scrub_text(text: str) -> str:
    """Redact card numbers and secret-looking substrings in free text.

    Example:
        >>> scrub_text("declined, Authorization: Bearer abcdefghijkl")
        'declined, Authorization: [redacted]'
    """
    return redact_outgoing_text(text, REDACTED)


def _plain(value: Any) -> Any:
    # Reduce to JSON-like data before anything looks at it: an unknown object is named, never str()'d,
    # because its text can carry anything (a token in a client's repr, say).
    if value is None or isinstance(value, (bool, int, float, str, Decimal, datetime, date)):
        return value
    if isinstance(value, (SecretStr, SecretBytes)):
        return REDACTED
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, BaseModel):
        return _plain(value.model_dump(mode="python"))
    if isinstance(value, Mapping):
        return {k if isinstance(k, (str, int)) else f"<{type(k).__name__}>": _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(item) for item in value]
    return f"<{type(value).__name__}>"


def scrub(value: Any) -> Any:
    """Deep-redact a JSON-like value: card data (via ``card_data.redact``), secret keys, secret text.

    Example:
        >>> scrub({"pm": "pm_123", "client_secret": "seti_1_secret_2", "note": ["token=abc"]})
        {'pm': 'pm_123', 'client_secret': '[redacted]', 'note': ['token=[redacted]']}
    """
    return redact_outgoing(_plain(value), REDACTED)


def _amount(value: Any) -> Any:
    return None if value is None else to_decimal(value)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class AuditEvent(BaseModel):
    """One audited step of a tool call. Built scrubbed: arguments, result and texts are redacted.

    ``arguments`` are the validated arguments; ``result`` the shaped result (or error details).
    ``timestamp`` must be timezone-aware and is kept in UTC.

    Example:
        >>> e = AuditEvent(operation="example_charge", effect="charge", amount="25", decision="succeeded",
        ...                request_id="req_1", reason="paid with 4242 4242 4242 4242")
        >>> e.amount, "4242 4242 4242 4242" in (e.reason or "")
        (Decimal('25'), False)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    timestamp: AwareDatetime = Field(default_factory=_utcnow)
    operation: str
    effect: Effect
    amount: Annotated[Decimal | None, BeforeValidator(_amount)] = None
    currency: str = "USD"
    decision: Decision
    approver: str | None = None
    idempotency_key: str | None = None
    request_id: str | None = None
    mandate: str | None = None
    reason: str | None = None
    arguments: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] | None = None
    intent_digest: str | None = Field(None, description="SHA-256 of the charge intent this step is bound to")
    receipt: str | None = Field(None, description="SHA-256 of the signed receipt of this executed call (receipts.py)")
    # The agent run, thread and tool call (and trace) this step belongs to: ``telemetry.correlation()``; omitted when None.
    correlation: dict[str, str] | None = Field(None, exclude_if=lambda value: value is None)
    # Set once the validators below have scrubbed the fields; model_construct() skips them and leaves it off.
    _scrubbed: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _mark_scrubbed(self) -> AuditEvent:
        self._scrubbed = True
        return self

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.astimezone(timezone.utc)

    @field_validator(*_TEXT_FIELDS)
    @classmethod
    def _scrub_text(cls, value: str | None) -> str | None:
        return scrub_text(value) if value is not None else None

    @field_validator("arguments", "result")
    @classmethod
    def _scrub_mapping(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        scrubbed = scrub(value)
        return {str(k): v for k, v in scrubbed.items()}

    def to_json_line(self) -> str:
        """One line of JSON (no newline); ``Decimal`` values become strings. Encoded once, not scrubbed again.

        Example:
            >>> from datetime import datetime, timezone
            >>> AuditEvent(timestamp=datetime(2026, 1, 1, tzinfo=timezone.utc), operation="example_payout",
            ...            effect="payout", amount="10", decision="refused").to_json_line()[:65]
            '{"timestamp":"2026-01-01T00:00:00Z","operation":"example_payout",'
        """
        return json.dumps(event_record(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def of_clean(cls, arguments: Mapping[str, Any], result: Mapping[str, Any] | None, **fields: Any) -> AuditEvent:
        """An event whose ``arguments`` and ``result`` are already clean, so they are not scrubbed again: the
        arguments a tool scanned on the way in (or the flow scrubbed once for all of a call's records), the
        result as the one outgoing redaction shaped it for the agent. Every other field is validated and
        scrubbed as usual.

        Example:
            >>> e = AuditEvent.of_clean({"amount": "25"}, {"id": "r_1"}, operation="x", effect="charge",
            ...                         decision="succeeded", reason="token=abc")
            >>> e.arguments, e.result, e.reason
            ({'amount': '25'}, {'id': 'r_1'}, 'token=[redacted]')
        """
        event = cls(**fields)
        return event.model_copy(update={"arguments": dict(arguments),
                                        "result": dict(result) if result is not None else None})

    @classmethod
    def from_json_line(cls, line: str) -> AuditEvent:
        """Read an event back from :meth:`to_json_line` or a chained record (amounts in ``arguments`` stay strings).

        Example:
            >>> e = AuditEvent(operation="example_read", effect="read", decision="succeeded")
            >>> AuditEvent.from_json_line(e.to_json_line()) == e
            True
        """
        record = json.loads(line)
        return cls.model_validate({k: v for k, v in record.items() if k not in CHAIN_FIELDS})


def redact_event(event: AuditEvent) -> AuditEvent:
    """A copy of ``event`` with its arguments, result and texts scrubbed (for events built unvalidated).

    Example:
        >>> e = AuditEvent.model_construct(operation="x", effect=Effect.READ, decision="failed",
        ...                                reason="token=abc", arguments={}, result=None)
        >>> redact_event(e).reason
        'token=[redacted]'
    """
    if event._scrubbed:
        return event  # validated: its fields were scrubbed on the way in (the JSON line is scrubbed again anyway)
    update: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        value = getattr(event, name, None)
        if isinstance(value, str):
            update[name] = scrub_text(value)
    arguments = getattr(event, "arguments", None)
    update["arguments"] = scrub(arguments) if isinstance(arguments, Mapping) else {}
    result = getattr(event, "result", None)
    update["result"] = scrub(result) if isinstance(result, Mapping) else None
    return event.model_copy(update=update)


def event_record(event: AuditEvent) -> dict[str, Any]:
    """The JSON-ready record of ``event``: built once from the scrubbed event, never scrubbed twice.

    A validated event's texts, arguments and result were scrubbed when it was built; an unvalidated one
    is scrubbed here (:func:`redact_event`). The amount, the one field that is a number, gets the card
    check on its own (a card number typed as an amount is still a card number).

    Example:
        >>> event_record(AuditEvent.model_construct(operation="x", effect="charge", amount="4242424242424242",
        ...                                         decision="refused"))["amount"]
        '[visa card ending 4242]'
    """
    # Unknown objects are named, never repr()'d: a repr can carry anything, secrets included.
    record: dict[str, Any] = redact_event(event).model_dump(mode="json", fallback=lambda v: f"<{type(v).__name__}>")
    amount = record.get("amount")
    # No card number has fewer than 12 digits: an ordinary amount needs no scan.
    if amount is not None and (not isinstance(amount, str) or sum(c.isdigit() for c in amount) >= 12):
        record["amount"] = redact(amount)
    return record


@runtime_checkable
class AuditLog(Protocol):
    """Anything that records audit events.

    Example:
        >>> from agent_billing.audit_backends import MemoryAuditLog
        >>> isinstance(MemoryAuditLog(), AuditLog)
        True
    """

    def record(self, event: AuditEvent) -> None:
        """Record one event (scrubbed); raise if it could not be recorded."""
        ...


def record_event(log: AuditLog, event: AuditEvent) -> None:
    """``log.record(event)``, with any failure raised as :class:`~agent_billing.errors.AuditWriteError`.

    For callers that must tell "the audit failed" from everything else, whatever log they were given
    (a host's own log may raise anything).

    Example:
        >>> class Full:
        ...     def record(self, event: AuditEvent) -> None:
        ...         raise OSError(28, "No space left on device")
        >>> try:
        ...     record_event(Full(), AuditEvent(operation="x", effect="read", decision="failed"))
        ... except AuditWriteError as err:
        ...     print(err.code)
        audit_write_failed
    """
    try:
        log.record(event)
    except AuditWriteError:
        raise
    except Exception as exc:  # a host's log may raise anything: the caller needs one type
        raise _write_error(type(log).__name__, exc) from exc


def _write_error(where: str, exc: BaseException) -> AuditWriteError:
    reason = errno.errorcode.get(exc.errno, type(exc).__name__) if isinstance(exc, OSError) and exc.errno \
        else type(exc).__name__
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return AuditWriteError(f"the audit log {where} could not record the event: {text}", log=where, reason=reason)
