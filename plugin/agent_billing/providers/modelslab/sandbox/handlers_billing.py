"""Handlers of the billing group: overview, Stripe config, billing info, payment methods, invoices.

Example:
    >>> from agent_billing.providers.modelslab.sandbox.dispatch import HANDLERS
    >>> "get_billing_overview" in HANDLERS and "get_invoice_pdf" in HANDLERS
    True
"""

from __future__ import annotations

from typing import Any

from agent_billing.providers.modelslab import arguments as a
from agent_billing.providers.modelslab.sandbox import subscriptions as subs
from agent_billing.providers.modelslab.sandbox.dispatch import Ctx, handles
from agent_billing.providers.modelslab.sandbox.envelope import Reply, not_found
from agent_billing.providers.modelslab.sandbox.ledger import Invoice
from agent_billing.providers.modelslab.sandbox.payments import resolve_card, saved_summary
from agent_billing.sandbox.cards import MAGIC_METHODS
from agent_billing.sandbox.units import iso, iso_or_none, usd

STRIPE_INSTRUCTIONS = (
    "Use this key to call the Stripe API directly to create PaymentMethods. Card data is sent to Stripe "
    "only — never to ModelsLab. In the sandbox the Stripe API is served at stripe_api_base "
    "(POST {base}/v1/payment_methods, POST {base}/v1/setup_intents/{{id}}/confirm)."
)


def auto_funding_state(ctx: Ctx) -> dict[str, Any]:
    """The auto-funding settings as the API shows them.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> sb = create_app().state.sandbox
        >>> ctx = Ctx(sb, sb.account_for_token("sk_sandbox_demo"), "http://127.0.0.1:8787")
        >>> auto_funding_state(ctx)
        {'enabled': False, 'auto_charge_amount': None, 'charge_threshold': None, 'payment_method_id': None}
    """
    acct = ctx.refresh()
    enabled = bool(acct.auto_funding_enabled)
    return {
        "enabled": enabled,
        "auto_charge_amount": usd(acct.auto_charge_cents) if enabled and acct.auto_charge_cents else None,
        "charge_threshold": usd(acct.charge_threshold_cents) if enabled and acct.charge_threshold_cents else None,
        "payment_method_id": acct.default_payment_method if enabled else None,
    }


def invoice_urls(ctx: Ctx, inv: Invoice) -> dict[str, Any]:
    """Where the sandbox serves an invoice's PDF and (once paid) its receipt.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> sb = create_app().state.sandbox
        >>> ctx = Ctx(sb, sb.account_for_token("sk_sandbox_demo"), "http://127.0.0.1:8787")
        >>> inv = Invoice("in_1abc", "SBX-000001", ctx.account.id, 4700, "usd", "open", "Standard renewal", None, None, None,
        ...               None, None, 0.0, None)
        >>> invoice_urls(ctx, inv)
        {'pdf_url': 'http://127.0.0.1:8787/sandbox/invoices/in_1abc.pdf', 'receipt_url': None}
    """
    return {
        "pdf_url": f"{ctx.root_url}/sandbox/invoices/{inv.id}.pdf",
        "receipt_url": f"{ctx.root_url}/sandbox/receipts/{inv.id}" if inv.status == "paid" else None,
    }


def invoice_summary(inv: Invoice) -> dict[str, Any]:
    """An invoice as listed.

    Example:
        >>> inv = Invoice("in_1abc", "SBX-000001", 1, 2500, "usd", "paid", "Wallet top-up", "pi_1", None, None, None, None,
        ...               1_800_000_000.0, 1_800_000_000.0)
        >>> summary = invoice_summary(inv)
        >>> summary["number"], summary["amount"], summary["currency"], summary["paid_at"]
        ('SBX-000001', Decimal('25.00'), 'USD', '2027-01-15T08:00:00Z')
    """
    return {
        "id": inv.id, "number": inv.number, "amount": usd(inv.amount_cents), "currency": inv.currency.upper(),
        "status": inv.status, "description": inv.description, "created_at": iso(inv.created_at),
        "paid_at": iso_or_none(inv.paid_at), "subscription_id": inv.subscription_id,
    }


def cards(ctx: Ctx) -> list[dict[str, Any]]:
    """The saved cards as the API shows them.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> sb = create_app().state.sandbox
        >>> ctx = Ctx(sb, sb.account_for_token("sk_sandbox_demo"), "http://127.0.0.1:8787")
        >>> _ = add_payment_method(ctx, a.AddPaymentMethodArgs(payment_method_id="pm_card_visa"))
        >>> [(c["brand"], c["last4"], c["is_default"]) for c in cards(ctx)]
        [('visa', '4242', True)]
    """
    default = ctx.refresh().default_payment_method
    return [saved_summary(c, default) for c in ctx.ledger.saved_cards(ctx.account.id)]


@handles("get_billing_overview")
def get_billing_overview(ctx: Ctx, args: a.NoArgs) -> Reply:
    """Wallet balance, cards, subscriptions, invoice count and auto-funding in one call.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     _ = client.fund_wallet(25, "pm_card_visa")
        ...     client.get_billing_overview().wallet_balance
        Decimal('25.00')
    """
    acct = ctx.refresh()
    return Reply({
        "wallet_balance": usd(acct.balance_cents),
        "currency": "USD",
        "payment_methods": cards(ctx),
        "default_payment_method": acct.default_payment_method,
        "subscriptions": [subs.summary(ctx.ledger, s) for s in ctx.ledger.subscriptions(acct.id)],
        "invoice_count": len(ctx.ledger.invoices(acct.id)),
        "auto_funding": auto_funding_state(ctx),
    })


@handles("get_stripe_config")
def get_stripe_config(ctx: Ctx, args: a.NoArgs) -> Reply:
    """The publishable key (the pipeline also copies it to the top level of the body).

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     config = client.get_stripe_config()
        >>> config.publishable_key.startswith("pk_test_sandbox_"), config.stripe_api_base
        (True, 'http://sandbox.local')
    """
    return Reply({
        "publishable_key": ctx.sandbox.publishable_key,
        "instructions": STRIPE_INSTRUCTIONS.format(base=ctx.root_url),
        "stripe_api_base": ctx.root_url,
    })


@handles("get_billing_info")
def get_billing_info(ctx: Ctx, args: a.NoArgs) -> Reply:
    """The billing profile.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     _ = client.update_billing_info(email="ada@example.com")
        ...     client.get_billing_info().email
        'ada@example.com'
    """
    return Reply(ctx.ledger.billing_info(ctx.account.id))


@handles("update_billing_info")
def update_billing_info(ctx: Ctx, args: a.BillingInfoArgs) -> Reply:
    """Merge the given fields into the billing profile.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     info = client.update_billing_info(name="Ada Lovelace", address_country="GB")
        >>> info.name, info.updated_fields
        ('Ada Lovelace', ['address_country', 'name'])
    """
    changes = args.model_dump(exclude_unset=True, exclude_none=True)
    ctx.ledger.update_billing_info(ctx.account.id, changes)
    return Reply({**ctx.ledger.billing_info(ctx.account.id), "updated_fields": sorted(changes)})


@handles("list_payment_methods")
def list_payment_methods(ctx: Ctx, args: a.NoArgs) -> Reply:
    """Saved cards.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     _ = client.add_payment_method("pm_card_visa")
        ...     [(pm.brand, pm.last4, pm.is_default) for pm in client.list_payment_methods().payment_methods]
        [('visa', '4242', True)]
    """
    items = cards(ctx)
    return Reply({"payment_methods": items, "default_payment_method": ctx.account.default_payment_method,
                  "count": len(items)})


@handles("add_payment_method")
def add_payment_method(ctx: Ctx, args: a.AddPaymentMethodArgs) -> Reply:
    """Save a card (idempotent: saving a saved card only updates the default).

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     client.add_payment_method("pm_card_mastercard").message
        'Mastercard ending 4444 saved and is the default card.'
    """
    ledger, acct = ctx.ledger, ctx.account
    card = resolve_card(ledger, acct.id, args.payment_method_id, now=ctx.now())
    already = ledger.saved_card(acct.id, card.id) is not None
    if card.from_stripe_api:
        ledger.claim_stripe_payment_method(card.id, acct.id)
    ledger.save_card(acct.id, card.id, brand=card.brand, last4=card.last4, exp_month=card.exp_month,
                     exp_year=card.exp_year, behaviour=card.behaviour.name)
    first = len(ledger.saved_cards(acct.id)) == 1
    if args.make_default or first:  # the only card is always the default
        ledger.set_default_payment_method(acct.id, card.id)
    acct = ctx.refresh()
    is_default = acct.default_payment_method == card.id
    message = f"{card.brand.title()} ending {card.last4} {'was already saved' if already else 'saved'}"
    message += " and is the default card." if is_default else "."
    return Reply({"message": message, "payment_method": card.summary(is_default=is_default)})


def _saved_or_404(ctx: Ctx, pm_id: str) -> Any:
    card = ctx.ledger.saved_card(ctx.account.id, pm_id)
    if card is None:
        raise not_found(f"No saved payment method '{pm_id}' on this account; list them with "
                        "GET /billing/payment-methods.")
    return card


@handles("set_default_payment_method")
def set_default_payment_method(ctx: Ctx, args: a.PaymentMethodArgs) -> Reply:
    """Make a saved card the default.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     for pm in ("pm_card_visa", "pm_card_mastercard"): _ = client.add_payment_method(pm)
        ...     client.set_default_payment_method("pm_card_visa").message
        'Visa ending 4242 is now the default card.'
    """
    card = _saved_or_404(ctx, args.payment_method_id)
    ctx.ledger.set_default_payment_method(ctx.account.id, card.id)
    return Reply({"message": f"{card.brand.title()} ending {card.last4} is now the default card.",
                  "payment_method": saved_summary(card, card.id)})


@handles("remove_payment_method")
def remove_payment_method(ctx: Ctx, args: a.PaymentMethodArgs) -> Reply:
    """Remove a saved card (a card tokenized through Stripe is detached for good).

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     _ = client.add_payment_method("pm_card_visa")
        ...     client.remove_payment_method("pm_card_visa").message
        'Visa ending 4242 removed. The account has no default card now.'
    """
    card = _saved_or_404(ctx, args.payment_method_id)
    was_default = ctx.refresh().default_payment_method == card.id
    ctx.ledger.delete_saved_card(ctx.account.id, card.id)
    if card.id not in MAGIC_METHODS:
        ctx.ledger.detach_stripe_payment_method(card.id)
    message = f"{card.brand.title()} ending {card.last4} removed."
    if was_default:
        message += " The account has no default card now."
    return Reply({"message": message, "payment_method": saved_summary(card, None), "removed": True,
                  "default_payment_method": ctx.refresh().default_payment_method})


@handles("create_setup_intent")
def create_setup_intent(ctx: Ctx, args: a.NoArgs) -> Reply:
    """A SetupIntent for trusted code or a human to confirm with Stripe.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     seti = client.create_setup_intent()
        >>> seti.setup_intent_id.startswith("seti_"), seti.status
        (True, 'requires_payment_method')
    """
    seti = ctx.ledger.insert_setup_intent(ctx.account.id)
    return Reply({
        "setup_intent_id": seti.id, "client_secret": seti.client_secret, "status": seti.status,
        "publishable_key": ctx.sandbox.publishable_key,
        "instructions": "Confirm this SetupIntent with Stripe (POST /v1/setup_intents/{id}/confirm with the "
        "publishable key), then attach the resulting payment_method with POST /billing/payment-methods.",
    })


@handles("list_invoices")
def list_invoices(ctx: Ctx, args: a.NoArgs) -> Reply:
    """Invoices, newest first.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     _ = client.fund_wallet(25, "pm_card_visa")
        ...     [(i.amount, i.status) for i in client.list_invoices().invoices]
        [(Decimal('25.00'), 'paid')]
    """
    items = [invoice_summary(i) for i in ctx.ledger.invoices(ctx.account.id)]
    return Reply({"invoices": items, "count": len(items)})


def _invoice_or_404(ctx: Ctx, invoice_id: str) -> Invoice:
    inv = ctx.ledger.invoice(invoice_id, ctx.account.id)
    if inv is None:
        raise not_found(f"No invoice '{invoice_id}' on this account; list them with GET /billing/invoices.")
    return inv


@handles("get_invoice")
def get_invoice(ctx: Ctx, args: a.InvoiceArgs) -> Reply:
    """One invoice in detail.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     invoice_id = client.fund_wallet(25, "pm_card_visa").invoice_id
        ...     client.get_invoice(invoice_id).status
        'paid'
    """
    inv = _invoice_or_404(ctx, args.invoice_id)
    detail = {
        **invoice_summary(inv), "payment_intent_id": inv.payment_intent_id, "plan_id": inv.plan_id,
        "period_start": iso_or_none(inv.period_start), "period_end": iso_or_none(inv.period_end),
        "lines": [{"description": inv.description, "quantity": 1, "amount": usd(inv.amount_cents)}],
        **invoice_urls(ctx, inv),
    }
    return Reply(detail)


@handles("get_invoice_pdf")
def get_invoice_pdf(ctx: Ctx, args: a.InvoiceArgs) -> Reply:
    """Links to the invoice PDF and receipt the sandbox serves.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     invoice_id = client.fund_wallet(25, "pm_card_visa").invoice_id
        ...     client.get_invoice_pdf(invoice_id).pdf_url == f"http://sandbox.local/sandbox/invoices/{invoice_id}.pdf"
        True
    """
    inv = _invoice_or_404(ctx, args.invoice_id)
    return Reply({"invoice_id": inv.id, "number": inv.number, **invoice_urls(ctx, inv)})
