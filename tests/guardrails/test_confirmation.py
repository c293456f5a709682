"""Single-use confirmations: every way to stretch a yes beyond the one request it was for must fail."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_billing.guardrails.confirmation import (
    DEFAULT_TTL,
    TOKEN_PREFIX,
    Confirmation,
    ConfirmationStore,
    default_path,
    fingerprint,
)
from agent_billing.providers.modelslab.arguments import FundWalletArgs

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
OP = "fund_wallet"
ARGS = {"amount": Decimal("25.00"), "payment_method_id": "pm_card_visa"}
FP = fingerprint(OP, ARGS)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConfirmationStore]:
    s = ConfirmationStore(None if request.param == "memory" else tmp_path / "conf.sqlite3")
    yield s
    s.close()


def issue(store: ConfirmationStore, now: datetime = NOW, **kw: Any) -> Confirmation:
    return store.issue(OP, FP, "Fund the wallet with $25.00 from Visa ending 4242", now=now, **kw)


# --- fingerprints


def test_fingerprint_is_sha256_hex() -> None:
    assert len(FP) == 64 and int(FP, 16) >= 0


def test_equal_amounts_and_key_order_give_the_same_fingerprint() -> None:
    same = [
        {"payment_method_id": "pm_card_visa", "amount": Decimal("25")},
        {"amount": Decimal("25.0"), "payment_method_id": "pm_card_visa"},
        {"amount": Decimal("2.5E+1"), "payment_method_id": "pm_card_visa"},
        {"amount": 25, "payment_method_id": "pm_card_visa"},
        {"amount": Decimal("25.00"), "payment_method_id": "pm_card_visa", "note": None},  # None = absent
    ]
    assert {fingerprint(OP, args) for args in same} == {FP}


def test_validated_models_fingerprint_like_their_fields() -> None:
    model = FundWalletArgs(amount="25", payment_method_id="pm_card_visa")
    assert fingerprint(OP, model) == FP


@pytest.mark.parametrize(
    "other",
    [
        {"amount": Decimal("25.01"), "payment_method_id": "pm_card_visa"},
        {"amount": Decimal("250"), "payment_method_id": "pm_card_visa"},
        {"amount": Decimal("2.5"), "payment_method_id": "pm_card_visa"},
        {"amount": "25.00", "payment_method_id": "pm_card_visa"},  # a string is not the amount 25
        {"amount": Decimal("25"), "payment_method_id": "pm_card_mastercard"},
        {"amount": Decimal("25")},
        {"amount": Decimal("25"), "payment_method_id": "pm_card_visa", "extra": True},
        {"amount": [Decimal("25")], "payment_method_id": "pm_card_visa"},
    ],
)
def test_any_real_difference_changes_the_fingerprint(other: dict[str, Any]) -> None:
    assert fingerprint(OP, other) != FP


def test_the_operation_is_part_of_the_fingerprint() -> None:
    assert fingerprint("withdraw", ARGS) != FP
    # No ambiguity between the operation name and the arguments.
    assert fingerprint("a", {"b": 1}) != fingerprint("ab", {}) != fingerprint("a", {"": {"b": 1}})


def test_booleans_are_not_numbers_and_zero_is_zero() -> None:
    assert fingerprint(OP, {"x": True}) != fingerprint(OP, {"x": 1})
    assert fingerprint(OP, {"x": Decimal("-0.00")}) == fingerprint(OP, {"x": 0})
    assert fingerprint(OP, {"x": 10.5}) == fingerprint(OP, {"x": Decimal("10.50")})


def test_nested_values_enums_and_datetimes() -> None:
    class Color(Enum):
        RED = "red"

    utc = datetime(2026, 1, 1, tzinfo=timezone.utc)
    plus2 = utc.astimezone(timezone(timedelta(hours=2)))
    assert fingerprint(OP, {"when": utc, "c": Color.RED, "n": [{"a": 1, "b": 2}]}) == fingerprint(
        OP, {"n": ({"b": 2, "a": 1},), "c": "red", "when": plus2}
    )


@pytest.mark.parametrize("bad", [{"x": object()}, {"x": {1, 2}}, {1: "x"}, {"x": Decimal("NaN")},
                                 {"x": datetime(2026, 1, 1)}])
def test_unfingerprintable_values_raise(bad: dict[Any, Any]) -> None:
    with pytest.raises((TypeError, ValueError)):
        fingerprint(OP, bad)


@given(st.decimals(min_value=0, max_value=10_000, places=2), st.decimals(min_value=0, max_value=10_000, places=2))
def test_fingerprints_agree_exactly_when_amounts_do(a: Decimal, b: Decimal) -> None:
    assert (fingerprint(OP, {"amount": a}) == fingerprint(OP, {"amount": b})) == (a == b)


# --- issuing


def test_token_shape_and_only_its_hash_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "conf.sqlite3"
    with ConfirmationStore(path) as s:
        c = issue(s)
    assert c.token.startswith(TOKEN_PREFIX) and len(c.token) == len(TOKEN_PREFIX) + 43
    assert c.expires_at == NOW + DEFAULT_TTL and c.summary.startswith("Fund the wallet")
    assert c.token not in repr(c)
    raw = path.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("conf.sqlite3-*"))
    assert c.token.encode() not in raw and c.token[len(TOKEN_PREFIX):].encode() not in raw
    conn = sqlite3.connect(path)
    try:
        (stored,) = conn.execute("SELECT token_hash FROM confirmations").fetchone()
    finally:
        conn.close()
    assert stored == hashlib.sha256(c.token.encode()).hexdigest()


def test_tokens_are_unique(store: ConfirmationStore) -> None:
    assert len({issue(store).token for _ in range(50)}) == 50


@pytest.mark.parametrize("ttl", [timedelta(0), timedelta(seconds=-1), timedelta(days=2)])
def test_bad_ttls_are_refused(store: ConfirmationStore, ttl: timedelta) -> None:
    with pytest.raises(ValueError, match="ttl"):
        issue(store, ttl=ttl)


def test_issue_needs_an_operation_a_fingerprint_and_an_aware_time(store: ConfirmationStore) -> None:
    with pytest.raises(ValueError):
        store.issue("", FP, "s", now=NOW)
    with pytest.raises(ValueError):
        store.issue(OP, "", "s", now=NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.issue(OP, FP, "s", now=datetime(2026, 1, 1))


def test_default_clock_and_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    s = ConfirmationStore()
    c = s.issue(OP, FP, "s")
    assert timedelta(minutes=4) < c.expires_at - datetime.now(timezone.utc) <= DEFAULT_TTL
    assert s.consume(c.token, OP, FP)
    monkeypatch.setenv("AGENT_BILLING_STATE_DIR", str(tmp_path))
    assert default_path() == tmp_path / "confirmations.sqlite3"
    with ConfirmationStore.default() as d:
        assert d.path == tmp_path / "confirmations.sqlite3"


# --- consuming: the happy path once, and every way around it


def test_consume_once(store: ConfirmationStore) -> None:
    c = issue(store)
    assert store.consume(c.token, OP, FP, now=NOW + timedelta(minutes=1)) is True


def test_reuse_fails(store: ConfirmationStore) -> None:
    c = issue(store)
    assert store.consume(c.token, OP, FP, now=NOW)
    assert not store.consume(c.token, OP, FP, now=NOW)
    assert not store.consume(c.token, OP, FP, now=NOW + timedelta(seconds=1))


def test_other_amount_fails_and_burns_the_token(store: ConfirmationStore) -> None:
    c = issue(store)
    bigger = fingerprint(OP, {**ARGS, "amount": Decimal("2500")})
    assert not store.consume(c.token, OP, bigger, now=NOW)
    # Tampering spends the token: the real request needs a fresh confirmation the person can see.
    assert not store.consume(c.token, OP, FP, now=NOW)


def test_other_operation_fails(store: ConfirmationStore) -> None:
    c = issue(store)
    assert not store.consume(c.token, "withdraw", fingerprint("withdraw", ARGS), now=NOW)
    # Same fingerprint string, other operation name: still refused.
    c2 = issue(store)
    assert not store.consume(c2.token, "withdraw", FP, now=NOW)


def test_expired_fails(store: ConfirmationStore) -> None:
    c = issue(store, ttl=timedelta(minutes=5))
    assert not store.consume(c.token, OP, FP, now=NOW + timedelta(minutes=5))  # expiry is exclusive
    fresh = issue(store, ttl=timedelta(minutes=5))
    assert store.consume(fresh.token, OP, FP, now=NOW + timedelta(minutes=5) - timedelta(microseconds=1))


def test_expiry_is_an_instant_whatever_the_timezone(store: ConfirmationStore) -> None:
    c = issue(store)
    tokyo = timezone(timedelta(hours=9))
    assert not store.consume(c.token, OP, FP, now=(NOW + timedelta(minutes=6)).astimezone(tokyo))


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t[:-1],  # truncated
        lambda t: t + "A",  # extended
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # one character changed
        lambda t: t.upper(),
        lambda t: t[len(TOKEN_PREFIX):],  # prefix stripped
        lambda t: "conf_" + "A" * 43,  # right shape, never issued
        lambda t: hashlib.sha256(t.encode()).hexdigest(),  # the stored hash itself
        lambda t: "",
        lambda t: f" {t}",
    ],
)
def test_forged_or_mangled_tokens_fail(store: ConfirmationStore, forge: Any) -> None:
    c = issue(store)
    assert not store.consume(forge(c.token), OP, FP, now=NOW)
    assert store.consume(c.token, OP, FP, now=NOW)  # the genuine one is untouched


@pytest.mark.parametrize("not_a_token", [None, 123, b"conf_x", ["conf_"]])
def test_non_strings_fail(store: ConfirmationStore, not_a_token: Any) -> None:
    assert not store.consume(not_a_token, OP, FP, now=NOW)


def test_a_token_from_another_store_fails(tmp_path: Path) -> None:
    a, b = ConfirmationStore(tmp_path / "a.sqlite3"), ConfirmationStore()
    c = issue(a)
    assert not b.consume(c.token, OP, FP, now=NOW)
    assert a.consume(c.token, OP, FP, now=NOW)
    a.close()


def test_a_file_store_survives_a_restart_and_stays_single_use(tmp_path: Path) -> None:
    path = tmp_path / "state" / "conf.sqlite3"
    with ConfirmationStore(path) as first:
        c = issue(first)
    with ConfirmationStore(path) as second:
        assert second.consume(c.token, OP, FP, now=NOW)
    with ConfirmationStore(path) as third:
        assert not third.consume(c.token, OP, FP, now=NOW)


def test_concurrent_double_consume_only_one_wins(store: ConfirmationStore) -> None:
    c = issue(store)
    barrier = threading.Barrier(8)
    wins: list[bool] = []
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait()
        ok = store.consume(c.token, OP, FP, now=NOW)
        with lock:
            wins.append(ok)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 7 + [True]


def test_concurrent_consume_across_connections_only_one_wins(tmp_path: Path) -> None:
    path = tmp_path / "conf.sqlite3"
    with ConfirmationStore(path) as issuer:
        c = issue(issuer)
    stores = [ConfirmationStore(path) for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    wins: list[bool] = []

    def attempt(s: ConfirmationStore) -> None:
        barrier.wait()
        wins.append(s.consume(c.token, OP, FP, now=NOW))

    threads = [threading.Thread(target=attempt, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1
    for s in stores:
        s.close()


def test_old_rows_are_pruned(tmp_path: Path) -> None:
    path = tmp_path / "conf.sqlite3"
    with ConfirmationStore(path) as s:
        issue(s)
        issue(s, now=NOW + timedelta(days=2))  # prunes the first, long expired
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT COUNT(*) FROM confirmations").fetchone()[0] == 1
    finally:
        conn.close()


def test_a_memory_store_starts_empty_after_close() -> None:
    s = ConfirmationStore()
    c = issue(s)
    s.close()
    assert not s.consume(c.token, OP, FP, now=NOW)
    assert s.consume(issue(s).token, OP, FP, now=NOW)
