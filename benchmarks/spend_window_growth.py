"""Reservation and window-check cost against the number of reservations in the 24 h window (issue 25).

Run: python benchmarks/spend_window_growth.py [--postgres URL] [--sizes 0 10000 100000 1000000] [--rounds 5]

For each backend (SQLite as ``SqliteStore`` opens it: WAL, ``synchronous=FULL``; PostgreSQL on a fresh schema)
one store per size is seeded with that many confirmed reservations of the same account and mandate, spread
evenly over the 24 h before the measured instant. Seeding is a bulk insert into the previous version's schema
(SQLite ``executemany`` in one transaction, PostgreSQL ``COPY``); opening the store then migrates it, filling the
running totals from those rows in one transaction (that time is printed too). Measured, interleaved by round
(every size, then the bare transaction, each round), in blocks of ``--block`` calls: ``reserve`` (the full
check-and-insert transaction, a cap that never binds, the instant moving on 1 ms per call so the window's
trailing edge moves through the seeded rows) and ``spent`` (the check alone). The baseline is a bare
transaction doing the same durable work without the window: SQLite ``BEGIN IMMEDIATE``, one insert, commit;
PostgreSQL the advisory lock, one insert, commit. Each figure is the median of the per-round medians; ratios
are taken per round (to the 0-row store and to the bare transaction of the same round) and shown as the
median with the spread (min-max over rounds). ``old SUM`` times the previous version's window query (a SUM over
the rows) on the same data, read-only, for comparison.
"""

from __future__ import annotations

import argparse
import io
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from agent_billing.guardrails.spend_store import _SCHEMA, DAY, SpendStore

NOW = datetime(2026, 6, 2, 12, 0, tzinfo=timezone.utc)
NOW_US = int((NOW - datetime(1970, 1, 1, tzinfo=timezone.utc)) / timedelta(microseconds=1))
DAY_US = DAY // timedelta(microseconds=1)
CAP = Decimal("1000000000")
MANDATE = "acct/default"  # SqliteStore's name for (account, mandate)
OLD_SUM = ("SELECT COALESCE(SUM(amount_cents), 0) FROM {table} WHERE {scope} AND status <> 'released' "
           "AND created_us >= {mark}")


def seeded(size: int) -> Any:
    """(key, created_us) of ``size`` rows evenly spread over the window, the newest one just before NOW."""
    step = DAY_US / max(size, 1)
    return ((f"seed{i}", NOW_US - DAY_US + 1 + int(i * step)) for i in range(size))


class Sqlite:
    """One SQLite file per size, seeded in the previous version's schema, then opened (migrated)."""

    name = "SQLite"

    def __init__(self, root: Path) -> None:
        self.root = root

    def open(self, size: int) -> tuple[SpendStore, float, Callable[[int], None]]:
        from agent_billing.guardrails.store import SqliteStore

        path = self.root / f"spend-{size}.db"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.executescript("PRAGMA journal_mode=WAL;" + _SCHEMA)
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO reservations VALUES (?, ?, 100, 0, 'confirmed', ?)",
                         ((key, MANDATE, at) for key, at in seeded(size)))
        conn.execute("COMMIT")
        began = time.perf_counter()
        spend = SqliteStore(path).for_account("acct").spend
        spend.spent("default", now=NOW)  # opens the file: the migration fills the buckets
        migrated = time.perf_counter() - began
        old = OLD_SUM.format(table="reservations", scope="mandate = ?", mark="?")

        def old_sum(_: int) -> None:
            conn.execute(old, (MANDATE, NOW_US - DAY_US)).fetchone()

        return spend, migrated, old_sum

    def bare(self) -> Callable[[int], None]:
        conn = sqlite3.connect(self.root / "bare.db", isolation_level=None)
        conn.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                           "CREATE TABLE IF NOT EXISTS bare (key TEXT PRIMARY KEY, cents INTEGER, created_us INTEGER)")

        def run(n: int) -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO bare VALUES (?, 100, ?)", (f"b{n}", NOW_US + n))
            conn.execute("COMMIT")

        return run


class Postgres:
    """One fresh schema per size, at the previous schema version, seeded by COPY, then opened (migrated)."""

    name = "PostgreSQL"

    def __init__(self, server: str) -> None:
        self.server = server
        self.schemas: list[str] = []

    def _schema(self) -> str:
        import psycopg

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"'.encode())
        self.schemas.append(schema)
        joiner = "&" if "?" in self.server else "?"
        return f"{self.server}{joiner}options={quote(f'-csearch_path={schema}')}"

    def open(self, size: int) -> tuple[SpendStore, float, Callable[[int], None]]:
        import psycopg

        from agent_billing.guardrails.postgres import MIGRATIONS, PostgresStore

        url = self._schema()
        conn = psycopg.connect(url, autocommit=True)
        conn.execute("CREATE TABLE agent_billing_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT "
                     "NULL DEFAULT now())")
        for version, sql in MIGRATIONS[:2]:
            conn.execute(sql.encode())
            conn.execute("INSERT INTO agent_billing_schema (version) VALUES (%s)", (version,))
        data = io.StringIO("".join(f"acct\t{key}\tdefault\t100\t0\tconfirmed\t{at}\n" for key, at in seeded(size)))
        with conn.cursor() as cur, cur.copy("COPY ab_reservations FROM STDIN") as copy:
            copy.write(data.getvalue())
        conn.execute("ANALYZE ab_reservations")
        store = PostgresStore(url, max_size=2)
        began = time.perf_counter()
        spend = store.for_account("acct").spend
        spend.spent("default", now=NOW)  # migrates: the buckets are filled from the rows
        migrated = time.perf_counter() - began
        old = OLD_SUM.format(table="ab_reservations", scope="account = %s AND mandate = %s", mark="%s")

        def old_sum(_: int) -> None:
            conn.execute(old, ("acct", "default", NOW_US - DAY_US)).fetchone()

        return spend, migrated, old_sum

    def bare(self) -> Callable[[int], None]:
        import psycopg

        conn = psycopg.connect(self._schema())
        conn.execute("CREATE TABLE bare (key TEXT PRIMARY KEY, cents BIGINT, created_us BIGINT)")
        conn.commit()

        def run(n: int) -> None:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(42)")
                conn.execute("INSERT INTO bare VALUES (%s, 100, %s)", (f"b{n}", NOW_US + n))

        return run

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.server, autocommit=True) as conn:
            for schema in self.schemas:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE'.encode())


def timed(block: int, call: Callable[[int], None], counter: list[int]) -> float:
    """The median of ``block`` calls, in seconds."""
    samples = []
    for _ in range(block):
        counter[0] += 1
        began = time.perf_counter()
        call(counter[0])
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"


def measure(backend: Any, sizes: list[int], rounds: int, block: int) -> None:
    stores = {}
    for size in sizes:
        began = time.perf_counter()
        spend, migrated, old_sum = backend.open(size)
        print(f"{backend.name}: {size:,} rows seeded and migrated in {time.perf_counter() - began:.1f} s "
              f"(the migration's backfill: {migrated:.2f} s)", flush=True)
        stores[size] = (spend, old_sum)
    bare = backend.bare()
    counter = [0]

    def reserve(spend: SpendStore) -> Callable[[int], None]:
        return lambda n: spend.reserve("default", f"r{n}", Decimal("1"), limit=CAP,
                                       now=NOW + timedelta(milliseconds=n)) and None

    def check(spend: SpendStore) -> Callable[[int], None]:
        return lambda n: spend.spent("default", now=NOW + timedelta(milliseconds=n)) and None

    results: dict[tuple[str, int], list[float]] = {}
    for size in sizes:  # a warm-up block each (caches, prepared statements, the pool), not counted
        timed(block, reserve(stores[size][0]), counter)
        timed(block, check(stores[size][0]), counter)
    timed(block, bare, counter)
    for _ in range(rounds):
        for size in sizes:  # interleaved: every size and the baseline in each round
            spend, old_sum = stores[size]
            results.setdefault(("reserve", size), []).append(timed(block, reserve(spend), counter))
            results.setdefault(("spent", size), []).append(timed(block, check(spend), counter))
            results.setdefault(("old", size), []).append(timed(max(1, block // 10), old_sum, counter))
        results.setdefault(("bare", 0), []).append(timed(block, bare, counter))
    bare_ms = results[("bare", 0)]
    print(f"\n{backend.name}: bare transaction {statistics.median(bare_ms) * 1000:.2f} ms (median of {rounds} "
          f"rounds of {block})")
    print("| rows in window | reserve | vs 0 rows | vs bare transaction | spent (check) | vs 0 rows | old SUM |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        res, chk, old = results[("reserve", size)], results[("spent", size)], results[("old", size)]
        base_res, base_chk = results[("reserve", sizes[0])], results[("spent", sizes[0])]
        print(f"| {size:,} | {statistics.median(res) * 1000:.2f} ms "
              f"| {spread([r / b for r, b in zip(res, base_res, strict=True)])} "
              f"| {spread([r / b for r, b in zip(res, bare_ms, strict=True)])} "
              f"| {statistics.median(chk) * 1000:.3f} ms "
              f"| {spread([c / b for c, b in zip(chk, base_chk, strict=True)])} "
              f"| {statistics.median(old) * 1000:.2f} ms |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server (omit to measure SQLite only)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 10_000, 100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--block", type=int, default=40, help="calls per size per round")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    sizes = sorted(set(args.sizes))
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_sqlite:
            measure(Sqlite(Path(tmp)), sizes, args.rounds, args.block)
        if args.postgres:
            backend = Postgres(args.postgres)
            try:
                measure(backend, sizes, args.rounds, args.block)
            finally:
                backend.drop()


if __name__ == "__main__":
    main()
