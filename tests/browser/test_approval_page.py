"""An out-of-band approval end to end in a real browser: the agent asks, the notifier receives the link, the page
(served by the sandbox under /approvals) shows the true facts, the person approves or declines, the charge runs
once or not at all, a reused or expired link moves nothing, and two charges' links cannot be swapped."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agent_billing import BillingClient, BillingToolkit
from agent_billing.audit import MemoryAuditLog
from agent_billing.guardrails.out_of_band import ApprovalLink, OutOfBandApprover
from agent_billing.sandbox import SandboxServer

TOKEN = "sk_sandbox_browser_oob"


class Agent:
    """The agent: a toolkit whose approver sends the link to a phone (here, a queue the test reads)."""

    def __init__(self, server: SandboxServer, store: str) -> None:
        self.client = BillingClient(base_url=server.base_url, token=TOKEN)
        self.client.add_payment_method("pm_card_visa", make_default=True)
        self.inbox: queue.Queue[ApprovalLink] = queue.Queue()
        self.decided = threading.Event()
        # The approver's wait sleeps until the browser has pressed a button (no fixed sleeps), bounded by wait=.
        approver = OutOfBandApprover(notifier=self.inbox.put, base_url=f"{server.root_url}/approvals", wait=60,
                                     poll=5, sleep=lambda seconds: self.decided.wait(seconds))
        self.toolkit = BillingToolkit(client=self.client, approval=approver, store=store, audit=MemoryAuditLog())
        self.results: list[dict[str, Any]] = []

    def fund(self, amount: int) -> threading.Thread:
        """Ask for a top-up in the background (the tool waits for the person)."""
        def run() -> None:
            self.results.append(json.loads(self.toolkit.get_tool("wallet").invoke({"action": "fund",
                                                                                    "amount": amount})))

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    def ledger(self) -> tuple[Decimal, int]:
        return self.client.get_wallet_balance().balance, len(self.client.get_wallet_transactions().items)


@pytest.fixture
def agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Agent]:
    monkeypatch.setenv("AGENT_BILLING_STATE_DIR", str(tmp_path / "state"))
    store = f"sqlite:///{tmp_path / 'guardrails.db'}"
    with SandboxServer(tokens=(TOKEN,), rate_limit=False, approvals=store) as server:
        yield Agent(server, store)


def _decide(page: Any, agent: Agent, amount: int, button: str) -> tuple[ApprovalLink, dict[str, Any]]:
    asking = agent.fund(amount)
    link = agent.inbox.get(timeout=30)
    page.goto(link.url)
    facts = page.inner_text("#facts")
    assert f"${amount}.00 USD" in facts and "one-off" in facts and "Visa ending 4242" in facts, facts
    assert page.get_by_role("heading", name="Approve this payment?").is_visible()
    page.get_by_role("button", name=button).click()
    page.wait_for_load_state()
    agent.decided.set()
    asking.join(timeout=30)
    assert not asking.is_alive()
    agent.decided.clear()
    return link, agent.results[-1]


def test_approve_in_the_browser_charges_once_and_the_link_is_then_dead(page: Any, agent: Agent) -> None:
    link, result = _decide(page, agent, 25, "Approve")
    assert page.get_by_role("heading", name="Approved").is_visible()
    assert result["ok"] is True, result
    assert agent.ledger() == (Decimal("25.00"), 1)
    assert agent.inbox.empty()  # one notification
    page.goto(link.url)  # the used link: a plain page, no buttons, nothing moves
    assert "cannot be used" in page.inner_text("body") and page.get_by_role("button").count() == 0
    assert agent.ledger() == (Decimal("25.00"), 1)


def test_decline_in_the_browser_moves_nothing(page: Any, agent: Agent) -> None:
    link, result = _decide(page, agent, 40, "Decline")
    assert page.get_by_role("heading", name="Declined").is_visible()
    assert result["ok"] is False and result["error"] == "rejected", result
    assert agent.ledger() == (Decimal("0.00"), 0)
    page.goto(link.url)
    assert "cannot be used" in page.inner_text("body")


def test_the_page_forbids_framing_and_scripts(page: Any, agent: Agent) -> None:
    asking = agent.fund(20)
    link = agent.inbox.get(timeout=30)
    answer = page.goto(link.url)
    headers = answer.headers
    assert headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store" and headers["referrer-policy"] == "no-referrer"
    assert page.evaluate("document.scripts.length") == 0
    page.get_by_role("button", name="Decline").click()
    agent.decided.set()
    asking.join(timeout=30)
    assert agent.ledger() == (Decimal("0.00"), 0)


class StepClock:
    """Real time at the start, then moving only when the approver sleeps: a wait with nobody deciding ends at
    once, and a link's expiry can be passed without waiting for it."""

    def __init__(self, offset: float = 0.0) -> None:
        self.now = time.time() + offset

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _asking_agent(server: SandboxServer, store: str, clock: StepClock, *, ttl: float = 900.0) -> tuple[Agent, Any]:
    """An agent whose approver waits 20 s on ``clock`` (nobody answering: the call ends at once, nothing moved)."""
    agent = Agent(server, store)
    approver = OutOfBandApprover(notifier=agent.inbox.put, base_url=f"{server.root_url}/approvals", wait=20, poll=5,
                                 ttl=ttl, clock=clock, sleep=clock.sleep)
    agent.toolkit = BillingToolkit(client=agent.client, approval=approver, store=store, audit=MemoryAuditLog())
    return agent, agent.toolkit.get_tool("wallet")


def _fund(tool: Any, amount: int) -> dict[str, Any]:
    return dict(json.loads(tool.invoke({"action": "fund", "amount": amount})))


@pytest.fixture
def server_and_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SandboxServer, str]]:
    monkeypatch.setenv("AGENT_BILLING_STATE_DIR", str(tmp_path / "state"))
    store = f"sqlite:///{tmp_path / 'guardrails.db'}"
    with SandboxServer(tokens=(TOKEN,), rate_limit=False, approvals=store) as server:
        yield server, store


def test_an_expired_link_in_the_browser_offers_nothing_and_moves_nothing(
        page: Any, server_and_store: tuple[SandboxServer, str]) -> None:
    # The request is made an hour ago (the approver's clock) with a 15-minute life: by the page's clock it is over.
    agent, wallet = _asking_agent(*server_and_store, StepClock(offset=-3600))
    assert _fund(wallet, 25)["ok"] is False
    link = agent.inbox.get(timeout=5)
    page.goto(link.url)
    assert "cannot be used" in page.inner_text("body") and page.get_by_role("button").count() == 0
    assert "$25.00" not in page.inner_text("body")  # an expired link shows no facts either
    assert agent.ledger() == (Decimal("0.00"), 0)


def test_two_links_for_two_charges_cannot_be_swapped_in_the_browser(
        page: Any, server_and_store: tuple[SandboxServer, str]) -> None:
    agent, wallet = _asking_agent(*server_and_store, StepClock())
    assert _fund(wallet, 25)["ok"] is False and _fund(wallet, 40)["ok"] is False  # asked; nobody answered yet
    link_25, link_40 = agent.inbox.get(timeout=5), agent.inbox.get(timeout=5)
    page.goto(link_40.url)
    assert "$40.00 USD" in page.inner_text("#facts")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Approved").is_visible()
    # The $40 yes does not let the $25 charge run: it still waits for its own link, and nothing moves.
    assert _fund(wallet, 25)["ok"] is False and agent.ledger() == (Decimal("0.00"), 0)
    assert agent.inbox.empty()  # the $25 charge's link is still the one out; no new link
    # The $40 charge runs once, on its own yes; asked again, it does not run a second time.
    ran = _fund(wallet, 40)
    assert ran["ok"] is True and agent.ledger() == (Decimal("40.00"), 1), ran
    page.goto(link_40.url)
    assert "cannot be used" in page.inner_text("body")
    assert _fund(wallet, 40)["ok"] is False and agent.ledger() == (Decimal("40.00"), 1)
    page.goto(link_25.url)  # the $25 link still shows its own facts, never the $40's
    assert "$25.00 USD" in page.inner_text("#facts") and "$40.00" not in page.inner_text("#facts")
