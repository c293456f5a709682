"""Handlers of the wallet group, and the usage debit that makes auto-funding real.

Example:
    >>> from agent_billing.providers.modelslab.sandbox.dispatch import HANDLERS
    >>> "fund_wallet" in HANDLERS and "withdraw" in HANDLERS
    True
"""

from __future__ import annotations

from typing import Any

from agent_billing.providers.modelslab import arguments as a
from agent_billing.providers.modelslab.sandbox.dispatch import Ctx, handles
from agent_billing.providers.modelslab.sandbox.envelope import ApiError, Reply, invalid, not_found
from agent_billing.providers.modelslab.sandbox.handlers_billing import auto_funding_state
from agent_billing.providers.modelslab.sandbox.ledger import InsufficientBalance, WalletEntry
from agent_billing.providers.modelslab.sandbox.payments import card_or_default, charge, default_card, unless_succeeded
from agent_billing.sandbox.units import iso, new_id, to_cents, usd

PAYMENT_STATUS = {"succeeded": "succeeded", "requires_action": "pending", "failed": "failed", "canceled": "failed"}


def entry_view(entry: WalletEntry) -> dict[str, Any]:
    """A ledger entry as ``GET /wallet/transactions`` lists it.

    Example:
        >>> entry = WalletEntry(1, 1, "credit", 2500, "stripe", "pi_1", "success", "wallet_funding", None, 1_800_000_000.0)
        >>> view = entry_view(entry)
        >>> view["type"], view["amount"], view["created_at"]
        ('credit', Decimal('25.00'), '2027-01-15T08:00:00Z')
    """
    return {"id": entry.id, "source": entry.source, "transaction_id": entry.transaction_id, "type": entry.type,
            "amount": usd(entry.amount_cents), "status": entry.status, "usecase": entry.usecase,
            "description": entry.description, "created_at": iso(entry.created_at)}


def wallet_summary(ctx: Ctx) -> dict[str, Any]:
    """Balance and totals.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> sb = create_app().state.sandbox
        >>> ctx = Ctx(sb, sb.account_for_token("sk_sandbox_demo"), "http://127.0.0.1:8787")
        >>> wallet_summary(ctx)
        {'balance': Decimal('0.00'), 'currency': 'USD', 'total_credited': Decimal('0.00'), 'amount_used': Decimal('0.00')}
    """
    credited, used = ctx.ledger.wallet_totals(ctx.account.id)
    return {"balance": usd(ctx.ledger.balance(ctx.account.id)), "currency": "USD",
            "total_credited": usd(credited), "amount_used": usd(used)}


@handles("get_wallet_balance")
def get_wallet_balance(ctx: Ctx, args: a.NoArgs) -> Reply:
    """The balance.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     client.get_wallet_balance().balance
        Decimal('0.00')
    """
    return Reply({"balance": usd(ctx.ledger.balance(ctx.account.id)), "currency": "USD"})


@handles("get_wallet_transactions")
def get_wallet_transactions(ctx: Ctx, args: a.TransactionsArgs) -> Reply:
    """A page of the ledger, newest first.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     _ = client.fund_wallet(25, "pm_card_visa")
        ...     [(t.type, t.amount, t.usecase) for t in client.get_wallet_transactions().items]
        [('credit', Decimal('25.00'), 'wallet_funding')]
    """
    items, total = ctx.ledger.entries(ctx.account.id, args.type, args.limit, args.offset)
    return Reply({"items": [entry_view(e) for e in items], "count": len(items), "total": total,
                  "limit": args.limit, "offset": args.offset, "wallet": wallet_summary(ctx)})


@handles("fund_wallet")
def fund_wallet(ctx: Ctx, args: a.FundWalletArgs) -> Reply:
    """Charge a card (given or default) and credit the wallet with the same amount.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     client.fund_wallet(25, "pm_card_visa").message
        'Wallet funded with $25.00 from Visa ending 4242.'
    """
    cents = to_cents(args.amount)
    card = card_or_default(ctx.ledger, ctx.account, args.payment_method_id, now=ctx.now(), what="fund the wallet")
    with ctx.ledger.transaction():
        result = charge(ctx.ledger, ctx.account.id, cents, card, purpose="wallet_funding",
                        description=f"Wallet top-up of ${usd(cents)}")
        other = unless_succeeded(result)
        if other is not None:
            return other
        entry = ctx.ledger.credit(ctx.account.id, cents, source="stripe", transaction_id=result.intent.id,
                                  usecase="wallet_funding", description=f"{card.brand.title()} ending {card.last4}")
    return Reply({
        "message": f"Wallet funded with ${usd(cents)} from {card.brand.title()} ending {card.last4}.",
        "amount": usd(cents), "balance": usd(ctx.ledger.balance(ctx.account.id)), "currency": "USD",
        "payment": result.payment(), "invoice_id": result.invoice.id if result.invoice else None,
        "transaction_id": entry.id,
    })


@handles("enable_auto_funding")
def enable_auto_funding(ctx: Ctx, args: a.AutoFundingArgs) -> Reply:
    """Recharge ``auto_charge_amount`` from the default card when the balance drops below the threshold.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     _ = client.add_payment_method("pm_card_visa")
        ...     client.enable_auto_funding(auto_charge_amount=20, charge_threshold=5).message
        'Auto-funding on: $20.00 from the default card whenever the balance falls below $5.00.'
    """
    if default_card(ctx.ledger, ctx.refresh(), now=ctx.now()) is None:
        raise invalid("Auto-funding charges the default card, and the account has none. Save one first with "
                      "POST /billing/payment-methods (make_default true).", "payment_method_id")
    ctx.ledger.set_auto_funding(ctx.account.id, to_cents(args.auto_charge_amount), to_cents(args.charge_threshold))
    state = auto_funding_state(ctx)
    return Reply({**state, "message": f"Auto-funding on: ${state['auto_charge_amount']} from the default card "
                  f"whenever the balance falls below ${state['charge_threshold']}."})


@handles("disable_auto_funding")
def disable_auto_funding(ctx: Ctx, args: a.NoArgs) -> Reply:
    """Turn auto-funding off (idempotent).

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     client.disable_auto_funding().enabled
        False
    """
    ctx.ledger.set_auto_funding(ctx.account.id, None, None)
    return Reply({**auto_funding_state(ctx), "message": "Auto-funding is off."})


@handles("withdraw")
def withdraw(ctx: Ctx, args: a.WithdrawArgs) -> Reply:
    """Pay out part of a reseller's wallet.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app(reseller_tokens=("sk_sandbox_demo",)))[0] as client:
        ...     _ = client.fund_wallet(25, "pm_card_visa")
        ...     client.withdraw(10).balance
        Decimal('15.00')
    """
    if not ctx.account.reseller:
        raise ApiError(403, "forbidden", "Withdrawals are available to reseller accounts only.")
    cents = to_cents(args.amount)
    try:
        wd_id = ctx.ledger.insert_withdrawal(ctx.account.id, cents)
    except InsufficientBalance:
        raise ApiError(400, "insufficient_balance",
                       f"Cannot withdraw ${usd(cents)}: the wallet holds ${usd(ctx.ledger.balance(ctx.account.id))}.",
                       {"balance": usd(ctx.ledger.balance(ctx.account.id)), "requested": usd(cents)}) from None
    return Reply({"message": f"Withdrawal of ${usd(cents)} sent to the payout account.", "amount": usd(cents),
                  "balance": usd(ctx.ledger.balance(ctx.account.id)), "currency": "USD", "status": "succeeded",
                  "withdrawal_id": wd_id})


@handles("get_payment_status")
def get_payment_status(ctx: Ctx, args: a.PaymentStatusArgs) -> Reply:
    """Status of one of the account's payment intents.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> with inprocess.sandbox_clients(sandbox.create_app())[0] as client:
        ...     payment = client.fund_wallet(25, "pm_card_visa").payment
        ...     client.get_payment_status(payment.payment_intent_id).status
        'succeeded'
    """
    pi = ctx.ledger.payment_intent(args.payment_intent_id, ctx.account.id)
    if pi is None:
        raise not_found(f"No payment '{args.payment_intent_id}' on this account.")
    return Reply({"status": PAYMENT_STATUS[pi.status], "payment_intent_id": pi.id, "amount": usd(pi.amount_cents),
                  "currency": pi.currency, "description": pi.description, "decline_code": pi.decline_code,
                  "created_at": iso(pi.created_at)})


def record_usage(ctx: Ctx, cents: int, description: str) -> dict[str, Any]:
    """Debit API usage from the wallet, then run auto-funding if the balance fell below the threshold.

    Refuses (400 ``insufficient_balance``) a debit larger than the balance, as the platform refuses the
    API call. Returns what happened, including the auto-funding charge if there was one.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> sb = create_app().state.sandbox
        >>> ctx = Ctx(sb, sb.account_for_token("sk_sandbox_demo"), "http://127.0.0.1:8787")
        >>> _ = ctx.ledger.credit(ctx.account.id, 1000, source="coupon", transaction_id="cpnr_1", usecase="coupon_credit")
        >>> record_usage(ctx, 350, "image generation")["balance"]
        Decimal('6.50')
    """
    ledger = ctx.ledger
    usage_id = new_id("use_")
    with ledger.transaction():
        try:
            ledger.debit(ctx.account.id, cents, source="api", transaction_id=usage_id, usecase="api_usage",
                         description=description)
        except InsufficientBalance:
            balance = usd(ledger.balance(ctx.account.id))
            raise ApiError(400, "insufficient_balance", f"Usage of ${usd(cents)} exceeds the wallet balance of "
                           f"${balance}. Fund the wallet first.", {"balance": balance}) from None
        acct = ctx.refresh()
        auto: dict[str, Any] = {"triggered": False}
        if (acct.auto_funding_enabled and acct.auto_charge_cents and acct.charge_threshold_cents is not None
                and acct.balance_cents < acct.charge_threshold_cents):
            card = default_card(ledger, acct, now=ctx.now())
            auto = {"triggered": True, "amount": usd(acct.auto_charge_cents)}
            if card is None:
                auto.update(status="failed", reason="no default card")
            else:
                result = charge(ledger, acct.id, acct.auto_charge_cents, card, purpose="auto_funding",
                                description=f"Auto-funding {usd(acct.auto_charge_cents)} USD")
                auto.update(status=result.status, payment_intent_id=result.intent.id,
                            decline_code=result.behaviour.decline_code if result.status == "failed" else None)
                if result.succeeded:
                    ledger.credit(acct.id, acct.auto_charge_cents, source="stripe", transaction_id=result.intent.id,
                                  usecase="auto_funding", description=f"{card.brand.title()} ending {card.last4}")
                    auto["invoice_id"] = result.invoice.id if result.invoice else None
    return {"usage_id": usage_id, "debited": usd(cents), "balance": usd(ledger.balance(ctx.account.id)),
            "currency": "USD", "auto_funding": auto}
