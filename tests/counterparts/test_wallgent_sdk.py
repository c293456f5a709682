"""Wallgent's official SDK (``wallgent`` on PyPI) is the judge of the Wallgent sandbox (issue 20).

Every billing method of the SDK runs against the sandbox server on loopback, as a Wallgent user's own code
would, and each answer is held to the shape the SDK documents: the fields of its models
(``wallgent.models.BillingInfo``, ``BillingInvoice``, ``InvoiceLineItem``) exactly, and for the answers it
describes in words (``{"ok": True}``, "invoiceId and period dates"...) the keys it names plus nothing
outside the SDK's own billing vocabulary. Error paths come out as the SDK's own exception types. Our
typed results then parse every one of those answers with no field undeclared and none left ``None`` that
the answer carries.

Two things the SDK does that a user should know, pinned here so a change shows: it sends no
``Idempotency-Key``; and a 202 ``APPROVAL_REQUIRED`` is a success status to it, so it returns the error
body instead of raising its ``ApprovalRequiredError``.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from wallgent import Wallgent  # type: ignore[import-untyped]
from wallgent import exceptions as sdk
from wallgent.models import BillingInfo, BillingInvoice, InvoiceLineItem  # type: ignore[import-untyped]
from wallgent.resources.billing import BillingResource  # type: ignore[import-untyped]

from agent_billing.providers.wallgent.client import WallgentClient
from agent_billing.registry import get_registry
from agent_billing.sandbox import SandboxServer

KEY, READER = "wg_test_sandbox", "wg_test_reader"


def aliases(model: type[BaseModel]) -> set[str]:
    """The wire names of an SDK model's fields."""
    return {info.alias or name for name, info in model.model_fields.items()}


INFO, INVOICE, LINE = aliases(BillingInfo), aliases(BillingInvoice), aliases(InvoiceLineItem)
PAGINATION = {"page", "limit", "total", "hasMore"}

# What each billing method's docstring in the SDK names in its answer (SDK method -> keys).
NAMED: dict[str, set[str]] = {
    "get_info": INFO,
    "subscribe": {"invoiceId", "billingPeriodStart", "billingPeriodEnd"},  # "invoiceId and period dates"
    "cancel": {"billingPeriodEnd"},
    "change_plan": {"prorationCharge"},  # "including optional prorationCharge"
    "change_payment_method": {"ok"},  # '{"ok": True} on success.'
    "retry_payment": {"invoiceId", "billingStatus"},
    "create_setup_intent": {"clientSecret"},
    "save_payment_method": {"cardDetails"},  # "Saved payment method details": BillingInfo's cardDetails
    "remove_payment_method": {"ok"},
    "create_checkout": {"url"},
    "create_portal": {"url"},
    "list_invoices": {"invoices"},  # "List of invoices with pagination metadata"
    "get_invoice": INVOICE | {"lineItems"},  # the guide: "a single invoice with line items"
}
# The sandbox's whole answers: what the SDK names, plus state the call changed, named as BillingInfo names it.
EXACT: dict[str, set[str]] = {
    **NAMED,
    "subscribe": NAMED["subscribe"] | {"plan", "billingStatus", "billingPaymentMethod"},
    "cancel": NAMED["cancel"] | {"cancelAtPeriodEnd"},
    "change_plan": NAMED["change_plan"] | {"plan", "billingStatus", "invoiceId", "billingPeriodEnd"},
    "save_payment_method": NAMED["save_payment_method"] | {"ok"},
    "list_invoices": NAMED["list_invoices"] | PAGINATION,
}
# Every key any answer may carry: the SDK's billing vocabulary, nothing the sandbox made up.
VOCABULARY = INFO | set().union(*NAMED.values()) | PAGINATION
# The SDK's billing methods and the operations of ours that make the same request.
OPERATION = {"get_info": "get_billing", "subscribe": "subscribe", "cancel": "cancel", "change_plan": "change_plan",
             "change_payment_method": "change_payment_method", "retry_payment": "retry_payment",
             "create_setup_intent": "create_setup_intent", "save_payment_method": "save_payment_method",
             "remove_payment_method": "remove_payment_method", "create_checkout": "create_checkout",
             "create_portal": "create_portal_session", "list_invoices": "list_invoices", "get_invoice": "get_invoice"}


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(rate_limit=False, wallgent_keys={KEY: ["billing:read", "billing:write"],
                                                        READER: ["billing:read"]}) as running:
        yield running
        running.check_invariants()


def sdk_client(server: SandboxServer, key: str) -> Wallgent:
    """Wallgent's own client, pointed at the sandbox as its users point it at a base URL."""
    return Wallgent(api_key=key, base_url=server.root_url + get_registry("wallgent").connection.sandbox_path)


@pytest.fixture
def wg(server: SandboxServer, request: pytest.FixtureRequest) -> Iterator[Wallgent]:
    # A key of its own per test (any wg_test_ key is a fresh account), so tests share no state.
    with sdk_client(server, f"wg_test_{request.node.name[:40].replace('[', '_').replace(']', '_')}") as client:
        yield client


@pytest.fixture
def control(server: SandboxServer, wg: Wallgent) -> Iterator[httpx.Client]:
    """The sandbox-only controls (not in the SDK), for the same account."""
    with httpx.Client(base_url=wg.base_url, headers={"Authorization": f"Bearer {wg.api_key}"}) as http:
        yield http


def declared(result: BaseModel, answer: dict[str, Any], where: str) -> None:
    """Our typed result declares every field of ``answer`` and leaves none ``None`` that the answer carries."""
    assert not result.model_extra, f"{where}: {sorted(result.model_extra or {})} not declared"
    by_alias = {info.alias or name: name for name, info in type(result).model_fields.items()}
    for key, value in answer.items():
        parsed = getattr(result, by_alias[key])
        assert (parsed is None) == (value is None), f"{where}.{key}: {value!r} read as {parsed!r}"
        if isinstance(value, dict):
            declared(parsed, value, f"{where}.{key}")
        if isinstance(value, list):
            for i, (item, raw) in enumerate(zip(parsed, value, strict=True)):
                if isinstance(raw, dict):
                    declared(item, raw, f"{where}.{key}[{i}]")


def judged(method: str, answer: Any) -> dict[str, Any]:
    """Hold one SDK answer to its documented shape, and parse it with our typed result."""
    assert isinstance(answer, dict), f"{method}: {answer!r}"
    assert set(answer) == EXACT[method], f"{method}: {sorted(set(answer) ^ EXACT[method])}"
    declared(get_registry("wallgent").get(OPERATION[method]).result.model_validate(answer), answer, method)
    return answer


def test_the_shapes_are_the_sdks_own() -> None:
    # Every billing method of the SDK is judged below; a method the SDK adds fails here first.
    methods = {name for name, _ in inspect.getmembers(BillingResource, inspect.isfunction) if not name.startswith("_")}
    assert methods == set(OPERATION) == set(EXACT)
    assert set(OPERATION.values()) == {op.name for op in get_registry("wallgent")}
    # The results ``judged`` parses with are the ones WallgentClient's typed methods return.
    for op in get_registry("wallgent"):
        assert typing.get_type_hints(getattr(WallgentClient, op.name))["return"] is op.result, op.name
    for method, keys in EXACT.items():
        assert NAMED[method] <= keys <= VOCABULARY, method


def test_every_billing_method_answers_the_documented_shape(wg: Wallgent, control: httpx.Client) -> None:
    billing = wg.billing
    info = judged("get_info", billing.get_info())
    assert info["plan"] == "FREE" and not BillingInfo.model_validate(info).model_extra
    assert judged("create_setup_intent", billing.create_setup_intent())["clientSecret"].startswith("seti_")
    saved = judged("save_payment_method", billing.save_payment_method(payment_method_id="pm_card_visa"))
    assert saved["cardDetails"]["last4"] == "4242" and saved["cardDetails"] == billing.get_info()["cardDetails"]
    assert judged("create_checkout", billing.create_checkout(plan="GROWTH"))["url"].startswith("http://127.0.0.1:")
    sub = judged("subscribe", billing.subscribe(plan="STARTER", payment_method="CARD",
                                                stripe_payment_method_id="pm_card_visa"))
    assert sub["invoiceId"].startswith("inv_") and sub["billingPeriodStart"] < sub["billingPeriodEnd"]
    change = judged("change_plan", billing.change_plan(plan="GROWTH"))
    assert change["plan"] == "GROWTH" and change["prorationCharge"] is not None
    assert judged("change_payment_method", billing.change_payment_method(payment_method="WALLET")) == {"ok": True}
    assert judged("create_portal", billing.create_portal())["url"].startswith("http://127.0.0.1:")

    page = judged("list_invoices", billing.list_invoices(page=1, limit=1))
    assert (len(page["invoices"]), page["total"], page["hasMore"]) == (1, 2, True)
    for row in judged("list_invoices", billing.list_invoices())["invoices"]:
        assert set(row) == INVOICE and not BillingInvoice.model_validate(row).model_extra
    invoice = judged("get_invoice", billing.get_invoice(sub["invoiceId"]))
    assert {k: v for k, v in invoice.items() if k != "lineItems"} == next(
        row for row in billing.list_invoices()["invoices"] if row["id"] == sub["invoiceId"])
    assert invoice["lineItems"] and all(set(line) == LINE for line in invoice["lineItems"])
    assert [InvoiceLineItem.model_validate(line).total for line in invoice["lineItems"]] == [invoice["amount"]]

    control.post("/sandbox/fail-next-renewal").raise_for_status()
    control.post("/sandbox/advance").raise_for_status()
    assert billing.get_info()["billingStatus"] == "PAST_DUE"
    retried = judged("retry_payment", billing.retry_payment())
    assert retried["billingStatus"] == "ACTIVE" and billing.get_invoice(retried["invoiceId"])["status"] == "paid"
    cancelled = judged("cancel", billing.cancel())
    assert cancelled["billingPeriodEnd"] == billing.get_info()["billingPeriodEnd"] and cancelled["cancelAtPeriodEnd"]
    assert judged("remove_payment_method", billing.remove_payment_method()) == {"ok": True}
    final = judged("get_info", billing.get_info())
    assert (final["cardDetails"], final["cancelAtPeriodEnd"], final["billingPaymentMethod"]) == (None, True, "WALLET")


def test_the_sdks_own_errors_come_out(server: SandboxServer, wg: Wallgent, control: httpx.Client) -> None:
    billing = wg.billing
    with pytest.raises(sdk.NotFoundError) as missing:
        billing.get_invoice("inv_missing")
    assert (missing.value.status_code, missing.value.error_code) == (404, "INVOICE_NOT_FOUND")
    with pytest.raises(sdk.ValidationError) as invalid:
        billing.subscribe(plan="STARTER", payment_method="BITCOIN")
    assert invalid.value.status_code == 400 and invalid.value.details["errors"][0]["field"] == "paymentMethod"
    control.post("/sandbox/wallet", json={"balance": "20.00"}).raise_for_status()
    with pytest.raises(sdk.InsufficientFundsError) as short:
        billing.subscribe(plan="STARTER", payment_method="WALLET")
    assert (short.value.status_code, short.value.details) == (402, {"required": "99.00", "available": "20.00"})
    # A declined card: Wallgent's SDK has no class for PAYMENT_FAILED, so its generic APIError (402) comes out.
    with pytest.raises(sdk.APIError) as declined:
        billing.save_payment_method(payment_method_id="pm_card_chargeDeclined")
    assert (declined.value.status_code, declined.value.error_code) == (402, "PAYMENT_FAILED")
    control.post("/sandbox/policy", json={"maxTransactionAmount": "50.00"}).raise_for_status()
    with pytest.raises(sdk.PolicyDeniedError):
        billing.subscribe(plan="STARTER", payment_method="CARD", stripe_payment_method_id="pm_card_visa")
    assert billing.list_invoices()["total"] == 0 and billing.get_info()["plan"] == "FREE"
    with sdk_client(server, READER) as reader, pytest.raises(sdk.PermissionDeniedError) as denied:
        reader.billing.create_setup_intent()
    assert (denied.value.status_code, denied.value.error_code) == (403, "PERMISSION_DENIED")
    with sdk_client(server, "wg_live_production") as live, pytest.raises(sdk.EnvironmentMismatchError):
        live.billing.get_info()
    with sdk_client(server, "not_a_wallgent_key") as stranger, pytest.raises(sdk.AuthenticationError) as unknown:
        stranger.billing.get_info()
    assert unknown.value.error_code == "UNAUTHORIZED"


def test_approval_required_is_a_202_the_sdk_returns_rather_than_raises(wg: Wallgent, control: httpx.Client) -> None:
    control.post("/sandbox/policy", json={"requireHumanApproval": True}).raise_for_status()
    answer = wg.billing.subscribe(plan="STARTER", payment_method="WALLET")
    assert set(answer) == {"error"} and answer["error"]["code"] == "APPROVAL_REQUIRED"
    assert wg.billing.get_info()["plan"] == "FREE" and wg.billing.list_invoices()["total"] == 0  # nothing moved


def test_rate_limits_raise_the_sdks_rate_limit_error() -> None:
    with SandboxServer(rate_limit=True) as limited, sdk_client(limited, "wg_test_busy") as busy:
        for _ in range(10):  # the Free plan's write limit a minute
            busy.billing.create_setup_intent()
        with pytest.raises(sdk.RateLimitExceededError) as limit:
            busy.billing.create_setup_intent()
        assert (limit.value.status_code, limit.value.details["plan"]) == (429, "FREE")
