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
from agent_billing.providers.modelslab.paths import PATHS
from agent_billing.registry import Effect, Limiter, Operation, Registry

R, W, C, AUTH, PAY, D = Effect.READ, Effect.WRITE, Effect.CHARGE, Effect.AUTHORIZE, Effect.PAYOUT, Effect.DESTRUCTIVE
BILLING = Limiter.BILLING

REGISTRY = Registry(
    provider="modelslab", base_path="/api/agents/v1", advisor=PATHS,
    presets={"chatbot": ("payment_links.handoff", "payment_links.wait"),
             "autonomous": ("wallet.fund", "wallet.ensure_funded")},
    typed_methods=("agent_billing.client_methods", "SyncOperations", "AsyncOperations"),
    connection=Connection(default_base_url="https://modelslab.com/api/agents/v1", sandbox_path="/api/agents/v1",
                          sandbox_token="sk_sandbox_demo",
                          sandbox_app="agent_billing.providers.modelslab.sandbox:modelslab_sandbox",
                          token_variables=("AGENT_BILLING_TOKEN", "MODELSLAB_AGENT_TOKEN"),
                          base_url_variables=("AGENT_BILLING_BASE_URL",),
                          key_patterns=(r"\d{1,12}\|[A-Za-z0-9]{40,}",)),  # Sanctum-style "<id>|<secret>" tokens
)


def _coupon_effect(args: BaseModel) -> Effect:
    # A bonus coupon comes with a purchase: that part is a card charge.
    return C if getattr(args, "purchase_amount", None) is not None else W


def _default_card_effect(args: BaseModel) -> Effect:
    # A card saved as the default carries every later automatic recharge and renewal: a standing authorisation.
    return AUTH if getattr(args, "make_default", False) else W


def _checkout_next_step(result: dict[str, object]) -> str | None:
    # Without a card id, subscribing returns a checkout URL that only a person can complete.
    if result.get("checkout_url"):
        return ("Send checkout_url to the person exactly as given; then confirm with payment_links "
                "action=confirm_subscribe and the session_id.")
    return None


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
   "Balance, cards, subscriptions, invoices.")
op("get_stripe_config", "billing", "stripe_config", "GET", "/billing/stripe-config", a.NoArgs, r.StripeConfig, R,
   "Publishable key, for trusted code only.",
   next_step="The key is for trusted application code that tokenizes cards; never tokenize a card yourself or ask "
             "the person for card numbers.")
op("get_billing_info", "billing", "get_info", "GET", "/billing/info", a.NoArgs, r.BillingInfo, R,
   "Name, email, address, tax id.")
op("update_billing_info", "billing", "update_info", "PUT", "/billing/info", a.BillingInfoArgs, r.BillingInfo, W,
   "Change the fields given; others kept.")

# --- payment methods and card saving
op("list_payment_methods", "payment_methods", "list", "GET", "/billing/payment-methods", a.NoArgs,
   r.PaymentMethodList, R, "Saved cards.")
op("add_payment_method", "payment_methods", "add", "POST", "/billing/payment-methods", a.AddPaymentMethodArgs,
   r.PaymentMethodResult, AUTH, "Attach a pm_ id.",
   limiter=BILLING, changes_funding=True, effect_for=_default_card_effect, intent=i.add_payment_method)
op("set_default_payment_method", "payment_methods", "set_default", "PUT",
   "/billing/payment-methods/{payment_method_id}/default", a.PaymentMethodArgs, r.PaymentMethodResult, AUTH,
   "Make a card the default.", limiter=BILLING, changes_funding=True,
   intent=i.set_default_payment_method)
op("remove_payment_method", "payment_methods", "remove", "DELETE", "/billing/payment-methods/{payment_method_id}",
   a.PaymentMethodArgs, r.PaymentMethodResult, D, "Detach a card.", limiter=BILLING, changes_funding=True,
   intent=i.remove_payment_method)
op("create_setup_intent", "payment_methods", "setup_intent", "POST", "/billing/setup-intent", a.NoArgs,
   r.SetupIntent, W, "Save a card without charging.",
   limiter=BILLING, next_step="Trusted application code or the person confirms this setup intent with Stripe; the "
   "confirmation normally saves the card (check with payment_methods action=list; add the pm_ id only if it is "
   "missing). Never ask for card numbers.")

# --- invoices
op("list_invoices", "invoices", "list", "GET", "/billing/invoices", a.NoArgs, r.InvoiceList, R, "All invoices.")
op("get_invoice", "invoices", "get", "GET", "/billing/invoices/{invoice_id}", a.InvoiceArgs, r.Invoice, R,
   "One invoice.")
op("get_invoice_pdf", "invoices", "pdf", "GET", "/billing/invoices/{invoice_id}/pdf", a.InvoiceArgs, r.InvoicePdf, R,
   "PDF and receipt links.")

# --- wallet
op("get_wallet_balance", "wallet", "balance", "GET", "/wallet/balance", a.NoArgs, r.WalletBalance, R,
   "Current balance.")
op("get_wallet_transactions", "wallet", "transactions", "GET", "/wallet/transactions", a.TransactionsArgs,
   r.WalletTransactions, R, "Newest first.")
op("fund_wallet", "wallet", "fund", "POST", "/wallet/fund", a.FundWalletArgs, r.Charge, C,
   "Charge a saved card into the wallet.", limiter=BILLING, amount_field="amount", intent=i.fund_wallet)
op("enable_auto_funding", "wallet", "enable_auto_funding", "PUT", "/wallet/auto-funding", a.AutoFundingArgs,
   r.AutoFunding, AUTH, "Recharge when low (future charges).", limiter=BILLING,
   amount_field="auto_charge_amount", intent=i.enable_auto_funding)
op("disable_auto_funding", "wallet", "disable_auto_funding", "DELETE", "/wallet/auto-funding", a.NoArgs,
   r.AutoFunding, D, "Stop recharges.", limiter=BILLING, intent=i.disable_auto_funding)
op("withdraw", "wallet", "withdraw", "POST", "/wallet/withdraw", a.WithdrawArgs, r.Withdrawal, PAY,
   "Pay out (reseller accounts only).", limiter=BILLING, amount_field="amount",
   intent=i.withdraw)
op("get_payment_status", "wallet", "payment_status", "GET", "/payments/{payment_intent_id}/status",
   a.PaymentStatusArgs, r.PaymentStatus, R, "Of a card payment.")

# --- coupons
op("validate_coupon", "coupons", "validate", "GET", "/wallet/coupons/validate", a.ValidateCouponArgs,
   r.CouponValidation, R, "What a coupon gives.")
op("redeem_coupon", "coupons", "redeem", "POST", "/wallet/coupons/redeem", a.RedeemCouponArgs, r.CouponRedemption,
   W, "A bonus coupon charges purchase_amount.", limiter=BILLING,
   effect_for=_coupon_effect, amount_field="purchase_amount", intent=i.redeem_coupon)

# --- plans and subscriptions
op("list_plans", "subscriptions", "plans", "GET", "/subscriptions/plans", a.NoArgs, r.PlanCatalogue, R,
   "Plans, prices, pay-as-you-go.",
   plan_catalogue=lambda result: (plan.id for plan in result.subscription_plans))
op("list_subscriptions", "subscriptions", "list", "GET", "/subscriptions", a.NoArgs, r.SubscriptionList, R,
   "Your subscriptions.")
op("create_subscription", "subscriptions", "create", "POST", "/subscriptions", a.CreateSubscriptionArgs,
   r.SubscriptionResult, C, "Charges now with payment_method_id, else a checkout URL.",
   limiter=BILLING, plan_field="plan_id", intent=i.create_subscription, next_step=_checkout_next_step)
op("get_subscription_status", "subscriptions", "status", "GET", "/subscriptions/{subscription_id}/status",
   a.SubscriptionArgs, r.SubscriptionStatus, R, "Status, current period.")
op("update_subscription", "subscriptions", "update", "PUT", "/subscriptions/{subscription_id}",
   a.UpdateSubscriptionArgs, r.SubscriptionResult, C, "Change plan (an upgrade charges the difference).",
   limiter=BILLING, plan_field="new_plan_id", intent=i.update_subscription)
op("pause_subscription", "subscriptions", "pause", "POST", "/subscriptions/{subscription_id}/pause",
   a.SubscriptionArgs, r.SubscriptionResult, D, "Pause billing and service.", limiter=BILLING,
   intent=i.pause_subscription)
op("resume_subscription", "subscriptions", "resume", "POST", "/subscriptions/{subscription_id}/resume",
   a.SubscriptionArgs, r.SubscriptionResult, C, "Resume (billing restarts).", limiter=BILLING,
   intent=i.resume_subscription)
op("reset_subscription_cycle", "subscriptions", "reset_cycle", "POST",
   "/subscriptions/{subscription_id}/reset-cycle", a.SubscriptionArgs, r.SubscriptionResult, C,
   "New period now, charged.", limiter=BILLING,
   intent=i.reset_subscription_cycle)
op("fix_payment", "subscriptions", "fix_payment", "POST", "/subscriptions/{subscription_id}/fix-payment",
   a.SubscriptionArgs, r.SubscriptionResult, C, "Retry a past-due payment.",
   limiter=BILLING, intent=i.fix_payment)
op("charge_subscription_amount", "subscriptions", "charge_amount", "POST", "/subscriptions/charge-amount",
   a.ChargeAmountArgs, r.Charge, C, "One-off charge to the default card.", limiter=BILLING, amount_field="amount",
   intent=i.charge_subscription_amount)

# --- payment links and checkout confirmation (the human handoff)
op("create_payment_link", "payment_links", "create", "POST", "/billing/payment-link", a.PaymentLinkArgs,
   r.PaymentLink, W, "Checkout URL for a person; relay verbatim.",
   limiter=BILLING, amount_field="amount", plan_field="plan_id",
   next_step="Send payment_url to the person exactly as given, with the amount and expiry; then use payment_links "
             "action=wait (or confirm_*) with session_id once they have paid.")
op("confirm_wallet_checkout", "payment_links", "confirm_fund", "POST", "/wallet/confirm-checkout", a.CheckoutArgs,
   r.CheckoutConfirmation, W, "Credit the wallet after a fund link is paid.", limiter=BILLING)
op("confirm_subscription_checkout", "payment_links", "confirm_subscribe", "POST", "/subscriptions/confirm-checkout",
   a.CheckoutArgs, r.CheckoutConfirmation, W, "Activate after a subscribe link is paid.",
   limiter=BILLING)

REGISTRY.describe_group("billing", "", title="Billing profile and overview")
REGISTRY.describe_group("payment_methods", "Takes pm_ ids from trusted code, never card numbers.",
                        title="Saved payment methods")
REGISTRY.describe_group("invoices", "", title="Invoices")
REGISTRY.describe_group("wallet", "", title="Wallet: balance, top-ups, payouts")
REGISTRY.describe_group("coupons", "", title="Coupons")
REGISTRY.describe_group("subscriptions", "", title="Subscriptions")
REGISTRY.describe_group("payment_links", "", title="Payment links for a person to pay")
