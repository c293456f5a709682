"""What a spend-authority budget check costs on PostgreSQL, at 1 and 16 workers, against a baseline in the same run.

Run: python benchmarks/budget_check.py --postgres URL [--calls 200] [--workers 1 16]

Each worker is a thread with its own store object (its own connection pool, as a separate host would have),
in a fresh schema (dropped after). Per worker count, three measurements, each a worker doing ``--calls``
calls one after the other:

- ``reserve`` (the baseline): the mandate's rolling 24 h reservation, ``SpendStore.reserve`` (issue 25's
  bucketed totals), what every auto-approved charge already paid for before spend authorities;
- ``claim``: ``AuthorityStore.claim``, one authority (a budget, a rolling period, a recurrence limit): lock
  its row, read its usage, check, record the charge, in one transaction;
- ``check``: ``AuthorityStore.check``, what ``check_spend`` and the verdict before an approval read.

``own``: each worker its own agent and authority (no contention); ``shared``: every worker on one authority
(claims serialize on its row lock) and one mandate (serialized by its advisory lock). Printed: mean
milliseconds per call, calls per second over all workers, and each row's ratio to the baseline (reserve) of
the same worker count and sharing.
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import quote

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def _schema_url(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options={quote(f'-csearch_path={schema}')}"


def _run(workers: int, calls: int, action: Callable[[int, int], object]) -> tuple[float, float]:
    """(mean seconds per call, calls per second overall) of ``workers`` threads doing ``calls`` each."""
    barrier, spent = threading.Barrier(workers), [0.0] * workers

    def work(index: int) -> None:
        barrier.wait(timeout=60)
        start = time.perf_counter()
        for n in range(calls):
            action(index, n)
        spent[index] = time.perf_counter() - start

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    wall = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    wall = time.perf_counter() - wall
    return sum(spent) / (workers * calls), workers * calls / wall


def measure(url: str, workers: int, calls: int, shared: bool) -> dict[str, tuple[float, float]]:
    from agent_billing.guardrails.authority import SpendAuthority, SpendCall
    from agent_billing.guardrails.postgres import PostgresStore
    from agent_billing.registry import Effect

    stores = [PostgresStore(url, min_size=1, max_size=1) for _ in range(workers)]
    run_id = uuid.uuid4().hex[:8]
    try:
        spends = [s.for_account("acct").spend for s in stores]
        authorities = [s.for_account("acct").authorities for s in stores]
        agents = ["shared"] if shared else [f"agent{i}" for i in range(workers)]
        for agent in agents:
            authorities[0].create(SpendAuthority(id=f"sa_{run_id}_{agent}", agent=agent, budget="1000000",
                                                 period_budget="1000000", period=timedelta(hours=24),
                                                 max_charges=10_000_000), now=NOW)

        def agent_of(index: int) -> str:
            return agents[0] if shared else agents[index]

        def call(index: int) -> SpendCall:
            return SpendCall(operation="top_up", effect=Effect.CHARGE, amount=Decimal("1"), agent=agent_of(index))

        def now(index: int, n: int) -> datetime:  # every call its own instant (no real clock in the numbers)
            return NOW + timedelta(microseconds=index * 1_000_000 + n)

        results = {
            "reserve": _run(workers, calls, lambda i, n: spends[i].reserve(
                agent_of(i), f"r{run_id}-{i}-{n}", Decimal("1"), limit=Decimal("1000000"), now=now(i, n))),
            "claim": _run(workers, calls, lambda i, n: authorities[i].claim(call(i), f"c{run_id}-{i}-{n}",
                                                                              now=now(i, n))),
            "check": _run(workers, calls, lambda i, n: authorities[i].check(call(i), now=now(i, n))),
        }
        return results
    finally:
        for store in stores:
            store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--postgres", required=True, metavar="URL")
    parser.add_argument("--calls", type=int, default=200, help="calls per worker")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 16])
    args = parser.parse_args()
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(args.postgres, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"'.encode())
    try:
        url = _schema_url(args.postgres, schema)
        print(f"{'workers':>7} {'sharing':>7} {'call':>8} {'ms/call':>8} {'calls/s':>8} {'x reserve':>9}")
        for workers in args.workers:
            for shared in (False, True):
                rows = measure(url, workers, args.calls, shared)
                base = rows["reserve"][0]
                for name, (mean, rate) in rows.items():
                    print(f"{workers:>7} {'shared' if shared else 'own':>7} {name:>8} {mean * 1000:>8.2f} "
                          f"{rate:>8.0f} {mean / base:>9.2f}")
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE'.encode())


if __name__ == "__main__":
    main()
