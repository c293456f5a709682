"""Wallgent: the billing API of wallgent.com (declarations, wire conventions and sandbox routes).

Example:
    >>> PROVIDER.handoff.call()
    'billing action=checkout'
"""

from agent_billing.provider import HandOff, Provider

PROVIDER = Provider(
    name="wallgent",
    package=__name__,
    title="Wallgent",
    handoff=HandOff(group="billing", action="checkout"),
    receipt_fields=("id", "invoiceId", "subscriptionId", "paymentIntentId"),
    clients=("WallgentClient", "AsyncWallgentClient"),
)
