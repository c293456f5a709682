"""The human handoff end to end, the ensure-funded workflow, and the payment-path advisor."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest
from tests.tools.conftest import MakeToolkit, acall, call

from agent_billing.advisor import rules_of
from agent_billing.client import BillingClient
from agent_billing.providers.modelslab.paths import PATHS, Situation, advise


def pay_later(root: httpx.Client, delay: float = 0.2) -> Any:
    """A person who pays a link shortly after receiving it (through the sandbox's hosted checkout)."""
    paid: list[str] = []

    def receive(handoff: dict[str, Any]) -> None:
        def pay() -> None:
            time.sleep(delay)
            assert root.get(handoff["payment_url"].split("sandbox.local", 1)[-1]).status_code == 200
            root.post(f"/sandbox/checkout/{handoff['session_id']}/complete")
            paid.append(handoff["session_id"])

        threading.Thread(target=pay, daemon=True).start()

    receive.paid = paid  # type: ignore[attr-defined]
    return receive


def test_handoff_then_wait_credits_the_wallet_once(make_toolkit: MakeToolkit, clients: Any,
                                                   sandbox_root: httpx.Client) -> None:
    client: BillingClient = clients[0]
    progress: list[str] = []
    toolkit = make_toolkit(progress=progress.append)
    links = toolkit.get_tool("payment_links")
    link, _ = call(links, action="handoff", purpose="fund", amount=40, channel="voice")
    assert link["ok"] and link["payment_url"].startswith("http") and link["session_id"].startswith("cs_")
    assert "http" not in link["messages"]["voice"] and link["payment_url"] in link["messages"]["chat"]
    pending, _ = call(links, action="wait", session_id=link["session_id"], timeout_seconds=1)
    assert pending["status"] == "pending" and client.get_wallet_balance().balance == 0
    threading.Timer(0.2, lambda: sandbox_root.post(f"/sandbox/checkout/{link['session_id']}/complete")).start()
    paid, _ = call(links, action="wait", session_id=link["session_id"], timeout_seconds=10)
    assert paid["status"] == "paid" and Decimal(paid["result"]["balance"]) == Decimal("40.00")
    assert any("Waiting" in p for p in progress)
    again, _ = call(links, action="confirm_fund", session_id=link["session_id"])
    assert again["ok"] and client.get_wallet_balance().balance == Decimal("40.00")
    assert len(client.get_wallet_transactions().items) == 1


def test_expired_link_is_reported_as_expired(make_toolkit: MakeToolkit, sandbox_root: httpx.Client) -> None:
    links = make_toolkit().get_tool("payment_links")
    link, _ = call(links, action="handoff", purpose="fund", amount=25)
    assert sandbox_root.post(f"/sandbox/checkout/{link['session_id']}/expire").status_code == 200
    result, message = call(links, action="wait", session_id=link["session_id"], timeout_seconds=5)
    assert result["status"] == "expired" and message.status == "error"


def test_subscription_handoff(make_toolkit: MakeToolkit, clients: Any, sandbox_root: httpx.Client) -> None:
    links = make_toolkit().get_tool("payment_links")
    link, _ = call(links, action="handoff", purpose="subscribe", plan_id=42)
    sandbox_root.post(f"/sandbox/checkout/{link['session_id']}/complete")
    done, _ = call(links, action="wait", session_id=link["session_id"])  # the purpose is remembered
    assert done["status"] == "paid"
    assert [s.plan_id for s in clients[0].list_subscriptions().subscriptions] == [42]


async def test_fund_via_human_waits_for_the_person(make_toolkit: MakeToolkit, clients: Any,
                                                    sandbox_root: httpx.Client) -> None:
    person = pay_later(sandbox_root)
    wallet = make_toolkit(handoff_notifier=person).get_tool("wallet")
    result, _ = await acall(wallet, action="fund_via_human", amount=35)
    assert result["status"] == "paid" and person.paid
    assert clients[0].get_wallet_balance().balance == Decimal("35.00")


def test_fund_via_human_without_a_delivery_channel_returns_the_link(make_toolkit: MakeToolkit) -> None:
    result, _ = call(make_toolkit().get_tool("wallet"), action="fund_via_human", amount=35)
    assert result["payment_url"] and "relay" in result["next_step"]


def test_ensure_funded_with_enough_balance_does_nothing(make_toolkit: MakeToolkit, clients: Any) -> None:
    clients[0].fund_wallet(Decimal("50"), "pm_card_visa")
    result, _ = call(make_toolkit().get_tool("wallet"), action="ensure_funded", job_cost=20)
    assert result["status"] == "sufficient"


def test_ensure_funded_tops_up_with_the_saved_card_after_approval(make_toolkit: MakeToolkit, clients: Any) -> None:
    client: BillingClient = clients[0]
    client.add_payment_method("pm_card_visa")
    client.fund_wallet(Decimal("10"), "pm_card_visa")
    asked: list[Any] = []
    wallet = make_toolkit(approval=lambda request: asked.append(request) or True).get_tool("wallet")
    result, _ = call(wallet, action="ensure_funded", job_cost="23.50")
    assert result["status"] == "topped_up" and asked[0].amount == Decimal("13.50")
    assert client.get_wallet_balance().balance == Decimal("23.50")


def test_ensure_funded_without_approval_does_not_fall_back_to_a_charge(make_toolkit: MakeToolkit,
                                                                        clients: Any) -> None:
    clients[0].add_payment_method("pm_card_visa")
    result, _ = call(make_toolkit().get_tool("wallet"), action="ensure_funded", job_cost=30)
    assert result["error"] == "refused" and clients[0].get_wallet_balance().balance == 0


@pytest.mark.parametrize("method", ["pm_card_chargeDeclined", "pm_card_authenticationRequired"])
def test_ensure_funded_hands_off_after_a_decline_or_3ds(make_toolkit: MakeToolkit, clients: Any, method: str) -> None:
    clients[0].add_payment_method(method, make_default=True)
    wallet = make_toolkit(approval=lambda request: True).get_tool("wallet")
    result, _ = call(wallet, action="ensure_funded", job_cost=30, channel="voice")
    assert result["status"] == "needs_human_payment" and result["payment_url"]
    assert clients[0].get_wallet_balance().balance == 0


def test_ensure_funded_with_nobody_to_pay_stops(make_toolkit: MakeToolkit, sandbox_root: httpx.Client) -> None:
    result, message = call(make_toolkit().get_tool("wallet"), action="ensure_funded", job_cost=12, channel="none")
    assert result["status"] == "cannot_pay" and message.status == "error"


def test_toolkit_system_prompt_names_its_tools_and_limits(make_toolkit: MakeToolkit) -> None:
    from agent_billing.guardrails.mandate import Mandate

    toolkit = make_toolkit(mandate=Mandate(max_per_charge="50"), product_name="PixelForge")
    prompt = toolkit.system_prompt("voice", "en")
    assert "PixelForge" in prompt and "$50.00" in prompt and "payment_links" in prompt


def test_ensure_funded_with_no_card_hands_off(make_toolkit: MakeToolkit) -> None:
    result, _ = call(make_toolkit().get_tool("wallet"), action="ensure_funded", job_cost=12, top_up_amount=50)
    assert result["status"] == "needs_human_payment" and result["amount"] == "50.00"


ADVICE_TABLE = [
    ({"purpose": "fund", "amount": 25, "saved_default_card": True}, "headless", "saved_card"),
    ({"purpose": "fund", "amount": 25, "trusted_payment_method_id": "pm_x"}, "headless", "trusted_payment_method"),
    ({"purpose": "subscribe", "plan_id": 10, "wants_to_save_card": True}, "setup_intent", "save_card"),
    ({"purpose": "fund", "amount": 25}, "human_assisted", "human_pays"),
    ({"purpose": "fund", "amount": 25, "channel": "voice"}, "human_assisted", "human_pays"),
    ({"purpose": "fund", "amount": 25, "saved_default_card": True, "card_requires_3ds": True}, "human_assisted",
     "three_d_secure"),
    ({"purpose": "fund", "amount": 25, "saved_default_card": True, "card_declined": True}, "human_assisted",
     "declined"),
    ({"purpose": "fund", "amount": 25, "card_declined": True, "human_present": False}, "cannot_pay", "stuck"),
    ({"purpose": "fund", "amount": 25, "human_present": False}, "cannot_pay", "no_way"),
    ({"purpose": "fund", "amount": 25, "human_present": False, "saved_default_card": True}, "headless", "saved_card"),
    ({"purpose": "subscribe", "plan_id": 42, "wants_to_save_card": True, "human_present": False}, "cannot_pay",
     "no_way"),
]


@pytest.mark.parametrize("facts, path, rule", ADVICE_TABLE)
def test_advisor_decisions(facts: dict[str, Any], path: str, rule: str) -> None:
    advice = advise(Situation(**facts))
    assert (advice.path, advice.rule) == (path, rule)
    assert advice.steps


def test_every_rule_is_reachable() -> None:
    assert {rule for _, _, rule in ADVICE_TABLE} == {r.name for r in rules_of(PATHS)}


def test_voice_advice_never_reads_the_url() -> None:
    steps = advise(Situation(purpose="fund", amount=25, channel="voice")).steps
    assert any("never read the URL" in s for s in steps)


def test_advisor_tool(make_toolkit: MakeToolkit) -> None:
    advisor = make_toolkit().get_tool("payment_path")
    result, _ = call(advisor, purpose="fund", amount=25, card_requires_3ds=True)
    assert result["path"] == "human_assisted" and "handoff" in result["steps"][0]
    bad, message = call(advisor, purpose="fund")
    assert message.status == "error" and bad["error"] == "validation_error"
