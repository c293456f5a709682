"""Money is Decimal end to end: parsing, bounds, and the two-decimal wire form."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_billing import InvalidRequestError
from agent_billing.exchange import prepare
from agent_billing.money import format_usd, to_decimal, wire_amount
from agent_billing.registry import get_registry
from agent_billing.wire import dumps, loads

FUND = get_registry().get("fund_wallet")


@pytest.mark.parametrize("value", [-5, 0, "9.99", 9.99, "10.005", 10.005, float("nan"), "NaN", float("inf"),
                                   "Infinity", True, "ten", None, [10], "10000.01"])
def test_bad_amounts_are_refused_before_any_request(value: object) -> None:
    with pytest.raises(InvalidRequestError) as info:
        prepare(FUND, {"amount": value})
    assert "amount" in str(info.value)


@pytest.mark.parametrize("value, wire", [(10, b"10.00"), ("25.5", b"25.50"), (25.1, b"25.10"),
                                         (Decimal("9999.99"), b"9999.99"), ("$12", b"12.00"), ("1e3", b"1000.00")])
def test_amounts_go_on_the_wire_with_two_decimals(value: object, wire: bytes) -> None:
    call = prepare(FUND, {"amount": value})
    assert call.body == b'{"amount":' + wire + b"}"


@given(st.decimals(min_value=Decimal("10"), max_value=Decimal("10000"), places=2))
def test_every_valid_amount_round_trips_exactly(amount: Decimal) -> None:
    call = prepare(FUND, {"amount": amount})
    assert call.body is not None
    assert loads(call.body)["amount"] == amount


def test_floats_are_never_sent() -> None:
    with pytest.raises(TypeError):
        dumps({"amount": 1.5})


def test_wire_reads_numbers_as_decimal() -> None:
    assert loads(b'{"balance": 75.50, "n": 3}') == {"balance": Decimal("75.50"), "n": 3}


def test_to_decimal_and_format() -> None:
    assert to_decimal(0.1) == Decimal("0.1")
    assert wire_amount(Decimal("7.5")) == Decimal("7.50")
    assert format_usd(Decimal("1234.5")) == "$1,234.50"


@pytest.mark.parametrize("name, args, field", [
    ("set_default_payment_method", {"payment_method_id": "pm-123"}, "payment_method_id"),
    ("confirm_wallet_checkout", {"session_id": "cs_"}, "session_id"),
    ("get_payment_status", {"payment_intent_id": "abc"}, "payment_intent_id"),
    ("create_subscription", {"plan_id": 0}, "plan_id"),
    ("create_subscription", {"plan_id": "ten"}, "plan_id"),
    ("create_subscription", {"plan_id": 10, "success_url": "http://evil.example"}, "success_url"),
    ("get_wallet_transactions", {"limit": 201}, "limit"),
    ("create_payment_link", {"purpose": "fund", "plan_id": 10}, "(arguments)"),
    ("fund_wallet", {"amount": 25, "approved": True}, "approved"),
    ("redeem_coupon", {"coupon_code": "WELCOME50", "purchase_amount": 20}, "(arguments)"),
    ("update_billing_info", {}, "(arguments)"),
])
def test_malformed_arguments_name_the_field(name: str, args: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        prepare(get_registry().get(name), args)
    fields = [e["field"] for e in info.value.details["errors"]]
    assert field in fields


def test_validation_errors_do_not_echo_values() -> None:
    with pytest.raises(InvalidRequestError) as info:
        prepare(get_registry().get("update_billing_info"), {"email": "not-an-email-SECRETVALUE"})
    assert "SECRETVALUE" not in str(info.value)


def test_action_required_shape_is_the_providers_declaration() -> None:
    # The 3-D Secure shape is ModelsLab's declaration: its calls raise, a provider that declares no such
    # shape gets its answer as data (the core used to apply ModelsLab's shape to every provider).
    import dataclasses

    import httpx

    from agent_billing import ActionRequiredError
    from agent_billing.exchange import interpret

    registry = get_registry("modelslab")
    body: dict[str, Any] = {"data": {"payment": {"status": "requires_action", "payment_intent_id": "pi_9"}, "message": "3DS"}}
    call = prepare(registry.get("get_wallet_balance"), {}, conventions=registry.wire)
    with pytest.raises(ActionRequiredError) as info:
        interpret(call, httpx.Response(202, json=body))
    assert info.value.payment_intent_id == "pi_9" and info.value.message == "3DS"
    plain = prepare(registry.get("get_wallet_balance"), {},
                    conventions=dataclasses.replace(registry.wire, action_required=None))
    body["data"].update(balance=1, currency="USD")
    assert interpret(plain, httpx.Response(200, json=body)).model_dump()["balance"] == Decimal("1")
