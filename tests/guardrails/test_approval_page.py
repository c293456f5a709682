"""The approval page over HTTP (httpx's ASGI transport): facts escaped, no decision on GET, one answer for every
unusable link, anti-forgery value bound to the token, security headers on every answer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest

from agent_billing.approval_page import CSP, approval_app, form_value
from agent_billing.guardrails.approval import ApprovalRequest
from agent_billing.guardrails.approval_requests import ApprovalRequests
from agent_billing.inprocess import SyncASGITransport

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
TOKEN = "tok_" + "A" * 39
HOSTILE = ApprovalRequest(
    operation="start_plan", effect="charge", amount=Decimal("2900"), recurring=True, period="month",
    card_brand="visa", card_last4="4242", plan="Pro<script>alert(1)</script>",
    summary="Charge $2,900.00 USD to Visa ending 4242, every month.\n"
            "Plan name from the provider: \"<script>alert('x')</script>\u202eevil\u200b\x1b[2J\"",
    intent_digest="digest-1", approval_id="call_1")


class Clock:
    def __init__(self) -> None:
        self.now = NOW.timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def requests() -> ApprovalRequests:
    store = ApprovalRequests.memory()
    store.create("acct", HOSTILE, approval_id="call_1", token=TOKEN, now=NOW, expires_at=NOW + timedelta(minutes=15))
    return store


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def http(requests: ApprovalRequests, clock: Clock) -> Iterator[httpx.Client]:
    # The deployer's claim (from its session, say) may carry anything; "+RLO" stands for a bidi override in it.
    app = approval_app(requests, identify=lambda request: request.headers.get("x-user", "").replace("+RLO", "\u202e")
                       or None, clock=clock)
    with httpx.Client(transport=SyncASGITransport(app), base_url="https://pay.example") as client:
        yield client


def _secure(answer: httpx.Response) -> None:
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["content-security-policy"] == CSP and "script-src" not in CSP and "default-src 'none'" in CSP


def test_the_page_shows_the_true_facts_escaped(http: httpx.Client, requests: ApprovalRequests) -> None:
    page = http.get(f"/{TOKEN}")
    assert page.status_code == 200
    _secure(page)
    text = page.text
    assert "$2,900.00 USD" in text and "every month" in text and "Visa ending 4242" in text
    assert "start_plan" in text and "2026-12-05 12:15 UTC" in text
    assert "<script>" not in text and "&lt;script&gt;" in text  # provider strings are text, never markup
    assert not re.search("[\u202e\u200b\x1b]", text)  # no bidi, zero-width or control characters
    assert TOKEN not in text  # the token only in the URL, never echoed into the page
    assert requests.find(TOKEN, now=NOW) is not None  # a GET (a link scanner's prefetch) decides nothing
    assert http.head(f"/{TOKEN}").status_code == 200 and requests.find(TOKEN, now=NOW) is not None


@pytest.mark.parametrize("token", ["unknown-token", "x" * 5000, "%00%0a", "<script>alert(1)</script>", "..%2F..%2Fetc"])
def test_unusable_tokens_get_one_plain_answer(http: httpx.Client, token: str) -> None:
    answers = [http.get(f"/{token}"), http.post(f"/{token}", data={"decision": "approve", "form": form_value(token)})]
    for answer in answers:
        assert answer.status_code == 404
        _secure(answer)
        assert "cannot be used" in answer.text and "alert" not in answer.text and "xxxxx" not in answer.text
    assert answers[0].text == answers[1].text == http.get("/another").text  # the same page for every case


def _post(http: httpx.Client, decision: str = "approve", form: str | None = None, **headers: str) -> httpx.Response:
    return http.post(f"/{TOKEN}", data={"decision": decision, "form": form or form_value(TOKEN)}, headers=headers)


def test_post_needs_the_form_value_bound_to_this_token(http: httpx.Client, requests: ApprovalRequests) -> None:
    assert _post(http, form="forged").status_code == 404
    assert _post(http, form=form_value("other-token")).status_code == 404
    assert http.post(f"/{TOKEN}", data={"decision": "approve"}).status_code == 404
    assert _post(http, decision="yes please").status_code == 404
    assert http.post(f"/{TOKEN}", content=b"decision=approve&form=" + form_value(TOKEN).encode() + b"&x=" + b"y" * 10_000,
                     headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 404  # too big
    assert _post(http, **{"origin": "https://evil.example"}).status_code == 404  # a cross-site form
    assert _post(http, **{"origin": "null", "sec-fetch-site": "cross-site"}).status_code == 404
    assert _post(http, **{"sec-fetch-site": "same-site"}).status_code == 404  # a sibling subdomain's page
    assert requests.find(TOKEN, now=NOW) is not None  # none of them decided anything
    done = _post(http, **{"origin": "https://pay.example", "x-user": "ada+RLO@example.com"})
    assert done.status_code == 200 and "Approved" in done.text
    _secure(done)
    record = requests.latest("acct", "call_1", "digest-1")
    assert record is not None and record.status == "approved" and record.evidence is not None
    assert record.evidence.identity == "ada@example.com" and record.evidence.method == "approval page"
    assert _post(http, decision="decline").status_code == 404  # used
    assert requests.latest("acct", "call_1", "digest-1").status == "approved"  # type: ignore[union-attr]


def test_decline_then_expired(http: httpx.Client, requests: ApprovalRequests, clock: Clock) -> None:
    done = _post(http, decision="decline")
    assert done.status_code == 200 and "Declined" in done.text and "Nothing will be charged" in done.text
    requests.create("acct", HOSTILE, approval_id="call_2", token="tok-late", now=NOW,
                    expires_at=NOW + timedelta(minutes=1))
    clock.now += 61
    assert http.get("/tok-late").status_code == 404
    assert http.post("/tok-late", data={"decision": "approve", "form": form_value("tok-late")}).status_code == 404
    late = requests.latest("acct", "call_2", "digest-1", now=NOW + timedelta(seconds=61))
    assert late is not None and late.status == "expired" and late.decided_at is None


def test_an_identify_that_refuses_blocks_the_decision(requests: ApprovalRequests, clock: Clock) -> None:
    from starlette.exceptions import HTTPException

    async def only_logged_in(request: Any) -> str:
        user = request.headers.get("x-user")
        if not user:
            raise HTTPException(401, "log in first")
        return str(user)

    app = approval_app(requests, identify=only_logged_in, clock=clock)
    with httpx.Client(transport=SyncASGITransport(app), base_url="https://pay.example") as http:
        assert _post(http).status_code == 401
        assert requests.find(TOKEN, now=NOW) is not None
        assert _post(http, **{"x-user": "ada"}).status_code == 200
    assert requests.latest("acct", "call_1", "digest-1").evidence.identity == "ada"  # type: ignore[union-attr]


def test_the_sandbox_serves_the_page(tmp_path: Any) -> None:
    from agent_billing.sandbox import create_app

    url = f"sqlite:///{tmp_path / 'state.db'}"
    from agent_billing.guardrails.out_of_band import requests_in

    requests_in(url).create("acct", HOSTILE, approval_id="call_1", token=TOKEN, now=datetime.now(timezone.utc),
                            expires_at=datetime.now(timezone.utc) + timedelta(minutes=5))
    app = create_app(rate_limit=False, approvals=url)
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://127.0.0.1:8787") as http:
        assert "Visa ending 4242" in http.get(f"/approvals/{TOKEN}").text
        assert http.get("/approvals/nope").status_code == 404


def test_an_unreachable_store_is_a_plain_503_and_the_link_still_works_after(tmp_path: Any, clock: Clock) -> None:
    """A real SQLite file held by another writer: the page says to try again (with its security headers), the POST
    records nothing, and once the file is free the same link and form decide."""
    import sqlite3

    path = tmp_path / "approvals.db"
    requests = ApprovalRequests.sqlite(path, timeout=0.05)
    requests.create("acct", HOSTILE, approval_id="call_1", token=TOKEN, now=NOW, expires_at=NOW + timedelta(minutes=15))
    holder = sqlite3.connect(path, isolation_level=None)
    with httpx.Client(transport=SyncASGITransport(approval_app(requests, clock=clock)),
                      base_url="https://pay.example") as http:
        form = re.search(r'name="form" value="([^"]+)"', http.get(f"/{TOKEN}").text).group(1)  # type: ignore[union-attr]
        holder.execute("BEGIN IMMEDIATE")
        shown, posted = http.get(f"/{TOKEN}"), http.post(f"/{TOKEN}", data={"decision": "approve", "form": form})
        holder.execute("ROLLBACK")
        for answer in (shown, posted):
            assert answer.status_code == 503 and "Try again in a minute" in answer.text and TOKEN not in answer.text
            _secure(answer)
        assert requests.find(TOKEN, now=NOW) is not None  # still pending: nothing was decided
        assert http.post(f"/{TOKEN}", data={"decision": "approve", "form": form}).status_code == 200
    assert requests.find(TOKEN, now=NOW) is None  # decided now
    holder.close()
