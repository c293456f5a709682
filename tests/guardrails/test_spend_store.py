"""Spend stores: persistence, the rolling window, idempotent re-runs, and races against the cap."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_billing.guardrails import spend_store as spend_store_module
from agent_billing.guardrails.spend_store import (
    DAY,
    MemorySpendStore,
    Reservation,
    ReservationConflictError,
    SpendStore,
    SqliteSpendStore,
    default_path,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
D = Decimal


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SpendStore]:
    if request.param == "memory":
        yield MemorySpendStore()
    else:
        s = SqliteSpendStore(tmp_path / "spend.sqlite3")
        yield s
        s.close()


def reserve(s: SpendStore, key: str, amount: str, limit: str | None = "100", now: datetime = NOW,
            mandate: str = "default") -> Reservation:
    return s.reserve(mandate, key, D(amount), limit=None if limit is None else D(limit), now=now)


# --- basic semantics, on both stores


def test_protocol_is_satisfied(store: SpendStore) -> None:
    assert isinstance(store, SpendStore)


def test_reserve_within_cap_then_refuse_beyond_it(store: SpendStore) -> None:
    first = reserve(store, "a", "60")
    assert first == Reservation(True, "a", D("60.00"), D("0.00"), None, False)
    second = reserve(store, "b", "40.01")
    assert not second.granted and second.spent_before == D("60.00") and not second.existing
    assert second.reason == (
        "$40.01 on top of $60.00 already spent in the last 24 h would exceed the 24 h limit of $100.00 of "
        "mandate 'default'."
    )
    assert reserve(store, "c", "40").granted  # exactly at the cap is allowed
    assert store.spent("default", now=NOW) == D("100.00")
    # A refused reservation leaves no trace: it does not count, and its key stays free.
    assert reserve(store, "b", "0.01").granted is False
    assert store.spent("default", now=NOW) == D("100.00")


def test_no_limit_always_grants_but_still_counts(store: SpendStore) -> None:
    assert reserve(store, "a", "5000", limit=None).granted
    assert store.spent("default", now=NOW) == D("5000.00")
    assert not reserve(store, "b", "1", limit="5000").granted


def test_mandates_are_counted_separately(store: SpendStore) -> None:
    assert reserve(store, "a", "100", mandate="ops").granted
    assert reserve(store, "b", "100", mandate="support").granted
    assert store.spent("ops", now=NOW) == D("100.00")
    assert store.spent("nobody", now=NOW) == D("0.00")


def test_reserving_the_same_key_again_is_idempotent(store: SpendStore) -> None:
    first = reserve(store, "k", "30", limit="50")
    again = reserve(store, "k", "30.00", limit="50", now=NOW + timedelta(minutes=5))
    assert again.granted and again.existing and again.amount == D("30.00")
    assert again.spent_before == first.spent_before
    assert store.spent("default", now=NOW) == D("30.00")  # counted once
    # Even when the cap is now full (LangGraph re-running an already-granted call after a resume).
    assert reserve(store, "other", "20", limit="50").granted
    assert reserve(store, "k", "30", limit="50").granted
    store.confirm("k")
    assert reserve(store, "k", "30", limit="1").existing


def test_reusing_a_key_for_another_amount_or_mandate_is_refused(store: SpendStore) -> None:
    reserve(store, "k", "10")
    with pytest.raises(ReservationConflictError, match=r"already reserved for \$10\.00"):
        reserve(store, "k", "10.01")
    with pytest.raises(ReservationConflictError):
        reserve(store, "k", "10", mandate="other")
    assert store.spent("default", now=NOW) == D("10.00")


def test_release_stops_counting_and_frees_the_key(store: SpendStore) -> None:
    reserve(store, "k", "80")
    store.release("k")
    assert store.spent("default", now=NOW) == D("0.00")
    store.release("k")  # twice is harmless
    store.release("never-reserved")
    assert reserve(store, "x", "100").granted
    # A released key can be reserved again, and the cap is checked afresh.
    again = reserve(store, "k", "80")
    assert not again.granted and not again.existing


def test_confirmed_spend_is_never_released(store: SpendStore) -> None:
    reserve(store, "k", "80")
    store.confirm("k")
    store.confirm("k")  # twice is harmless
    store.release("k")  # e.g. a late error from a replayed request: the money already moved
    assert store.spent("default", now=NOW) == D("80.00")


def test_confirm_after_release_counts_again(store: SpendStore) -> None:
    # The charge went through after all (an ambiguous timeout that was wrongly released).
    reserve(store, "k", "80")
    store.release("k")
    store.confirm("k")
    assert store.spent("default", now=NOW) == D("80.00")


def test_confirm_of_an_unknown_key_raises(store: SpendStore) -> None:
    with pytest.raises(KeyError):
        store.confirm("nope")


def test_pending_counts_like_confirmed(store: SpendStore) -> None:
    reserve(store, "pending", "50")
    reserve(store, "done", "50")
    store.confirm("done")
    assert store.spent("default", now=NOW) == D("100.00")
    assert not reserve(store, "more", "0.01").granted


def test_rolling_window_boundary(store: SpendStore) -> None:
    reserve(store, "old", "100")
    assert store.spent("default", now=NOW + DAY) == D("100.00")  # exactly 24 h old still counts
    assert store.spent("default", now=NOW + DAY + timedelta(seconds=1)) == D("0.00")
    assert not reserve(store, "new", "1", now=NOW + DAY).granted
    assert reserve(store, "new", "100", now=NOW + DAY + timedelta(seconds=1)).granted


def test_custom_window(store: SpendStore) -> None:
    store.reserve("m", "a", D("10"), limit=D("10"), now=NOW, window=timedelta(hours=1))
    assert store.spent("m", now=NOW + timedelta(minutes=61), window=timedelta(hours=1)) == D("0.00")
    r = store.reserve("m", "b", D("10"), limit=D("10"), now=NOW + timedelta(minutes=30), window=timedelta(hours=1))
    assert not r.granted and r.reason is not None and "1:00:00" in r.reason


def test_times_in_other_timezones_are_the_same_instants(store: SpendStore) -> None:
    reserve(store, "a", "100")
    tokyo = timezone(timedelta(hours=9))
    assert store.spent("default", now=NOW.astimezone(tokyo) + DAY) == D("100.00")


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"amount": D("-1")}, "negative"),
        ({"amount": D("1.001")}, "two decimal places"),
        ({"amount": D("NaN")}, "finite"),
        ({"amount": 10}, "Decimal"),
        ({"amount": 10.5}, "Decimal"),
        ({"limit": D("-5")}, "negative"),
        ({"limit": D("5.555")}, "two decimal places"),
        ({"now": datetime(2026, 1, 1)}, "timezone-aware"),
        ({"window": timedelta(0)}, "window"),
        ({"key": ""}, "key"),
        ({"mandate": ""}, "mandate"),
    ],
)
def test_bad_inputs_raise(store: SpendStore, kw: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"mandate": "m", "key": "k", "amount": D("1"), "limit": D("10"), "now": NOW}
    args.update(kw)
    with pytest.raises(ValueError, match=message):
        store.reserve(args.pop("mandate"), args.pop("key"), args.pop("amount"), **args)
    assert store.spent("m", now=NOW) == D("0.00")


# --- SQLite specifics


def test_totals_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "spend.sqlite3"
    with SqliteSpendStore(path) as first:
        reserve(first, "a", "60")
        reserve(first, "b", "30")
        first.confirm("a")
        first.release("b")
    assert path.exists()
    with SqliteSpendStore(path) as second:
        assert second.spent("default", now=NOW) == D("60.00")
        assert reserve(second, "a", "60").existing  # the key is remembered too
        assert not reserve(second, "c", "40.01").granted


def test_amounts_are_stored_as_integer_cents_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "spend.sqlite3"
    with SqliteSpendStore(path) as s:
        reserve(s, "a", "12.34")
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        cents, kind = conn.execute("SELECT amount_cents, typeof(amount_cents) FROM reservations").fetchone()
        assert (cents, kind) == (1234, "integer")
    finally:
        conn.close()


def test_default_path_honours_the_state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AGENT_BILLING_STATE_DIR", str(tmp_path / "state"))
    assert default_path() == tmp_path / "state" / "spend.sqlite3"
    with SqliteSpendStore() as s:
        assert s.path == tmp_path / "state" / "spend.sqlite3"
    assert (tmp_path / "state" / "spend.sqlite3").exists()
    monkeypatch.delenv("AGENT_BILLING_STATE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_path() == tmp_path / "home" / ".agent-billing" / "spend.sqlite3"


def test_a_failed_transaction_is_rolled_back(tmp_path: Path) -> None:
    s = SqliteSpendStore(tmp_path / "spend.sqlite3")
    reserve(s, "k", "1")
    with pytest.raises(ReservationConflictError):
        reserve(s, "k", "2")  # raised inside the transaction
    # The store is still usable: no transaction was left open.
    assert reserve(s, "j", "1").granted
    s.close()


def test_close_then_use_reopens(tmp_path: Path) -> None:
    s = SqliteSpendStore(tmp_path / "spend.sqlite3")
    reserve(s, "a", "1")
    s.close()
    assert s.spent("default", now=NOW) == D("1.00")
    s.close()


# --- races
#
# The decision step is slowed down between the read of the total and the write of the reservation, so a
# store that did not hold its lock (or transaction) across both would hand out more than the cap.


def _slow_down_decisions() -> None:
    original = spend_store_module._decide

    def slow(*args: Any, **kwargs: Any) -> Reservation:
        time.sleep(0.005)
        return original(*args, **kwargs)

    spend_store_module._decide = slow


@pytest.fixture
def slow_decisions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spend_store_module, "_decide", spend_store_module._decide)  # restored afterwards
    _slow_down_decisions()


def _race(n: int, attempt: Callable[[int], Reservation]) -> list[Reservation]:
    barrier = threading.Barrier(n)
    results: list[Reservation] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        r = attempt(i)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_eight_threads_against_a_cap_only_three_fit(store: SpendStore, slow_decisions: None) -> None:
    results = _race(8, lambda i: reserve(store, f"k{i}", "30", limit="99.99"))
    assert sum(r.granted for r in results) == 3
    assert store.spent("default", now=NOW) == D("90.00")


def test_eight_threads_each_with_its_own_connection(tmp_path: Path, slow_decisions: None) -> None:
    path = tmp_path / "spend.sqlite3"
    SqliteSpendStore(path).close()
    stores = [SqliteSpendStore(path) for _ in range(8)]
    results = _race(8, lambda i: reserve(stores[i], f"k{i}", "25", limit="50"))
    assert sum(r.granted for r in results) == 2
    for s in stores:
        s.close()


def test_the_same_key_from_eight_threads_counts_once(store: SpendStore, slow_decisions: None) -> None:
    results = _race(8, lambda i: reserve(store, "same", "40", limit="50"))
    assert all(r.granted for r in results)
    assert sum(not r.existing for r in results) == 1
    assert store.spent("default", now=NOW) == D("40.00")


def _process_worker(path: str, worker: int, barrier: Any, out: Any) -> None:
    _slow_down_decisions()
    store = SqliteSpendStore(path)
    barrier.wait()
    granted = 0
    for i in range(10):
        r = store.reserve("default", f"p{worker}-{i}", D("10"), limit=D("55"), now=NOW)
        granted += r.granted
    out.put(granted)
    store.close()


def test_two_processes_sharing_one_file_never_pass_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "spend.sqlite3"
    SqliteSpendStore(path).close()
    ctx = multiprocessing.get_context("spawn")  # truly separate interpreters, no inherited state
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_process_worker, args=(str(path), w, barrier, out)) for w in range(2)]
    for p in procs:
        p.start()
    granted = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert sum(granted) == 5
    with SqliteSpendStore(path) as s:
        assert s.spent("default", now=NOW) == D("50.00")


def test_a_store_used_across_fork_opens_its_own_connection(tmp_path: Path) -> None:
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    s = SqliteSpendStore(tmp_path / "spend.sqlite3")
    reserve(s, "parent", "10")
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    proc = ctx.Process(target=lambda: out.put(reserve(s, "child", "90").granted))
    proc.start()
    assert out.get(timeout=30) is True
    proc.join(timeout=30)
    assert s.spent("default", now=NOW) == D("100.00")
    assert not reserve(s, "more", "0.01").granted
    s.close()


# --- property: whatever happens, granted never exceeds the cap


operations = st.lists(
    st.tuples(
        st.sampled_from(["reserve", "reserve", "reserve", "confirm", "release"]),
        st.integers(min_value=0, max_value=7),  # key index: collisions exercise idempotency
        st.decimals(min_value=0, max_value=60, places=2),
        st.integers(min_value=0, max_value=30),  # hours after NOW
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations, cap=st.decimals(min_value=1, max_value=150, places=2), kind=st.sampled_from(["mem", "sql"]))
def test_property_spent_never_exceeds_the_cap(ops: list[tuple[str, int, Decimal, int]], cap: Decimal, kind: str,
                                              tmp_path_factory: pytest.TempPathFactory) -> None:
    store: SpendStore = (
        MemorySpendStore() if kind == "mem" else SqliteSpendStore(tmp_path_factory.mktemp("p") / "s.sqlite3")
    )
    amounts: dict[str, Decimal] = {}
    status: dict[str, str] = {}
    hours = 0
    for action, index, amount, later in ops:
        hours = max(hours, later)  # time only moves forward
        now = NOW + timedelta(hours=hours)
        key = f"k{index}"
        if action == "reserve":
            amount = amounts.setdefault(key, amount)  # a key always means the same request
            active = status.get(key) in ("pending", "confirmed")
            before = store.spent("default", now=now)
            r = store.reserve("default", key, amount, limit=cap, now=now)
            assert r.existing == active and (r.granted or not active)
            if r.granted and not r.existing:
                assert r.spent_before == before and before + amount <= cap
                status[key] = "pending"
        elif action == "confirm":
            # Only what the toolkit does: confirm a granted, still-pending reservation.
            if status.get(key) == "pending":
                store.confirm(key)
                status[key] = "confirmed"
        else:
            store.release(key)
            if status.get(key) == "pending":
                status[key] = "released"
        assert store.spent("default", now=now) <= cap
    if isinstance(store, SqliteSpendStore):
        store.close()
