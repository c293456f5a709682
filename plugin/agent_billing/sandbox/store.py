"""The SQLite machinery every provider's sandbox store builds on.

One connection (``check_same_thread=False``) guarded by a re-entrant lock. Writes run in
:meth:`SqliteStore.transaction` (``BEGIN IMMEDIATE``); a nested ``transaction()`` is a savepoint, so a
handler's writes are all-or-nothing, while a single statement inside a transaction runs as it is (no
savepoint of its own). A provider's store subclasses :class:`SqliteStore`, passes its schema, and adds
its queries; rows map onto frozen dataclasses by column name. ``group_commit`` runs many requests'
transactions in one commit.

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Note:
    ...     id: int
    ...     text: str
    >>> store = SqliteStore(":memory:",
    ...                     schema="CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);")
    >>> note_id = store.insert("notes", text="hello")
    >>> store.one(Note, "SELECT * FROM notes WHERE id = ?", (note_id,))
    Note(id=1, text='hello')
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
LOCK_TIMEOUT_SECONDS = 10.0  # how long a writer waits for another process's transaction before it fails

def token_digest(token: str) -> str:
    """SHA-256 of an access token (stores keep digests, never tokens).

    Example:
        >>> token_digest("sk_sandbox_demo") == hashlib.sha256(b"sk_sandbox_demo").hexdigest()
        True
    """
    return hashlib.sha256(token.encode()).hexdigest()


def mask_token(token: str) -> str:
    """A token shortened for display: enough to recognise it, not enough to use it.

    Example:
        >>> mask_token("sk_sandbox_demo"), mask_token("short")
        ('sk_s…demo', 'sh…')
    """
    if len(token) <= 8:
        return token[:2] + "…"
    return f"{token[:4]}…{token[-4:]}"


def balance_problems(owner: str, balance: int, entries: Iterable[tuple[int, int]], *, word: str = "balance") -> list[str]:
    """What is wrong with a stored balance, given its entries in order as (entry id, signed cents).

    A balance must equal its credits minus its debits and never have gone below zero.

    Example:
        >>> balance_problems("account 1", 500, [(1, 700), (2, -900), (3, 700)])
        ['account 1: balance negative after entry 2']
        >>> balance_problems("account 2", 100, [(4, 300)], word="wallet")
        ['account 2: wallet 100 != credits - debits 300']
    """
    problems: list[str] = []
    running = 0
    for entry_id, cents in entries:
        running += cents
        if running < 0:
            problems.append(f"{owner}: {word} negative after entry {entry_id}")
    if running != balance:
        problems.append(f"{owner}: {word} {balance} != credits - debits {running}")
    return problems


class SqliteStore:
    """A SQLite database (``db_path`` a file, or ``":memory:"``) with atomic, nestable transactions.

    ``schema`` is run once at construction (it must be idempotent: ``CREATE ... IF NOT EXISTS``).

    Example:
        >>> store = SqliteStore(":memory:", schema="CREATE TABLE t (n INTEGER);")
        >>> with store.transaction():
        ...     _ = store.insert("t", n=1)
        >>> try:
        ...     with store.transaction():
        ...         _ = store.insert("t", n=2)
        ...         raise ValueError("undo")
        ... except ValueError:
        ...     pass
        >>> store.scalar("SELECT COUNT(*) FROM t")
        1
    """

    def __init__(self, db_path: str, *, schema: str) -> None:
        self._lock = threading.RLock()  # held for every statement, and across a transaction
        self._local = threading.local()  # the calling thread's transaction depth (0: none)
        self._conn = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA foreign_keys = ON")
        if db_path != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
        with self._lock:
            self._conn.executescript(schema)  # idempotent; runs outside any transaction
        # SQLite's own busy handler sleeps up to 100 ms between tries, so a process that keeps committing
        # starves the others (measured: 1 commit in 3 s for one of 8 processes, 1,027 for another). Writers
        # take the lock in ``_begin`` instead, retrying at once with short random waits, for a bounded time.
        self._conn.execute("PRAGMA busy_timeout = 0")

    def _begin(self) -> None:
        """``BEGIN IMMEDIATE``, retried with short jittered waits while another process writes (10 s at most)."""
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        wait = 0.0001
        while True:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                    raise
            time.sleep(random.uniform(0, wait))
            wait = min(wait * 2, 0.002)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block atomically; nested calls are savepoints.

        On an exception the block's writes are rolled back, unless the exception has a true
        ``keep_changes`` attribute: a declined card's failed payment stays on record while the decline
        is reported.
        """
        depth: int = getattr(self._local, "depth", 0)
        if depth:  # this thread already holds the lock and is inside its transaction
            yield from self._savepoint(depth)
            return
        with self._lock:
            conn = self._conn
            self._begin()
            self._local.depth = 1
            try:
                yield
            except BaseException as exc:
                self._local.depth = 0
                conn.execute("COMMIT" if getattr(exc, "keep_changes", False) else "ROLLBACK")
                raise
            self._local.depth = 0
            try:
                conn.execute("COMMIT")
            except sqlite3.Error:
                # A refused COMMIT (a deferred constraint, a full disk) leaves the transaction open: end it,
                # or every later BEGIN fails with "cannot start a transaction within a transaction".
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _savepoint(self, depth: int) -> Iterator[None]:
        conn, name = self._conn, f"sp{depth}"
        conn.execute(f"SAVEPOINT {name}")
        self._local.depth = depth + 1
        try:
            yield
        except BaseException as exc:
            self._local.depth = depth
            if not getattr(exc, "keep_changes", False):
                conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            raise
        self._local.depth = depth
        conn.execute(f"RELEASE {name}")

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Every row of a query (inside a transaction: as that transaction sees them)."""
        if getattr(self._local, "depth", 0):  # this thread holds the lock already: no savepoint for a read
            return self._conn.execute(sql, params).fetchall()
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Run one statement (in a transaction of its own unless inside one); returns the last inserted
        rowid (0 if none)."""
        return int(self._write(sql, params).lastrowid or 0)

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        """The first column of the first row (``None`` when there is no row)."""
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    def one(self, cls: type[T], sql: str, params: tuple[Any, ...] = ()) -> T | None:
        """The first row as a ``cls`` (built from the columns by name), or ``None``."""
        rows = self.rows(sql, params)
        return cls(**dict(rows[0])) if rows else None

    def all(self, cls: type[T], sql: str, params: tuple[Any, ...] = ()) -> list[T]:
        """Every row as a ``cls``."""
        return [cls(**dict(row)) for row in self.rows(sql, params)]

    def insert(self, table: str, **values: Any) -> int:
        """Insert one row; returns its rowid."""
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        return self.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(values.values()))

    def update(self, table: str, where: dict[str, Any], **values: Any) -> int:
        """Set ``values`` on the rows matching every ``where`` column; returns how many changed."""
        sets = ", ".join(f"{k} = ?" for k in values)
        cond = " AND ".join(f"{k} = ?" for k in where)
        return int(self._write(f"UPDATE {table} SET {sets} WHERE {cond}", (*values.values(), *where.values())).rowcount)

    def _write(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Cursor:
        if getattr(self._local, "depth", 0):  # one statement is atomic already: no savepoint of its own
            return self._conn.execute(sql, params)
        with self.transaction():
            return self._conn.execute(sql, params)
