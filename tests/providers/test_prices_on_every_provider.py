"""Provider prices are checked before anyone is asked, on every provider that charges (issue 17, finding 6).

A hostile or broken provider answers the read a charge is priced from (ModelsLab's plan catalogue,
Wallgent's ``GET /billing``) with a price that is zero, negative, missing, finer than a cent, vanishingly
small, beyond any bound or astronomically large. The real sandbox runs behind a proxy that rewrites that
one answer. Each such price is refused with ``invalid_price`` naming the field: no approver is asked, no
mandate auto-approves, nothing is charged, and no untyped exception reaches the tool's answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.tools.conftest import call

from agent_billing.audit import MemoryAuditLog
from agent_billing.client import BillingClient
from agent_billing.guardrails.approval import ApprovalRequest
from agent_billing.guardrails.mandate import Mandate
from agent_billing.guardrails.spend_store import SqliteSpendStore
from agent_billing.inprocess import SANDBOX_ORIGIN, SyncASGITransport
from agent_billing.registry import get_registry
from agent_billing.retry import RetryPolicy
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit

SENTINEL = "@@price@@"
# (id, the raw JSON token put where the price was); ModelsLab sends numbers, Wallgent decimal strings.
HOSTILE = [("zero", "0"), ("negative", "-29"), ("null", "null"), ("sub-cent", "29.999"), ("tiny", "1e-7"),
           ("overflow", "1e309"), ("huge", "1" + "0" * 33)]


@dataclass(frozen=True)
class Provider:
    """Where a provider's charge is priced from, and how to make one."""

    name: str
    priced_by: str  # the path of the read whose answer carries the price
    put_price: Callable[[Any], None]  # replace the price in that answer's JSON with SENTINEL
    quoted: bool  # the wire sends the price as a JSON string
    tool: str
    charge: dict[str, Any]
    setup: Callable[[BillingClient, httpx.Client], None]
    charges: Callable[[Any], int]


def _modelslab_price(body: Any) -> None:
    for plan in body["data"]["subscription_plans"]:
        if plan["id"] == 10:
            plan["price"] = SENTINEL


def _wallgent_price(body: Any) -> None:
    body["price"] = SENTINEL


def _modelslab_setup(client: BillingClient, root: httpx.Client) -> None:
    client.call("add_payment_method", {"payment_method_id": "pm_card_visa", "make_default": True})


def _wallgent_setup(client: BillingClient, root: httpx.Client) -> None:
    client.call("save_payment_method", {"payment_method_id": "pm_card_visa"})
    client.call("subscribe", {"plan": "STARTER", "payment_method": "CARD", "stripe_payment_method_id": "pm_card_visa"})
    root.post("/wallgent/v1/sandbox/fail-next-renewal").raise_for_status()
    root.post("/wallgent/v1/sandbox/advance").raise_for_status()  # the renewal fails: a payment to retry


def _modelslab_charges(app: Any) -> int:
    rows = app.state.sandbox.ledger.rows("SELECT COUNT(*) FROM payment_intents WHERE status = 'succeeded'")
    return int(rows[0][0])


def _wallgent_paid(app: Any) -> int:
    client = BillingClient(base_url=SANDBOX_ORIGIN + "/wallgent/v1", token="wg_test_sandbox",
                           transport=SyncASGITransport(app), provider="wallgent")
    return sum(1 for invoice in client.call("list_invoices", {"limit": 100}).invoices if invoice.status == "PAID")


PROVIDERS = [
    Provider("modelslab", "/subscriptions/plans", _modelslab_price, False, "subscriptions",
             {"action": "create", "plan_id": 10, "payment_method_id": "pm_card_visa"}, _modelslab_setup,
             _modelslab_charges),
    Provider("wallgent", "/billing", _wallgent_price, True, "billing", {"action": "retry_payment"}, _wallgent_setup,
             _wallgent_paid),
]


class HostilePrice(httpx.BaseTransport):
    """The real sandbox, with the price in one read's answer replaced by ``token`` (the rest untouched)."""

    def __init__(self, inner: httpx.BaseTransport, provider: Provider, token: str) -> None:
        self.inner, self.provider, self.token = inner, provider, token

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method != "GET" or not request.url.path.endswith(self.provider.priced_by):
            return response
        body = json.loads(response.read())
        self.provider.put_price(body)
        token = f'"{self.token}"' if self.provider.quoted and self.token != "null" else self.token
        content = json.dumps(body).replace(f'"{SENTINEL}"', token).encode()
        return httpx.Response(response.status_code, headers={"Content-Type": "application/json"}, content=content,
                              request=request)


def _client(app: Any, provider: Provider, transport: httpx.BaseTransport) -> BillingClient:
    connection = get_registry(provider.name).connection
    token = "sk_prices" if provider.name == "modelslab" else connection.sandbox_token
    return BillingClient(base_url=SANDBOX_ORIGIN + connection.sandbox_path, token=token, provider=provider.name,
                         transport=transport, retry=RetryPolicy.none())


@pytest.fixture(params=PROVIDERS, ids=lambda p: p.name)
def provider(request: pytest.FixtureRequest) -> Provider:
    return request.param  # type: ignore[no-any-return]


@pytest.mark.parametrize("token", [t for _, t in HOSTILE], ids=[name for name, _ in HOSTILE])
@pytest.mark.parametrize("mandate", [False, True], ids=["approver", "auto-approving-mandate"])
def test_a_hostile_price_is_refused_before_anyone_is_asked(provider: Provider, token: str, mandate: bool,
                                                           tmp_path: Path) -> None:
    if provider.name == "wallgent" and token == "null":
        pytest.skip("Wallgent's price field is optional: without it the published plan price applies")
    app = create_app(rate_limit=False, tokens=("sk_prices",))
    plain = SyncASGITransport(app)
    with httpx.Client(transport=SyncASGITransport(app), base_url=SANDBOX_ORIGIN,
                      headers={"Authorization": "Bearer wg_test_sandbox"}) as root:
        provider.setup(_client(app, provider, plain), root)
    before = provider.charges(app)
    asked: list[ApprovalRequest] = []
    extra: dict[str, Any] = {}
    if mandate:
        extra = {"mandate": Mandate(auto_approve=True, max_per_charge="1000", max_per_24h="5000"),
                 "spend_store": SqliteSpendStore(tmp_path / "spend.db")}
    toolkit = BillingToolkit(client=_client(app, provider, HostilePrice(plain, provider, token)),
                             approval=lambda request: asked.append(request) is None, audit=MemoryAuditLog(), **extra)
    content, message = call(toolkit.get_tool(provider.tool), **provider.charge)
    if token in ("1e309", "1" + "0" * 33):
        # Numbers no money field can hold: the client already refuses to read such an answer (a typed
        # unreadable response), so the read the intent depends on fails and the call is refused.
        assert content["ok"] is False and content["error"] in ("invalid_price", "refused"), content
        assert "Nothing was charged" in content["message"] or content["error"] == "invalid_price"
    else:
        assert content["ok"] is False and content["error"] == "invalid_price", content
        assert content["field"].endswith("price") and content["field"] in content["message"]
    assert "Traceback" not in str(message.content) and message.status == "error"
    assert asked == [] and provider.charges(app) == before
    # The preview the middleware and the MCP server ask with agrees: nobody would be asked.
    preview = toolkit.run_flow(toolkit.approval_request(provider.tool, provider.charge, "call_1"))
    assert preview.content["request"] is None


def test_an_honest_price_still_asks(provider: Provider) -> None:
    app = create_app(rate_limit=False, tokens=("sk_prices",))
    plain = SyncASGITransport(app)
    with httpx.Client(transport=SyncASGITransport(app), base_url=SANDBOX_ORIGIN,
                      headers={"Authorization": "Bearer wg_test_sandbox"}) as root:
        provider.setup(_client(app, provider, plain), root)
    asked: list[ApprovalRequest] = []
    toolkit = BillingToolkit(client=_client(app, provider, HostilePrice(plain, provider, "29")),
                             approval=lambda request: asked.append(request) is not None, audit=MemoryAuditLog())
    content, _ = call(toolkit.get_tool(provider.tool), **provider.charge)
    assert content["error"] == "rejected" and len(asked) == 1 and "$29.00" in asked[0].summary
