"""One contract for ``ModelsLabClient.call``: a mapping or a model, it is always guarded and validated."""

from __future__ import annotations

import traceback
from decimal import Decimal
from typing import Any

import pytest

from agent_billing.errors import BillingError, CardDataRefusedError, InvalidRequestError
from agent_billing.providers.modelslab.arguments import BillingInfoArgs, FundWalletArgs
from agent_billing.providers.modelslab.client import ModelsLabClient


def _digits() -> str:
    return "".join(["4242"] * 4)  # built here, so no test frame holds the number


def test_a_model_carrying_card_data_is_refused(client: ModelsLabClient) -> None:
    smuggled = BillingInfoArgs.model_construct(name=f"card {_digits()}")  # construct() skips validation
    with pytest.raises(CardDataRefusedError):
        client.call("update_billing_info", smuggled)
    assert client.get_billing_info().name is None


def test_a_model_with_invalid_values_is_validated(client: ModelsLabClient) -> None:
    too_small = FundWalletArgs.model_construct(amount=Decimal("1"))
    with pytest.raises(InvalidRequestError):
        client.call("fund_wallet", too_small)
    assert client.get_wallet_transactions().items == []


def test_no_frame_of_a_card_refusal_holds_the_digits(client: ModelsLabClient) -> None:
    def attempt() -> BillingError:
        try:
            client.call("update_billing_info", {"address_line1": f"{_digits()[:8]} {_digits()[8:]}"})
        except CardDataRefusedError as exc:
            return exc
        raise AssertionError("not refused")

    error = attempt()
    seen: list[str] = []
    for frame, _ in traceback.walk_tb(error.__traceback__):
        seen.extend(repr(value) for value in frame.f_locals.values())
    assert seen and not any("42424242" in text.replace(" ", "") for text in seen)
    assert "4242" not in str(error)


def test_the_private_path_is_not_public(client: ModelsLabClient) -> None:
    public: dict[str, Any] = {name: getattr(client, name) for name in dir(client) if not name.startswith("_")}
    assert "send" not in public and "call" in public


def test_money_bounds_read_as_money(client: ModelsLabClient) -> None:
    with pytest.raises(InvalidRequestError) as info:
        client.fund_wallet(Decimal("5"))
    assert "$10.00" in info.value.message and "Decimal(" not in info.value.message


def test_no_frame_of_a_typed_methods_refusal_holds_the_digits(client: ModelsLabClient) -> None:
    def attempt() -> BillingError:
        try:
            client.update_billing_info(address_line2=f"card {_digits()}")
        except CardDataRefusedError as exc:
            return exc
        raise AssertionError("not refused")

    error = attempt()
    seen = [repr(value) for frame, _ in traceback.walk_tb(error.__traceback__) for value in frame.f_locals.values()]
    assert len(seen) > 1 and not any("42424242" in text.replace(" ", "") for text in seen)
