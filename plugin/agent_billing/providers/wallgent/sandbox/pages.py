"""The hosted pages a person completes in a browser: checkout (subscribe by card) and the customer portal.

No API key is needed: the session id in the URL is the capability, as with Stripe's hosted pages.

- ``GET  /checkout/{id}``          plan, price, a labelled choice of test card, a Pay button
- ``POST /checkout/{id}/pay``      the form; pays once, then redirects (303) to the success page
- ``GET  /checkout/{id}/success``  "You are subscribed to GROWTH"
- ``GET  /portal/{id}``            plan, status, invoices and a Cancel subscription button
- ``POST /portal/{id}/cancel``     cancels at period end, then back to the portal (303)

Example:
    >>> [r.path for r in routes(Billing(clock=lambda: 0.0))][:2]
    ['/checkout/{session_id}', '/checkout/{session_id}/pay']
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from agent_billing.providers.wallgent.sandbox.billing import Billing, announce, money, snapshot
from agent_billing.providers.wallgent.sandbox.errors import WallgentError
from agent_billing.providers.wallgent.sandbox.plans import PLANS
from agent_billing.providers.wallgent.sandbox.store import Session
from agent_billing.sandbox.cards import CHECKOUT_CHOICES
from agent_billing.sandbox.units import iso

_STYLE = ("body{font-family:system-ui,sans-serif;max-width:560px;margin:40px auto;color:#1f2328}"
          "label{display:block;margin:6px 0}button{font-size:16px;padding:8px 20px;margin-top:12px}"
          ".error{color:#b42318}td{padding:3px 8px;border-bottom:1px solid #eee}")


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    """A complete HTML page (``title`` is escaped, ``body`` is already HTML).

    Example:
        >>> b"<title>Pay &amp; go</title>" in page("Pay & go", "<p>hi</p>").body
        True
    """
    return HTMLResponse(f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
                        f"<style>{_STYLE}</style></head><body>{body}</body></html>", status)


def root_of(request: Request) -> str:
    """The URL the Wallgent app is reached at: the server root plus the mount path (``.../wallgent``).

    Example:
        >>> scope = {"type": "http", "scheme": "http", "server": ("127.0.0.1", 8787), "path": "/wallgent/v1/billing",
        ...          "root_path": "/wallgent", "app_root_path": "", "headers": []}
        >>> root_of(Request(scope))
        'http://127.0.0.1:8787/wallgent'
    """
    base = str(request.base_url).rstrip("/")
    app_root = request.scope.get("app_root_path")
    if app_root is None:  # outside a Starlette app, base_url already includes root_path
        return base
    root_path = str(request.scope.get("root_path", ""))
    return base + root_path.removeprefix(str(app_root))


def _checkout_form(billing: Billing, s: Session, error: str = "", status: int = 200) -> HTMLResponse:
    e = html.escape
    plan = PLANS[s.plan or "STARTER"]
    options = "".join(f'<label><input type=radio name=payment_method value="{e(pm)}"{" checked" if i == 0 else ""}> '
                      f"{e(text)}</label>" for i, (pm, text) in enumerate(CHECKOUT_CHOICES))
    problem = f'<p class=error role=alert>{e(error)}</p>' if error else ""
    return page(f"Subscribe to {plan.name}", f"<h1>Subscribe to Wallgent {e(plan.name)}</h1>"
                f"<p>${e(str(plan.price))} per month, billed to the card you choose. Sandbox: no real money moves.</p>"
                f"{problem}<form method=post action=\"{e(s.id)}/pay\"><fieldset><legend>Test card</legend>{options}"
                f"</fieldset><button type=submit>Pay ${e(str(plan.price))}</button></form>", status)


def routes(billing: Billing) -> list[Route]:
    """The checkout and portal page routes of one Wallgent sandbox."""

    def checkout_session(session_id: str) -> Session | None:
        with billing.lock:
            return billing.store.session("checkout", session_id)

    async def checkout(request: Request) -> Response:
        s = await run_in_threadpool(checkout_session, request.path_params["session_id"])
        if s is None:
            return page("Not found", "<h1>No such checkout session</h1>", 404)
        if s.status == "complete":
            return RedirectResponse(f"{root_of(request)}/checkout/{s.id}/success", 303)
        return _checkout_form(billing, s)

    def pay_now(session_id: str, pm_id: str) -> Session | WallgentError | None:
        with billing.lock:
            session = billing.store.session("checkout", session_id)
            before = snapshot(billing, session.account_id) if session is not None else None
            try:
                billing.complete_checkout(session_id, pm_id)
                if session is not None:
                    announce(billing, session.account_id, before)
            except WallgentError as exc:
                if exc.code == "CHECKOUT_SESSION_NOT_FOUND":
                    return None
                return exc
            return billing.store.session("checkout", session_id)

    async def pay(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        pm_id = (form.get("payment_method") or ["pm_card_visa"])[0]
        session_id = request.path_params["session_id"]
        outcome = await run_in_threadpool(pay_now, session_id, pm_id)
        if outcome is None:
            return page("Not found", "<h1>No such checkout session</h1>", 404)
        if isinstance(outcome, WallgentError):
            s = await run_in_threadpool(checkout_session, session_id)
            assert s is not None
            return _checkout_form(billing, s, f"Not paid: {outcome.message}", outcome.status)
        return RedirectResponse(f"{root_of(request)}/checkout/{outcome.id}/success", 303)

    async def success(request: Request) -> Response:
        s = await run_in_threadpool(checkout_session, request.path_params["session_id"])
        if s is None or s.status != "complete":
            return page("Not found", "<h1>This checkout is not paid</h1>", 404)
        return page("Subscribed", f"<h1>You are subscribed to {html.escape(s.plan or '')}</h1>"
                    f"<p>Invoice <code>{html.escape(s.invoice_id or '')}</code>. You can close this page and "
                    "tell the assistant you have paid.</p>")

    def portal_page(session_id: str, notice: str = "") -> Response:
        e = html.escape
        with billing.lock:
            s = billing.store.session("portal", session_id)
            if s is None:
                return page("Not found", "<h1>No such portal session</h1>", 404)
            acct = billing.settle(s.account_id)
            view = billing.view(acct)
            invoices, _ = billing.store.invoices(acct.id, offset=0, limit=100)
        rows = "".join(f"<tr><td>{e(iso(i.created_at)[:10])}</td><td>{e(i.description)}</td><td>${money(i.amount_cents)}"
                       f"</td><td>{e(i.status)}</td></tr>" for i in invoices) or "<tr><td>No invoices yet.</td></tr>"
        status = f"{view['billingStatus']}" + (f", ends {view['billingPeriodEnd']}" if view["cancelAtPeriodEnd"] else "")
        cancel = ("<form method=post action=\"" + e(s.id) + "/cancel\"><button type=submit>Cancel subscription</button>"
                  "</form>") if view["billingStatus"] in ("ACTIVE", "PAST_DUE") and not view["cancelAtPeriodEnd"] else ""
        return page("Billing portal", f"<h1>Wallgent billing</h1>{f'<p role=status>{e(notice)}</p>' if notice else ''}"
                    f"<p>Plan: <strong>{e(view['plan'])}</strong> ({e(status)})</p><h2>Invoices</h2>"
                    f"<table>{rows}</table>{cancel}")

    async def portal(request: Request) -> Response:
        return await run_in_threadpool(portal_page, request.path_params["session_id"])

    def cancel_now(session_id: str) -> str | None:
        with billing.lock:
            s = billing.store.session("portal", session_id)
            if s is None:
                return None
            try:
                billing.cancel(billing.settle(s.account_id))
            except WallgentError as exc:
                return exc.message
            return ""

    async def cancel(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        outcome = await run_in_threadpool(cancel_now, session_id)
        if outcome is None:
            return page("Not found", "<h1>No such portal session</h1>", 404)
        if outcome:
            return await run_in_threadpool(portal_page, session_id, outcome)
        return RedirectResponse(f"{root_of(request)}/portal/{session_id}", 303)

    return [
        Route("/checkout/{session_id}", checkout, methods=["GET"]),
        Route("/checkout/{session_id}/pay", pay, methods=["POST"]),
        Route("/checkout/{session_id}/success", success, methods=["GET"]),
        Route("/portal/{session_id}", portal, methods=["GET"]),
        Route("/portal/{session_id}/cancel", cancel, methods=["POST"]),
    ]
