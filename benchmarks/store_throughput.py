"""Spend reservations per second and their p99 latency, on SQLite and PostgreSQL, at 1, 8 and 32 workers.

Run: python benchmarks/store_throughput.py --postgres URL [--seconds 5] [--workers 1 8 32]

Each worker is an OS process with its own store object (its own SQLite connection, or its own
PostgreSQL pool), as separate agent workers would have. All workers reserve against the same mandate
of the same account, the worst case: every reservation takes the same lock (SQLite's write lock, or
PostgreSQL's advisory lock for that mandate). Each reservation is a full check-and-insert: the window's
spent total is summed, checked against a cap that never binds, and the row inserted. Every
configuration starts on an empty store (a fresh SQLite file, a fresh PostgreSQL schema).
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

CAP = Decimal("1000000000")


def worker(url: str, index: int, seconds: float, start: Any) -> list[float]:
    """Reserve $1 amounts back to back for ``seconds``; the latency of each, in seconds."""
    from agent_billing.guardrails.postgres import PostgresStore
    from agent_billing.guardrails.store import SqliteStore, Store

    store: Store = SqliteStore(url[len("sqlite://"):]) if url.startswith("sqlite") else PostgresStore(url, max_size=1)
    spend = store.for_account("acct").spend
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    spend.spent("default", now=now)  # connect (and create the schema) before the clock starts
    start.wait()
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    n = 0
    while True:
        began = time.perf_counter()
        if began >= deadline:
            break
        spend.reserve("default", f"w{index}-{n}", Decimal("1"), limit=CAP, now=now)
        latencies.append(time.perf_counter() - began)
        n += 1
    return latencies


def run(url: str, workers: int, seconds: float) -> tuple[float, float, float]:
    """(reservations per second, median ms, p99 ms) for ``workers`` processes."""
    spawn = multiprocessing.get_context("spawn")
    with spawn.Manager() as manager, ProcessPoolExecutor(workers, mp_context=spawn) as pool:
        start = manager.Event()
        futures = [pool.submit(worker, url, i, seconds, start) for i in range(workers)]
        time.sleep(1.0 + 0.05 * workers)  # let every worker connect
        start.set()
        samples = [latency for future in futures for latency in future.result()]
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return len(samples) / seconds, statistics.median(samples) * 1000, p99 * 1000


def fresh_postgres(server: str) -> str:
    """A URL whose tables land in a new, empty schema."""
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"'.encode())
    return f"{server}{'&' if '?' in server else '?'}options={quote(f'-csearch_path={schema}')}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server (omit to measure SQLite only)")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured time per configuration")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()
    print("| backend | workers | reservations/s | median | p99 |")
    print("|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for workers in args.workers:
            backends = [("SQLite (one file, WAL, synchronous=FULL)", f"sqlite://{Path(tmp) / f'{workers}.db'}")]
            if args.postgres:
                backends.append(("PostgreSQL (loopback TCP)", fresh_postgres(args.postgres)))
            for name, url in backends:
                rate, median, p99 = run(url, workers, args.seconds)
                print(f"| {name} | {workers} | {rate:,.0f} | {median:.2f} ms | {p99:.2f} ms |", flush=True)


if __name__ == "__main__":
    main()
