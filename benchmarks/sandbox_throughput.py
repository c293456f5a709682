"""Sandbox fund operations per second and p99 latency at 1, 8 and 32 concurrent clients, over loopback,
against the SQLite commit ceiling measured on the same disk in the same run.

Run: python benchmarks/sandbox_throughput.py [--seconds S] [--rounds N]

Each client is a ``BillingClient`` on its own kept-alive connection, funding its own account with
``pm_card_visa`` (every request a new idempotency key, so every one commits). The ceiling is a plain
loop of one-row INSERT + COMMIT transactions in a WAL database in the same directory, with the
ledger's settings: what the disk allows one writer, before any HTTP, JSON or ledger logic.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

from agent_billing.client import BillingClient
from agent_billing.retry import RetryPolicy
from agent_billing.sandbox.server import SandboxServer


def commit_ceiling(directory: Path, seconds: float) -> float:
    """Commits per second of one-row transactions in a WAL SQLite file in ``directory``."""
    conn = sqlite3.connect(directory / "ceiling.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
    done, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (v) VALUES (?)", (done,))
        conn.execute("COMMIT")
        done += 1
    conn.close()
    return done / seconds


def fund_load(base_url: str, clients: int, seconds: float) -> tuple[float, float]:
    """(fund operations per second, p99 latency in ms) with ``clients`` concurrent clients."""
    latencies: list[float] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(clients + 1)

    def worker(index: int) -> None:
        client = BillingClient(base_url=base_url, token=f"sk_bench_{index}", retry=RetryPolicy.none())
        client.add_payment_method("pm_card_visa", make_default=True)
        mine: list[float] = []
        start_gate.wait()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            client.fund_wallet(Decimal("10"), "pm_card_visa")
            mine.append(time.perf_counter() - began)
        client.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start_gate.wait()
    for thread in threads:
        thread.join()
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    return len(latencies) / seconds, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each measurement (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians are reported (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        results: dict[int, list[tuple[float, float]]] = {1: [], 8: [], 32: []}
        ceilings: list[float] = []
        tokens = tuple(f"sk_bench_{i}" for i in range(32))
        with SandboxServer(tokens=tokens, rate_limit=False, db_path=str(directory / "ledger.db")) as server:
            for _ in range(args.rounds):
                ceilings.append(commit_ceiling(directory, args.seconds / 2))
                (directory / "ceiling.db").unlink()
                for clients in results:
                    results[clients].append(fund_load(server.base_url, clients, args.seconds))
            server.check_invariants()
    ceiling = statistics.median(ceilings)
    print(f"SQLite commit ceiling (same disk, WAL, one writer): {ceiling:,.0f} commits/s")
    print("| concurrent clients | fund ops/s | p99 latency | vs commit ceiling |")
    print("|---:|---:|---:|---:|")
    for clients, samples in results.items():
        rate = statistics.median(s[0] for s in samples)
        p99 = statistics.median(s[1] for s in samples)
        print(f"| {clients} | {rate:,.0f} | {p99:,.1f} ms | {rate / ceiling:.3f}x |")


if __name__ == "__main__":
    main()
