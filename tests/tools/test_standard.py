"""LangChain's standard tool tests (langchain-tests) for every tool, integration ones against the sandbox.

The sandbox state the examples need is built lazily inside the first test, never at collection."""

from __future__ import annotations

import functools
from collections.abc import Callable
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


class _World:
    """The sandbox, the tools and the state the operation examples refer to: a saved card, a charge (invoice,
    payment intent), a paid checkout of each kind, a subscription. Built on first use inside a test (never at
    collection: collecting the suite must not charge anything)."""

    def __init__(self) -> None:
        app = create_app(rate_limit=False)
        client, aclient = sandbox_clients(app)
        self.group_tools = {t.name: t for t in BillingToolkit(
            client=client, async_client=aclient, audit=MemoryAuditLog(), approval=lambda request: True).get_tools()}
        self.operation_tools = {t.name: t for t in BillingToolkit(
            client=client, async_client=aclient, audit=MemoryAuditLog(), approval=lambda request: True,
            granularity="operation").get_tools()}
        client.add_payment_method("pm_card_visa")
        funded = client.fund_wallet(Decimal("50"), "pm_card_visa")
        self.payment_intent = funded.payment.payment_intent_id if funded.payment else ""
        self.invoice = str(client.list_invoices().invoices[0].id)
        subscription = client.create_subscription(10, "pm_card_visa").subscription
        self.subscription = subscription.id if subscription else 0
        self.fund_link = client.create_payment_link("fund", amount=Decimal("20")).session_id
        self.sub_link = client.create_payment_link("subscribe", plan_id=42).session_id
        with httpx.Client(transport=SyncASGITransport(app), base_url="http://sandbox.local") as root:
            for session in (self.fund_link, self.sub_link):
                root.post(f"/sandbox/checkout/{session}/complete")


@functools.cache
def _world() -> _World:
    return _World()


Example = dict[str, Any] | Callable[[_World], dict[str, Any]]
GROUP_EXAMPLES: dict[str, dict[str, Any]] = {
    "billing": {"action": "overview"},
    "payment_methods": {"action": "list"},
    "invoices": {"action": "list"},
    "wallet": {"action": "balance"},
    "coupons": {"action": "validate", "coupon_code": "WELCOME50"},
    "subscriptions": {"action": "plans"},
    "payment_links": {"action": "create", "purpose": "fund", "amount": 25},
    "payment_path": {"purpose": "fund", "amount": 25, "channel": "voice"},
}
# Every operation tool whose example can run again and again with the same outcome (the standard suite
# invokes each example four times). State transitions that only work once (pause, resume, redeem a coupon,
# withdraw on a reseller account...) are covered by the scenario tests instead.
OPERATION_EXAMPLES: dict[str, Example] = {
    "get_wallet_transactions": {"type": "credit", "limit": 5}, "list_plans": {}, "create_setup_intent": {},
    "get_billing_overview": {}, "get_stripe_config": {}, "get_billing_info": {},
    "update_billing_info": {"name": "Acme Corp", "address_country": "US"},
    "list_payment_methods": {}, "add_payment_method": {"payment_method_id": "pm_card_visa"},
    "set_default_payment_method": {"payment_method_id": "pm_card_visa"},
    "list_invoices": {}, "get_invoice": lambda w: {"invoice_id": w.invoice},
    "get_invoice_pdf": lambda w: {"invoice_id": w.invoice},
    "get_wallet_balance": {}, "fund_wallet": {"amount": 10, "payment_method_id": "pm_card_visa"},
    "enable_auto_funding": {"auto_charge_amount": 25, "charge_threshold": 5}, "disable_auto_funding": {},
    "get_payment_status": lambda w: {"payment_intent_id": w.payment_intent},
    "validate_coupon": {"coupon_code": "WELCOME50"}, "list_subscriptions": {},
    "get_subscription_status": lambda w: {"subscription_id": w.subscription},
    "reset_subscription_cycle": lambda w: {"subscription_id": w.subscription},
    "charge_subscription_amount": {"amount": 5},
    "create_payment_link": {"purpose": "fund", "amount": 25},
    "confirm_wallet_checkout": lambda w: {"session_id": w.fund_link},
    "confirm_subscription_checkout": lambda w: {"session_id": w.sub_link},
}


def test_every_group_tool_has_a_standard_test() -> None:
    assert set(_world().group_tools) <= set(GROUP_EXAMPLES)
    assert set(OPERATION_EXAMPLES) <= set(_world().operation_tools)


def _suite(name: str, base: type, tool: Callable[[], BaseTool], example: Callable[[], dict[str, Any]]) -> type:
    return type(name, (base,), {
        "tool_constructor": property(lambda self: tool()),
        "tool_invoke_params_example": property(lambda self: example()),
    })


def _example(value: Example) -> Callable[[], dict[str, Any]]:
    return (lambda: value(_world())) if callable(value) else (lambda: value)


SUITES: dict[str, tuple[Callable[[], BaseTool], Callable[[], dict[str, Any]]]] = {
    **{key: (functools.partial(lambda k: _world().group_tools[k], key), _example(value))
       for key, value in GROUP_EXAMPLES.items()},
    **{f"op_{key}": (functools.partial(lambda k: _world().operation_tools[k], key), _example(value))
       for key, value in OPERATION_EXAMPLES.items()},
}
for _key, (_tool, _example_of) in SUITES.items():
    _camel = "".join(part.capitalize() for part in _key.split("_"))
    globals()[f"Test{_camel}Unit"] = _suite(f"Test{_camel}Unit", ToolsUnitTests, _tool, _example_of)
    globals()[f"Test{_camel}Integration"] = _suite(f"Test{_camel}Integration", ToolsIntegrationTests, _tool,
                                                   _example_of)


def test_collecting_the_suite_charges_nothing() -> None:
    """Importing this module (what collection does) builds no sandbox and sends no request."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import importlib.util, sys; spec = importlib.util.spec_from_file_location('m', sys.argv[1]); "
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
            "print(m._world.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__))], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "0"
