"""The ModelsLab sandbox ledger's tables, and the rows every ledger starts with (plans, coupons).

Money is stored as integer cents; a card is stored as brand, last4 and expiry, never its number. The
statements are idempotent (``IF NOT EXISTS``, ``INSERT OR IGNORE``), so a ledger file is reopened as is.

Example:
    >>> import sqlite3
    >>> conn = sqlite3.connect(":memory:")
    >>> conn.executescript(SCHEMA) and None
    >>> seed_rows(conn)
    >>> conn.execute("SELECT COUNT(*) FROM plans").fetchone()[0], conn.execute("SELECT COUNT(*) FROM coupons").fetchone()[0]
    (9, 4)
"""

from __future__ import annotations

import json
import sqlite3

from agent_billing.providers.modelslab.sandbox import seed

SCHEMA = """
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
-- The retention sweep deletes by age on every keyed request: an index, not a scan of every key.
CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);
-- Every request looks for the caller's subscriptions that are due: by account, not a scan of all of them.
CREATE INDEX IF NOT EXISTS subscriptions_account ON subscriptions (account_id);
"""


def seed_rows(conn: sqlite3.Connection) -> None:
    """Insert the plan catalogue and the coupons (once), and start subscription ids at 1001."""
    for p in seed.PLANS:
        conn.execute(
            "INSERT OR IGNORE INTO plans (id, name, category, period, type, price_cents, api_call_limit, "
            "rate_limit, features, trial_days) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (p.id, p.name, p.category, p.period, p.type, p.price_cents, p.api_call_limit, p.rate_limit,
             json.dumps(list(p.features)), p.trial_days),
        )
    for c in seed.COUPONS.values():
        conn.execute(
            "INSERT OR IGNORE INTO coupons (code, kind, description, credit_cents, bonus_percent, "
            "max_bonus_cents, min_purchase_cents, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (c.code, c.kind, c.description, c.credit_cents, c.bonus_percent, c.max_bonus_cents,
             c.min_purchase_cents, c.expires_at),
        )
    # Subscription ids start at 1001 so they are never mistaken for plan ids (10, 42...).
    if conn.execute("SELECT COUNT(*) FROM subscriptions").fetchone()[0] == 0:
        conn.execute("DELETE FROM sqlite_sequence WHERE name = 'subscriptions'")
        conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('subscriptions', 1000)")
