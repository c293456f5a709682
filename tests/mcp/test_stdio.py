"""The MCP server over stdio with the real ``mcp`` client, against the sandbox on loopback.

One server process per client kind for the module: an elicitation-capable client with every action,
and a client without elicitation on a narrow allowlist. Each test uses what it needs of the account
and checks the ledger itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from langchain_core.utils.function_calling import convert_to_openai_tool
from tests.mcp.mcp_helpers import StdioSession, server_env

from agent_billing.audit import MemoryAuditLog
from agent_billing.client import BillingClient
from agent_billing.sandbox.server import SandboxServer
from agent_billing.tools import BillingToolkit
from mcp import types

ASKING, SILENT = "sk_mcp_asking", "sk_mcp_silent"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(tokens=(ASKING, SILENT), rate_limit=False) as server:
        yield server


def _client(sandbox: SandboxServer, token: str) -> BillingClient:
    client = BillingClient(base_url=sandbox.base_url, token=token)
    if not client.list_payment_methods().payment_methods:
        client.add_payment_method("pm_card_visa", make_default=True)
    return client


@pytest.fixture(scope="module")
def asking(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StdioSession]:
    state = tmp_path_factory.mktemp("asking")
    session = StdioSession([], server_env(sandbox.base_url, ASKING, state), state / "stderr.txt").start()
    yield session
    session.close()


@pytest.fixture(scope="module")
def silent(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StdioSession]:
    state = tmp_path_factory.mktemp("silent")
    session = StdioSession(["--actions", "read_only,wallet.fund,payment_links.handoff"],
                           server_env(sandbox.base_url, SILENT, state), state / "stderr.txt", elicitation=False).start()
    yield session
    session.close()


def _balance(client: BillingClient) -> Decimal:
    return client.get_wallet_balance().balance


def _credits(client: BillingClient) -> list[Any]:
    return [t for t in client.get_wallet_transactions().items if t.type == "credit"]


def test_tools_are_listed_with_annotations_and_the_langchain_schemas(asking: StdioSession, sandbox: SandboxServer) -> None:
    tools = asking.tools()
    assert list(tools) == ["billing", "payment_methods", "invoices", "wallet", "coupons", "subscriptions",
                           "payment_links", "payment_path"]
    for tool in tools.values():
        hints = tool.annotations
        assert hints is not None and hints.title and tool.title == hints.title
        assert hints.open_world_hint is (tool.name != "payment_path")
        if hints.read_only_hint:
            assert hints.destructive_hint is False and hints.idempotent_hint is True
    assert tools["invoices"].annotations.read_only_hint is True  # type: ignore[union-attr]
    for name in ("wallet", "subscriptions", "payment_methods", "coupons"):  # charge, pay out, remove, pause
        hints = tools[name].annotations
        assert hints is not None and hints.read_only_hint is False and hints.destructive_hint is True, name
        assert hints.idempotent_hint is False
    local = BillingToolkit(client=BillingClient(base_url=sandbox.base_url, token=ASKING), audit=MemoryAuditLog())
    expected = convert_to_openai_tool(local.get_tool("wallet"))["function"]
    assert tools["wallet"].input_schema == expected["parameters"]
    assert tools["wallet"].description == expected["description"]


def test_balance_read(asking: StdioSession) -> None:
    content, is_error = asking.call("wallet", action="balance")
    assert not is_error and content["ok"] is True and content["result"]["currency"] == "USD"


def test_accepted_elicitation_charges_once(asking: StdioSession, sandbox: SandboxServer) -> None:
    client = _client(sandbox, ASKING)
    before, credits = _balance(client), len(_credits(client))
    asking.elicitations.clear()
    asking.on_elicit = lambda params: types.ElicitResult(action="accept", content={})
    content, is_error = asking.call("wallet", action="fund", amount=25)
    assert not is_error and content["ok"] is True, content
    assert _balance(client) == before + 25 and len(_credits(client)) == credits + 1
    [asked] = asking.elicitations
    assert isinstance(asked, types.ElicitRequestFormParams)
    assert asked.requested_schema == {"type": "object", "properties": {}}  # nothing to edit: yes or no
    assert "$25.00" in asked.message and "4242" in asked.message


def test_declined_elicitation_moves_nothing(asking: StdioSession, sandbox: SandboxServer) -> None:
    client = _client(sandbox, ASKING)
    before, credits = _balance(client), len(_credits(client))
    asking.on_elicit = lambda params: types.ElicitResult(action="decline")
    content, is_error = asking.call("wallet", action="fund", amount=30)
    assert is_error and content["error"] == "rejected"
    assert _balance(client) == before and len(_credits(client)) == credits


def test_cancelled_elicitation_moves_nothing_and_may_be_asked_again(asking: StdioSession, sandbox: SandboxServer) -> None:
    client = _client(sandbox, ASKING)
    before = _balance(client)
    asking.on_elicit = lambda params: types.ElicitResult(action="cancel")
    content, is_error = asking.call("wallet", action="fund", amount=35)
    assert is_error and "closed the approval without answering" in content["message"]
    assert _balance(client) == before
    asking.on_elicit = lambda params: types.ElicitResult(action="accept", content={})
    content, is_error = asking.call("wallet", action="fund", amount=35)
    assert not is_error and _balance(client) == before + 35


def test_payment_link_goes_out_by_url_elicitation_and_the_wait_reports_the_payment(
        asking: StdioSession, sandbox: SandboxServer) -> None:
    client = _client(sandbox, ASKING)
    before = _balance(client)
    asking.elicitations.clear()

    def person_pays(params: types.ElicitRequestParams) -> types.ElicitResult:
        assert isinstance(params, types.ElicitRequestURLParams)
        assert params.url.startswith(sandbox.root_url) and params.elicitation_id in params.url
        # The person opens the page and pays: the sandbox's programmatic completion of that checkout.
        paid = httpx.post(f"{sandbox.root_url}/sandbox/checkout/{params.elicitation_id}/complete",
                          headers={"Authorization": f"Bearer {ASKING}"}, json={})
        assert paid.status_code == 200, paid.text
        return types.ElicitResult(action="accept")

    asking.on_elicit = person_pays
    content, is_error = asking.call("payment_links", action="handoff", purpose="fund", amount=40)
    assert not is_error and content["status"] == "paid" and content["delivery"] == "url_elicitation", content
    assert len(asking.elicitations) == 1 and _balance(client) == before + 40


def test_declined_payment_page_pays_nothing(asking: StdioSession, sandbox: SandboxServer) -> None:
    client = _client(sandbox, ASKING)
    before = _balance(client)
    asking.on_elicit = lambda params: types.ElicitResult(action="decline")
    content, is_error = asking.call("wallet", action="fund_via_human", amount=45)
    assert is_error and content["error"] == "person_declined" and content["payment_url"]
    assert _balance(client) == before


def test_client_without_elicitation_and_no_mandate_moves_nothing(silent: StdioSession, sandbox: SandboxServer) -> None:
    client = _client(sandbox, SILENT)
    before = _balance(client)
    content, is_error = silent.call("wallet", action="fund", amount=25)
    assert is_error and content["ok"] is False
    assert "no form elicitation" in content["message"] and "--auto-approve" in content["message"]
    assert _balance(client) == before == 0


def test_allowlist_hides_actions_and_refuses_them(silent: StdioSession, sandbox: SandboxServer) -> None:
    tools = silent.tools()
    wallet = tools["wallet"].input_schema["properties"]["action"]["enum"]
    assert "fund" in wallet and "withdraw" not in wallet and "enable_auto_funding" not in wallet
    assert "withdraw" not in (tools["wallet"].description or "")
    links = tools["payment_links"].input_schema["properties"]["action"]
    assert links.get("enum", [links.get("const")]) == ["handoff"]
    for name, arguments in (("wallet", {"action": "withdraw", "amount": 10}),
                            ("payment_links", {"action": "wait", "session_id": "cs_test_1"}),
                            ("subscriptions", {"action": "pause", "subscription_id": 1})):
        content, is_error = silent.call(name, **arguments)
        assert is_error and content["ok"] is False, (name, content)
    content, is_error = silent.call("no_such_tool")
    assert is_error and content["error"] == "unknown_tool"


def test_client_without_url_elicitation_gets_the_link_to_relay(silent: StdioSession, sandbox: SandboxServer) -> None:
    content, is_error = silent.call("payment_links", action="handoff", purpose="fund", amount=20)
    assert not is_error and content["payment_url"].startswith(sandbox.root_url) and "delivery" not in content
    assert json.dumps(content).count("http") >= 1

