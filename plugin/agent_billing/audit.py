"""The audit trail: who asked for what, how much, what was decided, and what happened.

One :class:`AuditEvent` per step of a tool call that matters (requested, approved or rejected,
succeeded or failed). Card data and secrets never reach a log: every event is scrubbed when it is
built, and every log scrubs again right before writing, so an event assembled some other way (or a
PAN smuggled into an argument, a reason or a result) is still caught. Scrubbing means:

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

import fcntl
import hashlib
import json
import os
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

from agent_billing.guardrails.redaction import redact_outgoing, redact_outgoing_text
from agent_billing.guardrails.secrets import REDACTED, is_secret_key
from agent_billing.money import to_decimal
from agent_billing.registry import Effect

# "unknown": a request that may have taken effect got no readable answer (neither succeeded nor failed);
# "replayed": a repeat of such a request under its original key; "changed": the charge changed after the yes.
Decision = Literal["requested", "approved", "auto_approved", "rejected", "refused", "succeeded", "failed", "unknown",
                   "replayed", "changed"]

_TEXT_FIELDS = ("operation", "currency", "approver", "idempotency_key", "request_id", "mandate", "reason")


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
        # The same events as chained records (see :func:`chain_record`), for ``verify_chain``.
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def record(self, event: AuditEvent) -> None:
        """Append a scrubbed copy of ``event``."""
        clean = redact_event(event)
        with self._lock:
            prev = json.loads(self.lines[-1])["hash"] if self.lines else GENESIS_HASH
            self.lines.append(chain_record(clean, len(self.lines) + 1, prev)[0])
            self.events.append(clean)


class JsonlAuditLog:
    """An append-only JSON Lines file: one chained record per line, written whole and flushed at once.

    Each line is a :func:`chain_record`: the event plus ``seq``, ``prev_hash`` and ``hash``. The file is
    opened with ``O_APPEND`` and each line goes out in one ``write`` under an exclusive ``flock``, taken
    while the last record's hash is read, so threads and other processes appending to the same file
    neither interleave inside a line nor fork the chain. The parent directory is created; a new file is
    readable by its owner only. ``fsync=True`` also waits for the disk after each line.

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
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        # (file size, seq, hash) after our last write: when the size is unchanged, nobody else appended.
        self._head: tuple[int, int, str] | None = None

    def record(self, event: AuditEvent) -> None:
        """Append ``event`` as one scrubbed, chained JSON line."""
        with self._lock:
            if self._fd is None:
                raise ValueError(f"audit log {self.path} is closed")
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                size = os.fstat(self._fd).st_size
                seq, prev = self._head[1:] if self._head is not None and self._head[0] == size else _tail(self._fd, size)
                line, digest = chain_record(event, seq + 1, prev)
                view = memoryview((line + "\n").encode())
                while view:
                    written = os.write(self._fd, view)
                    view = view[written:]
                if self._fsync:
                    os.fsync(self._fd)
                self._head = (os.fstat(self._fd).st_size, seq + 1, digest)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def read(self) -> Iterator[AuditEvent]:
        """The events in the file, oldest first.

        Example:
            >>> import tempfile, pathlib
            >>> list(JsonlAuditLog(pathlib.Path(tempfile.mkdtemp()) / "a.jsonl").read())
            []
        """
        for line in self.lines():
            yield event_of(line)

    def lines(self) -> Iterator[str]:
        """The file's records as written (chained JSON lines), oldest first, for :func:`verify_chain`.

        Example:
            >>> import tempfile, pathlib
            >>> list(JsonlAuditLog(pathlib.Path(tempfile.mkdtemp()) / "a.jsonl").lines())
            []
        """
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield line.rstrip("\n")

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


# --- the chain: every record carries the hash of the one before it, so a changed, removed, inserted
# or reordered record breaks the chain at that point (see verify_chain).

GENESIS_HASH = "0" * 64
CHAIN_FIELDS = ("seq", "prev_hash", "hash", "receipt_ids")
# Result keys that name the provider's receipts (a payment intent, an invoice, a ledger transaction...).
_RECEIPT_KEYS = ("id", "transaction_id", "payment_intent_id", "invoice_id", "charge_id", "refund_id", "payout_id",
                 "subscription_id", "session_id", "receipt_id", "withdrawal_id")


def receipt_ids(result: Mapping[str, Any] | None) -> dict[str, str]:
    """The provider's receipt ids found in a (scrubbed) result, by their dotted path.

    Example:
        >>> receipt_ids({"payment": {"payment_intent_id": "pi_1"}, "invoice_id": "in_2", "transaction_id": 7})
        {'payment.payment_intent_id': 'pi_1', 'invoice_id': 'in_2', 'transaction_id': '7'}
    """
    found: dict[str, str] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                name = f"{path}.{key}" if path else str(key)
                if key in _RECEIPT_KEYS and isinstance(item, (str, int)) and not isinstance(item, bool):
                    found[name] = str(item)
                else:
                    walk(item, name)

    walk(result or {}, "")
    return found


def record_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a record's canonical JSON without its own ``hash`` field.

    Example:
        >>> record_hash({"seq": 1, "hash": "x"}) == record_hash({"seq": 1})
        True
    """
    body = {k: v for k, v in record.items() if k != "hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def chain_record(event: AuditEvent, seq: int, prev_hash: str) -> tuple[str, str]:
    """The JSON line of ``event`` as record ``seq`` of a chain whose last hash is ``prev_hash``; and its hash.

    The line is the scrubbed event (:meth:`AuditEvent.to_json_line`) plus ``seq``, ``prev_hash``,
    ``receipt_ids`` and ``hash``.

    Example:
        >>> line, digest = chain_record(AuditEvent(operation="x", effect="read", decision="failed"), 1, GENESIS_HASH)
        >>> record = json.loads(line)
        >>> record["seq"], record["prev_hash"] == GENESIS_HASH, record["hash"] == digest == record_hash(record)
        (1, True, True)
    """
    record: dict[str, Any] = json.loads(event.to_json_line())
    record.update(seq=seq, prev_hash=prev_hash, receipt_ids=receipt_ids(record.get("result")))
    digest = record_hash(record)
    record["hash"] = digest
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")), digest


def event_of(line: str) -> AuditEvent:
    """The event of a chained record (or of an older, unchained line).

    Example:
        >>> line, _ = chain_record(AuditEvent(operation="x", effect="read", decision="failed"), 1, GENESIS_HASH)
        >>> event_of(line).operation
        'x'
    """
    return AuditEvent.from_json_line(line)


def _tail(fd: int, size: int) -> tuple[int, str]:
    """(seq, hash) of the last record of an open log file, (0, genesis) for an empty one."""
    end, chunk = size, b""
    while end > 0:
        start = max(0, end - 65536)
        chunk = os.pread(fd, end - start, start) + chunk
        lines = chunk.rstrip(b"\n").split(b"\n")
        if len(lines) > 1 or start == 0:
            last = lines[-1]
            if not last.strip():
                return 0, GENESIS_HASH
            record = json.loads(last)
            # An older, unchained line ends the file: the chain starts afresh after it (verify reports it).
            if "hash" not in record:
                return 0, GENESIS_HASH
            return int(record["seq"]), str(record["hash"])
        end = start
    return 0, GENESIS_HASH


@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify_chain` found: ``ok``, how many records, the last hash, and the first problem.

    ``position`` is the 1-based place of the first bad record in the log (``None`` when intact).
    ``last_hash`` is the head of the chain: note it down (or export the log) to detect later truncation,
    which a chain alone cannot reveal.

    Example:
        >>> ChainReport(True, 0, GENESIS_HASH).ok
        True
    """

    ok: bool
    records: int
    last_hash: str
    problem: str | None = None
    position: int | None = None


def verify_chain(lines: Iterable[str]) -> ChainReport:
    """Walk a log's records in order; report the first one that was changed, removed, inserted or moved.

    Example:
        >>> log = MemoryAuditLog()
        >>> for op in ("a", "b", "c"):
        ...     log.record(AuditEvent(operation=op, effect="read", decision="succeeded"))
        >>> verify_chain(log.lines).ok
        True
        >>> verify_chain([log.lines[0], log.lines[2]]).problem
        'record 2 (seq 3): 1 record(s) removed before it (seq 2 to 2 missing)'
    """
    records = [line for line in lines if line.strip()]
    parsed: list[dict[str, Any] | None] = []
    for line in records:
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        parsed.append(value if isinstance(value, dict) else None)
    later_seqs = [r.get("seq") if r else None for r in parsed]
    prev, expected, prev_link = GENESIS_HASH, 1, None

    def bad(position: int, problem: str) -> ChainReport:
        return ChainReport(False, len(records), prev, problem, position)

    for index, record in enumerate(parsed):
        position = index + 1
        if record is None:
            return bad(position, f"record {position} was changed: it is not a JSON object")
        if not all(name in record for name in ("seq", "prev_hash", "hash")):
            return bad(position, f"record {position} carries no chain fields: inserted or changed")
        seq = record["seq"]
        where = f"record {position} (seq {seq})"
        if record_hash(record) != record["hash"]:
            return bad(position, f"{where} was changed: its content does not match its hash")
        if record["prev_hash"] != prev or seq != expected:
            if index > 0 and record["prev_hash"] == prev_link and seq == expected - 1:
                return bad(position - 1, f"record {position - 1} was inserted: {where} follows the record before it")
            if isinstance(seq, int) and seq > expected:
                if expected in later_seqs[index + 1:]:
                    return bad(position, f"{where} is out of order: seq {expected} comes later (reordered)")
                return bad(position, f"{where}: {seq - expected} record(s) removed before it "
                                     f"(seq {expected} to {seq - 1} missing)")
            if isinstance(seq, int) and seq < expected:
                return bad(position, f"{where} is out of place (expected seq {expected}): inserted or reordered")
            return bad(position, f"{where} does not follow record {position - 1}: inserted or replaced")
        prev_link, prev, expected = record["prev_hash"], record["hash"], expected + 1
    return ChainReport(True, len(records), prev)


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
    so concurrent writers (threads or processes) cannot fork the chain.

    Example:
        >>> import tempfile, pathlib
        >>> log = SqliteAuditLog(pathlib.Path(tempfile.mkdtemp()) / "state.db", chain="acct")
        >>> log.record(AuditEvent(operation="list_plans", effect="read", decision="succeeded"))
        >>> verify_chain(log.lines()).records, log.chains()
        (1, ['acct'])
    """

    def __init__(self, path: str | os.PathLike[str], *, chain: str = "default", timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.chain = chain
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript("BEGIN IMMEDIATE;" + _SQLITE_AUDIT + "COMMIT;")

    def record(self, event: AuditEvent) -> None:
        """Append ``event`` as the chain's next record."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._conn.execute("SELECT seq, hash FROM audit_log WHERE chain = ? ORDER BY seq DESC LIMIT 1",
                                         (self.chain,)).fetchone()
                seq, prev = (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)
                line, digest = chain_record(event, seq + 1, prev)
                self._conn.execute("INSERT INTO audit_log (chain, seq, line, hash) VALUES (?, ?, ?, ?)",
                                   (self.chain, seq + 1, line, digest))
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def lines(self, chain: str | None = None) -> list[str]:
        """The records of a chain (default: this log's), oldest first."""
        with self._lock:
            rows = self._conn.execute("SELECT line FROM audit_log WHERE chain = ? ORDER BY seq",
                                      (chain or self.chain,)).fetchall()
        return [str(row[0]) for row in rows]

    def chains(self) -> list[str]:
        """The names of the chains in the table."""
        with self._lock:
            return [str(row[0]) for row in self._conn.execute("SELECT DISTINCT chain FROM audit_log ORDER BY chain")]

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._conn.close()
