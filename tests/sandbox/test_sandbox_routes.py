"""The sandbox's routes are derived from the registry: every operation is routed and answers its result model."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sandbox_helpers import API, TOKEN, Api, FakeClock
from starlette.applications import Starlette

from agent_billing import wire
from agent_billing.providers.modelslab.sandbox.dispatch import HANDLERS
from agent_billing.registry import get_registry
from agent_billing.sandbox import create_app

REGISTRY = get_registry("modelslab")
SAMPLE_PATH_VALUES = {"payment_method_id": "pm_card_visa", "invoice_id": "in_unknown", "subscription_id": "1001",
                      "payment_intent_id": "pi_unknown"}


def _concrete(path: str) -> str:
    for name, value in SAMPLE_PATH_VALUES.items():
        path = path.replace("{" + name + "}", value)
    return path


@pytest.mark.parametrize("op", list(REGISTRY), ids=lambda op: op.name)
async def test_every_operation_is_routed_and_answers_an_envelope(api: Api, op: Any) -> None:
    r = await api.call(op.method, _concrete(op.path), json={} if op.has_body else None)
    body = wire.loads(r.content)
    assert set(body) >= {"data", "error", "meta"}
    assert body["meta"]["request_id"].startswith("req_")
    assert r.headers["x-request-id"] == body["meta"]["request_id"]
    if body["error"] is not None:  # the handler answered (bad input, unknown id...), not the router
        assert body["error"]["code"] not in ("method_not_allowed",)
        assert body["error"]["message"] != "No such endpoint."


def test_registry_and_handler_table_agree() -> None:
    create_app()  # loads the handler modules
    assert {op.name for op in REGISTRY} <= set(HANDLERS)


def test_create_app_refuses_a_registry_operation_without_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    create_app()
    monkeypatch.delitem(HANDLERS, "withdraw")
    with pytest.raises(RuntimeError, match="withdraw"):
        create_app()


async def test_literal_paths_win_over_parameters(api: Api) -> None:
    plans = await api.ok("GET", "/subscriptions/plans")
    assert plans["count"] == len(plans["subscription_plans"]) >= 4
    err = await api.err("POST", "/subscriptions/charge-amount", 400, "validation_error", json={"amount": 5})
    assert "default card" in err["message"]  # the charge handler, not /subscriptions/{subscription_id}
    err = await api.err("POST", "/subscriptions/confirm-checkout", 404, "not_found", json={"session_id": "cs_test_x"})
    assert "checkout session" in err["message"]


async def test_unknown_path_and_wrong_method_get_envelopes(api: Api) -> None:
    err = await api.err("GET", "/wallet/nope", 404, "not_found")
    assert err["message"] == "No such endpoint."
    r = await api.call("DELETE", "/wallet/balance")
    assert r.status_code == 405
    assert wire.loads(r.content)["error"]["code"] == "method_not_allowed"


async def test_a_tour_of_all_34_operations_validates_every_result(app: Starlette, clock: FakeClock) -> None:
    """Call each operation successfully once and check ``data`` against the operation's result model."""
    seen: dict[str, Any] = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test" + API,
                                 headers={"Authorization": f"Bearer {TOKEN}"}) as client:

        async def call(name: str, path_values: dict[str, Any] | None = None, body: Any = None,
                       params: Any = None, status: int = 200) -> Any:
            op = REGISTRY.get(name)
            path = op.path.format(**(path_values or {}))
            content = wire.dumps(body) if body is not None else None
            r = await client.request(op.method, path, content=content, params=params,
                                     headers={"Content-Type": "application/json"} if content else {})
            assert r.status_code == status, (name, r.text)
            data = wire.loads(r.content)["data"]
            op.result.model_validate(data)
            seen[name] = data
            return data

        await call("get_billing_overview")
        await call("get_stripe_config")
        await call("get_billing_info")
        await call("update_billing_info", body={"name": "Acme", "address_country": "US"})
        await call("add_payment_method", body={"payment_method_id": "pm_card_visa", "make_default": True})
        await call("add_payment_method", body={"payment_method_id": "pm_card_mastercard", "make_default": False})
        await call("list_payment_methods")
        await call("set_default_payment_method", {"payment_method_id": "pm_card_mastercard"})
        await call("remove_payment_method", {"payment_method_id": "pm_card_visa"})
        await call("create_setup_intent")
        fund = await call("fund_wallet", body={"amount": 50})
        await call("get_wallet_balance")
        await call("get_wallet_transactions", params={"type": "credit", "limit": 10})
        await call("get_payment_status", {"payment_intent_id": fund["payment"]["payment_intent_id"]})
        await call("list_invoices")
        await call("get_invoice", {"invoice_id": fund["invoice_id"]})
        await call("get_invoice_pdf", {"invoice_id": fund["invoice_id"]})
        await call("enable_auto_funding", body={"auto_charge_amount": 25, "charge_threshold": 5})
        await call("disable_auto_funding")
        await call("validate_coupon", params={"coupon_code": "FREE10"})
        await call("redeem_coupon", body={"coupon_code": "FREE10"})
        await call("list_plans")
        created = await call("create_subscription", body={"plan_id": 10, "payment_method_id": "pm_card_visa"})
        sub_id = created["subscription"]["id"]
        await call("list_subscriptions")
        await call("get_subscription_status", {"subscription_id": sub_id})
        await call("update_subscription", {"subscription_id": sub_id}, body={"new_plan_id": 11})
        await call("reset_subscription_cycle", {"subscription_id": sub_id})
        await call("pause_subscription", {"subscription_id": sub_id})
        await call("resume_subscription", {"subscription_id": sub_id})
        fail = await client.post(f"http://sandbox.test/sandbox/subscriptions/{sub_id}/fail-payment")
        assert fail.status_code == 200, fail.text
        await call("fix_payment", {"subscription_id": sub_id})
        await call("charge_subscription_amount", body={"amount": 5})
        link = await call("create_payment_link", body={"purpose": "fund", "amount": 20})
        done = await client.post(f"http://sandbox.test/sandbox/checkout/{link['session_id']}/complete")
        assert done.status_code == 200
        await call("confirm_wallet_checkout", body={"session_id": link["session_id"]})
        sub_link = await call("create_payment_link", body={"purpose": "subscribe", "plan_id": 42})
        await client.post(f"http://sandbox.test/sandbox/checkout/{sub_link['session_id']}/complete")
        await call("confirm_subscription_checkout", body={"session_id": sub_link["session_id"]})
    reseller = create_app(tokens=("sk_t",), reseller_tokens=("sk_r",), rate_limit=False, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=reseller), base_url="http://sandbox.test" + API,
                                 headers={"Authorization": "Bearer sk_r"}) as client:
        await client.post("/wallet/fund", content=wire.dumps({"amount": 20, "payment_method_id": "pm_card_visa"}))
        r = await client.post("/wallet/withdraw", content=wire.dumps({"amount": 5}))
        assert r.status_code == 200
        REGISTRY.get("withdraw").result.model_validate(wire.loads(r.content)["data"])
        seen["withdraw"] = True
    reseller.state.sandbox.ledger.check_invariants()
    assert set(seen) == {op.name for op in REGISTRY}
