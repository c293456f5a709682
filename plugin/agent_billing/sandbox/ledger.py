"""The sandbox's SQLite store: accounts, the wallet ledger and every billing object.

One connection (``check_same_thread=False``) guarded by a re-entrant lock; every read and write runs in
:meth:`Ledger.transaction`, and a nested ``transaction()`` is a savepoint, so a handler's writes are
all-or-nothing. Money is stored as integer cents; a card is stored as brand, last4 and expiry, never its
number.

The wallet invariants (checked by :meth:`Ledger.check_invariants`, which the tests call after every
scenario):

- each account's balance equals its credits minus its debits, and never went below zero;
- every successful payment intent has exactly one paid invoice for the same amount and vice versa;
- every wallet credit from a card payment points at a successful payment intent of the same amount,
  and no payment, checkout session or coupon is credited twice;
- a paid wallet checkout is credited if and only if it was confirmed.

Example:
    >>> ledger = Ledger(":memory:", clock=lambda: 1_800_000_000.0)
    >>> acct = ledger.ensure_account("sk_sandbox_demo", reseller=False)
    >>> ledger.credit(acct.id, 2500, source="stripe", transaction_id="pi_x", usecase="test").amount_cents
    2500
    >>> ledger.balance(acct.id)
    2500
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from agent_billing.sandbox import seed
from agent_billing.sandbox.records import (
    Account,
    CheckoutSession,
    Coupon,
    IdempotencyRecord,
    Invoice,
    PaymentIntent,
    Plan,
    Redemption,
    SavedCard,
    SetupIntent,
    StripePaymentMethod,
    Subscription,
    WalletEntry,
)
from agent_billing.sandbox.units import Clock, new_id

T = TypeVar("T")

__all__ = [
    "Account",
    "CheckoutSession",
    "Coupon",
    "IdempotencyRecord",
    "InsufficientBalance",
    "InvariantError",
    "Invoice",
    "Ledger",
    "PaymentIntent",
    "Plan",
    "Redemption",
    "SavedCard",
    "SetupIntent",
    "StripePaymentMethod",
    "Subscription",
    "WalletEntry",
    "mask_token",
    "token_digest",
]

BILLING_FIELDS = (
    "name", "email", "tax_id", "tax_id_type", "address_line1", "address_line2", "address_city",
    "address_state", "address_postal_code", "address_country",
)
# Payment purposes whose success credits the wallet at once (checkout funding credits on confirmation).
WALLET_PURPOSES = ("wallet_funding", "auto_funding", "charge_amount", "coupon_purchase")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    token_hint TEXT NOT NULL,
    reseller INTEGER NOT NULL DEFAULT 0,
    balance_cents INTEGER NOT NULL DEFAULT 0 CHECK (balance_cents >= 0),
    default_payment_method TEXT,
    auto_funding_enabled INTEGER NOT NULL DEFAULT 0,
    auto_charge_cents INTEGER,
    charge_threshold_cents INTEGER,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS billing_info (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
    name TEXT, email TEXT, tax_id TEXT, tax_id_type TEXT, address_line1 TEXT, address_line2 TEXT,
    address_city TEXT, address_state TEXT, address_postal_code TEXT, address_country TEXT
);
CREATE TABLE IF NOT EXISTS wallet_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    type TEXT NOT NULL CHECK (type IN ('credit', 'debit')),
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    source TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    status TEXT NOT NULL,
    usecase TEXT NOT NULL,
    description TEXT,
    created_at REAL NOT NULL,
    UNIQUE (account_id, type, transaction_id, usecase)
);
CREATE TABLE IF NOT EXISTS stripe_payment_methods (
    id TEXT PRIMARY KEY,
    brand TEXT NOT NULL, last4 TEXT NOT NULL, exp_month INTEGER NOT NULL, exp_year INTEGER NOT NULL,
    funding TEXT NOT NULL, country TEXT NOT NULL, behaviour TEXT NOT NULL,
    customer_account_id INTEGER REFERENCES accounts(id),
    detached INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS payment_methods (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    id TEXT NOT NULL,
    brand TEXT NOT NULL, last4 TEXT NOT NULL, exp_month INTEGER NOT NULL, exp_year INTEGER NOT NULL,
    behaviour TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE TABLE IF NOT EXISTS payment_intents (
    id TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('succeeded', 'failed', 'requires_action', 'canceled')),
    purpose TEXT NOT NULL,
    description TEXT NOT NULL,
    payment_method_id TEXT,
    decline_code TEXT,
    client_secret TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS invoices (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('paid', 'open', 'void')),
    description TEXT NOT NULL,
    payment_intent_id TEXT REFERENCES payment_intents(id),
    subscription_id INTEGER,
    plan_id INTEGER,
    period_start REAL,
    period_end REAL,
    created_at REAL NOT NULL,
    paid_at REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS invoices_one_per_payment ON invoices(payment_intent_id)
    WHERE status = 'paid';
CREATE TABLE IF NOT EXISTS setup_intents (
    id TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    client_secret TEXT NOT NULL,
    status TEXT NOT NULL,
    payment_method_id TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS checkout_sessions (
    id TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    purpose TEXT NOT NULL CHECK (purpose IN ('fund', 'subscribe')),
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    plan_id INTEGER,
    status TEXT NOT NULL CHECK (status IN ('open', 'complete', 'expired')),
    payment_intent_id TEXT REFERENCES payment_intents(id),
    success_url TEXT,
    cancel_url TEXT,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    paid_at REAL,
    confirmed_at REAL,
    result TEXT,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS plans (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL, category TEXT NOT NULL, period TEXT NOT NULL, type TEXT NOT NULL,
    price_cents INTEGER NOT NULL CHECK (price_cents > 0),
    api_call_limit INTEGER NOT NULL, rate_limit INTEGER NOT NULL,
    features TEXT NOT NULL,
    trial_days INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    plan_id INTEGER NOT NULL REFERENCES plans(id),
    status TEXT NOT NULL CHECK (status IN ('active', 'past_due', 'canceled', 'paused', 'trialing')),
    stripe_subscription_id TEXT NOT NULL UNIQUE,
    payment_method_id TEXT,
    current_period_start REAL NOT NULL,
    current_period_end REAL NOT NULL,
    created_at REAL NOT NULL,
    paused_at REAL,
    canceled_at REAL,
    source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS coupons (
    code TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('credit', 'bonus', 'credit_or_bonus')),
    description TEXT NOT NULL,
    credit_cents INTEGER, bonus_percent INTEGER, max_bonus_cents INTEGER, min_purchase_cents INTEGER,
    expires_at REAL
);
CREATE TABLE IF NOT EXISTS coupon_redemptions (
    id TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    code TEXT NOT NULL REFERENCES coupons(code),
    mode TEXT NOT NULL CHECK (mode IN ('credit', 'bonus')),
    purchase_cents INTEGER,
    credit_cents INTEGER NOT NULL CHECK (credit_cents > 0),
    payment_intent_id TEXT REFERENCES payment_intents(id),
    created_at REAL NOT NULL,
    UNIQUE (account_id, code)
);
CREATE TABLE IF NOT EXISTS withdrawals (
    id TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    status TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body BLOB NOT NULL,
    request_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (account_id, key)
);
"""


class InsufficientBalance(Exception):
    """A debit larger than the wallet balance (the ledger never goes negative).

    Example:
        >>> ledger = Ledger(":memory:", clock=lambda: 0.0)
        >>> acct = ledger.ensure_account("sk_sandbox_demo", reseller=False)
        >>> ledger.debit(acct.id, 350, source="api", transaction_id="use_1", usecase="api_usage")
        Traceback (most recent call last):
        agent_billing.sandbox.ledger.InsufficientBalance: balance below 350 cents
    """


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


def token_digest(token: str) -> str:
    """SHA-256 of an access token (the ledger stores digests, never tokens).

    Example:
        >>> token_digest("sk_sandbox_demo") == hashlib.sha256(b"sk_sandbox_demo").hexdigest()
        True
    """
    return hashlib.sha256(token.encode()).hexdigest()


def mask_token(token: str) -> str:
    """A token shortened for display: enough to recognise it, not enough to use it.

    Example:
        >>> mask_token("sk_sandbox_demo")
        'sk_s…demo'
    """
    if len(token) <= 8:
        return token[:2] + "…"
    return f"{token[:4]}…{token[-4:]}"


class Ledger:
    """The SQLite store behind one sandbox (``db_path`` a file, or ``":memory:"``).

    Example:
        >>> ledger = Ledger(":memory:", clock=lambda: 0.0)
        >>> [p.id for p in ledger.plans()][:3]
        [5, 10, 11]
    """

    def __init__(self, db_path: str = ":memory:", *, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.RLock()
        self._depth = 0
        self._conn = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA foreign_keys = ON")
        if db_path != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
        with self._lock:
            self._conn.executescript(_SCHEMA)  # idempotent (IF NOT EXISTS); runs outside any transaction
        with self.transaction():
            self._seed()

    # --- plumbing

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block atomically; nested calls are savepoints.

        On an exception the block's writes are rolled back, unless the exception has a true
        ``keep_changes`` attribute: a declined card's failed payment intent stays on record while the
        decline is reported.
        """
        with self._lock:
            outer = self._depth == 0
            name = f"sp{self._depth}"
            self._conn.execute("BEGIN IMMEDIATE" if outer else f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield
            except BaseException as exc:
                self._depth -= 1
                if getattr(exc, "keep_changes", False):
                    self._conn.execute("COMMIT" if outer else f"RELEASE {name}")
                elif outer:
                    self._conn.execute("ROLLBACK")
                else:
                    self._conn.execute(f"ROLLBACK TO {name}")
                    self._conn.execute(f"RELEASE {name}")
                raise
            else:
                self._depth -= 1
                self._conn.execute("COMMIT" if outer else f"RELEASE {name}")

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self.transaction():
            return list(self._conn.execute(sql, params).fetchall())

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        with self.transaction():
            cur = self._conn.execute(sql, params)
            return int(cur.lastrowid or 0)

    def _scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        rows = self._rows(sql, params)
        return rows[0][0] if rows else None

    def _one(self, cls: type[T], sql: str, params: tuple[Any, ...] = ()) -> T | None:
        rows = self._rows(sql, params)
        return cls(**dict(rows[0])) if rows else None

    def _all(self, cls: type[T], sql: str, params: tuple[Any, ...] = ()) -> list[T]:
        return [cls(**dict(row)) for row in self._rows(sql, params)]

    def _insert(self, table: str, **values: Any) -> int:
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        return self._exec(f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(values.values()))

    def _update(self, table: str, where: dict[str, Any], **values: Any) -> int:
        sets = ", ".join(f"{k} = ?" for k in values)
        cond = " AND ".join(f"{k} = ?" for k in where)
        with self.transaction():
            cur = self._conn.execute(f"UPDATE {table} SET {sets} WHERE {cond}",
                                     (*values.values(), *where.values()))
            return int(cur.rowcount)

    def _seed(self) -> None:
        for p in seed.PLANS:
            self._conn.execute(
                "INSERT OR IGNORE INTO plans (id, name, category, period, type, price_cents, api_call_limit, "
                "rate_limit, features, trial_days) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (p.id, p.name, p.category, p.period, p.type, p.price_cents, p.api_call_limit, p.rate_limit,
                 json.dumps(list(p.features)), p.trial_days),
            )
        for c in seed.COUPONS.values():
            self._conn.execute(
                "INSERT OR IGNORE INTO coupons (code, kind, description, credit_cents, bonus_percent, "
                "max_bonus_cents, min_purchase_cents, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (c.code, c.kind, c.description, c.credit_cents, c.bonus_percent, c.max_bonus_cents,
                 c.min_purchase_cents, c.expires_at),
            )
        # Subscription ids start at 1001 so they are never mistaken for plan ids (10, 42...).
        if self._conn.execute("SELECT COUNT(*) FROM subscriptions").fetchone()[0] == 0:
            self._conn.execute("DELETE FROM sqlite_sequence WHERE name = 'subscriptions'")
            self._conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('subscriptions', 1000)")

    # --- meta

    def meta(self, key: str, default: Callable[[], str]) -> str:
        """A persistent setting (created with ``default()`` the first time)."""
        with self.transaction():
            value = self._scalar("SELECT value FROM meta WHERE key = ?", (key,))
            if value is None:
                value = default()
                self._insert("meta", key=key, value=value)
            return str(value)

    # --- accounts

    def ensure_account(self, token: str, *, reseller: bool) -> Account:
        """The account of ``token``, created empty (see ``seed``) on first sight."""
        digest = token_digest(token)
        with self.transaction():
            found = self.account_by_digest(digest)
            if found is None:
                account_id = self._insert(
                    "accounts", token_sha256=digest, token_hint=mask_token(token), reseller=int(reseller),
                    created_at=self.clock(),
                )
                self._insert("billing_info", account_id=account_id)
            elif bool(found.reseller) != reseller:
                self._update("accounts", {"id": found.id}, reseller=int(reseller))
            result = self.account_by_digest(digest)
        assert result is not None
        return result

    def account_by_digest(self, digest: str) -> Account | None:
        """The account whose token has this SHA-256 digest."""
        return self._one(Account, "SELECT * FROM accounts WHERE token_sha256 = ?", (digest,))

    def account(self, account_id: int) -> Account:
        """An account by id."""
        found = self._one(Account, "SELECT * FROM accounts WHERE id = ?", (account_id,))
        if found is None:
            raise KeyError(account_id)
        return found

    def accounts(self) -> list[Account]:
        """All accounts."""
        return self._all(Account, "SELECT * FROM accounts ORDER BY id")

    def set_default_payment_method(self, account_id: int, pm_id: str | None) -> None:
        """Make ``pm_id`` (or nothing) the account's default card."""
        self._update("accounts", {"id": account_id}, default_payment_method=pm_id)

    def set_auto_funding(self, account_id: int, charge_cents: int | None, threshold_cents: int | None) -> None:
        """Turn auto-funding on (both amounts) or off (``None``)."""
        enabled = charge_cents is not None
        self._update("accounts", {"id": account_id}, auto_funding_enabled=int(enabled),
                     auto_charge_cents=charge_cents, charge_threshold_cents=threshold_cents)

    # --- billing info

    def billing_info(self, account_id: int) -> dict[str, str | None]:
        """The ten billing profile fields."""
        rows = self._rows(f"SELECT {', '.join(BILLING_FIELDS)} FROM billing_info WHERE account_id = ?",
                          (account_id,))
        return {k: rows[0][k] for k in BILLING_FIELDS} if rows else dict.fromkeys(BILLING_FIELDS)

    def update_billing_info(self, account_id: int, changes: dict[str, str]) -> None:
        """Merge ``changes`` into the billing profile."""
        unknown = set(changes) - set(BILLING_FIELDS)
        if unknown:
            raise ValueError(f"unknown billing fields {sorted(unknown)}")
        if changes:
            self._update("billing_info", {"account_id": account_id}, **changes)

    # --- wallet

    def balance(self, account_id: int) -> int:
        """The wallet balance in cents."""
        return self.account(account_id).balance_cents

    def _entry(self, account_id: int, kind: str, cents: int, **kw: Any) -> WalletEntry:
        if cents <= 0:
            raise ValueError("a ledger entry moves a positive amount")
        with self.transaction():
            if kind == "debit" and self.balance(account_id) < cents:
                raise InsufficientBalance(f"balance below {cents} cents")
            entry_id = self._insert("wallet_entries", account_id=account_id, type=kind, amount_cents=cents,
                                    status="success", created_at=self.clock(), **kw)
            sign = 1 if kind == "credit" else -1
            self._exec("UPDATE accounts SET balance_cents = balance_cents + ? WHERE id = ?",
                       (sign * cents, account_id))
            entry = self._one(WalletEntry, "SELECT * FROM wallet_entries WHERE id = ?", (entry_id,))
        assert entry is not None
        return entry

    def credit(self, account_id: int, cents: int, *, source: str, transaction_id: str, usecase: str,
               description: str | None = None) -> WalletEntry:
        """Add ``cents`` to the wallet (a second credit for the same transaction and use is refused)."""
        return self._entry(account_id, "credit", cents, source=source, transaction_id=transaction_id,
                           usecase=usecase, description=description)

    def debit(self, account_id: int, cents: int, *, source: str, transaction_id: str, usecase: str,
              description: str | None = None) -> WalletEntry:
        """Take ``cents`` from the wallet; :class:`InsufficientBalance` if it would go negative."""
        return self._entry(account_id, "debit", cents, source=source, transaction_id=transaction_id,
                           usecase=usecase, description=description)

    def entries(self, account_id: int, kind: str | None, limit: int, offset: int) -> tuple[list[WalletEntry], int]:
        """A page of the wallet ledger, newest first, and the total matching entries."""
        cond = "account_id = ?"
        params: list[Any] = [account_id]
        if kind:
            cond += " AND type = ?"
            params.append(kind)
        total = int(self._scalar(f"SELECT COUNT(*) FROM wallet_entries WHERE {cond}", tuple(params)))
        items = self._all(WalletEntry, f"SELECT * FROM wallet_entries WHERE {cond} ORDER BY id DESC LIMIT ? OFFSET ?",
                          (*params, limit, offset))
        return items, total

    def wallet_totals(self, account_id: int) -> tuple[int, int]:
        """(total credited, total debited) in cents."""
        rows = self._rows(
            "SELECT COALESCE(SUM(CASE WHEN type = 'credit' THEN amount_cents END), 0), "
            "COALESCE(SUM(CASE WHEN type = 'debit' THEN amount_cents END), 0) FROM wallet_entries "
            "WHERE account_id = ?", (account_id,))
        return int(rows[0][0]), int(rows[0][1])

    # --- payment methods

    def insert_stripe_payment_method(self, *, brand: str, last4: str, exp_month: int, exp_year: int,
                                     funding: str, country: str, behaviour: str) -> StripePaymentMethod:
        """Record a payment method created through the Stripe API (no card number is stored)."""
        pm_id = new_id("pm_1")
        self._insert("stripe_payment_methods", id=pm_id, brand=brand, last4=last4, exp_month=exp_month,
                     exp_year=exp_year, funding=funding, country=country, behaviour=behaviour,
                     created_at=self.clock())
        found = self.stripe_payment_method(pm_id)
        assert found is not None
        return found

    def stripe_payment_method(self, pm_id: str) -> StripePaymentMethod | None:
        """A payment method created through the Stripe API."""
        return self._one(StripePaymentMethod, "SELECT * FROM stripe_payment_methods WHERE id = ?", (pm_id,))

    def claim_stripe_payment_method(self, pm_id: str, account_id: int) -> None:
        """Bind a Stripe payment method to its first customer (a pm serves one customer only)."""
        self._exec("UPDATE stripe_payment_methods SET customer_account_id = ? WHERE id = ? "
                   "AND customer_account_id IS NULL", (account_id, pm_id))

    def detach_stripe_payment_method(self, pm_id: str) -> None:
        """Detach a Stripe payment method: it can never be used again."""
        self._update("stripe_payment_methods", {"id": pm_id}, detached=1)

    def saved_cards(self, account_id: int) -> list[SavedCard]:
        """The account's saved cards, oldest first."""
        return self._all(SavedCard, "SELECT * FROM payment_methods WHERE account_id = ? ORDER BY created_at, rowid",
                         (account_id,))

    def saved_card(self, account_id: int, pm_id: str) -> SavedCard | None:
        """One saved card of the account."""
        return self._one(SavedCard, "SELECT * FROM payment_methods WHERE account_id = ? AND id = ?",
                         (account_id, pm_id))

    def save_card(self, account_id: int, pm_id: str, *, brand: str, last4: str, exp_month: int, exp_year: int,
                  behaviour: str) -> SavedCard:
        """Save a card on the account (no-op if already saved)."""
        with self.transaction():
            if self.saved_card(account_id, pm_id) is None:
                self._insert("payment_methods", account_id=account_id, id=pm_id, brand=brand, last4=last4,
                             exp_month=exp_month, exp_year=exp_year, behaviour=behaviour, created_at=self.clock())
            card = self.saved_card(account_id, pm_id)
        assert card is not None
        return card

    def delete_saved_card(self, account_id: int, pm_id: str) -> None:
        """Remove a saved card (and clear the default if it was the default)."""
        with self.transaction():
            self._exec("DELETE FROM payment_methods WHERE account_id = ? AND id = ?", (account_id, pm_id))
            self._exec("UPDATE accounts SET default_payment_method = NULL WHERE id = ? "
                       "AND default_payment_method = ?", (account_id, pm_id))

    # --- payment intents and invoices

    def insert_payment_intent(self, account_id: int, cents: int, *, status: str, purpose: str, description: str,
                              payment_method_id: str | None, decline_code: str | None = None) -> PaymentIntent:
        """Record a payment attempt."""
        pi_id = new_id("pi_3")
        self._insert("payment_intents", id=pi_id, account_id=account_id, amount_cents=cents, currency="usd",
                     status=status, purpose=purpose, description=description, payment_method_id=payment_method_id,
                     decline_code=decline_code, client_secret=f"{pi_id}_secret_{new_id('', 24)}",
                     created_at=self.clock())
        found = self.payment_intent(pi_id)
        assert found is not None
        return found

    def payment_intent(self, pi_id: str, account_id: int | None = None) -> PaymentIntent | None:
        """A payment intent (of ``account_id`` when given)."""
        pi = self._one(PaymentIntent, "SELECT * FROM payment_intents WHERE id = ?", (pi_id,))
        if pi is None or (account_id is not None and pi.account_id != account_id):
            return None
        return pi

    def insert_invoice(self, account_id: int, cents: int, *, status: str, description: str,
                       payment_intent_id: str | None, subscription_id: int | None = None,
                       plan_id: int | None = None, period: tuple[float, float] | None = None) -> Invoice:
        """Record an invoice (paid with its successful payment, or open awaiting one)."""
        with self.transaction():
            count = int(self._scalar("SELECT COUNT(*) FROM invoices"))
            inv_id = new_id("in_1")
            now = self.clock()
            self._insert("invoices", id=inv_id, number=f"SBX-{count + 1:06d}", account_id=account_id,
                         amount_cents=cents, currency="usd", status=status, description=description,
                         payment_intent_id=payment_intent_id, subscription_id=subscription_id, plan_id=plan_id,
                         period_start=period[0] if period else None, period_end=period[1] if period else None,
                         created_at=now, paid_at=now if status == "paid" else None)
            found = self.invoice(inv_id)
        assert found is not None
        return found

    def invoice(self, invoice_id: str, account_id: int | None = None) -> Invoice | None:
        """An invoice (of ``account_id`` when given)."""
        inv = self._one(Invoice, "SELECT * FROM invoices WHERE id = ?", (invoice_id,))
        if inv is None or (account_id is not None and inv.account_id != account_id):
            return None
        return inv

    def invoices(self, account_id: int) -> list[Invoice]:
        """The account's invoices, newest first."""
        return self._all(Invoice, "SELECT * FROM invoices WHERE account_id = ? ORDER BY created_at DESC, rowid DESC",
                         (account_id,))

    def open_invoice(self, subscription_id: int) -> Invoice | None:
        """The latest unpaid invoice of a subscription."""
        return self._one(Invoice, "SELECT * FROM invoices WHERE subscription_id = ? AND status = 'open' "
                         "ORDER BY created_at DESC, rowid DESC LIMIT 1", (subscription_id,))

    def update_invoice(self, invoice_id: str, **values: Any) -> None:
        """Change an invoice's status, payment or timestamps."""
        self._update("invoices", {"id": invoice_id}, **values)

    # --- setup intents

    def insert_setup_intent(self, account_id: int) -> SetupIntent:
        """A new SetupIntent waiting for a payment method."""
        seti = new_id("seti_1")
        self._insert("setup_intents", id=seti, account_id=account_id, client_secret=f"{seti}_secret_{new_id('', 24)}",
                     status="requires_payment_method", created_at=self.clock())
        found = self.setup_intent(seti)
        assert found is not None
        return found

    def setup_intent(self, seti_id: str) -> SetupIntent | None:
        """A SetupIntent by id."""
        return self._one(SetupIntent, "SELECT * FROM setup_intents WHERE id = ?", (seti_id,))

    def update_setup_intent(self, seti_id: str, **values: Any) -> None:
        """Change a SetupIntent's status or payment method."""
        self._update("setup_intents", {"id": seti_id}, **values)

    # --- checkout sessions

    def insert_checkout_session(self, account_id: int, *, purpose: str, cents: int, plan_id: int | None,
                                ttl_seconds: float, success_url: str | None = None,
                                cancel_url: str | None = None) -> CheckoutSession:
        """A new open checkout session that expires after ``ttl_seconds``."""
        cs_id = new_id("cs_test_a1", 40)
        now = self.clock()
        self._insert("checkout_sessions", id=cs_id, account_id=account_id, purpose=purpose, amount_cents=cents,
                     plan_id=plan_id, status="open", success_url=success_url, cancel_url=cancel_url,
                     created_at=now, expires_at=now + ttl_seconds)
        found = self.checkout_session(cs_id)
        assert found is not None
        return found

    def checkout_session(self, cs_id: str) -> CheckoutSession | None:
        """A checkout session by id (expired lazily when its time is up)."""
        with self.transaction():
            self._exec("UPDATE checkout_sessions SET status = 'expired' WHERE id = ? AND status = 'open' "
                       "AND expires_at <= ?", (cs_id, self.clock()))
            return self._one(CheckoutSession, "SELECT * FROM checkout_sessions WHERE id = ?", (cs_id,))

    def update_checkout_session(self, cs_id: str, **values: Any) -> None:
        """Change a checkout session."""
        self._update("checkout_sessions", {"id": cs_id}, **values)

    # --- plans and subscriptions

    def plans(self) -> list[Plan]:
        """The plan catalogue."""
        return self._all(Plan, "SELECT * FROM plans ORDER BY id")

    def plan(self, plan_id: int) -> Plan | None:
        """One plan."""
        return self._one(Plan, "SELECT * FROM plans WHERE id = ?", (plan_id,))

    def insert_subscription(self, account_id: int, plan_id: int, *, status: str, payment_method_id: str | None,
                            period: tuple[float, float], source: str) -> Subscription:
        """A new subscription."""
        sub_id = self._insert("subscriptions", account_id=account_id, plan_id=plan_id, status=status,
                              stripe_subscription_id=new_id("sub_1"), payment_method_id=payment_method_id,
                              current_period_start=period[0], current_period_end=period[1],
                              created_at=self.clock(), source=source)
        found = self.subscription(sub_id)
        assert found is not None
        return found

    def subscription(self, sub_id: int, account_id: int | None = None) -> Subscription | None:
        """A subscription (of ``account_id`` when given)."""
        sub = self._one(Subscription, "SELECT * FROM subscriptions WHERE id = ?", (sub_id,))
        if sub is None or (account_id is not None and sub.account_id != account_id):
            return None
        return sub

    def subscriptions(self, account_id: int) -> list[Subscription]:
        """The account's subscriptions, oldest first."""
        return self._all(Subscription, "SELECT * FROM subscriptions WHERE account_id = ? ORDER BY id", (account_id,))

    def update_subscription(self, sub_id: int, **values: Any) -> Subscription:
        """Change a subscription; returns the new row."""
        self._update("subscriptions", {"id": sub_id}, **values)
        found = self.subscription(sub_id)
        assert found is not None
        return found

    # --- coupons

    def coupon(self, code: str) -> Coupon | None:
        """A coupon by code (codes are case-insensitive)."""
        return self._one(Coupon, "SELECT * FROM coupons WHERE code = ? COLLATE NOCASE", (code,))

    def redemption(self, account_id: int, code: str) -> Redemption | None:
        """The account's redemption of a coupon, if any."""
        return self._one(Redemption, "SELECT * FROM coupon_redemptions WHERE account_id = ? AND code = ?",
                         (account_id, code))

    def insert_redemption(self, account_id: int, code: str, *, mode: str, credit_cents: int,
                          purchase_cents: int | None = None, payment_intent_id: str | None = None) -> Redemption:
        """Record a coupon redemption (at most one per account and coupon)."""
        red_id = new_id("cpnr_")
        self._insert("coupon_redemptions", id=red_id, account_id=account_id, code=code, mode=mode,
                     purchase_cents=purchase_cents, credit_cents=credit_cents, payment_intent_id=payment_intent_id,
                     created_at=self.clock())
        found = self.redemption(account_id, code)
        assert found is not None
        return found

    # --- withdrawals

    def insert_withdrawal(self, account_id: int, cents: int) -> str:
        """Record a payout and debit the wallet for it, atomically; returns the withdrawal id."""
        wd_id = new_id("wd_")
        with self.transaction():
            self.debit(account_id, cents, source="payout", transaction_id=wd_id, usecase="withdrawal",
                       description="Withdrawal to the reseller's payout account")
            self._insert("withdrawals", id=wd_id, account_id=account_id, amount_cents=cents, status="succeeded",
                         created_at=self.clock())
        return wd_id

    # --- idempotency

    def idempotency_record(self, account_id: int, key: str, *, newer_than: float) -> IdempotencyRecord | None:
        """The stored response for ``key`` (records older than ``newer_than`` are purged first)."""
        with self.transaction():
            self._exec("DELETE FROM idempotency_keys WHERE created_at < ?", (newer_than,))
            return self._one(IdempotencyRecord, "SELECT * FROM idempotency_keys WHERE account_id = ? AND key = ?",
                             (account_id, key))

    def store_idempotency_record(self, account_id: int, key: str, *, fingerprint: str, status: int, body: bytes,
                                 request_id: str) -> None:
        """Keep a final response for replay."""
        self._insert("idempotency_keys", account_id=account_id, key=key, fingerprint=fingerprint, status=status,
                     body=body, request_id=request_id, created_at=self.clock())

    # --- invariants

    def invariant_problems(self) -> list[str]:
        """Every violated invariant, as a sentence (empty when the ledger is sound)."""
        with self.transaction():
            return self._invariant_problems()

    def check_invariants(self) -> None:
        """Raise :class:`InvariantError` when any invariant is violated.

        Example:
            >>> Ledger(":memory:", clock=lambda: 0.0).check_invariants()
        """
        problems = self.invariant_problems()
        if problems:
            raise InvariantError(problems)

    def _invariant_problems(self) -> list[str]:
        problems: list[str] = []
        q = self._conn.execute
        for acct in q("SELECT id, balance_cents FROM accounts").fetchall():
            running = 0
            for entry in q("SELECT id, type, amount_cents FROM wallet_entries WHERE account_id = ? ORDER BY id",
                           (acct["id"],)).fetchall():
                running += entry["amount_cents"] if entry["type"] == "credit" else -entry["amount_cents"]
                if running < 0:
                    problems.append(f"account {acct['id']}: balance negative after entry {entry['id']}")
            if running != acct["balance_cents"]:
                problems.append(f"account {acct['id']}: balance {acct['balance_cents']} != credits - debits {running}")
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

