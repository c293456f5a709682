"""Durable out-of-band approval requests on every backend: memory, the state directory, one SQLite file, PostgreSQL.

Deciding is one compare-and-set from pending: racing threads (each with its own connection) and racing OS
processes (each its own store, as separate web workers) get exactly one winner. The store keeps only the
token's hash; expired rows are swept in bounded batches.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from tests.store import approval_workers

from agent_billing.guardrails.approval import ApprovalRequest
from agent_billing.guardrails.approval_requests import SWEEP_BATCH, ApprovalRequests, Evidence, token_hash
from agent_billing.guardrails.out_of_band import requests_in
from agent_billing.guardrails.store import StateDirStore, open_store

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
ASKED = ApprovalRequest(operation="top_up", effect="charge", summary="Charge $25.00 USD to Visa ending 4242.",
                        intent_digest="digest-1", approval_id="acct:top_up:fp:call_1")


@pytest.fixture(params=["memory", "state_dir", "sqlite", "postgresql"])
def requests(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApprovalRequests]:
    if request.param == "memory":
        yield ApprovalRequests.memory()
    elif request.param == "state_dir":
        yield StateDirStore(tmp_path).for_account("acct").approval_requests
    elif request.param == "sqlite":
        yield open_store(f"sqlite:///{tmp_path / 'state.db'}").for_account("acct").approval_requests
    else:
        yield requests_in(request.getfixturevalue("postgres_url"))


def _create(requests: ApprovalRequests, token: str, *, minutes: int = 15, now: datetime = NOW, **changes: Any) -> str:
    record = requests.create("acct", ASKED.model_copy(update=changes), approval_id=ASKED.approval_id or "",
                             token=token, now=now, expires_at=now + timedelta(minutes=minutes))
    return record.id


def test_a_request_keeps_the_facts_and_only_the_token_hash(requests: ApprovalRequests) -> None:
    record_id = _create(requests, "tok-A")
    record = requests.get(record_id, now=NOW)
    assert record is not None and record.status == "pending" and record.request == ASKED.model_copy(
        update={"confirmation": None})
    assert record.digest == "digest-1" and record.expires_at == NOW + timedelta(minutes=15)
    assert requests.find("tok-A", now=NOW) == record
    assert requests.find(token_hash("tok-A"), now=NOW) is None  # the stored hash is not a token
    with requests.backend.transaction() as run:
        (row,) = run("SELECT * FROM ab_approval_requests", ())
    assert "tok-A" not in repr(row) and token_hash("tok-A") in row
    assert requests.latest("acct", ASKED.approval_id or "", "digest-1", now=NOW) == record
    assert requests.latest("acct", ASKED.approval_id or "", "digest-2") is None  # bound to the digest


def test_decide_is_one_compare_and_set_and_records_evidence(requests: ApprovalRequests) -> None:
    record_id = _create(requests, "tok-A")
    evidence = Evidence(method="approval page", client="203.0.113.9", user_agent="Phone\u202e/1", identity="ada")
    decided = requests.decide("tok-A", approved=True, evidence=evidence, now=NOW + timedelta(minutes=1))
    assert decided is not None and decided.status == "approved"
    assert decided.evidence == Evidence(method="approval page", client="203.0.113.9", user_agent="Phone/1",
                                        identity="ada")
    assert decided.decided_at == NOW + timedelta(minutes=1)
    # Used: no second decision, either way; the link opens nothing.
    assert requests.decide("tok-A", approved=False, evidence=evidence, now=NOW + timedelta(minutes=2)) is None
    assert requests.find("tok-A", now=NOW + timedelta(minutes=2)) is None
    assert requests.get(record_id, now=NOW).status == "approved"  # type: ignore[union-attr]
    # A yes is spent once.
    assert requests.use(record_id, now=NOW) and not requests.use(record_id, now=NOW)


def test_expired_unknown_and_declined_requests_decide_nothing(requests: ApprovalRequests) -> None:
    expired = _create(requests, "tok-old", minutes=5)
    late = NOW + timedelta(minutes=5)
    assert requests.decide("tok-old", approved=True, evidence=Evidence(method="m"), now=late) is None
    assert requests.get(expired).status == "expired"  # type: ignore[union-attr]  # swept by that write
    assert requests.decide("never-issued", approved=True, evidence=Evidence(method="m"), now=NOW) is None
    declined = _create(requests, "tok-no")
    assert requests.decide("tok-no", approved=False, evidence=Evidence(method="m"), now=NOW).status == "declined"  # type: ignore[union-attr]
    assert not requests.use(declined, now=NOW)  # a no is never spent as a yes
    retracted = _create(requests, "tok-undelivered")
    assert requests.retract(retracted, now=NOW) and not requests.retract(retracted, now=NOW)
    assert requests.decide("tok-undelivered", approved=True, evidence=Evidence(method="m"), now=NOW) is None


def test_each_write_sweeps_a_bounded_batch(requests: ApprovalRequests) -> None:
    for i in range(SWEEP_BATCH + 20):
        _create(requests, f"old-{i}", minutes=1, now=NOW - timedelta(days=40))
    assert requests.count() == SWEEP_BATCH + 20
    _create(requests, "new-1", minutes=60 * 24 * 40)
    # One batch: SWEEP_BATCH pending rows marked expired, and (past the retention) removed; 20 wait their turn.
    with requests.backend.transaction() as run:
        assert run("SELECT status, COUNT(*) FROM ab_approval_requests GROUP BY status ORDER BY status", ()) == [
            ("pending", 21)]
    _create(requests, "new-2", minutes=60 * 24 * 40)
    assert requests.count() == 2
    # An expired request inside the retention is kept (its evidence), as expired.
    _create(requests, "recent", minutes=1)
    _create(requests, "new-3", now=NOW + timedelta(minutes=2))
    assert requests.count() == 4 and requests.latest("acct", ASKED.approval_id or "", "digest-1", now=NOW) is not None
    with requests.backend.transaction() as run:
        assert run("SELECT COUNT(*) FROM ab_approval_requests WHERE status = 'expired'", ())[0][0] == 1
    assert requests.find("new-1", now=NOW) is not None


def test_racing_threads_one_winner(requests: ApprovalRequests, request: pytest.FixtureRequest) -> None:
    import threading

    _create(requests, "tok-race")
    barrier = threading.Barrier(6)
    won: list[str] = []
    lost: list[int] = []

    def click(i: int) -> None:
        barrier.wait()
        record = requests.decide("tok-race", approved=i % 2 == 0, evidence=Evidence(method=f"click {i}"), now=NOW)
        (won if record else lost).append(record.evidence.method if record and record.evidence else str(i))  # type: ignore[arg-type]

    threads = [threading.Thread(target=click, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and len(lost) == 5


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_racing_processes_one_winner(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    _create(requests_in(url), "tok-procs")
    spawn = multiprocessing.get_context("spawn")
    with spawn.Manager() as manager, ProcessPoolExecutor(4, mp_context=spawn) as pool:
        start = manager.Event()
        futures = [pool.submit(approval_workers.click, url, "tok-procs", i, start) for i in range(4)]
        start.set()
        results = [future.result(timeout=120) for future in futures]
    assert sorted(r is not None for r in results) == [False, False, False, True]
    record = requests_in(url).latest("acct", ASKED.approval_id or "", "digest-1")
    assert record is not None and record.evidence is not None
    assert record.evidence.method == next(r for r in results if r is not None)


def test_postgres_migration_5_creates_the_table_from_version_4(postgres_url: str) -> None:
    import psycopg

    from agent_billing.guardrails.postgres import MIGRATIONS, PostgresStore

    assert [version for version, _ in MIGRATIONS].index(5) == 4  # appended, never edited
    with psycopg.connect(postgres_url, autocommit=True) as conn:  # what version 4 left behind
        conn.execute("CREATE TABLE agent_billing_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT "
                     "NULL DEFAULT now())")
        for version, sql in MIGRATIONS[:4]:
            conn.execute(sql.encode())
            conn.execute("INSERT INTO agent_billing_schema (version) VALUES (%s)", (version,))
    store = PostgresStore(postgres_url)
    try:
        requests = store.for_account("acct").approval_requests
        _create(requests, "tok-migrated")
        assert store.schema_version() >= 5 and requests.find("tok-migrated", now=NOW) is not None
    finally:
        store.close()
