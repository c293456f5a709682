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
    # Shaped results carry the results models' Python names (snake_case), not the wire's camelCase.
    receipt_fields=("id", "invoice_id", "stripe_subscription_id"),
    clients=("WallgentClient", "AsyncWallgentClient"),
)
