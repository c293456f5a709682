"""The 13 operations of Wallgent's billing API, each declared once, with its wire conventions.

Names are what a Wallgent user looks for (``get_billing``, ``subscribe``, ``change_plan``...). JSON is
camelCase without an envelope, amounts are decimal strings, errors are ``{"error": {code, message,
details}}``. Keys: ``wg_test_...`` (sandbox) and ``wg_live_...`` (production, refused unless the
deployer opts in); environment ``WALLGENT_API_KEY`` and ``WALLGENT_BASE_URL``.

Example:
    >>> REGISTRY.by_action("billing", "subscribe").path, len(REGISTRY)
    ('/billing/subscribe', 13)
"""

from __future__ import annotations

from agent_billing.codegen import MethodExample, Step
from agent_billing.conventions import Connection, WebhookFormat, WireConventions
from agent_billing.providers.wallgent import arguments as a
from agent_billing.providers.wallgent import intents as i
from agent_billing.providers.wallgent import results as r
from agent_billing.providers.wallgent.paths import PATHS
from agent_billing.registry import Effect, Registry

R, W, C, AUTH, D = Effect.READ, Effect.WRITE, Effect.CHARGE, Effect.AUTHORIZE, Effect.DESTRUCTIVE

WIRE = WireConventions(
    envelope=False,
    amounts="string",
    paging_keys=("has_more", "hasMore"),
    error_classes={
        "UNAUTHORIZED": "AuthenticationError", "API_KEY_REVOKED": "AuthenticationError",
        "ENVIRONMENT_MISMATCH": "AuthenticationError", "PERMISSION_DENIED": "InsufficientScopeError",
        "POLICY_DENIED": "PermissionDeniedError", "WALLET_FROZEN": "PermissionDeniedError",
        "WALLET_LIMIT_EXCEEDED": "PermissionDeniedError", "MERCHANT_SUSPENDED": "PermissionDeniedError",
        "INSUFFICIENT_FUNDS": "PaymentDeclinedError", "PAYMENT_FAILED": "PaymentDeclinedError",
        "VALIDATION_ERROR": "InvalidRequestError", "INVALID_AMOUNT": "InvalidRequestError",
        "IDEMPOTENCY_KEY_REUSE": "IdempotencyConflictError", "RATE_LIMIT_EXCEEDED": "RateLimitedError",
        "APPROVAL_REQUIRED": "ProviderApprovalRequiredError",
    },
)

# Documented: the header and the payload {event, timestamp, organizationId, data}, which has no id (a retry
# is known by its body's digest). Wallgent documents neither event names nor a retry schedule: the events
# below are the ones our sandbox sends (our assumption), and the sandbox retries on the default schedule.
WEBHOOK = WebhookFormat(header="Wallgent-Signature", timestamp_field="timestamp", type_field="event",
                        events=("subscription.updated", "invoice.paid"))

REGISTRY = Registry(
    provider="wallgent", base_path="/v1", wire=WIRE, advisor=PATHS,
    # A chatbot hands the person checkout (a new plan) or the portal (an existing one); an autonomous agent
    # retries a failed renewal within its mandate, and changes nothing else on its own.
    presets={"chatbot": ("billing.checkout", "billing.portal"), "autonomous": ("billing.retry_payment",)},
    typed_methods=("agent_billing.providers.wallgent.client_methods", "WallgentOperations", "AsyncWallgentOperations"),
    connection=Connection(default_base_url="https://api.wallgent.com/v1", sandbox_path="/wallgent/v1",
                          sandbox_token="wg_test_sandbox", token_variables=("WALLGENT_API_KEY",),
                          sandbox_app="agent_billing.providers.wallgent.sandbox:wallgent_sandbox",
                          base_url_variables=("WALLGENT_BASE_URL",), key_prefixes=("wg_test_", "wg_live_"),
                          live_prefixes=("wg_live_",), webhook=WEBHOOK),
)


op = REGISTRY.declare  # each declaration reads as one line of data (the core's one declaration helper)

# Shared set-ups of the typed methods' docstring examples (each run against a fresh sandbox; see codegen).
_SUBSCRIBED = Step("subscribe", '"STARTER", "WALLET"')
_CARD = Step("save_payment_method", '"pm_card_visa"')


# --- plan and subscription
op("get_billing", "billing", "get", "GET", "/billing", a.NoArgs, r.BillingInfo, R,
   "Current plan, status, period, billing method (WALLET or CARD) and saved card.",
   example=MethodExample(shows=".plan", output="'FREE'"))
op("subscribe", "billing", "subscribe", "POST", "/billing/subscribe", a.SubscribeArgs, r.Subscription, C,
   "Subscribe to STARTER or GROWTH, paid now and monthly from the WALLET or a CARD.", plan_field="plan",
   intent=i.subscribe,
   example=MethodExample('"STARTER", "WALLET"', ".invoice_id[:4]", "'inv_'"))
op("create_checkout", "billing", "checkout", "POST", "/billing/checkout", a.PlanArgs, r.Url, W,
   "Hosted checkout URL for a person to subscribe; relay it verbatim.", plan_field="plan",
   example=MethodExample('"STARTER"', ".url[:39]", "'http://sandbox.local/wallgent/checkout/'"))
op("change_plan", "billing", "change_plan", "POST", "/billing/change-plan", a.PlanArgs, r.PlanChange, C,
   "Upgrade or downgrade now; an upgrade charges the prorated difference.", plan_field="plan", intent=i.change_plan,
   example=MethodExample('"GROWTH"', ".proration_charge", "Decimal('150.00')", setup=(_SUBSCRIBED,)))
op("cancel", "billing", "cancel", "POST", "/billing/cancel", a.NoArgs, r.Cancellation, D,
   "Cancel at the end of the current period.", intent=i.cancel,
   example=MethodExample(shows=".cancel_at_period_end", output="True", setup=(_SUBSCRIBED,)))
op("retry_payment", "billing", "retry_payment", "POST", "/billing/retry-payment", a.NoArgs, r.RetriedPayment, C,
   "Pay a failed renewal again with the billing method.", intent=i.retry_payment,
   # Retrying needs a failed renewal; with none, the sandbox (as Wallgent) says there is nothing to retry.
   example=MethodExample(output="agent_billing.errors.ConflictError: There is no failed payment to retry. ...",
                         setup=(_SUBSCRIBED,)))
op("create_portal_session", "billing", "portal", "POST", "/billing/portal", a.NoArgs, r.Url, W,
   "Self-service portal URL for a person (plan, invoices, card); relay it verbatim.",
   example=MethodExample(shows=".url[:37]", output="'http://sandbox.local/wallgent/portal/'"))

# --- how the plan is paid
op("change_payment_method", "payment_method", "switch", "POST", "/billing/change-payment-method",
   a.ChangePaymentMethodArgs, r.Ok, AUTH, "Switch what future renewals hit: WALLET or CARD.", changes_funding=True,
   intent=i.change_payment_method,
   example=MethodExample('"CARD"', ".ok", "True", setup=(_SUBSCRIBED, _CARD)))
op("create_setup_intent", "payment_method", "setup_intent", "POST", "/billing/setup-intent", a.NoArgs, r.SetupIntent,
   W, "Start saving a card without charging; trusted code or a person confirms it with Stripe.",
   example=MethodExample(shows=".client_secret[:5]", output="'seti_'"))
op("save_payment_method", "payment_method", "save", "POST", "/billing/payment-method", a.SavePaymentMethodArgs, r.Ok,
   AUTH, "Save the card of a confirmed setup intent as the billing card (CARD renewals hit it).",
   changes_funding=True, intent=i.save_card,
   example=MethodExample('"pm_card_visa"', ".card_details.last4", "'4242'"))
op("remove_payment_method", "payment_method", "remove", "DELETE", "/billing/payment-method", a.NoArgs, r.Ok, D,
   "Remove the saved billing card.", changes_funding=True, intent=i.remove_card,
   example=MethodExample(shows=".ok", output="True", setup=(_CARD,)))

# --- invoices
op("list_invoices", "invoices", "list", "GET", "/billing/invoices", a.InvoicePageArgs, r.InvoicePage, R,
   "Billing invoices, one page at a time (page, limit).",
   example=MethodExample("page=1, limit=20", ".total", "1", setup=(_SUBSCRIBED,)))
op("get_invoice", "invoices", "get", "GET", "/billing/invoices/{invoice_id}", a.InvoiceArgs, r.Invoice, R,
   "One invoice with its lines and payment status.",
   example=MethodExample("invoice_id", ".amount", "Decimal('99.00')", setup=(
           Step("subscribe", '"STARTER", "WALLET"', ".invoice_id", "invoice_id"),)))

REGISTRY.describe_group("billing", "Wallgent plan and subscription: status, subscribe, change, cancel, retry, "
                                   "checkout and portal links.", title="Wallgent plan and subscription")
REGISTRY.describe_group("payment_method", "How the Wallgent plan is paid: the wallet or a saved card (pm_ ids only).",
                        title="How the Wallgent plan is paid")
REGISTRY.describe_group("invoices", "Wallgent billing invoices.", title="Invoices")
