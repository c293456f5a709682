"""Hosted checkout (payment links): the pages a human pays on, and confirming the session afterwards.

A session (``cs_test_...``) is created by ``POST /billing/payment-link`` or by ``POST /subscriptions``
without a payment method. It is ``open`` until paid (``complete``) or until ``expires_at`` passes on the
sandbox clock (``expired``). Pages and endpoints at the sandbox root (no token needed: the session id is
the capability, as with Stripe's checkout URLs):

- ``GET  /sandbox/checkout/{id}``           the checkout page: amount, plan, a test card to pick, Pay
- ``POST /sandbox/checkout/{id}/pay``       the page's form; redirects (303) to the success page
- ``GET  /sandbox/checkout/{id}/success``   shows the session id for the human to copy back
- ``GET  /sandbox/checkout/{id}/cancel``    "nothing was charged" (the link stays usable)
- ``POST /sandbox/checkout/{id}/complete``  pay programmatically, as if a human had (JSON; optional
  ``{"payment_method": "pm_card_..."}``, default ``pm_card_visa``)
- ``POST /sandbox/checkout/{id}/expire``    force expiry (tests)

Paying records the card payment and its invoice; the wallet credit (or the subscription) happens when
the agent confirms the session, exactly once however often it confirms.

Example:
    >>> checkout_url("http://127.0.0.1:8787", "cs_test_a1xyz")
    'http://127.0.0.1:8787/sandbox/checkout/cs_test_a1xyz'
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from agent_billing import wire
from agent_billing.providers.modelslab.sandbox import subscriptions as subs
from agent_billing.providers.modelslab.sandbox.dispatch import Ctx
from agent_billing.providers.modelslab.sandbox.envelope import (
    ApiError,
    Reply,
    envelope,
    error_response,
    invalid,
    json_response,
    not_found,
)
from agent_billing.providers.modelslab.sandbox.ledger import CheckoutSession
from agent_billing.providers.modelslab.sandbox.payments import Card, charge
from agent_billing.providers.modelslab.sandbox.state import Sandbox
from agent_billing.sandbox.cards import AUTHENTICATE, BEHAVIOURS, CHECKOUT_CHOICES, MAGIC_METHODS
from agent_billing.sandbox.units import dumps, iso, iso_or_none, request_id, usd, year_of


def checkout_url(root_url: str, session_id: str) -> str:
    """The hosted checkout page of a session.

    Example:
        >>> checkout_url("http://127.0.0.1:8787", "cs_test_a1xyz")
        'http://127.0.0.1:8787/sandbox/checkout/cs_test_a1xyz'
    """
    return f"{root_url}/sandbox/checkout/{session_id}"


def root_of(request: Request) -> str:
    """The sandbox root URL as the caller reached it (``http://127.0.0.1:8787``).

    Example:
        >>> scope = {"type": "http", "scheme": "http", "server": ("127.0.0.1", 8787), "path": "/", "headers": []}
        >>> root_of(Request(scope))
        'http://127.0.0.1:8787'
    """
    return str(request.base_url).rstrip("/")


def _describe(sandbox: Sandbox, s: CheckoutSession) -> str:
    if s.purpose == "fund":
        return f"Wallet top-up of ${usd(s.amount_cents)}"
    plan = sandbox.ledger.plan(s.plan_id or 0)
    name = plan.name if plan else f"plan {s.plan_id}"
    period = f"/{plan.period}" if plan else ""
    return f"Subscription to {name} (${usd(s.amount_cents)}{period})"


def session_view(root_url: str, s: CheckoutSession) -> dict[str, Any]:
    """A session as the sandbox's JSON endpoints show it.

    Example:
        >>> s = CheckoutSession("cs_test_a1", 1, "fund", 2500, None, "open", None, None, None,
        ...                     0.0, 1800.0, None, None, None, None)
        >>> view = session_view("http://127.0.0.1:8787", s)
        >>> view["url"], view["amount"], view["payment_status"]
        ('http://127.0.0.1:8787/sandbox/checkout/cs_test_a1', Decimal('25.00'), 'unpaid')
    """
    return {
        "id": s.id, "object": "checkout.session", "purpose": s.purpose, "amount": usd(s.amount_cents),
        "currency": "usd", "plan_id": s.plan_id, "status": s.status,
        "payment_status": "paid" if s.status == "complete" else "unpaid", "payment_intent_id": s.payment_intent_id,
        "url": checkout_url(root_url, s.id), "success_page_url": f"{checkout_url(root_url, s.id)}/success",
        "expires_at": iso(s.expires_at), "paid_at": iso_or_none(s.paid_at), "confirmed": s.confirmed_at is not None,
    }


def complete_session(sandbox: Sandbox, session_id: str, payment_method: str = "pm_card_visa") -> CheckoutSession:
    """Pay a session as the human would (idempotent once paid).

    A declined test card leaves the session open (402 ``payment_declined``); a 3-D Secure card succeeds,
    since the human on the page completes the challenge.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> sb = create_app().state.sandbox
        >>> acct = sb.account_for_token("sk_sandbox_demo")
        >>> s = sb.ledger.insert_checkout_session(acct.id, purpose="fund", cents=2500, plan_id=None, ttl_seconds=1800)
        >>> complete_session(sb, s.id, "pm_card_mastercard").status
        'complete'
    """
    ledger = sandbox.ledger
    with ledger.transaction():
        s = ledger.checkout_session(session_id)
        if s is None:
            raise not_found(f"No checkout session '{session_id}'.")
        if s.status == "complete":
            return s
        if s.status == "expired":
            raise ApiError(409, "checkout_expired", f"Checkout session expired at {iso(s.expires_at)}.")
        test = MAGIC_METHODS.get(payment_method)
        if test is None:
            raise invalid("payment_method must be one of Stripe's pm_card_* test methods.", "payment_method")
        behaviour = BEHAVIOURS["succeed"] if test.behaviour.outcome == AUTHENTICATE else test.behaviour
        card = Card(payment_method, test.brand, test.last4, 12, year_of(sandbox.now()) + 3, behaviour)
        result = charge(ledger, s.account_id, s.amount_cents, card, purpose=f"checkout_{s.purpose}",
                        description=_describe(sandbox, s), plan_id=s.plan_id)
        if not result.succeeded:
            ledger.update_checkout_session(s.id, last_error=behaviour.message)
            raise ApiError(402, "payment_declined", behaviour.message or "Your card was declined.",
                           {"decline_code": behaviour.decline_code, "payment_intent_id": result.intent.id},
                           keep_changes=True)
        ledger.update_checkout_session(s.id, status="complete", payment_intent_id=result.intent.id,
                                       paid_at=sandbox.now(), last_error=None)
        done = ledger.checkout_session(s.id)
    assert done is not None
    return done


def expire_session(sandbox: Sandbox, session_id: str) -> CheckoutSession:
    """Force an open session to expire (409 ``invalid_state`` once paid).

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> sb = create_app().state.sandbox
        >>> acct = sb.account_for_token("sk_sandbox_demo")
        >>> s = sb.ledger.insert_checkout_session(acct.id, purpose="fund", cents=2500, plan_id=None, ttl_seconds=1800)
        >>> expire_session(sb, s.id).status
        'expired'
    """
    ledger = sandbox.ledger
    with ledger.transaction():
        s = ledger.checkout_session(session_id)
        if s is None:
            raise not_found(f"No checkout session '{session_id}'.")
        if s.status == "complete":
            raise ApiError(409, "invalid_state", "Only an open checkout session can be expired; this one is paid.")
        ledger.update_checkout_session(s.id, status="expired", expires_at=min(s.expires_at, sandbox.now()))
        done = ledger.checkout_session(s.id)
    assert done is not None
    return done


def confirm(ctx: Ctx, session_id: str, purpose: str) -> Reply:
    """Confirm a paid session: credit the wallet or start the subscription, exactly once.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> sb = create_app().state.sandbox
        >>> ctx = Ctx(sb, sb.account_for_token("sk_sandbox_demo"), "http://127.0.0.1:8787")
        >>> s = ctx.ledger.insert_checkout_session(ctx.account.id, purpose="fund", cents=2500, plan_id=None, ttl_seconds=1800)
        >>> _ = complete_session(sb, s.id)  # the human pays on the hosted page
        >>> confirm(ctx, s.id, "fund").data["message"]
        'Payment confirmed: $25.00 credited to the wallet.'
    """
    ledger = ctx.ledger
    s = ledger.checkout_session(session_id)
    if s is None or s.account_id != ctx.account.id:
        raise not_found(f"No checkout session '{session_id}' on this account.")
    if s.purpose != purpose:
        right = "POST /wallet/confirm-checkout" if s.purpose == "fund" else "POST /subscriptions/confirm-checkout"
        raise invalid(f"Session {s.id} is a '{s.purpose}' session; confirm it with {right}.", "session_id")
    if s.status == "expired":
        raise ApiError(409, "checkout_expired", f"Checkout session expired at {iso(s.expires_at)} without payment. "
                       "Create a new payment link.", {"session_id": s.id, "expires_at": iso(s.expires_at)})
    if s.status == "open":
        raise ApiError(409, "checkout_not_paid", "The human has not paid yet. Poll this endpoint again in a few "
                       f"seconds; the link expires at {iso(s.expires_at)}.",
                       {"session_id": s.id, "expires_at": iso(s.expires_at),
                        "payment_url": checkout_url(ctx.root_url, s.id)})
    if s.confirmed_at is not None and s.result is not None:
        data = wire.loads(s.result)
        data["already_confirmed"] = True
        if purpose == "fund":
            data["balance"] = usd(ledger.balance(ctx.account.id))
        else:
            sub = ledger.subscription(int(data["subscription"]["id"]))
            if sub is not None:
                data["subscription"] = subs.summary(ledger, sub)
                data["status"] = sub.status
        return Reply(data)
    assert s.payment_intent_id is not None and s.paid_at is not None
    with ledger.transaction():
        if purpose == "fund":
            ledger.credit(ctx.account.id, s.amount_cents, source="stripe_checkout", transaction_id=s.payment_intent_id,
                          usecase="wallet_funding", description=f"Checkout {s.id}")
            data = {"message": f"Payment confirmed: ${usd(s.amount_cents)} credited to the wallet.",
                    "session_id": s.id, "status": "complete", "amount": usd(s.amount_cents),
                    "balance": usd(ledger.balance(ctx.account.id)), "currency": "USD",
                    "payment_intent_id": s.payment_intent_id, "already_confirmed": False}
        else:
            plan = subs.plan_or_400(ledger, s.plan_id or 0)
            pi = ledger.payment_intent(s.payment_intent_id)
            sub = ledger.insert_subscription(ctx.account.id, plan.id, status="active",
                                             payment_method_id=pi.payment_method_id if pi else None,
                                             period=subs.period_from(plan, s.paid_at), source="checkout")
            for inv in ledger.invoices(ctx.account.id):
                if inv.payment_intent_id == s.payment_intent_id:
                    ledger.update_invoice(inv.id, subscription_id=sub.id)
            data = {"message": f"Subscription to {plan.name} is active.", "session_id": s.id,
                    "status": sub.status, "amount": usd(s.amount_cents), "subscription": subs.summary(ledger, sub),
                    "stripe_subscription_id": sub.stripe_subscription_id,
                    "payment_intent_id": s.payment_intent_id, "already_confirmed": False}
        ledger.update_checkout_session(s.id, confirmed_at=ctx.now(), result=dumps(data).decode())
    return Reply(data)


# --- pages

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f6f8fa;margin:0;color:#1f2328}
main{max-width:440px;margin:48px auto;background:#fff;border:1px solid #d0d7de;border-radius:12px;padding:28px}
h1{font-size:20px;margin:0 0 4px}.muted{color:#57606a;font-size:14px}.amount{font-size:32px;font-weight:600;
margin:16px 0}.badge{display:inline-block;background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;
padding:2px 8px;font-size:12px}button,.button{background:#0969da;color:#fff;border:0;border-radius:8px;
padding:12px 18px;font-size:16px;width:100%;cursor:pointer;text-decoration:none;display:block;text-align:center}
select,input{width:100%;padding:10px;font-size:15px;border:1px solid #d0d7de;border-radius:8px;box-sizing:border-box;
margin:8px 0 16px}.error{background:#ffebe9;border:1px solid #ff8182;border-radius:8px;padding:10px;margin:12px 0}
.ok{background:#dafbe1;border:1px solid #4ac26b;border-radius:8px;padding:10px;margin:12px 0}a{color:#0969da}
"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = (f"<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport "
           f"content='width=device-width,initial-scale=1'><title>{html.escape(title)}</title>"
           f"<style>{_STYLE}</style></head><body><main>{body}</main></body></html>")
    return HTMLResponse(doc, status_code=status, headers={"Cache-Control": "no-store"})


def _checkout_page(sandbox: Sandbox, s: CheckoutSession, error: str | None = None, status: int = 200) -> HTMLResponse:
    e = html.escape
    head = (f"<span class=badge>SANDBOX: no real money</span><h1>ModelsLab</h1>"
            f"<div class=muted>{e(_describe(sandbox, s))}</div><div class=amount>${usd(s.amount_cents)} "
            f"<span class=muted>USD</span></div>")
    if s.status == "complete":
        return _page("Paid", head + f"<div class=ok>This checkout is paid.</div><a class=button "
                     f"href='/sandbox/checkout/{e(s.id)}/success'>Show the session id</a>")
    if s.status == "expired":
        return _page("Expired", head + f"<div class=error>This payment link expired at {e(iso(s.expires_at))}. "
                     "Ask for a new one.</div>", 410)
    options = "".join(f"<option value='{e(pm)}'>{e(label)}</option>" for pm, label in CHECKOUT_CHOICES)
    err = f"<div class=error role=alert>{e(error)}</div>" if error else ""
    form = (f"{err}<form method=post action='/sandbox/checkout/{e(s.id)}/pay'><label for=pm>Test card</label>"
            f"<select id=pm name=payment_method>{options}</select><button type=submit>Pay ${usd(s.amount_cents)}"
            f"</button></form><p class=muted>Link expires {e(iso(s.expires_at))}. "
            f"<a href='/sandbox/checkout/{e(s.id)}/cancel'>Cancel</a></p>")
    return _page("Checkout", head + form, status)


def _session_or_404_page(sandbox: Sandbox, session_id: str) -> CheckoutSession | HTMLResponse:
    s = sandbox.ledger.checkout_session(session_id)
    if s is None:
        return _page("Not found", "<h1>No such checkout</h1><p class=muted>Check the link.</p>", 404)
    return s


def routes(sandbox: Sandbox) -> list[Route]:
    """The hosted checkout routes of one sandbox.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> [r.path for r in routes(create_app().state.sandbox)][:2]
        ['/sandbox/checkout/{session_id}', '/sandbox/checkout/{session_id}/pay']
    """

    async def page(request: Request) -> Response:
        found = await run_in_threadpool(_session_or_404_page, sandbox, request.path_params["session_id"])
        return found if isinstance(found, Response) else _checkout_page(sandbox, found)

    async def pay(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        choice = (form.get("payment_method") or ["pm_card_visa"])[-1]

        def run() -> Response:
            found = _session_or_404_page(sandbox, session_id)
            if isinstance(found, Response):
                return found
            try:
                complete_session(sandbox, session_id, choice)
            except ApiError as err:
                again = sandbox.ledger.checkout_session(session_id)
                assert again is not None
                return _checkout_page(sandbox, again, err.message, err.status)
            return RedirectResponse(f"/sandbox/checkout/{session_id}/success", status_code=303)

        return await run_in_threadpool(run)

    async def success(request: Request) -> Response:
        found = await run_in_threadpool(_session_or_404_page, sandbox, request.path_params["session_id"])
        if isinstance(found, Response):
            return found
        s, e = found, html.escape
        if s.status != "complete":
            return _checkout_page(sandbox, s, "This checkout is not paid yet.", 409 if s.status == "open" else 410)
        back = (f"<p><a href='{e(s.success_url)}'>Continue</a></p>" if s.success_url else "")
        confirm_path = "/wallet/confirm-checkout" if s.purpose == "fund" else "/subscriptions/confirm-checkout"
        body = (f"<span class=badge>SANDBOX</span><h1>Payment received</h1><div class=ok>"
                f"{e(_describe(sandbox, s))}: paid.</div><label for=sid>Session id: copy it back to your agent"
                f"</label><input id=sid readonly value='{e(s.id)}' onclick='this.select()'>"
                f"<button type=button onclick=\"navigator.clipboard.writeText(document.getElementById('sid').value)"
                f";this.textContent='Copied'\">Copy session id</button><p class=muted>Your agent confirms it with "
                f"POST {e(confirm_path)}.</p>{back}")
        return _page("Payment received", body)

    async def cancel(request: Request) -> Response:
        found = await run_in_threadpool(_session_or_404_page, sandbox, request.path_params["session_id"])
        if isinstance(found, Response):
            return found
        e = html.escape
        back = f"<p><a href='{e(found.cancel_url)}'>Return</a></p>" if found.cancel_url else ""
        again = f"<a href='/sandbox/checkout/{e(found.id)}'>pay after all</a>"
        return _page("Canceled", f"<h1>Payment canceled</h1><p>Nothing was charged. The link stays valid until "
                     f"{e(iso(found.expires_at))}: {again}.</p>{back}")

    async def complete(request: Request) -> Response:
        rid = request_id()
        raw = await request.body()
        try:
            body = wire.loads(raw) if raw.strip() else {}
        except (ValueError, UnicodeDecodeError):
            return error_response(invalid("The body is not valid JSON."), rid)
        if not isinstance(body, dict):
            return error_response(invalid("The body must be a JSON object."), rid)
        choice = str(body.get("payment_method") or "pm_card_visa")
        try:
            s = await run_in_threadpool(complete_session, sandbox, request.path_params["session_id"], choice)
        except ApiError as err:
            return error_response(err, rid)
        return json_response(envelope(session_view(root_of(request), s), None, rid), 200, {"X-Request-Id": rid})

    async def expire(request: Request) -> Response:
        rid = request_id()
        try:
            s = await run_in_threadpool(expire_session, sandbox, request.path_params["session_id"])
        except ApiError as err:
            return error_response(err, rid)
        return json_response(envelope(session_view(root_of(request), s), None, rid), 200, {"X-Request-Id": rid})

    base = "/sandbox/checkout/{session_id}"
    return [
        Route(base, page, methods=["GET"]),
        Route(base + "/pay", pay, methods=["POST"]),
        Route(base + "/success", success, methods=["GET"]),
        Route(base + "/cancel", cancel, methods=["GET"]),
        Route(base + "/complete", complete, methods=["POST"]),
        Route(base + "/expire", expire, methods=["POST"]),
    ]
