"""The wallet invariants of the ModelsLab sandbox ledger (the tests check them after every scenario).

- each account's balance equals its credits minus its debits, and never went below zero;
- every successful payment intent has exactly one paid invoice for the same amount and vice versa;
- every wallet credit from a card payment points at a successful payment intent of the same amount,
  and no payment, checkout session or coupon is credited twice;
- a paid wallet checkout is credited if and only if it was confirmed;
- a coupon redemption is credited its amount, a withdrawal debited its amount.

Example:
    >>> import sqlite3
    >>> from agent_billing.providers.modelslab.sandbox.schema import SCHEMA
    >>> conn = sqlite3.connect(":memory:")
    >>> conn.row_factory = sqlite3.Row
    >>> conn.executescript(SCHEMA) and None
    >>> _ = conn.execute("INSERT INTO accounts (token_sha256, token_hint, balance_cents, created_at) "
    ...                  "VALUES ('x', 'x', 500, 0)")
    >>> invariant_problems(conn)
    ['account 1: balance 500 != credits - debits 0']
"""

from __future__ import annotations

import sqlite3

from agent_billing.sandbox.store import balance_problems

# Payment purposes whose success credits the wallet at once (checkout funding credits on confirmation).
WALLET_PURPOSES = ("wallet_funding", "auto_funding", "charge_amount", "coupon_purchase")


class InvariantError(AssertionError):
    """The ledger broke one of its invariants; ``problems`` lists each violation.

    Example:
        >>> err = InvariantError(["account 1: balance 500 != credits - debits 0"])
        >>> err.problems, isinstance(err, AssertionError)
        (['account 1: balance 500 != credits - debits 0'], True)
    """

    def __init__(self, problems: list[str]) -> None:
        super().__init__("ledger invariants violated:\n  " + "\n  ".join(problems))
        self.problems = problems


def invariant_problems(conn: sqlite3.Connection) -> list[str]:
    """Every violated invariant, as a sentence (empty when the ledger is sound); run it inside a transaction."""
    problems: list[str] = []
    q = conn.execute
    for acct in q("SELECT id, balance_cents FROM accounts").fetchall():
        entries = q("SELECT id, CASE type WHEN 'credit' THEN amount_cents ELSE -amount_cents END "
                    "FROM wallet_entries WHERE account_id = ? ORDER BY id", (acct["id"],)).fetchall()
        problems += balance_problems(f"account {acct['id']}", acct["balance_cents"], entries)
    for pi in q("SELECT p.id, p.amount_cents, p.account_id, COUNT(i.id) AS n, "
                "SUM(i.amount_cents = p.amount_cents AND i.account_id = p.account_id) AS ok "
                "FROM payment_intents p LEFT JOIN invoices i ON i.payment_intent_id = p.id AND i.status = 'paid' "
                "WHERE p.status = 'succeeded' GROUP BY p.id").fetchall():
        if pi["n"] != 1 or not pi["ok"]:
            problems.append(f"payment {pi['id']}: {pi['n']} matching paid invoices (want exactly 1)")
    for inv in q("SELECT i.id, i.amount_cents, p.status, p.amount_cents AS paid FROM invoices i "
                 "LEFT JOIN payment_intents p ON p.id = i.payment_intent_id WHERE i.status = 'paid'").fetchall():
        if inv["status"] != "succeeded" or inv["paid"] != inv["amount_cents"]:
            problems.append(f"invoice {inv['id']}: paid without a matching successful payment")
    for row in q("SELECT e.id, e.amount_cents, e.transaction_id, p.status, p.amount_cents AS paid, p.purpose "
                 "FROM wallet_entries e LEFT JOIN payment_intents p ON p.id = e.transaction_id "
                 "WHERE e.type = 'credit' AND e.source IN ('stripe', 'stripe_checkout')").fetchall():
        if row["status"] != "succeeded" or row["paid"] != row["amount_cents"]:
            problems.append(f"credit {row['id']}: no successful payment of that amount behind it")
    placeholders = ", ".join("?" for _ in WALLET_PURPOSES)
    for pi in q(f"SELECT p.id, COUNT(e.id) AS n FROM payment_intents p LEFT JOIN wallet_entries e "
                f"ON e.transaction_id = p.id AND e.type = 'credit' AND e.source = 'stripe' "
                f"WHERE p.status = 'succeeded' AND p.purpose IN ({placeholders}) GROUP BY p.id",
                WALLET_PURPOSES).fetchall():
        if pi["n"] != 1:
            problems.append(f"payment {pi['id']}: credited {pi['n']} times (want exactly 1)")
    for pi in q("SELECT p.id, COUNT(e.id) AS n FROM payment_intents p JOIN wallet_entries e "
                "ON e.transaction_id = p.id AND e.type = 'credit' WHERE p.status != 'succeeded' "
                "GROUP BY p.id").fetchall():
        problems.append(f"payment {pi['id']}: credited although it did not succeed")
    for cs in q("SELECT s.id, s.status, s.purpose, s.confirmed_at, s.amount_cents, p.status AS pst, "
                "p.amount_cents AS paid, (SELECT COUNT(*) FROM wallet_entries e WHERE e.transaction_id = "
                "s.payment_intent_id AND e.type = 'credit') AS credits FROM checkout_sessions s "
                "LEFT JOIN payment_intents p ON p.id = s.payment_intent_id").fetchall():
        if cs["status"] == "complete" and (cs["pst"] != "succeeded" or cs["paid"] != cs["amount_cents"]):
            problems.append(f"checkout {cs['id']}: complete without a matching successful payment")
        if cs["confirmed_at"] is not None and cs["status"] != "complete":
            problems.append(f"checkout {cs['id']}: confirmed but not complete")
        if cs["purpose"] == "fund":
            want = 1 if cs["confirmed_at"] is not None else 0
            if cs["credits"] != want:
                problems.append(f"checkout {cs['id']}: credited {cs['credits']} times (want {want})")
    for red in q("SELECT r.id, r.credit_cents, (SELECT COALESCE(SUM(amount_cents), 0) FROM wallet_entries e "
                 "WHERE e.transaction_id = r.id AND e.type = 'credit') AS credited FROM coupon_redemptions r"
                 ).fetchall():
        if red["credited"] != red["credit_cents"]:
            problems.append(f"coupon redemption {red['id']}: credited {red['credited']} != {red['credit_cents']}")
    for wd in q("SELECT w.id, w.amount_cents, (SELECT COALESCE(SUM(amount_cents), 0) FROM wallet_entries e "
                "WHERE e.transaction_id = w.id AND e.type = 'debit') AS debited FROM withdrawals w").fetchall():
        if wd["debited"] != wd["amount_cents"]:
            problems.append(f"withdrawal {wd['id']}: debited {wd['debited']} != {wd['amount_cents']}")
    return problems

