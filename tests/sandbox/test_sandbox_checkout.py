"""Payment links: the hosted checkout page, paying, confirming exactly once, expiry."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
from sandbox_helpers import TOKEN, Api, FakeClock, count

from agent_billing.providers.modelslab.sandbox.ledger import Ledger
from agent_billing.sandbox import SandboxServer


async def test_fund_link_full_flow_credits_exactly_once(api: Api, http: httpx.AsyncClient, ledger: Ledger) -> None:
    link = await api.ok("POST", "/billing/payment-link", json={"purpose": "fund", "amount": 50})
    sid = link["session_id"]
    assert sid.startswith("cs_test_") and link["purpose"] == "fund" and link["amount"] == 50
    assert link["payment_url"] == f"http://sandbox.test/sandbox/checkout/{sid}"
    assert link["expires_at"].endswith("Z") and "confirm-checkout" in link["instructions"]

    err = await api.err("POST", "/wallet/confirm-checkout", 409, "checkout_not_paid", json={"session_id": sid})
    assert "poll" in err["message"].lower()

    page = await http.get(link["payment_url"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "$50.00" in page.text and "<form" in page.text and "Pay $50.00" in page.text

    paid = await http.post(f"/sandbox/checkout/{sid}/pay", data={"payment_method": "pm_card_visa"})
    assert paid.status_code == 303 and paid.headers["location"] == f"/sandbox/checkout/{sid}/success"
    success = await http.get(paid.headers["location"])
    assert success.status_code == 200 and sid in success.text and "Copy" in success.text
    assert (await api.ok("GET", "/wallet/balance"))["balance"] == 0  # nothing credited before confirmation

    first = await api.ok("POST", "/wallet/confirm-checkout", json={"session_id": sid})
    assert first["already_confirmed"] is False and first["amount"] == 50 and first["balance"] == 50
    for _ in range(3):
        again = await api.ok("POST", "/wallet/confirm-checkout", json={"session_id": sid})
        assert again["already_confirmed"] is True and again["amount"] == 50 and again["balance"] == 50
    assert count(ledger, "SELECT COUNT(*) FROM wallet_entries") == 1
    credits = await api.ok("GET", "/wallet/transactions")
    assert credits["items"][0]["source"] == "stripe_checkout"
    assert (await api.ok("GET", "/billing/invoices"))["count"] == 1


async def test_declined_on_the_page_keeps_the_session_open(api: Api, http: httpx.AsyncClient) -> None:
    link = await api.ok("POST", "/billing/payment-link", json={"purpose": "fund", "amount": 20})
    sid = link["session_id"]
    page = await http.post(f"/sandbox/checkout/{sid}/pay", data={"payment_method": "pm_card_chargeDeclined"})
    assert page.status_code == 402 and "declined" in page.text and "<form" in page.text
    await api.err("POST", "/wallet/confirm-checkout", 409, "checkout_not_paid", json={"session_id": sid})
    r = await http.post(f"/sandbox/checkout/{sid}/complete", json={"payment_method": "pm_card_chargeDeclined"})
    assert r.status_code == 402 and r.json()["error"]["code"] == "payment_declined"
    r = await http.post(f"/sandbox/checkout/{sid}/complete")
    assert r.status_code == 200 and r.json()["data"]["status"] == "complete"
    assert r.json()["data"]["payment_status"] == "paid"
    assert (await api.ok("POST", "/wallet/confirm-checkout", json={"session_id": sid}))["balance"] == 20


async def test_expiry_on_the_clock(api: Api, http: httpx.AsyncClient, clock: FakeClock) -> None:
    link = await api.ok("POST", "/billing/payment-link", json={"purpose": "fund", "amount": 20})
    sid = link["session_id"]
    clock.advance(1799)
    await api.err("POST", "/wallet/confirm-checkout", 409, "checkout_not_paid", json={"session_id": sid})
    clock.advance(1)
    err = await api.err("POST", "/wallet/confirm-checkout", 409, "checkout_expired", json={"session_id": sid})
    assert "new payment link" in err["message"]
    assert (await http.get(f"/sandbox/checkout/{sid}")).status_code == 410
    r = await http.post(f"/sandbox/checkout/{sid}/complete")
    assert r.status_code == 409 and r.json()["error"]["code"] == "checkout_expired"
    assert (await api.ok("GET", "/wallet/balance"))["balance"] == 0


async def test_forced_expiry_and_expiring_a_paid_session(api: Api, http: httpx.AsyncClient) -> None:
    link = await api.ok("POST", "/billing/payment-link", json={"purpose": "fund", "amount": 20})
    r = await http.post(f"/sandbox/checkout/{link['session_id']}/expire")
    assert r.status_code == 200 and r.json()["data"]["status"] == "expired"
    await api.err("POST", "/wallet/confirm-checkout", 409, "checkout_expired", json={"session_id": link["session_id"]})
    paid = await api.ok("POST", "/billing/payment-link", json={"purpose": "fund", "amount": 20})
    await http.post(f"/sandbox/checkout/{paid['session_id']}/complete")
    r = await http.post(f"/sandbox/checkout/{paid['session_id']}/expire")
    assert r.status_code == 409
    assert (await http.post("/sandbox/checkout/cs_test_nope/expire")).status_code == 404


async def test_a_paid_session_confirms_after_its_expiry_time(api: Api, http: httpx.AsyncClient,
                                                             clock: FakeClock) -> None:
    link = await api.ok("POST", "/billing/payment-link", json={"purpose": "fund", "amount": 30})
    await http.post(f"/sandbox/checkout/{link['session_id']}/complete")
    clock.advance(7200)
    data = await api.ok("POST", "/wallet/confirm-checkout", json={"session_id": link["session_id"]})
    assert data["balance"] == 30


async def test_wrong_purpose_and_other_accounts(api: Api, other_api: Api, http: httpx.AsyncClient) -> None:
    fund = await api.ok("POST", "/billing/payment-link", json={"purpose": "fund", "amount": 20})
    sub = await api.ok("POST", "/billing/payment-link", json={"purpose": "subscribe", "plan_id": 42})
    assert sub["plan_id"] == 42 and sub["amount"] == 19
    for link in (fund, sub):
        await http.post(f"/sandbox/checkout/{link['session_id']}/complete")
    err = await api.err("POST", "/subscriptions/confirm-checkout", 400, "validation_error",
                        json={"session_id": fund["session_id"]})
    assert "/wallet/confirm-checkout" in err["message"]
    await api.err("POST", "/wallet/confirm-checkout", 400, "validation_error", json={"session_id": sub["session_id"]})
    await other_api.err("POST", "/wallet/confirm-checkout", 404, "not_found", json={"session_id": fund["session_id"]})
    await api.err("POST", "/wallet/confirm-checkout", 404, "not_found", json={"session_id": "cs_test_unknown"})
    assert (await other_api.ok("GET", "/wallet/balance"))["balance"] == 0
    # Confirm properly afterwards: the refusals consumed nothing.
    assert (await api.ok("POST", "/wallet/confirm-checkout", json={"session_id": fund["session_id"]}))["balance"] == 20


async def test_subscribe_link_and_checkout_subscription(api: Api, http: httpx.AsyncClient) -> None:
    created = await api.ok("POST", "/subscriptions", json={"plan_id": 10, "success_url": "https://example.com/done"})
    assert created["status"] == "checkout_required"
    assert created["checkout_url"].endswith(created["session_id"])
    await api.err("POST", "/subscriptions/confirm-checkout", 409, "checkout_not_paid",
                  json={"session_id": created["session_id"]})
    page = await http.get(created["checkout_url"])
    assert "Standard" in page.text and "$47.00" in page.text
    await http.post(f"/sandbox/checkout/{created['session_id']}/pay", data={"payment_method": "pm_card_mastercard"})
    success = await http.get(f"/sandbox/checkout/{created['session_id']}/success")
    assert "https://example.com/done" in success.text
    confirmed = await api.ok("POST", "/subscriptions/confirm-checkout", json={"session_id": created["session_id"]})
    assert confirmed["status"] == "active" and confirmed["subscription"]["plan_id"] == 10
    again = await api.ok("POST", "/subscriptions/confirm-checkout", json={"session_id": created["session_id"]})
    assert again["already_confirmed"] is True and again["subscription"]["id"] == confirmed["subscription"]["id"]
    subs = await api.ok("GET", "/subscriptions")
    assert subs["count"] == 1
    invoices = await api.ok("GET", "/billing/invoices")
    assert invoices["invoices"][0]["subscription_id"] == confirmed["subscription"]["id"]
    # The plan's kind is now taken: another link for it is refused up front.
    await api.err("POST", "/billing/payment-link", 409, "invalid_state", json={"purpose": "subscribe", "plan_id": 11})


async def test_cancel_page_and_unknown_sessions(http: httpx.AsyncClient, api: Api) -> None:
    link = await api.ok("POST", "/billing/payment-link", json={"purpose": "fund", "amount": 20})
    r = await http.get(f"/sandbox/checkout/{link['session_id']}/cancel")
    assert r.status_code == 200 and "Nothing was charged" in r.text
    assert (await http.get("/sandbox/checkout/cs_test_missing")).status_code == 404
    assert (await http.post("/sandbox/checkout/cs_test_missing/complete")).status_code == 404
    r = await http.post(f"/sandbox/checkout/{link['session_id']}/complete", json={"payment_method": "4242424242424242"})
    assert r.status_code == 400


def test_concurrent_confirms_credit_once(server: SandboxServer) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    link = httpx.post(server.base_url + "/billing/payment-link", json={"purpose": "fund", "amount": 40},
                      headers=headers).json()["data"]
    assert httpx.post(f"{server.root_url}/sandbox/checkout/{link['session_id']}/complete").status_code == 200
    barrier = threading.Barrier(8)

    def confirm(_: int) -> httpx.Response:
        barrier.wait()
        return httpx.post(server.base_url + "/wallet/confirm-checkout", json={"session_id": link["session_id"]},
                          headers=headers)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(confirm, range(8)))
    assert all(r.status_code == 200 for r in results)
    assert sum(r.json()["data"]["already_confirmed"] is False for r in results) == 1
    assert server.ledger.balance(1) == 4000
