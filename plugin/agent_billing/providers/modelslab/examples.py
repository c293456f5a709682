"""The docstring example of each ModelsLab operation's typed method, run against a fresh sandbox (see ``codegen``).

One declaration per operation: the call, what of the result it shows, and the prerequisite calls a
fresh account needs first (a saved card, a plan id, a subscription). Where the sandbox's real answer
is an error (a withdrawal by a non-reseller, a checkout nobody paid yet), the example shows that error.

Example:
    >>> EXAMPLES["get_invoice"].setup[-1].render("client.")
    'invoice_id = client.fund_wallet(Decimal("25.00")).invoice_id'
"""

from __future__ import annotations

from agent_billing.codegen import MethodExample, Step

_CARD = Step("add_payment_method", '"pm_card_visa"')
_FUNDED = (_CARD, Step("fund_wallet", 'Decimal("25.00")', ".invoice_id", "invoice_id"))
_PLANS = Step("list_plans", pick=".subscription_plans", bind="plans")
_SUBSCRIBED = (_CARD, _PLANS, Step("create_subscription", 'plans[0].id, "pm_card_visa"', ".subscription.id",
                                   "subscription_id"))
_NOT_PAID = "agent_billing.errors.ConflictError: The human has not paid yet. ..."

EXAMPLES: dict[str, MethodExample] = {
    "get_billing_overview": MethodExample(shows=".wallet_balance", output="Decimal('0.00')"),
    "get_stripe_config": MethodExample(shows=".publishable_key[:8]", output="'pk_test_'"),
    "get_billing_info": MethodExample(shows=".name is None", output="True"),
    "update_billing_info": MethodExample('name="Acme Corp"', ".updated_fields", "['name']"),
    "list_payment_methods": MethodExample(shows=".count", output="0"),
    "add_payment_method": MethodExample('"pm_card_visa"', ".payment_method.last4", "'4242'"),
    "set_default_payment_method": MethodExample(
        '"pm_card_mastercard"', ".payment_method.is_default", "True",
        setup=(_CARD, Step("add_payment_method", '"pm_card_mastercard", make_default=False'))),
    "remove_payment_method": MethodExample('"pm_card_visa"', ".removed", "True", setup=(_CARD,)),
    "create_setup_intent": MethodExample(shows=".status", output="'requires_payment_method'"),
    "list_invoices": MethodExample(shows=".invoices[0].status", output="'paid'", setup=_FUNDED),
    "get_invoice": MethodExample("invoice_id", ".amount", "Decimal('25.00')", setup=_FUNDED),
    "get_invoice_pdf": MethodExample("invoice_id", ".number", "'SBX-000001'", setup=_FUNDED),
    "get_wallet_balance": MethodExample(shows=".balance", output="Decimal('0.00')"),
    "get_wallet_transactions": MethodExample('type="credit", limit=10', ".items[0].usecase", "'wallet_funding'",
                                             setup=_FUNDED),
    "fund_wallet": MethodExample('Decimal("25.00")', ".amount", "Decimal('25.00')", setup=(_CARD,)),
    "enable_auto_funding": MethodExample('Decimal("25.00"), Decimal("5.00")', ".enabled", "True", setup=(_CARD,)),
    "disable_auto_funding": MethodExample(shows=".enabled", output="False"),
    # The sandbox's key is not a reseller's, as most accounts are not: withdrawing is refused.
    "withdraw": MethodExample('Decimal("10.00")', output="agent_billing.errors.PermissionDeniedError: Withdrawals are "
                                                         "available to reseller accounts only. ..."),
    "get_payment_status": MethodExample("payment_intent_id", ".status", "'succeeded'", setup=(
        _CARD, Step("fund_wallet", 'Decimal("25.00")', ".payment.payment_intent_id", "payment_intent_id"))),
    "validate_coupon": MethodExample('"WELCOME50"', ".credit_amount", "Decimal('5.00')"),
    "redeem_coupon": MethodExample('"WELCOME50"', ".credited", "Decimal('5.00')"),
    "list_plans": MethodExample(shows=".subscription_plans[0].name", output="'Basic'"),
    "list_subscriptions": MethodExample(shows=".count", output="1", setup=_SUBSCRIBED),
    "create_subscription": MethodExample('plans[0].id, "pm_card_visa"', ".subscription.status", "'active'",
                                         setup=(_CARD, _PLANS)),
    "get_subscription_status": MethodExample("subscription_id", ".plan_name", "'Basic'", setup=_SUBSCRIBED),
    "update_subscription": MethodExample("subscription_id, plans[1].id", ".subscription.plan_name", "'Standard'",
                                         setup=_SUBSCRIBED),
    "pause_subscription": MethodExample("subscription_id", ".subscription.status", "'paused'", setup=_SUBSCRIBED),
    "resume_subscription": MethodExample("subscription_id", ".subscription.status", "'active'",
                                         setup=(*_SUBSCRIBED, Step("pause_subscription", "subscription_id"))),
    "reset_subscription_cycle": MethodExample("subscription_id", ".subscription.status", "'active'", setup=_SUBSCRIBED),
    # Fixing a payment needs a failed renewal (past_due); a healthy subscription is refused, with that reason.
    "fix_payment": MethodExample("subscription_id", output="agent_billing.errors.ConflictError: Cannot fix the payment "
                                                           "of subscription ...: it is active (allowed from: past_due). ...",
                                 setup=_SUBSCRIBED),
    "charge_subscription_amount": MethodExample('Decimal("25.00")', ".balance", "Decimal('25.00')", setup=(_CARD,)),
    "create_payment_link": MethodExample('"fund", amount=Decimal("25.00")', ".payment_url[:38]",
                                         "'http://sandbox.local/sandbox/checkout/'"),
    # Confirming before the human paid on the hosted page says so; after paying, the same call credits.
    "confirm_wallet_checkout": MethodExample("session_id", output=_NOT_PAID, setup=(
        Step("create_payment_link", '"fund", amount=Decimal("25.00")', ".session_id", "session_id"),)),
    "confirm_subscription_checkout": MethodExample("session_id", output=_NOT_PAID, setup=(
        _PLANS, Step("create_payment_link", '"subscribe", plan_id=plans[0].id', ".session_id", "session_id"))),
}
