"""The Stripe tokenization endpoints, over raw HTTP and through the official ``stripe`` SDK on loopback."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
import stripe
from sandbox_helpers import TOKEN, Api

from agent_billing.providers.modelslab.sandbox.ledger import Ledger
from agent_billing.sandbox import SandboxServer

CARD = {"type": "card", "card[number]": "4242424242424242", "card[exp_month]": "12", "card[exp_year]": "2030",
        "card[cvc]": "123"}


@pytest.fixture
async def pk(api: Api) -> str:
    key: str = (await api.ok("GET", "/billing/stripe-config"))["publishable_key"]
    return key


def basic(pk: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{pk}:".encode()).decode()}


async def create_pm(http: httpx.AsyncClient, pk: str, **fields: str) -> httpx.Response:
    return await http.post("/v1/payment_methods", data={**CARD, **fields}, headers=basic(pk))


async def test_create_payment_method_with_basic_or_bearer(http: httpx.AsyncClient, pk: str) -> None:
    r = await create_pm(http, pk)
    assert r.status_code == 200, r.text
    pm = r.json()
    assert pm["id"].startswith("pm_") and pm["object"] == "payment_method" and pm["type"] == "card"
    assert pm["livemode"] is False and isinstance(pm["created"], int)
    assert {k: pm["card"][k] for k in ("brand", "last4", "exp_month", "exp_year", "funding", "country")} == {
        "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030, "funding": "credit", "country": "US"}
    assert "4242424242424242" not in r.text
    r = await http.post("/v1/payment_methods", data={**CARD, "card[number]": "378282246310005", "card[cvc]": "1234"},
                        headers={"Authorization": f"Bearer {pk}"})
    assert r.status_code == 200 and r.json()["card"]["brand"] == "amex"
    r = await http.get(f"/v1/payment_methods/{pm['id']}", headers=basic(pk))
    assert r.json()["id"] == pm["id"]


@pytest.mark.parametrize(
    ("fields", "status", "kind", "code", "param"),
    [
        ({"card[number]": "4242424242424241"}, 402, "card_error", "incorrect_number", "number"),
        ({"card[number]": "42424242"}, 402, "card_error", "incorrect_number", "number"),
        ({"card[exp_year]": "2020"}, 402, "card_error", "invalid_expiry_year", "exp_year"),
        ({"card[exp_year]": "2027", "card[exp_month]": "6"}, 402, "card_error", "expired_card", "exp_month"),
        ({"card[exp_month]": "13"}, 402, "card_error", "invalid_expiry_month", "exp_month"),
        ({"card[cvc]": "12"}, 402, "card_error", "invalid_cvc", "cvc"),
        ({"card[number]": ""}, 400, "invalid_request_error", "parameter_missing", "card[number]"),
        ({"type": "sepa_debit"}, 400, "invalid_request_error", "parameter_invalid_string", "type"),
        ({"card[pin]": "1234"}, 400, "invalid_request_error", "parameter_unknown", "card[pin]"),
    ],
)
async def test_stripe_shaped_errors(http: httpx.AsyncClient, pk: str, fields: dict[str, str], status: int, kind: str,
                                    code: str, param: str) -> None:
    r = await create_pm(http, pk, **fields)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert (err["type"], err["code"], err["param"]) == (kind, code, param)
    assert "4242424242424241" not in r.text


async def test_credentials(http: httpx.AsyncClient, pk: str) -> None:
    r = await http.post("/v1/payment_methods", data=CARD)
    assert r.status_code == 401 and r.json()["error"]["type"] == "invalid_request_error"
    r = await http.post("/v1/payment_methods", data=CARD, headers={"Authorization": "Bearer pk_test_someone_else"})
    assert r.status_code == 401 and "pk_test_someone_else" not in r.text
    r = await http.post("/v1/payment_methods", data=CARD, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 401  # the API token is not a Stripe key


async def test_tokenized_cards_behave_as_their_number_says(http: httpx.AsyncClient, pk: str, api: Api) -> None:
    async def pm_for(number: str) -> str:
        r = await create_pm(http, pk, **{"card[number]": number})
        assert r.status_code == 200
        pm_id: str = r.json()["id"]
        return pm_id

    ok = await api.ok("POST", "/wallet/fund", json={"amount": 25, "payment_method_id": await pm_for("5555555555554444")})
    assert "Mastercard ending 4444" in ok["message"]
    err = await api.err("POST", "/wallet/fund", 402, "payment_declined",
                        json={"amount": 25, "payment_method_id": await pm_for("4000000000009995")})
    assert err["details"]["decline_code"] == "insufficient_funds"
    err = await api.err("POST", "/wallet/fund", 402, "payment_declined",
                        json={"amount": 25, "payment_method_id": await pm_for("4000000000000002")})
    assert err["details"]["decline_code"] == "generic_decline"
    r = await api.call("POST", "/wallet/fund", json={"amount": 25, "payment_method_id": await pm_for("4000002760003184")})
    assert r.status_code == 202
    any_card = await pm_for("6011000990139424")  # any other Luhn-valid number succeeds
    assert (await api.ok("POST", "/wallet/fund", json={"amount": 10, "payment_method_id": any_card}))["balance"] == 35


async def test_a_tokenized_card_serves_one_customer(http: httpx.AsyncClient, pk: str, api: Api,
                                                     other_api: Api) -> None:
    pm_id = (await create_pm(http, pk)).json()["id"]
    await api.ok("POST", "/billing/payment-methods", json={"payment_method_id": pm_id})
    err = await other_api.err("POST", "/wallet/fund", 400, "validation_error",
                              json={"amount": 25, "payment_method_id": pm_id})
    assert "No such payment method" in err["message"]
    await api.ok("DELETE", f"/billing/payment-methods/{pm_id}")
    await api.err("POST", "/wallet/fund", 400, "validation_error", json={"amount": 25, "payment_method_id": pm_id})


async def test_setup_intent_confirmation(http: httpx.AsyncClient, pk: str, api: Api, ledger: Ledger) -> None:
    seti = await api.ok("POST", "/billing/setup-intent")
    url = f"/v1/setup_intents/{seti['setup_intent_id']}/confirm"
    r = await http.post(url, data={"payment_method": "pm_card_visa", "client_secret": "seti_wrong_secret"},
                        headers=basic(pk))
    assert r.status_code == 400 and r.json()["error"]["param"] == "client_secret"
    r = await http.post(url, headers=basic(pk), data={
        "client_secret": seti["client_secret"], "payment_method_data[type]": "card",
        "payment_method_data[card][number]": "4000000000000002", "payment_method_data[card][exp_month]": "12",
        "payment_method_data[card][exp_year]": "2030", "payment_method_data[card][cvc]": "123"})
    assert r.status_code == 402
    err = r.json()["error"]
    assert err["code"] == "card_declined" and err["decline_code"] == "generic_decline"
    assert err["setup_intent"]["status"] == "requires_payment_method"
    r = await http.post(url, headers=basic(pk), data={"payment_method_data[type]": "card",
                                                      "payment_method_data[card][number]": "4242424242424242",
                                                      "payment_method_data[card][exp_month]": "12",
                                                      "payment_method_data[card][exp_year]": "2030"})
    si = r.json()
    assert r.status_code == 200 and si["object"] == "setup_intent" and si["status"] == "succeeded"
    assert si["payment_method"].startswith("pm_") and si["payment_method"] != "pm_card_visa"
    cards = await api.ok("GET", "/billing/payment-methods")
    assert [c["id"] for c in cards["payment_methods"]] == [si["payment_method"]]
    r = await http.post(url, headers=basic(pk), data={"payment_method": "pm_card_visa"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "setup_intent_unexpected_state"
    seti2 = await api.ok("POST", "/billing/setup-intent")
    r = await http.post(f"/v1/setup_intents/{seti2['setup_intent_id']}/confirm", headers=basic(pk),
                        data={"payment_method": "pm_card_authenticationRequired"})
    assert r.status_code == 200 and r.json()["status"] == "requires_action"
    assert r.json()["next_action"]["type"] == "use_stripe_sdk"
    r = await http.post("/v1/setup_intents/seti_missing/confirm", headers=basic(pk), data={"payment_method": "pm_card_visa"})
    assert r.status_code == 404
    stored = " ".join(str(row) for table in ("stripe_payment_methods", "payment_methods")
                      for row in ledger._conn.execute(f"SELECT * FROM {table}").fetchall())
    assert "4242424242424242" not in stored and "4000000000000002" not in stored


def _sdk(server: SandboxServer) -> tuple[stripe.StripeClient, dict[str, str]]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    pk = httpx.get(server.base_url + "/billing/stripe-config", headers=headers).json()["publishable_key"]
    return stripe.StripeClient(pk, base_addresses={"api": server.root_url}, max_network_retries=0), headers


def test_official_stripe_sdk_creates_a_payment_method_that_funds_the_wallet(server: SandboxServer) -> None:
    client, headers = _sdk(server)
    card: dict[str, Any] = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
    pm = client.v1.payment_methods.create(params={"type": "card", "card": card})  # type: ignore[typeddict-item]
    assert pm.id.startswith("pm_") and pm.card is not None and pm.card.last4 == "4242" and pm.card.brand == "visa"
    r = httpx.post(server.base_url + "/wallet/fund", json={"amount": 30, "payment_method_id": pm.id}, headers=headers)
    assert r.status_code == 200 and r.json()["data"]["balance"] == 30.0
    with pytest.raises(stripe.CardError) as info:
        client.v1.payment_methods.create(params={"type": "card", "card": {**card, "number": "4242424242424241"}})  # type: ignore[typeddict-item]
    assert info.value.code == "incorrect_number"
    bad = stripe.StripeClient("pk_test_not_ours", base_addresses={"api": server.root_url}, max_network_retries=0)
    with pytest.raises(stripe.AuthenticationError):
        bad.v1.payment_methods.create(params={"type": "card", "card": card})  # type: ignore[typeddict-item]


def test_official_stripe_sdk_confirms_a_setup_intent(server: SandboxServer) -> None:
    client, headers = _sdk(server)
    seti = httpx.post(server.base_url + "/billing/setup-intent", headers=headers).json()["data"]
    si = client.v1.setup_intents.confirm(seti["setup_intent_id"], params={
        "client_secret": seti["client_secret"],  # type: ignore[typeddict-unknown-key]
        "payment_method_data": {"type": "card", "card": {"number": "5555555555554444", "exp_month": 1,  # type: ignore[typeddict-item]
                                                         "exp_year": 2031, "cvc": "123"}},
    })
    assert si.status == "succeeded" and isinstance(si.payment_method, str)
    r = httpx.post(server.base_url + "/billing/payment-methods", json={"payment_method_id": si.payment_method,
                                                                       "make_default": True}, headers=headers)
    assert r.status_code == 200 and r.json()["data"]["payment_method"]["is_default"] is True
    r = httpx.post(server.base_url + "/wallet/fund", json={"amount": 15}, headers=headers)
    assert r.status_code == 200 and "Mastercard ending 4444" in r.json()["data"]["message"]
    retrieved = client.v1.setup_intents.retrieve(seti["setup_intent_id"])
    assert retrieved.status == "succeeded"
    declining = httpx.post(server.base_url + "/billing/setup-intent", headers=headers).json()["data"]
    with pytest.raises(stripe.CardError) as info:
        client.v1.setup_intents.confirm(declining["setup_intent_id"], params={"payment_method": "pm_card_chargeDeclined"})
    assert info.value.code == "card_declined"


async def test_billing_details_and_metadata_are_accepted(http: httpx.AsyncClient, pk: str, api: Api) -> None:
    r = await create_pm(http, pk, **{"billing_details[name]": "Ada Lovelace",
                                     "billing_details[address][postal_code]": "94105", "metadata[order]": "42"})
    assert r.status_code == 200, r.text
    assert r.json()["billing_details"]["name"] == "Ada Lovelace" and r.json()["metadata"] == {"order": "42"}
    assert r.json()["billing_details"]["address"]["postal_code"] == "94105"
    seti = await api.ok("POST", "/billing/setup-intent")
    r = await http.post(f"/v1/setup_intents/{seti['setup_intent_id']}/confirm", headers=basic(pk), data={
        "payment_method_data[type]": "card", "payment_method_data[card][token]": "tok_mastercard",
        "payment_method_data[billing_details][name]": "Ada", "payment_method_data[billing_details][address][city]": "SF",
        "expand[0]": "payment_method", "return_url": "https://example.com/back"})
    assert r.status_code == 200 and r.json()["status"] == "succeeded", r.text
    r = await http.post(f"/v1/setup_intents/{seti['setup_intent_id']}/confirm", headers=basic(pk),
                        data={"payment_method_data[card][pan]": "x"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "parameter_unknown"


async def test_unknown_stripe_urls_answer_in_stripe_shape(http: httpx.AsyncClient, pk: str) -> None:
    r = await http.post("/v1/customers", headers=basic(pk))
    assert r.status_code == 404 and r.json()["error"]["type"] == "invalid_request_error"
