"""LangChain's standard tool tests (langchain-tests) for every tool, integration ones against the sandbox."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests

from agent_billing.audit import MemoryAuditLog
from agent_billing.inprocess import SyncASGITransport, sandbox_clients
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit

_app = create_app(rate_limit=False)
_client, _aclient = sandbox_clients(_app)
GROUP_TOOLS = {t.name: t for t in BillingToolkit(client=_client, async_client=_aclient, audit=MemoryAuditLog(),
                                                 approval=lambda request: True).get_tools()}
OPERATION_TOOLS = {t.name: t for t in BillingToolkit(client=_client, async_client=_aclient, audit=MemoryAuditLog(),
                                                     approval=lambda request: True, granularity="operation").get_tools()}

# State the operation examples refer to: a saved card, a charge (invoice, payment intent), a paid checkout of
# each kind, a subscription.
_client.add_payment_method("pm_card_visa")
_FUNDED = _client.fund_wallet(Decimal("50"), "pm_card_visa")
_INVOICE = str(_client.list_invoices().invoices[0].id)
_SUBSCRIPTION = _client.create_subscription(10, "pm_card_visa").subscription
_FUND_LINK = _client.create_payment_link("fund", amount=Decimal("20")).session_id
_SUB_LINK = _client.create_payment_link("subscribe", plan_id=42).session_id
with httpx.Client(transport=SyncASGITransport(_app), base_url="http://sandbox.local") as _root:
    for _session in (_FUND_LINK, _SUB_LINK):
        _root.post(f"/sandbox/checkout/{_session}/complete")

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
# Every operation tool whose example can run again and again with the same outcome (the standard suite
# invokes each example four times). State transitions that only work once (pause, resume, redeem a coupon,
# withdraw on a reseller account...) are covered by the scenario tests instead.
REPEATABLE: dict[str, dict[str, Any]] = {
    "get_billing_overview": {}, "get_stripe_config": {}, "get_billing_info": {},
    "update_billing_info": {"name": "Acme Corp", "address_country": "US"},
    "list_payment_methods": {}, "add_payment_method": {"payment_method_id": "pm_card_visa"},
    "set_default_payment_method": {"payment_method_id": "pm_card_visa"},
    "list_invoices": {}, "get_invoice": {"invoice_id": _INVOICE}, "get_invoice_pdf": {"invoice_id": _INVOICE},
    "get_wallet_balance": {}, "fund_wallet": {"amount": 10, "payment_method_id": "pm_card_visa"},
    "enable_auto_funding": {"auto_charge_amount": 25, "charge_threshold": 5}, "disable_auto_funding": {},
    "get_payment_status": {"payment_intent_id": _FUNDED.payment.payment_intent_id if _FUNDED.payment else ""},
    "validate_coupon": {"coupon_code": "WELCOME50"}, "list_subscriptions": {},
    "get_subscription_status": {"subscription_id": _SUBSCRIPTION.id if _SUBSCRIPTION else 0},
    "reset_subscription_cycle": {"subscription_id": _SUBSCRIPTION.id if _SUBSCRIPTION else 0},
    "charge_subscription_amount": {"amount": 5},
    "create_payment_link": {"purpose": "fund", "amount": 25},
    "confirm_wallet_checkout": {"session_id": _FUND_LINK},
    "confirm_subscription_checkout": {"session_id": _SUB_LINK},
}
for _name, _args in REPEATABLE.items():
    EXAMPLES[f"op_{_name}"] = (OPERATION_TOOLS[_name], _args)


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
