"""A provider is a package: the test-only Acme, installed only through the entry point, gets every power.

Nothing outside ``tests/providers/acme_provider`` names it. Through public extension points alone it gets
tools, the guardrails (card guard, approval, idempotency: see test_guards_on_every_provider.py; the mandate
here), prompts, MCP serving over the official ``mcp`` client, and the demo's sandbox (in process, and the
banner ``agent-billing sandbox`` prints).
"""

from __future__ import annotations

from decimal import Decimal
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from tests.mcp.mcp_helpers import memory_calls
from tests.tools.conftest import call

from agent_billing.audit import MemoryAuditLog
from agent_billing.guardrails.mandate import Mandate
from agent_billing.guardrails.pending_outcomes import PendingOutcomes
from agent_billing.inprocess import sandbox_clients
from agent_billing.mcp.server import BillingMCPServer
from agent_billing.prompts import default_tools, load_prompt
from agent_billing.provider import ENTRY_POINT_GROUP, get_provider, provider_names
from agent_billing.sandbox import create_app
from agent_billing.sandbox.app import sandbox_builders
from agent_billing.tools import BillingToolkit

PACKAGE = Path(__file__).resolve().parent / "acme_provider"
PLUGIN = Path(__file__).resolve().parents[2] / "plugin"


def _toolkit(tmp_path: Path, **kwargs: object) -> tuple[BillingToolkit, object]:
    app = create_app(rate_limit=False)
    client, _ = sandbox_clients(app, provider="acme")
    kwargs.setdefault("audit", MemoryAuditLog())
    return BillingToolkit(client=client, pending_outcomes=PendingOutcomes(tmp_path / "p.db"), **kwargs), app  # type: ignore[arg-type]


def test_it_is_found_through_the_entry_point_only() -> None:
    assert [e.value for e in entry_points(group=ENTRY_POINT_GROUP) if e.name == "acme"] == [
        "tests.providers.acme_provider:PROVIDER"]
    assert "acme" in provider_names() and get_provider("acme").registry.provider == "acme"
    assert not [p for p in PLUGIN.rglob("*") if p.is_file() and p.suffix in (".py", ".json", ".toml", ".md")
                and "acme_provider" in p.read_text(encoding="utf-8", errors="replace")]


def test_it_gets_tools_from_its_declarations(tmp_path: Path) -> None:
    toolkit, _ = _toolkit(tmp_path)
    assert {tool.name for tool in toolkit.get_tools()} == set(get_provider("acme").registry.group_descriptions)
    assert set(default_tools("acme")) == {"membership", "credits"}


def test_its_sandbox_is_mounted_and_announced() -> None:
    app = create_app(rate_limit=False)
    client, _ = sandbox_clients(app, provider="acme")
    assert client.call("get_account").nickname == "Acme account"
    part = [b() for ref, b in sandbox_builders().items() if ref.startswith("tests.providers.acme_provider")]
    assert part[0].banner("http://127.0.0.1:8787") == ["  Acme API          http://127.0.0.1:8787/acme/acme-api"]


def test_its_prompts_carry_its_facts_and_tools() -> None:
    for language in ("en", "zh"):
        text = load_prompt("system", language, provider="acme", product_name="Shop")
        assert "membership" in text and "credits" in text


def test_the_mandate_holds_on_its_charge(tmp_path: Path) -> None:
    mandate = Mandate(max_per_charge=Decimal("3"))
    toolkit, app = _toolkit(tmp_path, mandate=mandate, approval=lambda r: True)
    content, _ = call(toolkit.get_tool("credits"), action="buy", amount=5, bundle="small", saved_card="pm_card_visa")
    assert content["error"] == "refused" and "above the per-charge limit" in content["message"]
    assert app.state.acme.purchases == []  # type: ignore[attr-defined]


def test_it_is_served_over_mcp(tmp_path: Path) -> None:
    toolkit, _ = _toolkit(tmp_path, approval=lambda r: True)
    server = BillingMCPServer(toolkit)
    (account, error), (refused, _) = memory_calls(server, [
        ("membership", {"action": "get"}),
        ("membership", {"action": "rename", "nickname": "card 4242 4242 4242 4242"}),
    ])
    assert not error and account["result"]["nickname"] == "Acme account"
    assert refused["error"] == "card_data_not_allowed" and "4242" not in str(refused)


def test_its_token_scopes_hide_what_the_token_cannot_call(tmp_path: Path) -> None:
    reader, _ = _toolkit(tmp_path, scopes=["account:read", "credits:read"])
    assert reader.allows("membership", "get") and not reader.allows("membership", "rename")
    assert not reader.allows("credits", "buy") and not reader.allows("credits", "refill")
    buyer, _ = _toolkit(tmp_path, scopes=["credits:write"])
    assert buyer.allows("credits", "buy") and not buyer.allows("credits", "refill")  # refill reads the account too
    both, _ = _toolkit(tmp_path, scopes=["credits:write", "account:read"])
    assert both.allows("credits", "refill")
    with pytest.raises(ValueError, match="unknown scope 'credits:admin'"):
        _toolkit(tmp_path, scopes=["credits:admin"])


def test_its_presets_come_from_its_declarations(tmp_path: Path) -> None:
    chatbot, _ = _toolkit(tmp_path, actions="chatbot")
    assert chatbot.allows("credits", "checkout") and not chatbot.allows("credits", "buy")
    autonomous, _ = _toolkit(tmp_path, actions="autonomous")
    assert autonomous.allows("credits", "refill") and not autonomous.allows("membership", "close")
    read_only, _ = _toolkit(tmp_path, actions="read_only")
    assert not read_only.allows("credits", "refill")  # gated: it may charge


def test_its_workflow_charges_through_the_guard_once(tmp_path: Path) -> None:
    asked: list[str] = []
    toolkit, app = _toolkit(tmp_path, approval=lambda request: asked.append(request.summary) or True)
    purchases = app.state.acme.purchases  # type: ignore[attr-defined]
    args = {"action": "refill", "target": 12, "saved_card": "pm_card_visa"}
    content, _ = call(toolkit.get_tool("credits"), **args)
    assert content["status"] == "refilled" and content["bundle"] == "small" and len(purchases) == 1
    assert len(asked) == 1 and "5" in asked[0]
    again, _ = call(toolkit.get_tool("credits"), **args)
    assert again["status"] == "sufficient" and again["credit_balance"] == "15" and len(purchases) == 1
    card, _ = call(toolkit.get_tool("credits"), action="refill", target=30, saved_card="4242 4242 4242 4242")
    assert card["ok"] is False and "4242 4242" not in str(card) and len(purchases) == 1


def test_its_workflow_is_refused_by_the_mandate_and_by_a_no(tmp_path: Path) -> None:
    args = {"action": "refill", "target": 30, "saved_card": "pm_card_visa"}
    capped, app = _toolkit(tmp_path, mandate=Mandate(max_per_charge=Decimal("10")), approval=lambda r: True)
    content, _ = call(capped.get_tool("credits"), **args)
    assert content["error"] == "refused" and app.state.acme.purchases == []  # type: ignore[attr-defined]
    declined, app = _toolkit(tmp_path, approval=lambda r: False)
    content, _ = call(declined.get_tool("credits"), **args)
    assert content["ok"] is False and app.state.acme.purchases == []  # type: ignore[attr-defined]
