"""LangChain's standard tool tests (langchain-tests) for every tool, integration ones against the sandbox."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests

from agent_billing.audit import MemoryAuditLog
from agent_billing.inprocess import sandbox_clients
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit

_client, _aclient = sandbox_clients(create_app(rate_limit=False))
GROUP_TOOLS = {t.name: t for t in BillingToolkit(client=_client, async_client=_aclient, audit=MemoryAuditLog(),
                                                 approval=lambda request: True).get_tools()}
OPERATION_TOOLS = {t.name: t for t in BillingToolkit(client=_client, async_client=_aclient, audit=MemoryAuditLog(),
                                                     granularity="operation").get_tools()}

EXAMPLES: dict[str, tuple[BaseTool, dict[str, Any]]] = {
    "billing": (GROUP_TOOLS["billing"], {"action": "overview"}),
    "payment_methods": (GROUP_TOOLS["payment_methods"], {"action": "list"}),
    "invoices": (GROUP_TOOLS["invoices"], {"action": "list"}),
    "wallet": (GROUP_TOOLS["wallet"], {"action": "balance"}),
    "coupons": (GROUP_TOOLS["coupons"], {"action": "validate", "coupon_code": "WELCOME50"}),
    "subscriptions": (GROUP_TOOLS["subscriptions"], {"action": "plans"}),
    "payment_links": (GROUP_TOOLS["payment_links"], {"action": "create", "purpose": "fund", "amount": 25}),
    "payment_path": (GROUP_TOOLS["payment_path"], {"purpose": "fund", "amount": 25, "channel": "voice"}),
    "op_get_wallet_transactions": (OPERATION_TOOLS["get_wallet_transactions"], {"type": "credit", "limit": 5}),
    "op_list_plans": (OPERATION_TOOLS["list_plans"], {}),
    "op_create_setup_intent": (OPERATION_TOOLS["create_setup_intent"], {}),
}


def test_every_group_tool_has_a_standard_test() -> None:
    assert set(GROUP_TOOLS) <= set(EXAMPLES)


def _suite(name: str, base: type, tool: BaseTool, example: dict[str, Any]) -> type:
    return type(name, (base,), {
        "tool_constructor": property(lambda self: tool),
        "tool_invoke_params_example": property(lambda self: example),
    })


for _key, (_tool, _example) in EXAMPLES.items():
    _camel = "".join(part.capitalize() for part in _key.split("_"))
    globals()[f"Test{_camel}Unit"] = _suite(f"Test{_camel}Unit", ToolsUnitTests, _tool, _example)
    globals()[f"Test{_camel}Integration"] = _suite(f"Test{_camel}Integration", ToolsIntegrationTests, _tool, _example)
