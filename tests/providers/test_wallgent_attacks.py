"""An outside tester's attempts to move Wallgent money without a yes, or other than what was approved: through MCP
with elicitation absent, declined, or answered while what pays changes; through the autonomous preset without a
mandate; with a single-use confirmation replayed for another card; and with parallel tool calls."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.mcp.mcp_helpers import memory_calls
from tests.tools.conftest import call

from agent_billing.audit import MemoryAuditLog
from agent_billing.client import AsyncBillingClient, BillingClient
from agent_billing.guardrails.mandate import Mandate
from agent_billing.guardrails.spend_store import SqliteSpendStore
from agent_billing.inprocess import SANDBOX_ORIGIN, SyncASGITransport, sandbox_clients
from agent_billing.mcp import BillingMCPServer, ElicitationApprover
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit
from mcp import types

Clients = tuple[BillingClient, AsyncBillingClient]


@pytest.fixture
def app() -> Any:
    return create_app(rate_limit=False)


@pytest.fixture
def wg(app: Any) -> Iterator[Clients]:
    client, aclient = sandbox_clients(app, provider="wallgent")
    client.call("save_payment_method", {"payment_method_id": "pm_card_visa"})
    client.call("subscribe", {"plan": "STARTER", "payment_method": "WALLET"})
    yield client, aclient
    client.close()


def invoices(client: BillingClient) -> int:
    return int(client.call("list_invoices").total or 0)


def mcp_calls(toolkit: BillingToolkit, calls: list[tuple[str, dict[str, Any]]],
              answer: Any = None) -> list[tuple[dict[str, Any], bool]]:
    """Tool calls through a real MCP client session; ``answer(params)`` is its elicitation callback, if any."""
    return memory_calls(BillingMCPServer(toolkit), calls, answer)


MONEY = [("billing", {"action": "change_plan", "plan": "GROWTH"}),
         ("payment_method", {"action": "switch", "payment_method": "CARD"}),
         ("billing", {"action": "retry_payment"})]


@pytest.mark.parametrize("answer", [None, "decline", "cancel"])
def test_mcp_without_a_yes_moves_nothing(wg: Clients, answer: str | None) -> None:
    client, aclient = wg
    toolkit = BillingToolkit(client=client, async_client=aclient, approval=ElicitationApprover(), audit=MemoryAuditLog())
    before = client.call("get_billing")
    results = mcp_calls(toolkit, MONEY, None if answer is None else (lambda params: types.ElicitResult(action=answer)))
    assert all(is_error and content["ok"] is False for content, is_error in results), results
    after = client.call("get_billing")
    assert (after.plan, after.billing_payment_method, invoices(client)) == (before.plan, "WALLET", 1)


def test_mcp_yes_while_the_billing_method_is_switched_charges_nothing(wg: Clients) -> None:
    client, aclient = wg
    toolkit = BillingToolkit(client=client, async_client=aclient, approval=ElicitationApprover(), audit=MemoryAuditLog())

    def yes_but_switch(params: types.ElicitRequestParams) -> types.ElicitResult:
        client.call("change_payment_method", {"payment_method": "CARD"})  # the wallet was shown; the card would pay
        return types.ElicitResult(action="accept", content={"approve": True})

    [(content, is_error)] = mcp_calls(toolkit, MONEY[:1], yes_but_switch)
    assert is_error and content["error"] == "intent_changed"
    assert client.call("get_billing").plan == "STARTER" and invoices(client) == 1


def test_the_autonomous_preset_without_a_mandate_retries_nothing(app: Any, wg: Clients) -> None:
    client, aclient = wg
    with httpx.Client(transport=SyncASGITransport(app), base_url=SANDBOX_ORIGIN + "/wallgent/v1",
                      headers={"Authorization": "Bearer wg_test_sandbox"}) as root:
        root.post("/sandbox/fail-next-renewal").raise_for_status()
        root.post("/sandbox/advance").raise_for_status()
        root.post("/sandbox/wallet", json={"balance": "1000.00"}).raise_for_status()
    toolkit = BillingToolkit(client=client, async_client=aclient, actions="autonomous", audit=MemoryAuditLog())
    content, _ = call(toolkit.get_tool("billing"), action="retry_payment")
    [(over_mcp, is_error)] = mcp_calls(toolkit, [("billing", {"action": "retry_payment"})])
    assert content["ok"] is False and is_error and over_mcp["ok"] is False
    assert client.call("get_billing").billing_status == "PAST_DUE"


def test_a_confirmation_for_one_card_does_not_pay_with_another(app: Any, tmp_path: Path) -> None:
    client, aclient = sandbox_clients(app, provider="wallgent")
    client.call("save_payment_method", {"payment_method_id": "pm_card_visa"})
    toolkit = BillingToolkit(client=client, async_client=aclient, approval="confirmation", audit=MemoryAuditLog(),
                             mandate=Mandate(max_per_charge="300"), spend_store=SqliteSpendStore(tmp_path / "s.db"))
    billing = toolkit.get_tool("billing")
    asked, _ = call(billing, action="subscribe", plan="STARTER", payment_method="CARD",
                    stripe_payment_method_id="pm_card_visa")
    assert asked["status"] == "confirmation_required" and "Visa ending 4242" in asked["summary"]
    other, _ = call(billing, action="subscribe", plan="STARTER", payment_method="CARD",
                    stripe_payment_method_id="pm_card_mastercard", confirmation=asked["confirmation"])
    growth, _ = call(billing, action="subscribe", plan="GROWTH", payment_method="CARD",
                     stripe_payment_method_id="pm_card_visa", confirmation=asked["confirmation"])
    assert other["error"] == growth["error"] == "confirmation_invalid"
    assert client.call("get_billing").plan == "FREE" and invoices(client) == 0


def test_parallel_approved_plan_changes_charge_once(wg: Clients, tmp_path: Path) -> None:
    client, aclient = wg
    toolkit = BillingToolkit(client=client, async_client=aclient, approval=lambda request: True,
                             audit=MemoryAuditLog())
    billing, barrier, results = toolkit.get_tool("billing"), threading.Barrier(6), []

    def change() -> None:
        barrier.wait()
        results.append(call(billing, action="change_plan", plan="GROWTH")[0])

    threads = [threading.Thread(target=change) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # One charge: a call that arrives after the first finished is answered by its replay (the same answer,
    # marked idempotency_replay, nothing sent again); on a loaded machine that happens, so it is allowed.
    fresh = [r for r in results if r["ok"] and not r["result"].get("idempotency_replay")]
    assert len(fresh) == 1 and all(r["result"] == {**fresh[0]["result"], "idempotency_replay": True}
                                   for r in results if r["ok"] and r is not fresh[0]), results
    assert client.call("get_billing").plan == "GROWTH" and invoices(client) == 2
