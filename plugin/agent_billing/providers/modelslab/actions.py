"""The ModelsLab toolkit's own actions beyond its operations: the hand-off, the wait and the funding workflows.

The toolkit finds a provider's actions as ``agent_billing.providers.<name>.actions.ACTIONS``.

Example:
    >>> [f"{a.group}.{a.action}" for a in ACTIONS][:2]
    ['payment_links.handoff', 'payment_links.wait']
"""

from __future__ import annotations

from agent_billing.providers.modelslab.workflows import WORKFLOW_ACTIONS

ACTIONS = list(WORKFLOW_ACTIONS)

__all__ = ["ACTIONS"]
