"""The person's side of the human-assisted path: the sandbox's hosted checkout in a real browser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent_billing import BillingClient, BillingToolkit
from agent_billing.audit import MemoryAuditLog
from agent_billing.sandbox import SandboxServer

TOKEN = "sk_sandbox_browser"


class Agent:
    """The agent's side: creates links and confirms payments through the billing tools."""

    def __init__(self, server: SandboxServer) -> None:
        self.client = BillingClient(base_url=server.base_url, token=TOKEN)
        self.toolkit = BillingToolkit(client=self.client, approval="interrupt", audit=MemoryAuditLog(),
                                      poll_interval=(0.0, 0.0), wait_timeout=0.0)
        self.root = server.root_url

    def link(self, amount: int) -> dict[str, Any]:
        result = self.toolkit.get_tool("payment_links").invoke({"action": "handoff", "purpose": "fund",
                                                                 "amount": amount, "channel": "chat"})
        content: dict[str, Any] = json.loads(result)
        assert content["ok"], content
        return content

    def confirm(self, session_id: str) -> dict[str, Any]:
        result = self.toolkit.get_tool("payment_links").invoke({"action": "wait", "session_id": session_id})
        content: dict[str, Any] = json.loads(result)
        return content

    def balance(self) -> Decimal:
        return self.client.get_wallet_balance().balance


@pytest.fixture
def agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Agent]:
    monkeypatch.setenv("AGENT_BILLING_STATE_DIR", str(tmp_path / "state"))
    with SandboxServer(tokens=(TOKEN,), rate_limit=False) as server:
        yield Agent(server)


def test_pay_with_the_4242_card_copy_the_session_id_and_the_wallet_is_credited_once(page: Any, agent: Agent) -> None:
    link = agent.link(40)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=agent.root)
    page.goto(link["payment_url"])
    assert "$40.00" in page.inner_text("main") and "SANDBOX" in page.inner_text("main")
    page.get_by_label("Test card").select_option(label="Visa ending 4242 (succeeds)")
    page.get_by_role("button", name="Pay $40.00").click()
    page.wait_for_url("**/success")
    assert page.get_by_role("heading", name="Payment received").is_visible()
    session_id = page.get_by_label("Session id: copy it back to your agent").input_value()
    assert session_id == link["session_id"]
    page.get_by_role("button", name="Copy session id").click()
    assert page.evaluate("navigator.clipboard.readText()") == session_id
    assert page.get_by_role("button", name="Copied").is_visible()
    first = agent.confirm(session_id)
    assert first["ok"] and first["status"] == "paid", first
    assert agent.balance() == Decimal("40.00")
    again = agent.confirm(session_id)
    assert again["ok"], again
    assert agent.balance() == Decimal("40.00")  # confirming twice credits once


def test_a_declining_card_shows_the_decline_and_moves_nothing(page: Any, agent: Agent) -> None:
    link = agent.link(25)
    page.goto(link["payment_url"])
    page.get_by_label("Test card").select_option(label="Visa ending 0002 (declined)")
    page.get_by_role("button", name="Pay $25.00").click()
    alert = page.get_by_role("alert")
    assert "declined" in alert.inner_text().lower()
    assert page.get_by_role("button", name="Pay $25.00").is_visible()  # another card can still be tried
    pending = agent.confirm(link["session_id"])
    assert not pending["ok"] and pending["status"] == "pending"
    assert agent.balance() == Decimal("0.00")


def test_the_form_works_with_the_keyboard_alone(page: Any, agent: Agent) -> None:
    link = agent.link(30)
    page.goto(link["payment_url"])
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "pm"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Pay $30.00"
    page.keyboard.press("Enter")
    page.wait_for_url("**/success")
    assert page.get_by_label("Session id: copy it back to your agent").input_value() == link["session_id"]


def test_expired_and_already_paid_links_show_a_clear_page(page: Any, agent: Agent) -> None:
    expired = agent.link(20)
    httpx.post(f"{agent.root}/sandbox/checkout/{expired['session_id']}/expire", timeout=10).raise_for_status()
    response = page.goto(expired["payment_url"])
    assert response.status == 410
    assert "expired" in page.inner_text("main") and "Ask for a new one" in page.inner_text("main")
    assert page.get_by_role("button", name="Pay $20.00").count() == 0
    paid = agent.link(15)
    httpx.post(f"{agent.root}/sandbox/checkout/{paid['session_id']}/complete", timeout=10).raise_for_status()
    page.goto(paid["payment_url"])
    assert "This checkout is paid." in page.inner_text("main")
    assert page.get_by_role("button", name="Pay $15.00").count() == 0
    page.get_by_role("link", name="Show the session id").click()
    assert page.get_by_label("Session id: copy it back to your agent").input_value() == paid["session_id"]


def test_the_page_is_readable_at_phone_width(browser: Any, agent: Agent) -> None:
    link = agent.link(40)
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True)
    phone = context.new_page()
    try:
        phone.goto(link["payment_url"])
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360  # nothing to scroll sideways
        size = phone.evaluate("parseFloat(getComputedStyle(document.querySelector('main')).fontSize)")
        assert size >= 14
        button = phone.get_by_role("button", name="Pay $40.00").bounding_box()
        assert button is not None and button["height"] >= 32 and button["x"] + button["width"] <= 360
    finally:
        context.close()
