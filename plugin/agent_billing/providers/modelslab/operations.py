"""The 34 operations of the ModelsLab Agent Control Plane billing API, each declared once.

Names follow the helpers of ModelsLab's published billing skill (``get_wallet_balance``,
``fund_wallet``, ``create_payment_link``...), so its readers find them at once. Groups are the tool
groups an agent sees; ``action`` is the name of the operation inside its group's tool.

Example:
    >>> from agent_billing.providers.modelslab.operations import REGISTRY
    >>> REGISTRY.by_action("wallet", "fund").name
    'fund_wallet'
"""

from __future__ import annotations

from pydantic import BaseModel

from agent_billing.conventions import Connection
from agent_billing.providers.modelslab import arguments as a
from agent_billing.providers.modelslab import intents as i
from agent_billing.providers.modelslab import results as r
from agent_billing.registry import Effect, Limiter, Operation, Registry

R, W, C, AUTH, PAY, D = Effect.READ, Effect.WRITE, Effect.CHARGE, Effect.AUTHORIZE, Effect.PAYOUT, Effect.DESTRUCTIVE
BILLING = Limiter.BILLING

REGISTRY = Registry(
    provider="modelslab", base_path="/api/agents/v1", advisor=True,
    typed_methods=("agent_billing.client_methods", "SyncOperations", "AsyncOperations"),
    connection=Connection(default_base_url="https://modelslab.com/api/agents/v1", sandbox_path="/api/agents/v1",
                          sandbox_token="sk_sandbox_demo",
                          token_variables=("AGENT_BILLING_TOKEN", "MODELSLAB_AGENT_TOKEN"),
                          base_url_variables=("AGENT_BILLING_BASE_URL",)),
)


def _coupon_effect(args: BaseModel) -> Effect:
    # A bonus coupon comes with a purchase: that part is a card charge.
    return C if getattr(args, "purchase_amount", None) is not None else W


def op(name: str, group: str, action: str, method: str, path: str, args: type[BaseModel],
       result: type[BaseModel], effect: Effect, description: str, **extra: object) -> None:
    """Declare one operation (a thin wrapper so each declaration reads as one line of data).

    Example:
        >>> overview = REGISTRY.get("get_billing_overview")  # declared with op("get_billing_overview", "billing", ...)
        >>> overview.group, overview.action, overview.effect.value
        ('billing', 'overview', 'read')
    """
    REGISTRY.add(Operation(name=name, group=group, action=action, method=method, path=path, args=args,
                           result=result, effect=effect, description=description, **extra))  # type: ignore[arg-type]


# --- billing profile and overview
op("get_billing_overview", "billing", "overview", "GET", "/billing/overview", a.NoArgs, r.BillingOverview, R,
   "Wallet balance, saved cards, subscriptions and invoice count in one call.")
op("get_stripe_config", "billing", "stripe_config", "GET", "/billing/stripe-config", a.NoArgs, r.StripeConfig, R,
   "Stripe publishable key for tokenization by trusted code (never tokenize cards yourself).")
op("get_billing_info", "billing", "get_info", "GET", "/billing/info", a.NoArgs, r.BillingInfo, R,
   "Billing name, email, address and tax id.")
op("update_billing_info", "billing", "update_info", "PUT", "/billing/info", a.BillingInfoArgs, r.BillingInfo, W,
   "Change billing profile fields; fields left out are kept.")

# --- payment methods and card saving
op("list_payment_methods", "payment_methods", "list", "GET", "/billing/payment-methods", a.NoArgs,
   r.PaymentMethodList, R, "Saved cards (brand, last4, expiry, default).")
op("add_payment_method", "payment_methods", "add", "POST", "/billing/payment-methods", a.AddPaymentMethodArgs,
   r.PaymentMethodResult, W, "Attach a pm_ id created by trusted code or a confirmed setup intent.", limiter=BILLING,
   changes_funding=True)
op("set_default_payment_method", "payment_methods", "set_default", "PUT",
   "/billing/payment-methods/{payment_method_id}/default", a.PaymentMethodArgs, r.PaymentMethodResult, W,
   "Make a saved card the default for charges.", limiter=BILLING, changes_funding=True)
op("remove_payment_method", "payment_methods", "remove", "DELETE", "/billing/payment-methods/{payment_method_id}",
   a.PaymentMethodArgs, r.PaymentMethodResult, D, "Detach a saved card.", limiter=BILLING, changes_funding=True,
   intent=i.remove_payment_method)
op("create_setup_intent", "payment_methods", "setup_intent", "POST", "/billing/setup-intent", a.NoArgs,
   r.SetupIntent, W, "Start saving a card without charging; trusted code or a human confirms it with Stripe.",
   limiter=BILLING)

# --- invoices
op("list_invoices", "invoices", "list", "GET", "/billing/invoices", a.NoArgs, r.InvoiceList, R, "All invoices.")
op("get_invoice", "invoices", "get", "GET", "/billing/invoices/{invoice_id}", a.InvoiceArgs, r.Invoice, R,
   "One invoice in detail.")
op("get_invoice_pdf", "invoices", "pdf", "GET", "/billing/invoices/{invoice_id}/pdf", a.InvoiceArgs, r.InvoicePdf, R,
   "Download links for an invoice PDF and receipt.")

# --- wallet
op("get_wallet_balance", "wallet", "balance", "GET", "/wallet/balance", a.NoArgs, r.WalletBalance, R,
   "Current wallet balance.")
op("get_wallet_transactions", "wallet", "transactions", "GET", "/wallet/transactions", a.TransactionsArgs,
   r.WalletTransactions, R, "Wallet ledger, newest first.")
op("fund_wallet", "wallet", "fund", "POST", "/wallet/fund", a.FundWalletArgs, r.Charge, C,
   "Charge a saved card and credit the wallet.", limiter=BILLING, amount_field="amount", intent=i.fund_wallet)
op("enable_auto_funding", "wallet", "enable_auto_funding", "PUT", "/wallet/auto-funding", a.AutoFundingArgs,
   r.AutoFunding, AUTH, "Recharge automatically when the balance runs low (future charges).", limiter=BILLING,
   amount_field="auto_charge_amount", intent=i.enable_auto_funding)
op("disable_auto_funding", "wallet", "disable_auto_funding", "DELETE", "/wallet/auto-funding", a.NoArgs,
   r.AutoFunding, D, "Stop automatic recharges.", limiter=BILLING, intent=i.disable_auto_funding)
op("withdraw", "wallet", "withdraw", "POST", "/wallet/withdraw", a.WithdrawArgs, r.Withdrawal, PAY,
   "Pay out wallet balance (reseller accounts only).", limiter=BILLING, amount_field="amount",
   intent=i.withdraw)
op("get_payment_status", "wallet", "payment_status", "GET", "/payments/{payment_intent_id}/status",
   a.PaymentStatusArgs, r.PaymentStatus, R, "Status of a card payment (succeeded, pending, failed).")

# --- coupons
op("validate_coupon", "coupons", "validate", "GET", "/wallet/coupons/validate", a.ValidateCouponArgs,
   r.CouponValidation, R, "What a coupon would give, without redeeming it.")
op("redeem_coupon", "coupons", "redeem", "POST", "/wallet/coupons/redeem", a.RedeemCouponArgs, r.CouponRedemption,
   W, "Redeem a coupon; a bonus coupon charges purchase_amount to the card.", limiter=BILLING,
   effect_for=_coupon_effect, amount_field="purchase_amount", intent=i.redeem_coupon)

# --- plans and subscriptions
op("list_plans", "subscriptions", "plans", "GET", "/subscriptions/plans", a.NoArgs, r.PlanCatalogue, R,
   "Plans with prices, and the pay-as-you-go option.",
   plan_catalogue=lambda result: (plan.id for plan in result.subscription_plans))
op("list_subscriptions", "subscriptions", "list", "GET", "/subscriptions", a.NoArgs, r.SubscriptionList, R,
   "The account's subscriptions.")
op("create_subscription", "subscriptions", "create", "POST", "/subscriptions", a.CreateSubscriptionArgs,
   r.SubscriptionResult, C, "Subscribe; with payment_method_id it charges now, without it returns a checkout URL.",
   limiter=BILLING, plan_field="plan_id", intent=i.create_subscription)
op("get_subscription_status", "subscriptions", "status", "GET", "/subscriptions/{subscription_id}/status",
   a.SubscriptionArgs, r.SubscriptionStatus, R, "Status and current period of a subscription.")
op("update_subscription", "subscriptions", "update", "PUT", "/subscriptions/{subscription_id}",
   a.UpdateSubscriptionArgs, r.SubscriptionResult, C, "Change plan (an upgrade charges the difference).",
   limiter=BILLING, plan_field="new_plan_id", intent=i.update_subscription)
op("pause_subscription", "subscriptions", "pause", "POST", "/subscriptions/{subscription_id}/pause",
   a.SubscriptionArgs, r.SubscriptionResult, D, "Pause billing and service.", limiter=BILLING,
   intent=i.pause_subscription)
op("resume_subscription", "subscriptions", "resume", "POST", "/subscriptions/{subscription_id}/resume",
   a.SubscriptionArgs, r.SubscriptionResult, C, "Resume a paused subscription (billing restarts).", limiter=BILLING,
   intent=i.resume_subscription)
op("reset_subscription_cycle", "subscriptions", "reset_cycle", "POST",
   "/subscriptions/{subscription_id}/reset-cycle", a.SubscriptionArgs, r.SubscriptionResult, C,
   "Start a new billing period now (charges the plan price).", limiter=BILLING,
   intent=i.reset_subscription_cycle)
op("fix_payment", "subscriptions", "fix_payment", "POST", "/subscriptions/{subscription_id}/fix-payment",
   a.SubscriptionArgs, r.SubscriptionResult, C, "Retry the failed payment of a past-due subscription.",
   limiter=BILLING, intent=i.fix_payment)
op("charge_subscription_amount", "subscriptions", "charge_amount", "POST", "/subscriptions/charge-amount",
   a.ChargeAmountArgs, r.Charge, C, "One-off charge to the default card.", limiter=BILLING, amount_field="amount",
   intent=i.charge_subscription_amount)

# --- payment links and checkout confirmation (the human handoff)
op("create_payment_link", "payment_links", "create", "POST", "/billing/payment-link", a.PaymentLinkArgs,
   r.PaymentLink, W, "Hosted checkout URL for a human to pay (fund or subscribe); relay it verbatim.",
   limiter=BILLING, amount_field="amount", plan_field="plan_id")
op("confirm_wallet_checkout", "payment_links", "confirm_fund", "POST", "/wallet/confirm-checkout", a.CheckoutArgs,
   r.CheckoutConfirmation, W, "Credit the wallet once the human has paid a fund link.", limiter=BILLING)
op("confirm_subscription_checkout", "payment_links", "confirm_subscribe", "POST", "/subscriptions/confirm-checkout",
   a.CheckoutArgs, r.CheckoutConfirmation, W, "Activate the subscription once the human has paid a subscribe link.",
   limiter=BILLING)

REGISTRY.describe_group("billing", "Billing profile and account overview.")
REGISTRY.describe_group("payment_methods", "Saved cards. Never accepts card numbers: only pm_ ids from trusted code.")
REGISTRY.describe_group("invoices", "Invoices and their PDF/receipt links.")
REGISTRY.describe_group("wallet", "Prepaid wallet: balance, ledger, top-ups, auto-funding, payouts.")
REGISTRY.describe_group("coupons", "Promotional coupons.")
REGISTRY.describe_group("subscriptions", "Plans and subscriptions.")
REGISTRY.describe_group("payment_links", "Human handoff: hosted payment links a person pays, and their confirmation.")
