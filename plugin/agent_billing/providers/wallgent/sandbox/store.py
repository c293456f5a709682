"""The Wallgent sandbox's SQLite state: accounts, the wallet ledger, invoices, charges, sessions, idempotency.

Money is integer cents here and ``Decimal`` everywhere else. An account is keyed by the SHA-256 of
its API key (keys themselves are never stored). ``check_invariants`` proves what tests rely on: each
wallet balance equals its credits minus its debits and never went negative, every paid invoice has
exactly one charge of its amount, open and void invoices have none, and every WALLET charge has
exactly one wallet debit.

Example:
    >>> store = Store(":memory:")
    >>> acct = store.ensure_account("wg_test_sandbox", now=0.0, opening_cents=50000)
    >>> store.account(acct.id).wallet_cents, store.wallet_entry_count(acct.id)
    (50000, 1)
    >>> store.check_invariants()
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from agent_billing.sandbox.store import SqliteStore, balance_problems
from agent_billing.sandbox.store import token_digest as key_digest
from agent_billing.sandbox.units import new_id

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
  id INTEGER PRIMARY KEY, key_digest TEXT NOT NULL UNIQUE,
  plan TEXT NOT NULL DEFAULT 'FREE', status TEXT NOT NULL DEFAULT 'NONE', method TEXT,
  period_start REAL, period_end REAL, cancel_at_period_end INTEGER NOT NULL DEFAULT 0,
  past_due_since REAL, subscription_id TEXT, wallet_cents INTEGER NOT NULL DEFAULT 0,
  card_pm TEXT, card_brand TEXT, card_last4 TEXT, card_exp_month INTEGER, card_exp_year INTEGER,
  fail_next_renewal INTEGER NOT NULL DEFAULT 0, require_approval INTEGER NOT NULL DEFAULT 0,
  max_transaction_cents INTEGER, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS wallet_entries (
  id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('credit', 'debit')),
  cents INTEGER NOT NULL CHECK (cents > 0), reason TEXT NOT NULL, invoice_id TEXT, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS invoices (
  id TEXT PRIMARY KEY, account_id INTEGER NOT NULL, amount_cents INTEGER NOT NULL, status TEXT NOT NULL,
  method TEXT NOT NULL, description TEXT NOT NULL, lines TEXT NOT NULL, created_at REAL NOT NULL,
  period_start REAL NOT NULL, period_end REAL NOT NULL);
CREATE TABLE IF NOT EXISTS charges (
  id TEXT PRIMARY KEY, account_id INTEGER NOT NULL, invoice_id TEXT NOT NULL, cents INTEGER NOT NULL,
  method TEXT NOT NULL, payment_method_id TEXT, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (
  account_id INTEGER NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, status INTEGER NOT NULL,
  body BLOB NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (account_id, key));
CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency (created_at);
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, account_id INTEGER NOT NULL, plan TEXT, status TEXT NOT NULL,
  invoice_id TEXT, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS api_calls (
  account_id INTEGER NOT NULL, month TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (account_id, month));
"""


@dataclass(frozen=True)
class Account:
    """One sandbox organization: plan, subscription, wallet, billing card and sandbox policy.

    Example:
        >>> store = Store(":memory:")
        >>> acct = store.ensure_account("wg_test_a", now=0.0, opening_cents=0)
        >>> acct.plan, acct.status, acct.method, acct.card_pm
        ('FREE', 'NONE', None, None)
    """

    id: int
    key_digest: str
    plan: str
    status: str
    method: str | None
    period_start: float | None
    period_end: float | None
    cancel_at_period_end: int
    past_due_since: float | None
    subscription_id: str | None
    wallet_cents: int
    card_pm: str | None
    card_brand: str | None
    card_last4: str | None
    card_exp_month: int | None
    card_exp_year: int | None
    fail_next_renewal: int
    require_approval: int
    max_transaction_cents: int | None
    created_at: float


@dataclass(frozen=True)
class Invoice:
    """A billing invoice (``paid``, ``open`` or ``void``) with its line items.

    Example:
        >>> store = Store(":memory:")
        >>> inv = store.insert_invoice(1, cents=9900, status="open", method="CARD", description="STARTER",
        ...                            lines=[("STARTER plan", 9900)], now=0.0, period=(0.0, 1.0))
        >>> store.invoice(1, inv.id) == inv, inv.lines
        (True, [['STARTER plan', 9900]])
    """

    id: str
    account_id: int
    amount_cents: int
    status: str
    method: str
    description: str
    lines: list[list[Any]]
    created_at: float
    period_start: float
    period_end: float


@dataclass(frozen=True)
class Session:
    """A hosted checkout (``cs_...``) or portal (``bps_...``) session of one account.

    Example:
        >>> Store(":memory:").insert_session("checkout", 1, plan="GROWTH", now=0.0).status
        'open'
    """

    id: str
    kind: str
    account_id: int
    plan: str | None
    status: str
    invoice_id: str | None
    created_at: float


class Store(SqliteStore):
    """The SQLite database behind one Wallgent sandbox (``":memory:"`` or a file kept across restarts).

    Transactions (atomic, nested ones savepoints) come from :class:`~agent_billing.sandbox.store.SqliteStore`.

    Example:
        >>> store = Store(":memory:")
        >>> store.ensure_account("wg_test_x", now=0.0, opening_cents=0).id
        1
    """

    def __init__(self, db_path: str = ":memory:") -> None:
        # One connection shared by the threadpool; the state's lock serialises every request.
        super().__init__(db_path, schema=SCHEMA)

    # -- meta ---------------------------------------------------------------------------------------

    def meta(self, name: str, default: str) -> str:
        """A stored setting (``default`` when unset).

        Example:
            >>> Store(":memory:").meta("clock_offset", "0")
            '0'
        """
        row = self._conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return default if row is None else str(row["value"])

    def set_meta(self, name: str, value: str) -> None:
        """Store a setting."""
        self._conn.execute("INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = ?",
                           (name, value, value))

    # -- accounts -----------------------------------------------------------------------------------

    def ensure_account(self, key: str, *, now: float, opening_cents: int) -> Account:
        """The account of ``key``, created on first use with ``opening_cents`` in its wallet."""
        found = self.account_by_key(key)
        if found is not None:
            return found
        with self.transaction():
            cur = self._conn.execute("INSERT INTO accounts (key_digest, created_at) VALUES (?, ?)",
                                     (key_digest(key), now))
            account_id = int(cur.lastrowid or 0)
            if opening_cents:
                self.wallet_entry(account_id, "credit", opening_cents, "opening balance", None, now=now)
        return self.account(account_id)

    def account_by_key(self, key: str) -> Account | None:
        """The account of an API key, if it has been used."""
        row = self._conn.execute("SELECT * FROM accounts WHERE key_digest = ?", (key_digest(key),)).fetchone()
        return None if row is None else Account(**dict(row))

    def account(self, account_id: int) -> Account:
        """An account by id (it must exist)."""
        row = self._conn.execute("SELECT * FROM accounts WHERE id = ?", (account_id,)).fetchone()
        return Account(**dict(row))

    def accounts(self) -> list[Account]:
        """Every account, oldest first."""
        return [Account(**dict(r)) for r in self._conn.execute("SELECT * FROM accounts ORDER BY id")]

    def update_account(self, account_id: int, **fields: Any) -> Account:
        """Set columns of an account (never ``wallet_cents``: that moves only through wallet entries)."""
        if "wallet_cents" in fields or "id" in fields:
            raise ValueError("the wallet balance changes only through wallet_entry")
        assignments = ", ".join(f"{name} = ?" for name in fields)  # names come from code, never from a request
        self._conn.execute(f"UPDATE accounts SET {assignments} WHERE id = ?", (*fields.values(), account_id))
        return self.account(account_id)

    def wallet_entry(self, account_id: int, kind: str, cents: int, reason: str, invoice_id: str | None,
                     *, now: float) -> None:
        """Credit or debit the wallet: one entry, and the balance moved by the same amount."""
        with self.transaction():
            self._conn.execute("INSERT INTO wallet_entries (account_id, kind, cents, reason, invoice_id, created_at) "
                               "VALUES (?, ?, ?, ?, ?, ?)", (account_id, kind, cents, reason, invoice_id, now))
            sign = 1 if kind == "credit" else -1
            self._conn.execute("UPDATE accounts SET wallet_cents = wallet_cents + ? WHERE id = ?",
                               (sign * cents, account_id))

    def wallet_entry_count(self, account_id: int) -> int:
        """How many wallet entries an account has (tests prove a refusal wrote none)."""
        row = self._conn.execute("SELECT COUNT(*) FROM wallet_entries WHERE account_id = ?", (account_id,)).fetchone()
        return int(row[0])

    # -- invoices and charges -----------------------------------------------------------------------

    def insert_invoice(self, account_id: int, *, cents: int, status: str, method: str, description: str,
                       lines: list[tuple[str, int]], now: float, period: tuple[float, float]) -> Invoice:
        """Record an invoice (``lines`` are description and cents)."""
        invoice_id = new_id("inv_")
        self._conn.execute("INSERT INTO invoices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (invoice_id, account_id, cents, status, method, description, json.dumps(lines), now,
                            period[0], period[1]))
        found = self.invoice(account_id, invoice_id)
        assert found is not None
        return found

    def set_invoice_status(self, invoice_id: str, status: str, method: str) -> None:
        """Mark an invoice ``paid`` or ``void`` (and by which method it was paid)."""
        self._conn.execute("UPDATE invoices SET status = ?, method = ? WHERE id = ?", (status, method, invoice_id))

    def invoice(self, account_id: int, invoice_id: str) -> Invoice | None:
        """One invoice of an account (``None`` for another account's)."""
        row = self._conn.execute("SELECT * FROM invoices WHERE id = ? AND account_id = ?",
                                 (invoice_id, account_id)).fetchone()
        return None if row is None else _invoice(row)

    def invoices(self, account_id: int, *, offset: int, limit: int) -> tuple[list[Invoice], int]:
        """A page of an account's invoices, newest first, and how many there are in all."""
        rows = self._conn.execute("SELECT * FROM invoices WHERE account_id = ? ORDER BY created_at DESC, rowid DESC "
                                  "LIMIT ? OFFSET ?", (account_id, limit, offset)).fetchall()
        total = self._conn.execute("SELECT COUNT(*) FROM invoices WHERE account_id = ?", (account_id,)).fetchone()[0]
        return [_invoice(r) for r in rows], int(total)

    def open_invoice(self, account_id: int) -> Invoice | None:
        """The newest open invoice of an account, if any."""
        row = self._conn.execute("SELECT * FROM invoices WHERE account_id = ? AND status = 'open' "
                                 "ORDER BY created_at DESC, rowid DESC LIMIT 1", (account_id,)).fetchone()
        return None if row is None else _invoice(row)

    def insert_charge(self, account_id: int, invoice_id: str, cents: int, method: str, payment_method_id: str | None,
                      *, now: float) -> str:
        """Record the one charge that paid an invoice."""
        charge_id = new_id("ch_")
        self._conn.execute("INSERT INTO charges VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (charge_id, account_id, invoice_id, cents, method, payment_method_id, now))
        return charge_id

    def charge_count(self, account_id: int) -> int:
        """How many charges an account has (tests prove money moved once)."""
        return int(self._conn.execute("SELECT COUNT(*) FROM charges WHERE account_id = ?", (account_id,)).fetchone()[0])

    # -- sessions, idempotency, usage ---------------------------------------------------------------

    def insert_session(self, kind: str, account_id: int, *, plan: str | None, now: float) -> Session:
        """A new open checkout or portal session."""
        session_id = new_id("cs_test_" if kind == "checkout" else "bps_")
        self._conn.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, 'open', NULL, ?)",
                           (session_id, kind, account_id, plan, now))
        return Session(session_id, kind, account_id, plan, "open", None, now)

    def session(self, kind: str, session_id: str) -> Session | None:
        """A session by id and kind."""
        row = self._conn.execute("SELECT * FROM sessions WHERE id = ? AND kind = ?", (session_id, kind)).fetchone()
        return None if row is None else Session(**dict(row))

    def complete_session(self, session_id: str, invoice_id: str) -> None:
        """Mark a checkout session paid by ``invoice_id``."""
        self._conn.execute("UPDATE sessions SET status = 'complete', invoice_id = ? WHERE id = ?", (invoice_id, session_id))

    def stored_response(self, account_id: int, key: str, *, not_before: float) -> tuple[str, int, bytes] | None:
        """The fingerprint, status and body stored under an idempotency key (older ones are forgotten)."""
        self._conn.execute("DELETE FROM idempotency WHERE created_at < ?", (not_before,))
        row = self._conn.execute("SELECT fingerprint, status, body FROM idempotency WHERE account_id = ? AND key = ?",
                                 (account_id, key)).fetchone()
        return None if row is None else (str(row["fingerprint"]), int(row["status"]), bytes(row["body"]))

    def store_response(self, account_id: int, key: str, fingerprint: str, status: int, body: bytes, *, now: float) -> None:
        """Keep a response under its idempotency key."""
        self._conn.execute("INSERT INTO idempotency VALUES (?, ?, ?, ?, ?, ?)", (account_id, key, fingerprint, status, body, now))

    def count_call(self, account_id: int, month: str) -> None:
        """Count one API call in a calendar month (``2027-07``)."""
        self._conn.execute("INSERT INTO api_calls VALUES (?, ?, 1) ON CONFLICT(account_id, month) "
                           "DO UPDATE SET count = count + 1", (account_id, month))

    def calls(self, account_id: int, month: str) -> int:
        """API calls of an account in a calendar month."""
        row = self._conn.execute("SELECT count FROM api_calls WHERE account_id = ? AND month = ?",
                                 (account_id, month)).fetchone()
        return 0 if row is None else int(row["count"])

    # -- invariants ---------------------------------------------------------------------------------

    def invariant_problems(self) -> list[str]:
        """Every violated invariant, as a sentence (empty when the ledger is sound).

        Example:
            >>> Store(":memory:").invariant_problems()
            []
        """
        problems: list[str] = []
        q = self._conn.execute
        for acct in q("SELECT id, wallet_cents FROM accounts").fetchall():
            entries = q("SELECT id, CASE kind WHEN 'credit' THEN cents ELSE -cents END FROM wallet_entries "
                        "WHERE account_id = ? ORDER BY id", (acct["id"],)).fetchall()
            problems += balance_problems(f"account {acct['id']}", acct["wallet_cents"], entries, word="wallet")
        for inv in q("SELECT i.id, i.status, i.amount_cents, i.method, COUNT(c.id) AS n, "
                     "SUM(c.cents = i.amount_cents AND c.method = i.method) AS ok "
                     "FROM invoices i LEFT JOIN charges c ON c.invoice_id = i.id GROUP BY i.id"):
            if inv["status"] == "paid" and (inv["n"] != 1 or inv["ok"] != 1):
                problems.append(f"paid invoice {inv['id']} has {inv['n']} charges (or one of another amount/method)")
            if inv["status"] != "paid" and inv["n"]:
                problems.append(f"{inv['status']} invoice {inv['id']} has {inv['n']} charges")
        for ch in q("SELECT c.id, c.method, (SELECT COUNT(*) FROM invoices i WHERE i.id = c.invoice_id) AS invoices, "
                    "(SELECT COUNT(*) FROM wallet_entries w WHERE w.invoice_id = c.invoice_id AND w.kind = 'debit' "
                    "AND w.cents = c.cents) AS debits FROM charges c"):
            if ch["invoices"] != 1:
                problems.append(f"charge {ch['id']} has no invoice")
            if ch["method"] == "WALLET" and ch["debits"] != 1:
                problems.append(f"wallet charge {ch['id']} has {ch['debits']} wallet debits")
        return problems

    def check_invariants(self) -> None:
        """Raise ``AssertionError`` listing every violated invariant.

        Example:
            >>> Store(":memory:").check_invariants()
        """
        problems = self.invariant_problems()
        if problems:
            raise AssertionError("Wallgent sandbox invariants violated:\n  " + "\n  ".join(problems))


def _invoice(row: sqlite3.Row) -> Invoice:
    data = dict(row)
    data["lines"] = json.loads(data["lines"])
    return Invoice(**data)
