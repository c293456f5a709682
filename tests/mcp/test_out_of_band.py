"""Out-of-band approvals through MCP: the approval page reaches the person as a URL-mode elicitation.

The official ``mcp`` 2.x client, connected in-process, in both revisions (2025-11-25: ``elicitation/create``
with ``mode: "url"``; 2026-07-28: an ``input_required`` round with a URL-mode input request, answered by the
same callback). The "person" opens the URL the client received on the real approval page and presses a button
(httpx posting the page's form, as a browser would). The client's "accept" only says the page was opened: every
test reads the sandbox ledger, and nothing may move without the page's yes for exactly that charge.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.guardrails.test_out_of_band import Clock, Person
from tests.mcp.mcp_helpers import LEGACY, MODES, STATELESS, content_of, memory_calls
from tests.tools import conftest as tool_fixtures
from tests.tools.conftest import MakeToolkit

from agent_billing.client import BillingClient
from agent_billing.guardrails.approval_requests import ApprovalRecord, token_hash
from agent_billing.guardrails.out_of_band import ApprovalLink, requests_in
from agent_billing.mcp import BillingMCPServer
from agent_billing.mcp.out_of_band import ALREADY_SENT, BY_CLIENT, BY_FALLBACK, UrlElicitationApprover
from mcp import MCPError, types

clients, make_toolkit = tool_fixtures.clients, tool_fixtures.make_toolkit  # the tool tests' fixtures, for pytest
BASE = "https://pay.example/approvals"
KEY = "k" * 40


def fund(amount: int = 25) -> tuple[str, dict[str, Any]]:
    return ("wallet", {"action": "fund", "amount": amount})


@pytest.fixture
def card(client: BillingClient) -> BillingClient:
    client.add_payment_method("pm_card_visa", make_default=True)
    return client


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def person(url: str, clock: Clock) -> Any:
    someone = Person(url, clock)
    yield someone
    someone.http.close()


def server(make_toolkit: MakeToolkit, url: str, clock: Clock, **options: Any) -> BillingMCPServer:
    options.setdefault("wait", 60)
    options.setdefault("asleep", clock.asleep)
    approver = UrlElicitationApprover(base_url=BASE, clock=clock, poll=5, **options)
    return BillingMCPServer(make_toolkit(approval=approver, store=url), state_key=KEY)


def record(store: str, page: str) -> ApprovalRecord:
    """The approval request a page URL opens, whatever its status (2026-07-28 carries no elicitation id), read at
    the tests' clock's start (every test's requests are made then)."""
    with sqlite3.connect(store[len("sqlite:///"):]) as db:
        (found,) = db.execute("SELECT id FROM ab_approval_requests WHERE token_hash = ?",
                              (token_hash(page.rsplit("/", 1)[1]),)).fetchone()
    kept = requests_in(store).get(found, now=datetime.fromtimestamp(Clock().now, tz=timezone.utc))
    assert kept is not None
    return kept


async def never(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    """A 2026-07-28 client's callback (declaring elicitation) where the test drives the rounds itself."""
    raise AssertionError("the test drives the rounds itself")


def ledger(client: BillingClient) -> tuple[Decimal, int]:
    return client.get_wallet_balance().balance, len(client.get_wallet_transactions().items)


class Client:
    """The MCP client's elicitation callback: records each request, then lets ``then`` act and answer."""

    def __init__(self, then: Any = None, action: str = "accept") -> None:
        self.asked: list[types.ElicitRequestParams] = []
        self.then, self.action = then, action

    def __call__(self, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.asked.append(params)
        if self.then is not None:
            self.then(params)
        return types.ElicitResult(action=self.action)

    @property
    def urls(self) -> list[str]:
        return [p.url for p in self.asked if isinstance(p, types.ElicitRequestURLParams)]


@pytest.mark.parametrize("mode", MODES)
def test_the_client_gets_the_url_the_person_approves_on_the_page_and_it_charges_once(
        make_toolkit: MakeToolkit, card: BillingClient, url: str, clock: Clock, person: Person, mode: str) -> None:
    client = Client(then=lambda params: person.press(params.url, "approve"))
    [(content, is_error)] = memory_calls(server(make_toolkit, url, clock), [fund()], client, mode)
    assert (is_error, content["ok"], content.get("approval_delivery")) == (False, True, BY_CLIENT), content
    assert ledger(card) == (Decimal("25.00"), 1)
    (asked,) = client.asked
    assert isinstance(asked, types.ElicitRequestURLParams) and asked.mode == "url"
    assert asked.url.startswith(BASE + "/") and "$25.00 USD" in asked.message
    assert "Opening the page is not a yes" in asked.message
    kept = record(url, asked.url)
    assert asked.elicitation_id == (kept.id if mode != STATELESS else None)  # the revision without the field
    assert kept.status == "approved" and kept.used_at is not None
    assert kept.evidence is not None and kept.evidence.method == "approval page"
    assert person.press(asked.url, "approve").status_code == 404  # used: a second press does nothing
    assert ledger(card) == (Decimal("25.00"), 1)


def test_the_person_may_decide_after_the_client_opened_the_page(
        make_toolkit: MakeToolkit, card: BillingClient, url: str, clock: Clock, person: Person) -> None:
    client = Client()  # accept at once: the page is open, the person reads it while the server polls
    clock.actions.append(lambda: person.press(client.urls[0], "approve"))
    [(content, _)] = memory_calls(server(make_toolkit, url, clock), [fund()], client)
    assert content["ok"] is True, content
    assert ledger(card) == (Decimal("25.00"), 1) and clock.slept == 5  # one poll


@pytest.mark.parametrize("mode", MODES)
def test_declined_on_the_page_moves_nothing(make_toolkit: MakeToolkit, card: BillingClient, url: str, clock: Clock,
                                            person: Person, mode: str) -> None:
    client = Client(then=lambda params: person.press(params.url, "decline"))
    [(content, is_error)] = memory_calls(server(make_toolkit, url, clock), [fund()], client, mode)
    assert is_error and content["error"] == "rejected", content
    assert ledger(card) == (Decimal("0.00"), 0)
    assert record(url, client.urls[0]).status == "declined"


@pytest.mark.parametrize("mode", MODES)
def test_declined_in_the_client_closes_the_link(make_toolkit: MakeToolkit, card: BillingClient, url: str,
                                                clock: Clock, person: Person, mode: str) -> None:
    client = Client(action="decline")
    [(content, is_error)] = memory_calls(server(make_toolkit, url, clock), [fund()], client, mode)
    assert is_error and content["error"] == "rejected", content
    assert person.press(client.urls[0], "approve").status_code == 404  # the link it did not open is dead
    assert ledger(card) == (Decimal("0.00"), 0)


@pytest.mark.parametrize("mode", MODES)
def test_an_accept_with_nobody_deciding_moves_nothing(make_toolkit: MakeToolkit, card: BillingClient, url: str,
                                                      clock: Clock, mode: str) -> None:
    client = Client()  # a client (or a model driving one) that says "accept" and nothing else happens
    [(content, is_error)] = memory_calls(server(make_toolkit, url, clock, wait=30), [fund()], client, mode)
    assert is_error and content["error"] != "rejected", content
    assert "could not be asked" in content["message"] and "within 30 s" in content["message"]
    assert clock.slept == 30 and ledger(card) == (Decimal("0.00"), 0)
    kept = record(url, client.urls[0])
    assert kept.status == "pending" and kept.used_at is None


@pytest.mark.parametrize("mode", MODES)
def test_an_expired_link_moves_nothing(make_toolkit: MakeToolkit, card: BillingClient, url: str, clock: Clock,
                                       person: Person, mode: str) -> None:
    pressed: list[int] = []

    def late(params: Any) -> None:
        clock.now += 61  # the person opens it after the minute it was valid for
        pressed.append(person.press(params.url, "approve").status_code)

    client = Client(then=late)
    [(content, is_error)] = memory_calls(server(make_toolkit, url, clock, ttl=60, wait=60), [fund()], client, mode)
    assert pressed == [404] and is_error and "expired" in content["message"], content
    assert ledger(card) == (Decimal("0.00"), 0)


@pytest.mark.parametrize("mode", MODES)
def test_a_url_from_one_charge_approves_nothing_else(make_toolkit: MakeToolkit, card: BillingClient, url: str,
                                                     clock: Clock, person: Person, mode: str) -> None:
    client = Client()
    mcp = server(make_toolkit, url, clock, wait=20)

    def approve_the_first(params: Any) -> None:
        if len(client.asked) == 2:  # the second charge's page is shown: the person approves the first's
            assert person.press(client.urls[0], "approve").status_code == 200

    client.then = approve_the_first
    results = memory_calls(mcp, [fund(25), fund(40)], client, mode)
    assert [content["ok"] for content, _ in results] == [False, False], results
    assert "$25.00" in client.asked[0].message and "$40.00" in client.asked[1].message
    assert ledger(card) == (Decimal("0.00"), 0)
    first, second = (record(url, page) for page in client.urls)
    assert first.status == "approved" and first.used_at is None  # a yes nobody spent
    assert second.status == "pending"
    # The yes on the $25 page moved nothing for the $40 charge. The $25 charge asked again (a new call) runs on
    # the yes its own page recorded, without a second link, once; the $40 still waits for its own page.
    asked = Client()
    [(again, _)] = memory_calls(mcp, [fund(25)], asked, mode)
    assert again["ok"] is True and ledger(card) == (Decimal("25.00"), 1) and asked.asked == [], again
    [(third, _)] = memory_calls(mcp, [fund(25)], Client(), mode)
    assert third["ok"] is False and ledger(card) == (Decimal("25.00"), 1)  # the yes is spent: a new link is asked
    assert record(url, client.urls[1]).status == "pending"


def test_the_round_state_cannot_carry_an_approval_to_another_request(
        make_toolkit: MakeToolkit, card: BillingClient, url: str, clock: Clock, person: Person) -> None:
    """2026-07-28: the sealed state names the request it asked about; its answer is read for that one only."""
    import asyncio

    from mcp import Client as McpClient

    mcp = server(make_toolkit, url, clock, wait=20)

    async def steps() -> tuple[Any, Any]:
        async with McpClient(mcp.server, mode=STATELESS, elicitation_callback=never) as session:
            first = await session.session.call_tool(*fund(25), allow_input_required=True)
            assert isinstance(first, types.InputRequiredResult), first
            (asked,) = first.input_requests.values()  # type: ignore[union-attr]
            assert isinstance(asked.params, types.ElicitRequestURLParams)
            person.press(asked.params.url, "approve")
            answer = types.ElicitResult(action="accept")
            try:  # the $25.00 yes presented for $40.00: the SDK's boundary refuses the state (other arguments)
                other = await session.session.call_tool(*fund(40), input_responses={"approval": answer},
                                                        request_state=first.request_state, allow_input_required=True)
                assert isinstance(other, types.CallToolResult) and other.is_error, other
            except MCPError:
                pass
            assert ledger(card) == (Decimal("0.00"), 0)
            used = await session.session.call_tool(*fund(25), input_responses={"approval": answer},
                                                   request_state=first.request_state, allow_input_required=True)
            replayed = await session.session.call_tool(*fund(25), input_responses={"approval": answer},
                                                       request_state=first.request_state, allow_input_required=True)
            return used, replayed

    used, replayed = asyncio.run(steps())
    assert isinstance(used, types.CallToolResult) and not used.is_error, used
    assert isinstance(replayed, types.CallToolResult) and replayed.is_error  # the state is single-use
    assert ledger(card) == (Decimal("25.00"), 1)


def test_a_client_without_url_elicitation_gets_the_link_through_the_fallback_notifier(
        make_toolkit: MakeToolkit, card: BillingClient, url: str, clock: Clock, person: Person) -> None:
    texts: list[ApprovalLink] = []
    clock.actions.append(lambda: person.press(texts[0], "approve"))
    mcp = server(make_toolkit, url, clock, fallback=texts.append)
    [(content, is_error)] = memory_calls(mcp, [fund()], None)  # the client declared no elicitation at all
    assert (is_error, content["ok"], content["approval_delivery"]) == (False, True, BY_FALLBACK), content
    assert len(texts) == 1 and ledger(card) == (Decimal("25.00"), 1)


@pytest.mark.parametrize("mode", MODES)
def test_a_client_without_url_elicitation_and_no_fallback_is_refused_with_the_fix(
        make_toolkit: MakeToolkit, card: BillingClient, url: str, clock: Clock, mode: str) -> None:
    [(content, is_error)] = memory_calls(server(make_toolkit, url, clock), [fund()], None, mode)
    assert is_error and "declared no URL elicitation" in content["message"] and "fallback" in content["message"]
    assert clock.slept == 0 and ledger(card) == (Decimal("0.00"), 0) and requests_in(url).count() == 0


def test_agent_billing_mcp_http_serves_the_page_and_the_person_approves_in_a_browser_request(
        tmp_path: Path) -> None:
    """``agent-billing mcp --http --approval out-of-band``: the URL the client gets is this server's own page,
    reachable without the bearer token (a browser has none); the MCP endpoint still needs it."""
    import asyncio

    import httpx
    from tests.mcp.mcp_helpers import http_session, server_env, start_http_server, stop

    from agent_billing.mcp import http_guard
    from agent_billing.sandbox.server import SandboxServer

    account, token = "sk_mcp_oob", "configured-" + "k3y" * 12
    with SandboxServer(tokens=(account,), rate_limit=False) as sandbox:
        with BillingClient(base_url=sandbox.base_url, token=account) as client:
            client.add_payment_method("pm_card_visa", make_default=True)
        env = server_env(sandbox.base_url, account, tmp_path, **{http_guard.TOKEN_VARIABLE: token})
        process, endpoint = start_http_server(["--approval", "out-of-band", "--approval-wait", "30"], env,
                                              tmp_path / "stderr.txt")
        pages: list[str] = []

        def browser(page: str) -> None:  # the person's browser: no bearer token, the page's own form
            shown = httpx.get(page, timeout=30)
            form = shown.text.split('name="form" value="', 1)[1].split('"', 1)[0]
            decided = httpx.post(page, data={"decision": "approve", "form": form}, timeout=30)
            assert (shown.status_code, decided.status_code) == (200, 200) and "Approved" in decided.text

        async def elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
            assert isinstance(params, types.ElicitRequestURLParams)
            pages.append(params.url)
            await asyncio.to_thread(browser, params.url)
            return types.ElicitResult(action="accept")

        async def run() -> dict[str, Any]:
            async with http_session(endpoint, token, elicit=elicit) as session:
                content, _ = content_of(await session.call_tool(*fund(25)))
                return content

        try:
            content = asyncio.run(run())
            assert content["ok"] is True, content
            assert pages[0].startswith(endpoint.removesuffix("/mcp") + "/approvals/")
            assert httpx.get(pages[0], timeout=30).status_code == 404  # used
            assert httpx.post(endpoint, json={}, timeout=30).status_code == 401  # the MCP endpoint is still guarded
        finally:
            stop(process)
        with BillingClient(base_url=sandbox.base_url, token=account) as client:
            assert ledger(client) == (Decimal("25.00"), 1)


def test_the_wait_on_the_page_reports_progress_to_a_client_that_asked(
        make_toolkit: MakeToolkit, card: BillingClient, url: str, clock: Clock, person: Person) -> None:
    """Clients that reset their request timeout on progress keep the call open while the person decides."""
    import asyncio

    from mcp import Client as McpClient

    async def asleep(seconds: float) -> None:  # fake time, but the loop runs: progress goes out meanwhile
        clock.sleep(seconds)
        for _ in range(20):
            await asyncio.sleep(0)

    mcp = server(make_toolkit, url, clock, wait=60, asleep=asleep)
    pages: list[str] = []
    seen: list[tuple[float, str | None]] = []

    async def opened(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        assert isinstance(params, types.ElicitRequestURLParams)
        pages.append(params.url)
        return types.ElicitResult(action="accept")

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, message))
        if len(seen) == 2:  # the person decides while the server polls
            await asyncio.to_thread(person.press, pages[0], "approve")

    async def run() -> dict[str, Any]:
        async with McpClient(mcp.server, mode=LEGACY, elicitation_callback=opened) as client:
            return content_of(await client.call_tool(*fund(), progress_callback=progress))[0]

    content = asyncio.run(run())
    assert content["ok"] is True, (content, seen)
    assert len(seen) >= 2 and [v for v, _ in seen] == sorted({v for v, _ in seen})
    assert all(m is not None and m.startswith("waiting for the person to approve or decline") for _, m in seen)
    assert ledger(card) == (Decimal("25.00"), 1)


@pytest.mark.parametrize("mode", MODES)
def test_the_same_charge_asked_again_waits_on_the_page_already_shown(
        make_toolkit: MakeToolkit, card: BillingClient, url: str, clock: Clock, person: Person, mode: str) -> None:
    """After a timeout, a retry of the same charge shows no second link: it waits for the page the person has."""
    client = Client()
    mcp = server(make_toolkit, url, clock, wait=20)
    [(first, _)] = memory_calls(mcp, [fund()], client, mode)
    assert first["ok"] is False and len(client.urls) == 1  # opened, nobody decided within the wait
    clock.actions.append(lambda: person.press(client.urls[0], "approve"))  # decided while the retry waits
    [(again, is_error)] = memory_calls(mcp, [fund()], client, mode)
    assert (is_error, again["ok"], again["approval_delivery"]) == (False, True, ALREADY_SENT), again
    assert len(client.asked) == 1 and ledger(card) == (Decimal("25.00"), 1)


@pytest.mark.parametrize("elicitation", [True, False], ids=["url-elicitation", "no-elicitation"])
def test_agent_billing_mcp_sandbox_over_stdio_uses_the_sandboxs_page_or_the_console_fallback(
        tmp_path: Path, elicitation: bool) -> None:
    """``agent-billing mcp --sandbox --approval out-of-band`` (stdio): the link is the sandbox's page; a client
    without elicitation gets the result saying the link went out of band (here: the server's stderr)."""
    import threading
    import time

    import httpx
    from tests.mcp.mcp_helpers import StdioSession, server_env

    def approve(page: str) -> None:  # the person's browser
        shown = httpx.get(page, timeout=30)
        form = shown.text.split('name="form" value="', 1)[1].split('"', 1)[0]
        assert httpx.post(page, data={"decision": "approve", "form": form}, timeout=30).status_code == 200

    def opened_and_approved(params: types.ElicitRequestParams) -> types.ElicitResult:
        assert isinstance(params, types.ElicitRequestURLParams)
        approve(params.url)
        return types.ElicitResult(action="accept")

    errlog = tmp_path / "stderr.txt"
    session = StdioSession(["--sandbox", "--approval", "out-of-band", "--approval-wait", "60"],
                           server_env("", "", tmp_path), errlog, elicitation=elicitation).start()
    try:
        session.on_elicit = opened_and_approved
        results: list[tuple[dict[str, Any], bool]] = []
        calling = threading.Thread(target=lambda: results.append(
            session.call("wallet", action="fund", amount=25, payment_method_id="pm_card_visa")))
        calling.start()
        if not elicitation:  # the person reads the link wherever the fallback sent it
            deadline = time.monotonic() + 60
            while not (found := re.findall(r"Open (http://\S+/approvals/\S+) ", errlog.read_text())):
                assert time.monotonic() < deadline, errlog.read_text()
                time.sleep(0.05)
            approve(found[0])
        calling.join(60)
        [(content, is_error)] = results
        assert (is_error, content["ok"]) == (False, True), content
        assert content["approval_delivery"] == (BY_CLIENT if elicitation else BY_FALLBACK)
        if elicitation:
            (asked,) = session.elicitations
            assert isinstance(asked, types.ElicitRequestURLParams) and "/approvals/" in asked.url
        balance, _ = session.call("wallet", action="balance")
        assert balance["result"]["balance"] == "25.00"
    finally:
        session.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_plain_out_of_band_approver_keeps_the_link_away_from_the_mcp_client(
        make_toolkit: MakeToolkit, card: BillingClient, url: str, clock: Clock, person: Person, mode: str) -> None:
    """For a client not trusted with the link (docs/out-of-band-hosts.md): the notifier alone reaches the person."""
    from agent_billing.guardrails.out_of_band import OutOfBandApprover

    texts: list[ApprovalLink] = []
    clock.actions.append(lambda: person.press(texts[0], "approve"))
    approver = OutOfBandApprover(notifier=texts.append, base_url=BASE, wait=60, clock=clock, asleep=clock.asleep)
    client = Client()
    [(content, _)] = memory_calls(BillingMCPServer(make_toolkit(approval=approver, store=url), state_key=KEY),
                                  [fund()], client, mode)
    assert content["ok"] is True and "approval_delivery" not in content, content
    assert client.asked == [] and len(texts) == 1 and ledger(card) == (Decimal("25.00"), 1)


def test_a_charge_that_changed_between_the_rounds_is_not_covered_by_the_page_yes(
        make_toolkit: MakeToolkit, card: BillingClient, url: str, clock: Clock, person: Person) -> None:
    """2026-07-28: same arguments, but the default card changed after the person approved: another intent digest,
    so the answered round moves nothing (the yes was for the Visa) and asks anew, about the Mastercard."""
    import asyncio

    from mcp import Client as McpClient

    mcp = server(make_toolkit, url, clock, wait=20)

    async def steps() -> Any:
        async with McpClient(mcp.server, mode=STATELESS, elicitation_callback=never) as session:
            first = await session.session.call_tool(*fund(25), allow_input_required=True)
            assert isinstance(first, types.InputRequiredResult), first
            (asked,) = first.input_requests.values()  # type: ignore[union-attr]
            assert isinstance(asked.params, types.ElicitRequestURLParams)
            assert "Visa ending 4242" in asked.params.message
            person.press(asked.params.url, "approve")
            await asyncio.to_thread(card.add_payment_method, "pm_card_mastercard", make_default=True)
            return await session.session.call_tool(*fund(25), input_responses={"approval": types.ElicitResult(
                action="accept")}, request_state=first.request_state, allow_input_required=True)

    answered = asyncio.run(steps())
    assert isinstance(answered, types.InputRequiredResult), answered
    (again,) = answered.input_requests.values()  # type: ignore[union-attr]
    assert isinstance(again.params, types.ElicitRequestURLParams) and "Mastercard" in again.params.message
    assert ledger(card) == (Decimal("0.00"), 0)


def test_remote_http_with_out_of_band_needs_the_deployers_page(capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond loopback this server's own /approvals is not where a person's browser reaches: refused at start."""
    from agent_billing.mcp.command import main

    monkeypatch.delenv("AGENT_BILLING_APPROVAL_BASE_URL", raising=False)
    code = main(["--http", "--port", "0", "--sandbox", "--approval", "out-of-band", "--oauth-issuer",
                 "https://issuer.example", "--oauth-resource", "https://mcp.example/mcp", "--oauth-jwks-url",
                 "https://issuer.example/jwks"])
    assert code == 2 and "needs --approval-base-url" in capsys.readouterr().err
    monkeypatch.setenv("AGENT_BILLING_APPROVAL", "sideways")
    assert main(["--sandbox"]) == 2 and "AGENT_BILLING_APPROVAL must be one of" in capsys.readouterr().err


def test_a_session_client_is_told_when_the_page_has_been_used(
        make_toolkit: MakeToolkit, card: BillingClient, url: str, clock: Clock, person: Person) -> None:
    """2025-11-25: ``notifications/elicitation/complete`` for the elicitation id once the page recorded a decision."""
    import asyncio

    from mcp import Client as McpClient

    mcp = server(make_toolkit, url, clock)
    asked: list[types.ElicitRequestURLParams] = []
    heard: list[Any] = []

    async def opened(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        assert isinstance(params, types.ElicitRequestURLParams)
        asked.append(params)
        await asyncio.to_thread(person.press, params.url, "approve")
        return types.ElicitResult(action="accept")

    async def listen(message: Any) -> None:
        heard.append(message)

    async def run() -> dict[str, Any]:
        async with McpClient(mcp.server, mode=LEGACY, elicitation_callback=opened, message_handler=listen) as client:
            content = content_of(await client.call_tool(*fund()))[0]
            for _ in range(50):  # the notification may trail the result by a turn of the loop
                if any("elicitation/complete" in repr(m) or "ElicitComplete" in repr(m) for m in heard):
                    break
                await asyncio.sleep(0)
            return content

    content = asyncio.run(run())
    assert content["ok"] is True, content
    (done,) = [m for m in heard if "ElicitComplete" in repr(m) or "elicitation/complete" in repr(m)]
    assert asked[0].elicitation_id is not None and asked[0].elicitation_id in repr(done)


def test_the_toolkit_binds_a_copy_of_the_same_class_so_the_url_elicitation_survives_binding() -> None:
    """A bound copy of a subclass must stay the subclass (a plain OutOfBandApprover copy would deliver the link
    through the notifier instead of the client's URL elicitation)."""
    from agent_billing.guardrails.approval_requests import ApprovalRequests

    approver = UrlElicitationApprover(base_url="https://x/approvals")
    store = ApprovalRequests.memory()
    bound = approver.bound(store, "acct")
    assert type(bound) is UrlElicitationApprover and bound is not approver
    assert (bound.store, bound.account) == (store, "acct") and approver.store is None
    assert bound.bound(ApprovalRequests.memory(), "other") is bound  # a store given already wins
