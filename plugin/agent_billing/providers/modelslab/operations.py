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

from agent_billing.codegen import MethodExample, Step
from agent_billing.conventions import Connection
from agent_billing.providers.modelslab import arguments as a
from agent_billing.providers.modelslab import intents as i
from agent_billing.providers.modelslab import results as r
from agent_billing.providers.modelslab.limits import BILLING, RATE_CLASSES
from agent_billing.providers.modelslab.paths import PATHS
from agent_billing.providers.modelslab.wire import WIRE
from agent_billing.registry import Effect, Registry

R, W, C, AUTH, PAY, D = Effect.READ, Effect.WRITE, Effect.CHARGE, Effect.AUTHORIZE, Effect.PAYOUT, Effect.DESTRUCTIVE

REGISTRY = Registry(
    provider="modelslab", base_path="/api/agents/v1", advisor=PATHS, wire=WIRE, rate_classes=RATE_CLASSES,
    presets={"chatbot": ("payment_links.handoff", "payment_links.wait"),
             "autonomous": ("wallet.fund", "wallet.ensure_funded")},
    typed_methods=("agent_billing.providers.modelslab.client_methods", "ModelsLabOperations", "AsyncModelsLabOperations"),
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


op = REGISTRY.declare  # each declaration reads as one line of data (the core's one declaration helper)


# Shared set-ups of the typed methods' docstring examples (each run against a fresh sandbox; see codegen).
_CARD = Step("add_payment_method", '"pm_card_visa"')
_FUNDED = (_CARD, Step("fund_wallet", 'Decimal("25.00")', ".invoice_id", "invoice_id"))
_PLANS = Step("list_plans", pick=".subscription_plans", bind="plans")
_SUBSCRIBED = (_CARD, _PLANS, Step("create_subscription", 'plans[0].id, "pm_card_visa"', ".subscription.id",
                                   "subscription_id"))
_NOT_PAID = "agent_billing.errors.ConflictError: The human has not paid yet. ..."

# --- billing profile and overview
op("get_billing_overview", "billing", "overview", "GET", "/billing/overview", a.NoArgs, r.BillingOverview, R,
   "Balance, cards, subscriptions, invoices.",
   example=MethodExample(shows=".wallet_balance", output="Decimal('0.00')"))
op("get_stripe_config", "billing", "stripe_config", "GET", "/billing/stripe-config", a.NoArgs, r.StripeConfig, R,
   "Publishable key, for trusted code only.",
   next_step="The key is for trusted application code that tokenizes cards; never tokenize a card yourself or ask "
             "the person for card numbers.",
   example=MethodExample(shows=".publishable_key[:8]", output="'pk_test_'"))
op("get_billing_info", "billing", "get_info", "GET", "/billing/info", a.NoArgs, r.BillingInfo, R,
   "Name, email, address, tax id.",
   example=MethodExample(shows=".name is None", output="True"))
op("update_billing_info", "billing", "update_info", "PUT", "/billing/info", a.BillingInfoArgs, r.BillingInfo, W,
   "Change the fields given; others kept.",
   example=MethodExample('name="Acme Corp"', ".updated_fields", "['name']"))

# --- payment methods and card saving
op("list_payment_methods", "payment_methods", "list", "GET", "/billing/payment-methods", a.NoArgs,
   r.PaymentMethodList, R, "Saved cards.",
   example=MethodExample(shows=".count", output="0"))
op("add_payment_method", "payment_methods", "add", "POST", "/billing/payment-methods", a.AddPaymentMethodArgs,
   r.PaymentMethodResult, AUTH, "Attach a pm_ id.",
   limiter=BILLING, changes_funding=True, effect_for=_default_card_effect, intent=i.add_payment_method,
   example=MethodExample('"pm_card_visa"', ".payment_method.last4", "'4242'"))
op("set_default_payment_method", "payment_methods", "set_default", "PUT",
   "/billing/payment-methods/{payment_method_id}/default", a.PaymentMethodArgs, r.PaymentMethodResult, AUTH,
   "Make a card the default.", limiter=BILLING, changes_funding=True,
   intent=i.set_default_payment_method,
   example=MethodExample(
           '"pm_card_mastercard"', ".payment_method.is_default", "True",
           setup=(_CARD, Step("add_payment_method", '"pm_card_mastercard", make_default=False'))))
op("remove_payment_method", "payment_methods", "remove", "DELETE", "/billing/payment-methods/{payment_method_id}",
   a.PaymentMethodArgs, r.PaymentMethodResult, D, "Detach a card.", limiter=BILLING, changes_funding=True,
   intent=i.remove_payment_method,
   example=MethodExample('"pm_card_visa"', ".removed", "True", setup=(_CARD,)))
op("create_setup_intent", "payment_methods", "setup_intent", "POST", "/billing/setup-intent", a.NoArgs,
   r.SetupIntent, W, "Save a card without charging.",
   limiter=BILLING, next_step="Trusted application code or the person confirms this setup intent with Stripe; the "
   "confirmation normally saves the card (check with payment_methods action=list; add the pm_ id only if it is "
   "missing). Never ask for card numbers.",
   example=MethodExample(shows=".status", output="'requires_payment_method'"))

# --- invoices
op("list_invoices", "invoices", "list", "GET", "/billing/invoices", a.NoArgs, r.InvoiceList, R, "All invoices.",
   example=MethodExample(shows=".invoices[0].status", output="'paid'", setup=_FUNDED))
op("get_invoice", "invoices", "get", "GET", "/billing/invoices/{invoice_id}", a.InvoiceArgs, r.Invoice, R,
   "One invoice.",
   example=MethodExample("invoice_id", ".amount", "Decimal('25.00')", setup=_FUNDED))
op("get_invoice_pdf", "invoices", "pdf", "GET", "/billing/invoices/{invoice_id}/pdf", a.InvoiceArgs, r.InvoicePdf, R,
   "PDF and receipt links.",
   example=MethodExample("invoice_id", ".number", "'SBX-000001'", setup=_FUNDED))

# --- wallet
op("get_wallet_balance", "wallet", "balance", "GET", "/wallet/balance", a.NoArgs, r.WalletBalance, R,
   "Current balance.",
   example=MethodExample(shows=".balance", output="Decimal('0.00')"))
op("get_wallet_transactions", "wallet", "transactions", "GET", "/wallet/transactions", a.TransactionsArgs,
   r.WalletTransactions, R, "Newest first.",
   example=MethodExample('type="credit", limit=10', ".items[0].usecase", "'wallet_funding'",
                                                setup=_FUNDED))
op("fund_wallet", "wallet", "fund", "POST", "/wallet/fund", a.FundWalletArgs, r.Charge, C,
   "Charge a saved card into the wallet.", limiter=BILLING, amount_field="amount", intent=i.fund_wallet,
   example=MethodExample('Decimal("25.00")', ".amount", "Decimal('25.00')", setup=(_CARD,)))
op("enable_auto_funding", "wallet", "enable_auto_funding", "PUT", "/wallet/auto-funding", a.AutoFundingArgs,
   r.AutoFunding, AUTH, "Recharge when low (future charges).", limiter=BILLING,
   amount_field="auto_charge_amount", intent=i.enable_auto_funding,
   example=MethodExample('Decimal("25.00"), Decimal("5.00")', ".enabled", "True", setup=(_CARD,)))
op("disable_auto_funding", "wallet", "disable_auto_funding", "DELETE", "/wallet/auto-funding", a.NoArgs,
   r.AutoFunding, D, "Stop recharges.", limiter=BILLING, intent=i.disable_auto_funding,
   example=MethodExample(shows=".enabled", output="False"))
op("withdraw", "wallet", "withdraw", "POST", "/wallet/withdraw", a.WithdrawArgs, r.Withdrawal, PAY,
   "Pay out (reseller accounts only).", limiter=BILLING, amount_field="amount",
   intent=i.withdraw,
   example=MethodExample('Decimal("10.00")', output="agent_billing.errors.PermissionDeniedError: Withdrawals are "
                                                            "available to reseller accounts only. ..."))
op("get_payment_status", "wallet", "payment_status", "GET", "/payments/{payment_intent_id}/status",
   a.PaymentStatusArgs, r.PaymentStatus, R, "Of a card payment.",
   example=MethodExample("payment_intent_id", ".status", "'succeeded'", setup=(
           _CARD, Step("fund_wallet", 'Decimal("25.00")', ".payment.payment_intent_id", "payment_intent_id"))))

# --- coupons
op("validate_coupon", "coupons", "validate", "GET", "/wallet/coupons/validate", a.ValidateCouponArgs,
   r.CouponValidation, R, "What a coupon gives.",
   example=MethodExample('"WELCOME50"', ".credit_amount", "Decimal('5.00')"))
op("redeem_coupon", "coupons", "redeem", "POST", "/wallet/coupons/redeem", a.RedeemCouponArgs, r.CouponRedemption,
   W, "A bonus coupon charges purchase_amount.", limiter=BILLING,
   effect_for=_coupon_effect, amount_field="purchase_amount", intent=i.redeem_coupon,
   example=MethodExample('"WELCOME50"', ".credited", "Decimal('5.00')"))

# --- plans and subscriptions
op("list_plans", "subscriptions", "plans", "GET", "/subscriptions/plans", a.NoArgs, r.PlanCatalogue, R,
   "Plans, prices, pay-as-you-go.",
   plan_catalogue=lambda result: (plan.id for plan in result.subscription_plans),
   example=MethodExample(shows=".subscription_plans[0].name", output="'Basic'"))
op("list_subscriptions", "subscriptions", "list", "GET", "/subscriptions", a.NoArgs, r.SubscriptionList, R,
   "Your subscriptions.",
   example=MethodExample(shows=".count", output="1", setup=_SUBSCRIBED))
op("create_subscription", "subscriptions", "create", "POST", "/subscriptions", a.CreateSubscriptionArgs,
   r.SubscriptionResult, C, "Charges now with payment_method_id, else a checkout URL.",
   limiter=BILLING, plan_field="plan_id", intent=i.create_subscription, next_step=_checkout_next_step,
   example=MethodExample('plans[0].id, "pm_card_visa"', ".subscription.status", "'active'",
                                            setup=(_CARD, _PLANS)))
op("get_subscription_status", "subscriptions", "status", "GET", "/subscriptions/{subscription_id}/status",
   a.SubscriptionArgs, r.SubscriptionStatus, R, "Status, current period.",
   example=MethodExample("subscription_id", ".plan_name", "'Basic'", setup=_SUBSCRIBED))
op("update_subscription", "subscriptions", "update", "PUT", "/subscriptions/{subscription_id}",
   a.UpdateSubscriptionArgs, r.SubscriptionResult, C, "Change plan (an upgrade charges the difference).",
   limiter=BILLING, plan_field="new_plan_id", intent=i.update_subscription,
   example=MethodExample("subscription_id, plans[1].id", ".subscription.plan_name", "'Standard'",
                                            setup=_SUBSCRIBED))
op("pause_subscription", "subscriptions", "pause", "POST", "/subscriptions/{subscription_id}/pause",
   a.SubscriptionArgs, r.SubscriptionResult, D, "Pause billing and service.", limiter=BILLING,
   intent=i.pause_subscription,
   example=MethodExample("subscription_id", ".subscription.status", "'paused'", setup=_SUBSCRIBED))
op("resume_subscription", "subscriptions", "resume", "POST", "/subscriptions/{subscription_id}/resume",
   a.SubscriptionArgs, r.SubscriptionResult, C, "Resume (billing restarts).", limiter=BILLING,
   intent=i.resume_subscription,
   example=MethodExample("subscription_id", ".subscription.status", "'active'",
                                            setup=(*_SUBSCRIBED, Step("pause_subscription", "subscription_id"))))
op("reset_subscription_cycle", "subscriptions", "reset_cycle", "POST",
   "/subscriptions/{subscription_id}/reset-cycle", a.SubscriptionArgs, r.SubscriptionResult, C,
   "New period now, charged.", limiter=BILLING,
   intent=i.reset_subscription_cycle,
   example=MethodExample("subscription_id", ".subscription.status", "'active'", setup=_SUBSCRIBED))
op("fix_payment", "subscriptions", "fix_payment", "POST", "/subscriptions/{subscription_id}/fix-payment",
   a.SubscriptionArgs, r.SubscriptionResult, C, "Retry a past-due payment.",
   limiter=BILLING, intent=i.fix_payment,
   example=MethodExample("subscription_id", output="agent_billing.errors.ConflictError: Cannot fix the payment "
                                                              "of subscription ...: it is active (allowed from: past_due). ...",
                                    setup=_SUBSCRIBED))
op("charge_subscription_amount", "subscriptions", "charge_amount", "POST", "/subscriptions/charge-amount",
   a.ChargeAmountArgs, r.Charge, C, "One-off charge to the default card.", limiter=BILLING, amount_field="amount",
   intent=i.charge_subscription_amount,
   example=MethodExample('Decimal("25.00")', ".balance", "Decimal('25.00')", setup=(_CARD,)))

# --- payment links and checkout confirmation (the human handoff)
op("create_payment_link", "payment_links", "create", "POST", "/billing/payment-link", a.PaymentLinkArgs,
   r.PaymentLink, W, "Checkout URL for a person; relay verbatim.",
   limiter=BILLING, amount_field="amount", plan_field="plan_id",
   next_step="Send payment_url to the person exactly as given, with the amount and expiry; then use payment_links "
             "action=wait (or confirm_*) with session_id once they have paid.",
   example=MethodExample('"fund", amount=Decimal("25.00")', ".payment_url[:38]",
                                            "'http://sandbox.local/sandbox/checkout/'"))
op("confirm_wallet_checkout", "payment_links", "confirm_fund", "POST", "/wallet/confirm-checkout", a.CheckoutArgs,
   r.CheckoutConfirmation, W, "Credit the wallet after a fund link is paid.", limiter=BILLING,
   example=MethodExample("session_id", output=_NOT_PAID, setup=(
           Step("create_payment_link", '"fund", amount=Decimal("25.00")', ".session_id", "session_id"),)))
op("confirm_subscription_checkout", "payment_links", "confirm_subscribe", "POST", "/subscriptions/confirm-checkout",
   a.CheckoutArgs, r.CheckoutConfirmation, W, "Activate after a subscribe link is paid.",
   limiter=BILLING,
   example=MethodExample("session_id", output=_NOT_PAID, setup=(
           _PLANS, Step("create_payment_link", '"subscribe", plan_id=plans[0].id', ".session_id", "session_id"))))

# scope: the area of ModelsLab's token scopes a group's operations need (``area:read`` for reads, else ``area:write``;
# see scopes.py); payment links and their confirmations are billing's, coupons the wallet's.
REGISTRY.describe_group("billing", "", title="Billing profile and overview", scope="billing")
REGISTRY.describe_group("payment_methods", "Takes pm_ ids from trusted code, never card numbers.",
                        title="Saved payment methods", scope="billing")
REGISTRY.describe_group("invoices", "", title="Invoices", scope="billing")
REGISTRY.describe_group("wallet", "", title="Wallet: balance, top-ups, payouts", scope="wallet")
REGISTRY.describe_group("coupons", "", title="Coupons", scope="wallet")
REGISTRY.describe_group("subscriptions", "", title="Subscriptions", scope="subscriptions")
REGISTRY.describe_group("payment_links", "", title="Payment links for a person to pay", scope="billing")
