"""ModelsLab's own published skill helpers (``requests``, copied verbatim) run unchanged against the sandbox."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import reference_skill as skill
import requests
from sandbox_helpers import RESELLER_TOKEN, TOKEN

from agent_billing.sandbox import SandboxServer


@pytest.fixture
def skill_on(server: SandboxServer) -> Iterator[SandboxServer]:
    skill.configure(server.base_url, TOKEN, server.root_url)
    yield server
    skill.BASE, skill.TOKEN, skill.STRIPE_API_BASE, skill.STRIPE_PK = (
        "https://modelslab.com/api/agents/v1", None, "https://api.stripe.com", None)


class Human:
    """A person who opens every payment link of the account and presses Pay (as the hosted page's form does)."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.stop = threading.Event()
        self.paid: list[str] = []
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.wait(0.02):
            with self.server.ledger.transaction():
                open_ids = [row[0] for row in self.server.ledger._conn.execute(
                    "SELECT id FROM checkout_sessions WHERE status = 'open' AND account_id = 1")]
            for sid in open_ids:
                page = requests.get(f"{self.server.root_url}/sandbox/checkout/{sid}", timeout=5)
                assert "Pay $" in page.text
                r = requests.post(f"{self.server.root_url}/sandbox/checkout/{sid}/pay",
                                  data={"payment_method": "pm_card_visa"}, timeout=5)
                assert r.status_code == 200 and sid in r.text  # followed the redirect to the success page
                self.paid.append(sid)

    def __enter__(self) -> Human:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)


def test_headless_and_setup_intent_paths(skill_on: SandboxServer) -> None:
    token = TOKEN
    overview = skill.get_billing_overview(token)
    assert overview["wallet_balance"] == 0
    assert skill.get_stripe_config(token)["publishable_key"] == skill.STRIPE_PK

    # Headless: tokenize with "Stripe", then fund with an idempotency key (twice: charged once).
    pm_id = skill.create_payment_method("4242424242424242", 12, 2030, "123")
    assert pm_id.startswith("pm_")
    first = skill.fund_wallet(token, 50, payment_method_id=pm_id, idempotency_key="fund-50-20260220")
    again = skill.fund_wallet(token, 50, payment_method_id=pm_id, idempotency_key="fund-50-20260220")
    assert again["idempotency_replay"] is True and again["payment"] == first["payment"]
    assert skill.get_wallet_balance(token)["balance"] == 50
    status = skill.get_payment_status(token, first["payment"]["payment_intent_id"])
    assert status["status"] == "succeeded"

    # Setup intent: the skill's own inline snippet, Stripe URL pointed at the sandbox.
    setup = skill.create_setup_intent(token)
    client_secret = setup["client_secret"]
    assert client_secret
    stripe_pk = skill.get_stripe_config(token)["publishable_key"]
    confirm_resp = requests.post(
        f"{skill.STRIPE_API_BASE}/v1/setup_intents/{setup['setup_intent_id']}/confirm",
        auth=(stripe_pk, ""),
        data={
            "payment_method_data[type]": "card",
            "payment_method_data[card][number]": "4242424242424242",
            "payment_method_data[card][exp_month]": 12,
            "payment_method_data[card][exp_year]": 2030,
            "payment_method_data[card][cvc]": "123",
        },
    )
    saved_pm = confirm_resp.json()["payment_method"]
    skill.add_payment_method(token, saved_pm, make_default=True)
    skill.fund_wallet(token, 50, payment_method_id=saved_pm)
    cards = skill.list_payment_methods(token)["payment_methods"]
    assert [c["id"] for c in cards] == [saved_pm] and cards[0]["is_default"] is True

    # Usage as in the skill.
    txns = skill.get_wallet_transactions(token, type="credit", limit=20)
    assert txns["wallet"]["balance"] == 100 and len(txns["items"]) == 2
    skill.update_billing_info(token, name="Acme Corp", email="billing@acme.com", tax_id="EU123456789",
                              tax_id_type="eu_vat", address_line1="123 AI Street", address_city="San Francisco",
                              address_state="CA", address_postal_code="94105", address_country="US")
    assert skill.get_billing_info(token)["tax_id"] == "EU123456789"
    info = skill.validate_coupon(token, "WELCOME50")
    if not info.get("error"):
        skill.redeem_coupon(token, "WELCOME50")
    assert skill.get_wallet_balance(token)["balance"] == 105

    # Subscriptions, headless.
    plans_data = skill.list_plans(token)
    payg = plans_data["pay_as_you_go"]
    assert payg["available"] and payg["minimum_topup_usd"] == 10 and payg["auto_payments"]["supported"]
    chosen = next(p for p in plans_data["subscription_plans"] if p["id"] == 10)
    result = skill.create_subscription_headless(token, chosen["id"], pm_id, idempotency_key="sub-10")
    assert result["status"] == "active"
    sub_id = result["subscription"]["id"]
    assert skill.get_subscription_status(token, sub_id)["status"] == "active"
    assert skill.update_subscription(token, sub_id, 11)["subscription"]["plan_id"] == 11
    assert skill.pause_subscription(token, sub_id)["status"] == "paused"
    assert skill.resume_subscription(token, sub_id)["status"] == "active"
    skill.reset_subscription_cycle(token, sub_id)
    skill.fix_payment(token, sub_id)  # not past due: the skill ignores the 409, nothing changes
    assert skill.get_subscription_status(token, sub_id)["status"] == "active"
    charged = skill.charge_subscription_amount(token, 5)
    assert charged["amount"] == 5
    assert len(skill.list_subscriptions(token)["subscriptions"]) == 1

    # Invoices and their documents.
    invoices = skill.list_invoices(token)["invoices"]
    assert invoices and all(i["status"] == "paid" for i in invoices)
    detail = skill.get_invoice(token, invoices[0]["id"])
    links = skill.get_invoice_pdf(token, detail["id"])
    pdf = requests.get(links["pdf_url"], timeout=5)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert requests.get(links["receipt_url"], timeout=5).status_code == 200

    # Auto-recharge, then the common workflow.
    skill.enable_auto_funding(token, auto_charge_amount=25, charge_threshold=5)
    assert skill.get_billing_overview(token)["auto_funding"]["enabled"] is True
    skill.disable_auto_funding(token)
    assert skill.get_billing_overview(token)["auto_funding"]["enabled"] is False
    skill.ensure_account_funded(token, min_balance=500, top_up_amount=25)  # below: funds with the default card
    skill.set_default_payment_method(token, saved_pm)
    skill.remove_payment_method(token, saved_pm)
    assert skill.list_payment_methods(token)["payment_methods"] == []


def test_human_assisted_paths_with_polling(skill_on: SandboxServer) -> None:
    token = TOKEN
    with Human(skill_on) as human:
        result = skill.fund_via_human(token, amount=50, poll_interval=0.05, max_wait=10)
        assert result is not None and result["balance"] == 50 and result["already_confirmed"] is False

        link = skill.create_payment_link(token, purpose="subscribe", plan_id=42)
        assert link["payment_url"].startswith(skill_on.root_url)
        confirmed = None
        for _ in range(200):
            confirmed = skill.confirm_subscription_checkout(token, link["session_id"])
            if confirmed:  # None while the human has not paid (the skill reads data of a 409)
                break
            threading.Event().wait(0.02)
        assert confirmed is not None and confirmed["status"] == "active"

        created = skill.create_subscription(token, 10)
        assert created["checkout_url"].endswith(created["session_id"])
        for _ in range(200):
            if skill.confirm_subscription_checkout(token, created["session_id"]):
                break
            threading.Event().wait(0.02)
    assert len(human.paid) == 3
    assert {s["plan_id"] for s in skill.list_subscriptions(token)["subscriptions"]} == {10, 42}
    assert skill.get_wallet_balance(token)["balance"] == 50


def test_withdraw_for_a_reseller(skill_on: SandboxServer) -> None:
    skill.fund_wallet(RESELLER_TOKEN, 40, payment_method_id="pm_card_visa")
    data = skill.withdraw(RESELLER_TOKEN, 15)
    assert data["amount"] == 15 and data["balance"] == 25
    assert skill.withdraw(TOKEN, 15) is None  # 403: the skill returns the envelope's null data
