"""Sandbox fund operations per second and p99 latency at 1, 8 and 32 concurrent clients, over loopback,
against two baselines measured in the same run: the disk's SQLite commit ceiling and a bare Starlette
endpoint doing one such commit.

Run: python benchmarks/sandbox_throughput.py [--seconds S] [--rounds N] [--clients 1,8,32] [--writers 8]

Each server (the sandbox, then the bare endpoint) runs in its own process, so the clients (threads of
this process, each on its own kept-alive ``http.client`` connection) do not share its interpreter lock.
Each client funds its own account with ``pm_card_visa`` (every request a new idempotency key, so every
one commits). The ceiling is a plain loop of one-row INSERT + COMMIT transactions in a WAL database in
the same directory, with the ledger's settings: what the disk allows one writer, before any HTTP, JSON
or ledger logic. The bare endpoint is Starlette on uvicorn doing that same commit in the thread pool.
Rounds are interleaved (ceiling, bare, sandbox at each client count, round after round); each figure is
the median over rounds with its spread (min-max); server CPU per operation is read from /proc.

Fairness across processes: ``--writers`` processes (default 8) each open the sandbox ledger on one file and
credit their own account in a loop of write transactions for ``--seconds``; the figure is the spread of
commits per process (a starved writer shows as a minimum near 0).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

FUND = json.dumps({"amount": 10, "payment_method_id": "pm_card_visa"}).encode()
API = "/api/agents/v1"


def commit_ceiling(directory: Path, seconds: float) -> float:
    """Commits per second of one-row transactions in a WAL SQLite file in ``directory``."""
    path = directory / "ceiling.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v INTEGER)")
    done, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (v) VALUES (?)", (done,))
        conn.execute("COMMIT")
        done += 1
    conn.close()
    return done / seconds


def _bare_app(db_path: str) -> Any:
    """Starlette, one POST route, one one-row commit per request in the thread pool (as the sandbox does)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    local = threading.local()

    def commit() -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = sqlite3.connect(db_path, isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v BLOB)")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (v) VALUES (?)", (b"x",))
        conn.execute("COMMIT")

    async def fund(request: Request) -> Response:
        await request.body()
        await run_in_threadpool(commit)
        return Response(b'{"data":{"ok":true}}', media_type="application/json")

    app = Starlette(routes=[Route(API + "/wallet/fund", fund, methods=["POST"]),
                            Route(API + "/billing/payment-methods", fund, methods=["POST"])])
    app.state.providers = []
    return app


def _serve(kind: str, db_path: str, tokens: list[str], pipe: Connection) -> None:
    from agent_billing.sandbox.server import SandboxServer

    app = _bare_app(db_path) if kind == "bare" else None
    kwargs: dict[str, Any] = {"app": app} if app is not None else {"tokens": tokens, "rate_limit": False,
                                                                    "db_path": db_path}
    with SandboxServer(**kwargs) as server:
        pipe.send(server.root_url)
        pipe.recv()  # until told to stop
        if app is None:
            server.check_invariants()
    pipe.send("stopped")


@dataclass
class Server:
    """A server in its own process: its root URL and its process's CPU seconds so far."""

    process: multiprocessing.Process
    pipe: Connection
    root: str

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.pipe.send("stop")
        self.pipe.recv()
        self.process.join(10)


def start(kind: str, db_path: str, tokens: list[str]) -> Server:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=_serve, args=(kind, db_path, tokens, child), daemon=True)
    process.start()
    return Server(process, parent, parent.recv())


def load(root: str, tokens: list[str], seconds: float) -> tuple[float, float]:
    """(fund operations per second, p99 latency in ms) with one client per token, all at once."""
    latencies: list[float] = []
    lock = threading.Lock()
    host, port = root.removeprefix("http://").rsplit(":", 1)
    gate = threading.Barrier(len(tokens) + 1)
    errors: list[str] = []

    def worker(token: str) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def post(path: str, body: bytes, key: str) -> None:
            conn.request("POST", path, body=body, headers={**auth, "Idempotency-Key": key})
            response = conn.getresponse()
            data = response.read()
            if response.status != 200:
                errors.append(f"{response.status} {data[:200]!r}")

        post(API + "/billing/payment-methods", b'{"payment_method_id":"pm_card_visa","make_default":true}', os.urandom(8).hex())
        mine: list[float] = []
        gate.wait()
        deadline = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            post(API + "/wallet/fund", FUND, f"{token}-{n}-{os.urandom(4).hex()}")
            mine.append(time.perf_counter() - began)
            n += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    gate.wait()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[0]}")
    ordered = sorted(latencies)
    return len(ordered) / seconds, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def _writer(db_path: str, index: int, seconds: float, gate: Any, out: Any) -> None:
    from agent_billing.providers.modelslab.sandbox.ledger import Ledger

    try:
        ledger = Ledger(db_path, clock=time.time)
        account = ledger.ensure_account(f"sk_fair_{index}", reseller=False)
        gate.wait()
        done, deadline = 0, time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            with ledger.transaction():
                ledger.credit(account.id, 100, source="stripe", transaction_id=f"pi_{index}_{done}", usecase="fairness")
            done += 1
        ledger.close()
        out.put(done)
    except Exception as exc:  # reported by the parent, not a hang until its timeout
        out.put(f"writer {index}: {exc!r}")


def fairness(directory: Path, writers: int, seconds: float) -> list[int]:
    """Commits per process when ``writers`` processes write one ledger file at once, for ``seconds``."""
    from agent_billing.providers.modelslab.sandbox.ledger import Ledger

    path = str(directory / f"shared-{os.urandom(4).hex()}.db")  # a new file each round
    Ledger(path, clock=time.time).close()  # schema and seed once, before the race
    gate = multiprocessing.Barrier(writers)
    out: multiprocessing.Queue[int | str] = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=_writer, args=(path, i, seconds, gate, out)) for i in range(writers)]
    for process in processes:
        process.start()
    results = [out.get(timeout=seconds + 60) for _ in processes]
    for process in processes:
        process.join(10)
    failed = [r for r in results if isinstance(r, str)]
    if failed:
        raise RuntimeError(failed[0])
    return sorted(int(r) for r in results)


def _spread(values: list[float], fmt: Callable[[float], str]) -> str:
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}-{fmt(max(values))})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=4.0, help="duration of each measurement (default 4)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--clients", default="1,8,32", help="client counts (default 1,8,32)")
    parser.add_argument("--writers", type=int, default=8, help="processes of the fairness run (default 8; 0: none)")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    tokens = [f"sk_bench_{i}" for i in range(max(counts))]
    ceilings: list[float] = []
    runs: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    fair: list[list[int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        servers = {"sandbox": start("sandbox", str(directory / "ledger.db"), tokens),
                   "bare": start("bare", str(directory / "bare.db"), tokens)}
        try:
            for _ in range(args.rounds):
                for clients in counts:
                    ceilings.append(commit_ceiling(directory, args.seconds / 2))
                    for kind, server in servers.items():
                        before = server.cpu()
                        rate, p99 = load(server.root, tokens[:clients], args.seconds)
                        cpu_ms = (server.cpu() - before) * 1000 / max(1.0, rate * args.seconds)
                        runs.setdefault((kind, clients), []).append((rate, p99, cpu_ms))
                if args.writers:
                    fair.append(fairness(directory, args.writers, args.seconds))
        finally:
            for server in servers.values():
                server.stop()
    ceiling = statistics.median(ceilings)
    print(f"cores {os.cpu_count()}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{args.rounds} interleaved rounds of {args.seconds:g} s; median (min-max)")
    print(f"SQLite commit ceiling (same disk, WAL, one writer): {_spread(ceilings, lambda x: f'{x:,.0f}')} commits/s")
    print("| clients | server | fund ops/s | p99 | server CPU/op | vs ceiling | vs bare endpoint |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for clients in counts:
        bare = statistics.median(r[0] for r in runs[("bare", clients)])
        for kind in ("sandbox", "bare"):
            samples = runs[(kind, clients)]
            rates = [r[0] for r in samples]
            rate = statistics.median(rates)
            print(f"| {clients} | {kind} | {_spread(rates, lambda x: f'{x:,.0f}')} | "
                  f"{_spread([r[1] for r in samples], lambda x: f'{x:,.1f}')} ms | "
                  f"{statistics.median(r[2] for r in samples):.2f} ms | {rate / ceiling:.3f}x | "
                  f"{rate / bare:.2f}x |")
    for counts in fair:
        print(f"fairness: {len(counts)} processes writing one ledger file for {args.seconds:g} s: commits per process "
              f"{counts[0]:,}-{counts[-1]:,} (median {statistics.median(counts):,.0f}, total {sum(counts):,})")


if __name__ == "__main__":
    main()
