"""What each Wallgent billing operation does to the sandbox state, and the bodies it answers with.

Every method takes an :class:`Account` already authenticated and returns the JSON body (a ``dict``) or
raises :class:`WallgentError`. Money moves in exactly one place (``_pay``): a WALLET charge is a
wallet debit, a CARD charge follows the Stripe test payment method's behaviour
(``pm_card_visa`` succeeds, ``pm_card_chargeDeclined`` declines...). Every successful charge records
one paid invoice and one charge in the same transaction.

The sandbox clock is the injected clock plus an offset that ``POST /sandbox/advance`` moves; renewals
that fell due are settled before any request of the account is answered.

Example:
    >>> billing = Billing(clock=lambda: 1_815_000_000.0)
    >>> acct = billing.account("wg_test_sandbox")
    >>> sorted(billing.subscribe(acct, "STARTER", "WALLET", None))
    ['billingPaymentMethod', 'billingPeriodEnd', 'billingPeriodStart', 'billingStatus', 'invoiceId', 'plan']
    >>> billing.wallet_view(billing.settle(acct.id))["walletBalance"]
    '401.00'

The bodies are the ones Wallgent's documentation and its official SDK (``wallgent`` on PyPI) describe:
``tests/counterparts/test_wallgent_sdk.py`` runs every billing method of that SDK against this sandbox and
holds each answer to the documented shape (no field the real API does not send).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from agent_billing.providers.wallgent.sandbox.errors import WallgentError, validation_error
from agent_billing.providers.wallgent.sandbox.plans import PAID_SELF_SERVE, PERIOD_DAYS, PERIOD_SECONDS, PLANS, proration
from agent_billing.providers.wallgent.sandbox.store import Account, Invoice, Session, Store
from agent_billing.sandbox.cards import AUTHENTICATE, DECLINE, MAGIC_METHODS, TestCard
from agent_billing.sandbox.units import Clock, iso, iso_or_none, new_id, to_cents, usd, year_of
from agent_billing.webhooks import WebhookSender

OPENING_BALANCE = Decimal("500.00")  # every new sandbox wallet starts funded, so WALLET billing works at once
CARD_EXP_YEARS = 3  # Stripe's pm_card_* test methods expire a few years ahead


def money(cents: int) -> str:
    """Cents as Wallgent's decimal string.

    Example:
        >>> money(7500), money(5)
        ('75.00', '0.05')
    """
    return str(usd(cents))


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d")


def paid(acct: Account) -> bool:
    """Whether the account is on a paid plan (ACTIVE or PAST_DUE).

    Example:
        >>> paid(Billing(clock=lambda: 0.0).account("wg_test_x"))
        False
    """
    return acct.plan != "FREE" and acct.status in ("ACTIVE", "PAST_DUE")


@dataclass(frozen=True)
class Card:
    """A card that can be charged: its pm id, what may be shown, and how it behaves.

    Example:
        >>> card = resolve_card("pm_card_amex", "paymentMethodId", now=1_815_000_000.0)
        >>> card.details()["brand"], card.details()["last4"], card.details()["expYear"]
        ('amex', '0005', 2030)
    """

    pm_id: str
    test: TestCard
    exp_month: int
    exp_year: int

    def details(self) -> dict[str, Any]:
        """``cardDetails`` as ``GET /billing`` shows them."""
        return {"paymentMethodId": self.pm_id, "brand": self.test.brand, "last4": self.test.last4,
                "expMonth": self.exp_month, "expYear": self.exp_year}


def resolve_card(pm_id: str, field: str, *, now: float) -> Card:
    """One of Stripe's ``pm_card_*`` test payment methods, or 400 ``VALIDATION_ERROR`` on ``field``.

    Example:
        >>> resolve_card("pm_card_nope", "stripePaymentMethodId", now=0.0)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        agent_billing.providers.wallgent.sandbox.errors.WallgentError: stripePaymentMethodId: no such payment method ...
    """
    test = MAGIC_METHODS.get(pm_id)
    if test is None:
        raise validation_error(field, f"no such payment method '{pm_id[:64]}' (the sandbox takes Stripe's pm_card_* "
                               "test methods, e.g. pm_card_visa)")
    return Card(pm_id, test, 12, year_of(now) + CARD_EXP_YEARS)


class Billing:
    """The Wallgent sandbox's state and operations (one per app; every request holds ``lock``).

    Example:
        >>> billing = Billing(clock=lambda: 1_815_000_000.0)
        >>> billing.view(billing.account("wg_test_sandbox"))["plan"]
        'FREE'
        >>> billing.check_invariants()
    """

    def __init__(self, *, clock: Clock, db_path: str = ":memory:") -> None:
        self.store = Store(db_path)
        self._clock = clock
        self.lock = threading.RLock()
        # Signed events (``Wallgent-Signature``) to the receiver registered with POST /v1/sandbox/webhooks.
        self.webhooks = WebhookSender("wallgent", clock=self.now)

    # -- time and accounts --------------------------------------------------------------------------

    def now(self) -> float:
        """The sandbox time: the injected clock plus what ``advance`` added."""
        return self._clock() + float(self.store.meta("clock_offset", "0"))

    def account(self, key: str) -> Account:
        """The account of a test key, created with a funded wallet on first use."""
        return self.store.ensure_account(key, now=self.now(), opening_cents=to_cents(OPENING_BALANCE))

    def count_call(self, acct: Account) -> None:
        """Count one API call towards ``monthlyApiCalls``."""
        self.store.count_call(acct.id, iso(self.now())[:7])

    def check_invariants(self) -> None:
        """Raise ``AssertionError`` if the wallet ledger or the invoice/charge pairing is unsound."""
        self.store.check_invariants()

    def close(self) -> None:
        """Stop the webhook sender and close the database."""
        self.webhooks.close()
        self.store.close()

    # -- reading ------------------------------------------------------------------------------------

    def view(self, acct: Account) -> dict[str, Any]:
        """``GET /billing``: the fields of the SDK's ``BillingInfo``, no more."""
        price = PLANS[acct.plan].price
        on_paid_plan = paid(acct)
        return {
            "plan": acct.plan, "billingStatus": acct.status,
            "billingPaymentMethod": acct.method if on_paid_plan else None,
            "billingPeriodStart": iso_or_none(acct.period_start), "billingPeriodEnd": iso_or_none(acct.period_end),
            "cancelAtPeriodEnd": bool(acct.cancel_at_period_end), "pastDueSince": iso_or_none(acct.past_due_since),
            "pendingPlan": "FREE" if acct.cancel_at_period_end else None,
            "monthlyApiCalls": self.store.calls(acct.id, iso(self.now())[:7]),
            "cardDetails": self._card_details(acct), "price": None if price is None else str(price),
            "stripeSubscriptionId": acct.subscription_id, "trialEndsAt": None,
        }

    def wallet_view(self, acct: Account) -> dict[str, Any]:
        """The sandbox's own view of the wallet WALLET billing debits (not part of ``GET /billing``)."""
        return {"walletBalance": money(acct.wallet_cents)}

    def _card_details(self, acct: Account) -> dict[str, Any] | None:
        if acct.card_pm is None:
            return None
        return {"paymentMethodId": acct.card_pm, "brand": acct.card_brand, "last4": acct.card_last4,
                "expMonth": acct.card_exp_month, "expYear": acct.card_exp_year}

    def invoice_view(self, inv: Invoice, *, line_items: bool = True) -> dict[str, Any]:
        """One invoice: the SDK's ``BillingInvoice`` fields; ``GET /billing/invoices/{id}`` adds its line items
        (shaped as the SDK's ``InvoiceLineItem``), the list does not."""
        view: dict[str, Any] = {
            "id": inv.id, "amount": money(inv.amount_cents), "status": inv.status, "paymentMethod": inv.method,
            "description": inv.description, "createdAt": iso(inv.created_at), "periodStart": iso(inv.period_start),
            "periodEnd": iso(inv.period_end)}
        if line_items:
            view["lineItems"] = [{"description": text, "unitPrice": money(cents), "quantity": 1, "total": money(cents)}
                                 for text, cents in inv.lines]
        return view

    def invoices(self, acct: Account, page: int, limit: int) -> dict[str, Any]:
        """``GET /billing/invoices``: newest first."""
        rows, total = self.store.invoices(acct.id, offset=(page - 1) * limit, limit=limit)
        return {"invoices": [self.invoice_view(i, line_items=False) for i in rows], "page": page, "limit": limit,
                "total": total, "hasMore": (page - 1) * limit + len(rows) < total}

    def invoice(self, acct: Account, invoice_id: str) -> dict[str, Any]:
        """``GET /billing/invoices/{id}``, or 404 ``INVOICE_NOT_FOUND``."""
        inv = self.store.invoice(acct.id, invoice_id)
        if inv is None:
            raise WallgentError(404, "INVOICE_NOT_FOUND", f"No invoice '{invoice_id[:64]}'.")
        return self.invoice_view(inv)

    # -- charging -----------------------------------------------------------------------------------

    def _authorise(self, acct: Account, cents: int) -> None:
        # The account's sandbox policy, as Wallgent's wallet policies would judge a transaction.
        if acct.max_transaction_cents is not None and cents > acct.max_transaction_cents:
            raise WallgentError(403, "POLICY_DENIED", f"{money(cents)} is above the maxTransactionAmount policy "
                                f"of {money(acct.max_transaction_cents)}.",
                                {"policy": "maxTransactionAmount", "limit": money(acct.max_transaction_cents),
                                 "amount": money(cents)})
        if acct.require_approval:
            raise WallgentError(202, "APPROVAL_REQUIRED", "A person must approve this payment (requireHumanApproval "
                                "policy); nothing was charged.", {"policy": "requireHumanApproval", "amount": money(cents)})

    def _card_of(self, acct: Account) -> Card:
        if acct.card_pm is None:
            raise validation_error("paymentMethod", "billing by CARD needs a saved card")
        return Card(acct.card_pm, MAGIC_METHODS[acct.card_pm], acct.card_exp_month or 12, acct.card_exp_year or 0)

    def _pay(self, acct: Account, cents: int, method: str, card: Card | None, invoice: Invoice) -> None:
        """Charge ``cents`` by WALLET or CARD for ``invoice`` (already inserted, in the caller's transaction)."""
        if method == "WALLET":
            if acct.wallet_cents < cents:
                raise WallgentError(402, "INSUFFICIENT_FUNDS", f"The wallet holds {money(acct.wallet_cents)}; "
                                    f"{money(cents)} is needed.",
                                    {"required": money(cents), "available": money(acct.wallet_cents)})
            self.store.wallet_entry(acct.id, "debit", cents, invoice.description, invoice.id, now=self.now())
        else:
            assert card is not None
            behaviour = card.test.behaviour
            if behaviour.outcome == DECLINE:
                raise WallgentError(402, "PAYMENT_FAILED", behaviour.message or "The card was declined.",
                                    {"declineCode": behaviour.decline_code})
            if behaviour.outcome == AUTHENTICATE:
                # An off-session charge cannot run 3-D Secure, so Stripe declines it this way.
                raise WallgentError(402, "PAYMENT_FAILED", "The card needs authentication (3-D Secure); use checkout.",
                                    {"declineCode": "authentication_required"})
        self.store.set_invoice_status(invoice.id, "paid", method)
        self.store.insert_charge(acct.id, invoice.id, cents, method, card.pm_id if card else None, now=self.now())

    def _charge(self, acct: Account, cents: int, method: str, card: Card | None, *, description: str,
                lines: list[tuple[str, int]], period: tuple[float, float]) -> Invoice:
        with self.store.transaction():
            inv = self.store.insert_invoice(acct.id, cents=cents, status="open", method=method, description=description,
                                            lines=lines, now=self.now(), period=period)
            self._pay(acct, cents, method, card, inv)  # raises: the open invoice is rolled back with it
        paid_invoice = self.store.invoice(acct.id, inv.id)
        assert paid_invoice is not None
        return paid_invoice

    def _save_card(self, acct: Account, card: Card) -> Account:
        return self.store.update_account(acct.id, card_pm=card.pm_id, card_brand=card.test.brand,
                                         card_last4=card.test.last4, card_exp_month=card.exp_month,
                                         card_exp_year=card.exp_year)

    # -- subscriptions ------------------------------------------------------------------------------

    def subscribe(self, acct: Account, plan: str, method: str, pm_id: str | None) -> dict[str, Any]:
        """``POST /billing/subscribe``: charge the first period now, by WALLET or CARD."""
        self._check_plan(plan)
        if method == "CARD" and not pm_id:
            raise validation_error("stripePaymentMethodId", "required when paymentMethod is CARD")
        if method == "WALLET" and pm_id:
            raise validation_error("stripePaymentMethodId", "only with paymentMethod CARD")
        if paid(acct):
            raise WallgentError(409, "ALREADY_SUBSCRIBED", f"Already subscribed to {acct.plan}; use "
                                "POST /billing/change-plan to switch plans.", {"plan": acct.plan})
        card = resolve_card(pm_id, "stripePaymentMethodId", now=self.now()) if method == "CARD" and pm_id else None
        cents = to_cents(PLANS[plan].price or Decimal(0))
        self._authorise(acct, cents)
        start = self.now()
        end = start + PERIOD_SECONDS
        with self.store.transaction():
            inv = self._charge(acct, cents, method, card, description=f"Wallgent {plan} subscription",
                               lines=[(f"{plan} plan, {_day(start)} to {_day(end)}", cents)], period=(start, end))
            if card is not None:
                acct = self._save_card(acct, card)
            self.store.update_account(acct.id, plan=plan, status="ACTIVE", method=method, period_start=start,
                                      period_end=end, cancel_at_period_end=0, past_due_since=None,
                                      subscription_id=new_id("sub_"))
        return {"plan": plan, "billingStatus": "ACTIVE", "billingPaymentMethod": method, "invoiceId": inv.id,
                "billingPeriodStart": iso(start), "billingPeriodEnd": iso(end)}

    def _check_plan(self, plan: str, *, field: str = "plan") -> None:
        if plan == "ENTERPRISE":
            raise validation_error(field, "ENTERPRISE has custom pricing and is not self-serve; contact Wallgent sales")
        if plan not in PAID_SELF_SERVE:
            raise validation_error(field, f"must be one of {', '.join(PAID_SELF_SERVE)}")

    def _require_paid(self, acct: Account) -> None:
        if not paid(acct):
            raise WallgentError(409, "NOT_SUBSCRIBED", "No paid subscription; subscribe first (POST /billing/subscribe).")

    def change_plan(self, acct: Account, plan: str) -> dict[str, Any]:
        """``POST /billing/change-plan``: an upgrade pays the prorated difference now, a downgrade is free."""
        self._check_plan(plan)
        self._require_paid(acct)
        if plan == acct.plan:
            raise validation_error("plan", f"already on {plan}")
        assert acct.period_end is not None and acct.method is not None
        old, new = PLANS[acct.plan], PLANS[plan]
        amount, days = proration(old, new, seconds_left=acct.period_end - self.now())
        cents = to_cents(amount)
        invoice_id = None
        with self.store.transaction():
            if cents:
                self._authorise(acct, cents)
                card = self._card_of(acct) if acct.method == "CARD" else None
                inv = self._charge(acct, cents, acct.method, card, description=f"Upgrade {old.name} to {new.name} (prorated)",
                                   lines=[(f"{new.name} minus {old.name}, {days} of {PERIOD_DAYS} days", cents)],
                                   period=(self.now(), acct.period_end))
                invoice_id = inv.id
            acct = self.store.update_account(acct.id, plan=plan)
        return {"plan": plan, "billingStatus": acct.status, "prorationCharge": money(cents) if cents else None,
                "invoiceId": invoice_id, "billingPeriodEnd": iso_or_none(acct.period_end)}

    def cancel(self, acct: Account) -> dict[str, Any]:
        """``POST /billing/cancel``: the plan stays until the period ends (asking twice changes nothing)."""
        self._require_paid(acct)
        acct = self.store.update_account(acct.id, cancel_at_period_end=1)
        return {"cancelAtPeriodEnd": True, "billingPeriodEnd": iso_or_none(acct.period_end)}

    def change_payment_method(self, acct: Account, method: str, pm_id: str | None) -> dict[str, Any]:
        """``POST /billing/change-payment-method``: what future charges hit (CARD needs a card)."""
        self._require_paid(acct)
        if method == "WALLET" and pm_id:
            raise validation_error("stripePaymentMethodId", "only with paymentMethod CARD")
        with self.store.transaction():
            if method == "CARD" and pm_id:
                acct = self._save_card(acct, resolve_card(pm_id, "stripePaymentMethodId", now=self.now()))
            if method == "CARD" and acct.card_pm is None:
                raise validation_error("stripePaymentMethodId", "no saved card: pass stripePaymentMethodId or save a "
                                       "card first (POST /billing/payment-method)")
            self.store.update_account(acct.id, method=method)
        return {"ok": True}  # the whole answer, as Wallgent's SDK documents it

    def retry_payment(self, acct: Account) -> dict[str, Any]:
        """``POST /billing/retry-payment``: pay the open invoice of a PAST_DUE subscription."""
        inv = self.store.open_invoice(acct.id)
        if acct.status != "PAST_DUE" or inv is None or acct.method is None:
            raise WallgentError(409, "NOTHING_TO_RETRY", "There is no failed payment to retry.")
        self._authorise(acct, inv.amount_cents)
        card = self._card_of(acct) if acct.method == "CARD" else None
        with self.store.transaction():
            self._pay(acct, inv.amount_cents, acct.method, card, inv)
            self.store.update_account(acct.id, status="ACTIVE", past_due_since=None)
        return {"invoiceId": inv.id, "billingStatus": "ACTIVE"}

    # -- cards --------------------------------------------------------------------------------------

    def setup_intent(self) -> dict[str, Any]:
        """``POST /billing/setup-intent``: a SetupIntent client secret for Stripe.js."""
        return {"clientSecret": f"{new_id('seti_')}_secret_{new_id('', 24)}"}

    def save_payment_method(self, acct: Account, pm_id: str) -> dict[str, Any]:
        """``POST /billing/payment-method``: the card that CARD billing charges from now on."""
        card = resolve_card(pm_id, "paymentMethodId", now=self.now())
        if card.test.behaviour.declines_setup:  # Stripe's card check refuses these when the card is set up
            raise WallgentError(402, "PAYMENT_FAILED", card.test.behaviour.message or "The card was declined.",
                                {"declineCode": card.test.behaviour.decline_code})
        return {"ok": True, "cardDetails": self._card_details(self._save_card(acct, card))}

    def remove_payment_method(self, acct: Account) -> dict[str, Any]:
        """``DELETE /billing/payment-method``: refused while a paid plan bills that card."""
        if acct.card_pm is None:
            raise WallgentError(404, "PAYMENT_METHOD_NOT_FOUND", "No saved card to remove.")
        if paid(acct) and acct.method == "CARD":
            raise WallgentError(409, "PAYMENT_METHOD_IN_USE", "The subscription is billed to this card; switch to "
                                "WALLET (POST /billing/change-payment-method) or save another card first.")
        self.store.update_account(acct.id, card_pm=None, card_brand=None, card_last4=None, card_exp_month=None,
                                  card_exp_year=None)
        return {"ok": True}

    # -- hosted pages -------------------------------------------------------------------------------

    def start_checkout(self, acct: Account, plan: str) -> Session:
        """A checkout session for ``plan`` (``POST /billing/checkout``)."""
        self._check_plan(plan)
        if paid(acct):
            raise WallgentError(409, "ALREADY_SUBSCRIBED", f"Already subscribed to {acct.plan}; use "
                                "POST /billing/change-plan to switch plans.", {"plan": acct.plan})
        return self.store.insert_session("checkout", acct.id, plan=plan, now=self.now())

    def complete_checkout(self, session_id: str, pm_id: str, *, account_id: int | None = None) -> dict[str, Any]:
        """Pay a checkout session as the person on the page would: subscribes by CARD, once."""
        session = self.store.session("checkout", session_id)
        if session is None or (account_id is not None and session.account_id != account_id):
            raise WallgentError(404, "CHECKOUT_SESSION_NOT_FOUND", f"No checkout session '{session_id[:64]}'.")
        assert session.plan is not None
        if session.status != "complete":
            acct = self.settle(session.account_id)
            with self.store.transaction():
                result = self.subscribe(acct, session.plan, "CARD", pm_id)
                self.store.complete_session(session.id, result["invoiceId"])
            session = self.store.session("checkout", session_id) or session
        inv = self.store.invoice(session.account_id, session.invoice_id or "")
        assert inv is not None
        return {"id": session.id, "status": "complete", "plan": session.plan, "invoiceId": inv.id,
                "amount": money(inv.amount_cents)}

    def start_portal(self, acct: Account) -> Session:
        """A customer portal session (``POST /billing/portal``)."""
        return self.store.insert_session("portal", acct.id, plan=None, now=self.now())

    # -- renewals and sandbox controls --------------------------------------------------------------

    def settle(self, account_id: int) -> Account:
        """Run every renewal or cancellation of the account that fell due, and return it fresh."""
        acct = self.store.account(account_id)
        while paid(acct) and acct.period_end is not None and acct.period_end <= self.now():
            with self.store.transaction():
                acct = self._period_ended(acct, acct.period_end)
        return acct

    def _period_ended(self, acct: Account, at: float) -> Account:
        ended = {"plan": "FREE", "status": "CANCELED", "method": None, "period_start": None, "period_end": None,
                 "cancel_at_period_end": 0, "past_due_since": None, "subscription_id": None}
        if acct.cancel_at_period_end:
            return self.store.update_account(acct.id, **ended)
        if acct.status == "PAST_DUE":  # a whole period unpaid: the subscription ends, its invoice is void
            inv = self.store.open_invoice(acct.id)
            if inv is not None:
                self.store.set_invoice_status(inv.id, "void", inv.method)
            return self.store.update_account(acct.id, **ended)
        assert acct.method is not None
        end = at + PERIOD_SECONDS
        cents = to_cents(PLANS[acct.plan].price or Decimal(0))
        inv = self.store.insert_invoice(acct.id, cents=cents, status="open", method=acct.method,
                                        description=f"Wallgent {acct.plan} renewal",
                                        lines=[(f"{acct.plan} plan, {_day(at)} to {_day(end)}", cents)], now=at,
                                        period=(at, end))
        failed = bool(acct.fail_next_renewal)
        if not failed:
            try:
                self._pay(acct, cents, acct.method, self._card_of(acct) if acct.method == "CARD" else None, inv)
            except WallgentError:
                failed = True
        return self.store.update_account(acct.id, period_start=at, period_end=end, fail_next_renewal=0,
                                         status="PAST_DUE" if failed else "ACTIVE", past_due_since=at if failed else None)

    def advance(self, acct: Account, seconds: float | None) -> dict[str, Any]:
        """Move the sandbox clock (by ``seconds``, or to the account's period end) and settle every account."""
        if seconds is None:
            self._require_paid(acct)
            assert acct.period_end is not None
            seconds = max(0.0, acct.period_end - self.now())
        offset = float(self.store.meta("clock_offset", "0")) + seconds
        self.store.set_meta("clock_offset", repr(offset))
        for other in self.store.accounts():
            self.settle(other.id)
        return {"now": iso(self.now()), "billing": self.view(self.store.account(acct.id))}

    def fail_next_renewal(self, acct: Account) -> dict[str, Any]:
        """Make the account's next renewal fail (PAST_DUE with an open invoice)."""
        self._require_paid(acct)
        self.store.update_account(acct.id, fail_next_renewal=1)
        return {"failNextRenewal": True, "renewsAt": iso_or_none(acct.period_end)}

    def set_wallet(self, acct: Account, balance: Decimal) -> dict[str, Any]:
        """Set the wallet balance (one credit or debit entry for the difference)."""
        diff = to_cents(balance) - acct.wallet_cents
        if diff:
            kind = "credit" if diff > 0 else "debit"
            self.store.wallet_entry(acct.id, kind, abs(diff), "sandbox balance set", None, now=self.now())
        return {"walletBalance": money(to_cents(balance))}

    def set_policy(self, acct: Account, changes: dict[str, Any]) -> dict[str, Any]:
        """Set ``requireHumanApproval`` and/or ``maxTransactionAmount`` (``None`` removes the cap)."""
        fields: dict[str, Any] = {}
        if "requireHumanApproval" in changes:
            fields["require_approval"] = int(bool(changes["requireHumanApproval"]))
        if "maxTransactionAmount" in changes:
            cap = changes["maxTransactionAmount"]
            fields["max_transaction_cents"] = None if cap is None else to_cents(cap)
        if fields:
            acct = self.store.update_account(acct.id, **fields)
        return policy_view(acct)


Snapshot = tuple[dict[str, Any], frozenset[str]]


def _subscription_view(acct: Account) -> dict[str, Any]:
    return {"plan": acct.plan, "billingStatus": acct.status, "billingPaymentMethod": acct.method,
            "billingPeriodStart": iso_or_none(acct.period_start), "billingPeriodEnd": iso_or_none(acct.period_end),
            "cancelAtPeriodEnd": bool(acct.cancel_at_period_end)}


def snapshot(billing: Billing, account_id: int) -> Snapshot | None:
    """The account's subscription and paid invoices, to compare after a request (None: no receiver registered).

    Example:
        >>> snapshot(Billing(clock=lambda: 0.0), 1) is None
        True
    """
    if billing.webhooks.endpoint is None:
        return None
    rows, _ = billing.store.invoices(account_id, offset=0, limit=1_000_000)
    return _subscription_view(billing.store.account(account_id)), frozenset(i.id for i in rows if i.status == "paid")


def announce(billing: Billing, account_id: int, before: Snapshot | None) -> None:
    """Send ``subscription.updated`` and ``invoice.paid`` for what changed since ``before`` (committed state only).

    Example:
        >>> announce(Billing(clock=lambda: 0.0), 1, None)  # nothing registered: nothing sent
    """
    after = snapshot(billing, account_id)
    if before is None or after is None:
        return
    acct = billing.store.account(account_id)
    org = "org_" + acct.key_digest[:16]

    def send(event: str, data: dict[str, Any]) -> None:
        billing.webhooks.emit({"event": event, "timestamp": iso(billing.now()), "organizationId": org, "data": data})

    if after[0] != before[0]:
        send("subscription.updated", after[0])
    for invoice_id in sorted(after[1] - before[1]):
        inv = billing.store.invoice(account_id, invoice_id)
        if inv is not None:
            send("invoice.paid", billing.invoice_view(inv))


def policy_view(acct: Account) -> dict[str, Any]:
    """The account's sandbox policy as ``POST /sandbox/policy`` answers.

    Example:
        >>> policy_view(Billing(clock=lambda: 0.0).account("wg_test_x"))
        {'requireHumanApproval': False, 'maxTransactionAmount': None}
    """
    cap = acct.max_transaction_cents
    return {"requireHumanApproval": bool(acct.require_approval), "maxTransactionAmount": None if cap is None else money(cap)}

