"""The person's side of Wallgent's and 10ex's human hand-off, in a real browser: the agent (chatbot preset)
hands over a checkout or portal link, the person acts on the page, and the agent reads the result back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agent_billing import BillingToolkit, WallgentClient
from agent_billing.audit import MemoryAuditLog
from agent_billing.sandbox import SandboxServer

KEY = "wg_test_browser"


class Chatbot:
    """A chatbot's toolkit on one provider, invoked as a model would (JSON in, JSON out)."""

    def __init__(self, toolkit: BillingToolkit) -> None:
        self.toolkit = toolkit

    def __call__(self, tool: str, **args: Any) -> dict[str, Any]:
        content: dict[str, Any] = json.loads(self.toolkit.get_tool(tool).invoke(args))
        assert "error" not in content, content
        return content


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    monkeypatch.setenv("AGENT_BILLING_STATE_DIR", str(tmp_path / "state"))
    with SandboxServer(rate_limit=False, wallgent_keys=[KEY]) as server:
        yield server


@pytest.fixture
def wallgent(server: SandboxServer) -> Iterator[tuple[Chatbot, WallgentClient]]:
    client = WallgentClient(base_url=server.root_url + "/wallgent/v1", token=KEY)
    yield Chatbot(BillingToolkit(client=client, actions="chatbot", audit=MemoryAuditLog())), client
    client.close()


def test_a_person_subscribes_on_wallgents_checkout_and_the_agent_sees_the_plan(
        page: Any, wallgent: tuple[Chatbot, WallgentClient]) -> None:
    chatbot, client = wallgent
    link = chatbot("billing", action="checkout", plan="GROWTH")["result"]["url"]
    page.goto(link)
    assert page.get_by_role("heading", name="Subscribe to Wallgent GROWTH").is_visible()
    assert "$249.00 per month" in page.inner_text("body")
    page.get_by_label("Mastercard ending 4444 (succeeds)").check()
    page.get_by_role("button", name="Pay $249.00").click()
    page.wait_for_load_state()
    billing = chatbot("billing", action="get")["result"]
    assert (billing["plan"], billing["billing_status"], billing["billing_payment_method"]) == ("GROWTH", "ACTIVE", "CARD")
    assert billing["card_details"]["last4"] == "4444"
    invoices = client.list_invoices()
    assert invoices.total == 1 and invoices.invoices[0].amount == Decimal("249.00")
    page.go_back()  # paying the same page again must not charge twice
    page.reload()
    if page.get_by_role("button", name="Pay $249.00").count():
        page.get_by_role("button", name="Pay $249.00").click()
        page.wait_for_load_state()
    assert client.list_invoices().total == 1


def test_a_declined_card_on_wallgents_checkout_is_shown_and_moves_nothing(
        page: Any, wallgent: tuple[Chatbot, WallgentClient]) -> None:
    chatbot, client = wallgent
    page.goto(chatbot("billing", action="checkout", plan="STARTER")["result"]["url"])
    page.get_by_label("Visa ending 0002 (declined)").check()
    page.get_by_role("button", name="Pay $99.00").click()
    page.wait_for_load_state()
    assert "declined" in page.inner_text("body").lower()
    assert client.get_billing().plan == "FREE" and client.list_invoices().total == 0


def test_a_person_cancels_in_wallgents_portal_at_period_end(page: Any, wallgent: tuple[Chatbot, WallgentClient]) -> None:
    chatbot, client = wallgent
    client.subscribe("STARTER", "WALLET")
    page.goto(chatbot("billing", action="portal")["result"]["url"])
    assert "STARTER" in page.inner_text("body") and "$99.00" in page.inner_text("body")
    page.get_by_role("button", name="Cancel subscription").click()
    page.wait_for_load_state()
    billing = client.get_billing()
    assert billing.cancel_at_period_end is True and billing.plan == "STARTER"  # it runs to the period's end


def test_a_10ex_upgrade_request_hands_an_admin_the_portal(page: Any, server: SandboxServer) -> None:
    from agent_billing import TenexClient

    client = TenexClient(base_url=server.root_url + "/tenex/api/v1/payments", token="tnx_browser")
    chatbot = Chatbot(BillingToolkit(client=client, actions="chatbot", audit=MemoryAuditLog()))
    before = client.get_subscription()
    handoff = chatbot("subscription", action="upgrade", plan="Business")
    assert handoff["changed"] is False
    page.goto(handoff["portal_url"])
    assert page.get_by_role("heading", name="10ex billing portal").is_visible()
    assert f"Plan {before.plan}" in page.inner_text("body")
    assert client.get_subscription() == before
    client.close()
