"""10ex through the typed client and the tools, against the embedded sandbox: every read (sync and async),
cursor pages walked to the end, the {detail, code} errors, path overrides, can_start_run, and read-only for
real: every mutation an agent might try is answered with the portal handoff and moves nothing."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from tests.mcp.mcp_helpers import memory_calls
from tests.tools.conftest import acall, call

from agent_billing.audit import MemoryAuditLog
from agent_billing.client import AsyncBillingClient, BillingClient
from agent_billing.errors import AuthenticationError, InvalidRequestError, NotFoundError
from agent_billing.inprocess import SANDBOX_ORIGIN, SyncASGITransport, sandbox_clients
from agent_billing.mcp.server import BillingMCPServer
from agent_billing.providers.tenex import actions
from agent_billing.providers.tenex.operations import build_registry, paths_from_env
from agent_billing.providers.tenex.sandbox import create_tenex_app
from agent_billing.registry import Effect, get_registry, register_provider
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit

BASE = SANDBOX_ORIGIN + "/tenex/api/v1/payments"
CLOCK = 1_815_000_000.0


@pytest.fixture
def app() -> Any:
    return create_app(rate_limit=False, clock=lambda: CLOCK)


@pytest.fixture
def tnx(app: Any) -> Iterator[tuple[BillingClient, AsyncBillingClient]]:
    client, aclient = sandbox_clients(app, provider="tenex")
    yield client, aclient
    client.close()


@pytest.fixture
def root(app: Any) -> Iterator[httpx.Client]:
    """The sandbox-only endpoints (post usage, what an admin does in the portal)."""
    with httpx.Client(transport=SyncASGITransport(app), base_url=BASE,
                      headers={"Authorization": "Bearer tnx_sandbox"}) as http:
        yield http


def tenex_state(app: Any) -> Any:
    (mount,) = [route for route in app.routes if getattr(route, "path", "") == "/tenex"]
    return mount.app.state.tenex


def observable(app: Any) -> dict[str, Any]:
    """Everything a mutation could change in the workspace (portal sessions aside: opening one changes nothing)."""
    state = tenex_state(app)
    ws = state.workspace("tnx_sandbox")
    return copy.deepcopy({"subscription": state.subscription(ws), "plan": state.plan(ws), "usage": state.usage(ws),
                          "ledger": ws.ledger, "invoices": ws.invoices, "agents": ws.agents})


def toolkit(client: BillingClient | None, aclient: AsyncBillingClient | None = None, **kwargs: Any) -> BillingToolkit:
    kwargs.setdefault("audit", MemoryAuditLog())
    return BillingToolkit(client=client, async_client=aclient, **kwargs)


def walk(fetch: Any, **args: Any) -> list[Any]:
    items, cursor, pages = [], None, 0
    while True:
        page = fetch({**args, **({"cursor": cursor} if cursor else {})})
        items.extend(page.items)
        pages += 1
        assert pages < 100
        cursor = page.next_cursor
        if cursor is None:
            return items


# --- every read through the client

def test_every_read_through_the_client(tnx: tuple[BillingClient, AsyncBillingClient]) -> None:
    client = tnx[0]
    sub = client.call("get_subscription")
    assert (sub.plan, sub.status) == ("Team", "active") and sub.renews_at and sub.renews_at.endswith("Z")
    plan = client.call("get_plan")
    assert (plan.included_credits, plan.soft_cap, plan.hard_cap) == (Decimal(100000), Decimal(80000), Decimal(100000))
    usage = client.call("get_usage")
    assert usage.credits_used == Decimal(78500) and usage.soft_cap == plan.soft_cap
    assert len(usage.agents) == 3 and sum(a.credits_used for a in usage.agents) == usage.credits_used
    research = client.call("get_agent_usage", {"agent_id": "agt_research"})
    assert research.credits_used == next(a.credits_used for a in usage.agents if a.agent_id == "agt_research")
    assert research.runs == 40
    invoices = walk(lambda a: client.call("list_invoices", a), limit=4)
    assert len(invoices) == 6 and len({i.id for i in invoices}) == 6 and all(i.status == "paid" for i in invoices)
    assert [i.created_at for i in invoices] == sorted((i.created_at for i in invoices), reverse=True)
    one = client.call("get_invoice", {"invoice_id": invoices[0].id})
    assert one.id == invoices[0].id and one.total == Decimal("499.00")
    portal = client.call("create_portal_session")
    assert portal.url.startswith(SANDBOX_ORIGIN + "/tenex/portal/bps_") and portal.expires_at


def test_the_ledger_walked_to_the_end(tnx: tuple[BillingClient, AsyncBillingClient]) -> None:
    client = tnx[0]
    first = client.call("list_ledger")
    assert len(first.items) == 20 and first.next_cursor and first.total == 121
    entries = walk(lambda a: client.call("list_ledger", a))
    assert len(entries) == 121 and len({e.id for e in entries}) == 121
    assert entries[-1].kind == "grant" and entries[-1].credits == Decimal(100000)
    assert -sum(e.credits for e in entries if e.kind == "debit") == Decimal(78500)
    assert entries[0].balance_after == Decimal(100000 - 78500)
    biggest = walk(lambda a: client.call("list_ledger", a), limit=200)
    assert [e.id for e in biggest] == [e.id for e in entries]
    support = walk(lambda a: client.call("list_ledger", a), limit=7, agent_id="agt_support")
    assert len(support) == 40 and {e.agent_id for e in support} == {"agt_support"}


async def test_every_read_async_with_pagination(tnx: tuple[BillingClient, AsyncBillingClient]) -> None:
    aclient = tnx[1]
    assert (await aclient.call("get_subscription")).plan == "Team"
    assert (await aclient.call("get_plan")).hard_cap == Decimal(100000)
    assert (await aclient.call("get_usage")).credits_used == Decimal(78500)
    assert (await aclient.call("get_agent_usage", {"agent_id": "agt_codegen"})).runs == 40
    for name, expected, limit in (("list_ledger", 121, 13), ("list_invoices", 6, 5)):
        seen, cursor = [], None
        while True:
            page = await aclient.call(name, {"limit": limit, **({"cursor": cursor} if cursor else {})})
            seen.extend(item.id for item in page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == expected
    invoice_id = seen[0]
    assert (await aclient.call("get_invoice", {"invoice_id": invoice_id})).id == invoice_id
    assert (await aclient.call("create_portal_session", {"return_url": "https://app.example/billing"})).url


# --- errors in 10ex's shape

def test_errors_read_from_detail_and_code(app: Any, tnx: tuple[BillingClient, AsyncBillingClient]) -> None:
    client = tnx[0]
    with pytest.raises(NotFoundError) as missing:
        client.call("get_invoice", {"invoice_id": "in_missing"})
    assert missing.value.code == "not_found" and "in_missing" in missing.value.message
    with pytest.raises(NotFoundError):
        client.call("get_agent_usage", {"agent_id": "agt_nobody"})
    with pytest.raises(InvalidRequestError) as bad_cursor:
        client.call("list_ledger", {"cursor": "bogus"})
    assert bad_cursor.value.status == 422 and bad_cursor.value.code == "validation_error"
    assert bad_cursor.value.details["errors"][0]["field"] == "cursor"
    assert bad_cursor.value.message.startswith("cursor: Invalid cursor")
    stranger = BillingClient(base_url=BASE, token="not_a_tnx_key", transport=SyncASGITransport(app), provider="tenex")
    with pytest.raises(AuthenticationError) as unauthenticated:
        stranger.call("get_plan")
    assert unauthenticated.value.code == "not_authenticated"


def test_arguments_are_checked_before_any_request(tnx: tuple[BillingClient, AsyncBillingClient]) -> None:
    with pytest.raises(InvalidRequestError):
        tnx[0].call("list_ledger", {"limit": 201})
    with pytest.raises(InvalidRequestError):
        tnx[0].call("list_invoices", {"page": 2})


# --- the tools

def test_every_read_through_the_tools(tnx: tuple[BillingClient, AsyncBillingClient]) -> None:
    tk = toolkit(tnx[0])
    assert [t.name for t in tk.get_tools()] == ["subscription", "plan", "usage", "invoices", "ledger"]
    assert tk.custom_actions == actions.ACTIONS  # the provider's own actions, without being passed
    content, _ = call(tk.get_tool("subscription"), action="get")
    assert content["ok"] and content["result"]["plan"] == "Team"
    content, _ = call(tk.get_tool("plan"), action="get")
    assert content["result"]["soft_cap"] == "80000"
    content, _ = call(tk.get_tool("usage"), action="get")
    assert content["result"]["credits_used"] == "78500"
    content, _ = call(tk.get_tool("usage"), action="agent", agent_id="agt_support")
    assert content["result"]["agent_id"] == "agt_support"
    content, _ = call(tk.get_tool("invoices"), action="list", limit=10)
    assert len(content["result"]["items"]) == 6 and content["result"].get("next_cursor") is None
    content, _ = call(tk.get_tool("invoices"), action="get", invoice_id=content["result"]["items"][0]["id"])
    assert content["result"]["status"] == "paid"
    ids, cursor = [], None
    while True:
        content, _ = call(tk.get_tool("ledger"), action="list", **({"cursor": cursor} if cursor else {}))
        assert content["ok"], content
        ids += [e["id"] for e in content["result"]["items"]]
        cursor = content["result"].get("next_cursor")
        if not cursor:
            break
    assert len(ids) == len(set(ids)) == 121
    content, _ = call(tk.get_tool("subscription"), action="portal")
    assert content["ok"] and content["result"]["url"].startswith("http")


async def test_every_read_through_the_tools_async(tnx: tuple[BillingClient, AsyncBillingClient]) -> None:
    tk = toolkit(None, tnx[1])
    for tool, args, check in (("subscription", {"action": "get"}, "plan"), ("plan", {"action": "get"}, "hard_cap"),
                              ("usage", {"action": "get"}, "agents"),
                              ("usage", {"action": "agent", "agent_id": "agt_codegen"}, "runs"),
                              ("invoices", {"action": "list"}, "items"), ("subscription", {"action": "portal"}, "url")):
        content, _ = await acall(tk.get_tool(tool), **args)
        assert content["ok"] and check in content["result"], (tool, content)
    ids, cursor = [], None
    while True:
        content, _ = await acall(tk.get_tool("ledger"), action="list", limit=15, **({"cursor": cursor} if cursor else {}))
        ids += [e["id"] for e in content["result"]["items"]]
        cursor = content["result"].get("next_cursor")
        if not cursor:
            break
    assert len(set(ids)) == 121
    decision, _ = await acall(tk.get_tool("usage"), action="can_start_run", estimated_credits=100)
    assert decision["decision"] == "go"


# --- can_start_run

def test_can_start_run_answers_from_the_caps(tnx: tuple[BillingClient, AsyncBillingClient], root: httpx.Client) -> None:
    usage = toolkit(tnx[0]).get_tool("usage")
    go, _ = call(usage, action="can_start_run", estimated_credits=1000)
    assert (go["decision"], go["allowed"], go["credits_after_run"]) == ("go", True, "79500")
    assert "500 credits to spare" in go["message"] and "soft cap 80,000" in go["message"]
    at_soft, _ = call(usage, action="can_start_run", estimated_credits=1500)
    assert (at_soft["decision"], at_soft["allowed"]) == ("warn", True)
    warn, _ = call(usage, action="can_start_run", estimated_credits="21499.5", agent_id="agt_research")
    assert warn["decision"] == "warn" and warn["agent"]["agent_id"] == "agt_research"
    assert "0.5 credits left before the hard cap" in warn["message"]
    refuse, _ = call(usage, action="can_start_run", estimated_credits=21500)
    assert (refuse["decision"], refuse["allowed"], refuse["credits_after_run"]) == ("refuse", False, "100000")
    assert "hard cap 100,000" in refuse["message"] and "Do not start it" in refuse["message"]
    # Usage moves on (a run elsewhere): the same estimate now warns, then the hard cap refuses any run.
    root.post("/sandbox/usage", json={"agent_id": "agt_support", "credits": 2000}).raise_for_status()
    again, _ = call(usage, action="can_start_run", estimated_credits=1000)
    assert again["decision"] == "warn" and again["credits_used"] == "80500"
    root.post("/sandbox/usage", json={"agent_id": "agt_support", "credits": 19500}).raise_for_status()
    blocked, _ = call(usage, action="can_start_run", estimated_credits="0.01")
    assert blocked["decision"] == "refuse" and blocked["remaining_before_hard_cap"] == "0"
    invalid, _ = call(usage, action="can_start_run", estimated_credits=-5)
    assert invalid["ok"] is False and invalid["error"] == "validation_error"


@pytest.mark.parametrize(("used", "estimate", "decision"), [
    (0, 1, "go"), (79_999, "0.5", "go"), (79_999, 1, "warn"), (80_000, 1, "warn"), (99_998, 1, "warn"),
    (99_999, 1, "refuse"), (100_000, 1, "refuse"), (120_000, 1, "refuse"),
])
def test_run_decision_boundaries(used: int, estimate: Any, decision: str) -> None:
    assert actions.run_decision(Decimal(used), Decimal(estimate), Decimal(80_000), Decimal(100_000)) == decision


# --- read-only for real

MUTATIONS = [("change_request", {"change": "upgrade", "plan": "Business"}), ("change_request", {"change": "cancel"}),
             ("change_request", {"change": "resume"}), ("change_request", {"change": "subscribe", "plan": "Team"}),
             ("change_request", {}), ("upgrade", {"plan": "Business"}), ("downgrade", {"plan": "Starter"}),
             ("change_plan", {"plan": "Starter"}), ("cancel", {}), ("cancel", {"channel": "voice"}), ("resume", {}),
             ("subscribe", {"plan": "Business"})]


def mcp_call(tk: BillingToolkit, name: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """One ``call_tool`` through a real MCP client session (the SDK's memory transport): (content, isError)."""
    return memory_calls(BillingMCPServer(tk), [(name, arguments)])[0]


def assert_portal_handoff(content: dict[str, Any], action: str, args: dict[str, Any]) -> None:
    assert content["ok"] is True and content["changed"] is False
    assert content["portal_url"].startswith(SANDBOX_ORIGIN + "/tenex/portal/bps_")
    assert "only allows that in its billing portal" in content["messages"]["chat"]
    assert content["portal_url"] in content["messages"]["chat"]
    assert content["portal_url"] not in content["messages"]["voice"]  # never read a URL aloud
    assert "does not let programs create, change or cancel" in content["why"] and "Nothing has been changed" in content["why"]
    assert content["requested"] == (action if action != "change_request" else args.get("change", "other"))


@pytest.mark.parametrize("preset", ["full", "read_only"])
@pytest.mark.parametrize(("action", "args"), MUTATIONS)
def test_every_mutation_an_agent_tries_gets_the_portal_handoff(app: Any, tnx: tuple[BillingClient, AsyncBillingClient],
                                                               action: str, args: dict[str, Any], preset: str) -> None:
    before = observable(app)
    tk = toolkit(tnx[0], tnx[1], product_name="Acme", actions=preset)
    content, message = call(tk.get_tool("subscription"), action=action, **args)
    assert message.status != "error"
    assert_portal_handoff(content, action, args)
    assert observable(app) == before
    with httpx.Client(transport=SyncASGITransport(app)) as http:
        assert http.get(content["portal_url"]).status_code == 200
    through_mcp, is_error = mcp_call(tk, "subscription", {"action": action, **args})
    assert not is_error
    assert_portal_handoff(through_mcp, action, args)
    assert through_mcp["portal_url"] != content["portal_url"]  # a fresh session each time, and still nothing moved
    assert observable(app) == before


def test_the_aliases_share_one_line_of_the_description(tnx: tuple[BillingClient, AsyncBillingClient]) -> None:
    """Six aliases saying the same thing are described once (the model reads every character of it)."""
    description = toolkit(tnx[0]).get_tool("subscription").description
    lines = description.split(" | ")
    aliases = [line for line in lines if line.startswith("upgrade")]
    assert aliases and aliases[0].startswith("upgrade, downgrade, change_plan, cancel, resume, subscribe: ")
    assert description.count("Not possible through the API") == 1


def test_the_read_only_preset_offers_the_handoff_and_the_run_check(app: Any,
                                                                   tnx: tuple[BillingClient, AsyncBillingClient]) -> None:
    reader = toolkit(tnx[0], tnx[1], actions="read_only")
    changes = ["change_request", "upgrade", "downgrade", "change_plan", "cancel", "resume", "subscribe"]
    offered = {tool.name: tool.args_schema.model_json_schema()["properties"]["action"]["enum"]  # type: ignore[union-attr]
               for tool in reader.get_tools()}
    assert offered["subscription"] == ["get", *changes]  # the raw portal session is a write: left out
    assert offered["usage"] == ["get", "agent", "can_start_run"]
    assert all(reader.allows("subscription", change) for change in changes) and reader.allows("usage", "can_start_run")
    assert not reader.allows("subscription", "portal")
    decision, _ = call(reader.get_tool("usage"), action="can_start_run", estimated_credits=10)
    assert decision["decision"] == "go"
    # MCP hints follow the same flag: every action of these tools reads, so the host may call them freely.
    hints = {tool.name: tool.annotations for tool in BillingMCPServer(reader).tool_definitions()}
    assert all(h is not None and h.read_only_hint and not h.destructive_hint for h in hints.values()), hints
    full = {tool.name: tool.annotations for tool in BillingMCPServer(toolkit(tnx[0], tnx[1])).tool_definitions()}
    assert full["usage"] is not None and full["usage"].read_only_hint is True  # can_start_run reads
    assert full["subscription"] is not None and full["subscription"].read_only_hint is False  # it offers the raw portal write


async def test_the_handoff_async_moves_nothing(app: Any, tnx: tuple[BillingClient, AsyncBillingClient]) -> None:
    before = observable(app)
    content, _ = await acall(toolkit(None, tnx[1]).get_tool("subscription"), action="upgrade", plan="Business")
    assert content["changed"] is False and content["portal_url"] and observable(app) == before


def test_no_client_method_tool_or_mcp_tool_offers_a_mutation(app: Any, tnx: tuple[BillingClient, AsyncBillingClient]
                                                             ) -> None:
    registry = get_registry("tenex")
    assert [(op.name, op.effect) for op in registry if op.effect is not Effect.READ] == \
        [("create_portal_session", Effect.WRITE)]
    client = tnx[0]
    sent: list[httpx.Request] = []
    client._http.event_hooks["request"].append(sent.append)
    for name in ("create_subscription", "change_plan", "cancel_subscription", "cancel", "upgrade", "subscribe"):
        with pytest.raises(KeyError):
            client.call(name)
    assert sent == []  # refused before any request
    before = observable(app)
    tk = toolkit(client)
    mcp_tools = BillingMCPServer(tk)._tools
    assert sorted(mcp_tools) == sorted(t.name for t in tk.get_tools())
    # Every action any tool offers, run once: none changes the workspace.
    for tool in tk.get_tools():
        offered = tool.args_schema.model_json_schema()["properties"]["action"]["enum"]  # type: ignore[union-attr]
        for action in offered:
            args = {"agent_id": "agt_research"} if action == "agent" else \
                {"invoice_id": tenex_state(app).workspace("tnx_sandbox").invoices[0]["id"]} if \
                (tool.name, action) == ("invoices", "get") else {"estimated_credits": 10} if action == "can_start_run" else {}
            content, _ = call(tool, action=action, **args)
            assert content["ok"], (tool.name, action, content)
    assert observable(app) == before
    refused, _ = call(tk.get_tool("subscription"), action="delete")
    assert refused["ok"] is False
    # And the sandbox, like 10ex, has no path that would take a subscription change.
    with httpx.Client(transport=SyncASGITransport(app), base_url=BASE,
                      headers={"Authorization": "Bearer tnx_sandbox"}) as http:
        for method, path in (("POST", "/subscriptions"), ("POST", "/subscriptions/current/cancel"),
                             ("PATCH", "/subscriptions/current"), ("DELETE", "/subscriptions/current"),
                             ("POST", "/plans/current"), ("PUT", "/plans/current")):
            response = http.request(method, path, json={"plan": "Business"})
            assert response.status_code in (404, 405) and response.json()["code"] in ("not_found", "method_not_allowed")
    assert observable(app) == before


# --- configuration: keys, base URL, path overrides

def test_from_env_reads_the_tenex_variables(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENEX_API_KEY", "tnx_from_env")
    monkeypatch.setenv("TENEX_BASE_URL", BASE)
    client = BillingClient.from_env(provider="tenex", transport=SyncASGITransport(app))
    assert client.base_url == BASE and client.call("get_plan").name == "Team"
    assert "tnx_from_env" not in repr(client)
    assert get_registry("tenex").connection.default_base_url == "https://api.10ex.ai/api/v1/payments"


def test_a_deployer_moves_paths_without_code() -> None:
    overrides = paths_from_env({"TENEX_PATHS": json.dumps({"get_usage": "/usage/current",
                                                           "get_invoice": "/billing/invoices/{invoice_id}"})})
    register_provider("tenex_moved", lambda: build_registry(overrides, provider="tenex_moved"))
    moved = Starlette(routes=[Mount("/tenex", app=create_tenex_app(clock=lambda: CLOCK,
                                                                   registry=get_registry("tenex_moved")))])
    with BillingClient(base_url=BASE, token="tnx_sandbox", transport=SyncASGITransport(moved),
                       provider="tenex_moved") as client:
        assert client.call("get_usage").credits_used == Decimal(78500)
        invoice_id = client.call("list_invoices").items[0].id
        assert client.call("get_invoice", {"invoice_id": invoice_id}).id == invoice_id
    with BillingClient(base_url=BASE, token="tnx_sandbox", transport=SyncASGITransport(moved), provider="tenex") as old, \
            pytest.raises(NotFoundError):
        old.call("get_usage")  # the default path is gone from the moved sandbox


@pytest.mark.parametrize("raw", ['{"get_usag": "/x"}', '{"get_invoice": "/invoices/latest"}', '{"get_plan": "plan"}',
                                 '{"get_plan": "/../admin"}', "[1]", "{not json", '{"get_plan": 3}',
                                 # the one POST must stay a portal session, never a subscription mutation's path
                                 '{"create_portal_session": "/subscriptions/current/cancel"}',
                                 '{"create_portal_session": "/subscriptions/current"}'])
def test_bad_path_overrides_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        build_registry(paths_from_env({"TENEX_PATHS": raw}))


def test_a_page_cut_for_the_model_does_not_hand_out_a_cursor_that_skips() -> None:
    """A page longer than the tool shows (20 items) loses its cursor and says why, so no item is skipped."""
    from agent_billing.tools.shaping import MAX_ITEMS, result_content

    page = result_content({"items": [{"id": f"e{i}"} for i in range(MAX_ITEMS + 7)], "next_cursor": "after_e26"})
    assert "next_cursor" not in page and "limit=20" in page["paging"]
    short = result_content({"items": [{"id": "e1"}], "next_cursor": "after_e1"})
    assert short["next_cursor"] == "after_e1" and "paging" not in short


def test_path_overrides_are_read_when_the_registry_is_built_not_at_import() -> None:
    import os
    import subprocess
    import sys

    script = (
        "import agent_billing.providers.tenex.operations as o\n"
        "print('imported')\n"
        "try:\n"
        "    o.REGISTRY\n"
        "except ValueError as exc:\n"
        "    print('refused', exc)\n"
    )
    env = {**os.environ, "TENEX_PATHS": '{"get_usage": "no-slash"}'}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    # Importing reads nothing; the bad override is still refused, when the registry is asked for.
    assert done.stdout.splitlines()[0] == "imported", done.stderr
    assert "refused path override for get_usage" in done.stdout
