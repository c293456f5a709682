"""The sandbox wallet and policy controls: approval required (202) and maxTransactionAmount (403) move nothing."""

from __future__ import annotations

import pytest
from sandbox_helpers import FakeClock
from starlette.applications import Starlette
from wallgent_helpers import DAY, VISA, WALLET, Wallgent, billing_of


async def test_set_the_wallet_balance(wg: Wallgent, app: Starlette) -> None:
    assert await wg.ok("POST", "/sandbox/wallet", json={"balance": "1234.50"}) == {"walletBalance": "1234.50"}
    assert await wg.ok("POST", "/sandbox/wallet", json={"balance": "0"}) == {"walletBalance": "0.00"}
    assert (await wg.wallet()) == "0.00"
    assert billing_of(app).store.wallet_entry_count(1) == 3  # opening credit, credit, debit


@pytest.mark.parametrize("balance", ["-1.00", "1.001", "abc", True, None, "1000000.01", [1]])
async def test_wallet_balance_must_be_an_amount(wg: Wallgent, balance: object) -> None:
    await wg.err("POST", "/sandbox/wallet", 400, "VALIDATION_ERROR", json={"balance": balance})


async def test_a_transaction_cap_denies_larger_charges(wg: Wallgent, app: Starlette) -> None:
    policy = await wg.ok("POST", "/sandbox/policy", json={"maxTransactionAmount": "100.00"})
    assert policy == {"requireHumanApproval": False, "maxTransactionAmount": "100.00"}
    error = await wg.err("POST", "/billing/subscribe", 403, "POLICY_DENIED", json={**VISA, "plan": "GROWTH"})
    assert error["details"] == {"policy": "maxTransactionAmount", "limit": "100.00", "amount": "249.00"}
    await wg.ok("POST", "/billing/subscribe", json=VISA)  # 99.00 is under the cap
    await wg.err("POST", "/billing/change-plan", 403, "POLICY_DENIED", json={"plan": "GROWTH"})  # 150.00 now
    assert (await wg.ok("POST", "/sandbox/policy", json={"maxTransactionAmount": None}))["maxTransactionAmount"] is None
    assert (await wg.ok("POST", "/billing/change-plan", json={"plan": "GROWTH"}))["prorationCharge"] == "150.00"
    assert billing_of(app).store.charge_count(1) == 2


async def test_approval_required_moves_no_money_anywhere(wg: Wallgent, app: Starlette, clock: FakeClock) -> None:
    await wg.ok("POST", "/billing/subscribe", json=WALLET)
    await wg.ok("POST", "/sandbox/fail-next-renewal")
    await wg.ok("POST", "/sandbox/advance")
    await wg.ok("POST", "/sandbox/policy", json={"requireHumanApproval": True})
    before = billing_of(app).store.charge_count(1)
    error = await wg.err("POST", "/billing/retry-payment", 202, "APPROVAL_REQUIRED")
    assert error["details"] == {"policy": "requireHumanApproval", "amount": "99.00"}
    clock.advance(DAY)
    await wg.err("POST", "/billing/change-plan", 202, "APPROVAL_REQUIRED", json={"plan": "GROWTH"})
    assert billing_of(app).store.charge_count(1) == before
    info = await wg.billing()
    assert (info["plan"], info["billingStatus"], (await wg.wallet())) == ("STARTER", "PAST_DUE", "401.00")
    # Downgrades, cancels and card changes move no money: no approval needed.
    await wg.ok("POST", "/billing/cancel")
    await wg.ok("POST", "/sandbox/policy", json={"requireHumanApproval": False})
    assert (await wg.ok("POST", "/billing/retry-payment"))["billingStatus"] == "ACTIVE"


async def test_approval_required_on_subscribe_and_checkout_completion(wg: Wallgent, app: Starlette) -> None:
    url = (await wg.ok("POST", "/billing/checkout", json={"plan": "STARTER"}))["url"]
    session_id = url.rsplit("/", 1)[1]
    await wg.ok("POST", "/sandbox/policy", json={"requireHumanApproval": True, "maxTransactionAmount": "500.00"})
    await wg.err("POST", "/billing/subscribe", 202, "APPROVAL_REQUIRED", json=VISA)
    await wg.err("POST", f"/sandbox/checkout/{session_id}/complete", 202, "APPROVAL_REQUIRED")
    assert billing_of(app).store.charge_count(1) == 0 and (await wg.billing())["plan"] == "FREE"
    await wg.err("POST", "/sandbox/policy", 400, "VALIDATION_ERROR", json={"requireHumanApproval": "yes"})
