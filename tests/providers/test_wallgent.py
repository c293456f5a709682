"""Wallgent through the typed client and the tools, against the embedded sandbox: every operation, the
error codes, and the guardrails (charge intent, mandates, unknown outcomes) on the second provider."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.tools.conftest import acall, call

from agent_billing.audit import MemoryAuditLog
from agent_billing.client import AsyncBillingClient, BillingClient
from agent_billing.errors import (
    AuthenticationError,
    ConflictError,
    IdempotencyConflictError,
    InsufficientScopeError,
    NotFoundError,
    OutcomeUnknownError,
    PaymentDeclinedError,
    PermissionDeniedError,
    ProviderApprovalRequiredError,
)
from agent_billing.guardrails.approval import ApprovalRequest
from agent_billing.guardrails.mandate import Mandate
from agent_billing.guardrails.pending_outcomes import PendingOutcomes
from agent_billing.guardrails.spend_store import SqliteSpendStore
from agent_billing.inprocess import SANDBOX_ORIGIN, SyncASGITransport, sandbox_clients
from agent_billing.retry import RetryPolicy
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit

BASE = SANDBOX_ORIGIN + "/wallgent/v1"


@pytest.fixture
def app() -> Any:
    return create_app(rate_limit=False, wallgent_keys={"wg_test_readonly": ["billing:read"]})


@pytest.fixture
def wg(app: Any) -> Iterator[tuple[BillingClient, AsyncBillingClient]]:
    client, aclient = sandbox_clients(app, provider="wallgent")
    yield client, aclient
    client.close()


@pytest.fixture
def root(app: Any) -> Iterator[httpx.Client]:
    """The sandbox-only endpoints (wallet balance, policy, failed renewals)."""
    with httpx.Client(transport=SyncASGITransport(app), base_url=BASE,
                      headers={"Authorization": "Bearer wg_test_sandbox"}) as http:
        yield http


def wallgent_state(app: Any) -> Any:
    """The Wallgent sandbox's state, from its mount on the shared sandbox app."""
    (mount,) = [route for route in app.routes if getattr(route, "path", "") == "/wallgent"]
    return mount.app.state.wallgent


def toolkit(client: BillingClient, aclient: AsyncBillingClient | None = None, **kwargs: Any) -> BillingToolkit:
    kwargs.setdefault("audit", MemoryAuditLog())
    return BillingToolkit(client=client, async_client=aclient, **kwargs)


# --- the client, every operation

def test_every_operation_through_the_client(wg: tuple[BillingClient, AsyncBillingClient], root: httpx.Client) -> None:
    client = wg[0]
    assert client.call("get_billing").plan == "FREE"
    assert client.call("create_checkout", {"plan": "GROWTH"}).url.startswith("http")
    assert client.call("create_setup_intent").client_secret.startswith("seti_")
    saved = client.call("save_payment_method", {"payment_method_id": "pm_card_visa"})
    assert saved.ok and saved.card_details.last4 == "4242"
    sub = client.call("subscribe", {"plan": "STARTER", "payment_method": "CARD", "stripe_payment_method_id": "pm_card_visa"})
    assert sub.plan == "STARTER" and client.call("get_invoice", {"invoice_id": sub.invoice_id}).amount == Decimal("99.00")
    change = client.call("change_plan", {"plan": "GROWTH"})
    assert change.plan == "GROWTH" and change.proration_charge is not None and change.proration_charge > 0
    assert client.call("change_payment_method", {"payment_method": "WALLET"}).ok
    assert client.call("create_portal_session").url.startswith("http")
    page = client.call("list_invoices", {"page": 1, "limit": 1})
    assert page.invoices and page.total is not None and page.total >= 2 and page.has_more
    invoice = client.call("get_invoice", {"invoice_id": page.invoices[0].id})
    assert invoice.id == page.invoices[0].id and isinstance(invoice.amount, Decimal)
    root.post("/sandbox/fail-next-renewal").raise_for_status()
    root.post("/sandbox/advance").raise_for_status()
    assert client.call("get_billing").billing_status == "PAST_DUE"
    root.post("/sandbox/wallet", json={"balance": "1000.00"}).raise_for_status()
    assert client.call("retry_payment").billing_status == "ACTIVE"
    assert client.call("cancel").cancel_at_period_end is True
    client.call("change_payment_method", {"payment_method": "WALLET"})
    assert client.call("remove_payment_method").ok


async def test_reads_and_a_charge_async(wg: tuple[BillingClient, AsyncBillingClient]) -> None:
    aclient = wg[1]
    sub = await aclient.call("subscribe", {"plan": "STARTER", "payment_method": "WALLET"})
    assert sub.billing_payment_method == "WALLET"
    assert (await aclient.call("get_billing")).plan == "STARTER"


def test_the_wire_is_camel_case_with_string_amounts(wg: tuple[BillingClient, AsyncBillingClient]) -> None:
    sent: list[bytes] = []
    wg[0]._http.event_hooks["request"].append(lambda request: sent.append(request.read()))
    wg[0].call("subscribe", {"plan": "STARTER", "payment_method": "CARD", "stripe_payment_method_id": "pm_card_visa"})
    assert json.loads(sent[-1]) == {"plan": "STARTER", "paymentMethod": "CARD", "stripePaymentMethodId": "pm_card_visa"}


# --- error codes, each provoked

def test_error_codes_map_onto_the_hierarchy(app: Any, wg: tuple[BillingClient, AsyncBillingClient],
                                            root: httpx.Client) -> None:
    client = wg[0]
    root.post("/sandbox/wallet", json={"balance": "0.00"}).raise_for_status()
    with pytest.raises(PaymentDeclinedError) as short:
        client.call("subscribe", {"plan": "STARTER", "payment_method": "WALLET"})
    assert short.value.code == "INSUFFICIENT_FUNDS"
    with pytest.raises(PaymentDeclinedError) as declined:
        client.call("subscribe", {"plan": "STARTER", "payment_method": "CARD",
                                  "stripe_payment_method_id": "pm_card_chargeDeclined"})
    assert declined.value.decline_code
    with pytest.raises(NotFoundError):
        client.call("get_invoice", {"invoice_id": "inv_missing"})
    with pytest.raises(ConflictError):
        client.call("retry_payment")
    readonly = BillingClient(base_url=BASE, token="wg_test_readonly", transport=SyncASGITransport(app), provider="wallgent")
    assert readonly.call("get_billing").plan == "FREE"
    with pytest.raises(InsufficientScopeError) as scope:
        readonly.call("create_setup_intent")
    assert scope.value.code == "PERMISSION_DENIED" and scope.value.scope == "billing:write"
    live = BillingClient(base_url=BASE, token="wg_live_x", transport=SyncASGITransport(app), provider="wallgent",
                         allow_live=True)
    with pytest.raises(AuthenticationError) as mismatch:
        live.call("get_billing")
    assert mismatch.value.code == "ENVIRONMENT_MISMATCH"
    root.post("/sandbox/wallet", json={"balance": "500.00"}).raise_for_status()
    root.post("/sandbox/policy", json={"requireHumanApproval": True}).raise_for_status()
    with pytest.raises(ProviderApprovalRequiredError):
        client.call("subscribe", {"plan": "STARTER", "payment_method": "WALLET"})
    root.post("/sandbox/policy", json={"requireHumanApproval": False, "maxTransactionAmount": "50.00"}).raise_for_status()
    with pytest.raises(PermissionDeniedError) as denied:
        client.call("subscribe", {"plan": "STARTER", "payment_method": "WALLET"})
    assert denied.value.code == "POLICY_DENIED"
    root.post("/sandbox/policy", json={"requireHumanApproval": False, "maxTransactionAmount": None}).raise_for_status()
    client.call("subscribe", {"plan": "STARTER", "payment_method": "WALLET"}, idempotency_key="wg-key-1")
    with pytest.raises(IdempotencyConflictError) as reuse:
        client.call("subscribe", {"plan": "GROWTH", "payment_method": "WALLET"}, idempotency_key="wg-key-1")
    assert reuse.value.code == "IDEMPOTENCY_KEY_REUSE"


def test_rate_limits_are_typed_and_carry_the_wait(wg: tuple[BillingClient, AsyncBillingClient]) -> None:
    from agent_billing.errors import RateLimitedError

    limited = create_app()  # limits on: FREE allows 10 writes a minute
    client = BillingClient(base_url=BASE, token="wg_test_sandbox", transport=SyncASGITransport(limited),
                           provider="wallgent", retry=RetryPolicy.none())
    with pytest.raises(RateLimitedError) as info:
        for _ in range(20):
            client.call("create_setup_intent")
    assert info.value.code == "RATE_LIMIT_EXCEEDED" and info.value.retry_after is not None


def test_a_live_key_is_refused_unless_the_deployer_opts_in() -> None:
    with pytest.raises(AuthenticationError, match="allow_live"):
        BillingClient(base_url=BASE, token="wg_live_abc", provider="wallgent")
    BillingClient(base_url=BASE, token="wg_live_abc", provider="wallgent", allow_live=True).close()


def test_from_env_reads_the_providers_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WALLGENT_API_KEY", "wg_test_env")
    monkeypatch.setenv("WALLGENT_BASE_URL", "http://127.0.0.1:9/wallgent/v1")
    monkeypatch.chdir(tmp_path)
    client = BillingClient.from_env(provider="wallgent")
    assert client.base_url == "http://127.0.0.1:9/wallgent/v1" and "wg_test_env" not in repr(client)


# --- the tools and their guardrails on Wallgent

def test_a_card_subscription_names_the_card_and_charges_once(wg: tuple[BillingClient, AsyncBillingClient]) -> None:
    client = wg[0]
    client.call("save_payment_method", {"payment_method_id": "pm_card_visa"})
    asked: list[ApprovalRequest] = []
    billing = toolkit(client, approval=lambda request: asked.append(request) or True).get_tool("billing")
    content, _ = call(billing, action="subscribe", plan="STARTER", payment_method="CARD",
                      stripe_payment_method_id="pm_card_visa")
    assert content["ok"] and "Visa ending 4242" in asked[0].summary and asked[0].amount == Decimal("99.00")
    assert asked[0].recurring and client.call("list_invoices").total == 1


def test_a_plan_change_is_bound_to_the_billing_method_shown(wg: tuple[BillingClient, AsyncBillingClient],
                                                            root: httpx.Client) -> None:
    client = wg[0]
    client.call("subscribe", {"plan": "STARTER", "payment_method": "WALLET"})
    client.call("save_payment_method", {"payment_method_id": "pm_card_visa"})

    def person(request: ApprovalRequest) -> bool:
        client.call("change_payment_method", {"payment_method": "CARD"})  # someone switches to the card meanwhile
        return True

    content, _ = call(toolkit(client, approval=person).get_tool("billing"), action="change_plan", plan="GROWTH")
    assert content["error"] == "intent_changed" and client.call("get_billing").plan == "STARTER"


def test_a_hard_mandate_on_plan_names(wg: tuple[BillingClient, AsyncBillingClient], tmp_path: Path) -> None:
    client = wg[0]
    mandate = Mandate(allowed_plan_ids={"STARTER"}, max_per_charge="150", auto_approve=True)
    tools = toolkit(client, mandate=mandate, spend_store=SqliteSpendStore(tmp_path / "s.db"),
                    approval=lambda request: True)
    growth, _ = call(tools.get_tool("billing"), action="subscribe", plan="GROWTH", payment_method="WALLET")
    starter, _ = call(tools.get_tool("billing"), action="subscribe", plan="STARTER", payment_method="WALLET")
    assert growth["error"] == "refused" and starter["ok"] and starter["approved_by"] == "mandate:default"
    assert client.call("get_billing").plan == "STARTER"


class _Garble(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/billing/subscribe") and response.status_code < 300:
            return httpx.Response(200, content=b'{"plan": "STARTER", "amount": NaN', request=request)
        return response


def test_an_unreadable_answer_to_a_subscription_charges_once(app: Any, tmp_path: Path) -> None:
    def make() -> BillingToolkit:
        client = BillingClient(base_url=BASE, token="wg_test_sandbox", provider="wallgent",
                               transport=_Garble(SyncASGITransport(app)), retry=RetryPolicy.none())
        return toolkit(client, approval=lambda request: True, pending_outcomes=PendingOutcomes(tmp_path / "p.db"))

    results = [call(make().get_tool("billing"), action="subscribe", plan="STARTER", payment_method="WALLET")[0]
               for _ in range(3)]
    assert [r["error"] for r in results] == ["outcome_unknown"] * 3
    wallgent_state(app).check_invariants()
    checker = BillingClient(base_url=BASE, token="wg_test_sandbox", provider="wallgent",
                            transport=SyncASGITransport(app))
    assert checker.call("list_invoices").total == 1


def test_the_client_reports_an_unreadable_charge_as_unknown(app: Any) -> None:
    client = BillingClient(base_url=BASE, token="wg_test_sandbox", provider="wallgent",
                           transport=_Garble(SyncASGITransport(app)), retry=RetryPolicy.none())
    with pytest.raises(OutcomeUnknownError) as info:
        client.call("subscribe", {"plan": "STARTER", "payment_method": "WALLET"})
    assert info.value.idempotency_key


async def test_tools_async_on_wallgent(wg: tuple[BillingClient, AsyncBillingClient]) -> None:
    tools = toolkit(wg[0], wg[1], approval=lambda request: True)
    content, _ = await acall(tools.get_tool("billing"), action="subscribe", plan="STARTER", payment_method="WALLET")
    assert content["ok"]
    page, _ = await acall(tools.get_tool("invoices"), action="list")
    assert page["result"]["total"] == 1


def test_the_toolkit_offers_only_wallgents_own_tools(wg: tuple[BillingClient, AsyncBillingClient]) -> None:
    names = [tool.name for tool in toolkit(wg[0]).get_tools()]
    assert names == ["billing", "payment_method", "invoices", "payment_path"]  # no ModelsLab workflows; its own advisor


def test_toolkit_from_env_for_wallgent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WALLGENT_API_KEY", "wg_test_env")
    monkeypatch.chdir(tmp_path)
    tools = BillingToolkit.from_env(provider="wallgent", audit=MemoryAuditLog())
    assert tools.registry.provider == "wallgent" and tools.client is not None
    assert tools.client.base_url == "https://api.wallgent.com/v1"
    from agent_billing import AsyncWallgentClient, WallgentClient

    # The provider's typed clients, so host code reaching toolkit.client finds Wallgent's methods.
    assert type(tools.client) is WallgentClient and type(tools.async_client) is AsyncWallgentClient


def test_typed_methods_sync_and_async(app: Any) -> None:
    from agent_billing import AsyncWallgentClient, WallgentClient

    client = WallgentClient(base_url=BASE, token="wg_test_sandbox", transport=SyncASGITransport(app))
    assert client.get_billing().plan == "FREE"
    assert client.save_payment_method("pm_card_visa").card_details.last4 == "4242"  # type: ignore[union-attr]
    sub = client.subscribe("STARTER", "CARD", "pm_card_visa")
    assert client.get_invoice(str(sub.invoice_id)).amount == Decimal("99.00") and client.list_invoices(page=1, limit=5).total == 1
    change = client.change_plan("GROWTH")
    assert change.proration_charge is not None and change.proration_charge <= Decimal("150.00")
    invoice = client.get_invoice(client.list_invoices().invoices[0].id)
    assert invoice.status == "paid"
    assert client.create_portal_session().url.startswith("http")

    async def run() -> str:
        aclient = AsyncWallgentClient(base_url=BASE, token="wg_test_sandbox", transport=httpx.ASGITransport(app=app))
        return (await aclient.get_billing()).plan

    import asyncio

    assert asyncio.run(run()) == "GROWTH"
    client.close()


# --- saving the billing card: under CARD billing it is the card every later renewal hits


def test_saving_a_billing_card_needs_a_yes(wg: tuple[BillingClient, AsyncBillingClient]) -> None:
    client = wg[0]
    content, _ = call(toolkit(client).get_tool("payment_method"), action="save", payment_method_id="pm_card_visa")
    assert content["ok"] is False and client.call("get_billing").card_details is None


def test_saving_a_card_under_card_billing_names_the_renewals_it_will_carry(
        wg: tuple[BillingClient, AsyncBillingClient]) -> None:
    client = wg[0]
    client.call("subscribe", {"plan": "STARTER", "payment_method": "CARD", "stripe_payment_method_id": "pm_card_visa"})
    asked: list[ApprovalRequest] = []
    tools = toolkit(client, approval=lambda request: asked.append(request) or True)
    content, _ = call(tools.get_tool("payment_method"), action="save", payment_method_id="pm_card_mastercard")
    assert content["ok"], content
    assert "STARTER renewals ($99.00 per month)" in asked[0].summary and asked[0].recurring
    assert asked[0].amount == Decimal("99.00")
    assert client.call("get_billing").card_details.last4 == "4444"


def test_saving_a_card_under_wallet_billing_says_nothing_is_charged_to_it(
        wg: tuple[BillingClient, AsyncBillingClient]) -> None:
    client = wg[0]
    client.call("subscribe", {"plan": "STARTER", "payment_method": "WALLET"})
    asked: list[ApprovalRequest] = []
    tools = toolkit(client, approval=lambda request: asked.append(request) or True)
    content, _ = call(tools.get_tool("payment_method"), action="save", payment_method_id="pm_card_visa")
    assert content["ok"] and "nothing is charged to it now" in asked[0].summary and not asked[0].recurring


def test_a_switch_to_card_billing_after_the_yes_to_save_is_asked_again(
        wg: tuple[BillingClient, AsyncBillingClient]) -> None:
    """The person said yes to saving a card that nothing is charged to; before it runs the plan moves to CARD
    billing, so the card would carry the renewals: nothing is saved, and the new terms come back."""
    client = wg[0]
    client.call("subscribe", {"plan": "STARTER", "payment_method": "WALLET"})

    def person(request: ApprovalRequest) -> bool:
        client.call("change_payment_method", {"payment_method": "CARD", "stripe_payment_method_id": "pm_card_visa"})
        return True

    content, _ = call(toolkit(client, approval=person).get_tool("payment_method"), action="save",
                      payment_method_id="pm_card_mastercard")
    assert content["error"] == "intent_changed", content
    assert client.call("get_billing").card_details.last4 == "4242"
