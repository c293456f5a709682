"""Wallgent's standing authorisations: what the renewals are charged to needs a yes that names them (issue 17).

Switching the billing method (``payment_method`` ``switch``) moves every later renewal; the approval names
the plan and its monthly price, a mandate approves it alone only within its 24 h limit, and a no stands for
the charge whether the saved card is named or left implied.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.tools.conftest import call

from agent_billing.audit import MemoryAuditLog
from agent_billing.client import BillingClient
from agent_billing.guardrails.approval import ApprovalRequest
from agent_billing.guardrails.mandate import Mandate
from agent_billing.guardrails.spend_store import SqliteSpendStore
from agent_billing.inprocess import SANDBOX_ORIGIN, SyncASGITransport
from agent_billing.retry import RetryPolicy
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit


@pytest.fixture
def client() -> BillingClient:
    """A Wallgent account on STARTER, renewing on the saved Visa, then switched to the wallet."""
    app = create_app(rate_limit=False)
    client = BillingClient(base_url=SANDBOX_ORIGIN + "/wallgent/v1", token="wg_test_sandbox", provider="wallgent",
                           transport=SyncASGITransport(app), retry=RetryPolicy.none())
    client.call("save_payment_method", {"payment_method_id": "pm_card_visa"})
    client.call("subscribe", {"plan": "STARTER", "payment_method": "CARD", "stripe_payment_method_id": "pm_card_visa"})
    client.call("change_payment_method", {"payment_method": "WALLET"})
    return client


def _toolkit(client: BillingClient, approval: Any, **extra: Any) -> BillingToolkit:
    return BillingToolkit(client=client, approval=approval, audit=MemoryAuditLog(), **extra)


def test_a_switch_names_the_renewals_and_a_no_in_other_words_is_not_asked_again(client: BillingClient) -> None:
    asked: list[ApprovalRequest] = []
    tool = _toolkit(client, lambda request: asked.append(request) is not None).get_tool("payment_method")
    first, _ = call(tool, action="switch", payment_method="CARD")
    again, _ = call(tool, action="switch", payment_method="CARD", stripe_payment_method_id="pm_card_visa")
    assert first["error"] == again["error"] == "rejected" and len(asked) == 1
    assert "STARTER renewals ($99.00 per month) to Visa ending 4242" in asked[0].summary
    assert client.call("get_billing").billing_payment_method == "WALLET"  # declined: nothing changed


@pytest.mark.parametrize("cap, auto", [("200", True), ("50", False)])
def test_a_mandate_approves_a_switch_alone_only_within_its_24h_limit(client: BillingClient, tmp_path: Path,
                                                                     cap: str, auto: bool) -> None:
    asked: list[ApprovalRequest] = []
    toolkit = _toolkit(client, lambda request: asked.append(request) is not None,
                       mandate=Mandate(auto_approve=True, max_per_24h=cap),
                       spend_store=SqliteSpendStore(tmp_path / "spend.db"))
    content, _ = call(toolkit.get_tool("payment_method"), action="switch", payment_method="CARD")
    assert asked == [] and content["ok"] is auto
    assert client.call("get_billing").billing_payment_method == ("CARD" if auto else "WALLET")
