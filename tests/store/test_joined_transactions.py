"""A gated flow's store calls between two steps share one PostgreSQL transaction (issue 25).

Before the send: the reservation, the audit's yes and the write-ahead record are committed together, or not at
all; after it: the confirmation, the audit's success and the settling of the record. A failure in the middle
(a trigger that raises, or one deferred to the commit) leaves neither half, and a charge is still made once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from tests.conftest import TOKEN
from tests.store.charging import charges, fund

from agent_billing.guardrails.mandate import Mandate
from agent_billing.guardrails.postgres import PostgresStore
from agent_billing.guardrails.store import StoreUnavailableError
from agent_billing.inprocess import sandbox_clients
from agent_billing.tools import BillingToolkit

AUTO = Mandate(max_per_charge="50", max_per_24h="500", auto_approve=True)


@pytest.fixture
def store(postgres_url: str) -> Iterator[PostgresStore]:
    made = PostgresStore(postgres_url, timeout=2.0)
    yield made
    made.close()


def _toolkit(app: Any, store: PostgresStore) -> BillingToolkit:
    client, aclient = sandbox_clients(app, token=TOKEN)
    return BillingToolkit(client=client, async_client=aclient, store=store, mandate=AUTO)


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return list(conn.execute(sql.encode()).fetchall())


def _decisions(store: PostgresStore, toolkit: BillingToolkit) -> list[str]:
    return [json.loads(line)["decision"] for line in store.audit_lines(toolkit.guard.account)]


def _raise_on(url: str, table: str, event: str, *, deferred: bool = False) -> None:
    """A trigger that makes ``event`` on ``table`` fail (at the statement, or at the commit when ``deferred``)."""
    kind = "CONSTRAINT TRIGGER" if deferred else "TRIGGER"
    when = " DEFERRABLE INITIALLY DEFERRED" if deferred else ""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(b"CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS "
                     b"$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$")
        conn.execute(f"CREATE {kind} boom AFTER {event} ON {table}{when} FOR EACH ROW EXECUTE FUNCTION boom()"
                     .encode())


def _heal(url: str, table: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TRIGGER boom ON {table}".encode())


def test_a_charge_costs_two_store_transactions(app: Any, store: PostgresStore,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from psycopg_pool import ConnectionPool

    toolkit = _toolkit(app, store)
    assert fund(toolkit)["ok"]  # migrated, connections made
    taken: list[int] = []
    getconn = ConnectionPool.getconn

    def counted(pool: Any, *args: Any, **kwargs: Any) -> Any:  # observes the real pool: each checkout, one txn
        taken.append(1)
        return getconn(pool, *args, **kwargs)

    monkeypatch.setattr(ConnectionPool, "getconn", counted)
    for _ in range(5):  # a named card: the default card's lookup is a request, so one stretch more
        assert fund(toolkit, payment_method_id="pm_card_visa")["ok"]
    # One before the send (checks, reservation, audit, write-ahead) and one after (confirm, audit, settle); the
    # calls one by one made eleven.
    assert len(taken) == 10
    assert charges(app)[1] == 6


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("deferred", [False, True], ids=["at the statement", "at the commit"])
def test_a_failed_write_ahead_record_keeps_neither_the_reservation_nor_the_yes(
        app: Any, store: PostgresStore, postgres_url: str, mode: str, deferred: bool) -> None:
    toolkit = _toolkit(app, store)
    assert toolkit.get_tool("wallet").invoke({"action": "balance"})
    store.schema_version()  # the tables exist, so the trigger can be put on one
    _raise_on(postgres_url, "ab_pending_outcomes", "INSERT", deferred=deferred)
    answer = fund(toolkit, mode)
    assert answer["ok"] is False and answer["sent"] is False and "Nothing was charged" in answer["message"], answer
    assert charges(app)[1] == 0
    # Neither half: no reservation (not even a released one) and no yes in the audit; the refusal is recorded.
    assert _rows(postgres_url, "SELECT key, status FROM ab_reservations") == []
    assert _rows(postgres_url, "SELECT idempotency_key FROM ab_pending_outcomes") == []
    assert _decisions(store, toolkit) == ["refused"]
    _heal(postgres_url, "ab_pending_outcomes")
    assert fund(toolkit, mode)["ok"] and charges(app)[1] == 1
    assert _rows(postgres_url, "SELECT status FROM ab_reservations") == [("confirmed",)]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("deferred", [False, True], ids=["at the statement", "at the commit"])
def test_a_failed_settlement_after_the_send_keeps_the_record_and_charges_once(
        app: Any, store: PostgresStore, postgres_url: str, mode: str, deferred: bool) -> None:
    toolkit = _toolkit(app, store)
    store.schema_version()
    _raise_on(postgres_url, "ab_pending_outcomes", "DELETE", deferred=deferred)
    answer = fund(toolkit, mode)
    assert charges(app)[1] == 1
    assert answer["ok"] and answer["recorded"] is False and "does not charge again" in answer["warning"], answer
    # Neither half of the record after the send: the reservation still pending (it counts all the same), no
    # success in the audit, and the write-ahead record in place for the repeat.
    assert _rows(postgres_url, "SELECT status FROM ab_reservations") == [("pending",)]
    assert _decisions(store, toolkit) == ["auto_approved"]
    assert len(_rows(postgres_url, "SELECT idempotency_key FROM ab_pending_outcomes")) == 1
    _heal(postgres_url, "ab_pending_outcomes")
    again = fund(_toolkit(app, store), mode)
    assert again["ok"] and "nothing was charged twice" in again["note"], again
    assert charges(app)[1] == 1
    assert _rows(postgres_url, "SELECT status FROM ab_reservations") == [("confirmed",)]
    assert _rows(postgres_url, "SELECT idempotency_key FROM ab_pending_outcomes") == []


def test_joined_calls_commit_together_and_a_failure_rolls_back_all_since_the_last_commit(
        store: PostgresStore, postgres_url: str) -> None:
    from datetime import datetime, timezone

    from agent_billing.guardrails.postgres import PostgresDeclinedRequests

    declined, now = PostgresDeclinedRequests(store), datetime(2026, 1, 1, tzinfo=timezone.utc)
    store.schema_version()
    outside = psycopg.connect(postgres_url, autocommit=True)
    with store.joined():
        declined.remember("a", until=now)
        declined.remember("b", until=now)
        assert outside.execute(b"SELECT item FROM ab_declined").fetchall() == []  # not yet committed
        store.flush()
        assert sorted(outside.execute(b"SELECT item FROM ab_declined").fetchall()) == [("a",), ("b",)]
        declined.remember("c", until=now)
        with pytest.raises(StoreUnavailableError), store.cursor() as cur:
            cur.execute(b"SELECT 1/0").fetchone()
        declined.remember("d", until=now)  # a new transaction, committed when the block ends
    items = sorted(row[0] for row in outside.execute(b"SELECT item FROM ab_declined").fetchall())
    assert items == ["a", "b", "d"]
    with pytest.raises(ZeroDivisionError), store.joined():  # the caller's own failure rolls back too
        declined.remember("e", until=now)
        raise ZeroDivisionError
    assert outside.execute(b"SELECT count(*) FROM ab_declined WHERE item = 'e'").fetchone() == (0,)
    outside.close()
    assert declined.is_declined("d", now=now)
