"""ModelsLab's documented rate limiters: ``agent-billing`` 15 and ``agent-general`` 120 requests a minute per token.

Money-moving and card operations count against ``agent-billing``; everything else (and a request
without a known token) against ``agent-general``, the default.

Example:
    >>> from agent_billing.registry import get_registry
    >>> get_registry("modelslab").get("add_payment_method").limiter == BILLING, RATE_CLASSES[BILLING]
    (True, 15)
"""

from __future__ import annotations

BILLING = "agent-billing"
GENERAL = "agent-general"
# Per minute; the last is the default class (Registry.rate_classes).
RATE_CLASSES = {BILLING: 15, GENERAL: 120}
