"""The ModelsLab toolkit's own actions beyond its operations: the hand-off, the wait and the funding workflows.

The toolkit finds a provider's actions as ``agent_billing.providers.<name>.actions.ACTIONS``. None of these
only reads (the hand-off creates a link, the wait confirms a paid checkout, which credits the wallet, and the
funding workflows charge or hand off), so none is declared ``reads=True``: the ``read_only`` preset leaves
them out.

Example:
    >>> [f"{a.group}.{a.action}" for a in ACTIONS][:2], any(a.reads for a in ACTIONS)
    (['payment_links.handoff', 'payment_links.wait'], False)
"""

from __future__ import annotations

from agent_billing.providers.modelslab.workflows import WORKFLOW_ACTIONS

ACTIONS = list(WORKFLOW_ACTIONS)

__all__ = ["ACTIONS"]
