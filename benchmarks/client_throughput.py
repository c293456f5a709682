"""Calls per second against the sandbox on loopback: BillingClient against what people write themselves.

Run: python benchmarks/client_throughput.py [--rounds N] [--calls N]

One ``SandboxServer`` on 127.0.0.1 (rate limits off), ``GET /wallet/balance`` each call. Sync: the
reference skill's ``requests.get`` per call (a new connection each time), ``requests.Session``, raw
``httpx.Client`` (the floor: no validation, no envelope parsing) and ``BillingClient`` (keep-alive).
Async, 32 calls in flight: raw ``httpx.AsyncClient`` and ``AsyncBillingClient``. The regression row
runs ``BillingClient`` against a second server whose socket is made the old way (protocol 0, no
TCP_NODELAY), where every kept-alive call waited for a delayed ACK.

The strategies run interleaved, in blocks of ``--calls``, for ``--rounds`` rounds; the table shows the
median calls/s per strategy and its ratio to ``requests.get`` per call measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import time
from collections.abc import Callable

import httpx
import requests

from agent_billing.client import AsyncBillingClient, BillingClient
from agent_billing.sandbox import SandboxServer
from agent_billing.sandbox import server as server_module

TOKEN = "sk_sandbox_bench"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
IN_FLIGHT = 32


def _old_bind(host: str, port: int) -> socket.socket:
    """The socket as it was made before the fix: protocol 0, so asyncio never set TCP_NODELAY."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def calls_per_second(block: Callable[[int], None], calls: int) -> float:
    start = time.perf_counter()
    block(calls)
    return calls / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()

    fixed = SandboxServer(tokens=(TOKEN,), rate_limit=False).start()
    bind, server_module._bind = server_module._bind, _old_bind  # type: ignore[assignment]
    try:
        old = SandboxServer(tokens=(TOKEN,), rate_limit=False).start()
    finally:
        server_module._bind = bind  # type: ignore[assignment]
    url = fixed.base_url + "/wallet/balance"
    session = requests.Session()
    raw = httpx.Client(headers=HEADERS)
    client = BillingClient(base_url=fixed.base_url, token=TOKEN)
    old_client = BillingClient(base_url=old.base_url, token=TOKEN)
    loop = asyncio.new_event_loop()

    def sync(call: Callable[[], object]) -> Callable[[int], None]:
        def block(n: int) -> None:
            for _ in range(n):
                call()
        return block

    def async_block(make: Callable[[], object], close: Callable[[object], object],
                    call: Callable[[object], object]) -> Callable[[int], None]:
        async def run(n: int) -> None:
            target = make()
            remaining = n

            async def worker() -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    await call(target)  # type: ignore[misc]
            await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
            await close(target)  # type: ignore[misc]

        return lambda n: loop.run_until_complete(run(n))

    strategies: dict[str, Callable[[int], None]] = {
        "requests.get per call (reference)": sync(lambda: requests.get(url, headers=HEADERS, timeout=10).json()),
        "requests.Session (keep-alive)": sync(lambda: session.get(url, headers=HEADERS, timeout=10).json()),
        "raw httpx.Client (keep-alive, floor)": sync(lambda: raw.get(url).json()),
        "BillingClient (keep-alive)": sync(client.get_wallet_balance),
        f"raw httpx.AsyncClient, {IN_FLIGHT} in flight": async_block(
            lambda: httpx.AsyncClient(headers=HEADERS), lambda c: c.aclose(),  # type: ignore[attr-defined]
            lambda c: c.get(url)),  # type: ignore[attr-defined]
        f"AsyncBillingClient, {IN_FLIGHT} in flight": async_block(
            lambda: AsyncBillingClient(base_url=fixed.base_url, token=TOKEN), lambda c: c.aclose(),  # type: ignore[attr-defined]
            lambda c: c.get_wallet_balance()),  # type: ignore[attr-defined]
        "BillingClient, old socket (no TCP_NODELAY)": sync(old_client.get_wallet_balance),
    }
    slow = {"BillingClient, old socket (no TCP_NODELAY)"}  # ~22 calls/s: a smaller block keeps the run short
    samples: dict[str, list[float]] = {name: [] for name in strategies}
    try:
        for block in strategies.values():  # warm-up: connections, imports, first requests
            block(5)
        for _ in range(args.rounds):
            for name, block in strategies.items():
                samples[name].append(calls_per_second(block, max(20, args.calls // 10) if name in slow else args.calls))
    finally:
        for c in (client, old_client):
            c.close()
        raw.close()
        session.close()
        loop.close()
        old.stop()
        fixed.stop()
    baseline = statistics.median(samples["requests.get per call (reference)"])
    print(f"rounds {args.rounds}, {args.calls} calls per block; GET /wallet/balance on 127.0.0.1\n")
    print("| client | calls/s (median) | min-max | vs requests.get per call |")
    print("|---|---:|---:|---:|")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"| {name} | {median:,.0f} | {min(values):,.0f}-{max(values):,.0f} | {median / baseline:.2f}x |")


if __name__ == "__main__":
    main()
