"""The server in-process over the SDK's memory transport (real client and server sessions, no process): the
cases that need a toolkit set up in the test (a covering mandate, token scopes) and the raw-input guard."""

from __future__ import annotations

import json
from typing import Any

from tests.mcp.mcp_helpers import memory_calls
from tests.tools import conftest as tool_fixtures
from tests.tools.conftest import MakeToolkit

from agent_billing.client import BillingClient
from agent_billing.guardrails.mandate import Mandate
from agent_billing.mcp import BillingMCPServer, ElicitationApprover

clients, make_toolkit = tool_fixtures.clients, tool_fixtures.make_toolkit  # the tool tests' fixtures, for pytest


def _calls(server: BillingMCPServer, *calls: tuple[str, dict[str, Any]]) -> list[tuple[dict[str, Any], bool]]:
    """Run tool calls through a client session without elicitation; (content, isError) of each."""
    return memory_calls(server, list(calls))


def test_covering_mandate_charges_without_asking_and_refuses_beyond(make_toolkit: MakeToolkit, client: BillingClient) -> None:
    client.add_payment_method("pm_card_visa", make_default=True)
    toolkit = make_toolkit(approval=ElicitationApprover(), mandate=Mandate(max_per_charge=20, auto_approve=True))
    (inside, inside_error), (beyond, beyond_error) = _calls(
        BillingMCPServer(toolkit), ("wallet", {"action": "fund", "amount": 15}), ("wallet", {"action": "fund", "amount": 50}))
    assert not inside_error and inside["ok"] is True
    assert beyond_error and "Outside the deployer's spending mandate" in beyond["message"]
    assert client.get_wallet_balance().balance == 15


def test_card_number_in_a_wrongly_typed_field_is_refused_without_echo(make_toolkit: MakeToolkit) -> None:
    server = BillingMCPServer(make_toolkit(approval=ElicitationApprover()))
    [(content, is_error)] = _calls(server, ("wallet", {"action": "fund", "amount": "4242 4242 4242 4242"}))
    assert is_error and content["error"] == "card_data_not_allowed"
    assert "4242" not in json.dumps(content)


def test_scopes_narrow_what_is_served(make_toolkit: MakeToolkit) -> None:
    server = BillingMCPServer(make_toolkit(scopes=["wallet:read"]))
    assert [tool.name for tool in server.tool_definitions()] == ["wallet", "coupons", "payment_path"]
    wallet = server.tool_definitions()[0]
    assert wallet.annotations is not None and wallet.annotations.read_only_hint is True
