"""The docstring example of each Wallgent operation's typed method, run against a fresh sandbox (see ``codegen``).

Example:
    >>> EXAMPLES["change_plan"].setup[0].render("client.")
    '_ = client.subscribe("STARTER", "WALLET")'
"""

from __future__ import annotations

from agent_billing.codegen import MethodExample, Step

_SUBSCRIBED = Step("subscribe", '"STARTER", "WALLET"')
_CARD = Step("save_payment_method", '"pm_card_visa"')

EXAMPLES: dict[str, MethodExample] = {
    "get_billing": MethodExample(shows=".plan", output="'FREE'"),
    "subscribe": MethodExample('"STARTER", "WALLET"', ".invoice_id[:4]", "'inv_'"),
    "create_checkout": MethodExample('"STARTER"', ".url[:39]", "'http://sandbox.local/wallgent/checkout/'"),
    "change_plan": MethodExample('"GROWTH"', ".proration_charge", "Decimal('150.00')", setup=(_SUBSCRIBED,)),
    "cancel": MethodExample(shows=".cancel_at_period_end", output="True", setup=(_SUBSCRIBED,)),
    # Retrying needs a failed renewal; with none, the sandbox (as Wallgent) says there is nothing to retry.
    "retry_payment": MethodExample(output="agent_billing.errors.ConflictError: There is no failed payment to retry. ...",
                                   setup=(_SUBSCRIBED,)),
    "create_portal_session": MethodExample(shows=".url[:37]", output="'http://sandbox.local/wallgent/portal/'"),
    "change_payment_method": MethodExample('"CARD"', ".ok", "True", setup=(_SUBSCRIBED, _CARD)),
    "create_setup_intent": MethodExample(shows=".client_secret[:5]", output="'seti_'"),
    "save_payment_method": MethodExample('"pm_card_visa"', ".card_details.last4", "'4242'"),
    "remove_payment_method": MethodExample(shows=".ok", output="True", setup=(_CARD,)),
    "list_invoices": MethodExample("page=1, limit=20", ".total", "1", setup=(_SUBSCRIBED,)),
    "get_invoice": MethodExample("invoice_id", ".amount", "Decimal('99.00')", setup=(
        Step("subscribe", '"STARTER", "WALLET"', ".invoice_id", "invoice_id"),)),
}
