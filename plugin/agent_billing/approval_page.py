"""The approval page a person opens from an out-of-band link: the facts, two buttons, a recorded decision.

``approval_app(store, identify=None)`` is an ASGI app (Starlette, the ``sandbox`` extra) a host mounts in its
own web app under the ``base_url`` it gives ``OutOfBandApprover``; ``agent-billing sandbox`` serves it under
``/approvals/``. ``GET /<token>`` shows the request's facts (amount with currency, one-off or every period,
card brand and last four, plan, operation, expiry), every string HTML-escaped (provider strings are
attacker-controlled; control and bidi characters were removed when the request was made). ``POST /<token>``
records the decision with its evidence (when, client address, user agent, method, and ``identify(request)``:
the deployer's own claim of who the person is, e.g. their logged-in user). Nothing is decided on ``GET``
(link scanners prefetch URLs): the POST must carry the page's anti-forgery value, bound to the token, and
``Origin`` (when not ``null``) and ``Sec-Fetch-Site``, when sent, must say the POST came from this page's host.

A store that cannot be reached answers 503 with a plain page (nothing changed; try again).
A used, expired, unknown or malformed token answers one plain page saying so, with the same status and the
same work (one hashed lookup), never echoing the token, and changes nothing. Every answer carries
``Cache-Control: no-store``, ``Referrer-Policy: no-referrer``, a strict CSP and ``X-Frame-Options: DENY``.

Example:
    >>> import asyncio, httpx
    >>> from datetime import datetime, timezone
    >>> from agent_billing.guardrails.approval import ApprovalRequest
    >>> from agent_billing.guardrails.approval_requests import ApprovalRequests
    >>> requests = ApprovalRequests.memory()
    >>> now = datetime.now(timezone.utc)
    >>> _ = requests.create("acct", ApprovalRequest(operation="top_up", effect="charge", summary="Charge $5.00 USD.",
    ...     amount="5", intent_digest="d"), approval_id="c", token="T" * 43, now=now, expires_at=now.replace(year=2100))
    >>> async def visit(path: str) -> tuple[int, str]:
    ...     async with httpx.AsyncClient(transport=httpx.ASGITransport(app=approval_app(requests)),
    ...                                  base_url="http://host") as client:
    ...         answer = await client.get(path)
    ...         return answer.status_code, answer.headers["cache-control"]
    >>> asyncio.run(visit("/" + "T" * 43)), asyncio.run(visit("/unknown"))
    ((200, 'no-store'), (404, 'no-store'))
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import inspect
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from agent_billing.guardrails.approval import ApprovalRequest
from agent_billing.guardrails.approval_requests import ApprovalRecord, ApprovalRequests, Evidence
from agent_billing.guardrails.approval_text import amount_text, brand_name, every, safe_line
from agent_billing.guardrails.out_of_band import requests_in
from agent_billing.guardrails.sqlite_state import StoreUnavailableError

# The form body is two short fields: anything longer is not ours.
MAX_BODY = 4096
METHOD = "approval page"

_STYLE = ("body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#111}"
          "dt{font-weight:600;margin-top:.6rem}dd{margin:0}.details{white-space:pre-wrap;color:#444}"
          "button{font-size:1.1rem;padding:.6rem 1.4rem;margin:1rem .6rem 0 0}")
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
# No script at all; the one inline style by its hash; the form posts only here; no framing, no base rewrite.
CSP = (f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache", "Referrer-Policy": "no-referrer",
           "Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}

_UNAVAILABLE = ("This approval page cannot reach its records right now. Nothing was changed by this visit. "
                "Open the link again in a minute.")
_INVALID = ("This approval link cannot be used: it was already used, it expired, or it is not a valid link. "
            "Nothing was changed. If a payment still needs your approval, ask for a new link.")

Identify = Callable[[Request], Any]


def form_value(token: str) -> str:
    """The page's anti-forgery value: bound to the token (only a holder of the link can make it).

    Example:
        >>> form_value("a") == form_value("a") != form_value("b"), len(form_value("a"))
        (True, 43)
    """
    mac = hmac.new(token.encode("utf-8", "surrogatepass"), b"agent-billing approval form v1", hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def facts(request: ApprovalRequest) -> list[tuple[str, str]]:
    """The facts a person reads, as (label, plain text) pairs, from the request's structured fields.

    Example:
        >>> from decimal import Decimal
        >>> facts(ApprovalRequest(operation="start_plan", effect="charge", summary="s", amount=Decimal("29"),
        ...     recurring=True, period="month", card_brand="visa", card_last4="4242", plan="pro at $29.00"))[:4]
        [('Amount', '$29.00 USD'), ('How often', 'every month'), ('Card', 'Visa ending 4242'), ('Plan', 'pro at $29.00')]
    """
    rows: list[tuple[str, str]] = []
    if request.amount is not None:
        rows.append(("Amount", amount_text(request.amount, request.currency)))
    if request.recurring:
        rows.append(("How often", every(request.period) if request.period else "recurring, until stopped"))
    else:
        rows.append(("How often", "one-off"))
    if request.card_brand and request.card_last4:
        rows.append(("Card", f"{brand_name(request.card_brand)} ending {request.card_last4}"))
    elif request.payment_method:
        rows.append(("Card", request.payment_method))
    if request.plan:
        rows.append(("Plan", request.plan))
    rows.append(("Operation", safe_line(request.operation, 80)))
    return rows


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
            f"content=\"width=device-width,initial-scale=1\"><meta name=\"robots\" content=\"noindex\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>")


def _answer(text: str, status: int = 200) -> Response:
    return HTMLResponse(text, status_code=status, headers=HEADERS)


def _invalid() -> Response:
    return _answer(_page("Approval link not valid", f"<h1>Link not valid</h1><p>{html.escape(_INVALID)}</p>"), 404)


def _unavailable() -> Response:
    # The person retries the same link; an answer whose decision may have been recorded reads as used then.
    return _answer(_page("Try again in a minute", f"<h1>Try again in a minute</h1><p>{html.escape(_UNAVAILABLE)}</p>"),
                   503)


def _request_page(record: ApprovalRecord, token: str) -> str:
    request = record.request
    rows = "".join(f"<dt>{html.escape(label)}</dt><dd>{html.escape(value)}</dd>" for label, value in facts(request))
    expires = record.expires_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows += f"<dt>Link expires</dt><dd>{html.escape(expires)}</dd>"
    details = html.escape(request.summary)
    return _page("Approve this payment?", (
        "<h1>Approve this payment?</h1><p>An agent asks to do this on your account. Read the facts; approve only "
        f"if you expect it.</p><dl id=\"facts\">{rows}</dl><p class=\"details\" id=\"summary\">{details}</p>"
        f"<form method=\"post\"><input type=\"hidden\" name=\"form\" value=\"{form_value(token)}\">"
        "<button type=\"submit\" name=\"decision\" value=\"approve\" id=\"approve\">Approve</button>"
        "<button type=\"submit\" name=\"decision\" value=\"decline\" id=\"decline\">Decline</button></form>"))


async def _bounded_body(request: Request) -> bytes | None:
    """The form body, or None past ``MAX_BODY`` (read no further: a huge body costs the sender, not us)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return body


def _same_origin(request: Request) -> bool:
    # With Referrer-Policy no-referrer, browsers send "Origin: null" for the page's own form; Sec-Fetch-Site
    # still says where the POST came from. The anti-forgery value is the real guard; this refuses the obvious.
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


def approval_app(store: Any = None, identify: Identify | None = None, *,
                 clock: Callable[[], float] = time.time) -> Starlette:
    """The approval page as an ASGI app: mount it where ``OutOfBandApprover(base_url=...)`` points.

    ``store``: the guardrail store (object or URL; None: ``$AGENT_BILLING_STORE_URL`` or the state directory)
    or an ``ApprovalRequests``; opened on the first request. ``identify``: the deployer's function (sync or
    async) of the Starlette request returning who the person is (their login), recorded as evidence; it may
    raise ``starlette.exceptions.HTTPException`` to refuse a visitor. ``clock``: Unix seconds (tests).

    Example:
        >>> app = approval_app(ApprovalRequests.memory())
        >>> [route.path for route in app.routes]
        ['/{token:path}']
    """
    opened: list[ApprovalRequests] = []

    def requests() -> ApprovalRequests:
        if not opened:
            opened.append(requests_in(store))
        return opened[0]

    def now() -> datetime:
        return datetime.fromtimestamp(clock(), tz=timezone.utc)

    async def show(request: Request) -> Response:
        token = request.path_params["token"]
        record = await run_in_threadpool(requests().find, token, now=now())
        if record is None:
            return _invalid()
        return _answer(_request_page(record, token))

    async def decide(request: Request) -> Response:
        token = request.path_params["token"]
        body = await _bounded_body(request)
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=4) if body is not None else {}
        decision = (fields.get("decision") or [""])[0]
        offered = (fields.get("form") or [""])[0]
        # One lookup whatever is wrong, so a bad form and a bad token cost the same.
        record = await run_in_threadpool(requests().find, token, now=now())
        if (record is None or decision not in ("approve", "decline") or not _same_origin(request)
                or not hmac.compare_digest(offered.encode(), form_value(token).encode())):
            return _invalid()
        who = identify(request) if identify is not None else None
        if inspect.isawaitable(who):
            who = await who
        evidence = Evidence(method=METHOD, client=request.client.host if request.client else None,
                            user_agent=request.headers.get("user-agent"),
                            identity=str(who) if who is not None else None)
        decided = await run_in_threadpool(requests().decide, token, approved=decision == "approve", evidence=evidence,
                                          now=now())
        if decided is None:
            return _invalid()  # another click (or the expiry) got there first
        if decided.status == "approved":
            text = "<h1>Approved</h1><p>Thank you. The agent may now go ahead with exactly this payment.</p>"
        else:
            text = "<h1>Declined</h1><p>Nothing will be charged. The agent is told you declined.</p>"
        return _answer(_page(decided.status.capitalize(), text))

    # Every path answers (a token with a slash, an empty one): one plain page for whatever is not a valid link.
    async def route(request: Request) -> Response:
        try:
            return await (decide(request) if request.method == "POST" else show(request))
        except StoreUnavailableError:  # a plain page with our headers, not a server error
            return _unavailable()

    return Starlette(routes=[Route("/{token:path}", route, methods=["GET", "POST"])])


__all__ = ["CSP", "HEADERS", "approval_app", "facts", "form_value"]
