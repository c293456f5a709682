"""The ModelsLab sandbox's ledger: accounts, the wallet and every billing object, in SQLite.

A :class:`~agent_billing.sandbox.store.SqliteStore` (atomic, nestable transactions) with the tables of
``schema`` and the queries the handlers need; :meth:`Ledger.check_invariants` runs the checks of
``invariants``, which the tests call after every scenario.

Example:
    >>> ledger = Ledger(":memory:", clock=lambda: 1_800_000_000.0)
    >>> acct = ledger.ensure_account("sk_sandbox_demo", reseller=False)
    >>> ledger.credit(acct.id, 2500, source="stripe", transaction_id="pi_x", usecase="test").amount_cents
    2500
    >>> ledger.balance(acct.id)
    2500
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent_billing.providers.modelslab.sandbox.invariants import InvariantError, invariant_problems
from agent_billing.providers.modelslab.sandbox.records import (
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
from agent_billing.providers.modelslab.sandbox.schema import SCHEMA, seed_rows
from agent_billing.sandbox.store import SqliteStore, mask_token, token_digest
from agent_billing.sandbox.units import Clock, new_id

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


class InsufficientBalance(Exception):
    """A debit larger than the wallet balance (the ledger never goes negative).

    Example:
        >>> ledger = Ledger(":memory:", clock=lambda: 0.0)
        >>> acct = ledger.ensure_account("sk_sandbox_demo", reseller=False)
        >>> ledger.debit(acct.id, 350, source="api", transaction_id="use_1", usecase="api_usage")
        Traceback (most recent call last):
        agent_billing.providers.modelslab.sandbox.ledger.InsufficientBalance: balance below 350 cents
    """


class Ledger(SqliteStore):
    """The SQLite store behind one ModelsLab sandbox (``db_path`` a file, or ``":memory:"``).

    Example:
        >>> ledger = Ledger(":memory:", clock=lambda: 0.0)
        >>> [p.id for p in ledger.plans()][:3]
        [5, 10, 11]
    """

    def __init__(self, db_path: str = ":memory:", *, clock: Clock) -> None:
        super().__init__(db_path, schema=SCHEMA)
        self.clock = clock
        with self.transaction():
            seed_rows(self._conn)

    # --- meta

    def meta(self, key: str, default: Callable[[], str]) -> str:
        """A persistent setting (created with ``default()`` the first time)."""
        with self.transaction():
            value = self.scalar("SELECT value FROM meta WHERE key = ?", (key,))
            if value is None:
                value = default()
                self.insert("meta", key=key, value=value)
            return str(value)

    # --- accounts

    def ensure_account(self, token: str, *, reseller: bool) -> Account:
        """The account of ``token``, created empty (see ``seed``) on first sight."""
        digest = token_digest(token)
        with self.transaction():
            found = self.account_by_digest(digest)
            if found is None:
                account_id = self.insert(
                    "accounts", token_sha256=digest, token_hint=mask_token(token), reseller=int(reseller),
                    created_at=self.clock(),
                )
                self.insert("billing_info", account_id=account_id)
            elif bool(found.reseller) != reseller:
                self.update("accounts", {"id": found.id}, reseller=int(reseller))
            result = self.account_by_digest(digest)
        assert result is not None
        return result

    def account_by_digest(self, digest: str) -> Account | None:
        """The account whose token has this SHA-256 digest."""
        return self.one(Account, "SELECT * FROM accounts WHERE token_sha256 = ?", (digest,))

    def account(self, account_id: int) -> Account:
        """An account by id."""
        found = self.one(Account, "SELECT * FROM accounts WHERE id = ?", (account_id,))
        if found is None:
            raise KeyError(account_id)
        return found

    def accounts(self) -> list[Account]:
        """All accounts."""
        return self.all(Account, "SELECT * FROM accounts ORDER BY id")

    def set_default_payment_method(self, account_id: int, pm_id: str | None) -> None:
        """Make ``pm_id`` (or nothing) the account's default card."""
        self.update("accounts", {"id": account_id}, default_payment_method=pm_id)

    def set_auto_funding(self, account_id: int, charge_cents: int | None, threshold_cents: int | None) -> None:
        """Turn auto-funding on (both amounts) or off (``None``)."""
        enabled = charge_cents is not None
        self.update("accounts", {"id": account_id}, auto_funding_enabled=int(enabled),
                     auto_charge_cents=charge_cents, charge_threshold_cents=threshold_cents)

    # --- billing info

    def billing_info(self, account_id: int) -> dict[str, str | None]:
        """The ten billing profile fields."""
        rows = self.rows(f"SELECT {', '.join(BILLING_FIELDS)} FROM billing_info WHERE account_id = ?",
                          (account_id,))
        return {k: rows[0][k] for k in BILLING_FIELDS} if rows else dict.fromkeys(BILLING_FIELDS)

    def update_billing_info(self, account_id: int, changes: dict[str, str]) -> None:
        """Merge ``changes`` into the billing profile."""
        unknown = set(changes) - set(BILLING_FIELDS)
        if unknown:
            raise ValueError(f"unknown billing fields {sorted(unknown)}")
        if changes:
            self.update("billing_info", {"account_id": account_id}, **changes)

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
            entry_id = self.insert("wallet_entries", account_id=account_id, type=kind, amount_cents=cents,
                                    status="success", created_at=self.clock(), **kw)
            sign = 1 if kind == "credit" else -1
            self.execute("UPDATE accounts SET balance_cents = balance_cents + ? WHERE id = ?",
                       (sign * cents, account_id))
            entry = self.one(WalletEntry, "SELECT * FROM wallet_entries WHERE id = ?", (entry_id,))
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
        total = int(self.scalar(f"SELECT COUNT(*) FROM wallet_entries WHERE {cond}", tuple(params)))
        items = self.all(WalletEntry, f"SELECT * FROM wallet_entries WHERE {cond} ORDER BY id DESC LIMIT ? OFFSET ?",
                          (*params, limit, offset))
        return items, total

    def wallet_totals(self, account_id: int) -> tuple[int, int]:
        """(total credited, total debited) in cents."""
        rows = self.rows(
            "SELECT COALESCE(SUM(CASE WHEN type = 'credit' THEN amount_cents END), 0), "
            "COALESCE(SUM(CASE WHEN type = 'debit' THEN amount_cents END), 0) FROM wallet_entries "
            "WHERE account_id = ?", (account_id,))
        return int(rows[0][0]), int(rows[0][1])

    # --- payment methods

    def insert_stripe_payment_method(self, *, brand: str, last4: str, exp_month: int, exp_year: int,
                                     funding: str, country: str, behaviour: str) -> StripePaymentMethod:
        """Record a payment method created through the Stripe API (no card number is stored)."""
        pm_id = new_id("pm_1")
        self.insert("stripe_payment_methods", id=pm_id, brand=brand, last4=last4, exp_month=exp_month,
                     exp_year=exp_year, funding=funding, country=country, behaviour=behaviour,
                     created_at=self.clock())
        found = self.stripe_payment_method(pm_id)
        assert found is not None
        return found

    def stripe_payment_method(self, pm_id: str) -> StripePaymentMethod | None:
        """A payment method created through the Stripe API."""
        return self.one(StripePaymentMethod, "SELECT * FROM stripe_payment_methods WHERE id = ?", (pm_id,))

    def claim_stripe_payment_method(self, pm_id: str, account_id: int) -> None:
        """Bind a Stripe payment method to its first customer (a pm serves one customer only)."""
        self.execute("UPDATE stripe_payment_methods SET customer_account_id = ? WHERE id = ? "
                   "AND customer_account_id IS NULL", (account_id, pm_id))

    def detach_stripe_payment_method(self, pm_id: str) -> None:
        """Detach a Stripe payment method: it can never be used again."""
        self.update("stripe_payment_methods", {"id": pm_id}, detached=1)

    def saved_cards(self, account_id: int) -> list[SavedCard]:
        """The account's saved cards, oldest first."""
        return self.all(SavedCard, "SELECT * FROM payment_methods WHERE account_id = ? ORDER BY created_at, rowid",
                         (account_id,))

    def saved_card(self, account_id: int, pm_id: str) -> SavedCard | None:
        """One saved card of the account."""
        return self.one(SavedCard, "SELECT * FROM payment_methods WHERE account_id = ? AND id = ?",
                         (account_id, pm_id))

    def save_card(self, account_id: int, pm_id: str, *, brand: str, last4: str, exp_month: int, exp_year: int,
                  behaviour: str) -> SavedCard:
        """Save a card on the account (no-op if already saved)."""
        with self.transaction():
            if self.saved_card(account_id, pm_id) is None:
                self.insert("payment_methods", account_id=account_id, id=pm_id, brand=brand, last4=last4,
                             exp_month=exp_month, exp_year=exp_year, behaviour=behaviour, created_at=self.clock())
            card = self.saved_card(account_id, pm_id)
        assert card is not None
        return card

    def delete_saved_card(self, account_id: int, pm_id: str) -> None:
        """Remove a saved card (and clear the default if it was the default)."""
        with self.transaction():
            self.execute("DELETE FROM payment_methods WHERE account_id = ? AND id = ?", (account_id, pm_id))
            self.execute("UPDATE accounts SET default_payment_method = NULL WHERE id = ? "
                       "AND default_payment_method = ?", (account_id, pm_id))

    # --- payment intents and invoices

    def insert_payment_intent(self, account_id: int, cents: int, *, status: str, purpose: str, description: str,
                              payment_method_id: str | None, decline_code: str | None = None) -> PaymentIntent:
        """Record a payment attempt."""
        pi_id = new_id("pi_3")
        self.insert("payment_intents", id=pi_id, account_id=account_id, amount_cents=cents, currency="usd",
                     status=status, purpose=purpose, description=description, payment_method_id=payment_method_id,
                     decline_code=decline_code, client_secret=f"{pi_id}_secret_{new_id('', 24)}",
                     created_at=self.clock())
        found = self.payment_intent(pi_id)
        assert found is not None
        return found

    def payment_intent(self, pi_id: str, account_id: int | None = None) -> PaymentIntent | None:
        """A payment intent (of ``account_id`` when given)."""
        pi = self.one(PaymentIntent, "SELECT * FROM payment_intents WHERE id = ?", (pi_id,))
        if pi is None or (account_id is not None and pi.account_id != account_id):
            return None
        return pi

    def insert_invoice(self, account_id: int, cents: int, *, status: str, description: str,
                       payment_intent_id: str | None, subscription_id: int | None = None,
                       plan_id: int | None = None, period: tuple[float, float] | None = None) -> Invoice:
        """Record an invoice (paid with its successful payment, or open awaiting one)."""
        with self.transaction():
            # Invoices are never deleted, so the highest rowid is their count, read in O(log n): COUNT(*)
            # walked every invoice (a fund cost 20 % more after 20,000 of them).
            count = int(self.scalar("SELECT COALESCE(MAX(rowid), 0) FROM invoices"))
            inv_id = new_id("in_1")
            now = self.clock()
            self.insert("invoices", id=inv_id, number=f"SBX-{count + 1:06d}", account_id=account_id,
                         amount_cents=cents, currency="usd", status=status, description=description,
                         payment_intent_id=payment_intent_id, subscription_id=subscription_id, plan_id=plan_id,
                         period_start=period[0] if period else None, period_end=period[1] if period else None,
                         created_at=now, paid_at=now if status == "paid" else None)
            found = self.invoice(inv_id)
        assert found is not None
        return found

    def invoice(self, invoice_id: str, account_id: int | None = None) -> Invoice | None:
        """An invoice (of ``account_id`` when given)."""
        inv = self.one(Invoice, "SELECT * FROM invoices WHERE id = ?", (invoice_id,))
        if inv is None or (account_id is not None and inv.account_id != account_id):
            return None
        return inv

    def invoices(self, account_id: int) -> list[Invoice]:
        """The account's invoices, newest first."""
        return self.all(Invoice, "SELECT * FROM invoices WHERE account_id = ? ORDER BY created_at DESC, rowid DESC",
                         (account_id,))

    def open_invoice(self, subscription_id: int) -> Invoice | None:
        """The latest unpaid invoice of a subscription."""
        return self.one(Invoice, "SELECT * FROM invoices WHERE subscription_id = ? AND status = 'open' "
                         "ORDER BY created_at DESC, rowid DESC LIMIT 1", (subscription_id,))

    def update_invoice(self, invoice_id: str, **values: Any) -> None:
        """Change an invoice's status, payment or timestamps."""
        self.update("invoices", {"id": invoice_id}, **values)

    # --- setup intents

    def insert_setup_intent(self, account_id: int) -> SetupIntent:
        """A new SetupIntent waiting for a payment method."""
        seti = new_id("seti_1")
        self.insert("setup_intents", id=seti, account_id=account_id, client_secret=f"{seti}_secret_{new_id('', 24)}",
                     status="requires_payment_method", created_at=self.clock())
        found = self.setup_intent(seti)
        assert found is not None
        return found

    def setup_intent(self, seti_id: str) -> SetupIntent | None:
        """A SetupIntent by id."""
        return self.one(SetupIntent, "SELECT * FROM setup_intents WHERE id = ?", (seti_id,))

    def update_setup_intent(self, seti_id: str, **values: Any) -> None:
        """Change a SetupIntent's status or payment method."""
        self.update("setup_intents", {"id": seti_id}, **values)

    # --- checkout sessions

    def insert_checkout_session(self, account_id: int, *, purpose: str, cents: int, plan_id: int | None,
                                ttl_seconds: float, success_url: str | None = None,
                                cancel_url: str | None = None) -> CheckoutSession:
        """A new open checkout session that expires after ``ttl_seconds``."""
        cs_id = new_id("cs_test_a1", 40)
        now = self.clock()
        self.insert("checkout_sessions", id=cs_id, account_id=account_id, purpose=purpose, amount_cents=cents,
                     plan_id=plan_id, status="open", success_url=success_url, cancel_url=cancel_url,
                     created_at=now, expires_at=now + ttl_seconds)
        found = self.checkout_session(cs_id)
        assert found is not None
        return found

    def checkout_session(self, cs_id: str) -> CheckoutSession | None:
        """A checkout session by id (expired lazily when its time is up)."""
        with self.transaction():
            self.execute("UPDATE checkout_sessions SET status = 'expired' WHERE id = ? AND status = 'open' "
                       "AND expires_at <= ?", (cs_id, self.clock()))
            return self.one(CheckoutSession, "SELECT * FROM checkout_sessions WHERE id = ?", (cs_id,))

    def update_checkout_session(self, cs_id: str, **values: Any) -> None:
        """Change a checkout session."""
        self.update("checkout_sessions", {"id": cs_id}, **values)

    # --- plans and subscriptions

    def plans(self) -> list[Plan]:
        """The plan catalogue."""
        return [Plan.from_row(dict(row)) for row in self.rows("SELECT * FROM plans ORDER BY id")]

    def plan(self, plan_id: int) -> Plan | None:
        """One plan."""
        rows = self.rows("SELECT * FROM plans WHERE id = ?", (plan_id,))
        return Plan.from_row(dict(rows[0])) if rows else None

    def insert_subscription(self, account_id: int, plan_id: int, *, status: str, payment_method_id: str | None,
                            period: tuple[float, float], source: str) -> Subscription:
        """A new subscription."""
        sub_id = self.insert("subscriptions", account_id=account_id, plan_id=plan_id, status=status,
                              stripe_subscription_id=new_id("sub_1"), payment_method_id=payment_method_id,
                              current_period_start=period[0], current_period_end=period[1],
                              created_at=self.clock(), source=source)
        found = self.subscription(sub_id)
        assert found is not None
        return found

    def subscription(self, sub_id: int, account_id: int | None = None) -> Subscription | None:
        """A subscription (of ``account_id`` when given)."""
        sub = self.one(Subscription, "SELECT * FROM subscriptions WHERE id = ?", (sub_id,))
        if sub is None or (account_id is not None and sub.account_id != account_id):
            return None
        return sub

    def subscriptions(self, account_id: int) -> list[Subscription]:
        """The account's subscriptions, oldest first."""
        return self.all(Subscription, "SELECT * FROM subscriptions WHERE account_id = ? ORDER BY id", (account_id,))

    def update_subscription(self, sub_id: int, **values: Any) -> Subscription:
        """Change a subscription; returns the new row."""
        self.update("subscriptions", {"id": sub_id}, **values)
        found = self.subscription(sub_id)
        assert found is not None
        return found

    # --- coupons

    def coupon(self, code: str) -> Coupon | None:
        """A coupon by code (codes are case-insensitive)."""
        return self.one(Coupon, "SELECT * FROM coupons WHERE code = ? COLLATE NOCASE", (code,))

    def redemption(self, account_id: int, code: str) -> Redemption | None:
        """The account's redemption of a coupon, if any."""
        return self.one(Redemption, "SELECT * FROM coupon_redemptions WHERE account_id = ? AND code = ?",
                         (account_id, code))

    def insert_redemption(self, account_id: int, code: str, *, mode: str, credit_cents: int,
                          purchase_cents: int | None = None, payment_intent_id: str | None = None) -> Redemption:
        """Record a coupon redemption (at most one per account and coupon)."""
        red_id = new_id("cpnr_")
        self.insert("coupon_redemptions", id=red_id, account_id=account_id, code=code, mode=mode,
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
            self.insert("withdrawals", id=wd_id, account_id=account_id, amount_cents=cents, status="succeeded",
                         created_at=self.clock())
        return wd_id

    # --- idempotency

    def idempotency_record(self, account_id: int, key: str, *, newer_than: float) -> IdempotencyRecord | None:
        """The stored response for ``key``, unless older than ``newer_than`` (expired records are purged
        by the ``created_at`` index: the sweep costs the same at 0 and at 100,000 stored keys)."""
        with self.transaction():
            self.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (newer_than,))
            return self.one(IdempotencyRecord, "SELECT * FROM idempotency_keys WHERE account_id = ? AND key = ? "
                             "AND created_at >= ?", (account_id, key, newer_than))

    def store_idempotency_record(self, account_id: int, key: str, *, fingerprint: str, status: int, body: bytes,
                                 request_id: str) -> None:
        """Keep a final response for replay."""
        self.insert("idempotency_keys", account_id=account_id, key=key, fingerprint=fingerprint, status=status,
                     body=body, request_id=request_id, created_at=self.clock())

    # --- invariants

    def invariant_problems(self) -> list[str]:
        """Every violated invariant, as a sentence (empty when the ledger is sound)."""
        with self.transaction():
            return invariant_problems(self._conn)

    def check_invariants(self) -> None:
        """Raise :class:`InvariantError` when any invariant is violated.

        Example:
            >>> Ledger(":memory:", clock=lambda: 0.0).check_invariants()
        """
        problems = self.invariant_problems()
        if problems:
            raise InvariantError(problems)
