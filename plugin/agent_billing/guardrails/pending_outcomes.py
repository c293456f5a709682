"""Money-moving calls sent (or about to be) whose outcome is not recorded, kept so a repeat replays instead of charging.

Write-ahead: before a charge is sent, the toolkit records it here with its idempotency key and the
exact arguments (``remember``); if that write fails, nothing is sent. When the answer is definite
(success or a known failure) the record is settled (``forget``). Anything in between (the answer is
lost or unreadable, the process dies, the store or the audit log fails after the send) leaves the
record in place, and the money may or may not have moved. Repeating the call, with the same tool
arguments or with any arguments that resolve to the same charge intent, finds the record (by the
arguments' fingerprint or by the intent's digest, both indexed) and sends exactly that request again
under the same key, which the API answers with a replay instead of a second charge. SQLite makes that
hold across restarts and across toolkits sharing a state directory; records expire after an hour and
are swept in bounded batches, so the cost of a call does not grow with the history.

Example:
    >>> from datetime import datetime, timezone
    >>> store = PendingOutcomes()
    >>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> store.remember("acct_1:top_up", "fp1", "d1", "ab_123", {"amount": "25.00"}, now=now)
    >>> store.find("acct_1:top_up", fingerprint="fp1", now=now).idempotency_key
    'ab_123'
    >>> store.find("acct_1:top_up", digest="d1", now=now).arguments
    {'amount': '25.00'}
    >>> store.forget("acct_1:top_up", "ab_123")
    >>> store.find("acct_1:top_up", fingerprint="fp1", now=now) is None
    True
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from agent_billing import wire
from agent_billing.guardrails.sqlite_state import connect, translated

if TYPE_CHECKING:
    from agent_billing.guardrails.spend_store import SqliteSpendStore

DEFAULT_TTL = timedelta(hours=1)
# Expired records removed per write: bounded, so no call pays for a backlog (a write adds one record).
SWEEP_BATCH = 100
# The columns a PendingCall is read from, in its field order.
_COLUMNS = "idempotency_key, arguments, digest, fingerprint"
# v3: one record per key (several calls with one fingerprint may be unsettled at once), found by
# (scope, fingerprint) or (scope, digest) through indexes, swept by the expiry index.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending_outcomes_v3 (
    scope TEXT NOT NULL, fingerprint TEXT NOT NULL, digest TEXT NOT NULL, idempotency_key TEXT NOT NULL,
    arguments BLOB NOT NULL, expires_us INTEGER NOT NULL, PRIMARY KEY (scope, idempotency_key));
CREATE INDEX IF NOT EXISTS pending_v3_by_fingerprint ON pending_outcomes_v3 (scope, fingerprint, expires_us);
CREATE INDEX IF NOT EXISTS pending_v3_by_digest ON pending_outcomes_v3 (scope, digest, expires_us);
CREATE INDEX IF NOT EXISTS pending_v3_by_expiry ON pending_outcomes_v3 (expires_us);
"""
# Records an older version kept (v2: one per fingerprint) carry over unchanged.
_FROM_V2 = ("INSERT OR IGNORE INTO pending_outcomes_v3 SELECT scope, fingerprint, digest, idempotency_key, arguments, "
            "expires_us FROM pending_outcomes_v2; DROP TABLE pending_outcomes_v2;")


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


@dataclass(frozen=True)
class PendingCall:
    """A call whose outcome is not recorded: the key and the exact arguments to replay it with, and what it is
    found by (the tool arguments' fingerprint, the intent's digest).

    Example:
        >>> PendingCall("ab_1", {"amount": "25.00"}, "d1", "fp1").idempotency_key
        'ab_1'
    """

    idempotency_key: str
    arguments: dict[str, Any]
    digest: str
    fingerprint: str = ""


@runtime_checkable
class PendingStore(Protocol):
    """Where unsettled calls are kept: this SQLite table, or PostgreSQL (``guardrails/postgres.py``).

    Every method raises ``StoreUnavailableError`` (``guardrails/sqlite_state.py``) when the state cannot be
    used, never a database driver's exception.

    Example:
        >>> isinstance(PendingOutcomes(), PendingStore)
        True
    """

    def remember(self, scope: str, fingerprint: str, digest: str, key: str, arguments: dict[str, Any], *,
                 now: datetime) -> None:
        """Keep this call (durably: it is written before the request is sent) until its TTL runs out.

        Example:
            >>> from datetime import datetime, timedelta, timezone
            >>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
            >>> store = PendingOutcomes()
            >>> store.remember("acct:top_up", "fp1", "d1", "ab_1", {"amount": "25.00"}, now=now)
            >>> store.find("acct:top_up", fingerprint="fp1", now=now).idempotency_key
            'ab_1'
        """
        ...

    def find(self, scope: str, *, fingerprint: str | None = None, digest: str | None = None,
             now: datetime) -> PendingCall | None:
        """The oldest unexpired kept call with these tool arguments, or resolving to this intent digest.

        Example:
            >>> from datetime import datetime, timedelta, timezone
            >>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
            >>> store = PendingOutcomes()
            >>> store.remember("acct:top_up", "fp1", "d1", "ab_1", {"amount": "25.00"}, now=now)
            >>> store.find("acct:top_up", digest="d1", now=now).arguments, store.find("acct:top_up", digest="d2", now=now)
            ({'amount': '25.00'}, None)
        """
        ...

    def forget(self, scope: str, key: str) -> None:
        """The outcome is known now.

        Example:
            >>> from datetime import datetime, timedelta, timezone
            >>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
            >>> store = PendingOutcomes()
            >>> store.remember("acct:top_up", "fp1", "d1", "ab_1", {}, now=now)
            >>> store.forget("acct:top_up", "ab_1"); store.find("acct:top_up", fingerprint="fp1", now=now) is None
            True
        """
        ...


class PendingOutcomes:
    """A small SQLite table of unsettled calls, per scope (account and operation), with expiry.

    ``path=None`` keeps it in memory (tests, or hosts that accept losing it on restart). The file is
    created readable by this user only. ``host``: keep the table in a spend store's file instead, on its
    connection (``store``), so a guard joining the two commits a reservation and its write-ahead record in
    one transaction; ``legacy``: a file an earlier version kept the records in, moved over when opened.

    Example:
        >>> PendingOutcomes().ttl
        datetime.timedelta(seconds=3600)
        >>> from agent_billing.guardrails.spend_store import SqliteSpendStore
        >>> spend = SqliteSpendStore(tmp_dir / "spend.sqlite3")
        >>> PendingOutcomes(host=spend).store is spend
        True
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, ttl: timedelta = DEFAULT_TTL,
                 timeout: float | None = None, host: SqliteSpendStore | None = None,
                 legacy: Path | None = None) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        # ``host``: kept in the spend store's file, on its connection, so the guard commits a reservation and
        # this record (and a confirmation and its settling) together, with one wait for the disk.
        self.store = host
        if host is not None:
            self._name = str(host.path)
            self._conn = None
            with self._write() as conn:
                self._create(conn)
            if legacy is not None and legacy.exists():
                self._carry_over(legacy)
            return
        self._name = str(path) if path is not None else "in-memory pending outcomes"
        with translated(self._name):
            self._conn = connect(Path(path) if path is not None else None, timeout=timeout)
            if path is not None:
                self._conn.execute("PRAGMA journal_mode=WAL")
                # A write-ahead record guards money: wait for the disk on every commit.
                self._conn.execute("PRAGMA synchronous=FULL")
        with self._write() as conn:
            self._create(conn)

    @staticmethod
    def _create(conn: sqlite3.Connection) -> None:
        # In the write transaction: two processes opening one old file migrate it once.
        migrate = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'pending_outcomes_v2'").fetchone()
        for statement in (_SCHEMA + (_FROM_V2 if migrate else "")).split(";"):
            if statement.strip():
                conn.execute(statement)

    def _carry_over(self, legacy: Path) -> None:
        """Move the records of the file an earlier version kept them in (``legacy``) into this one: copied
        first, then removed there, so a crash in between leaves them in both (copied again, once, next time)."""
        old = PendingOutcomes(legacy)
        try:
            with old._write() as source:
                rows = source.execute("SELECT scope, fingerprint, digest, idempotency_key, arguments, expires_us "
                                      "FROM pending_outcomes_v3").fetchall()
                if rows:
                    with self._write() as target:
                        target.executemany("INSERT OR IGNORE INTO pending_outcomes_v3 VALUES (?, ?, ?, ?, ?, ?)", rows)
                    if self.store is not None:
                        self.store.flush()  # durable here before it is gone there, even inside a joined block
                    source.execute("DELETE FROM pending_outcomes_v3")
        finally:
            old.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        if self.store is not None:
            with self.store._transaction() as conn:
                yield conn
            return
        assert self._conn is not None
        with self._lock, translated(self._name):
            yield self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self.store is not None:
            with self.store._immediate() as conn:
                yield conn
            return
        with self._read() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def remember(self, scope: str, fingerprint: str, digest: str, key: str, arguments: dict[str, Any], *,
                 now: datetime) -> None:
        """Keep this call (tool-arguments fingerprint, intent digest, key, arguments sent) until the TTL runs out."""
        with self._write() as conn:
            conn.execute("DELETE FROM pending_outcomes_v3 WHERE rowid IN (SELECT rowid FROM pending_outcomes_v3 "
                         "WHERE expires_us < ? LIMIT ?)", (_micros(now), SWEEP_BATCH))
            conn.execute("INSERT OR REPLACE INTO pending_outcomes_v3 VALUES (?, ?, ?, ?, ?, ?)",
                         (scope, fingerprint, digest, key, wire.dumps(arguments), _micros(now + self.ttl)))

    def find(self, scope: str, *, fingerprint: str | None = None, digest: str | None = None,
             now: datetime) -> PendingCall | None:
        """The unsettled call with these tool arguments, or (``digest``) resolving to this intent (one index read)."""
        column, value = ("fingerprint", fingerprint) if fingerprint is not None else ("digest", digest)
        with self._read() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM pending_outcomes_v3 WHERE scope = ? AND {column} = ? "
                               "AND expires_us >= ? ORDER BY expires_us LIMIT 1", (scope, value, _micros(now))).fetchone()
        if row is None:
            return None
        return PendingCall(str(row[0]), dict(wire.loads(row[1])), str(row[2]), str(row[3]))

    def forget(self, scope: str, key: str) -> None:
        """The outcome is known now (a definite answer, or a repeat learned it)."""
        with self._write() as conn:
            conn.execute("DELETE FROM pending_outcomes_v3 WHERE scope = ? AND idempotency_key = ?", (scope, key))

    def close(self) -> None:
        """Close the database.

        Example:
            >>> PendingOutcomes(tmp_dir / "pending.db").close()
        """
        with self._lock:
            if self._conn is not None:  # a hosted table's connection is its host's
                self._conn.close()
