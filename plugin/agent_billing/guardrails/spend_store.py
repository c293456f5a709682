"""Spend totals that survive restarts and resist parallel calls.

A charge first *reserves* its amount against a mandate's rolling-window cap, then the reservation is
*confirmed* (the charge went through: it stays as spend) or *released* (it failed, was rejected or
declined: it stops counting). Check and insert happen in one transaction, so two parallel calls can
never both pass a cap only one of them fits under. Pending reservations count like confirmed spend:
a charge whose outcome we never heard of (a crash mid-call) keeps counting until it leaves the window,
which errs on the side of spending less.

Reserving a key again is idempotent: LangGraph re-runs an interrupted tool from the top after a resume,
with the same idempotency key, and that second run must not count the amount twice.

The window's total costs the same whether it holds ten thousand reservations or a million: every store
keeps running totals per mandate in hour, minute and second buckets, updated in the transaction that
reserves, confirms or releases. A total is the hour buckets wholly inside the window, then the minute and second buckets between
the window's start and the next whole hour, then the reservations of the one second the window starts in:
at most 142 bucket rows plus one second's reservations, and exact to the microsecond (no rounding at the
trailing edge, so a total never under- or over-counts). Buckets older than the store's ``retention``
(default 24 h, the longest window it answers for) plus :data:`SWEEP_GRACE` are dropped, and reservations
once their key has been remembered for :data:`KEEP_KEYS` (a re-run within it is still recognised), at most
:data:`SWEEP_BATCH` of each per reservation; a key re-reserved after it was dropped counts afresh.

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

import heapq
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
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
# Bucket widths in microseconds (hour, minute, second), coarse to fine, each a multiple of the next.
BUCKETS: tuple[int, ...] = (3_600_000_000, 60_000_000, 1_000_000)
# Kept beyond the retention, so a worker whose clock runs behind ours still finds everything in its window.
SWEEP_GRACE = timedelta(hours=1)
# How long a reservation's key is remembered, so a late re-run (a resumed graph) is not counted twice.
KEEP_KEYS = timedelta(days=7)
# Expired reservations (and buckets) removed per reservation: bounded, so no call pays for a backlog.
SWEEP_BATCH = 100

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


def _window_start(now: datetime, window: timedelta, retention: timedelta = DAY) -> int:
    if window <= timedelta(0):
        raise ValueError("window must be positive")
    if window > retention:
        # Older spend has been dropped: a longer window would silently count less than was spent.
        raise ValueError(f"window {window} is longer than the store's retention of {retention}: open the store "
                         "with a retention at least as long as the longest window it must answer for")
    # An entry exactly one window old still counts: on a boundary, count more rather than less.
    return _to_micros(now) - window // _MICROSECOND


def _created(now: datetime) -> int:
    created = _to_micros(now)
    if created < 0:  # buckets are computed by SQL integer division, which truncates: times must not be negative
        raise ValueError("now must not be before 1970")
    return created


def _cutoff(created: int, retention: timedelta) -> tuple[int, int]:
    """(reservations made before this are forgotten, buckets ending by this are in no window any more)."""
    buckets = created - (retention + SWEEP_GRACE) // _MICROSECOND
    return min(buckets, created - KEEP_KEYS // _MICROSECOND), buckets


def _check_retention(retention: timedelta) -> timedelta:
    if not isinstance(retention, timedelta) or retention <= timedelta(0):
        raise ValueError("retention must be a positive timedelta")
    return retention


@dataclass(frozen=True)
class WindowPlan:
    """What to add up for the total of a window starting at ``start`` (microseconds), exactly.

    ``levels[i]`` is ``(first, end)``: buckets ``first <= b < end`` of width ``BUCKETS[i]`` (``end`` None: no
    bound, for the hour buckets, so spend stamped by a clock running ahead still counts). ``rows`` is
    ``(start, end)``: the reservations made in the part of one second that the buckets do not cover.

    Example:
        >>> plan = WindowPlan.starting(90_500_000)  # 00:01:30.5
        >>> plan.levels, plan.rows
        (((1, None), (2, 60), (91, 120)), (90500000, 91000000))
    """

    levels: tuple[tuple[int, int | None], ...]
    rows: tuple[int, int]

    @classmethod
    def starting(cls, start: int, widths: tuple[int, ...] = BUCKETS) -> WindowPlan:
        """The plan for the window ``[start, +inf)``: whole buckets, coarse to fine, then the rows left over.
        ``widths``: the bucket widths, coarse to fine, each a multiple of the next (default :data:`BUCKETS`)."""
        levels: list[tuple[int, int | None]] = []
        covered: int | None = None  # everything from here on is counted by the coarser levels
        for width in widths:
            first = -(-start // width)  # the first bucket wholly inside the window
            levels.append((first, None if covered is None else covered // width))
            covered = first * width
        assert covered is not None
        return cls(tuple(levels), (start, covered))


def total_sql(buckets: str, rows: str, scope: str, mark: str, levels: int = len(BUCKETS)) -> str:
    """One statement adding up a :class:`WindowPlan` (a sum per bucket level, then the rows left over).

    ``scope`` selects the mandate (``mandate = ?``) in both tables; ``mark`` is the driver's placeholder;
    ``levels``: how many bucket widths the plan has. The statement's parameters are, per part, the scope's
    values followed by that part's bounds.

    Example:
        >>> total_sql("b", "r", "mandate = ?", "?").count("?")
        11
    """
    parts = []
    for level in range(levels):
        upper = "" if level == 0 else f" AND bucket < {mark}"
        parts.append(f"(SELECT COALESCE(SUM(cents), 0) FROM {buckets} WHERE {scope} AND level = {level} "
                     f"AND bucket >= {mark}{upper})")
    parts.append(f"(SELECT COALESCE(SUM(amount_cents), 0) FROM {rows} WHERE {scope} AND created_us >= {mark} "
                 f"AND created_us < {mark} AND status <> 'released')")
    return "SELECT " + " + ".join(parts)


def total_params(scope: tuple[object, ...], plan: WindowPlan) -> tuple[object, ...]:
    """The parameters of :func:`total_sql` for one mandate (``scope``) and window.

    Example:
        >>> total_params(("m",), WindowPlan.starting(90_500_000))
        ('m', 1, 'm', 2, 60, 'm', 91, 120, 'm', 90500000, 91000000)
    """
    out: list[object] = []
    for first, end in plan.levels:
        out += [*scope, first] + ([] if end is None else [end])
    return (*out, *scope, *plan.rows)


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


class _Totals:
    """Running totals per mandate and bucket, in memory: what the SQL stores keep in their buckets table."""

    def __init__(self) -> None:
        self.buckets: dict[tuple[str, int], dict[int, int]] = {}  # (mandate, level) -> bucket -> cents
        # The finest level keeps its amounts by instant, for the one second a window starts in.
        self.instants: dict[tuple[str, int], dict[int, int]] = {}  # (mandate, second) -> created -> cents
        self.ends: list[tuple[int, str, int, int]] = []  # a heap of (end, mandate, level, bucket)

    def add(self, mandate: str, created: int, cents: int) -> None:
        for level, width in enumerate(BUCKETS):
            buckets, bucket = self.buckets.setdefault((mandate, level), {}), created // width
            if bucket not in buckets:
                heapq.heappush(self.ends, ((bucket + 1) * width, mandate, level, bucket))
            buckets[bucket] = buckets.get(bucket, 0) + cents
        second = created // BUCKETS[-1]
        instants = self.instants.setdefault((mandate, second), {})
        if not instants:  # swept as a whole when its second ends
            heapq.heappush(self.ends, ((second + 1) * BUCKETS[-1], mandate, len(BUCKETS), second))
        instants[created] = instants.get(created, 0) + cents

    def subtract(self, mandate: str, created: int, cents: int) -> None:
        # Only from buckets still kept: a swept bucket is in no window any more.
        for level, width in enumerate(BUCKETS):
            bucket = self.buckets.get((mandate, level), {})
            if created // width in bucket:
                bucket[created // width] -= cents
        instants = self.instants.get((mandate, created // BUCKETS[-1]), {})
        if created in instants:
            instants[created] -= cents

    def total(self, mandate: str, start: int) -> int:
        plan = WindowPlan.starting(start)
        total = 0
        for level, (first, end) in enumerate(plan.levels):
            bucket = self.buckets.get((mandate, level), {})
            if end is None:
                total += sum(cents for b, cents in bucket.items() if b >= first)
            else:
                total += sum(bucket.get(b, 0) for b in range(first, end))
        low, high = plan.rows
        instants = self.instants.get((mandate, low // BUCKETS[-1]), {})
        return total + sum(cents for t, cents in instants.items() if low <= t < high)

    def sweep(self, cutoff: int) -> None:
        for _ in range(SWEEP_BATCH):
            if not self.ends or self.ends[0][0] > cutoff:
                return
            _, mandate, level, bucket = heapq.heappop(self.ends)
            if level == len(BUCKETS):
                self.instants.pop((mandate, bucket), None)
                continue
            buckets = self.buckets.get((mandate, level), {})
            buckets.pop(bucket, None)
            if not buckets:
                self.buckets.pop((mandate, level), None)


class MemorySpendStore:
    """An in-process spend store (thread-safe; forgotten on exit). For tests and short-lived agents.

    Old reservations are dropped as the window moves on (see the module's notes), so memory stays bounded by
    what a window holds. ``retention``: the longest window the store answers for (default 24 h).

    Example:
        >>> from datetime import datetime, timezone
        >>> s = MemorySpendStore()
        >>> s.reserve("m", "k", Decimal("5"), limit=None, now=datetime.now(timezone.utc)).granted
        True
    """

    def __init__(self, *, retention: timedelta = DAY) -> None:
        self.retention = _check_retention(retention)
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._made: list[tuple[int, str]] = []  # a heap of (created, key), for dropping old entries in order
        self._totals = _Totals()

    def __len__(self) -> int:
        """How many reservations are kept (released and expired ones included until they are dropped)."""
        with self._lock:
            return len(self._entries)

    def reserve(
        self, mandate: str, key: str, amount: Decimal, *, limit: Decimal | None, now: datetime,
        window: timedelta = DAY,
    ) -> Reservation:
        """Atomically check the cap and reserve ``amount`` under ``key`` (see :class:`SpendStore`)."""
        _check_key(mandate, key)
        cents = _to_cents(amount)
        created, start = _created(now), _window_start(now, window, self.retention)
        with self._lock:
            self._sweep(_cutoff(created, self.retention))
            entry = self._entries.get(key)
            if entry is not None and entry.status != "released":
                return _existing(key, entry, mandate, cents)
            spent = self._totals.total(mandate, start)
            result = _decide(mandate, key, cents, spent, limit, window)
            if result.granted:
                self._entries[key] = _Entry(mandate, cents, spent, "pending", created)
                heapq.heappush(self._made, (created, key))
                self._totals.add(mandate, created, cents)
            return result

    def _sweep(self, cutoff: tuple[int, int]) -> None:
        for _ in range(SWEEP_BATCH):
            if not self._made or self._made[0][0] >= cutoff[0]:
                break
            created, key = heapq.heappop(self._made)
            entry = self._entries.get(key)
            if entry is not None and entry.created == created:  # not a later reservation under the same key
                del self._entries[key]
        self._totals.sweep(cutoff[1])

    def confirm(self, key: str) -> None:
        """Turn the reservation into spend; confirming twice is harmless."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                raise KeyError(f"no reservation with key {key!r}")
            # Even after a release: the money moved, so it must count again.
            if entry.status == "released":
                self._totals.add(entry.mandate, entry.created, entry.cents)
            entry.status = "confirmed"

    def release(self, key: str) -> None:
        """Stop counting a pending reservation; confirmed spend is never released."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.status == "pending":
                entry.status = "released"
                self._totals.subtract(entry.mandate, entry.created, entry.cents)

    def spent(self, mandate: str, *, now: datetime, window: timedelta = DAY) -> Decimal:
        """Reserved plus confirmed amounts of ``mandate`` in the window ending at ``now``."""
        start = _window_start(now, window, self.retention)
        with self._lock:
            return _from_cents(self._totals.total(mandate, start))


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
CREATE INDEX IF NOT EXISTS reservations_by_time ON reservations (created_us);
"""


def _changed(old: str, new: str) -> str:
    """SQL: the row moved to another mandate, amount or time (a released key reserved again)."""
    return " OR ".join(f"{new}.{c} <> {old}.{c}" for c in ("mandate", "amount_cents", "created_us"))


def _bucket_of(row: str, width: int) -> str:
    return f"{row}.created_us / {width}"


def _sqlite_buckets() -> list[str]:
    """The buckets table, the triggers that keep it in step with ``reservations`` in the same transaction
    (whoever writes the row, an older agent-billing included), and a backfill from the rows already there.
    Separate statements: ``executescript`` would commit the transaction they must run in."""
    add = "".join(
        f"INSERT INTO spend_buckets (mandate, level, bucket, cents, end_us) VALUES (NEW.mandate, {level}, "
        f"{_bucket_of('NEW', width)}, NEW.amount_cents, ({_bucket_of('NEW', width)} + 1) * {width}) "
        "ON CONFLICT (mandate, level, bucket) DO UPDATE SET cents = cents + excluded.cents;\n"
        for level, width in enumerate(BUCKETS))
    subtract = "".join(
        f"UPDATE spend_buckets SET cents = cents - OLD.amount_cents WHERE mandate = OLD.mandate AND level = {level} "
        f"AND bucket = {_bucket_of('OLD', width)};\n" for level, width in enumerate(BUCKETS))
    return [
        "CREATE TABLE spend_buckets (mandate TEXT NOT NULL, level INTEGER NOT NULL, bucket INTEGER NOT NULL, "
        "cents INTEGER NOT NULL, end_us INTEGER NOT NULL, PRIMARY KEY (mandate, level, bucket)) WITHOUT ROWID",
        "CREATE INDEX spend_buckets_by_end ON spend_buckets (end_us)",
        f"CREATE TRIGGER spend_counted AFTER INSERT ON reservations WHEN NEW.status <> 'released' BEGIN\n{add}END",
        "CREATE TRIGGER spend_uncounted AFTER UPDATE ON reservations WHEN OLD.status <> 'released' AND "
        f"(NEW.status = 'released' OR {_changed('OLD', 'NEW')}) BEGIN\n{subtract}END",
        "CREATE TRIGGER spend_recounted AFTER UPDATE ON reservations WHEN NEW.status <> 'released' AND "
        f"(OLD.status = 'released' OR {_changed('OLD', 'NEW')}) BEGIN\n{add}END",
        *(f"INSERT INTO spend_buckets (mandate, level, bucket, cents, end_us) SELECT mandate, {level}, created_us / "
          f"{width}, SUM(amount_cents), (created_us / {width} + 1) * {width} FROM reservations WHERE status <> "
          f"'released' GROUP BY mandate, created_us / {width}" for level, width in enumerate(BUCKETS)),
    ]


_SQLITE_TOTAL = total_sql("spend_buckets", "reservations", "mandate = ?", "?")


class SqliteSpendStore:
    """A spend store in a SQLite file, shared safely by threads and processes.

    Amounts are integer cents; times are microseconds since the epoch (UTC). ``reserve`` runs in a
    ``BEGIN IMMEDIATE`` transaction, which takes the database's write lock before reading, so the
    check and the insert cannot interleave with another writer's. WAL mode lets ``spent`` read while a
    reservation is being written. ``path=None`` uses :func:`default_path`. The file is created private;
    ``timeout`` (default ``$AGENT_BILLING_STORE_TIMEOUT``) bounds a wait for another process's lock, and
    any failure (locked past the bound, a corrupt file) raises ``StoreUnavailableError`` naming the file.
    Running totals live in ``spend_buckets``, kept by triggers on ``reservations``; a file made by an earlier
    version gets them (filled from its rows) the first time it is opened, in one transaction.

    Example:
        >>> import tempfile, pathlib
        >>> from datetime import datetime, timezone
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "state" / "spend.sqlite3"
        >>> with SqliteSpendStore(path) as s:
        ...     s.reserve("m", "k", Decimal("5"), limit=Decimal("10"), now=datetime.now(timezone.utc)).granted
        True
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, timeout: float | None = None,
                 retention: timedelta = DAY) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._timeout = timeout
        self.retention = _check_retention(retention)
        # Reentrant: inside ``joined`` the thread holds it for the whole block, and each call takes it again.
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._joined = 0  # depth of ``joined`` blocks (of the thread holding the lock)
        self._open = False  # a write transaction of a ``joined`` block is open
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
        try:
            conn.executescript("BEGIN IMMEDIATE;" + _SCHEMA)
            # Decided under the write lock, so two processes opening an old file migrate it once.
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'spend_buckets'").fetchone() is None:
                for statement in _sqlite_buckets():
                    conn.execute(statement)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()
            raise
        conn.execute("COMMIT")
        self._conn, self._pid = conn, os.getpid()
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, translated(self.path):
            yield self._connection()

    @contextmanager
    def joined(self) -> Iterator[None]:
        """Until the block ends, this thread's writes through this store (and the stores it hosts, such as the
        state directory's pending outcomes) share one transaction, committed (one wait for the disk) by
        :meth:`flush` or when the block ends; other threads wait. A failure inside a write rolls back everything
        since the last commit, so a combined write is kept whole or not at all.

        Example:
            >>> import tempfile, pathlib
            >>> from datetime import datetime, timezone
            >>> store, now = SqliteSpendStore(pathlib.Path(tempfile.mkdtemp()) / "spend.sqlite3"), datetime.now(timezone.utc)
            >>> with store.joined():
            ...     _ = store.reserve("m", "k1", Decimal("5"), limit=None, now=now)
            ...     _ = store.reserve("m", "k2", Decimal("5"), limit=None, now=now)
            >>> store.spent("m", now=now)
            Decimal('10.00')
        """
        with self._lock:
            self._joined += 1
            try:
                yield
            except BaseException:
                if self._joined == 1:
                    self._rollback()
                raise
            else:
                if self._joined == 1:
                    self.flush()
            finally:
                self._joined -= 1

    def flush(self) -> None:
        """Commit the write transaction of this thread's ``joined`` block now (no-op without one).

        On failure nothing of it is kept and ``StoreUnavailableError`` is raised.
        """
        with self._lock:
            if not self._open:
                return
            try:
                with translated(self.path):
                    self._connection().execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
            self._open = False

    def _rollback(self) -> None:
        if self._open and self._conn is not None:
            with suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
        self._open = False

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        if self._joined:
            with self._transaction() as conn:
                if not self._open:
                    conn.execute("BEGIN IMMEDIATE")
                    self._open = True
                try:
                    yield conn
                except BaseException:
                    self._rollback()
                    raise
            return
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
        created, start = _created(now), _window_start(now, window, self.retention)
        if limit is not None:
            _to_cents(limit, "limit")
        with self._immediate() as conn:
            self._sweep(conn, _cutoff(created, self.retention))
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

    @staticmethod
    def _sweep(conn: sqlite3.Connection, cutoff: tuple[int, int]) -> None:
        conn.execute("DELETE FROM reservations WHERE rowid IN (SELECT rowid FROM reservations WHERE created_us < ? "
                     "LIMIT ?)", (cutoff[0], SWEEP_BATCH))
        conn.execute("DELETE FROM spend_buckets WHERE (mandate, level, bucket) IN (SELECT mandate, level, bucket "
                     "FROM spend_buckets WHERE end_us <= ? LIMIT ?)", (cutoff[1], SWEEP_BATCH))

    def confirm(self, key: str) -> None:
        """Turn the reservation into spend; confirming twice is harmless."""
        with self._immediate() as conn:
            # Even after a release: the money moved, so it must count again.
            found = conn.execute("UPDATE reservations SET status = 'confirmed' WHERE key = ?", (key,)).rowcount != 0
        if not found:  # raised after the block: nothing was written, so a joined transaction goes on
            raise KeyError(f"no reservation with key {key!r}")

    def release(self, key: str) -> None:
        """Stop counting a pending reservation; confirmed spend is never released."""
        with self._immediate() as conn:
            conn.execute("UPDATE reservations SET status = 'released' WHERE key = ? AND status = 'pending'", (key,))

    def spent(self, mandate: str, *, now: datetime, window: timedelta = DAY) -> Decimal:
        """Reserved plus confirmed amounts of ``mandate`` in the window ending at ``now``."""
        start = _window_start(now, window, self.retention)
        with self._transaction() as conn:
            return _from_cents(self._spent(conn, mandate, start))

    @staticmethod
    def _spent(conn: sqlite3.Connection, mandate: str, start: int) -> int:
        row = conn.execute(_SQLITE_TOTAL, total_params((mandate,), WindowPlan.starting(start))).fetchone()
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
