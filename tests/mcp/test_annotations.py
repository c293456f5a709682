"""MCP hints and titles come from declarations: the operations' effects, each custom action's own flags, and
the group titles a provider declares. Hosts decide what to confirm from them, so they must never understate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agent_billing.audit import MemoryAuditLog
from agent_billing.inprocess import sandbox_clients
from agent_billing.mcp.annotations import operation_hints, tool_annotations
from agent_billing.registry import get_registry, provider_names
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app(rate_limit=False)


@pytest.fixture
def toolkit_for(app: Any) -> Iterator[Any]:
    clients: list[Any] = []

    def make(provider: str, actions: str | list[str] = "full") -> BillingToolkit:
        client, aclient = sandbox_clients(app, provider=provider)
        clients.append(client)
        return BillingToolkit(client=client, async_client=aclient, actions=actions, audit=MemoryAuditLog())

    yield make
    for client in clients:
        client.close()


@pytest.mark.parametrize("provider", provider_names())
def test_no_tool_understates_what_its_actions_do(provider: str, toolkit_for: Any) -> None:
    toolkit = toolkit_for(provider)
    registry = toolkit.registry
    for tool in toolkit.get_tools():
        hints = tool_annotations(toolkit, tool.name)
        ops = [op for op in registry.groups().get(tool.name, []) if toolkit.allows(tool.name, op.action)]
        actions = [c for c in toolkit.custom_actions or [] if c.group == tool.name and toolkit.allows(c.group, c.action)]
        if any(not operation_hints(op)[0] for op in ops) or any(not c.reads for c in actions):
            assert hints.read_only_hint is False, tool.name
        if any(operation_hints(op)[1] for op in ops) or any(c.gated for c in actions):
            assert hints.destructive_hint is True, tool.name
        if any(not operation_hints(op)[2] for op in ops) or any(not c.hints()[2] for c in actions):
            assert hints.idempotent_hint is False, tool.name
        # Every group a provider declares a title for is shown with it; the rest are titled from the name.
        if tool.name in registry.group_titles:
            assert hints.title == registry.group_titles[tool.name]
        assert hints.title


def test_a_custom_action_declares_its_own_hints(toolkit_for: Any) -> None:
    """The wait is idempotent (it confirms a paid checkout once, however often it runs); the handoff is not."""
    only_wait = toolkit_for("modelslab", ["payment_links.wait"])
    both = toolkit_for("modelslab", ["payment_links.wait", "payment_links.handoff"])
    assert tool_annotations(only_wait, "payment_links").idempotent_hint is True
    assert tool_annotations(both, "payment_links").idempotent_hint is False
    ensure = toolkit_for("modelslab", ["wallet.ensure_funded"])
    assert tool_annotations(ensure, "wallet").destructive_hint is True  # gated: it may charge


def test_titles_are_declared_by_the_provider() -> None:
    assert get_registry("wallgent").group_title("billing") == "Wallgent plan and subscription"
    assert get_registry("modelslab").group_title("payment_links") == "Payment links for a person to pay"


def test_the_read_only_10ex_surface_is_read_only_everywhere(toolkit_for: Any) -> None:
    toolkit = toolkit_for("tenex", "read_only")
    assert all(tool_annotations(toolkit, tool.name).read_only_hint for tool in toolkit.get_tools())
