"""Token scopes are derived from the declarations: every operation and tool action has one, none can be forgotten.

The scope area is declared with each group (``describe_group(..., scope=...)``) and the operations a workflow
action may call with the action (``CustomAction(..., calls=...)``); ``scopes.py`` keeps no list of its own.
Each workflow is also run against the real sandbox with a token holding exactly its derived scopes: the
sandbox enforces them as ModelsLab does (403 ``insufficient_scope``), so a call the declaration forgot fails.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from agent_billing.audit import MemoryAuditLog
from agent_billing.inprocess import sandbox_clients
from agent_billing.provider import get_provider, provider_names
from agent_billing.providers.modelslab import actions as modelslab_actions
from agent_billing.providers.modelslab import scopes
from agent_billing.registry import Effect, Operation, get_registry
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit
from agent_billing.tools.actions import ADVISOR, action_names

WITH_SCOPES = [name for name in provider_names() if get_provider(name).part("scopes") is not None]


@pytest.mark.parametrize("provider", WITH_SCOPES)
def test_every_operation_and_action_has_a_known_scope(provider: str) -> None:
    registry = get_registry(provider)
    table = get_provider(provider).part("scopes")
    actions = get_provider(provider).part("actions")
    names = action_names(registry, actions.ACTIONS if actions else [])
    assert len(names) == len(registry) + len(actions.ACTIONS if actions else []) + bool(registry.advisor)
    for name in names:
        needed = table.action_scopes(name, registry.operations)  # type: ignore[union-attr]
        assert needed <= table.SCOPES, name  # type: ignore[union-attr]
        assert needed or name == ADVISOR, f"{name} would be offered to a token of any scope"


def test_the_derived_scopes_are_the_ones_modelslab_documents() -> None:
    # The table the hand-kept lists gave (issue 21: behaviour unchanged), and the documented scope names.
    assert {f"{area}:{level}" for area in ("billing", "wallet", "subscriptions")
                             for level in ("read", "write")} == scopes.SCOPES
    registry = get_registry("modelslab")
    got = {name: sorted(scopes.action_scopes(name, registry.operations))
           for name in action_names(registry, modelslab_actions.ACTIONS)}
    expected = {
        "payment_links.create": ["billing:write"], "payment_links.confirm_fund": ["billing:write"],
        "payment_links.confirm_subscribe": ["billing:write"], "payment_links.handoff": ["billing:write"],
        "payment_links.wait": ["billing:write"], "payment_path.advise": [],
        "wallet.ensure_funded": ["billing:read", "billing:write", "wallet:read", "wallet:write"],
        "wallet.fund_via_human": ["billing:write"], "wallet.payment_status": ["wallet:read"],
        "wallet.enable_auto_funding": ["wallet:write"], "wallet.disable_auto_funding": ["wallet:write"]}
    assert {name: got[name] for name in expected} == expected
    assert got["coupons.validate"] == ["wallet:read"] and got["coupons.redeem"] == ["wallet:write"]
    assert got["payment_methods.list"] == ["billing:read"] and got["invoices.pdf"] == ["billing:read"]
    assert got["subscriptions.plans"] == ["subscriptions:read"] and got["billing.update_info"] == ["billing:write"]


def test_a_workflow_action_that_declares_no_calls_is_an_error_not_an_open_door(monkeypatch: pytest.MonkeyPatch) -> None:
    forgotten = dataclasses.replace(modelslab_actions.ACTIONS[0], action="handoff_again", calls=None)
    monkeypatch.setattr(modelslab_actions, "ACTIONS", [*modelslab_actions.ACTIONS, forgotten])
    with pytest.raises(KeyError, match="declares no calls"):
        scopes.action_scopes("payment_links.handoff_again", get_registry("modelslab").operations)
    client, _ = sandbox_clients(create_app(rate_limit=False))
    with pytest.raises(KeyError, match="declares no calls"):  # a scoped toolkit is never built with it
        BillingToolkit(client=client, audit=MemoryAuditLog(), scopes=["wallet:read"])


def test_an_operation_in_a_group_without_a_scope_area_is_an_error() -> None:
    registry = get_registry("modelslab")
    template = registry.get("get_wallet_balance")
    new = dataclasses.replace(template, name="list_vouchers", group="vouchers", action="list")
    with pytest.raises(KeyError, match="declares no scope area"):
        scopes.operation_scope(new)
    assert scopes.operation_scope(dataclasses.replace(template, name="wallet_limits", action="limits")) == "wallet:read"


def test_a_conditional_effect_needs_write() -> None:
    redeem: Operation = get_registry("modelslab").get("redeem_coupon")
    assert redeem.effect is Effect.WRITE and redeem.effect_for is not None
    assert scopes.operation_scope(dataclasses.replace(redeem, effect=Effect.READ)) == "wallet:write"


WORKFLOW_RUNS: dict[str, dict[str, Any]] = {
    "payment_links.handoff": {"purpose": "fund", "amount": 25},
    "payment_links.wait": {"session_id": "<handoff>", "timeout_seconds": 1},
    "wallet.ensure_funded": {"job_cost": 5},
    "wallet.fund_via_human": {"amount": 40},
}


@pytest.mark.parametrize("name", [f"{a.group}.{a.action}" for a in modelslab_actions.ACTIONS])
def test_each_workflow_runs_with_exactly_its_derived_scopes(name: str) -> None:
    registry = get_registry("modelslab")
    needed = sorted(scopes.action_scopes(name, registry.operations))
    app = create_app(rate_limit=False, scoped_tokens={"sk_scoped": needed, "sk_linker": ["billing:write"]})
    client, _ = sandbox_clients(app, token="sk_scoped")
    toolkit = BillingToolkit(client=client, audit=MemoryAuditLog(), scopes=needed, wait_timeout=0.05,
                             poll_interval=(0.001, 0.001))
    group, _, action = name.partition(".")
    assert toolkit.allows(group, action)
    raw = dict(WORKFLOW_RUNS[name])
    if raw.get("session_id") == "<handoff>":
        linker, _ = sandbox_clients(app, token="sk_linker")
        raw["session_id"] = linker.create_payment_link(purpose="fund", amount=25).session_id
    custom = next(a for a in modelslab_actions.ACTIONS if f"{a.group}.{a.action}" == name)
    outcome = toolkit.run_flow(custom.flow(toolkit, raw, None))
    assert outcome.content.get("error") != "insufficient_scope", outcome.content
    assert outcome.content.get("status") in (None, "pending", "needs_human_payment"), outcome.content
    narrower = [scope for scope in needed if scope != max(needed)]
    assert not BillingToolkit(client=client, audit=MemoryAuditLog(), scopes=narrower).allows(group, action)


def test_a_scoped_toolkit_with_limits_offers_the_dry_run_to_a_token_that_can_read_its_group() -> None:
    """``check_spend`` (added with a mandate) moves nothing but makes the reads a charge's intent needs: it needs
    its group's read scope, and a scoped toolkit with a mandate is built (it raised KeyError for the dry run)."""
    from agent_billing.guardrails.mandate import Mandate

    client, _ = sandbox_clients(create_app(rate_limit=False))
    mandate = Mandate(max_per_charge=50, auto_approve=True)
    reader = BillingToolkit(client=client, audit=MemoryAuditLog(), scopes=["wallet:read"], mandate=mandate)
    assert reader.allows("wallet", "check_spend") and not reader.allows("wallet", "fund")
    other = BillingToolkit(client=client, audit=MemoryAuditLog(), scopes=["billing:read"], mandate=mandate)
    assert not other.allows("wallet", "check_spend")
    # A token that may fund gets the dry run of the top-up through the same tool; it moves nothing.
    writer = BillingToolkit(client=client, audit=MemoryAuditLog(), mandate=mandate,
                            scopes=["wallet:read", "wallet:write", "billing:read"])
    verdict = writer.get_tool("wallet").invoke({"action": "check_spend", "check": "fund", "amount": 25,
                                                "payment_method_id": "pm_card_visa"})
    assert '"check":"allowed"' in str(verdict) and '"moved":false' in str(verdict), verdict
    assert client.get_wallet_balance().balance == 0
