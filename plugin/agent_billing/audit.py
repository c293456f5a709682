"""The audit trail: who asked for what, how much, what was decided, and what happened.

One :class:`AuditEvent` per step of a tool call that matters (requested, approved or rejected,
succeeded or failed). Card data and secrets never reach a log: every event is scrubbed when it is
built, and every log scrubs again right before writing, so an event assembled some other way (or a
PAN smuggled into an argument, a reason or a result) is still caught. Scrubbing means:

- card numbers in any string, number or key go through :func:`agent_billing.guardrails.card_data.redact`;
- values under keys named like a secret (``token``, ``client_secret``, ``api_key``, ``authorization``,
  ``password``...) become ``"[redacted]"``;
- secret-looking text inside strings (``Bearer ...``, ``seti_..._secret_...``, ``sk_live_...``,
  ``wg_live_...``, ``conf_...`` confirmation tokens, ``token=...``) is replaced by ``[redacted]``;
- objects that are not plain data are written as ``<TypeName>``, never through their ``repr``.

Example:
    >>> from decimal import Decimal
    >>> log = MemoryAuditLog()
    >>> log.record(AuditEvent(operation="fund_wallet", effect="charge", amount=Decimal("25"),
    ...                       decision="requested", arguments={"amount": Decimal("25"), "token": "abc"}))
    >>> log.events[0].arguments
    {'amount': Decimal('25'), 'token': '[redacted]'}
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretBytes,
    SecretStr,
    field_validator,
)

from agent_billing.guardrails.card_data import redact, redact_text
from agent_billing.money import to_decimal
from agent_billing.registry import Effect

# "unknown": a request that may have taken effect got no readable answer (neither succeeded nor failed);
# "replayed": a repeat of such a request under its original key; "changed": the charge changed after the yes.
Decision = Literal["requested", "approved", "auto_approved", "rejected", "refused", "succeeded", "failed", "unknown",
                   "replayed", "changed"]
REDACTED = "[redacted]"

# Compared against key names lowercased with everything but letters and digits removed.
_SECRET_KEY_PARTS = (
    "token", "secret", "authorization", "apikey", "password", "passwd", "passphrase", "cookie",
    "credential", "privatekey", "accesskey", "bearer",
)
_SECRET_TEXT = re.compile(
    r"(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}"  # an Authorization header value
    r"|\b(?:seti|pi|cs)_[A-Za-z0-9]+_secret_[A-Za-z0-9]+"  # Stripe client secrets
    r"|\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}"  # Stripe secret and restricted keys
    r"|\bwg_(?:live|test)_[A-Za-z0-9_-]{8,}"  # Wallgent API keys
    r"|\bwhsec_[A-Za-z0-9]{8,}"  # webhook signing secrets
    r"|\bconf_[A-Za-z0-9_-]{16,}"  # our single-use confirmation tokens
)
# name=value / name: value pairs whose name says secret (query strings, header dumps, error texts).
_SECRET_PAIR = re.compile(
    r"(?i)\b([A-Za-z0-9_-]*(?:token|secret|api[_-]?key|password|authorization)[A-Za-z0-9_-]*)"
    r"(\"?\s*[=:]\s*\"?)([^\s&\"',;]+)"
)
_TEXT_FIELDS = ("operation", "currency", "approver", "idempotency_key", "request_id", "mandate", "reason")


def is_secret_name(name: str) -> bool:
    """Whether a key's name says its value is a secret.

    Example:
        >>> is_secret_name("client_secret"), is_secret_name("X-API-Key"), is_secret_name("idempotency_key")
        (True, True, False)
    """
    normalized = re.sub(r"[^a-z0-9]", "", name.lower())
    return any(part in normalized for part in _SECRET_KEY_PARTS)


def scrub_text(text: str) -> str:
    """Redact card numbers and secret-looking substrings in free text.

    Example:
        >>> scrub_text("declined, Authorization: Bearer abcdefghijkl")
        'declined, Authorization: [redacted]'
    """
    text = redact_text(text)
    text = _SECRET_TEXT.sub(REDACTED, text)
    return _SECRET_PAIR.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)


def _walk(value: Any) -> Any:
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            name = scrub_text(key) if isinstance(key, str) else key
            out[name] = REDACTED if isinstance(key, str) and is_secret_name(key) else _walk(item)
        return out
    if isinstance(value, (list, tuple)):
        return [_walk(item) for item in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value  # numbers that are card numbers were already turned into text by card_data.redact


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
    return _walk(redact(_plain(value)))


def _amount(value: Any) -> Any:
    return None if value is None else to_decimal(value)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class AuditEvent(BaseModel):
    """One audited step of a tool call. Built scrubbed: arguments, result and texts are redacted.

    ``arguments`` are the validated arguments; ``result`` the shaped result (or error details).
    ``timestamp`` must be timezone-aware and is kept in UTC.

    Example:
        >>> e = AuditEvent(operation="fund_wallet", effect="charge", amount="25", decision="succeeded",
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
        """One line of JSON (no newline), scrubbed once more; ``Decimal`` values become strings.

        Example:
            >>> from datetime import datetime, timezone
            >>> AuditEvent(timestamp=datetime(2026, 1, 1, tzinfo=timezone.utc), operation="withdraw",
            ...            effect="payout", amount="10", decision="refused").to_json_line()[:59]
            '{"timestamp":"2026-01-01T00:00:00Z","operation":"withdraw",'
        """
        # Unknown objects are named, never repr()'d: a repr can carry anything, secrets included.
        data = redact_event(self).model_dump(mode="json", fallback=lambda v: f"<{type(v).__name__}>")
        return json.dumps(scrub(data), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json_line(cls, line: str) -> AuditEvent:
        """Read an event back from :meth:`to_json_line` (amounts in ``arguments`` stay strings).

        Example:
            >>> e = AuditEvent(operation="list_plans", effect="read", decision="succeeded")
            >>> AuditEvent.from_json_line(e.to_json_line()) == e
            True
        """
        return cls.model_validate(json.loads(line))


def redact_event(event: AuditEvent) -> AuditEvent:
    """A copy of ``event`` with its arguments, result and texts scrubbed (for events built unvalidated).

    Example:
        >>> e = AuditEvent.model_construct(operation="x", effect=Effect.READ, decision="failed",
        ...                                reason="token=abc", arguments={}, result=None)
        >>> redact_event(e).reason
        'token=[redacted]'
    """
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


@runtime_checkable
class AuditLog(Protocol):
    """Anything that records audit events.

    Example:
        >>> isinstance(MemoryAuditLog(), AuditLog)
        True
    """

    def record(self, event: AuditEvent) -> None:
        """Record one event (scrubbed); raise if it could not be recorded."""
        ...


class MemoryAuditLog:
    """Keeps scrubbed events in ``.events`` (tests, demos, a host that ships them elsewhere).

    Example:
        >>> log = MemoryAuditLog()
        >>> log.record(AuditEvent(operation="list_plans", effect="read", decision="succeeded"))
        >>> [e.decision for e in log.events]
        ['succeeded']
    """

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []
        self._lock = threading.Lock()

    def record(self, event: AuditEvent) -> None:
        """Append a scrubbed copy of ``event``."""
        clean = redact_event(event)
        with self._lock:
            self.events.append(clean)


class JsonlAuditLog:
    """An append-only JSON Lines file: one event per line, written whole and flushed at once.

    The file is opened with ``O_APPEND`` and each line goes out in one ``write``, so threads (serialized
    by a lock) and other processes appending to the same file do not interleave inside a line. The
    parent directory is created; a new file is readable by its owner only. ``fsync=True`` also waits for
    the disk after each line.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "logs" / "audit.jsonl"
        >>> with JsonlAuditLog(path) as log:
        ...     log.record(AuditEvent(operation="list_plans", effect="read", decision="succeeded"))
        ...     [e.operation for e in log.read()]
        ['list_plans']
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path)
        self._fsync = fsync
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def record(self, event: AuditEvent) -> None:
        """Append ``event`` as one scrubbed JSON line."""
        data = (event.to_json_line() + "\n").encode()
        with self._lock:
            if self._fd is None:
                raise ValueError(f"audit log {self.path} is closed")
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            if self._fsync:
                os.fsync(self._fd)

    def read(self) -> Iterator[AuditEvent]:
        """The events in the file, oldest first.

        Example:
            >>> import tempfile, pathlib
            >>> list(JsonlAuditLog(pathlib.Path(tempfile.mkdtemp()) / "a.jsonl").read())
            []
        """
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield AuditEvent.from_json_line(line)

    def close(self) -> None:
        """Close the file; later ``record`` calls raise."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> JsonlAuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MultiAuditLog:
    """Records each event in several logs. Every log is tried; the first failure is raised afterwards.

    Example:
        >>> a, b = MemoryAuditLog(), MemoryAuditLog()
        >>> MultiAuditLog(a, b).record(AuditEvent(operation="list_plans", effect="read", decision="requested"))
        >>> len(a.events), len(b.events)
        (1, 1)
    """

    def __init__(self, *logs: AuditLog) -> None:
        self.logs: tuple[AuditLog, ...] = logs

    def record(self, event: AuditEvent) -> None:
        """Record ``event`` in every log, then raise the first error, if any."""
        clean = redact_event(event)
        errors: list[Exception] = []
        for log in self.logs:
            try:
                log.record(clean)
            except Exception as exc:  # one broken sink must not silence the others
                errors.append(exc)
        if errors:
            raise errors[0]
