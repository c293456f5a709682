"""The Wallgent sandbox on the main sandbox server: mounted at /wallgent beside ModelsLab, in-process and on loopback."""

from __future__ import annotations

from pathlib import Path

import httpx
from sandbox_helpers import FakeClock
from starlette.applications import Starlette
from starlette.routing import Mount

from agent_billing.providers.wallgent.sandbox.billing import Billing
from agent_billing.sandbox import SandboxServer, create_app


def wallgent_state(app: Starlette) -> Billing:
    """The Wallgent state inside the server app (the app mounted at /wallgent)."""
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/wallgent")
    state: Billing = mount.app.state.wallgent  # type: ignore[attr-defined]
    return state


async def test_create_app_mounts_wallgent_with_its_keys() -> None:
    clock = FakeClock()
    app = create_app(tokens=("sk_sandbox_alice",), rate_limit=False, clock=clock,
                     wallgent_keys={"wg_test_readonly": ["billing:read"]})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test") as http:
        r = await http.post("/wallgent/v1/billing/subscribe", headers={"Authorization": "Bearer wg_test_sandbox"},
                            json={"plan": "GROWTH", "paymentMethod": "WALLET"})
        assert r.status_code == 200 and r.json()["billingPeriodStart"] == "2027-07-07T22:40:00Z"
        r = await http.post("/wallgent/v1/billing/cancel", headers={"Authorization": "Bearer wg_test_readonly"})
        assert r.status_code == 403 and r.json()["error"]["details"] == {"required": "billing:write"}
        r = await http.post("/wallgent/v1/billing/checkout", headers={"Authorization": "Bearer wg_test_other"},
                            json={"plan": "STARTER"})
        assert r.json()["url"].startswith("http://sandbox.test/wallgent/checkout/cs_test_")
        # The ModelsLab API is untouched, and its tokens are not Wallgent keys.
        assert (await http.get("/api/agents/v1/wallet/balance", headers={"Authorization": "Bearer sk_sandbox_alice"})
                ).status_code == 200
        r = await http.get("/wallgent/v1/billing", headers={"Authorization": "Bearer sk_sandbox_alice"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "UNAUTHORIZED"
    wallgent_state(app).check_invariants()


async def test_rate_limits_follow_the_server_setting() -> None:
    app = create_app(tokens=("sk_sandbox_alice",), clock=FakeClock())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test") as http:
        r = await http.get("/wallgent/v1/billing", headers={"Authorization": "Bearer wg_test_sandbox"})
        assert r.headers["X-RateLimit-Limit"] == "60"


def test_on_loopback_a_person_completes_checkout() -> None:
    with SandboxServer(tokens=("sk_sandbox_alice",), rate_limit=False) as server, httpx.Client(
            base_url=server.root_url + "/wallgent/v1", headers={"Authorization": "Bearer wg_test_sandbox"}) as http:
        url = http.post("/billing/checkout", json={"plan": "STARTER"}).json()["url"]
        assert url.startswith(server.root_url + "/wallgent/checkout/")
        paid = httpx.post(url + "/pay", data={"payment_method": "pm_card_visa"}, follow_redirects=True)
        assert paid.status_code == 200 and "You are subscribed to STARTER" in paid.text
        info = http.get("/billing").json()
        assert (info["plan"], info["billingStatus"], info["cardDetails"]["last4"]) == ("STARTER", "ACTIVE", "4242")
        invoices = http.get("/billing/invoices").json()
        assert invoices["total"] == 1 and invoices["invoices"][0]["amount"] == "99.00"
        wallgent_state(server.app).check_invariants()


def test_a_file_database_keeps_wallgent_state_across_restarts(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.db")
    first = create_app(tokens=("sk_sandbox_alice",), rate_limit=False, db_path=db)
    state = wallgent_state(first)
    state.subscribe(state.account("wg_test_sandbox"), "STARTER", "WALLET", None)
    state.close()
    first.state.sandbox.close()
    second = create_app(tokens=("sk_sandbox_alice",), rate_limit=False, db_path=db)
    restarted = wallgent_state(second)
    account = restarted.account("wg_test_sandbox")
    assert (restarted.view(account)["plan"], restarted.wallet_view(account)["walletBalance"]) == ("STARTER", "401.00")
    assert (tmp_path / "sandbox.db.wallgent").is_file()
    restarted.check_invariants()
    restarted.close()
    second.state.sandbox.close()
