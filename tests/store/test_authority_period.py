"""A spend authority's rolling period from running totals (issue 24 follow-up): exact to the microsecond across
every bucket edge against a model, the same work at any number of charges in the period, old buckets dropped in
bounded batches, older files and schemas filled at open, and workers racing on a period budget and on releases,
on SQLite and on a real PostgreSQL, with injected times."""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from agent_billing.guardrails.authority import AUTHORITY_SCHEMA, AuthorityStore, SpendAuthority, SpendCall
from agent_billing.guardrails.spend_store import SWEEP_BATCH, SWEEP_GRACE
from agent_billing.guardrails.store import Store, open_store
from agent_billing.registry import Effect

D = Decimal
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)  # on a day, hour, minute and second edge at once
US = timedelta(microseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
NewStore = Callable[[str], Store]


def authorities(url: str, account: str = "acct") -> AuthorityStore:
    store: AuthorityStore = open_store(url).for_account(account).authorities
    return store


def charge(amount: str, *, agent: str = "bot", task: str | None = "t1") -> SpendCall:
    return SpendCall(operation="top_up", effect=Effect.CHARGE, amount=D(amount), agent=agent, task=task)


def micros(at: datetime) -> int:
    return (at - EPOCH) // US


def buckets(store: AuthorityStore) -> int:
    with store.backend.transaction() as run:
        return int(run("SELECT count(*) FROM ab_authority_buckets", ())[0][0])


# --- exact against a model, across every bucket edge


def test_the_period_total_is_exact_at_every_edge_against_a_model(store_url: str) -> None:
    store = authorities(store_url)
    periods = {"day": timedelta(days=1, hours=1, minutes=1, seconds=1, microseconds=7),
               "short": timedelta(minutes=90)}
    ids = {name: store.create(SpendAuthority(id=f"sa_{name}", agent="bot" if name == "day" else None,
                                             task=None if name == "day" else "t1", period_budget="1000000",
                                             period=period), now=NOW).id
           for name, period in periods.items()}
    rng = random.Random(24)
    made: dict[str, tuple[int, datetime, str]] = {}  # key -> (cents, created, status)
    at, latest = NOW, NOW

    def expected(name: str, when: datetime) -> Decimal:
        start = when - periods[name]
        return D(sum(c for c, t, st in made.values() if st != "released" and t >= start)) / 100

    def check(when: datetime) -> None:
        if when < latest - SWEEP_GRACE:
            return  # further back than a claim keeps buckets for
        for name, authority_id in ids.items():
            got = store.inspect(authority_id, now=when).usage.spent_in_period
            assert got == expected(name, when), (name, when, got)

    steps = [US, 999 * US, timedelta(seconds=1), timedelta(seconds=59), timedelta(minutes=1) - US,
             timedelta(minutes=37), timedelta(hours=1) + US, timedelta(hours=5), timedelta(days=1) - US, 0 * US]
    for n in range(70):
        at += rng.choice(steps)
        latest = max(latest, at)
        pending = [k for k, (_, _, st) in made.items() if st == "pending"]
        released = [k for k, (_, _, st) in made.items() if st == "released"]
        roll = rng.random()
        if roll < 0.15 and pending:
            key = rng.choice(pending)
            store.release(key)
            made[key] = (made[key][0], made[key][1], "released")
        elif roll < 0.25 and released:  # it went through after all: it counts again, at its own time
            key = rng.choice(released)
            store.confirm(key)
            made[key] = (made[key][0], made[key][1], "confirmed")
        elif roll < 0.35 and released:  # a released key claimed again: another amount at another time
            key, cents = rng.choice(released), rng.randrange(1, 5000)
            assert store.claim(charge(str(D(cents) / 100)), key, now=at).granted
            made[key] = (cents, at, "pending")
        else:
            key, cents = f"k{n}", rng.randrange(1, 5000)
            assert store.claim(charge(str(D(cents) / 100)), key, now=at).granted
            made[key] = (cents, at, "pending")
        check(at)
        # The trailing edge of each period exactly at, and one microsecond past, a charge's instant.
        for _, created, _ in rng.sample(list(made.values()), min(3, len(made))):
            for period in periods.values():
                check(created + period)
                check(created + period + US)
    assert any(st == "released" for _, _, st in made.values())


def test_a_claim_stops_exactly_at_the_period_budget_on_the_trailing_edge(store_url: str) -> None:
    store = authorities(store_url)
    store.create(SpendAuthority(agent="bot", period_budget="10", period=timedelta(days=2)), now=NOW)
    first = NOW + timedelta(hours=3, minutes=7, seconds=5, microseconds=500)
    assert store.claim(charge("6", task=None), "a", now=first).granted
    assert store.claim(charge("4", task=None), "b", now=first + timedelta(days=1, seconds=1)).granted
    edge = first + timedelta(days=2)
    refused = store.claim(charge("0.01", task=None), "c", now=edge)  # "a" is exactly one period old: it counts
    assert not refused.granted and "$10.00 spent in the last 2 days" in refused.reasons[0]
    assert store.claim(charge("6", task=None), "c", now=edge + US).granted
    assert not store.claim(charge("0.01", task=None), "d", now=edge + US).granted


# --- the same work at any number of charges in the period


def _steps(store: AuthorityStore, call: Callable[[], Any]) -> int:
    """SQLite virtual-machine steps (in hundreds) a call takes: a measure of work that no machine load moves."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    with store.backend.transaction() as run:
        run("SELECT 1", ())
    conn: sqlite3.Connection = store.backend._conn  # type: ignore[attr-defined]
    conn.set_progress_handler(count, 100)
    try:
        call()
    finally:
        conn.set_progress_handler(None, 100)
    return steps[0]


def test_the_claim_and_the_check_do_the_same_work_at_any_number_of_charges(tmp_path: Path) -> None:
    period = timedelta(days=1)
    when = NOW + timedelta(seconds=30, microseconds=7)
    start = micros(when - period)
    work, totals = [], []
    for later in (23, 50_002):
        store = AuthorityStore.sqlite(tmp_path / f"{later}.db", account="acct")
        store.create(SpendAuthority(id="sa_p", agent="bot", period_budget="100000000", period=period), now=NOW)
        with store.backend.transaction() as run:  # through the triggers, as claims would write them
            # Both have a charge every second of the period's first hour and some in every later hour, so both
            # read full buckets at every level; one has 23 more charges, the other 50,002.
            rows = [(f"e{i}", start - 1_000_000 + i * 1_000_000 + 1) for i in range(3_602)]
            step = 23 * 3_600_000_000 // later
            rows += [(f"x{i}", start + 3_600_000_000 + i * step) for i in range(later)]
            for key, created in rows:
                run("INSERT INTO ab_authority_charges VALUES ('acct', ?, 'sa_p', 1, 'confirmed', ?)", (key, created))
        call = charge("1", task=None)
        work.append((_steps(store, partial(store.check, call, now=when)),
                     _steps(store, partial(store.claim, call, "new", now=when))))
        totals.append(store.inspect("sa_p", now=when).usage.spent_in_period)
        store.close()
    # 3,601 cents from the period's start on (the one before it is out), the later ones, and the new $1.
    assert totals == [D("37.24"), D("537.03")]
    (small_check, small_claim), (large_check, large_claim) = work
    assert small_check > 0 and small_claim > 0
    # The previous version summed the period's charges: 15 times the charges meant about 15 times the work.
    assert large_check == small_check and large_claim == small_claim, work


# --- old buckets dropped, in bounded batches


def test_buckets_no_period_reaches_are_dropped_in_bounded_batches(store_url: str) -> None:
    store = authorities(store_url)
    period = timedelta(hours=1)
    store.create(SpendAuthority(id="sa_p", agent="bot", period_budget="1000000", period=period), now=NOW)
    for i in range(SWEEP_BATCH):  # one a minute: 1 day, 2 hour, 100 minute and 100 second buckets
        assert store.claim(charge("1", task=None), f"k{i}", now=NOW + i * timedelta(minutes=1)).granted
    assert buckets(store) == 203
    last = NOW + (SWEEP_BATCH - 1) * timedelta(minutes=1)
    # A period and the grace after the newest: what a clock up to the grace behind still needs stays (the newest
    # charge's buckets), 100 of the 197 older ones go, and "a" adds an hour, a minute and a second bucket.
    at = last + period + SWEEP_GRACE
    assert store.claim(charge("1", task=None), "a", now=at).granted
    assert buckets(store) == 203 + 3 - SWEEP_BATCH
    assert store.inspect("sa_p", now=at - SWEEP_GRACE).usage.spent_in_period == D("2.00")  # the newest and "a"
    # Days later: a claim in a second of its own drops at most one batch, until only the newest buckets are left;
    # a claim in the same second as the one before it drops none.
    later = at + timedelta(days=3)
    assert store.claim(charge("1", task=None), "b0", now=later).granted
    assert store.claim(charge("1", task=None), "b1", now=later + US).granted
    assert buckets(store) == 203 + 3 + 4 - 2 * SWEEP_BATCH
    assert store.claim(charge("1", task=None), "b2", now=later + timedelta(seconds=1)).granted
    assert buckets(store) == 5  # the day, hour and minute of the "b"s, and their two seconds
    assert store.inspect("sa_p", now=later + timedelta(seconds=1)).usage.spent_in_period == D("3.00")


def test_an_authority_without_a_period_keeps_no_buckets(store_url: str) -> None:
    store = authorities(store_url)
    store.create(SpendAuthority(agent="bot", budget="100", max_charges=5), now=NOW)
    assert store.claim(charge("10", task=None), "k", now=NOW).granted
    store.release("k")
    store.confirm("k")
    assert buckets(store) == 0 and store.list(now=NOW)[0].spent == D("10.00")


# --- older files and schemas get their buckets at open, filled from their charges

OLD_CHARGES = [("a", 500, "confirmed", NOW - timedelta(hours=2)), ("b", 700, "released", NOW - timedelta(minutes=5)),
               ("c", 300, "pending", NOW - timedelta(seconds=1, microseconds=3)),
               ("d", 900, "confirmed", NOW - timedelta(days=2))]
PERIODIC = SpendAuthority(id="sa_p", agent="bot", period_budget="100", period=timedelta(days=1))
FLAT = SpendAuthority(id="sa_f", agent="bot", budget="1000")


def _fill_old(run: Callable[..., Any], mark: str) -> None:
    for a in (PERIODIC, FLAT):
        run(f"INSERT INTO ab_authorities (account, id, agent, task, body, created_us, spent_cents, charges) VALUES "
            f"('acct', {mark}, 'bot', NULL, {mark}, {mark}, 1700, 3)", (a.id, a.model_dump_json(exclude_none=True),
                                                                       micros(NOW - timedelta(days=3))))
        for key, cents, status, at in OLD_CHARGES:
            run(f"INSERT INTO ab_authority_charges VALUES ('acct', {mark}, {mark}, {mark}, {mark}, {mark})",
                (key, a.id, cents, status, micros(at)))


def _behaves_as_before(store: AuthorityStore) -> None:
    assert store.inspect("sa_p", now=NOW).usage.spent_in_period == D("8.00")  # "a" and "c"
    assert buckets(store) == 2 + 3 * 3  # days: "d"'s and the one of "a" and "c"; an hour, minute, second each; none for sa_f
    assert not store.claim(charge("92.01", task=None), "e", now=NOW).granted
    assert store.claim(charge("92", task=None), "e", now=NOW).granted
    store.release("c")
    assert store.inspect("sa_p", now=NOW).usage.spent_in_period == D("97.00")


def test_an_older_sqlite_file_gets_its_buckets_filled_at_open(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(AUTHORITY_SCHEMA)  # what the previous version made, with its charges in it
    _fill_old(lambda sql, params: conn.execute(sql, params), "?")
    conn.commit()
    conn.close()
    _behaves_as_before(AuthorityStore.sqlite(path, account="acct"))
    # Opened again (a second process): filled once, not twice.
    assert AuthorityStore.sqlite(path, account="acct").inspect("sa_p", now=NOW).usage.spent_in_period == D("97.00")


def test_an_older_postgres_schema_gets_its_buckets_filled_at_first_use(postgres_url: str) -> None:
    import psycopg

    from agent_billing.guardrails.postgres import MIGRATIONS, SCHEMA_VERSION, PostgresStore

    with psycopg.connect(postgres_url, autocommit=True) as conn:  # every migration before the buckets
        conn.execute("CREATE TABLE agent_billing_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT "
                     "NULL DEFAULT now())")
        for version, sql in MIGRATIONS:
            if version < 6:
                conn.execute(sql.encode())
                conn.execute("INSERT INTO agent_billing_schema (version) VALUES (%s)", (version,))
        _fill_old(lambda sql, params: conn.execute(sql.encode(), params), "%s")
    store = PostgresStore(postgres_url)
    try:
        _behaves_as_before(store.for_account("acct").authorities)
        assert store.schema_version() == SCHEMA_VERSION >= 6
    finally:
        store.close()


# --- workers racing


def _race(workers: int, work: Callable[[int], None]) -> None:
    barrier, errors = threading.Barrier(workers), list[BaseException]()

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            work(index)
        except BaseException as exc:  # reported below, with the worker's traceback
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert not errors, errors


def test_workers_spend_exactly_a_period_budget(store_url: str, new_store: NewStore) -> None:
    workers = [new_store(store_url).for_account("acct").authorities for _ in range(4)]
    a = workers[0].create(SpendAuthority(agent="bot", period_budget="70", period=timedelta(hours=1)), now=NOW)
    granted: list[bool] = []
    _race(4, lambda i: granted.extend(workers[i].claim(charge("7", task=None), f"w{i}-{n}", now=NOW + n * US).granted
                                      for n in range(6)))
    assert sum(granted) == 10 and workers[1].inspect(a.id, now=NOW + timedelta(seconds=1)).usage.spent_in_period == D("70.00")


def test_releases_and_claims_on_shared_authorities_never_wait_on_each_other_in_a_ring(
        store_url: str, new_store: NewStore) -> None:
    # Every claim and release touches two authorities (the agent's and the task's) and the same buckets: a
    # release that took the buckets before the authorities' rows would deadlock with a claim taking them after.
    workers = [new_store(store_url).for_account("acct").authorities for _ in range(4)]
    workers[0].create(SpendAuthority(id="sa_agent", agent="bot", period_budget="1000000", period=timedelta(days=1)),
                      now=NOW)
    workers[0].create(SpendAuthority(id="sa_task", task="t1", period_budget="1000000", period=timedelta(days=1)),
                      now=NOW)

    def work(index: int) -> None:
        store = workers[index]
        for n in range(15):
            key = f"w{index}-{n}"
            assert store.claim(charge("1"), key, now=NOW + n * US).granted
            (store.release if n % 2 else store.confirm)(key)

    _race(4, work)
    for authority_id in ("sa_agent", "sa_task"):
        assert workers[0].inspect(authority_id, now=NOW + timedelta(seconds=1)).usage.spent_in_period == D("32.00")
