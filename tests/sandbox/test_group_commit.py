"""Group commit: queued requests share one commit, run in arrival order, and fail alone or (commit) together.

The writer is held on a first job (an event, never a sleep) while the others queue, so what shares a
batch is decided by the test, not by timing. Commits are counted with SQLite's statement trace. The
commit failure is real: a deferred foreign key that SQLite checks only at COMMIT.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sandbox_helpers import API, TOKEN, FakeClock, count, make_app

from agent_billing.sandbox.group_commit import GroupCommit
from agent_billing.sandbox.store import SqliteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS parents (id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, n INTEGER NOT NULL,
    parent INTEGER REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED);
"""
TIMEOUT = 10  # seconds; a hang fails the test instead of blocking the suite


def _store(tmp_path: Path) -> tuple[SqliteStore, list[str]]:
    store = SqliteStore(str(tmp_path / "store.db"), schema=SCHEMA)
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    return store, statements


def _held(release: threading.Event, started: threading.Event) -> Callable[[], str]:
    def first() -> str:
        started.set()
        assert release.wait(TIMEOUT)
        return "first"
    return first


async def _queue_behind_first(writer: GroupCommit, jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run ``jobs`` through ``writer`` while its thread is busy with a first job, so they queue together."""
    release, started = threading.Event(), threading.Event()
    first = asyncio.ensure_future(writer.run(_held(release, started)))
    assert await asyncio.to_thread(started.wait, TIMEOUT)
    rest = [asyncio.ensure_future(writer.run(job)) for job in jobs]
    await asyncio.sleep(0)  # every job is in the queue before the writer is let go
    release.set()
    results = await asyncio.wait_for(asyncio.gather(first, *rest, return_exceptions=True), TIMEOUT)
    return list(results[1:])


def test_jobs_queued_together_share_one_commit_and_run_in_arrival_order(tmp_path: Path) -> None:
    store, statements = _store(tmp_path)
    writer = GroupCommit(store)
    order: list[int] = []

    def job(n: int) -> Callable[[], int]:
        def insert() -> int:
            order.append(n)
            return store.insert("rows", n=n)
        return insert

    results = asyncio.run(_queue_behind_first(writer, [job(n) for n in range(20)]))
    writer.close()
    assert results == list(range(1, 21)) and order == list(range(20))
    assert statements.count("COMMIT") == 2  # the first job alone, then the twenty queued behind it at once
    assert (writer.batches, writer.jobs) == (2, 21)
    assert store.scalar("SELECT COUNT(*) FROM rows") == 20
    store.close()


def test_a_lone_request_waits_for_no_batch(tmp_path: Path) -> None:
    store, statements = _store(tmp_path)
    writer = GroupCommit(store)

    async def one_after_another() -> list[int]:
        return [await writer.run(store.insert, "rows", n=n) for n in range(3)]

    assert asyncio.run(one_after_another()) == [1, 2, 3]
    assert statements.count("COMMIT") == 3  # each committed (and answered) before the next was sent
    writer.close()
    store.close()


def test_a_job_that_raises_leaves_nothing_and_its_neighbours_stand(tmp_path: Path) -> None:
    store, _ = _store(tmp_path)
    writer = GroupCommit(store)

    def half_done() -> None:
        store.insert("rows", n=99)
        raise ValueError("refused after a write")

    results = asyncio.run(_queue_behind_first(writer, [
        lambda: store.insert("rows", n=1), half_done, lambda: store.insert("rows", n=2)]))
    writer.close()
    assert results[0] == 1 and isinstance(results[1], ValueError) and results[2] == 2
    assert [r[0] for r in store.rows("SELECT n FROM rows ORDER BY id")] == [1, 2]  # not 99
    store.close()


def test_a_failed_commit_fails_every_job_of_the_batch_and_the_writer_goes_on(tmp_path: Path) -> None:
    store, _ = _store(tmp_path)
    writer = GroupCommit(store)
    orphan = lambda: store.insert("rows", n=2, parent=404)  # noqa: E731  (checked only at COMMIT)
    results = asyncio.run(_queue_behind_first(writer, [lambda: store.insert("rows", n=1), orphan]))
    assert all(isinstance(r, sqlite3.IntegrityError) for r in results), results  # the innocent job too
    assert store.scalar("SELECT COUNT(*) FROM rows") == 0  # nothing of the batch stands

    async def after() -> int:
        return await writer.run(store.insert, "rows", n=3)

    assert asyncio.run(after()) == 1  # the connection was not left inside the failed transaction
    writer.close()
    assert store.scalar("SELECT n FROM rows") == 3
    store.close()


def test_a_refused_commit_does_not_leave_the_store_inside_its_transaction(tmp_path: Path) -> None:
    store, _ = _store(tmp_path)
    with pytest.raises(sqlite3.IntegrityError), store.transaction():
        store.insert("rows", n=1, parent=404)
    with store.transaction():  # before: "cannot start a transaction within a transaction"
        store.insert("parents", id=1)
        store.insert("rows", n=2, parent=1)
    assert store.scalar("SELECT n FROM rows") == 2
    store.close()


def test_a_statement_inside_a_transaction_opens_no_savepoint_of_its_own(tmp_path: Path) -> None:
    store, statements = _store(tmp_path)
    with store.transaction():
        store.insert("rows", n=1)
        store.update("rows", {"n": 1}, n=2)
        assert store.scalar("SELECT n FROM rows") == 2
        with store.transaction():  # an explicit nested block is still a savepoint
            store.insert("rows", n=3)
    assert [s.split()[0] for s in statements] == ["BEGIN", "INSERT", "UPDATE", "SELECT", "SAVEPOINT", "INSERT",
                                                  "RELEASE", "COMMIT"]
    store.close()


def _insert_noting_thread(store: SqliteStore, n: int) -> tuple[int, threading.Thread]:
    return store.insert("rows", n=n), threading.current_thread()  # the writer's thread, seen from inside


def test_a_closed_writer_stops_its_thread_and_a_later_job_gets_a_new_one(tmp_path: Path) -> None:
    store, _ = _store(tmp_path)
    writer = GroupCommit(store)

    async def one(n: int) -> tuple[int, threading.Thread]:
        return await writer.run(_insert_noting_thread, store, n)

    _, first = asyncio.run(one(1))
    writer.close()
    assert not first.is_alive() and writer._thread is None
    assert asyncio.run(one(2))[0] == 2  # served after close(): never queued behind a writer that is gone
    writer.close()
    with pytest.raises(ValueError, match="at least 1"):
        GroupCommit(store, max_batch=0)
    store.close()


def test_an_idle_writer_exits_and_the_next_job_starts_another(tmp_path: Path) -> None:
    store, _ = _store(tmp_path)
    writer = GroupCommit(store, idle_seconds=0)  # exits as soon as its queue is empty

    async def one(n: int) -> tuple[int, threading.Thread]:
        return await writer.run(_insert_noting_thread, store, n)

    rowids, threads = [], []
    for n in range(5):
        rowid, thread = asyncio.run(one(n))
        thread.join(TIMEOUT)  # it goes idle and exits at once
        assert not thread.is_alive()
        rowids.append(rowid)
        threads.append(thread)
    assert rowids == [1, 2, 3, 4, 5] and len(set(threads)) == 5 and writer._thread is None
    store.close()


def test_a_fund_whose_commit_fails_answers_500_moves_nothing_and_its_retry_funds_once() -> None:
    """Over the API: SQLite refuses the batch's COMMIT (a deferred foreign key broken by a trigger on every
    wallet entry); the request gets the 500 envelope, nothing is kept (no payment, no stored answer), and the
    same key funds once when the fault is gone."""
    app = make_app(FakeClock())
    ledger = app.state.sandbox.ledger
    account = app.state.sandbox.account_for_token(TOKEN)
    ledger._conn.executescript("""
        CREATE TEMP TABLE fault_parent (id INTEGER PRIMARY KEY);
        CREATE TEMP TABLE fault_child (parent INTEGER REFERENCES fault_parent (id) DEFERRABLE INITIALLY DEFERRED);
        CREATE TEMP TRIGGER fault AFTER INSERT ON main.wallet_entries BEGIN
            INSERT INTO fault_child VALUES (404);
        END;""")
    fund = {"amount": 10, "payment_method_id": "pm_card_visa"}

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as client:
            return await client.post(API + "/wallet/fund", json=fund,
                                     headers={"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": "fund-1"})

    failed = asyncio.run(send())
    assert failed.status_code == 500 and failed.json()["error"]["code"] == "server_error", failed.text
    assert "could not save this request" in failed.json()["error"]["message"]  # the commit, not the handler
    assert ledger.balance(account.id) == 0
    assert count(ledger, "SELECT COUNT(*) FROM payment_intents") == 0
    assert count(ledger, "SELECT COUNT(*) FROM idempotency_keys") == 0  # a 5xx is not replayed
    ledger._conn.execute("DROP TRIGGER temp.fault")
    retried = asyncio.run(send())
    assert retried.status_code == 200 and "idempotency_replay" not in retried.json()["data"]
    assert ledger.balance(account.id) == 1000
    ledger.check_invariants()
    app.state.sandbox.close()
