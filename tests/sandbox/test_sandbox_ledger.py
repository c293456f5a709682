"""The ledger itself: the invariant checker catches corruption; money in cents; no card numbers or tokens stored."""

from __future__ import annotations

import sqlite3

import httpx
import pytest
from sandbox_helpers import TOKEN, Api

from agent_billing.providers.modelslab.sandbox.ledger import InvariantError, Ledger


async def _funded(api: Api) -> dict[str, object]:
    data: dict[str, object] = await api.ok("POST", "/wallet/fund", json={"amount": 25, "payment_method_id": "pm_card_visa"})
    return data


async def test_checker_passes_on_a_sound_ledger_and_over_http(api: Api, http: httpx.AsyncClient, ledger: Ledger) -> None:
    await _funded(api)
    ledger.check_invariants()
    r = await http.get("/sandbox/ledger/check")
    assert r.json()["data"] == {"ok": True, "problems": []}


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ("UPDATE accounts SET balance_cents = balance_cents + 1 WHERE id = 1", "credits - debits"),
        ("UPDATE invoices SET status = 'void'", "matching paid invoices"),
        ("UPDATE invoices SET amount_cents = amount_cents + 100", "matching paid invoices"),
        ("UPDATE payment_intents SET status = 'failed'", "did not succeed"),
        ("DELETE FROM wallet_entries", "credited 0 times"),
        ("UPDATE wallet_entries SET amount_cents = 9999", "no successful payment of that amount"),
    ],
)
async def test_checker_catches_corruption(api: Api, http: httpx.AsyncClient, ledger: Ledger, tamper: str,
                                          expected: str) -> None:
    await _funded(api)
    with ledger.transaction():
        ledger._conn.execute("PRAGMA foreign_keys = OFF")
        ledger._conn.execute(tamper)
    with pytest.raises(InvariantError) as info:
        ledger.check_invariants()
    assert any(expected in p for p in info.value.problems), info.value.problems
    assert (await http.get("/sandbox/ledger/check")).json()["data"]["ok"] is False
    with ledger.transaction():  # undo, so the fixture's final check sees a sound ledger again
        ledger._conn.execute("DELETE FROM wallet_entries")
        ledger._conn.execute("DELETE FROM invoices")
        ledger._conn.execute("DELETE FROM payment_intents")
        ledger._conn.execute("UPDATE accounts SET balance_cents = 0")


async def test_a_second_credit_for_the_same_payment_is_impossible(api: Api, ledger: Ledger) -> None:
    data = await _funded(api)
    pi = data["payment"]["payment_intent_id"]  # type: ignore[index]
    with pytest.raises(sqlite3.IntegrityError):
        ledger.credit(1, 2500, source="stripe", transaction_id=pi, usecase="wallet_funding")
    assert ledger.balance(1) == 2500


async def test_balance_can_never_go_negative(ledger: Ledger) -> None:
    from agent_billing.providers.modelslab.sandbox.ledger import InsufficientBalance

    with pytest.raises(InsufficientBalance):
        ledger.debit(1, 1, source="api", transaction_id="use_x", usecase="api_usage")
    with pytest.raises(sqlite3.IntegrityError), ledger.transaction():
        ledger._conn.execute("UPDATE accounts SET balance_cents = -1 WHERE id = 1")


async def test_money_is_integer_cents_and_no_secret_is_stored(api: Api, http: httpx.AsyncClient,
                                                              ledger: Ledger) -> None:
    pk = (await api.ok("GET", "/billing/stripe-config"))["publishable_key"]
    r = await http.post("/v1/payment_methods", auth=(pk, ""), data={
        "type": "card", "card[number]": "5555555555554444", "card[exp_month]": "12", "card[exp_year]": "2031",
        "card[cvc]": "482"})
    await api.ok("POST", "/billing/payment-methods", json={"payment_method_id": r.json()["id"]})
    await api.ok("POST", "/wallet/fund", json={"amount": "10.10"})
    with ledger.transaction():
        types = {row[0] for row in ledger._conn.execute(
            "SELECT typeof(amount_cents) FROM wallet_entries UNION SELECT typeof(amount_cents) FROM payment_intents "
            "UNION SELECT typeof(amount_cents) FROM invoices UNION SELECT typeof(balance_cents) FROM accounts")}
        dump = "\n".join(ledger._conn.iterdump())
    assert types == {"integer"}
    assert "1010" in dump
    assert "5555555555554444" not in dump and TOKEN not in dump
    assert "'482'" not in dump and ",482," not in dump  # the CVC is checked, never stored
