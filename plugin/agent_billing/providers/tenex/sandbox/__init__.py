"""The 10ex sandbox: an offline ``/api/v1/payments`` of 10ex, mounted by the main sandbox at ``/tenex``.

The eight read-only operations of ``agent_billing.providers.tenex`` answered as 10ex documents its
API: bare snake_case JSON, errors ``{"detail", "code"}`` and 422 ``{"detail": [{loc, msg, type}]}``,
cursor pages ``{items, next_cursor, total}`` (``?limit=`` 1 to 200, default 50). Any ``tnx_`` key is a
workspace (``tnx_sandbox`` is the documented one), seeded with the Team plan, three agents, 78,500
credits used against an 80,000 soft cap and a 100,000 hard cap, a 121-entry credit ledger and six paid
invoices. Nothing accepts a subscription change: like 10ex, the API has no such path (404).

Sandbox additions, not in 10ex's API (under ``/api/v1/payments/sandbox``):

- ``POST /usage {"agent_id", "credits", "description"?}`` records an agent run (402 ``hard_cap_reached``
  once the hard cap is reached); crossing a cap sends ``usage.soft_cap_reached`` or ``usage.hard_cap_reached``;
- ``POST /subscription {"plan"?, "status"?, "cancel_at_period_end"?}`` stands for an admin in the portal
  and sends ``subscription.updated``;
- ``POST /renew`` ends the period now: a paid invoice (``invoice.paid``), a new grant of credits;
- ``POST /webhooks {"url", "secret", "retry_scale"?}`` registers a loopback receiver: events arrive as
  ``{id, type, company_id, occurred_at, data}`` signed in ``X-10ex-Signature: sha256=<hex>``, retried 5
  times after 1, 2, 4, 8 and 16 s (times ``retry_scale``); ``GET /webhooks`` lists the attempts.

Example:
    >>> app = create_tenex_app(clock=lambda: 1_815_000_000.0)
    >>> app.state.tenex.usage(app.state.tenex.workspace(DEFAULT_KEY))["state"]
    'ok'
"""

from agent_billing.providers.tenex.sandbox.app import DEFAULT_KEY, create_tenex_app, tenex_sandbox

__all__ = ["DEFAULT_KEY", "create_tenex_app", "tenex_sandbox"]
