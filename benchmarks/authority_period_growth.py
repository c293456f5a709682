"""Spend authority claim and check cost against the number of charges in its rolling period (issue 24 follow-up).

Run: python benchmarks/authority_period_growth.py [--postgres URL] [--sizes 0 10000 100000] [--rounds 7] [--block 40]

For each backend (SQLite as ``AuthorityStore.sqlite`` opens it; PostgreSQL on a fresh schema per size) one store
per size holds one authority (a 24 h period, budgets that never bind) and that many confirmed charges of it,
spread evenly over the 24 h before the measured instant, written straight into ``ab_authority_charges`` (SQLite
``executemany`` in one transaction, PostgreSQL ``COPY`` then ``VACUUM ANALYZE``; where the running totals exist,
the table's triggers fill them as a claim would). Measured, interleaved by round (every size once per round, after
one warm-up round), in blocks of ``--block`` calls: ``claim`` (the whole check-and-record transaction, the instant
moving on 1 ms per call, so the period's trailing edge moves through the seeded charges) and ``check``
(``check_spend``'s read). Each figure is the median of the per-round medians; the ratio to the 0-charge store is
taken per round and shown as the median with the spread (min-max over rounds). The script runs against whichever
agent-billing is first on ``PYTHONPATH``, so the version before the running totals can be measured with the same
command.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from agent_billing.guardrails.authority import AuthorityStore, SpendAuthority, SpendCall
from agent_billing.registry import Effect

NOW = datetime(2026, 6, 2, 12, 0, tzinfo=timezone.utc)
PERIOD = timedelta(hours=24)
NOW_US = (NOW - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1)
PERIOD_US = PERIOD // timedelta(microseconds=1)
AUTHORITY = SpendAuthority(id="sa_bench", agent="bot", budget="1000000000", period_budget="1000000000", period=PERIOD)
CALL = SpendCall(operation="top_up", effect=Effect.CHARGE, amount=Decimal("1"), agent="bot")


def seeded(size: int) -> Iterator[tuple[str, str, str, int, str, int]]:
    """Rows of ``size`` confirmed charges evenly spread over the period, the newest just before NOW."""
    step = PERIOD_US / max(size, 1)
    return (("acct", f"seed{i}", AUTHORITY.id, 100, "confirmed", NOW_US - PERIOD_US + 1 + int(i * step))
            for i in range(size))


@contextmanager
def sqlite_store(root: Path, size: int) -> Iterator[AuthorityStore]:
    """A SQLite file holding ``size`` charges in the period."""
    import sqlite3

    path = root / f"{size}.db"
    store = AuthorityStore.sqlite(path, account="acct")
    store.create(AUTHORITY, now=NOW - PERIOD)
    with sqlite3.connect(path) as conn:
        conn.executemany("INSERT INTO ab_authority_charges VALUES (?, ?, ?, ?, ?, ?)", seeded(size))
    try:
        yield store
    finally:
        store.close()


@contextmanager
def postgres_store(url: str, size: int) -> Iterator[AuthorityStore]:
    """A fresh PostgreSQL schema holding ``size`` charges in the period (dropped after)."""
    import psycopg

    from agent_billing.guardrails.postgres import PostgresStore

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"'.encode())
    scoped = f"{url}{'&' if '?' in url else '?'}options={quote(f'-csearch_path={schema}')}"
    shared = PostgresStore(scoped)
    try:
        store = shared.for_account("acct").authorities
        store.create(AUTHORITY, now=NOW - PERIOD)
        with psycopg.connect(scoped) as conn:
            with conn.cursor().copy("COPY ab_authority_charges (account, key, authority_id, amount_cents, status, "
                                    "created_us) FROM STDIN") as copy:
                for row in seeded(size):
                    copy.write_row(row)
            conn.commit()
            # Seeding in one transaction leaves every running total updated once per row, each version dead:
            # vacuum, as autovacuum would between charges that come one transaction at a time.
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE")
        yield store
    finally:
        shared.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE'.encode())


def block(action: Callable[[int], object], first: int, calls: int) -> float:
    """Median seconds of ``calls`` calls of ``action(n)``, n counting on from ``first``."""
    times = []
    for n in range(first, first + calls):
        start = time.perf_counter()
        action(n)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(opener: Callable[[int], Any], sizes: list[int], rounds: int, calls: int) -> None:
    """Print the table for one backend."""
    with ExitStack() as stack:
        stores: list[AuthorityStore] = [stack.enter_context(opener(size)) for size in sizes]
        medians: dict[tuple[int, str], list[float]] = {(s, k): [] for s in sizes for k in ("claim", "check")}
        for round_ in range(rounds + 1):  # round 0 warms up
            for size, store in zip(sizes, stores, strict=True):
                first = round_ * calls

                def claim(n: int, store: AuthorityStore = store) -> object:
                    return store.claim(CALL, f"k{n}", now=NOW + timedelta(milliseconds=n))

                def check(n: int, store: AuthorityStore = store) -> object:
                    return store.check(CALL, now=NOW + timedelta(milliseconds=n))

                for name, action in (("claim", claim), ("check", check)):
                    median = block(action, first, calls)
                    if round_:
                        medians[size, name].append(median)
        print("| charges in period | claim | vs 0 | check | vs 0 |\n|---:|---:|---:|---:|---:|")
        for size in sizes:
            cells = [f"{size:,}"]
            for name in ("claim", "check"):
                ratios = [a / b for a, b in zip(medians[size, name], medians[sizes[0], name], strict=True)]
                cells += [f"{statistics.median(medians[size, name]) * 1000:.3f} ms",
                          f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"]
            print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--postgres", metavar="URL")
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--block", type=int, default=40, help="calls per block")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as root:
            print("SQLite:")
            measure(lambda size: sqlite_store(Path(root), size), args.sizes, args.rounds, args.block)
    if args.postgres:
        print("PostgreSQL:")
        measure(lambda size: postgres_store(args.postgres, size), args.sizes, args.rounds, args.block)


if __name__ == "__main__":
    main()
