"""The audit trail: who asked for what, how much, what was decided, and what happened.

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
  ``seti_..._secret_...``, ``sk_live_...``/``sk_test_...``, ``wg_live_...``, ``tnx_...``, ``conf_...``
  confirmation tokens, ``token=...``) is replaced by ``[redacted]``;
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

import contextlib
import errno
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
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
from agent_billing.provider import _PROVIDERS, Provider, provider_names
from agent_billing.registry import Effect

# "unknown": a request that may have taken effect got no readable answer (neither succeeded nor failed);
# "replayed": a repeat of such a request under its original key; "changed": the charge changed after the yes.
Decision = Literal["requested", "approved", "auto_approved", "rejected", "refused", "succeeded", "failed", "unknown",
                   "replayed", "changed"]

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
            >>> AuditEvent(timestamp=datetime(2026, 1, 1, tzinfo=timezone.utc), operation="withdraw",
            ...            effect="payout", amount="10", decision="refused").to_json_line()[:59]
            '{"timestamp":"2026-01-01T00:00:00Z","operation":"withdraw",'
        """
        return json.dumps(event_record(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json_line(cls, line: str) -> AuditEvent:
        """Read an event back from :meth:`to_json_line` or a chained record (amounts in ``arguments`` stay strings).

        Example:
            >>> e = AuditEvent(operation="list_plans", effect="read", decision="succeeded")
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
    if record.get("amount") is not None:
        record["amount"] = redact(record["amount"])
    return record


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


# --- keys: each record's chain value is an HMAC-SHA256 under the chain's current key, so a record
# rewritten and re-hashed by someone without the key no longer verifies.

AUDIT_KEY_ENV = "AGENT_BILLING_AUDIT_KEY"
AUDIT_KEY_FILE = "audit.key"
MIN_KEY_LENGTH = 32
_KEY_ID_LABEL = b"agent-billing audit key id"


def key_id(key: bytes) -> str:
    """The public id of a key, written in each record it signs (16 hex digits; reveals nothing of the key).

    Example:
        >>> key_id(b"k" * 32) == key_id(b"k" * 32) != key_id(b"j" * 32), len(key_id(b"k" * 32))
        (True, 16)
    """
    return hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


class AuditKeys:
    """The keys of an audit chain: the first signs new records; all of them verify (rotation).

    Keys are text of at least 32 characters (``python -c "import secrets; print(secrets.token_hex(32))"``).
    The ``repr`` shows key ids only.

    Example:
        >>> keys = AuditKeys.parse("new-" + "n" * 40 + ", old-" + "o" * 40, "example")
        >>> keys.current_id == key_id(("new-" + "n" * 40).encode()), len(keys.ids)
        (True, 2)
        >>> "nnnn" in repr(keys)
        False
    """

    def __init__(self, *keys: str | bytes) -> None:
        if not keys:
            raise ValueError("an audit key set needs at least one key")
        self._keys: dict[str, bytes] = {}
        for key in keys:
            raw = key.encode() if isinstance(key, str) else bytes(key)
            if len(raw) < MIN_KEY_LENGTH:
                raise ValueError(f"an audit key must have at least {MIN_KEY_LENGTH} characters "
                                 f"(make one with: python -c 'import secrets; print(secrets.token_hex(32))')")
            self._keys.setdefault(key_id(raw), raw)
        self.current_id = next(iter(self._keys))
        self.current = self._keys[self.current_id]

    @property
    def ids(self) -> tuple[str, ...]:
        """The key ids, the signing key's first."""
        return tuple(self._keys)

    def get(self, kid: str) -> bytes | None:
        """The key with id ``kid``, if this set has it."""
        return self._keys.get(kid)

    def __add__(self, other: AuditKeys) -> AuditKeys:
        return AuditKeys(*self._keys.values(), *other._keys.values())

    def __repr__(self) -> str:
        return f"AuditKeys(ids={list(self._keys)})"

    @classmethod
    def parse(cls, text: str, source: str) -> AuditKeys:
        """Keys separated by commas or new lines (``#`` starts a comment line); the first signs.

        Example:
            >>> AuditKeys.parse("# rotated 2026-12\\n" + "a" * 32 + "\\n" + "b" * 32 + "\\n", "f").ids == (
            ...     key_id(b"a" * 32), key_id(b"b" * 32))
            True
        """
        keys = [part.strip() for line in text.splitlines() if not line.lstrip().startswith("#")
                for part in line.split(",") if part.strip()]
        if not keys:
            raise ValueError(f"{source} holds no audit key")
        try:
            return cls(*keys)
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from None

    @classmethod
    def read(cls, path: Path) -> AuditKeys:
        """The keys in a key file.

        Example:
            >>> import tempfile, pathlib
            >>> path = pathlib.Path(tempfile.mkdtemp()) / "audit.key"
            >>> _ = path.write_text("k" * 40 + "\\n")
            >>> AuditKeys.read(path).current_id == key_id(b"k" * 40)
            True
        """
        return cls.parse(path.read_text(encoding="utf-8"), str(path))


def load_keys(key_file: Path, *, create: bool) -> AuditKeys | None:
    """The audit keys in effect: ``$AGENT_BILLING_AUDIT_KEY``, else ``key_file`` (made 0600 if ``create``).

    Without the variable and without the file (and ``create`` false), None: the chain is unkeyed.

    Example:
        >>> import os, tempfile, pathlib
        >>> os.environ.pop(AUDIT_KEY_ENV, None) and None
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "audit.key"
        >>> load_keys(path, create=False) is None
        True
        >>> made = load_keys(path, create=True)
        >>> made is not None and load_keys(path, create=False).ids == made.ids, oct(path.stat().st_mode & 0o777)
        (True, '0o600')
    """
    configured = os.environ.get(AUDIT_KEY_ENV, "")
    if configured.strip():
        return AuditKeys.parse(configured, f"${AUDIT_KEY_ENV}")
    if not key_file.exists():
        if not create:
            return None
        key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Written whole under a private name, then linked into place: a process racing us either wins
        # the link or reads a complete file, never an empty one.
        draft = key_file.with_name(f".{key_file.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                os.write(fd, f"# agent-billing audit key (first line signs; keep older lines to verify)\n"
                             f"{secrets.token_hex(32)}\n".encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
                os.link(draft, key_file)
        finally:
            draft.unlink()
    return AuditKeys.read(key_file)


def state_keys() -> AuditKeys:
    """The keys a store without a log file of its own uses: the variable, else ``<state dir>/audit.key``.

    Read once per process (per variable value and state directory); a failure is an ``AuditWriteError``.

    Example:
        >>> isinstance(state_keys(), AuditKeys)
        True
    """
    from agent_billing.guardrails.spend_store import state_dir

    path = state_dir() / AUDIT_KEY_FILE
    cache_key = (os.environ.get(AUDIT_KEY_ENV, ""), str(path))
    with _KEYS_LOCK:
        found = _KEYS_CACHE.get(cache_key)
        if found is None:
            try:
                found = load_keys(path, create=True)
            except (OSError, ValueError) as exc:  # no key means no record: fail closed, typed
                raise _write_error(f"key {path}", exc) from exc
            assert found is not None  # create=True always yields keys
            _KEYS_CACHE[cache_key] = found
        return found


_KEYS_CACHE: dict[tuple[str, str], AuditKeys] = {}
_KEYS_LOCK = threading.Lock()

# What a log is given: keys, None (the default: the variable or the key file beside the log) or False
# (unkeyed: plain SHA-256, for tests and in-memory logs).
KeysOption = AuditKeys | Literal[False] | None


class MemoryAuditLog:
    """Keeps scrubbed events in ``.events`` (tests, demos, a host that ships them elsewhere).

    Example:
        >>> log = MemoryAuditLog()
        >>> log.record(AuditEvent(operation="list_plans", effect="read", decision="succeeded"))
        >>> [e.decision for e in log.events]
        ['succeeded']
    """

    def __init__(self, *, keys: AuditKeys | None = None) -> None:
        self.events: list[AuditEvent] = []
        # The same events as chained records (see :func:`chain_record`), for ``verify_chain``.
        self.lines: list[str] = []
        self._keys = keys
        self._head = GENESIS_HASH
        self._lock = threading.Lock()

    def record(self, event: AuditEvent) -> None:
        """Append a scrubbed copy of ``event``."""
        clean = redact_event(event)
        with self._lock:
            line, self._head = chain_record(clean, len(self.lines) + 1, self._head, self._keys)
            self.lines.append(line)
            self.events.append(clean)


_HEAD_FORMAT = "{seq:020d} {digest}\n"  # fixed width: rewritten in place, it never needs a new block
_MAX_LINE = 16 * 1024 * 1024  # a longer "line" at the end is not a record of ours: torn, without parsing


class JsonlAuditLog:
    """An append-only JSON Lines file: one chained record per line, written whole or not at all.

    Each line is a :func:`chain_record`: the event plus ``seq``, ``prev_hash``, ``kid`` and ``hash``.
    The file is opened with ``O_APPEND`` and each line goes out in one ``write`` under an exclusive
    ``flock``, taken while the last record's hash is read, so threads and other processes appending to
    the same file neither interleave inside a line nor fork the chain. The parent directory is created;
    a new file is readable by its owner only. ``fsync=True`` also waits for the disk after each line.

    A write that fails or is cut short (a full disk) is truncated away and raised as
    :class:`~agent_billing.errors.AuditWriteError`. Whatever follows the last whole record (a torn
    write left by a crash, garbage, bytes that are not UTF-8) is moved into ``<file>.torn-<time>`` before
    the next record, which notes it (``torn``); ``agent-billing audit verify`` reports both. The last
    record's ``seq`` and hash are also kept in ``<file>.head``: a file cut short or emptied continues the
    chain from there, so the cut shows as missing records instead of a silent new chain.

    Records are keyed (:class:`AuditKeys`): by default with ``$AGENT_BILLING_AUDIT_KEY``, else with
    ``audit.key`` beside the file (created on first use, readable by its owner only).

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "logs" / "audit.jsonl"
        >>> with JsonlAuditLog(path) as log:
        ...     log.record(AuditEvent(operation="list_plans", effect="read", decision="succeeded"))
        ...     [e.operation for e in log.read()]
        ['list_plans']
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False, keys: KeysOption = None) -> None:
        self.path = Path(path)
        self._fsync = fsync
        self._keys_option = keys
        self._keys: AuditKeys | None = None
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        self._head_fd: int | None = None
        # (file size, seq, hash) after our last write: when the size is unchanged, nobody else appended.
        self._head: tuple[int, int, str] | None = None

    @property
    def head_path(self) -> Path:
        """The side file holding the last record's seq and hash."""
        return self.path.with_name(self.path.name + ".head")

    def keys(self) -> AuditKeys | None:
        """The keys this log signs with (resolved on first use), None when unkeyed."""
        if self._keys is None and self._keys_option is not False:
            self._keys = self._keys_option or load_keys(self.path.parent / AUDIT_KEY_FILE, create=True)
        return self._keys

    def record(self, event: AuditEvent) -> None:
        """Append ``event`` as one scrubbed, chained JSON line, or raise ``AuditWriteError`` (nothing written)."""
        try:
            self._record(event)
        except AuditWriteError:
            raise
        except (OSError, ValueError, UnicodeError) as exc:
            raise _write_error(str(self.path), exc) from exc

    def _record(self, event: AuditEvent) -> None:
        with self._lock:
            if self._fd is None:
                raise AuditWriteError(f"the audit log {self.path} is closed", log=str(self.path), reason="closed")
            fd, keys = self._fd, self.keys()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                size = os.fstat(fd).st_size
                extra: dict[str, Any] = {}
                if self._head is not None and self._head[0] == size:
                    seq, prev = self._head[1:]
                else:
                    seq, prev, end = _tail(fd, size)
                    if end < size:
                        extra["torn"] = self._keep_aside(fd, end, size)
                        size = end
                    seq, prev = self._resume(seq, prev)
                line, digest = chain_record(event, seq + 1, prev, keys, extra=extra)
                data = (line + "\n").encode()
                try:
                    written = os.write(fd, data)  # one write: the line is whole or (truncated back) absent
                    if written != len(data):
                        raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} (only {written} of {len(data)} "
                                                    "bytes written)")
                    if self._fsync:
                        os.fsync(fd)
                except OSError:
                    self._head = None
                    with contextlib.suppress(OSError):  # if this fails too, the next write moves the tail aside
                        os.ftruncate(fd, size)
                    raise
                self._head = (size + len(data), seq + 1, digest)
                self._note_head(seq + 1, digest)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _keep_aside(self, fd: int, start: int, end: int) -> dict[str, Any]:
        """Move the bytes after the last whole record into a side file; what the next record notes."""
        stamp = _utcnow().strftime("%Y%m%dT%H%M%S%fZ")
        for attempt in range(100):
            side = self.path.with_name(f"{self.path.name}.torn-{stamp}" + (f"-{attempt}" if attempt else ""))
            try:
                out = os.open(side, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                break
            except FileExistsError:
                continue
        else:
            raise OSError(errno.EEXIST, f"no free name for the torn tail of {self.path}")
        try:
            offset = start
            while offset < end:
                chunk = os.pread(fd, min(1 << 20, end - offset), offset)
                if not chunk:
                    break
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out, view):]
                offset += len(chunk)
            os.fsync(out)
        except OSError:
            os.close(out)
            with contextlib.suppress(OSError):
                side.unlink()  # keep nothing half-copied; the tail stays in place until the next try
            raise
        os.close(out)
        os.ftruncate(fd, start)  # only once the bytes are safe in the side file
        return {"bytes": end - start, "kept_in": side.name}

    def _head_file(self) -> int | None:
        if self._head_fd is None:
            with contextlib.suppress(OSError):
                self._head_fd = os.open(self.head_path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._head_fd

    def _resume(self, seq: int, prev: str) -> tuple[int, str]:
        """Where the chain goes on: the file's last record, or the noted head when the file lost records."""
        fd = self._head_file()
        noted = _parse_head(os.pread(fd, 200, 0)) if fd is not None else None
        if noted is not None and (noted[0] > seq or (noted[0] == seq and noted[1] != prev)):
            return noted  # the file was cut or its end replaced: the next record shows the gap
        return seq, prev

    def _note_head(self, seq: int, digest: str) -> None:
        fd = self._head_file()
        if fd is not None:
            # Best effort: the record is written; a stale head only weakens the cut check.
            with contextlib.suppress(OSError):
                os.pwrite(fd, _HEAD_FORMAT.format(seq=seq, digest=digest).encode(), 0)
                if self._fsync:
                    os.fsync(fd)

    def read(self) -> Iterator[AuditEvent]:
        """The events in the file, oldest first (torn or garbled lines are skipped: ``verify`` reports them).

        Example:
            >>> import tempfile, pathlib
            >>> list(JsonlAuditLog(pathlib.Path(tempfile.mkdtemp()) / "a.jsonl").read())
            []
        """
        for line in self.lines():
            with contextlib.suppress(ValueError):
                yield event_of(line)

    def lines(self) -> Iterator[str]:
        """The file's whole records as written (chained JSON lines), oldest first, streamed.

        A last line without its newline is an unfinished write and is not yielded; a line that is not
        UTF-8 is yielded with its bad bytes replaced (so it cannot verify).

        Example:
            >>> import tempfile, pathlib
            >>> list(JsonlAuditLog(pathlib.Path(tempfile.mkdtemp()) / "a.jsonl").lines())
            []
        """
        scan = FileLines(self.path)
        for raw in scan:
            yield raw.decode("utf-8", errors="replace")

    def close(self) -> None:
        """Close the file; later ``record`` calls raise."""
        with self._lock:
            for fd in (self._fd, self._head_fd):
                if fd is not None:
                    os.close(fd)
            self._fd = self._head_fd = None

    def __enter__(self) -> JsonlAuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _parse_head(data: bytes) -> tuple[int, str] | None:
    parts = data.split(b"\n", 1)[0].split(b" ")
    if len(parts) != 2 or not parts[0].isdigit() or len(parts[1]) != 64:
        return None
    return int(parts[0]), parts[1].decode("ascii", errors="replace")


class FileLines:
    """The newline-terminated lines of a file as bytes (without the newline), streamed in chunks.

    After iterating, ``unterminated`` is the number of bytes after the last newline (an unfinished write).

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "f"
        >>> _ = path.write_bytes(b'{"a":1}\\n\\n{"b":2}\\n{"c"')
        >>> scan = FileLines(path)
        >>> list(scan), scan.unterminated
        ([b'{"a":1}', b'{"b":2}'], 4)
    """

    def __init__(self, path: Path, chunk: int = 1 << 20) -> None:
        self.path, self.chunk, self.unterminated = path, chunk, 0

    def __iter__(self) -> Iterator[bytes]:
        rest = b""
        with self.path.open("rb") as handle:
            while block := handle.read(self.chunk):
                lines = (rest + block).split(b"\n")
                rest = lines.pop()
                for line in lines:
                    if line.strip():
                        yield line
        self.unterminated = len(rest)


class MultiAuditLog:
    """Records each event in several logs. Every log is tried; the first failure is raised afterwards.

    The failure is raised as :class:`~agent_billing.errors.AuditWriteError` (the original as its cause).

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
        errors: list[AuditWriteError] = []
        for log in self.logs:
            try:
                record_event(log, clean)
            except AuditWriteError as exc:  # one broken sink must not silence the others
                errors.append(exc)
        if errors:
            raise errors[0]


# --- the chain: every record carries the hash of the one before it, so a changed, removed, inserted
# or reordered record breaks the chain at that point (see verify_chain).

GENESIS_HASH = "0" * 64
CHAIN_FIELDS = ("seq", "prev_hash", "hash", "receipt_ids", "kid", "torn")
# A record as written: canonical JSON (sorted keys) of everything but the hash, then the hash, last.
_HASH_SUFFIX = len(',"hash":"') + 64 + len('"}')


def receipt_keys() -> frozenset[str]:
    """Every result key a registered provider declares as naming one of its receipts.

    Example:
        >>> "id" in receipt_keys()
        True
    """
    global _receipt_cache
    if _receipt_cache is None:
        provider_names()  # discover built-ins and entry points once (an entry-point scan costs milliseconds)
    known = tuple(_PROVIDERS.values())  # providers registered since are picked up, without a new scan
    if _receipt_cache is None or _receipt_cache[0] != known:
        _receipt_cache = (known, frozenset(key for item in known for key in item.receipt_fields))
    return _receipt_cache[1]


_receipt_cache: tuple[tuple[Provider, ...], frozenset[str]] | None = None


def receipt_ids(result: Mapping[str, Any] | None) -> dict[str, str]:
    """The provider's receipt ids found in a (scrubbed) result, by their dotted path.

    A receipt is a result key some provider declares in its ``receipt_fields`` (``id`` for every one).

    Example:
        >>> receipt_ids({"payment": {"id": "p_1", "note": "n"}, "id": 7, "paid": True})
        {'payment.id': 'p_1', 'id': '7'}
    """
    found: dict[str, str] = {}
    keys = receipt_keys()

    def walk(value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                name = f"{path}.{key}" if path else str(key)
                if key in keys and isinstance(item, (str, int)) and not isinstance(item, bool):
                    found[name] = str(item)
                else:
                    walk(item, name)

    walk(result or {}, "")
    return found


def _canonical(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _digest(body: bytes, key: bytes | None) -> str:
    return hmac.digest(key, body, "sha256").hex() if key is not None else hashlib.sha256(body).hexdigest()


def record_hash(record: Mapping[str, Any], key: bytes | None = None) -> str:
    """A record's chain value: HMAC-SHA256 under ``key`` (plain SHA-256 without one) of its canonical JSON
    without its own ``hash`` field.

    Example:
        >>> record_hash({"seq": 1, "hash": "x"}) == record_hash({"seq": 1})
        True
        >>> record_hash({"seq": 1}, b"k" * 32) != record_hash({"seq": 1})
        True
    """
    return _digest(_canonical({k: v for k, v in record.items() if k != "hash"}).encode(), key)


def chain_record(event: AuditEvent, seq: int, prev_hash: str, keys: AuditKeys | None = None, *,
                 extra: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """The JSON line of ``event`` as record ``seq`` of a chain whose last hash is ``prev_hash``; and its hash.

    The line is the scrubbed event plus ``seq``, ``prev_hash``, ``receipt_ids``, the signing key's id
    ``kid`` (with ``keys``), any ``extra`` chain fields, and ``hash`` (:func:`record_hash`), last.
    The record is built, and encoded, once.

    Example:
        >>> line, digest = chain_record(AuditEvent(operation="x", effect="read", decision="failed"), 1, GENESIS_HASH)
        >>> record = json.loads(line)
        >>> record["seq"], record["prev_hash"] == GENESIS_HASH, record["hash"] == digest == record_hash(record)
        (1, True, True)
    """
    record = event_record(event)
    record.update(seq=seq, prev_hash=prev_hash, receipt_ids=receipt_ids(record.get("result")))
    if keys is not None:
        record["kid"] = keys.current_id
    if extra:
        record.update(extra)
    body = _canonical(record)
    digest = _digest(body.encode(), keys.current if keys is not None else None)
    return f'{body[:-1]},"hash":"{digest}"}}', digest


def event_of(line: str) -> AuditEvent:
    """The event of a chained record (or of an older, unchained line).

    Example:
        >>> line, _ = chain_record(AuditEvent(operation="x", effect="read", decision="failed"), 1, GENESIS_HASH)
        >>> event_of(line).operation
        'x'
    """
    return AuditEvent.from_json_line(line)


def _head_of(line: bytes) -> tuple[int, str] | None:
    """(seq, hash) of a line that is a record; (0, genesis) for an older unchained event; else None."""
    try:
        record = json.loads(line.decode("utf-8"))
    except ValueError:  # not UTF-8 or not JSON
        return None
    if not isinstance(record, dict):
        return None
    seq, digest = record.get("seq"), record.get("hash")
    if isinstance(seq, int) and not isinstance(seq, bool) and isinstance(digest, str):
        return seq, digest
    if "hash" not in record and "decision" in record:
        return 0, GENESIS_HASH  # an older, unchained line ends the file: a chain starts after it (verify reports it)
    return None


def _rfind_newline(fd: int, before: int, chunk: int = 65536) -> int:
    """The offset of the last newline before ``before``, or -1."""
    end = before
    while end > 0:
        start = max(0, end - chunk)
        found = os.pread(fd, end - start, start).rfind(b"\n")
        if found >= 0:
            return start + found
        end = start
    return -1


def _tail(fd: int, size: int) -> tuple[int, str, int]:
    """(seq, hash) of the last whole record of an open log file ((0, genesis) if none), and where it ends.

    Everything after that end (bytes without a final newline, lines that are not records) is a torn tail.
    """
    line_end = _rfind_newline(fd, size)
    while line_end >= 0:
        line_start = _rfind_newline(fd, line_end) + 1
        if line_end - line_start <= _MAX_LINE:
            line = os.pread(fd, line_end - line_start, line_start)
            if not line.strip():
                line_end = line_start - 1
                continue
            head = _head_of(line)
            if head is not None:
                return head[0], head[1], line_end + 1
        line_end = line_start - 1
    return 0, GENESIS_HASH, 0


@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify_chain` found: ``ok``, how many records, the last hash, and the first problem.

    ``position`` is the 1-based place of the first bad record in the log (``None`` when intact).
    ``last_hash`` is the head of the chain: note it down (or export the log) and give it back to
    ``verify`` (``--head``) to detect records cut from the end, which a chain alone cannot reveal.
    ``keyed`` records were checked with their key, ``unkeyed`` ones (older logs) against plain SHA-256;
    ``unchecked`` keyed records had no key available (``missing_keys``): only their links were checked.
    ``torn_lines``/``torn_bytes``: what follows the last whole record (an unfinished write: not counted).
    ``torn_notes``: the torn tails records say were kept aside (``(seq, {"bytes":..., "kept_in":...})``).
    ``head_at``: where the expected head was found; ``last_seq``: the last record's ``seq``.

    Example:
        >>> ChainReport(True, 0, GENESIS_HASH).ok
        True
    """

    ok: bool
    records: int
    last_hash: str
    problem: str | None = None
    position: int | None = None
    keyed: int = 0
    unkeyed: int = 0
    unchecked: int = 0
    missing_keys: tuple[str, ...] = ()
    torn_lines: int = 0
    torn_bytes: int = 0
    torn_notes: tuple[tuple[int, dict[str, Any]], ...] = ()
    head_at: int | None = None
    last_seq: int = 0


def _parse_line(line: str | bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:  # includes UnicodeDecodeError for bytes that are not UTF-8
        return None
    return value if isinstance(value, dict) else None


def _hash_matches(line: str | bytes, record: dict[str, Any], key: bytes | None) -> bool:
    digest = record["hash"]
    # Fast path: a line as written is canonical JSON with the hash last; hash those bytes as they are.
    raw = line.encode() if isinstance(line, str) else line
    if (len(raw) > _HASH_SUFFIX and raw.endswith(f',"hash":"{digest}"}}'.encode())
            and _digest(raw[:-_HASH_SUFFIX] + b"}", key) == digest):
        return True
    return bool(record_hash(record, key) == digest)


def verify_chain(lines: Iterable[str | bytes], keys: AuditKeys | None = None, *, head: str | None = None,
                 require_key: bool = False) -> ChainReport:
    """Walk a log's records in order; report the first one that was changed, removed, inserted or moved.

    Streams: memory does not grow with the number of records. A keyed record (``kid``) is checked with
    its key from ``keys``; without it only its place in the chain is checked (``unchecked``, and the
    report is not ``ok``, with ``position`` None: nothing was found wrong, but not all could be). An unkeyed
    record after a keyed one is a downgrade (rewritten without the key) and breaks the chain;
    ``require_key`` refuses unkeyed records altogether. ``head`` is a hash noted earlier: it must be in
    the chain, else records were cut from the end. Lines after the last record that are not records
    (a torn write) are reported (``torn_lines``), not counted; such lines before a record break the chain.

    Example:
        >>> keys = AuditKeys("k" * 32)
        >>> log = MemoryAuditLog(keys=keys)
        >>> for op in ("a", "b", "c"):
        ...     log.record(AuditEvent(operation=op, effect="read", decision="succeeded"))
        >>> report = verify_chain(log.lines, keys)
        >>> report.ok, report.keyed
        (True, 3)
        >>> verify_chain([log.lines[0], log.lines[2]], keys).problem
        'record 2 (seq 3): 1 record(s) removed before it (seq 2 to 2 missing)'
        >>> verify_chain(log.lines[:2], keys, head=report.last_hash).problem  # doctest: +ELLIPSIS
        'the expected head ... is not in the chain: record(s) were cut from its end, or the chain was replaced'
    """
    iterator = iter(lines)
    prev, expected, prev_link = GENESIS_HASH, 1, None
    count = keyed = unkeyed = unchecked = 0
    missing: dict[str, None] = {}
    notes: list[tuple[int, dict[str, Any]]] = []
    torn: tuple[int, str] | None = None  # (position, problem) of the first line that is not a record
    torn_lines = torn_bytes = 0
    head_at: int | None = None

    def bad(position: int, problem: str, counted: int) -> ChainReport:
        total = counted + sum(1 for line in iterator if line.strip())  # the rest is only counted
        return ChainReport(False, total, prev, problem, position, keyed, unkeyed, unchecked, tuple(missing),
                           head_at=head_at)

    for line in iterator:
        if not line.strip():
            continue
        count += 1
        record = _parse_line(line)
        if record is None or not all(name in record for name in ("seq", "prev_hash", "hash")):
            if torn is None:
                torn = (count, f"record {count} was changed: it is not a JSON object" if record is None
                        else f"record {count} carries no chain fields: inserted or changed")
            torn_lines, torn_bytes = torn_lines + 1, torn_bytes + len(line) + 1
            continue
        if torn is not None:  # a line that is not a record, followed by records: not a torn end
            return bad(torn[0], torn[1], count)
        position, seq = count, record["seq"]
        where = f"record {position} (seq {seq})"
        kid = record.get("kid")
        if kid is None:
            if keyed or unchecked:
                return bad(position, f"{where} has no key id after keyed records: inserted or rewritten "
                                     "without the key", count)
            if require_key:
                return bad(position, f"{where} is not keyed (an older log, or rewritten without the key)", count)
            key: bytes | None = None
            unkeyed += 1
        else:
            key = keys.get(str(kid)) if keys is not None else None
            if key is None:
                missing[str(kid)] = None
                unchecked += 1
            else:
                keyed += 1
        if (kid is None or key is not None) and not _hash_matches(line, record, key):
            return bad(position, f"{where} was changed: its content does not match its hash", count)
        if record["prev_hash"] != prev or seq != expected:
            if position > 1 and record["prev_hash"] == prev_link and seq == expected - 1:
                return bad(position - 1, f"record {position - 1} was inserted: {where} follows the record before it",
                           count)
            if isinstance(seq, int) and seq > expected:
                rest = count
                for later in iterator:
                    if not later.strip():
                        continue
                    rest += 1
                    found = _parse_line(later)
                    if found is not None and found.get("seq") == expected:
                        return bad(position, f"{where} is out of order: seq {expected} comes later (reordered)", rest)
                return ChainReport(False, rest, prev, f"{where}: {seq - expected} record(s) removed before it "
                                   f"(seq {expected} to {seq - 1} missing)", position, keyed, unkeyed, unchecked,
                                   tuple(missing), head_at=head_at)
            if isinstance(seq, int) and seq < expected:
                return bad(position, f"{where} is out of place (expected seq {expected}): inserted or reordered", count)
            return bad(position, f"{where} does not follow record {position - 1}: inserted or replaced", count)
        if isinstance(record.get("torn"), dict):
            notes.append((seq, record["torn"]))
        prev_link, prev, expected = record["prev_hash"], record["hash"], expected + 1
        if head is not None and prev == head:
            head_at = position
    records = count - torn_lines
    if unchecked:  # nothing found wrong, but not everything could be looked at: not "ok"
        return ChainReport(False, records, prev, f"{unchecked} keyed record(s) not checked: no key with id "
                           f"{', '.join(missing)} was given", None, keyed, unkeyed, unchecked, tuple(missing),
                           torn_lines, torn_bytes, tuple(notes), head_at, expected - 1)
    if head is not None and head_at is None:
        return ChainReport(False, records, prev, f"the expected head {head[:16]}... is not in the chain: record(s) "
                           "were cut from its end, or the chain was replaced", records, keyed, unkeyed, unchecked,
                           tuple(missing), torn_lines, torn_bytes, tuple(notes))
    return ChainReport(True, records, prev, None, None, keyed, unkeyed, unchecked, tuple(missing), torn_lines,
                       torn_bytes, tuple(notes), head_at, expected - 1)


_SQLITE_AUDIT = """
CREATE TABLE IF NOT EXISTS audit_log (
    chain TEXT NOT NULL,
    seq INTEGER NOT NULL,
    line TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (chain, seq)
);
"""


class SqliteAuditLog:
    """A chained audit log in a SQLite table, one chain per ``chain`` name (the toolkit uses the account).

    Appending reads the chain's head and inserts the next record in one ``BEGIN IMMEDIATE`` transaction,
    so concurrent writers (threads or processes) cannot fork the chain. A failure is raised as
    :class:`~agent_billing.errors.AuditWriteError` and leaves nothing behind (the transaction rolls
    back). Records are keyed like :class:`JsonlAuditLog`'s (``audit.key`` beside the database file).

    Example:
        >>> import tempfile, pathlib
        >>> log = SqliteAuditLog(pathlib.Path(tempfile.mkdtemp()) / "state.db", chain="acct")
        >>> log.record(AuditEvent(operation="list_plans", effect="read", decision="succeeded"))
        >>> verify_chain(log.lines(), log.keys()).keyed, log.chains()
        (1, ['acct'])
    """

    def __init__(self, path: str | os.PathLike[str], *, chain: str = "default", timeout: float = 30.0,
                 keys: KeysOption = None) -> None:
        self.path = Path(path)
        self.chain = chain
        self._keys_option = keys
        self._keys: AuditKeys | None = None
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript("BEGIN IMMEDIATE;" + _SQLITE_AUDIT + "COMMIT;")

    def keys(self) -> AuditKeys | None:
        """The keys this log signs with (resolved on first use), None when unkeyed."""
        if self._keys is None and self._keys_option is not False:
            self._keys = self._keys_option or load_keys(self.path.parent / AUDIT_KEY_FILE, create=True)
        return self._keys

    def record(self, event: AuditEvent) -> None:
        """Append ``event`` as the chain's next record, or raise ``AuditWriteError`` (nothing written)."""
        try:
            keys = self.keys()
            with self._lock:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    row = self._conn.execute("SELECT seq, hash FROM audit_log WHERE chain = ? ORDER BY seq DESC "
                                             "LIMIT 1", (self.chain,)).fetchone()
                    seq, prev = (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)
                    line, digest = chain_record(event, seq + 1, prev, keys)
                    self._conn.execute("INSERT INTO audit_log (chain, seq, line, hash) VALUES (?, ?, ?, ?)",
                                       (self.chain, seq + 1, line, digest))
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
        except (sqlite3.Error, OSError, ValueError) as exc:
            raise _write_error(f"{self.path} (chain {self.chain!r})", exc) from exc

    def lines(self, chain: str | None = None) -> list[str]:
        """The records of a chain (default: this log's), oldest first."""
        return list(self.iter_lines(chain))

    def iter_lines(self, chain: str | None = None, batch: int = 2000) -> Iterator[str]:
        """The records of a chain, oldest first, fetched in batches (memory flat in the chain's length)."""
        last = 0
        while True:
            with self._lock:
                rows = self._conn.execute("SELECT seq, line FROM audit_log WHERE chain = ? AND seq > ? ORDER BY seq "
                                          "LIMIT ?", (chain or self.chain, last, batch)).fetchall()
            if not rows:
                return
            for _, line in rows:
                yield str(line)
            last = int(rows[-1][0])

    def chains(self) -> list[str]:
        """The names of the chains in the table."""
        with self._lock:
            return [str(row[0]) for row in self._conn.execute("SELECT DISTINCT chain FROM audit_log ORDER BY chain")]

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._conn.close()
