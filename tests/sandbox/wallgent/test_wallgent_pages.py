"""The hosted checkout and portal pages: labelled HTML forms a person completes, moving money once."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx
from starlette.applications import Starlette
from wallgent_helpers import VISA, Wallgent, billing_of


class Form(HTMLParser):
    """Collects inputs, labels, buttons and the form action of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []
        self.labels = 0
        self.open_labels = 0
        self.unlabelled: list[str | None] = []
        self.actions: list[str | None] = []
        self.buttons = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "label":
            self.labels += 1
            self.open_labels += 1
        elif tag == "input":
            self.inputs.append(attributes)
            if self.open_labels == 0:
                self.unlabelled.append(attributes.get("value"))
        elif tag == "form":
            self.actions.append(attributes.get("action"))
        elif tag == "button":
            self.buttons += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.open_labels -= 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(text: str) -> Form:
    form = Form()
    form.feed(text)
    return form


async def checkout_url(wg: Wallgent, plan: str = "GROWTH") -> str:
    url: str = (await wg.ok("POST", "/billing/checkout", json={"plan": plan}))["url"]
    return url


async def test_the_checkout_page_is_a_labelled_form(wg: Wallgent) -> None:
    url = await checkout_url(wg)
    assert url.startswith("http://sandbox.test/wallgent/checkout/cs_test_")
    r = await wg.client.get(url)  # no key: the session id is the capability
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    form = parse(r.text)
    values = [i.get("value") for i in form.inputs]
    assert values[:2] == ["pm_card_visa", "pm_card_mastercard"] and "pm_card_chargeDeclined" in values
    assert form.unlabelled == [] and form.labels == len(form.inputs) and form.buttons == 1
    assert "GROWTH" in "".join(form.text) and "$249.00" in "".join(form.text)
    assert form.actions == [url.rsplit("/", 1)[1] + "/pay"]


async def test_paying_on_the_page_subscribes_by_card_once(wg: Wallgent, app: Starlette) -> None:
    url = await checkout_url(wg)
    r = await wg.client.post(url + "/pay", data={"payment_method": "pm_card_mastercard"})
    assert r.status_code == 303 and r.headers["location"] == url + "/success"
    success = await wg.client.get(r.headers["location"])
    assert success.status_code == 200 and "You are subscribed to GROWTH" in success.text
    # Paying again, or opening the page again, moves nothing more.
    assert (await wg.client.post(url + "/pay", data={"payment_method": "pm_card_visa"})).status_code == 303
    assert (await wg.client.get(url)).headers.get("location") == url + "/success"
    info = await wg.billing()
    assert (info["plan"], info["billingPaymentMethod"], info["cardDetails"]["last4"]) == ("GROWTH", "CARD", "4444")
    assert billing_of(app).store.charge_count(1) == 1
    session_id = url.rsplit("/", 1)[1]
    done = await wg.ok("POST", f"/sandbox/checkout/{session_id}/complete")
    assert done == {"id": session_id, "status": "complete", "plan": "GROWTH", "invoiceId": done["invoiceId"], "amount": "249.00"}
    assert billing_of(app).store.charge_count(1) == 1


async def test_the_pay_button_alone_uses_the_4242_card(wg: Wallgent) -> None:
    url = await checkout_url(wg, "STARTER")
    assert (await wg.client.post(url + "/pay")).status_code == 303
    assert (await wg.billing())["cardDetails"]["last4"] == "4242"


async def test_a_declined_card_shows_the_decline_on_the_page(wg: Wallgent, app: Starlette) -> None:
    url = await checkout_url(wg)
    r = await wg.client.post(url + "/pay", data={"payment_method": "pm_card_chargeDeclined"})
    assert r.status_code == 402 and "Not paid: Your card was declined." in r.text and 'role=alert' in r.text
    assert parse(r.text).buttons == 1  # the person can try another card
    assert (await wg.billing())["plan"] == "FREE" and billing_of(app).store.charge_count(1) == 0


async def test_sandbox_completion_of_a_checkout(wg: Wallgent, app: Starlette) -> None:
    session_id = (await checkout_url(wg, "STARTER")).rsplit("/", 1)[1]
    await wg.as_key("wg_test_other").err("POST", f"/sandbox/checkout/{session_id}/complete", 404, "CHECKOUT_SESSION_NOT_FOUND")
    declined = await wg.err("POST", f"/sandbox/checkout/{session_id}/complete", 402, "PAYMENT_FAILED",
                            json={"paymentMethodId": "pm_card_chargeDeclinedInsufficientFunds"})
    assert declined["details"] == {"declineCode": "insufficient_funds"}
    first = await wg.ok("POST", f"/sandbox/checkout/{session_id}/complete", json={"paymentMethodId": "pm_card_amex"})
    assert first == await wg.ok("POST", f"/sandbox/checkout/{session_id}/complete")
    assert (await wg.ok("GET", f"/billing/invoices/{first['invoiceId']}"))["paymentMethod"] == "CARD"
    assert billing_of(app).store.charge_count(1) == 1
    # A second checkout while subscribed is refused up front.
    await wg.err("POST", "/billing/checkout", 409, "ALREADY_SUBSCRIBED", json={"plan": "GROWTH"})


async def test_a_checkout_paid_after_subscribing_otherwise_is_refused(wg: Wallgent) -> None:
    url = await checkout_url(wg, "STARTER")
    await wg.ok("POST", "/billing/subscribe", json=VISA)
    r = await wg.client.post(url + "/pay")
    assert r.status_code == 409 and "Already subscribed" in r.text


async def test_unknown_sessions_are_not_found(http: httpx.AsyncClient) -> None:
    for method, path in (("GET", "/checkout/cs_test_nope"), ("POST", "/checkout/cs_test_nope/pay"),
                         ("GET", "/checkout/cs_test_nope/success"), ("GET", "/portal/bps_nope"),
                         ("POST", "/portal/bps_nope/cancel")):
        r = await http.request(method, "/wallgent" + path)
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")


async def test_the_portal_shows_plan_invoices_and_cancels(wg: Wallgent) -> None:
    await wg.ok("POST", "/billing/subscribe", json=VISA)
    url = (await wg.ok("POST", "/billing/portal"))["url"]
    assert url.startswith("http://sandbox.test/wallgent/portal/bps_")
    page = await wg.client.get(url)
    text = "".join(parse(page.text).text)
    assert page.status_code == 200 and "Plan: STARTER (ACTIVE)" in text and "Wallgent STARTER subscription" in text
    assert "$99.00" in text and parse(page.text).buttons == 1
    r = await wg.client.post(url + "/cancel")
    assert r.status_code == 303 and r.headers["location"] == url
    after = "".join(parse((await wg.client.get(url)).text).text)
    assert "ends 2027-08-06T22:40:00Z" in after and "Cancel subscription" not in after
    assert (await wg.billing())["cancelAtPeriodEnd"] is True


async def test_the_portal_of_a_free_account_has_nothing_to_cancel(wg: Wallgent) -> None:
    url = (await wg.ok("POST", "/billing/portal"))["url"]
    page = await wg.client.get(url)
    text = "".join(parse(page.text).text)
    assert "Plan: FREE (NONE)" in text and "No invoices yet." in text and parse(page.text).buttons == 0
    r = await wg.client.post(url + "/cancel")
    assert r.status_code == 200 and "No paid subscription" in r.text
