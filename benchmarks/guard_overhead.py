"""A guarded charge against its lean floor and a direct client call, measured in the same run.

Run: python benchmarks/guard_overhead.py [--rounds 7] [--calls 40] [--stores state,postgres,memory] [--profile N]

Three ways to make the same provider request (fund $10 from a named card on the in-process sandbox):

- **direct**: the typed client's call, nothing else (no guarantee at all);
- **lean floor**: the minimum the guarantees need, written by hand: a LangChain tool with the same name and
  argument schema as the toolkit's, one card-data scan of the raw input, validation against the operation's
  model, one durable write-ahead record that checks the mandate's 24 h cap and reserves the amount under the
  request's idempotency key (the spend store's reservation), the request with that key, the confirmation of
  the spend, the shaped result and one hash-chained audit line. It uses the toolkit's own stores, so both
  pay for the same backend;
- **guarded**: ``BillingToolkit``'s ``wallet`` tool with an auto-approving mandate (``invoke``; the memory
  configuration also runs ``ainvoke``).

Rounds are interleaved (each round runs a block of ``--calls`` calls of every variant, in a rotating order),
so drift on a shared machine hits all alike; each round's ratio is of that round's medians, and the report
gives the median ratio with its spread (min-max over rounds). Stores: ``state`` (the default state directory's
files, a fresh temporary directory), ``postgres`` (``$AGENT_BILLING_TEST_POSTGRES_URL`` or
``$AGENT_BILLING_STORE_URL``, a fresh schema dropped afterwards), ``memory`` (in-memory stores).
``--clock cpu`` times with this process's CPU time (memory stores only: it leaves out the database's and the
disk's time). ``--profile N`` profiles N guarded charges per store instead (cProfile, top functions by own time).
``--count N`` counts instead, over N charges of each variant, the store transactions per charge: on PostgreSQL
the connections taken from the store's pool (each is one transaction), on SQLite the commits that wrote (``COMMIT``
statements and writes outside a transaction, seen by a trace callback); audit lines appended to a file are not
counted; the direct call's count (the in-process sandbox's own commits) is subtracted.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from langchain_core.tools import StructuredTool

from agent_billing.audit import AuditEvent, MemoryAuditLog
from agent_billing.exchange import validate_args
from agent_billing.guardrails.approval_records import ApprovalRecords
from agent_billing.guardrails.card_data import scan_arguments
from agent_billing.guardrails.mandate import Mandate
from agent_billing.guardrails.pending_outcomes import PendingOutcomes
from agent_billing.guardrails.spend_store import MemorySpendStore
from agent_billing.inprocess import sandbox_clients
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit
from agent_billing.tools.shaping import success_content
from agent_billing.tools.tool import dumps_content

ARGS = {"action": "fund", "amount": 10, "payment_method_id": "pm_card_visa"}


def lean_tool(toolkit: BillingToolkit) -> Callable[[dict[str, Any]], Any]:
    """The lean floor: the toolkit's ``wallet`` tool's schema and stores, with only what the guarantees need."""
    wallet = toolkit.get_tool("wallet")
    guard, client = toolkit.guard, toolkit.client
    assert client is not None and guard.mandate is not None and guard.spend_store is not None
    assert guard.audit is not None
    op = toolkit.registry.by_action("wallet", "fund")
    mandate, spend, audit = guard.mandate, guard.spend_store, guard.audit

    def fund(**raw: Any) -> str:
        raw = {k: v for k, v in raw.items() if v is not None and k != "action"}
        args = validate_args(op, raw)
        key = f"ab_{uuid.uuid4().hex}"
        now = guard._now()
        if not spend.reserve(mandate.name, key, args.amount, limit=mandate.max_per_24h, now=now).granted:
            return dumps_content({"ok": False, "error": "refused"})
        result, request_id = client._call_validated(op, args, key)
        spend.confirm(key)
        content = success_content(op, result)
        audit.record(AuditEvent(timestamp=now, operation=op.name, effect=op.effect.value, amount=args.amount,
                                decision="succeeded", approver=f"mandate:{mandate.name}", idempotency_key=key,
                                request_id=request_id, mandate=mandate.name, arguments=args.model_dump(mode="json"),
                                result=content["result"]))
        return dumps_content(content)

    tool = StructuredTool.from_function(func=fund, name=wallet.name, description=wallet.description,
                                        args_schema=wallet.args_schema)

    def invoke(tool_input: dict[str, Any]) -> Any:
        if scan_arguments(tool_input):  # the one scan of the raw input, before LangChain sees it
            raise ValueError("card data")
        return tool.invoke(tool_input)

    return invoke


@contextmanager
def store_for(name: str) -> Iterator[dict[str, Any]]:
    """The toolkit keyword arguments of a store configuration (a fresh state each run)."""
    if name == "memory":
        yield {"audit": MemoryAuditLog(), "spend_store": MemorySpendStore(), "pending_outcomes": PendingOutcomes(),
               "approval_records": ApprovalRecords()}
        return
    if name == "state":
        with tempfile.TemporaryDirectory(prefix="agent-billing-bench-") as root:
            previous = os.environ.get("AGENT_BILLING_STATE_DIR")
            os.environ["AGENT_BILLING_STATE_DIR"] = root
            try:
                yield {"store": None}
            finally:
                if previous is None:
                    os.environ.pop("AGENT_BILLING_STATE_DIR", None)
                else:
                    os.environ["AGENT_BILLING_STATE_DIR"] = previous
        return
    if name == "postgres":
        import psycopg

        server = os.environ.get("AGENT_BILLING_TEST_POSTGRES_URL") or os.environ.get("AGENT_BILLING_STORE_URL", "")
        if not server.startswith("postgres"):
            raise SystemExit("--stores postgres needs $AGENT_BILLING_TEST_POSTGRES_URL (a server to make a schema in)")
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"'.encode())
        joiner = "&" if "?" in server else "?"
        try:
            yield {"store": f"{server}{joiner}options={quote(f'-csearch_path={schema}')}"}
        finally:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE'.encode())
        return
    raise SystemExit(f"unknown store {name!r}: state, postgres or memory")


class Transactions:
    """Counts store transactions while installed (see ``--count``)."""

    def __init__(self) -> None:
        self.count = 0
        self._undo: list[Callable[[], None]] = []

    def install(self) -> None:
        from psycopg_pool import ConnectionPool

        getconn, connect = ConnectionPool.getconn, sqlite3.connect

        def counted_getconn(pool: Any, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return getconn(pool, *args, **kwargs)

        def traced_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
            conn: sqlite3.Connection = connect(*args, **kwargs)

            def trace(statement: str) -> None:
                word = statement.lstrip().split(" ", 1)[0].upper()
                if word == "COMMIT" or (word in {"INSERT", "UPDATE", "DELETE", "REPLACE"} and not conn.in_transaction):
                    self.count += 1

            conn.set_trace_callback(trace)
            return conn

        setattr(ConnectionPool, "getconn", counted_getconn)  # noqa: B010 - a patch for the count only
        setattr(sqlite3, "connect", traced_connect)  # noqa: B010
        self._undo = [lambda: setattr(ConnectionPool, "getconn", getconn), lambda: setattr(sqlite3, "connect", connect)]

    def uninstall(self) -> None:
        for undo in self._undo:
            undo()


def count_transactions(variants: dict[str, Callable[[], object]], counter: Transactions, calls: int) -> None:
    """Print the store transactions per call of each variant, less the direct call's (the sandbox's own)."""
    per_call: dict[str, float] = {}
    for key in ("direct", "lean floor", "guarded"):
        before = counter.count
        for _ in range(calls):
            variants[key]()
        per_call[key] = (counter.count - before) / calls
    for key in ("lean floor", "guarded"):
        print(f"  {key:<24} {per_call[key] - per_call['direct']:.2f} store transactions per charge")


CLOCK: Callable[[], float] = time.perf_counter  # --clock cpu: this process's CPU time instead


def block(fn: Callable[[], object], calls: int) -> float:
    """The median seconds of ``calls`` calls."""
    samples = []
    for _ in range(calls):
        start = CLOCK()
        fn()
        samples.append(CLOCK() - start)
    return statistics.median(samples)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"


def measure(name: str, rounds: int, calls: int, profile: int, count: int = 0) -> None:
    counter = Transactions()
    if count:
        counter.install()
    with store_for(name) as options:
        client, aclient = sandbox_clients(create_app(rate_limit=False))
        client.add_payment_method("pm_card_visa", make_default=True)
        toolkit = BillingToolkit(client=client, async_client=aclient, **options,
                                 mandate=Mandate(max_per_charge="100", max_per_24h="100000000", auto_approve=True))
        wallet = toolkit.get_tool("wallet")
        lean = lean_tool(toolkit)
        variants: dict[str, Callable[[], object]] = {
            "direct": lambda: client.fund_wallet(Decimal("10"), "pm_card_visa"),
            "lean floor": lambda: lean(dict(ARGS)),
            "guarded": lambda: wallet.invoke(dict(ARGS)),
        }
        loop = None
        if name == "memory":
            loop = asyncio.new_event_loop()
            variants["direct, async"] = lambda: loop.run_until_complete(aclient.fund_wallet(Decimal("10"),
                                                                                           "pm_card_visa"))
            variants["guarded, ainvoke"] = lambda: loop.run_until_complete(wallet.ainvoke(dict(ARGS)))
        for fn in variants.values():  # warm up: imports, connections, pages
            for _ in range(10):
                fn()
        if count:
            print(f"\n== store {name}, {count} charges of each")
            count_transactions(variants, counter, count)
            counter.uninstall()
            return
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(profile):
                variants["guarded"]()
            profiler.disable()
            print(f"\n== profile of {profile} guarded charges, store {name}")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
            return
        medians: dict[str, list[float]] = {key: [] for key in variants}
        order = list(variants)
        for r in range(rounds):
            for key in order[r % len(order):] + order[:r % len(order)]:
                medians[key].append(block(variants[key], calls))
        ratios = {
            "guarded / lean floor": [g / lf for g, lf in zip(medians["guarded"], medians["lean floor"], strict=True)],
            "lean floor / direct": [lf / d for lf, d in zip(medians["lean floor"], medians["direct"], strict=True)],
            "guarded / direct": [g / d for g, d in zip(medians["guarded"], medians["direct"], strict=True)],
        }
        if loop is not None:
            ratios["ainvoke / async direct"] = [g / d for g, d in zip(medians["guarded, ainvoke"],
                                                                      medians["direct, async"], strict=True)]
            loop.close()
        times = ", ".join(f"{key} {statistics.median(values) * 1000:.2f} ms" for key, values in medians.items())
        print(f"\nstore {name} ({rounds} rounds x {calls} calls; medians: {times})")
        for label, values in ratios.items():
            print(f"  {label:<24} {spread(values)}")
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--stores", default="state,postgres,memory")
    parser.add_argument("--profile", type=int, default=0, help="profile this many guarded charges instead")
    parser.add_argument("--count", type=int, default=0, help="count store transactions over this many charges instead")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="cpu: this process's CPU time (steadier on a loaded machine; excludes the database's "
                             "and the disk's time, so meaningful for the memory stores only)")
    options = parser.parse_args()
    global CLOCK
    CLOCK = time.process_time if options.clock == "cpu" else time.perf_counter
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name in options.stores.split(","):
        measure(name.strip(), options.rounds, options.calls, options.profile, options.count)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
