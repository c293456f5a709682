"""The registry: all 34 operations of the reference table, declared once, and what is derived from it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from agent_billing.codegen import render_client_methods, target_of
from agent_billing.providers.modelslab.limits import BILLING
from agent_billing.registry import Effect, get_registry

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "modelslab-billing-subscriptions-skill.md"
REGISTRY = get_registry("modelslab")


def reference_endpoints() -> set[tuple[str, str]]:
    """(method, path) pairs of the reference skill's 'API Endpoints Reference' table, ids normalised."""
    text = REFERENCE.read_text()
    table = text.split("## API Endpoints Reference", 1)[1].split("## ", 1)[0]
    rows = re.findall(r"^\| (GET|POST|PUT|DELETE) \| `([^`]+)` \|", table, flags=re.M)
    return {(method, re.sub(r"{[^}]+}", "{}", path)) for method, path in rows}


@pytest.mark.skipif(not REFERENCE.exists(), reason="shared reference not present")
def test_registry_matches_the_reference_endpoint_table() -> None:
    declared = {(op.method, re.sub(r"{[^}]+}", "{}", op.path)) for op in REGISTRY}
    assert len(reference_endpoints()) == 34
    assert declared == reference_endpoints()


def test_names_follow_the_reference_helpers() -> None:
    names = {op.name for op in REGISTRY}
    for helper in ("get_billing_overview", "get_wallet_balance", "fund_wallet", "create_payment_link",
                   "confirm_wallet_checkout", "list_plans", "create_subscription", "charge_subscription_amount"):
        assert helper in names


def test_effects_of_money_moving_operations() -> None:
    effects = {op.name: op.effect for op in REGISTRY}
    assert effects["fund_wallet"] is Effect.CHARGE
    assert effects["enable_auto_funding"] is Effect.AUTHORIZE
    assert effects["withdraw"] is Effect.PAYOUT
    assert effects["remove_payment_method"] is Effect.DESTRUCTIVE
    assert effects["get_wallet_balance"] is Effect.READ
    assert effects["create_payment_link"] is Effect.WRITE
    redeem = REGISTRY.get("redeem_coupon")
    plain = redeem.validate({"coupon_code": "WELCOME50"})
    bonus = redeem.validate({"coupon_code": "WELCOME50", "purchase_amount": "20", "payment_method_id": "pm_card_visa"})
    assert redeem.effect_of(plain) is Effect.WRITE
    assert redeem.effect_of(bonus) is Effect.CHARGE


def test_every_billing_mutation_counts_against_the_billing_limiter() -> None:
    for op in REGISTRY:
        if op.effect in (Effect.CHARGE, Effect.AUTHORIZE, Effect.PAYOUT):
            assert op.limiter == BILLING, op.name


def test_duplicate_declarations_are_refused() -> None:
    op = REGISTRY.get("fund_wallet")
    with pytest.raises(ValueError, match="declared twice"):
        REGISTRY.add(op)


def test_generated_client_methods_match_the_registry() -> None:
    assert target_of(REGISTRY)[0].read_text() == render_client_methods(REGISTRY), "run: python -m agent_billing.codegen"


def test_codegen_check_mode_reports_no_drift() -> None:
    result = subprocess.run([sys.executable, "-m", "agent_billing.codegen", "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_client_methods_are_typed_and_discoverable() -> None:
    import inspect

    from agent_billing import AsyncBillingClient, BillingClient

    sig = inspect.signature(BillingClient.fund_wallet)
    assert list(sig.parameters) == ["self", "amount", "payment_method_id", "idempotency_key"]
    assert sig.parameters["idempotency_key"].kind is inspect.Parameter.KEYWORD_ONLY
    assert sig.return_annotation == "r.Charge"
    assert inspect.iscoroutinefunction(AsyncBillingClient.fund_wallet)
    for op in REGISTRY:
        assert callable(getattr(BillingClient, op.name)) and callable(getattr(AsyncBillingClient, op.name))
