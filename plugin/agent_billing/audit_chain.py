"""The audit chain: its keys, the chained record of an event, and the check of a whole chain.

Every record carries the hash of the one before it (an HMAC-SHA256 under the chain's current key, or plain
SHA-256 unkeyed), so a changed, removed, inserted or reordered record breaks the chain at that point. A
record is built from its event once and encoded once (:func:`chain_record`); :func:`verify_chain` reads
records back without trusting them.

Example:
    >>> line, digest = chain_record(AuditEvent(operation="x", effect="read", decision="failed"), 1, GENESIS_HASH)
    >>> verify_chain([line]).ok
    True
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agent_billing.audit_event import AuditEvent, _write_error, event_record
from agent_billing.provider import _PROVIDERS, Provider, provider_names

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


# --- the chain: every record carries the hash of the one before it, so a changed, removed, inserted
# or reordered record breaks the chain at that point (see verify_chain).

GENESIS_HASH = "0" * 64
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
        >>> from agent_billing.audit_backends import MemoryAuditLog
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
