"""The state directory commits a charge's bookkeeping in two SQLite transactions (issue 25).

The pending outcomes live in ``spend.sqlite3`` on the spend store's connection: the reservation and the
write-ahead record are one transaction (one wait for the disk) before the send, the confirmation and the
settling one after it. A failure in the middle (a trigger that aborts) leaves neither half, and a charge is still
made once; records an earlier version kept in ``pending-outcomes.sqlite3`` move over.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import TOKEN
from tests.store.charging import charges, fund

from agent_billing.audit import MemoryAuditLog
from agent_billing.guardrails.authority import AuthorityStore, SpendAuthority
from agent_billing.guardrails.mandate import Mandate
from agent_billing.guardrails.pending_outcomes import PendingOutcomes
from agent_billing.guardrails.spend_store import SqliteSpendStore
from agent_billing.guardrails.store import StateDirStore
from agent_billing.inprocess import sandbox_clients
from agent_billing.tools import BillingToolkit

AUTO = Mandate(max_per_charge="50", max_per_24h="500", auto_approve=True)


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "state"
    monkeypatch.setenv("AGENT_BILLING_STATE_DIR", str(root))
    return root


def _toolkit(app: Any, **kwargs: Any) -> BillingToolkit:
    client, aclient = sandbox_clients(app, token=TOKEN)
    return BillingToolkit(client=client, async_client=aclient, **{"mandate": AUTO, "audit": MemoryAuditLog(),
                                                                 **kwargs})


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def _abort_on(path: Path, event: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(f"CREATE TRIGGER boom AFTER {event} ON pending_outcomes_v3 BEGIN "
                     "SELECT RAISE(ABORT, 'injected failure'); END")


def _heal(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER boom")


def test_a_charge_makes_two_durable_commits(app: Any, state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toolkit = _toolkit(app)
    assert fund(toolkit)["ok"]
    commits: list[str] = []
    conn = toolkit.guard.spend_store._conn  # type: ignore[union-attr]
    assert conn is not None
    conn.set_trace_callback(lambda sql: commits.append(sql) if sql.strip().upper() == "COMMIT" else None)
    for _ in range(3):
        assert fund(toolkit)["ok"]
    # Reservation and write-ahead record in one, confirmation and settling in the other; the pending file of the
    # previous layout is not used at all.
    assert len(commits) == 6 and charges(app)[1] == 4
    assert not (state / "pending-outcomes.sqlite3").exists()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_failed_write_ahead_record_keeps_no_reservation(app: Any, state: Path, mode: str) -> None:
    toolkit = _toolkit(app)
    spend = state / "spend.sqlite3"
    _abort_on(spend, "INSERT")
    answer = fund(toolkit, mode)
    assert answer["ok"] is False and answer["sent"] is False and "Nothing was charged" in answer["message"], answer
    assert charges(app)[1] == 0
    # Neither half: no reservation row (not even a released one), no record.
    assert _rows(spend, "SELECT key FROM reservations") == []
    assert _rows(spend, "SELECT idempotency_key FROM pending_outcomes_v3") == []
    _heal(spend)
    assert fund(toolkit, mode)["ok"] and charges(app)[1] == 1
    assert _rows(spend, "SELECT status FROM reservations") == [("confirmed",)]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_failed_settlement_keeps_the_record_and_the_repeat_charges_once(app: Any, state: Path, mode: str) -> None:
    toolkit = _toolkit(app)
    spend = state / "spend.sqlite3"
    _abort_on(spend, "DELETE")
    answer = fund(toolkit, mode)
    assert charges(app)[1] == 1
    assert answer["ok"] and answer["recorded"] is False, answer
    # Neither half after the send: the reservation still pending (it counts all the same), the record in place.
    assert _rows(spend, "SELECT status FROM reservations") == [("pending",)]
    assert len(_rows(spend, "SELECT idempotency_key FROM pending_outcomes_v3")) == 1
    _heal(spend)
    again = fund(_toolkit(app), mode)
    assert again["ok"] and "nothing was charged twice" in again["note"], again
    assert charges(app)[1] == 1
    assert _rows(spend, "SELECT status FROM reservations") == [("confirmed",)]
    assert _rows(spend, "SELECT idempotency_key FROM pending_outcomes_v3") == []


def test_records_of_the_older_pending_file_move_over_and_are_replayed(tmp_path: Path) -> None:
    now = datetime(2026, 12, 6, tzinfo=timezone.utc)
    old = PendingOutcomes(tmp_path / "pending-outcomes.sqlite3")
    old.remember("a:fund", "fp", "dg", "ab_1", {"amount": "25.00"}, now=now)
    old.close()
    pending = StateDirStore(tmp_path).for_account("a").pending
    found = pending.find("a:fund", fingerprint="fp", now=now)
    assert found is not None and found.idempotency_key == "ab_1" and found.arguments == {"amount": "25.00"}
    assert _rows(tmp_path / "pending-outcomes.sqlite3", "SELECT * FROM pending_outcomes_v3") == []
    assert _rows(tmp_path / "spend.sqlite3", "SELECT idempotency_key FROM pending_outcomes_v3") == [("ab_1",)]


def test_a_joined_block_commits_once_and_a_failure_keeps_nothing_of_it(tmp_path: Path) -> None:
    from decimal import Decimal

    spend = SqliteSpendStore(tmp_path / "spend.sqlite3")
    pending = PendingOutcomes(host=spend)
    now = datetime(2026, 12, 6, tzinfo=timezone.utc)
    outside = sqlite3.connect(tmp_path / "spend.sqlite3")
    with spend.joined():
        assert spend.reserve("m", "k1", Decimal("5"), limit=None, now=now).granted
        pending.remember("s", "fp", "dg", "k1", {}, now=now)
        assert outside.execute("SELECT count(*) FROM reservations").fetchone() == (0,)  # not committed yet
    assert outside.execute("SELECT count(*) FROM pending_outcomes_v3").fetchone() == (1,)
    with pytest.raises(RuntimeError), spend.joined():
        spend.reserve("m", "k2", Decimal("5"), limit=None, now=now)
        raise RuntimeError("a failure in the middle")
    assert spend.spent("m", now=now) == Decimal("5.00")
    assert outside.execute("SELECT key FROM reservations").fetchall() == [("k1",)]
    outside.close()


def test_spend_authorities_on_their_own_connection_are_not_blocked(app: Any, state: Path) -> None:
    # The state directory keeps authorities in the spend file on another connection: the guard must not hold a
    # transaction open on it while the claim is made (it would wait out the lock bound and refuse).
    client, _ = sandbox_clients(app, token=TOKEN)
    AuthorityStore.sqlite(state / "spend.sqlite3", account=client.account_id).create(
        SpendAuthority(agent="bot", budget="100"))
    toolkit = _toolkit(app, agent="bot")
    for _ in range(2):
        answer = fund(toolkit)
        assert answer["ok"], answer
    assert charges(app)[1] == 2
