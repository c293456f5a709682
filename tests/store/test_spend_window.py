"""The spend window from running totals (issue 25): exact across bucket edges, old entries dropped, old files
and schemas migrated, and processes racing at the cap, on memory, SQLite and PostgreSQL, with injected times."""

from __future__ import annotations

import multiprocessing
import random
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.store import workers

from agent_billing.guardrails.spend_store import (
    BUCKETS,
    DAY,
    KEEP_KEYS,
    SWEEP_BATCH,
    SWEEP_GRACE,
    MemorySpendStore,
    SpendStore,
    SqliteSpendStore,
)
from agent_billing.guardrails.store import open_store

D = Decimal
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)  # on an hour, a minute and a second edge at once
US = timedelta(microseconds=1)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def spend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SpendStore]:
    if request.param == "memory":
        yield MemorySpendStore()
    elif request.param == "sqlite":
        s = SqliteSpendStore(tmp_path / "spend.sqlite3")
        yield s
        s.close()
    else:
        yield open_store(request.getfixturevalue("postgres_url")).for_account("acct").spend


def _rows(spend: SpendStore) -> tuple[int, int]:
    """(reservations kept, buckets kept) in the store."""
    if isinstance(spend, MemorySpendStore):
        totals = spend._totals
        return len(spend), sum(map(len, totals.buckets.values())) + len(totals.instants)
    if isinstance(spend, SqliteSpendStore):
        with spend._transaction() as conn:
            return (conn.execute("SELECT count(*) FROM reservations").fetchone()[0],
                    conn.execute("SELECT count(*) FROM spend_buckets").fetchone()[0])
    store = spend.store
    with store.cursor() as cur:
        return (cur.execute("SELECT count(*) FROM ab_reservations").fetchone()[0],
                cur.execute("SELECT count(*) FROM ab_spend_buckets").fetchone()[0])


# --- exact across bucket edges


EDGES = [timedelta(0), US, -US, timedelta(seconds=1), timedelta(seconds=10) - US, timedelta(minutes=1) - US,
         timedelta(minutes=10) + US, timedelta(hours=1) + US, timedelta(minutes=59, seconds=59, microseconds=999_999)]


def test_the_window_slides_across_every_bucket_edge_exactly(spend: SpendStore) -> None:
    # Amounts stamped just before, on and just after every level's bucket edges; the total at each query time
    # must be exactly what a sum over the rows would say (pending and confirmed count, released not).
    rng = random.Random(25)
    made: list[tuple[datetime, Decimal, str]] = []
    for i in range(60):
        at = NOW + timedelta(minutes=rng.choice([0, 1, 9, 10, 59, 60, 61, 119])) + rng.choice(EDGES)
        amount = D(rng.randint(1, 999)) / 100
        assert spend.reserve("m", f"k{i}", amount, limit=None, now=at).granted
        status = rng.choice(["pending", "confirmed", "released", "released-confirmed"])
        if status != "pending":
            (spend.confirm if status == "confirmed" else spend.release)(f"k{i}")
        if status == "released-confirmed":  # the money moved after all
            spend.confirm(f"k{i}")
        made.append((at, amount, status))
    for offset in [*EDGES, timedelta(minutes=1), timedelta(minutes=10), timedelta(minutes=30), timedelta(minutes=61) - US,
                   timedelta(minutes=61), timedelta(minutes=119, microseconds=1), timedelta(hours=2)]:
        for window in (DAY, timedelta(hours=1), timedelta(minutes=10), timedelta(minutes=1), timedelta(seconds=10),
                       timedelta(seconds=1)):
            now = NOW + window + offset
            exact = sum((a for at, a, st in made if st != "released" and at >= now - window), D("0.00"))
            assert spend.spent("m", now=now, window=window) == exact, (offset, window)


def test_the_trailing_edge_is_exact_to_the_microsecond(spend: SpendStore) -> None:
    # The bucket the window starts in is only partly inside it: what was made before the start must not
    # count (no refusal the exact sum would not make), what was made at or after it must (never under-count).
    last = NOW - US  # 11:59:59.999999: the last microsecond of an hour, a minute and a second
    early = last - timedelta(microseconds=499_999)
    spend.reserve("m", "early", D("40"), limit=None, now=early)
    spend.reserve("m", "late", D("50"), limit=None, now=last)
    spend.reserve("m", "on", D("10"), limit=None, now=NOW)
    assert spend.spent("m", now=early + DAY) == D("100.00")
    assert spend.spent("m", now=early + DAY + US) == D("60.00")
    assert spend.spent("m", now=last + DAY) == D("60.00")
    assert spend.spent("m", now=last + DAY + US) == D("10.00")
    assert spend.spent("m", now=NOW + DAY) == D("10.00")
    assert spend.spent("m", now=NOW + DAY + US) == D("0.00")
    # At the cap exactly: the reservation the exact sum allows is granted, one cent more is refused.
    assert not spend.reserve("m", "over", D("40.01"), limit=D("100"), now=early + DAY + US).granted
    assert spend.reserve("m", "fits", D("40"), limit=D("100"), now=early + DAY + US).granted


def test_a_clock_running_ahead_still_counts(spend: SpendStore) -> None:
    spend.reserve("m", "ahead", D("30"), limit=None, now=NOW + timedelta(hours=3))
    assert spend.spent("m", now=NOW) == D("30.00")
    assert not spend.reserve("m", "now", D("80"), limit=D("100"), now=NOW).granted


# --- the cost does not grow with the rows


def _steps(s: SqliteSpendStore, call: Any) -> int:
    """SQLite virtual-machine steps (in hundreds) a call takes: a measure of work that no machine load moves."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    with s._transaction() as conn:
        conn.set_progress_handler(count, 100)
    try:
        call()
    finally:
        with s._transaction() as conn:
            conn.set_progress_handler(None, 100)
    return steps[0]


def test_the_check_and_the_reservation_do_the_same_work_at_any_number_of_rows(tmp_path: Path) -> None:
    start = NOW - DAY
    stores = []
    for later in (23, 50_002):
        s = SqliteSpendStore(tmp_path / f"{later}.sqlite3")
        with s._immediate() as conn:  # through the triggers, as reservations would be
            # Both stores have a reservation every second of the window's first hour and some in every later
            # hour, so both read full buckets; one has 23 more rows, the other 50,002.
            rows = [(f"e{i}", _micros(start) + i * 1_000_000 + 1) for i in range(3_600)]
            step = 23 * 3_600_000_000 // later
            rows += [(f"x{i}", _micros(start + timedelta(hours=1)) + i * step) for i in range(later)]
            conn.executemany("INSERT INTO reservations VALUES (?, 'm', 1, 0, 'confirmed', ?)", rows)
        stores.append(s)
    work = [(_steps(s, lambda s=s: s.spent("m", now=NOW + timedelta(seconds=30, microseconds=7))),
             _steps(s, lambda s=s: s.reserve("m", "new", D("1"), limit=D("1000000"), now=NOW)))
            for s in stores]
    assert stores[1].spent("m", now=NOW) == D("537.02")  # 53,602 cents and the new $1
    (small_check, small_reserve), (large_check, large_reserve) = work
    assert small_check > 0 and small_reserve > 0
    # The previous version summed the rows: 15 times the rows here meant about 15 times the work.
    assert large_check == small_check and large_reserve == small_reserve, work
    for s in stores:
        s.close()


# --- expired entries dropped, in bounded batches


def test_expired_reservations_and_buckets_are_dropped(spend: SpendStore) -> None:
    for i in range(30):
        spend.reserve("m", f"old{i}", D("1"), limit=None, now=NOW + timedelta(seconds=i * 7))
    spend.release("old3")
    rows, buckets = _rows(spend)
    assert rows == 30 and buckets > 30
    later = NOW + DAY + SWEEP_GRACE + timedelta(hours=1)  # the old reservations' hour has ended by the cutoff
    assert spend.spent("m", now=later) == D("0.00")
    spend.reserve("m", "new", D("2"), limit=D("2"), now=later)
    # The buckets are gone but the new one's, one per level (and, in memory, its second's instants);
    # the keys are still remembered, so a late re-run is recognised and not counted again.
    assert _rows(spend) == (31, len(BUCKETS) + isinstance(spend, MemorySpendStore))
    assert spend.reserve("m", "old0", D("1"), limit=D("2"), now=later).existing
    assert spend.spent("m", now=later) == D("2.00")
    week = NOW + KEEP_KEYS + timedelta(minutes=10)
    spend.reserve("m", "newer", D("1"), limit=None, now=week)
    assert _rows(spend)[0] == 2  # "new" and "newer": the 30 keys a week old are forgotten
    # A key forgotten after KEEP_KEYS counts afresh (on the safe side: nothing remembers it was spent).
    again = spend.reserve("m", "old0", D("1"), limit=None, now=week)
    assert again.granted and not again.existing


def test_nothing_is_dropped_while_a_window_or_the_grace_still_needs_it(spend: SpendStore) -> None:
    spend.reserve("m", "a", D("5"), limit=None, now=NOW)
    spend.reserve("m", "b", D("1"), limit=None, now=NOW + DAY + SWEEP_GRACE)  # the cutoff is exactly NOW
    assert _rows(spend)[0] == 2
    # A worker whose clock is behind by less than the grace still sees "a" in its window (and "b", ahead).
    assert spend.spent("m", now=NOW + DAY - timedelta(minutes=30)) == D("6.00")


def test_each_reservation_drops_a_bounded_batch(tmp_path: Path) -> None:
    s = SqliteSpendStore(tmp_path / "spend.sqlite3")
    with s._immediate() as conn:
        conn.executemany("INSERT INTO reservations VALUES (?, 'm', 1, 0, 'confirmed', ?)",
                         ((f"k{i}", i) for i in range(2 * SWEEP_BATCH + 10)))
    s.reserve("m", "now", D("1"), limit=None, now=NOW)
    assert _rows(s)[0] == SWEEP_BATCH + 10 + 1
    s.reserve("m", "next", D("1"), limit=None, now=NOW)
    s.reserve("m", "third", D("1"), limit=None, now=NOW)
    assert _rows(s)[0] == 3
    s.close()


def test_memory_stays_bounded_over_days_of_calls() -> None:
    s = MemorySpendStore()
    for i in range(1_600):  # one reservation every ten minutes for 11 days
        assert s.reserve("m", f"k{i}", D("0.01"), limit=D("100"), now=NOW + timedelta(minutes=10 * i)).granted
    assert len(s) <= KEEP_KEYS // timedelta(minutes=10) + 1  # the keys of the last 7 days, no more
    # At most one bucket per level per reservation of the last 25 h, and one batch not yet swept.
    assert sum(map(len, s._totals.buckets.values())) <= len(BUCKETS) * ((DAY + SWEEP_GRACE) // timedelta(minutes=10)
                                                                        + 1) + SWEEP_BATCH


def test_a_window_longer_than_the_retention_is_refused(tmp_path: Path) -> None:
    for s in (MemorySpendStore(), SqliteSpendStore(tmp_path / "s.sqlite3")):
        with pytest.raises(ValueError, match="retention"):
            s.spent("m", now=NOW, window=timedelta(days=2))
    week = MemorySpendStore(retention=timedelta(days=7))
    week.reserve("m", "a", D("5"), limit=None, now=NOW)
    assert week.spent("m", now=NOW + timedelta(days=6), window=timedelta(days=7)) == D("5.00")


# --- a store made by the previous version


OLD_SQLITE_SCHEMA = """
CREATE TABLE reservations (
    key TEXT PRIMARY KEY,
    mandate TEXT NOT NULL,
    amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
    spent_before_cents INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'released')),
    created_us INTEGER NOT NULL
);
CREATE INDEX reservations_by_mandate ON reservations (mandate, created_us);
"""


def _micros(at: datetime) -> int:
    return (at - datetime(1970, 1, 1, tzinfo=timezone.utc)) // US


OLD_ROWS = [("a", 3000, "confirmed", NOW - timedelta(hours=23, minutes=59, seconds=59, microseconds=1)),
            ("b", 2000, "pending", NOW - timedelta(minutes=1)), ("c", 9900, "released", NOW),
            ("d", 1234, "confirmed", NOW - DAY - US)]


def test_an_old_sqlite_file_is_migrated_once_at_open(tmp_path: Path) -> None:
    path = tmp_path / "spend.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SQLITE_SCHEMA)
    conn.executemany("INSERT INTO reservations VALUES (?, 'default', ?, 0, ?, ?)",
                     [(k, c, st, _micros(at)) for k, c, st, at in OLD_ROWS])
    conn.commit()
    with SqliteSpendStore(path) as s:
        assert _rows(s) == (4, 3 * len(BUCKETS))  # filled from the three counted rows, one bucket per level each
        assert s.spent("default", now=NOW) == D("50.00")
        assert s.spent("default", now=NOW + timedelta(seconds=1)) == D("20.00")
        assert s.reserve("default", "b", D("20"), limit=D("1"), now=NOW).existing
        assert not s.reserve("default", "e", D("50.01"), limit=D("100"), now=NOW).granted
        s.release("b")
        assert s.spent("default", now=NOW) == D("30.00")
    with SqliteSpendStore(path) as again:  # opened again: not backfilled twice
        assert again.spent("default", now=NOW) == D("30.00")
    # An agent-billing of the previous version still writing to the file: its rows count too.
    conn.execute("INSERT INTO reservations VALUES ('old-writer', 'default', 4000, 0, 'pending', ?)", (_micros(NOW),))
    conn.commit()
    conn.close()
    with SqliteSpendStore(path) as s:
        assert s.spent("default", now=NOW) == D("70.00")
        assert not s.reserve("default", "f", D("30.01"), limit=D("100"), now=NOW).granted


def test_workers_opening_an_old_file_at_once_fill_the_buckets_once(tmp_path: Path) -> None:
    path = tmp_path / "spend.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SQLITE_SCHEMA)
    conn.executemany("INSERT INTO reservations VALUES (?, 'default', ?, 0, ?, ?)",
                     [(k, c, st, _micros(at)) for k, c, st, at in OLD_ROWS])
    conn.commit()
    conn.close()
    barrier, opened = threading.Barrier(6), []

    def open_it() -> None:
        barrier.wait()
        opened.append(SqliteSpendStore(path))  # each its own connection, as separate processes would have

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(opened) == 6
    assert _rows(opened[0]) == (4, 3 * len(BUCKETS))
    assert all(s.spent("default", now=NOW) == D("50.00") for s in opened)
    for s in opened:
        s.close()


def test_an_old_postgres_schema_is_migrated_once_at_first_use(postgres_url: str) -> None:
    import psycopg

    from agent_billing.guardrails.postgres import MIGRATIONS, SCHEMA_VERSION, PostgresStore

    with psycopg.connect(postgres_url, autocommit=True) as conn:  # what the previous version left behind
        conn.execute("CREATE TABLE agent_billing_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT "
                     "NULL DEFAULT now())")
        for version, sql in MIGRATIONS[:2]:
            conn.execute(sql.encode())
            conn.execute("INSERT INTO agent_billing_schema (version) VALUES (%s)", (version,))
        for k, c, st, at in OLD_ROWS:
            conn.execute("INSERT INTO ab_reservations VALUES ('acct', %s, 'default', %s, 0, %s, %s)",
                         (k, c, st, _micros(at)))
    store = PostgresStore(postgres_url)
    try:
        spend = store.for_account("acct").spend
        assert spend.spent("default", now=NOW) == D("50.00")
        assert _rows(spend) == (4, 3 * len(BUCKETS))  # filled from the three counted rows
        assert store.schema_version() == SCHEMA_VERSION  # every migration applied (4 on: additive)
        assert spend.spent("default", now=NOW + timedelta(seconds=1)) == D("20.00")
        spend.release("b")
        assert spend.spent("default", now=NOW) == D("30.00")
        assert not spend.reserve("default", "e", D("70.01"), limit=D("100"), now=NOW).granted
        assert spend.reserve("default", "e", D("70"), limit=D("100"), now=NOW).granted
    finally:
        store.close()


# --- processes racing at the cap


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_processes_racing_at_the_trailing_edge_stop_exactly_at_the_cap(backend: str, tmp_path: Path,
                                                                       request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    spend = open_store(url).for_account("acct").spend
    now = NOW + timedelta(hours=5, minutes=7, seconds=3, microseconds=500)
    start_of_window = now - DAY
    # $40 counts (at the window's first microsecond, and later), $25 just left it (one microsecond before).
    for key, amount, at in [("in1", "15", start_of_window), ("in2", "25", now - timedelta(hours=3)),
                            ("out", "25", start_of_window - US)]:
        spend.reserve("default", key, D(amount), limit=None, now=at)
    spawn = multiprocessing.get_context("spawn")
    with spawn.Manager() as manager, ProcessPoolExecutor(4, mp_context=spawn) as pool:
        go: Any = manager.Event()
        futures = [pool.submit(workers.reserve_at_the_edge, url, i, 6, _micros(now), go) for i in range(4)]
        go.set()
        granted = sum(future.result(timeout=300) for future in futures)
    assert granted == 12  # 12 x $5 = $60: exactly up to the $100 cap, however the processes interleave
    assert spend.spent("default", now=now) == D("100.00")
