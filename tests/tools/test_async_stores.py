"""The guarded flow under ``ainvoke`` with real stores, the request id of a success, one pending lookup per charge.

- A store waiting on a lock (a SQLite write lock, a PostgreSQL advisory lock held by another
  connection) must not stall the event loop: the async driver resumes the flow in a worker thread,
  so another coroutine keeps running while the charge waits, and the charge completes once the lock
  is released.
- A successful charge's audit record carries the request id the API answered with (also when an
  unknown outcome is replayed), and the chain still verifies.
- A charge reads the pending unknown outcomes once, observed through SQLite's statement trace.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from tests.conftest import TOKEN
from tests.store.conftest import postgres_url  # noqa: F401  (a fixture: a fresh PostgreSQL schema)
from tests.tools.conftest import acall, call

from agent_billing.audit import MemoryAuditLog, event_of
from agent_billing.audit_commands import audit_chains_of, verify_command
from agent_billing.client import AsyncBillingClient, BillingClient
from agent_billing.guardrails.mandate import Mandate
from agent_billing.guardrails.pending_outcomes import PendingOutcomes
from agent_billing.guardrails.postgres import PostgresStore, lock_id
from agent_billing.guardrails.store import open_store
from agent_billing.inprocess import SANDBOX_BASE_URL, SyncASGITransport
from agent_billing.retry import RetryPolicy
from agent_billing.tools import BillingToolkit

VISA = "pm_card_visa"
AUTO = Mandate(max_per_charge="100", auto_approve=True)


@pytest.fixture
def visa(clients: tuple[BillingClient, AsyncBillingClient]) -> BillingClient:
    """The sync client, with Visa saved as the default card."""
    clients[0].add_payment_method(VISA, make_default=True)
    return clients[0]


class Ticker:
    """A coroutine on the test's loop that counts: it advances only while the loop is free."""

    def __init__(self) -> None:
        self.ticks = 0
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.001)
            self.ticks += 1

    async def advance(self, by: int) -> None:
        """Wait until the ticker has advanced ``by`` more ticks (bounded: a stalled loop fails the test)."""
        target = self.ticks + by
        for _ in range(by * 50):
            if self.ticks >= target:
                return
            await asyncio.sleep(0.001)
        raise AssertionError(f"the ticker advanced {self.ticks - target + by} of {by} ticks")

    def stop(self) -> None:
        self._task.cancel()


async def while_sqlite_is_locked(clients: tuple[BillingClient, AsyncBillingClient], visa: BillingClient,
                                 path: Path, payment_method_id: str) -> dict[str, Any]:
    """Fund $10, then, while another connection holds the store's write lock, fund $20 with
    ``payment_method_id``: the loop must keep running and the call must not answer until the lock is released."""
    toolkit = BillingToolkit(client=clients[0], async_client=clients[1], store=f"sqlite:///{path}", mandate=AUTO)
    wallet = toolkit.get_tool("wallet")
    first, _ = await acall(wallet, action="fund", amount=10, payment_method_id=VISA)  # opens every table
    assert first["ok"], first

    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's write transaction: the store's writes must wait
    ticker = Ticker()
    try:
        task = asyncio.create_task(acall(wallet, action="fund", amount=20, payment_method_id=payment_method_id))
        await ticker.advance(100)
        assert not task.done(), "the call answered while the store was locked"
        assert str(visa.get_wallet_balance().balance) == "10.00"  # nothing was charged yet
        holder.execute("COMMIT")
        content, _ = await asyncio.wait_for(task, timeout=30)
    finally:
        ticker.stop()
        holder.close()
    return content


async def test_a_sqlite_write_lock_does_not_stall_the_loop(clients: tuple[BillingClient, AsyncBillingClient],
                                                           visa: BillingClient, tmp_path: Path) -> None:
    content = await while_sqlite_is_locked(clients, visa, tmp_path / "state.db", VISA)
    assert content["ok"], content
    assert str(visa.get_wallet_balance().balance) == "30.00"


async def test_a_card_data_refusal_waits_for_the_audit_store_off_the_loop(
        clients: tuple[BillingClient, AsyncBillingClient], visa: BillingClient, tmp_path: Path) -> None:
    """The refusal of card data is audited before it answers; a locked audit store must not stall the loop."""
    content = await while_sqlite_is_locked(clients, visa, tmp_path / "state.db", "4242 4242 4242 4242")
    assert content["error"] == "card_data_not_allowed" and "4242" not in str(content), content
    assert str(visa.get_wallet_balance().balance) == "10.00"


def _advisory_waiters(conn: psycopg.Connection[Any], key: int) -> int:
    """How many sessions wait for the advisory lock ``key`` (pg_locks splits it into classid and objid)."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    row = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND "
                       "classid::bigint = %s AND objid::bigint = %s", (unsigned >> 32, unsigned & 0xFFFF_FFFF)).fetchone()
    return int(row[0]) if row else 0


async def test_a_postgres_advisory_lock_does_not_stall_the_loop(
        clients: tuple[BillingClient, AsyncBillingClient], visa: BillingClient, postgres_url: str,  # noqa: F811
) -> None:
    # A bounded wait for the toolkit's sessions: a regression stalls the loop for 10 s and fails, never hangs.
    assert re.search(r"[?&]options=[^&]*$", postgres_url)  # libpq's options come last: extend them
    bounded = f"{postgres_url}%20-clock_timeout%3D10s"
    toolkit = BillingToolkit(client=clients[0], async_client=clients[1], store=bounded, mandate=AUTO)
    wallet = toolkit.get_tool("wallet")
    first, _ = await acall(wallet, action="fund", amount=10, payment_method_id=VISA)  # migrates the schema
    assert first["ok"], first

    # The audit chain's lock, held by another worker: the charge's "auto_approved" record must wait for it.
    key = lock_id("audit", clients[0].account_id)
    holder = psycopg.connect(postgres_url, autocommit=True)
    holder.execute("SELECT pg_advisory_lock(%s)", (key,))
    ticker = Ticker()
    try:
        charge = asyncio.create_task(acall(wallet, action="fund", amount=20, payment_method_id=VISA))
        for _ in range(3000):  # until the charge's session is seen waiting for the lock
            if _advisory_waiters(holder, key):
                break
            await ticker.advance(1)
        assert _advisory_waiters(holder, key) == 1, "the charge never reached the lock"
        await ticker.advance(50)  # the loop runs on while the charge waits...
        assert _advisory_waiters(holder, key) == 1 and not charge.done()  # ...and the charge still waits
        assert str(visa.get_wallet_balance().balance) == "10.00"
        holder.execute("SELECT pg_advisory_unlock(%s)", (key,))
        content, _ = await asyncio.wait_for(charge, timeout=30)
    finally:
        ticker.stop()
        holder.close()
        store = open_store(bounded)
        assert isinstance(store, PostgresStore)
        store.close()
    assert content["ok"], content
    assert str(visa.get_wallet_balance().balance) == "30.00"


# --- the request id of a success


class RequestIds(httpx.BaseTransport):
    """Passes requests to the sandbox and notes the request id of each answer to ``/wallet/fund``."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner, self.ids = inner, []  # type: tuple[httpx.BaseTransport, list[str]]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/wallet/fund"):
            self.ids.append(response.headers["X-Request-Id"])
        return response


def test_a_successful_charge_records_its_request_id(sandbox_app: Any, visa: BillingClient, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    seen = RequestIds(SyncASGITransport(sandbox_app))
    client = BillingClient(base_url=SANDBOX_BASE_URL, token=TOKEN, transport=seen)
    toolkit = BillingToolkit(client=client, store=url, mandate=AUTO)
    for amount in (10, 12):
        content, _ = call(toolkit.get_tool("wallet"), action="fund", amount=amount, payment_method_id=VISA)
        assert content["ok"], content

    [lines] = audit_chains_of(url).values()
    succeeded = [event_of(line) for line in lines if event_of(line).decision == "succeeded"]
    assert [event.request_id for event in succeeded] == seen.ids and len(set(seen.ids)) == 2
    assert all(rid.startswith("req_") for rid in seen.ids)
    out: list[str] = []
    assert verify_command(url, write=out.append) == 0, out  # the chain holds the new field intact


class DropFirstAnswer(httpx.BaseTransport):
    """The first ``/wallet/fund`` is committed by the sandbox but its answer is lost (a 502 with no body)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner, self.dropped = inner, False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/wallet/fund") and not self.dropped:
            self.dropped = True
            response.read()
            return httpx.Response(502, request=request)
        return response


def test_a_replayed_success_records_the_replay_request_id(sandbox_app: Any, visa: BillingClient,
                                                          tmp_path: Path) -> None:
    seen = RequestIds(DropFirstAnswer(SyncASGITransport(sandbox_app)))
    client = BillingClient(base_url=SANDBOX_BASE_URL, token=TOKEN, transport=seen, retry=RetryPolicy(max_retries=0))
    audit = MemoryAuditLog()
    toolkit = BillingToolkit(client=client, audit=audit, mandate=AUTO,
                             pending_outcomes=PendingOutcomes(tmp_path / "pending.db"))
    first, _ = call(toolkit.get_tool("wallet"), action="fund", amount=10, payment_method_id=VISA)
    again, _ = call(toolkit.get_tool("wallet"), action="fund", amount=10, payment_method_id=VISA)
    assert first["error"] == "outcome_unknown" and again["ok"] and "nothing was charged twice" in again["note"]
    decisions = [(event.decision, event.request_id) for event in audit.events]
    assert ("replayed", None) in decisions and decisions[-1] == ("succeeded", seen.ids[-1])


def test_other_arguments_for_the_same_charge_replay_it(sandbox_app: Any, visa: BillingClient, tmp_path: Path) -> None:
    """The one lookup still finds an unknown outcome by the intent, not only by the tool arguments."""
    client = BillingClient(base_url=SANDBOX_BASE_URL, token=TOKEN, transport=DropFirstAnswer(SyncASGITransport(sandbox_app)),
                           retry=RetryPolicy(max_retries=0))
    toolkit = BillingToolkit(client=client, audit=MemoryAuditLog(), mandate=AUTO,
                             pending_outcomes=PendingOutcomes(tmp_path / "pending.db"))
    first, _ = call(toolkit.get_tool("wallet"), action="fund", amount=10)  # the default card: Visa
    again, _ = call(toolkit.get_tool("wallet"), action="fund", amount=10, payment_method_id=VISA)
    assert first["error"] == "outcome_unknown" and again["ok"] and "nothing was charged twice" in again["note"]
    assert str(visa.get_wallet_balance().balance) == "10.00"


# --- pending-outcome reads per charge: two lookups through an index, never a scan of the history


def test_a_charge_looks_the_pending_outcomes_up_by_index(clients: tuple[BillingClient, AsyncBillingClient],
                                                         visa: BillingClient, tmp_path: Path) -> None:
    pending = PendingOutcomes(tmp_path / "pending.db")
    statements: list[str] = []
    pending._conn.set_trace_callback(statements.append)  # SQLite reports each statement it runs
    toolkit = BillingToolkit(client=clients[0], audit=MemoryAuditLog(), mandate=AUTO, pending_outcomes=pending,
                             approval=lambda request: True)
    for args in ({"amount": 10, "payment_method_id": VISA}, {"amount": 11}):  # a named card, the default card
        statements.clear()
        content, _ = call(toolkit.get_tool("wallet"), action="fund", **args)
        assert content["ok"], content
        selects = [s for s in statements if s.startswith("SELECT")]
        # By the tool arguments' fingerprint, then by the resolved intent's digest.
        assert [" AND fingerprint = " in s for s in selects] == [True, False], selects
        assert " AND digest = " in selects[1]
        pending._conn.set_trace_callback(None)
        for select in selects:
            plan = " ".join(str(row[-1]) for row in pending._conn.execute("EXPLAIN QUERY PLAN " + select))
            assert plan.startswith("SEARCH") and "USING INDEX" in plan, plan  # not SCAN: cost flat in the history
        pending._conn.set_trace_callback(statements.append)
