"""The ModelsLab sandbox: an offline, local, real-HTTP ModelsLab Agent Control Plane (all 34 billing operations).

It keeps a real SQLite ledger (``ledger``: tables in ``schema``, checks in ``invariants``), charges
Stripe-style test cards (``pm_card_visa`` succeeds, ``pm_card_chargeDeclined`` declines,
``pm_card_authenticationRequired`` needs 3-D Secure...), replays idempotent requests, enforces the
documented rate limits, serves hosted checkout pages for payment links (``checkout``), and answers the
part of Stripe's API that tokenization uses (``stripe_api``), so the official ``stripe`` SDK can be
pointed at it. The handlers (``handlers_*``, looked up in ``dispatch``) implement the operations of
``agent_billing.providers.modelslab``; ``agent_billing.sandbox.create_app`` serves it at the root.

Stripe tokenization and the checkout pages live here, not in the shared core: a tokenized card is
saved on a ModelsLab account by a setup intent, and a paid checkout funds this wallet or starts one
of these subscriptions, both in this ledger.

Example:
    >>> part = modelslab_sandbox(tokens=("sk_sandbox_demo",))
    >>> part.mount, part.state["sandbox"].ledger.plans()[0].name
    ('', 'Basic')
"""

from agent_billing.providers.modelslab.sandbox.app import modelslab_sandbox

__all__ = ["modelslab_sandbox"]
