"""The docstring example of each 10ex operation's typed method, run against a fresh sandbox (see ``codegen``).

Example:
    >>> EXAMPLES["get_invoice"].setup[0].method
    'list_invoices'
"""

from __future__ import annotations

from agent_billing.codegen import MethodExample, Step

EXAMPLES: dict[str, MethodExample] = {
    "get_subscription": MethodExample(shows=".plan", output="'Team'"),
    "get_plan": MethodExample(shows=".soft_cap", output="Decimal('80000')"),
    "get_usage": MethodExample(shows=".credits_used", output="Decimal('78500')"),
    "get_agent_usage": MethodExample('"agt_research"', ".runs", "40"),
    "list_invoices": MethodExample("limit=4", ".items[0].status", "'paid'"),
    "get_invoice": MethodExample("invoice_id", ".total", "Decimal('499.00')",
                                 setup=(Step("list_invoices", pick=".items[0].id", bind="invoice_id"),)),
    "list_ledger": MethodExample('agent_id="agt_support"', ".total", "40"),
    "create_portal_session": MethodExample('return_url="https://app.example/billing"', ".url[:37]",
                                           "'http://sandbox.local/tenex/portal/bps'"),
}
