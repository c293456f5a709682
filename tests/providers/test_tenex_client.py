"""The typed 10ex client (``TenexClient`` / ``AsyncTenexClient``) against the sandbox: every read, sync and async,
in-process and once over loopback; the cursor pages walked to the end; path overrides; errors in 10ex's
``{detail, code}`` shape on the exception hierarchy; and no method that would change the subscription."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from agent_billing import AsyncTenexClient, TenexClient
from agent_billing.errors import (
    AuthenticationError,
    BillingError,
    InvalidRequestError,
    NotFoundError,
    UnexpectedResponseError,
)
from agent_billing.inprocess import SANDBOX_ORIGIN, SyncASGITransport
from agent_billing.providers.tenex import results as r
from agent_billing.providers.tenex.operations import build_registry, paths_from_env
from agent_billing.providers.tenex.sandbox import create_tenex_app
from agent_billing.registry import Effect, get_registry, register_provider
from agent_billing.sandbox import SandboxServer, create_app

PATH = "/tenex/api/v1/payments"
BASE = SANDBOX_ORIGIN + PATH
KEY = "tnx_sandbox"
CLOCK = 1_815_000_000.0
LEDGER_SIZE, INVOICES = 121, 6


@pytest.fixture
def app() -> Any:
    return create_app(rate_limit=False, clock=lambda: CLOCK)


@pytest.fixture
def client(app: Any) -> Iterator[TenexClient]:
    with TenexClient(base_url=BASE, token=KEY, transport=SyncASGITransport(app)) as tenex:
        yield tenex


@pytest.fixture
async def aclient(app: Any) -> AsyncIterator[AsyncTenexClient]:
    async with AsyncTenexClient(base_url=BASE, token=KEY, transport=httpx.ASGITransport(app=app)) as tenex:
        yield tenex


def check_every_read(reads: dict[str, Any]) -> None:
    """The answers of every read, as the seeded sandbox workspace has them."""
    sub, plan, usage = reads["subscription"], reads["plan"], reads["usage"]
    assert isinstance(sub, r.Subscription) and (sub.plan, sub.status) == ("Team", "active")
    assert isinstance(plan, r.Plan) and (plan.included_credits, plan.soft_cap, plan.hard_cap) == (
        Decimal(100000), Decimal(80000), Decimal(100000))
    assert isinstance(usage, r.Usage) and usage.credits_used == Decimal(78500)
    assert sum(agent.credits_used for agent in usage.agents) == usage.credits_used
    research = reads["agent"]
    assert isinstance(research, r.AgentUsage) and research.runs == 40
    assert research.credits_used == next(a.credits_used for a in usage.agents if a.agent_id == "agt_research")
    invoices, invoice = reads["invoices"], reads["invoice"]
    assert isinstance(invoices, r.InvoicePage) and len(invoices.items) == 4 and invoices.next_cursor
    assert isinstance(invoice, r.Invoice) and invoice.id == invoices.items[0].id and invoice.total == Decimal("499.00")
    ledger = reads["ledger"]
    assert isinstance(ledger, r.LedgerPage) and ledger.total == LEDGER_SIZE and len(ledger.items) == 20
    assert all(isinstance(entry.credits, Decimal) for entry in ledger.items)
    portal = reads["portal"]
    assert isinstance(portal, r.PortalSession) and "/tenex/portal/bps_" in portal.url and portal.expires_at


def every_read(client: TenexClient) -> dict[str, Any]:
    invoices = client.list_invoices(limit=4)
    return {"subscription": client.get_subscription(), "plan": client.get_plan(), "usage": client.get_usage(),
            "agent": client.get_agent_usage("agt_research"), "invoices": invoices,
            "invoice": client.get_invoice(invoices.items[0].id), "ledger": client.list_ledger(),
            "portal": client.create_portal_session(return_url="https://app.example/billing")}


async def every_read_async(client: AsyncTenexClient) -> dict[str, Any]:
    invoices = await client.list_invoices(limit=4)
    return {"subscription": await client.get_subscription(), "plan": await client.get_plan(),
            "usage": await client.get_usage(), "agent": await client.get_agent_usage("agt_research"),
            "invoices": invoices, "invoice": await client.get_invoice(invoices.items[0].id),
            "ledger": await client.list_ledger(), "portal": await client.create_portal_session()}


# --- every read

def test_every_read_through_the_typed_client(client: TenexClient) -> None:
    check_every_read(every_read(client))


async def test_every_read_through_the_async_typed_client(aclient: AsyncTenexClient) -> None:
    check_every_read(await every_read_async(aclient))


async def test_every_read_over_loopback_sync_and_async() -> None:
    with SandboxServer(rate_limit=False, clock=lambda: CLOCK) as server:
        base = server.root_url + PATH
        assert base.startswith("http://127.0.0.1:")
        with TenexClient(base_url=base, token=KEY) as client:
            check_every_read(every_read(client))
            assert len(list(client.iter_ledger(limit=50))) == LEDGER_SIZE
        async with AsyncTenexClient(base_url=base, token=KEY) as aclient:
            check_every_read(await every_read_async(aclient))
            assert len([e async for e in aclient.iter_ledger(limit=50)]) == LEDGER_SIZE


# --- cursor pages, walked to the end

@pytest.mark.parametrize("limit", [1, 7, 20, 120, 121, 200])
def test_the_ledger_walked_to_the_end_sees_every_entry_once(client: TenexClient, limit: int) -> None:
    pages, cursor, by_hand = 0, None, []
    while True:  # the walk the helper saves a caller from writing
        page = client.list_ledger(limit=limit, cursor=cursor)
        by_hand += [entry.id for entry in page.items]
        pages, cursor = pages + 1, page.next_cursor
        if cursor is None:
            break
    assert pages == -(-LEDGER_SIZE // limit)
    walked = list(client.iter_ledger(limit=limit))
    assert [entry.id for entry in walked] == by_hand
    assert len(walked) == len({entry.id for entry in walked}) == LEDGER_SIZE
    assert all(isinstance(entry, r.LedgerEntry) for entry in walked)
    assert walked[-1].kind == "grant" and walked[-1].credits == Decimal(100000)
    assert -sum(e.credits for e in walked if e.kind == "debit") == Decimal(78500)


async def test_the_ledger_and_invoices_walked_to_the_end_async(aclient: AsyncTenexClient) -> None:
    entries = [entry async for entry in aclient.iter_ledger(limit=13)]
    assert len(entries) == len({entry.id for entry in entries}) == LEDGER_SIZE
    support = [entry async for entry in aclient.iter_ledger(agent_id="agt_support", limit=7)]
    assert len(support) == 40 and {entry.agent_id for entry in support} == {"agt_support"}
    invoices = [invoice async for invoice in aclient.iter_invoices(limit=4)]
    assert len({invoice.id for invoice in invoices}) == INVOICES
    generic = [entry async for entry in aclient.paginate("list_ledger", {"limit": 200})]
    assert [entry.id for entry in generic] == [entry.id for entry in entries]


def test_invoices_and_one_agents_ledger_walked_sync(client: TenexClient) -> None:
    invoices = list(client.iter_invoices(limit=5))
    assert len({invoice.id for invoice in invoices}) == INVOICES and all(i.status == "paid" for i in invoices)
    assert [i.created_at for i in invoices] == sorted((i.created_at for i in invoices), reverse=True)
    codegen = list(client.iter_ledger(agent_id="agt_codegen", limit=9))
    assert len(codegen) == 40 and {entry.agent_id for entry in codegen} == {"agt_codegen"}


def test_paginate_refuses_a_read_that_has_no_cursor(client: TenexClient) -> None:
    with pytest.raises(InvalidRequestError, match="not a cursor-paged list"):
        next(client.paginate("get_usage"))


def test_a_server_repeating_a_cursor_ends_the_walk_with_an_error() -> None:
    """A 10ex that hands back the same cursor would loop forever: the walk stops with a typed error instead."""
    requests: list[httpx.Request] = []

    def stuck(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json={"items": [{"id": "cle_1", "kind": "grant", "credits": "5"}],
                                         "next_cursor": "c_same"})

    with TenexClient(base_url=BASE, token=KEY, transport=httpx.MockTransport(stuck)) as client:
        seen = []
        with pytest.raises(UnexpectedResponseError, match="repeated the cursor"):
            for entry in client.iter_ledger():
                seen.append(entry.id)
    # The second page (the first one's cursor again) is not handed out twice, and nothing more is asked.
    assert seen == ["cle_1"] and len(requests) == 2 and requests[1].url.params["cursor"] == "c_same"


# --- path overrides

def test_a_deployers_path_overrides_are_honoured_by_the_typed_client() -> None:
    overrides = paths_from_env({"TENEX_PATHS": json.dumps({
        "get_usage": "/usage/current", "get_invoice": "/billing/invoices/{invoice_id}", "list_ledger": "/ledger"})})
    register_provider("tenex_typed_moved", lambda: build_registry(overrides, provider="tenex_typed_moved"))
    moved = Starlette(routes=[Mount("/tenex", app=create_tenex_app(
        clock=lambda: CLOCK, registry=get_registry("tenex_typed_moved")))])
    sent: list[str] = []
    with TenexClient(base_url=BASE, token=KEY, transport=SyncASGITransport(moved), provider="tenex_typed_moved") as client:
        client._http.event_hooks["request"].append(lambda request: sent.append(request.url.path))
        assert client.get_usage().credits_used == Decimal(78500)
        invoice_id = client.list_invoices().items[0].id
        assert client.get_invoice(invoice_id).id == invoice_id
        assert len(list(client.iter_ledger(limit=100))) == LEDGER_SIZE
    assert sent[:3] == [PATH + "/usage/current", PATH + "/invoices", PATH + f"/billing/invoices/{invoice_id}"]
    assert sent[3:] == [PATH + "/ledger"] * 2
    with TenexClient(base_url=BASE, token=KEY, transport=SyncASGITransport(moved)) as unmoved, \
            pytest.raises(NotFoundError):
        unmoved.get_usage()  # the default path is not served by the moved sandbox


# --- errors on the exception hierarchy

def test_errors_in_tenex_shape_map_onto_the_hierarchy(app: Any, client: TenexClient) -> None:
    with pytest.raises(NotFoundError) as missing:
        client.get_invoice("in_missing")
    assert (missing.value.status, missing.value.code) == (404, "not_found") and "in_missing" in missing.value.message
    with pytest.raises(NotFoundError):
        client.get_agent_usage("agt_nobody")
    with pytest.raises(InvalidRequestError) as bad_cursor:  # 422 {"detail": [{loc, msg, type}]}
        client.list_ledger(cursor="bogus")
    assert (bad_cursor.value.status, bad_cursor.value.code) == (422, "validation_error")
    assert bad_cursor.value.details["errors"][0]["field"] == "cursor"
    with pytest.raises(InvalidRequestError) as mid_walk:
        list(client.paginate("list_ledger", {"cursor": "bogus"}))
    assert mid_walk.value.status == 422
    with pytest.raises(InvalidRequestError) as local:
        client.list_ledger(limit=201)  # refused before any request
    assert local.value.status is None
    with TenexClient(base_url=BASE, token="tnx_revoked!", transport=SyncASGITransport(app)) as stranger, \
            pytest.raises(AuthenticationError) as unauthenticated:
        stranger.get_plan()
    assert unauthenticated.value.status == 401 and isinstance(unauthenticated.value, BillingError)


async def test_errors_async(aclient: AsyncTenexClient) -> None:
    with pytest.raises(NotFoundError):
        await aclient.get_invoice("in_missing")
    with pytest.raises(InvalidRequestError) as bad_cursor:
        [entry async for entry in aclient.paginate("list_ledger", {"cursor": "bogus"})]
    assert bad_cursor.value.status == 422


# --- read-only

def test_the_typed_clients_offer_no_mutation() -> None:
    registry = get_registry("tenex")
    for cls in (TenexClient, AsyncTenexClient):
        public = {name for name, _ in inspect.getmembers(cls, callable) if not name.startswith("_")}
        generated = public & set(registry.operations)
        assert generated == set(registry.operations)  # every operation has its typed method
        # The one POST opens a portal session: it hands a person a URL and changes nothing in the account.
        posts = {name for name in generated if registry.get(name).is_mutation}
        assert posts == {"create_portal_session"} and registry.get("create_portal_session").effect is Effect.WRITE
        assert all(registry.get(name).effect is Effect.READ for name in generated - posts)
        verbs = ("subscribe", "cancel", "change", "upgrade", "downgrade", "update", "pause", "resume", "delete",
                 "remove", "fund", "charge", "pay", "withdraw", "refund", "set_", "save")
        assert not [name for name in public if any(verb in name for verb in verbs)], public
        assert public - generated <= {"call", "paginate", "iter_invoices", "iter_ledger", "close", "aclose",
                                      "from_env"}


def test_from_env_reads_the_tenex_variables(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENEX_API_KEY", "tnx_from_env")
    monkeypatch.setenv("TENEX_BASE_URL", BASE)
    with TenexClient.from_env(transport=SyncASGITransport(app)) as client:
        assert client.base_url == BASE and client.get_plan().name == "Team" and "tnx_from_env" not in repr(client)
