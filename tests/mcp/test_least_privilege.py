"""Least privilege in the toolkit: action allowlists, presets and token scopes (against the real sandbox)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.utils.function_calling import convert_to_openai_tool
from tests.conftest import TOKEN
from tests.tools import conftest as tool_fixtures
from tests.tools.conftest import MakeToolkit, call

from agent_billing.audit import MemoryAuditLog
from agent_billing.errors import InsufficientScopeError
from agent_billing.guardrails.mandate import Mandate
from agent_billing.inprocess import sandbox_clients
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit
from agent_billing.tools.shaping import error_content

clients, make_toolkit = tool_fixtures.clients, tool_fixtures.make_toolkit  # the tool tests' fixtures, for pytest


def surface(toolkit: BillingToolkit) -> str:
    """Everything a model reads about the tools: names, descriptions and schemas."""
    return json.dumps([convert_to_openai_tool(tool) for tool in toolkit.get_tools()])


def test_read_only_preset_hides_every_mutation(make_toolkit: MakeToolkit) -> None:
    toolkit = make_toolkit(actions="read_only", approval=lambda request: True)
    assert [tool.name for tool in toolkit.get_tools()] == ["billing", "payment_methods", "invoices", "wallet",
                                                           "coupons", "subscriptions", "payment_path"]
    for tool in toolkit.get_tools()[:-1]:
        function = convert_to_openai_tool(tool)["function"]
        schema = function["parameters"]["properties"]["action"]
        for action in schema.get("enum") or [schema["const"]]:
            assert toolkit.registry.by_action(tool.name, action).effect.value == "read", (tool.name, action)
        for hidden in ("fund", "withdraw", "remove", "pause", "redeem", "handoff", "ensure_funded"):
            assert f" {hidden}:" not in function["description"] and f" {hidden}*:" not in function["description"]
        assert "needs approval" not in function["description"].replace("(*: needs approval)", "")
    content, _ = call(toolkit.get_tool("wallet"), action="balance")
    assert content["ok"] is True


def test_hidden_action_is_refused_and_moves_nothing(make_toolkit: MakeToolkit, client: Any) -> None:
    toolkit = make_toolkit(actions="read_only", mandate=Mandate(max_per_charge=100, auto_approve=True),
                           approval=lambda request: True)
    content, message = call(toolkit.get_tool("wallet"), action="fund", amount=25)
    assert message.status == "error" and content["ok"] is False
    assert content["error"] == "validation_error"  # the schema the model has offers no "fund"
    # The flow itself refuses too, should anything get past the schema.
    outcome = toolkit.run_flow(toolkit._flow_for("wallet")({"action": "fund", "amount": 25}, None))
    assert outcome.content["error"] == "action_not_allowed"
    assert client.get_wallet_balance().balance == 0


def test_chatbot_preset_offers_handoff_and_wait_only_among_mutations(make_toolkit: MakeToolkit) -> None:
    toolkit = make_toolkit(actions="chatbot")
    links = convert_to_openai_tool(toolkit.get_tool("payment_links"))["function"]
    assert links["parameters"]["properties"]["action"]["enum"] == ["handoff", "wait"]
    wallet = convert_to_openai_tool(toolkit.get_tool("wallet"))["function"]
    assert wallet["parameters"]["properties"]["action"]["enum"] == ["balance", "transactions", "payment_status"]
    assert "amount" not in wallet["parameters"]["properties"]  # only hidden actions used it
    content, _ = call(toolkit.get_tool("payment_links"), action="handoff", purpose="fund", amount=25)
    assert content["payment_url"].startswith("http")
    content, message = call(toolkit.get_tool("payment_links"), action="create", purpose="fund", amount=25)
    assert message.status == "error"


def test_autonomous_preset_and_globs(make_toolkit: MakeToolkit) -> None:
    auto = make_toolkit(actions="autonomous")
    assert auto.allows("wallet", "fund") and auto.allows("wallet", "ensure_funded")
    assert not auto.allows("wallet", "withdraw") and not auto.allows("payment_links", "handoff")
    globbed = make_toolkit(actions=["wallet.*", "payment_path.advise"])
    assert [tool.name for tool in globbed.get_tools()] == ["wallet", "payment_path"]
    per_op = make_toolkit(actions="read_only", granularity="operation")
    names = {tool.name for tool in per_op.get_tools()}
    assert "get_wallet_balance" in names and "fund_wallet" not in names


def test_unknown_action_pattern_is_an_error(make_toolkit: MakeToolkit) -> None:
    with pytest.raises(ValueError, match="matches no action"):
        make_toolkit(actions=["wallet.fnud"])


def test_middleware_asks_nothing_for_hidden_actions(make_toolkit: MakeToolkit) -> None:
    toolkit = make_toolkit(actions="read_only", approval="middleware")
    outcome = toolkit.run_flow(toolkit.approval_request("wallet", {"action": "fund", "amount": 25}))
    assert outcome.content == {"request": None}


def test_scoped_token_gets_insufficient_scope_with_its_next_step() -> None:
    app = create_app(tokens=(TOKEN,), scoped_tokens={"sk_reader": ["wallet:read"]}, rate_limit=False)
    reader, _ = sandbox_clients(app, token="sk_reader")
    assert reader.get_wallet_balance().balance == 0
    with pytest.raises(InsufficientScopeError) as caught:
        reader.fund_wallet(amount=25, payment_method_id="pm_card_visa")
    assert caught.value.scope == "wallet:write" and caught.value.status == 403
    content = error_content(caught.value, "fund_wallet")
    assert content["error"] == "insufficient_scope"
    assert "re-authenticate with scope wallet:write; do not retry" in content["next_step"]
    # Through the toolkit (an ungated write): the typed error and its next step reach the agent.
    toolkit = BillingToolkit(client=reader, audit=MemoryAuditLog())
    content, message = call(toolkit.get_tool("payment_methods"), action="setup_intent")
    assert message.status == "error" and content["error"] == "insufficient_scope"
    assert "re-authenticate with scope billing:write; do not retry" in content["next_step"]
    assert reader.get_wallet_balance().balance == 0
    reader.close()


def test_scopes_hide_what_the_token_cannot_call(make_toolkit: MakeToolkit) -> None:
    toolkit = make_toolkit(scopes=["wallet:read", "billing:read"])
    assert toolkit.allows("wallet", "balance") and toolkit.allows("invoices", "list")
    assert not toolkit.allows("wallet", "fund") and not toolkit.allows("subscriptions", "plans")
    assert "subscriptions" not in [tool.name for tool in toolkit.get_tools()]
    writer = make_toolkit(scopes=["wallet:read", "wallet:write"])
    assert writer.allows("wallet", "fund")
    assert not writer.allows("wallet", "ensure_funded")  # may fall back to a payment link: billing:write
    with pytest.raises(ValueError, match="unknown scope"):
        make_toolkit(scopes=["wallet:admin"])


# --- presets are each provider's declaration


@pytest.mark.parametrize("provider", ["modelslab", "wallgent", "tenex"])
def test_every_declared_preset_entry_names_an_action_of_its_provider(provider: str) -> None:
    from agent_billing.registry import get_registry
    from agent_billing.tools.actions import PRESETS, action_names
    from agent_billing.tools.toolkit import BillingToolkit as Toolkit

    registry = get_registry(provider)
    client = sandbox_clients(create_app(rate_limit=False), provider=provider)[0]
    names = action_names(registry, Toolkit(client=client, audit=MemoryAuditLog()).custom_actions or [])
    for preset, patterns in registry.presets.items():
        assert preset in PRESETS, (provider, preset)
        for pattern in patterns:
            matched = [name for name in names if name == pattern]
            assert matched and not all(names[name] for name in matched), (provider, preset, pattern)


def test_wallgent_presets_hand_off_and_retry_only() -> None:
    client, aclient = sandbox_clients(create_app(rate_limit=False), provider="wallgent")

    def offered(actions: str) -> dict[str, list[str]]:
        toolkit = BillingToolkit(client=client, async_client=aclient, actions=actions, audit=MemoryAuditLog())
        return {tool.name: sorted(tool.args_schema.model_json_schema()["properties"]["action"]["enum"])  # type: ignore[union-attr]
                for tool in toolkit.get_tools() if tool.name != "payment_path"}

    assert offered("chatbot") == {"billing": ["checkout", "get", "portal"], "invoices": ["get", "list"]}
    assert offered("autonomous") == {"billing": ["get", "retry_payment"], "invoices": ["get", "list"]}
    assert offered("read_only") == {"billing": ["get"], "invoices": ["get", "list"]}
