"""The small part of Stripe's API that card tokenization uses, served at the sandbox root.

So trusted code (and the official ``stripe`` SDK) can turn a test card into a ``pm_...`` id with the
publishable key from ``GET /billing/stripe-config``, exactly as against ``https://api.stripe.com``:

- ``POST /v1/payment_methods`` (form-encoded ``type=card``, ``card[number]``, ``card[exp_month]``,
  ``card[exp_year]``, ``card[cvc]``; or ``card[token]=tok_visa``) -> a PaymentMethod object;
- ``GET  /v1/payment_methods/{id}``;
- ``POST /v1/setup_intents/{id}/confirm`` (``payment_method=pm_...`` or ``payment_method_data[...]``,
  optional ``client_secret``) -> a SetupIntent, ``succeeded`` or ``requires_action`` (3-D Secure card);
- ``GET  /v1/setup_intents/{id}``.

Credentials: the publishable key as ``Authorization: Bearer pk_...`` or as the HTTP Basic user (what
``requests.post(..., auth=(pk, ""))`` and ``curl --user pk:`` send). Errors use Stripe's shape
``{"error": {"type", "code", "message", "param"}}`` with 400, 401, 402 or 404. Card numbers are
checked (Luhn, expiry, CVC) and then forgotten: only brand, last4 and expiry are kept.

Example:
    >>> form = parse_form(b"type=card&card%5Bnumber%5D=4242424242424242")
    >>> form["card[number]"][-4:]
    '4242'
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agent_billing.providers.modelslab.sandbox.ledger import SetupIntent, StripePaymentMethod
from agent_billing.providers.modelslab.sandbox.state import Sandbox
from agent_billing.sandbox.cards import (
    AUTHENTICATE,
    BEHAVIOURS,
    MAGIC_METHODS,
    MAGIC_TOKENS,
    CardError,
    check_card,
)
from agent_billing.sandbox.units import dumps, month_of, new_id, year_of

DOCS = "https://stripe.com/docs/error-codes"


class StripeError(Exception):
    """An error in Stripe's own shape.

    Example:
        >>> err = StripeError(402, "card_error", "Your card was declined.", code="card_declined", param="number")
        >>> err.body()["error"]["doc_url"]
        'https://stripe.com/docs/error-codes#card-declined'
    """

    def __init__(self, status: int, kind: str, message: str, *, code: str | None = None, param: str | None = None,
                 keep_changes: bool = False, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message
        self.code, self.param, self.extra = code, param, extra
        self.keep_changes = keep_changes  # the ledger keeps the writes made before this error

    def body(self) -> dict[str, Any]:
        """``{"error": {...}}``."""
        err: dict[str, Any] = {"type": self.kind, "message": self.message}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = f"{DOCS}#{self.code.replace('_', '-')}"
        if self.param:
            err["param"] = self.param
        err.update(self.extra)
        return {"error": err}


def parse_form(body: bytes) -> dict[str, str]:
    """A form-encoded body as a flat dict of Stripe's bracketed keys (the last value wins).

    Example:
        >>> parse_form(b"type=card&card%5Btoken%5D=tok_visa")
        {'type': 'card', 'card[token]': 'tok_visa'}
    """
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError:
        raise StripeError(400, "invalid_request_error", "The request body is not valid UTF-8.") from None


def _credential(request: Request) -> str | None:
    auth = request.headers.get("authorization", "").strip()
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            user = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user or None
    return None


def _check_key(sandbox: Sandbox, request: Request) -> None:
    key = _credential(request)
    if key is None:
        raise StripeError(401, "invalid_request_error", "You did not provide an API key. Provide your publishable key "
                          "in the Authorization header, using Bearer auth or as the HTTP Basic user.")
    if key != sandbox.publishable_key:
        shown = f"{key[:8]}****{key[-4:]}" if len(key) > 12 else "****"
        raise StripeError(401, "invalid_request_error", f"Invalid API Key provided: {shown}. Use the publishable key "
                          "from GET /billing/stripe-config.", code="api_key_invalid")


_ALLOWED = re.compile(
    r"^(type|allow_redisplay|card\[(number|exp_month|exp_year|cvc|token)\]|billing_details\[[a-z_]+\](\[[a-z_0-9]+\])?"
    r"|metadata\[[^\]]{1,40}\]|expand\[\d*\])$"
)
_ALLOWED_CONFIRM = re.compile(
    r"^(payment_method|client_secret|return_url|use_stripe_sdk|expand\[\d*\]|mandate_data(\[[a-z_]+\])+"
    r"|payment_method_data\[(type|allow_redisplay)\]"
    r"|payment_method_data\[card\]\[(number|exp_month|exp_year|cvc|token)\]"
    r"|payment_method_data\[billing_details\](\[[a-z_0-9]+\]){1,2}"
    r"|payment_method_data\[metadata\]\[[^\]]{1,40}\])$"
)


def _reject_unknown(form: dict[str, str], allowed: re.Pattern[str]) -> None:
    for key in form:
        if not allowed.match(key):
            shown = key if sum(ch.isdigit() for ch in key) < 6 else "(a parameter name)"
            raise StripeError(400, "invalid_request_error", f"Received unknown parameter: {shown[:60]}",
                              code="parameter_unknown", param=shown[:60])


def _sub(form: dict[str, str], prefix: str) -> dict[str, str]:
    """``{"card[number]": ...}`` with prefix ``card`` -> ``{"number": ...}`` (one level)."""
    out = {}
    for key, value in form.items():
        if key.startswith(prefix + "[") and key.endswith("]") and "][" not in key[len(prefix) + 1:]:
            out[key[len(prefix) + 1:-1]] = value
    return out


def _billing_details(form: dict[str, str], prefix: str) -> dict[str, Any]:
    sub = _sub(form, prefix)
    address = {k: form.get(f"{prefix}[address][{k}]") for k in
               ("city", "country", "line1", "line2", "postal_code", "state")}
    return {"address": address, "email": sub.get("email"), "name": sub.get("name"), "phone": sub.get("phone")}


def _create_pm(sandbox: Sandbox, card_fields: dict[str, str], param_prefix: str) -> StripePaymentMethod:
    """Check card fields (or a ``tok_...`` test token) and record a payment method without the number."""
    now = sandbox.now()
    token = card_fields.get("token")
    if token:
        test = MAGIC_TOKENS.get(token)
        if test is None:
            raise StripeError(400, "invalid_request_error", f"No such token: '{token[:40]}'", code="resource_missing",
                              param=f"{param_prefix}[token]")
        month, year = 12, year_of(now) + 3
    else:
        try:
            test, month, year = check_card(card_fields.get("number"), card_fields.get("exp_month"),
                                           card_fields.get("exp_year"), card_fields.get("cvc"),
                                           now_year=year_of(now), now_month=month_of(now))
        except CardError as err:
            if err.kind == "card_error":
                raise StripeError(402, "card_error", err.message, code=err.code, param=err.param) from None
            raise StripeError(400, err.kind, err.message.replace("card[", f"{param_prefix}["), code=err.code,
                              param=err.param.replace("card[", f"{param_prefix}[")) from None
    return sandbox.ledger.insert_stripe_payment_method(
        brand=test.brand, last4=test.last4, exp_month=month, exp_year=year, funding=test.funding,
        country=test.country, behaviour=test.behaviour.name,
    )


def pm_object(pm: StripePaymentMethod, *, billing_details: dict[str, Any] | None = None,
              metadata: dict[str, str] | None = None) -> dict[str, Any]:
    """A PaymentMethod in Stripe's shape.

    Example:
        >>> pm = StripePaymentMethod("pm_1abc", "visa", "4242", 12, 2030, "credit", "US", "succeed", 7, 0, 1_800_000_000.0)
        >>> obj = pm_object(pm)
        >>> obj["object"], obj["card"]["last4"], obj["customer"], obj["created"]
        ('payment_method', '4242', 'cus_sandbox_7', 1800000000)
    """
    return {
        "id": pm.id, "object": "payment_method", "allow_redisplay": "unspecified",
        "billing_details": billing_details or {"address": dict.fromkeys(
            ("city", "country", "line1", "line2", "postal_code", "state")), "email": None, "name": None, "phone": None},
        "card": {
            "brand": pm.brand, "checks": {"address_line1_check": None, "address_postal_code_check": None,
                                          "cvc_check": "unchecked"},
            "country": pm.country, "display_brand": pm.brand, "exp_month": pm.exp_month, "exp_year": pm.exp_year,
            "funding": pm.funding, "generated_from": None, "last4": pm.last4,
            "networks": {"available": [pm.brand], "preferred": None}, "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": int(pm.created_at),
        "customer": f"cus_sandbox_{pm.customer_account_id}" if pm.customer_account_id else None,
        "livemode": False, "metadata": metadata or {}, "type": "card",
    }


def si_object(seti: SetupIntent, *, error: dict[str, Any] | None = None) -> dict[str, Any]:
    """A SetupIntent in Stripe's shape.

    Example:
        >>> obj = si_object(SetupIntent("seti_1abc", 7, "seti_1abc_secret_x", "succeeded", "pm_1abc", 1_800_000_000.0))
        >>> obj["object"], obj["status"], obj["payment_method"], obj["customer"]
        ('setup_intent', 'succeeded', 'pm_1abc', 'cus_sandbox_7')
    """
    next_action = None
    if seti.status == "requires_action":
        next_action = {"type": "use_stripe_sdk", "use_stripe_sdk": {
            "type": "three_d_secure_redirect", "source": seti.payment_method_id}}
    return {
        "id": seti.id, "object": "setup_intent", "application": None, "automatic_payment_methods": None,
        "cancellation_reason": None, "client_secret": seti.client_secret, "created": int(seti.created_at),
        "customer": f"cus_sandbox_{seti.account_id}", "description": None, "last_setup_error": error,
        "livemode": False, "metadata": {}, "next_action": next_action, "payment_method": seti.payment_method_id,
        "payment_method_types": ["card"], "status": seti.status, "usage": "off_session",
    }


def create_payment_method(sandbox: Sandbox, form: dict[str, str]) -> dict[str, Any]:
    """``POST /v1/payment_methods``.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> pm = create_payment_method(create_app().state.sandbox, {"type": "card", "card[token]": "tok_mastercard"})
        >>> pm["id"].startswith("pm_"), pm["card"]["brand"], pm["card"]["last4"]
        (True, 'mastercard', '4444')
    """
    _reject_unknown(form, _ALLOWED)
    kind = form.get("type")
    if not kind:
        raise StripeError(400, "invalid_request_error", "Missing required param: type.", code="parameter_missing",
                          param="type")
    if kind != "card":
        raise StripeError(400, "invalid_request_error", "Invalid type: the sandbox tokenizes cards only (type=card).",
                          code="parameter_invalid_string", param="type")
    card = _sub(form, "card")
    if not card:
        raise StripeError(400, "invalid_request_error", "Missing required param: card.", code="parameter_missing",
                          param="card")
    pm = _create_pm(sandbox, card, "card")
    metadata = {k[len("metadata["):-1]: v for k, v in form.items() if k.startswith("metadata[")}
    return pm_object(pm, billing_details=_billing_details(form, "billing_details"), metadata=metadata)


def _pm_for_setup(sandbox: Sandbox, seti: SetupIntent, form: dict[str, str]) -> StripePaymentMethod:
    pm_id = form.get("payment_method")
    if pm_id:
        magic = MAGIC_METHODS.get(pm_id)
        if magic is not None:  # Stripe makes a fresh payment method from a pm_card_* shortcut
            year = year_of(sandbox.now()) + 3
            return sandbox.ledger.insert_stripe_payment_method(
                brand=magic.brand, last4=magic.last4, exp_month=12, exp_year=year, funding=magic.funding,
                country=magic.country, behaviour=magic.behaviour.name)
        pm = sandbox.ledger.stripe_payment_method(pm_id)
        if pm is None or pm.detached or pm.customer_account_id not in (None, seti.account_id):
            raise StripeError(400, "invalid_request_error", f"No such PaymentMethod: '{pm_id[:60]}'",
                              code="resource_missing", param="payment_method")
        return pm
    if form.get("payment_method_data[type]", "card") != "card":
        raise StripeError(400, "invalid_request_error", "Invalid payment_method_data[type]: only card is supported.",
                          code="parameter_invalid_string", param="payment_method_data[type]")
    card = {k: form[f"payment_method_data[card][{k}]"] for k in ("number", "exp_month", "exp_year", "cvc", "token")
            if f"payment_method_data[card][{k}]" in form}
    if not card:
        raise StripeError(400, "invalid_request_error", "You must provide payment_method or payment_method_data "
                          "to confirm this SetupIntent.", code="parameter_missing", param="payment_method")
    return _create_pm(sandbox, card, "payment_method_data[card]")


def confirm_setup_intent(sandbox: Sandbox, seti_id: str, form: dict[str, str]) -> dict[str, Any]:
    """``POST /v1/setup_intents/{id}/confirm``.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> sb = create_app().state.sandbox
        >>> seti = sb.ledger.insert_setup_intent(sb.account_for_token("sk_sandbox_demo").id)
        >>> confirm_setup_intent(sb, seti.id, {"payment_method": "pm_card_visa"})["status"]
        'succeeded'
    """
    _reject_unknown(form, _ALLOWED_CONFIRM)
    ledger = sandbox.ledger
    with ledger.transaction():
        seti = ledger.setup_intent(seti_id)
        if seti is None:
            raise StripeError(404, "invalid_request_error", f"No such setupintent: '{seti_id[:60]}'",
                              code="resource_missing", param="intent")
        secret = form.get("client_secret")
        if secret is not None and secret != seti.client_secret:
            raise StripeError(400, "invalid_request_error", "The client_secret provided does not match the "
                              "client_secret associated with the SetupIntent.", code="parameter_invalid_string",
                              param="client_secret")
        if seti.status == "succeeded":
            raise StripeError(400, "invalid_request_error", "You cannot confirm this SetupIntent because it has "
                              "already succeeded after being previously confirmed.",
                              code="setup_intent_unexpected_state")
        pm = _pm_for_setup(sandbox, seti, form)
        behaviour = BEHAVIOURS[pm.behaviour]
        if behaviour.declines_setup:
            ledger.update_setup_intent(seti.id, status="requires_payment_method", payment_method_id=None)
            failed = ledger.setup_intent(seti.id)
            assert failed is not None
            error = {"type": "card_error", "code": behaviour.code, "decline_code": behaviour.decline_code,
                     "message": behaviour.message, "payment_method": pm_object(pm)}
            raise StripeError(402, "card_error", behaviour.message or "Your card was declined.", code=behaviour.code,
                              decline_code=behaviour.decline_code,
                              setup_intent=si_object(failed, error=error),
                              keep_changes=True)
        if behaviour.outcome == AUTHENTICATE:
            ledger.update_setup_intent(seti.id, status="requires_action", payment_method_id=pm.id)
        else:
            ledger.update_setup_intent(seti.id, status="succeeded", payment_method_id=pm.id)
            ledger.claim_stripe_payment_method(pm.id, seti.account_id)
            ledger.save_card(seti.account_id, pm.id, brand=pm.brand, last4=pm.last4, exp_month=pm.exp_month,
                             exp_year=pm.exp_year, behaviour=pm.behaviour)
            account = ledger.account(seti.account_id)
            if account.default_payment_method is None and len(ledger.saved_cards(account.id)) == 1:
                ledger.set_default_payment_method(account.id, pm.id)
        done = ledger.setup_intent(seti.id)
    assert done is not None
    return si_object(done)


def _respond(body: dict[str, Any], status: int = 200) -> Response:
    return Response(dumps(body), status_code=status, media_type="application/json",
                    headers={"Request-Id": new_id("req_", 14), "Cache-Control": "no-store",
                             "Stripe-Version": "2025-sandbox"})


def routes(sandbox: Sandbox) -> list[Route]:
    """The Stripe routes of one sandbox.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> [r.path for r in routes(create_app().state.sandbox)][:2]
        ['/v1/payment_methods', '/v1/payment_methods/{pm_id}']
    """

    def guarded(work: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                _check_key(sandbox, request)
                form = parse_form(await request.body()) if request.method == "POST" else {}
                body = await run_in_threadpool(work, request.path_params, form)
            except StripeError as err:
                return _respond(err.body(), err.status)
            return _respond(body)

        return endpoint

    def create(params: dict[str, str], form: dict[str, str]) -> dict[str, Any]:
        return create_payment_method(sandbox, form)

    def retrieve_pm(params: dict[str, str], form: dict[str, str]) -> dict[str, Any]:
        pm = sandbox.ledger.stripe_payment_method(params["pm_id"])
        if pm is None:
            raise StripeError(404, "invalid_request_error", f"No such PaymentMethod: '{params['pm_id'][:60]}'",
                              code="resource_missing", param="payment_method")
        return pm_object(pm)

    def confirm(params: dict[str, str], form: dict[str, str]) -> dict[str, Any]:
        return confirm_setup_intent(sandbox, params["seti_id"], form)

    def retrieve_si(params: dict[str, str], form: dict[str, str]) -> dict[str, Any]:
        seti = sandbox.ledger.setup_intent(params["seti_id"])
        if seti is None:
            raise StripeError(404, "invalid_request_error", f"No such setupintent: '{params['seti_id'][:60]}'",
                              code="resource_missing", param="intent")
        return si_object(seti)

    return [
        Route("/v1/payment_methods", guarded(create), methods=["POST"]),
        Route("/v1/payment_methods/{pm_id}", guarded(retrieve_pm), methods=["GET"]),
        Route("/v1/setup_intents/{seti_id}/confirm", guarded(confirm), methods=["POST"]),
        Route("/v1/setup_intents/{seti_id}", guarded(retrieve_si), methods=["GET"]),
    ]
