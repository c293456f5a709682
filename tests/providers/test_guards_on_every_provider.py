"""The guard suites, once per provider that can move money: the same promises hold on ModelsLab and Wallgent.

For each provider a small adapter says how to make one charge through its tools, what paying with a card
looks like, and how many charges its sandbox holds. Each test then tries the same way around a guardrail:
card data in the arguments, a charge without a yes, a repeat of the same tool call, an unreadable answer
after the charge committed, and the thing that pays changing between the yes and the charge.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.tools.conftest import call

from agent_billing.audit import MemoryAuditLog
from agent_billing.client import BillingClient
from agent_billing.guardrails.approval import ApprovalRequest
from agent_billing.guardrails.pending_outcomes import PendingOutcomes
from agent_billing.inprocess import SANDBOX_ORIGIN, SyncASGITransport
from agent_billing.registry import get_registry, provider_names
from agent_billing.retry import RetryPolicy
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit

PAN = "4242 4242 4242 4242"


@dataclass(frozen=True)
class Provider:
    """How one provider is driven in these tests."""

    name: str
    tool: str
    charge: dict[str, Any]  # tool arguments of one charge that pays with the card on file
    charge_path: str  # the request path of that charge (for the garbling proxy)
    card_field: tuple[str, dict[str, Any]]  # (tool, arguments) that would carry a card number
    setup: Callable[[BillingClient], None]  # give the account what the charge needs (a saved card)
    switch: Callable[[BillingClient], None] | None  # change what pays, without asking anyone (None: the charge names it)
    charges: Callable[[Any], int]  # how many charges the sandbox made


def _modelslab_charges(app: Any) -> int:
    rows = app.state.sandbox.ledger.rows("SELECT COUNT(*) FROM payment_intents WHERE status = 'succeeded'")
    return int(rows[0][0])


def _wallgent_charges(app: Any) -> int:
    (mount,) = [route for route in app.routes if getattr(route, "path", "") == "/wallgent"]
    client = BillingClient(base_url=SANDBOX_ORIGIN + "/wallgent/v1", token="wg_test_sandbox",
                           transport=SyncASGITransport(app), provider="wallgent")
    total = client.call("list_invoices").total
    assert mount.app.state.wallgent.check_invariants() is None
    return int(total or 0)


def _modelslab_setup(client: BillingClient) -> None:
    client.call("add_payment_method", {"payment_method_id": "pm_card_mastercard", "make_default": False})
    client.call("add_payment_method", {"payment_method_id": "pm_card_visa", "make_default": True})


def _wallgent_setup(client: BillingClient) -> None:
    client.call("save_payment_method", {"payment_method_id": "pm_card_visa"})
    client.call("subscribe", {"plan": "STARTER", "payment_method": "CARD", "stripe_payment_method_id": "pm_card_visa"})


def _acme_charges(app: Any) -> int:
    return len(app.state.acme.purchases)


PROVIDERS = [
    Provider("modelslab", "wallet", {"action": "fund", "amount": 20}, "/wallet/fund",
             ("billing", {"action": "update_info", "address_line2": f"card {PAN}"}), _modelslab_setup,
             lambda client: client.call("set_default_payment_method", {"payment_method_id": "pm_card_mastercard"}),
             _modelslab_charges),
    Provider("wallgent", "billing", {"action": "change_plan", "plan": "GROWTH"}, "/billing/change-plan",
             ("payment_method", {"action": "save", "payment_method_id": "pm_card_visa", "note": PAN}), _wallgent_setup,
             lambda client: client.call("change_payment_method", {"payment_method": "WALLET"}),
             _wallgent_charges),
    # The test-only provider, installed through the entry point (tests/providers/acme_provider): it names its card
    # in the charge itself, so nothing can change what pays between the yes and the charge.
    Provider("acme", "credits", {"action": "buy", "amount": 5, "bundle": "small", "saved_card": "pm_card_visa"},
             "/credit-purchases", ("membership", {"action": "rename", "nickname": f"card {PAN}"}),
             lambda client: None, None, _acme_charges),
]
# Providers none of whose operations moves money: the guards above have nothing to guard there.
READ_ONLY = {"tenex"}


def test_every_provider_has_an_adapter_or_moves_no_money() -> None:
    """A new provider (the entry-point one included) must be added here, or be one that moves no money."""
    assert {p.name for p in PROVIDERS} | READ_ONLY == set(provider_names())
    for name in READ_ONLY:
        assert not any(op.effect.moves_money for op in get_registry(name).operations.values())


@pytest.fixture(params=PROVIDERS, ids=lambda p: p.name)
def provider(request: pytest.FixtureRequest) -> Provider:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def app() -> Any:
    return create_app(rate_limit=False, tokens=("sk_guard_suite",))


def _client(app: Any, provider: Provider, transport: httpx.BaseTransport | None = None) -> BillingClient:
    connection = get_registry(provider.name).connection
    token = "sk_guard_suite" if provider.name == "modelslab" else connection.sandbox_token
    return BillingClient(base_url=SANDBOX_ORIGIN + connection.sandbox_path, token=token, provider=provider.name,
                         transport=transport or SyncASGITransport(app), retry=RetryPolicy.none())


@pytest.fixture
def ready(app: Any, provider: Provider) -> Iterator[tuple[BillingClient, int]]:
    client = _client(app, provider)
    provider.setup(client)
    yield client, provider.charges(app)
    client.close()


def _toolkit(client: BillingClient, tmp_path: Path, **kwargs: Any) -> BillingToolkit:
    kwargs.setdefault("audit", MemoryAuditLog())
    return BillingToolkit(client=client, pending_outcomes=PendingOutcomes(tmp_path / "pending.db"), **kwargs)


def test_card_data_is_refused_before_anything_is_sent(app: Any, provider: Provider, ready: Any, tmp_path: Path) -> None:
    client, before = ready
    tool, args = provider.card_field
    content, message = call(_toolkit(client, tmp_path, approval=lambda r: True).get_tool(tool), **args)
    assert content["error"] == "card_data_not_allowed" and "4242" not in str(message.content)
    assert provider.charges(app) == before


def test_no_yes_no_charge(app: Any, provider: Provider, ready: Any, tmp_path: Path) -> None:
    client, before = ready
    content, _ = call(_toolkit(client, tmp_path).get_tool(provider.tool), **provider.charge)
    assert content["ok"] is False and "approval" in content["message"]
    declined, _ = call(_toolkit(client, tmp_path, approval=lambda r: False).get_tool(provider.tool), **provider.charge)
    assert declined["error"] == "rejected"
    assert provider.charges(app) == before


def test_the_same_tool_call_twice_charges_once(app: Any, provider: Provider, ready: Any, tmp_path: Path) -> None:
    client, before = ready
    tool = _toolkit(client, tmp_path, approval=lambda r: True).get_tool(provider.tool)
    first, _ = call(tool, "call_same", **provider.charge)
    second, _ = call(tool, "call_same", **provider.charge)
    # The repeat replays (ModelsLab) or is refused because the plan already changed (Wallgent): never a 2nd charge.
    assert first["ok"] and (second["ok"] or second["error"] not in ("outcome_unknown", "internal_error"))
    assert provider.charges(app) == before + 1


def test_what_pays_changing_after_the_yes_charges_nothing(app: Any, provider: Provider, ready: Any,
                                                          tmp_path: Path) -> None:
    client, before = ready
    shown: list[ApprovalRequest] = []

    def person(request: ApprovalRequest) -> bool:
        shown.append(request)
        if provider.switch is not None:
            provider.switch(client)  # what pays changes while the person reads the summary
        return True

    content, _ = call(_toolkit(client, tmp_path, approval=person).get_tool(provider.tool), **provider.charge)
    if provider.switch is None:  # the card is in the charge itself: the yes names it, and exactly that is charged
        assert "saved_card=pm_card_visa" in shown[0].summary and content["ok"]
        assert provider.charges(app) == before + 1
        return
    assert "Visa ending 4242" in shown[0].summary
    assert content["error"] == "intent_changed"
    assert provider.charges(app) == before


class _Garble(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, path: str) -> None:
        self.inner, self.path = inner, path

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith(self.path) and response.status_code < 300:
            return httpx.Response(200, content=b'{"data": {"amount": 1', request=request)
        return response


def test_an_unreadable_answer_after_the_charge_charges_once(app: Any, provider: Provider, ready: Any,
                                                            tmp_path: Path) -> None:
    _, before = ready
    results = []
    for _ in range(3):  # a fresh toolkit each time, on the same state
        garbled = _client(app, provider, _Garble(SyncASGITransport(app), provider.charge_path))
        results.append(call(_toolkit(garbled, tmp_path, approval=lambda r: True).get_tool(provider.tool),
                            **provider.charge)[0])
    assert [r["error"] for r in results] == ["outcome_unknown"] * 3
    assert not any(json.dumps(r).count('"ok": true') for r in results)
    assert provider.charges(app) == before + 1
