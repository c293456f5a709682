"""Where audit records go: memory, a JSON Lines file, a SQLite table, or several at once.

Each backend appends :func:`~agent_billing.audit_chain.chain_record` lines to its chain, written whole or
not at all, and raises :class:`~agent_billing.errors.AuditWriteError` when it cannot.

Example:
    >>> log = MemoryAuditLog()
    >>> log.record(AuditEvent(operation="x", effect="read", decision="succeeded"))
    >>> len(log.lines), log.events[0].decision
    (1, 'succeeded')
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent_billing.audit_chain import (
    AUDIT_KEY_FILE,
    GENESIS_HASH,
    AuditKeys,
    KeysOption,
    chain_record,
    event_of,
    load_keys,
)
from agent_billing.audit_event import AuditEvent, AuditLog, _utcnow, _write_error, record_event, redact_event
from agent_billing.errors import AuditWriteError


class MemoryAuditLog:
    """Keeps scrubbed events in ``.events`` (tests, demos, a host that ships them elsewhere).

    Example:
        >>> log = MemoryAuditLog()
        >>> log.record(AuditEvent(operation="example_read", effect="read", decision="succeeded"))
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
        ...     log.record(AuditEvent(operation="example_read", effect="read", decision="succeeded"))
        ...     [e.operation for e in log.read()]
        ['example_read']
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
        >>> MultiAuditLog(a, b).record(AuditEvent(operation="example_read", effect="read", decision="requested"))
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
        >>> log.record(AuditEvent(operation="example_read", effect="read", decision="succeeded"))
        >>> from agent_billing.audit_chain import verify_chain
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
