"""ModelsLab Agent Control Plane: operation declarations, argument and result models, workflows, sandbox.

Example:
    >>> PROVIDER.handoff.call(), PROVIDER.handoff.call(wait=True)
    ('payment_links action=handoff', 'payment_links action=wait')
"""

from agent_billing.provider import HandOff, Provider

PROVIDER = Provider(
    name="modelslab",
    package=__name__,
    title="ModelsLab",
    handoff=HandOff(group="payment_links", action="handoff", wait_action="wait", unpaid_code="checkout_not_paid",
                    expired_code="checkout_expired",
                    page_fields=(("payment_url", None), ("checkout_url", "subscribe")), page_id_field="session_id"),
    receipt_fields=("id", "transaction_id", "payment_intent_id", "invoice_id", "charge_id", "refund_id",
                    "payout_id", "subscription_id", "session_id", "receipt_id", "withdrawal_id"),
    clients=("ModelsLabClient", "AsyncModelsLabClient"),
)
