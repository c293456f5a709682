"""Spend authorities in the guardrail store (issue 24): every limit hard, checked and reserved in one transaction,
on SQLite and on a real PostgreSQL, with injected times; the portable format imports to the same behaviour."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from agent_billing.guardrails.authority import AuthorityNotFoundError, AuthorityStore, Instrument, SpendAuthority, SpendCall
from agent_billing.guardrails.intent import CardRef
from agent_billing.guardrails.portable import export_authority, import_authority
from agent_billing.guardrails.store import Store, open_store
from agent_billing.registry import Effect

D = Decimal
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
VISA = CardRef(id="pm_visa", brand="visa", last4="4242")
MASTERCARD = CardRef(id="pm_mc", brand="mastercard", last4="4444")
NewStore = Callable[[str], Store]


def authorities(url: str, account: str = "acct") -> AuthorityStore:
    store: AuthorityStore = open_store(url).for_account(account).authorities
    return store


def charge(amount: str, *, agent: str | None = "bot", task: str | None = None, card: CardRef | None = VISA,
           operation: str = "top_up", plan: int | str | None = None, payee: str | None = "acme") -> SpendCall:
    return SpendCall(operation=operation, effect=Effect.CHARGE, amount=D(amount), instrument=card, agent=agent,
                     task=task, plan=plan, payee=payee)


def test_a_budget_is_spent_exactly_and_released_charges_stop_counting(store_url: str) -> None:
    store = authorities(store_url)
    a = store.create(SpendAuthority(agent="bot", budget="50", max_amount="20"), now=NOW)
    assert store.claim(charge("20"), "k1", now=NOW).granted
    assert store.claim(charge("20"), "k2", now=NOW).granted
    refused = store.claim(charge("20"), "k3", now=NOW)
    assert not refused.granted and "budget of $50.00" in refused.reasons[0] and "$40.00 already spent" in refused.reasons[0]
    assert store.claim(charge("10"), "k4", now=NOW).granted  # exactly the budget
    assert not store.claim(charge("0.01"), "k5", now=NOW).granted
    store.release("k2")  # that charge failed: it stops counting
    assert store.inspect(a.id, now=NOW).spent == D("30.00")
    store.confirm("k2")  # ...but it went through after all: it counts again
    assert store.inspect(a.id, now=NOW).spent == D("50.00")
    store.release("k2")  # confirmed spend is never released
    assert store.inspect(a.id, now=NOW).usage.charges == 3


def test_claiming_a_key_again_is_idempotent(store_url: str) -> None:
    store = authorities(store_url)
    store.create(SpendAuthority(agent="bot", budget="20"), now=NOW)
    first = store.claim(charge("15"), "k", now=NOW)
    again = store.claim(charge("15"), "k", now=NOW)  # LangGraph re-runs the tool after a resume
    assert first.granted and again.granted and again.existing and not first.existing
    assert store.list(now=NOW)[0].spent == D("15.00")


def test_the_amount_range_and_the_rolling_period(store_url: str) -> None:
    store = authorities(store_url)
    store.create(SpendAuthority(agent="bot", min_amount="5", max_amount="30", period_budget="40",
                                period=timedelta(hours=1)), now=NOW)
    assert "below the minimum of $5.00" in store.claim(charge("4.99"), "low", now=NOW).reasons[0]
    assert "above the limit of $30.00 per charge" in store.claim(charge("30.01"), "high", now=NOW).reasons[0]
    assert store.claim(charge("30"), "a", now=NOW).granted
    assert not store.claim(charge("20"), "b", now=NOW + timedelta(minutes=59)).granted
    assert store.claim(charge("10"), "c", now=NOW + timedelta(minutes=59)).granted
    # The window rolls: an hour after the first, only the second counts.
    assert not store.claim(charge("30.01"), "d", now=NOW + timedelta(hours=1, microseconds=1)).granted
    assert store.claim(charge("30"), "e", now=NOW + timedelta(hours=1, microseconds=1)).granted


def test_recurrence_limits_refuse_what_they_should(store_url: str) -> None:
    store = authorities(store_url)
    store.create(SpendAuthority(agent="bot", max_charges=2, min_interval=timedelta(minutes=10)), now=NOW)
    assert store.claim(charge("10"), "k1", now=NOW).granted
    too_soon = store.claim(charge("10"), "k2", now=NOW + timedelta(minutes=9, seconds=59))
    assert not too_soon.granted and "one charge every 10 min" in too_soon.reasons[0]
    assert store.claim(charge("10"), "k2", now=NOW + timedelta(minutes=10)).granted
    third = store.claim(charge("10"), "k3", now=NOW + timedelta(days=1))
    assert not third.granted and "at most 2 charges, and 2 have been made" in third.reasons[0]
    store.release("k2")  # a failed charge is no occurrence: the second one may be made again
    assert store.claim(charge("10"), "k4", now=NOW + timedelta(days=1)).granted


def test_instrument_plan_operation_and_payee_allow_lists(store_url: str) -> None:
    store = authorities(store_url)
    store.create(SpendAuthority(agent="bot", allowed_instruments=[Instrument(brand="Visa", last4="4242")],
                                allowed_plan_ids=[10], allowed_operations=["top_up", "subscribe"],
                                allowed_payees=["acme"]), now=NOW)
    assert store.claim(charge("10"), "ok", now=NOW).granted
    card = store.claim(charge("10", card=MASTERCARD), "card", now=NOW)
    assert not card.granted and "Mastercard ending 4444" in card.reasons[0] and "Visa ending 4242" in card.reasons[0]
    # A card whose brand and last four were not read is not the allowed one: fail closed.
    assert not store.claim(charge("10", card=CardRef(id="pm_visa")), "unnamed", now=NOW).granted
    assert not store.claim(charge("10", card=None), "none", now=NOW).granted
    assert not store.claim(charge("10", operation="subscribe", plan=11), "plan", now=NOW).granted
    assert store.claim(charge("10", operation="subscribe", plan=10), "plan10", now=NOW).granted
    assert not store.claim(charge("10", operation="withdraw"), "op", now=NOW).granted
    assert not store.claim(charge("10", payee="other"), "payee", now=NOW).granted
    store_by_id = authorities(store_url, "acct2")
    store_by_id.create(SpendAuthority(allowed_instruments=[Instrument(id="pm_visa")]), now=NOW)
    assert store_by_id.claim(charge("10", card=CardRef(id="pm_visa")), "id", now=NOW).granted
    assert not store_by_id.claim(charge("10", card=MASTERCARD), "other", now=NOW).granted


def test_expiry_and_revocation(store_url: str) -> None:
    store = authorities(store_url)
    a = store.create(SpendAuthority(agent="bot", expires_at=NOW + timedelta(hours=1)), now=NOW)
    assert store.claim(charge("10"), "k1", now=NOW).granted
    expired = store.claim(charge("10"), "k2", now=NOW + timedelta(hours=1))
    assert not expired.granted and "expired" in expired.reasons[0]
    b = store.create(SpendAuthority(agent="other"), now=NOW)
    assert store.claim(charge("10", agent="other"), "k3", now=NOW).granted
    assert store.revoke(b.id, now=NOW) and not store.revoke(b.id, now=NOW)
    assert not store.claim(charge("10", agent="other"), "k4", now=NOW).granted  # revoked: none covers it
    assert [s.authority.id for s in store.list(now=NOW)] == [a.id]
    assert {s.authority.id for s in store.list(include_revoked=True, now=NOW)} == {a.id, b.id}
    with pytest.raises(AuthorityNotFoundError):
        store.revoke("sa_missing")


def test_scopes_agents_tasks_and_accounts_apart(store_url: str) -> None:
    store = authorities(store_url)
    store.create(SpendAuthority(agent="a", budget="10"), now=NOW)
    store.create(SpendAuthority(task="thread-1", budget="15"), now=NOW)
    assert not store.claim(charge("5", agent="b"), "b1", now=NOW).granted  # no authority for agent b anywhere
    assert store.claim(charge("5", agent="b", task="thread-1"), "b2", now=NOW).granted  # the task's covers b there
    # Agent a in thread-1: both its own budget and the task's hold.
    assert store.claim(charge("10", agent="a", task="thread-1"), "a1", now=NOW).granted
    both = store.claim(charge("1", agent="a", task="thread-1"), "a2", now=NOW)
    assert not both.granted and len(both.reasons) == 2
    assert not authorities(store_url, "other-account").claim(charge("5", agent="a"), "x", now=NOW).granted


def test_a_task_mandate_ends_with_its_task(store_url: str) -> None:
    store = authorities(store_url)
    with store.for_task("thread-9", budget="30") as a:
        assert store.claim(charge("10", task="thread-9"), "k1", now=NOW).granted
        assert not store.claim(charge("10", task="thread-8"), "k2", now=NOW).granted  # another task: not covered
    ended = store.claim(charge("10", task="thread-9"), "k3", now=NOW)
    assert not ended.granted and "No spend authority covers" in ended.reasons[0]
    assert store.inspect(a.id, now=NOW).usage.revoked_at is not None


def test_concurrent_claims_by_separate_workers_spend_exactly_the_budget(store_url: str, new_store: NewStore) -> None:
    workers = [new_store(store_url).for_account("acct").authorities for _ in range(4)]
    workers[0].create(SpendAuthority(agent="bot", budget="70"), now=NOW)
    barrier, granted = threading.Barrier(4), list[bool]()

    def race(index: int) -> None:
        barrier.wait(timeout=30)
        granted.extend(workers[index].claim(charge("7"), f"w{index}-{n}", now=NOW).granted for n in range(6))

    threads = [threading.Thread(target=race, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert sum(granted) == 10 and workers[1].list(now=NOW)[0].spent == D("70.00")


def _behaviour(store: AuthorityStore) -> list[bool]:
    steps: list[tuple[str, Any, timedelta]] = [
        ("k1", charge("20"), timedelta(0)), ("k2", charge("20"), timedelta(minutes=1)),
        ("k3", charge("20"), timedelta(minutes=30)), ("k4", charge("25"), timedelta(hours=2)),
        ("k5", charge("10", card=MASTERCARD), timedelta(hours=3)), ("k6", charge("10"), timedelta(hours=3)),
        ("k7", charge("10"), timedelta(hours=4)), ("k8", charge("10", agent="else"), timedelta(hours=5)),
        ("k9", charge("10"), timedelta(days=3)),
    ]
    return [store.claim(call, key, now=NOW + at).granted for key, call, at in steps]


def test_an_exported_mandate_imports_to_the_same_behaviour(store_url: str, tmp_path: Any) -> None:
    original = SpendAuthority(
        name="travel", agent="bot", min_amount="10", max_amount="20", budget="60", period_budget="40",
        period=timedelta(hours=1), max_charges=3, min_interval=timedelta(minutes=15), allowed_payees=["acme"],
        allowed_instruments=[Instrument(brand="visa", last4="4242"), Instrument(id="pm_other")],
        allowed_operations=["top_up"], allowed_plan_ids=[10, "STARTER"], expires_at=NOW + timedelta(days=2))
    source = authorities(store_url)
    source.create(original, now=NOW)
    import json

    doc = json.loads(json.dumps(export_authority(source.inspect(original.id).authority)))  # through real JSON
    assert doc["version"] == 1 and set(doc["constraints"]) == {"amount_range", "budget", "agent_recurrence",
                                                               "allowed_payees", "allowed_payment_instruments"}
    target = AuthorityStore.sqlite(tmp_path / "elsewhere.db", account="acct")  # another store altogether
    target.create(import_authority(doc), now=NOW)
    assert target.inspect(original.id, now=NOW).authority == original
    expected = [True, False, True, False, False, True, False, False, False]
    assert _behaviour(source) == _behaviour(target) == expected


@pytest.mark.parametrize("change, words", [
    (lambda d: d["constraints"].update(allowed_pisps=["bank"]), "allowed_pisps"),
    (lambda d: d["constraints"].update(execution_date="2026-07-01"), "execution_date"),
    (lambda d: d["constraints"].update(max_daily={"max": "1"}), "max_daily"),
    (lambda d: d["constraints"]["budget"].update(currency="EUR"), "several currencies"),
    (lambda d: d.update(version=2), "version 2"),
    (lambda d: d.update(type="closed"), "only open mandates"),
    (lambda d: d["agent_billing"].update(approval="maybe"), "approval"),
    (lambda d: d.update(format="other"), "not a portable mandate"),
])
def test_an_import_that_cannot_be_honoured_is_refused(change: Callable[[dict[str, Any]], None], words: str) -> None:
    doc = export_authority(SpendAuthority(id="sa_1", max_amount="20", budget="50"))
    change(doc)
    with pytest.raises(ValueError, match=words):
        import_authority(doc)


def test_an_old_postgres_schema_gets_authorities_and_keeps_its_reservations(postgres_url: str) -> None:
    import psycopg

    from agent_billing.guardrails.postgres import MIGRATIONS, SCHEMA_VERSION, PostgresStore

    with psycopg.connect(postgres_url, autocommit=True) as conn:  # what version 3 left behind, with spend in it
        conn.execute("CREATE TABLE agent_billing_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT "
                     "NULL DEFAULT now())")
        for version, sql in MIGRATIONS[:3]:
            conn.execute(sql.encode())
            conn.execute("INSERT INTO agent_billing_schema (version) VALUES (%s)", (version,))
        conn.execute("INSERT INTO ab_reservations VALUES ('acct', 'r1', 'default', 500, 0, 'confirmed', %s)",
                     ((NOW - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1),))
    store = PostgresStore(postgres_url)
    try:
        state = store.for_account("acct")
        assert state.spend.spent("default", now=NOW) == D("5.00")  # the reservation kept
        assert store.schema_version() == SCHEMA_VERSION  # every migration applied, the later ones too
        state.authorities.create(SpendAuthority(agent="bot", budget="5"), now=NOW)
        assert state.authorities.claim(charge("5"), "k", now=NOW).granted
        assert not state.authorities.claim(charge("5"), "k2", now=NOW).granted
    finally:
        store.close()
