"""Spend totals that survive restarts and resist parallel calls.

A charge first *reserves* its amount against a mandate's rolling-window cap, then the reservation is
*confirmed* (the charge went through: it stays as spend) or *released* (it failed, was rejected or
declined: it stops counting). Check and insert happen in one transaction, so two parallel calls can
never both pass a cap only one of them fits under. Pending reservations count like confirmed spend:
a charge whose outcome we never heard of (a crash mid-call) keeps counting until it leaves the window,
which errs on the side of spending less.

Reserving a key again is idempotent: LangGraph re-runs an interrupted tool from the top after a resume,
with the same idempotency key, and that second run must not count the amount twice.

Example:
    >>> from datetime import datetime, timezone
    >>> store = MemorySpendStore()
    >>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> store.reserve("default", "k1", Decimal("60"), limit=Decimal("100"), now=now).granted
    True
    >>> r = store.reserve("default", "k2", Decimal("60"), limit=Decimal("100"), now=now)
    >>> r.granted, r.spent_before
    (False, Decimal('60.00'))
    >>> store.release("k1")
    >>> store.spent("default", now=now)
    Decimal('0.00')
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from agent_billing.guardrails.sqlite_state import connect, translated
from agent_billing.money import CENT, format_usd

DAY = timedelta(hours=24)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)

Status = Literal["pending", "confirmed", "released"]


class ReservationConflictError(ValueError):
    """A key was reserved again for a different mandate or amount.

    Keys are derived from the approved request, so the same key with another amount means a bug or a
    swapped request; it is refused rather than silently returning the old reservation.

    Example:
        >>> store, now = MemorySpendStore(), datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> _ = store.reserve("default", "k1", Decimal("10"), limit=None, now=now)
        >>> store.reserve("default", "k1", Decimal("20"), limit=None, now=now)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        agent_billing.guardrails.spend_store.ReservationConflictError: key 'k1' is already reserved for $10.00 ...
    """


@dataclass(frozen=True)
class Reservation:
    """The answer to :meth:`SpendStore.reserve`.

    ``granted``: the amount now counts against the mandate and the charge may proceed. ``spent_before``:
    what already counted in the window when the reservation was made. ``reason``: why it was refused.
    ``existing``: this key was already reserved (a re-run), nothing new was counted.

    Example:
        >>> Reservation(True, "k", Decimal("5.00"), Decimal("0.00"), None, False).granted
        True
    """

    granted: bool
    key: str
    amount: Decimal
    spent_before: Decimal
    reason: str | None = None
    existing: bool = False


@runtime_checkable
class SpendStore(Protocol):
    """Where reservations and spend are kept, per mandate name, keyed by idempotency key.

    Example:
        >>> isinstance(MemorySpendStore(), SpendStore)
        True
    """

    def reserve(
        self, mandate: str, key: str, amount: Decimal, *, limit: Decimal | None, now: datetime,
        window: timedelta = DAY,
    ) -> Reservation:
        """Atomically check ``spent + amount <= limit`` (no check when ``limit`` is None) and reserve."""
        ...

    def confirm(self, key: str) -> None:
        """The charge succeeded: the reservation becomes spend (``KeyError`` for an unknown key)."""
        ...

    def release(self, key: str) -> None:
        """The charge failed, was rejected or declined: the amount stops counting (unknown keys: no-op)."""
        ...

    def spent(self, mandate: str, *, now: datetime, window: timedelta = DAY) -> Decimal:
        """Reserved plus confirmed amounts of ``mandate`` made in the window ending at ``now``."""
        ...


def state_dir() -> Path:
    """Where agent-billing keeps local state: ``$AGENT_BILLING_STATE_DIR`` or ``~/.agent-billing``.

    Example:
        >>> isinstance(state_dir(), Path)
        True
    """
    configured = os.environ.get("AGENT_BILLING_STATE_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".agent-billing"


def default_path() -> Path:
    """The default spend store file, ``<state dir>/spend.sqlite3``.

    Example:
        >>> default_path().name
        'spend.sqlite3'
    """
    return state_dir() / "spend.sqlite3"


# --- shared rules, so the two stores cannot drift apart


def _to_cents(amount: Decimal, what: str = "amount") -> int:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValueError(f"{what} must be a finite Decimal")
    if amount < 0:
        raise ValueError(f"{what} must not be negative")
    if amount != amount.quantize(CENT):
        raise ValueError(f"{what} has more than two decimal places")
    return int(amount.scaleb(2))


def _from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def _to_micros(now: datetime) -> int:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return (now - _EPOCH) // _MICROSECOND


def _window_start(now: datetime, window: timedelta) -> int:
    if window <= timedelta(0):
        raise ValueError("window must be positive")
    # An entry exactly one window old still counts: on a boundary, count more rather than less.
    return _to_micros(now) - window // _MICROSECOND


def _check_key(mandate: str, key: str) -> None:
    if not isinstance(key, str) or not key:
        raise ValueError("a reservation needs a non-empty key")
    if not isinstance(mandate, str) or not mandate:
        raise ValueError("a reservation needs a mandate name")


def _refusal(mandate: str, amount: int, spent: int, limit: int, window: timedelta) -> str:
    span = "24 h" if window == DAY else str(window)
    return (
        f"{format_usd(_from_cents(amount))} on top of {format_usd(_from_cents(spent))} already spent in the "
        f"last {span} would exceed the {span} limit of {format_usd(_from_cents(limit))} of mandate {mandate!r}."
    )


@dataclass
class _Entry:
    mandate: str
    cents: int
    spent_before: int
    status: Status
    created: int


def _existing(key: str, entry: _Entry, mandate: str, cents: int) -> Reservation:
    if entry.mandate != mandate or entry.cents != cents:
        raise ReservationConflictError(
            f"key {key!r} is already reserved for {format_usd(_from_cents(entry.cents))} under mandate "
            f"{entry.mandate!r}; a different request needs a different key"
        )
    return Reservation(True, key, _from_cents(cents), _from_cents(entry.spent_before), None, existing=True)


def _decide(
    mandate: str, key: str, cents: int, spent: int, limit: Decimal | None, window: timedelta
) -> Reservation:
    if limit is not None:
        limit_cents = _to_cents(limit, "limit")
        if spent + cents > limit_cents:
            reason = _refusal(mandate, cents, spent, limit_cents, window)
            return Reservation(False, key, _from_cents(cents), _from_cents(spent), reason)
    return Reservation(True, key, _from_cents(cents), _from_cents(spent))


class MemorySpendStore:
    """An in-process spend store (thread-safe; forgotten on exit). For tests and short-lived agents.

    Example:
        >>> from datetime import datetime, timezone
        >>> s = MemorySpendStore()
        >>> s.reserve("m", "k", Decimal("5"), limit=None, now=datetime.now(timezone.utc)).granted
        True
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def reserve(
        self, mandate: str, key: str, amount: Decimal, *, limit: Decimal | None, now: datetime,
        window: timedelta = DAY,
    ) -> Reservation:
        """Atomically check the cap and reserve ``amount`` under ``key`` (see :class:`SpendStore`)."""
        _check_key(mandate, key)
        cents = _to_cents(amount)
        created, start = _to_micros(now), _window_start(now, window)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.status != "released":
                return _existing(key, entry, mandate, cents)
            spent = self._spent(mandate, start)
            result = _decide(mandate, key, cents, spent, limit, window)
            if result.granted:
                self._entries[key] = _Entry(mandate, cents, spent, "pending", created)
            return result

    def confirm(self, key: str) -> None:
        """Turn the reservation into spend; confirming twice is harmless."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                raise KeyError(f"no reservation with key {key!r}")
            # Even after a release: the money moved, so it must count again.
            entry.status = "confirmed"

    def release(self, key: str) -> None:
        """Stop counting a pending reservation; confirmed spend is never released."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.status == "pending":
                entry.status = "released"

    def spent(self, mandate: str, *, now: datetime, window: timedelta = DAY) -> Decimal:
        """Reserved plus confirmed amounts of ``mandate`` in the window ending at ``now``."""
        start = _window_start(now, window)
        with self._lock:
            return _from_cents(self._spent(mandate, start))

    def _spent(self, mandate: str, start: int) -> int:
        return sum(
            e.cents for e in self._entries.values()
            if e.mandate == mandate and e.status != "released" and e.created >= start
        )


_SCHEMA = """
CREATE TABLE IF NOT EXISTS reservations (
    key TEXT PRIMARY KEY,
    mandate TEXT NOT NULL,
    amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
    spent_before_cents INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'released')),
    created_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS reservations_by_mandate ON reservations (mandate, created_us);
"""


class SqliteSpendStore:
    """A spend store in a SQLite file, shared safely by threads and processes.

    Amounts are integer cents; times are microseconds since the epoch (UTC). ``reserve`` runs in a
    ``BEGIN IMMEDIATE`` transaction, which takes the database's write lock before reading, so the
    check and the insert cannot interleave with another writer's. WAL mode lets ``spent`` read while a
    reservation is being written. ``path=None`` uses :func:`default_path`. The file is created private;
    ``timeout`` (default ``$AGENT_BILLING_STORE_TIMEOUT``) bounds a wait for another process's lock, and
    any failure (locked past the bound, a corrupt file) raises ``StoreUnavailableError`` naming the file.

    Example:
        >>> import tempfile, pathlib
        >>> from datetime import datetime, timezone
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "state" / "spend.sqlite3"
        >>> with SqliteSpendStore(path) as s:
        ...     s.reserve("m", "k", Decimal("5"), limit=Decimal("10"), now=datetime.now(timezone.utc)).granted
        True
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, timeout: float | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._timeout = timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        with self._transaction():
            pass  # open now, so a bad path fails here rather than at the first charge

    def _connection(self) -> sqlite3.Connection:
        # Called with the lock held. A connection inherited through fork() must not be used by the child.
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        conn = connect(self.path, timeout=self._timeout)
        conn.execute("PRAGMA journal_mode=WAL")
        # Spend records are money records: wait for the disk on every commit.
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
        self._conn, self._pid = conn, os.getpid()
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, translated(self.path):
            yield self._connection()

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        with self._transaction() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def reserve(
        self, mandate: str, key: str, amount: Decimal, *, limit: Decimal | None, now: datetime,
        window: timedelta = DAY,
    ) -> Reservation:
        """Atomically check the cap and reserve ``amount`` under ``key`` (see :class:`SpendStore`)."""
        _check_key(mandate, key)
        cents = _to_cents(amount)
        created, start = _to_micros(now), _window_start(now, window)
        if limit is not None:
            _to_cents(limit, "limit")
        with self._immediate() as conn:
            row = conn.execute(
                "SELECT mandate, amount_cents, spent_before_cents, status, created_us FROM reservations "
                "WHERE key = ?", (key,),
            ).fetchone()
            if row is not None and row[3] != "released":
                return _existing(key, _Entry(*row), mandate, cents)
            spent = self._spent(conn, mandate, start)
            result = _decide(mandate, key, cents, spent, limit, window)
            if result.granted:
                conn.execute(
                    "INSERT INTO reservations (key, mandate, amount_cents, spent_before_cents, status, created_us)"
                    " VALUES (?, ?, ?, ?, 'pending', ?) ON CONFLICT (key) DO UPDATE SET mandate = excluded.mandate,"
                    " amount_cents = excluded.amount_cents, spent_before_cents = excluded.spent_before_cents,"
                    " status = 'pending', created_us = excluded.created_us",
                    (key, mandate, cents, spent, created),
                )
            return result

    def confirm(self, key: str) -> None:
        """Turn the reservation into spend; confirming twice is harmless."""
        with self._immediate() as conn:
            # Even after a release: the money moved, so it must count again.
            cursor = conn.execute("UPDATE reservations SET status = 'confirmed' WHERE key = ?", (key,))
            if cursor.rowcount == 0:
                raise KeyError(f"no reservation with key {key!r}")

    def release(self, key: str) -> None:
        """Stop counting a pending reservation; confirmed spend is never released."""
        with self._immediate() as conn:
            conn.execute("UPDATE reservations SET status = 'released' WHERE key = ? AND status = 'pending'", (key,))

    def spent(self, mandate: str, *, now: datetime, window: timedelta = DAY) -> Decimal:
        """Reserved plus confirmed amounts of ``mandate`` in the window ending at ``now``."""
        start = _window_start(now, window)
        with self._transaction() as conn:
            return _from_cents(self._spent(conn, mandate, start))

    @staticmethod
    def _spent(conn: sqlite3.Connection, mandate: str, start: int) -> int:
        row = conn.execute(
            "SELECT COALESCE(SUM(amount_cents), 0) FROM reservations "
            "WHERE mandate = ? AND status != 'released' AND created_us >= ?", (mandate, start),
        ).fetchone()
        return int(row[0])

    def close(self) -> None:
        """Close the connection (a later call reopens it)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> SqliteSpendStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
