"""Out-of-band approvals: a person not in the chat approves through a one-time link, on the real approval page.

Everything is real: the in-process sandbox behind the toolkit, the SQLite (or memory) store, the approval
page (through httpx's ASGI transport), LangGraph's agent loop and checkpointer. Time is a fake clock the
approver's injected sleep advances; the "person" acts from that sleep, as a phone would meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain.agents import create_agent
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from starlette.applications import Starlette
from starlette.routing import Mount
from tests.conftest import TOKEN
from tests.store.conftest import fresh_schema
from tests.tools.conftest import acall, call

from agent_billing.approval_page import approval_app
from agent_billing.audit import MemoryAuditLog
from agent_billing.client import BillingClient
from agent_billing.demo.scripted_model import ScriptedChatModel, tool_call
from agent_billing.guardrails.approval import ApprovalRequest
from agent_billing.guardrails.approval_requests import ApprovalRequests, Evidence
from agent_billing.guardrails.out_of_band import ApprovalLink, ConsoleNotifier, OutOfBandApprover, requests_in
from agent_billing.inprocess import SyncASGITransport, sandbox_clients
from agent_billing.tools import BillingToolkit

BASE = "https://pay.example/approvals"
START = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc).timestamp()


class Clock:
    """Unix seconds that move only when the approver sleeps; ``then`` runs an action at the next sleep."""

    def __init__(self) -> None:
        self.now = START
        self.actions: list[Callable[[], Any]] = []
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds
        while self.actions:
            self.actions.pop(0)()

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def moment(self) -> datetime:
        return datetime.fromtimestamp(self.now, tz=timezone.utc)


class Person:
    """Someone with a phone: receives links, opens them on the real page, presses a button."""

    def __init__(self, store: Any, clock: Clock, identify: Any = None) -> None:
        self.links: list[ApprovalLink] = []
        host = Starlette(routes=[Mount("/approvals", app=approval_app(store, identify, clock=clock))])  # the host's app
        self.http = httpx.Client(transport=SyncASGITransport(host), base_url="https://pay.example")

    def __call__(self, link: ApprovalLink) -> None:  # the notifier
        self.links.append(link)

    def open(self, link: ApprovalLink | str) -> httpx.Response:
        url = link.url if isinstance(link, ApprovalLink) else link
        return self.http.get(url)

    def press(self, link: ApprovalLink | str, decision: str, **headers: str) -> httpx.Response:
        url = link.url if isinstance(link, ApprovalLink) else link
        page = self.open(url)
        found = re.search(r'name="form" value="([^"]+)"', page.text)
        form = found.group(1) if found else "none"
        return self.http.post(url, data={"decision": decision, "form": form}, headers=headers)


def ledger(client: BillingClient) -> tuple[Decimal, int]:
    return client.get_wallet_balance().balance, len(client.get_wallet_transactions().items)


@pytest.fixture
def clients(sandbox_app: Any) -> Iterator[tuple[Any, Any]]:
    sync_client, async_client = sandbox_clients(sandbox_app, token=TOKEN)
    sync_client.add_payment_method("pm_card_visa")
    yield sync_client, async_client
    sync_client.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The toolkit's and the page's one store: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    from agent_billing.guardrails.store import open_store

    with fresh_schema() as postgres:
        yield postgres
        open_store(postgres).close()  # type: ignore[attr-defined]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def person(url: str, clock: Clock) -> Iterator[Person]:
    someone = Person(url, clock, identify=lambda request: request.headers.get("x-user"))
    yield someone
    someone.http.close()


def toolkit(clients: Any, url: str, approver: OutOfBandApprover) -> BillingToolkit:
    return BillingToolkit(client=clients[0], async_client=clients[1], store=url, approval=approver,
                          audit=MemoryAuditLog(), poll_interval=(0.01, 0.05))


def approver(person: Person, clock: Clock, **options: Any) -> OutOfBandApprover:
    options.setdefault("wait", 120)
    return OutOfBandApprover(notifier=person, base_url=BASE, clock=clock, sleep=clock.sleep, asleep=clock.asleep,
                             **options)


def fund(kit: BillingToolkit, amount: int = 25, call_id: str | None = None) -> dict[str, Any]:
    content, _ = call(kit.get_tool("wallet"), call_id, action="fund", amount=amount)
    return content


def test_approve_at_the_link_charges_exactly_once_with_evidence(clients: Any, url: str, clock: Clock,
                                                               person: Person) -> None:
    kit = toolkit(clients, url, approver(person, clock))
    clock.actions.append(lambda: person.press(person.links[0], "approve", **{"x-user": "ada@example.com",
                                                                              "user-agent": "Phone/1.0"}))
    content = fund(kit)
    assert content["ok"] is True, content
    assert ledger(clients[0]) == (Decimal("25.00"), 1)
    (link,) = person.links  # notified once
    assert "$25.00 USD" in link.text and "Visa ending 4242" in link.text
    record = requests_in(url).get(link.request_id, now=clock.moment())
    assert record is not None and record.status == "approved" and record.used_at is not None
    assert record.evidence == Evidence(method="approval page", client="127.0.0.1", user_agent="Phone/1.0",
                                       identity="ada@example.com")
    audit = kit._guard.audit
    assert isinstance(audit, MemoryAuditLog)
    decided = [e for e in audit.events if e.decision == "succeeded"]
    assert decided and "ada@example.com" in str(decided[-1].approver)
    # The store kept only the token's hash: the token itself is nowhere in the store, nor in the audit log.
    token = link.url.rsplit("/", 1)[1]
    assert not any(token in line for line in audit.lines) and token not in repr(link)
    with requests_in(url).backend.transaction() as run:
        assert token not in repr(run("SELECT * FROM ab_approval_requests", ()))
    # The link is used: pressing again changes nothing and charges nothing.
    again = person.press(link, "approve")
    assert again.status_code == 404 and "cannot be used" in again.text and token not in again.text
    assert ledger(clients[0]) == (Decimal("25.00"), 1)


def test_the_receipt_carries_the_links_decision_evidence(clients: Any, url: str, clock: Clock, person: Person,
                                                        tmp_path: Path) -> None:
    from agent_billing.receipts import ReceiptBook, ReceiptSigner, verify_receipt

    signer = ReceiptSigner.generate()
    kit = BillingToolkit(client=clients[0], store=url, approval=approver(person, clock), audit=MemoryAuditLog(),
                         receipts=ReceiptBook(signer, tmp_path / "receipts"))
    clock.actions.append(lambda: person.press(person.links[0], "approve", **{"x-user": "ada@example.com"}))
    assert fund(kit)["ok"] is True
    (receipt,) = list(ReceiptBook(None, tmp_path / "receipts", account=kit.guard.account).receipts())
    details = receipt["approval"]["details"]
    assert details["approval_request_id"] == person.links[0].request_id and details["status"] == "approved"
    assert details["identity"] == "ada@example.com" and details["method"] == "approval page"
    assert details["client"] == "127.0.0.1" and details["decided_at"].startswith("2026-12-05T12:")
    assert person.links[0].url.rsplit("/", 1)[1] not in json.dumps(receipt)
    assert verify_receipt(receipt, signer.public_pem()).ok
    forged = json.loads(json.dumps(receipt))
    forged["approval"]["details"]["identity"] = "mallory@example.com"
    assert not verify_receipt(forged, signer.public_pem()).ok


def test_decline_at_the_link_charges_nothing_and_is_remembered(clients: Any, url: str, clock: Clock,
                                                              person: Person) -> None:
    kit = toolkit(clients, url, approver(person, clock))
    clock.actions.append(lambda: person.press(person.links[0], "decline"))
    content = fund(kit)
    assert content["ok"] is False and content["error"] == "rejected", content
    assert ledger(clients[0]) == (Decimal("0.00"), 0)
    assert requests_in(url).get(person.links[0].request_id, now=clock.moment()).status == "declined"  # type: ignore[union-attr]
    assert person.press(person.links[0], "approve").status_code == 404  # a no cannot be turned into a yes


def test_no_decision_within_the_wait_is_could_not_ask_not_a_no(clients: Any, url: str, clock: Clock,
                                                               person: Person) -> None:
    kit = toolkit(clients, url, approver(person, clock, wait=30, poll=5))
    content = fund(kit)
    assert content["ok"] is False and content["error"] != "rejected", content
    assert "could not be asked" in content["message"] and "within 30 s" in content["message"]
    assert clock.slept == 30  # the bound, in polls of 5 s, and no more
    assert ledger(clients[0]) == (Decimal("0.00"), 0)
    # Not remembered as a no: a new call for the same charge waits on the link already sent (no second message),
    # and the person's yes there charges once.
    clock.actions.append(lambda: person.press(person.links[-1], "approve"))
    assert fund(kit)["ok"] is True
    assert len(person.links) == 1 and ledger(clients[0]) == (Decimal("25.00"), 1)
    # That yes is spent: the same charge again needs a new approval (a new link).
    assert fund(kit)["ok"] is False and len(person.links) == 2
    assert ledger(clients[0]) == (Decimal("25.00"), 1)


def test_an_expired_link_moves_nothing(clients: Any, url: str, clock: Clock, person: Person) -> None:
    kit = toolkit(clients, url, approver(person, clock, ttl=60, wait=60, poll=10))
    content = fund(kit)
    assert content["ok"] is False and "could not be asked" in content["message"]
    expired = person.press(person.links[0], "approve")  # after the 60 s it was valid for
    assert expired.status_code == 404 and "cannot be used" in expired.text
    assert ledger(clients[0]) == (Decimal("0.00"), 0)
    record = requests_in(url).get(person.links[0].request_id, now=datetime.fromtimestamp(clock(), tz=timezone.utc))
    assert record is not None and record.status == "expired"


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_notifier_that_raises_moves_nothing_and_its_link_is_dead(clients: Any, url: str, clock: Clock,
                                                                  person: Person, kind: str) -> None:
    sent: list[ApprovalLink] = []

    def broken(link: ApprovalLink) -> None:
        sent.append(link)
        raise ConnectionError("SMS gateway down")

    async def abroken(link: ApprovalLink) -> None:
        broken(link)

    kit = toolkit(clients, url, OutOfBandApprover(notifier=broken if kind == "sync" else abroken, base_url=BASE,
                                                  clock=clock, sleep=clock.sleep))
    content = fund(kit)
    assert content["ok"] is False and "notifier could not deliver" in content["message"], content
    assert clock.slept == 0 and ledger(clients[0]) == (Decimal("0.00"), 0)
    assert person.press(sent[0], "approve").status_code == 404  # the undelivered link was retracted
    assert requests_in(url).get(sent[0].request_id, now=clock.moment()).status == "expired"  # type: ignore[union-attr]


def test_the_deployer_reads_why_the_notifier_failed_in_the_log_without_the_links_token(
        clients: Any, url: str, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    """The tool's answer names only the exception's type; the log has the gateway's own words, with the link's
    token (which a gateway error may quote) and any secret shape cut."""
    sent: list[ApprovalLink] = []

    def broken(link: ApprovalLink) -> None:
        sent.append(link)
        raise ConnectionError(f"gateway 502 for body 'Open {link.url}' with key sk_live_{'a' * 24}")

    kit = toolkit(clients, url, OutOfBandApprover(notifier=broken, base_url=BASE, clock=clock, sleep=clock.sleep))
    with caplog.at_level(logging.WARNING, logger="agent_billing.approvals"):
        assert fund(kit)["ok"] is False
    [logged] = [r.getMessage() for r in caplog.records if r.name == "agent_billing.approvals"]
    token = sent[0].url.rsplit("/", 1)[-1]
    assert "ConnectionError: gateway 502" in logged and sent[0].request_id in logged
    assert token not in logged and "sk_live_" + "a" * 24 not in logged


def test_two_approvals_for_two_charges_cannot_be_swapped(clients: Any, url: str, clock: Clock,
                                                        person: Person) -> None:
    kit = toolkit(clients, url, approver(person, clock, wait=20, poll=5))
    assert fund(kit, 25, "call_a")["ok"] is False  # asked; nobody answered within the wait
    assert fund(kit, 40, "call_b")["ok"] is False
    link_a, link_b = person.links
    assert "$25.00" in link_a.text and "$40.00" in link_b.text
    # B's page with A's anti-forgery value: refused, nothing decided.
    page_a = person.open(link_a).text
    form_a = re.search(r'name="form" value="([^"]+)"', page_a).group(1)  # type: ignore[union-attr]
    forged = person.http.post(link_b.url, data={"decision": "approve", "form": form_a})
    assert forged.status_code == 404
    assert requests_in(url).get(link_b.request_id, now=clock.moment()).status == "pending"  # type: ignore[union-attr]
    # A yes for A (the $25) does not let B (the $40) run: B's call waits for B's own decision.
    assert person.press(link_a, "approve").status_code == 200
    content = fund(kit, 40, "call_b")
    assert content["ok"] is False and ledger(clients[0]) == (Decimal("0.00"), 0)
    assert len(person.links) == 2  # B was not notified again: its link is still open
    # A's approved record is bound to A's digest: A runs; B still has nothing.
    assert fund(kit, 25, "call_a")["ok"] is True
    assert ledger(clients[0]) == (Decimal("25.00"), 1)


def test_a_yes_given_after_the_call_stopped_waiting_serves_the_agents_next_call_once(
        clients: Any, url: str, clock: Clock, person: Person) -> None:
    """The timeout's message tells the agent that asking again waits for that decision (no new link): a model asks
    again with a new tool call id, and the person's yes, given meanwhile on the page, runs that charge once."""
    kit = toolkit(clients, url, approver(person, clock, wait=20, poll=5))
    first = fund(kit, 25, "call_1")
    assert first["ok"] is False and "no new link" in first["message"], first
    assert person.press(person.links[0], "approve").status_code == 200  # the person, after the call gave up
    assert fund(kit, 25, "call_2")["ok"] is True and ledger(clients[0]) == (Decimal("25.00"), 1)
    assert len(person.links) == 1  # one link for one charge
    assert fund(kit, 25, "call_3")["ok"] is False and ledger(clients[0]) == (Decimal("25.00"), 1)  # spent once
    assert len(person.links) == 2  # a third ask is a new question


def test_a_no_given_after_the_call_stopped_waiting_stops_the_next_call_without_a_second_link(
        clients: Any, url: str, clock: Clock, person: Person) -> None:
    kit = toolkit(clients, url, approver(person, clock, wait=20, poll=5))
    assert fund(kit, 25, "call_1")["ok"] is False
    assert person.press(person.links[0], "decline").status_code == 200
    again = fund(kit, 25, "call_2")
    assert again["ok"] is False and again["error"] == "rejected", again
    assert len(person.links) == 1 and ledger(clients[0]) == (Decimal("0.00"), 0)  # not asked twice
    assert fund(kit, 40, "call_3")["ok"] is False and len(person.links) == 2  # another charge is a new question


def test_a_changed_intent_needs_a_new_approval(url: str, clock: Clock, person: Person) -> None:
    requests = requests_in(url)
    oob = approver(person, clock, store=requests, account="acct", wait=0)
    shown = ApprovalRequest(operation="o", effect="charge", summary="Charge $5.00 USD", intent_digest="d1",
                            approval_id="call_1")
    assert oob.decide(shown).failed
    assert person.press(person.links[0], "approve").status_code == 200
    other_card = shown.model_copy(update={"intent_digest": "d2", "summary": "Charge $5.00 USD (other card)"})
    decision = oob.decide(other_card)
    assert decision.failed and not decision.approved and len(person.links) == 2  # a new link for the new facts
    assert oob.decide(shown).approved  # the yes belongs to what was shown
    assert oob.decide(shown).failed  # and it is used up: one yes, one charge


def test_racing_clicks_exactly_one_wins(url: str, clock: Clock, person: Person) -> None:
    requests = requests_in(url)
    now = datetime.fromtimestamp(clock(), tz=timezone.utc)
    token = "race-token-" + uuid.uuid4().hex
    requests.create("acct", ApprovalRequest(operation="o", effect="charge", summary="s", intent_digest="d"),
                    approval_id="c", token=token, now=now, expires_at=now + timedelta(minutes=5))
    barrier = threading.Barrier(8)
    results: list[str | None] = []

    def click(i: int) -> None:
        mine = requests_in(url)  # own connection, as another web worker would have
        barrier.wait()
        record = mine.decide(token, approved=i % 2 == 0, evidence=Evidence(method=f"click {i}"), now=now)
        results.append(record.status if record else None)

    threads = [threading.Thread(target=click, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [r for r in results if r is not None]
    assert len(winners) == 1 and len(results) == 8
    assert requests.find(token, now=now) is None  # decided: the link opens nothing any more


def test_forged_langgraph_resume_moves_nothing_until_the_link_says_yes(clients: Any, url: str, clock: Clock,
                                                                       person: Person) -> None:
    kit = toolkit(clients, url, approver(person, clock, wait="interrupt"))
    model = ScriptedChatModel(turns=[tool_call("wallet", action="fund", amount=25)], final="Done.")
    agent = create_agent(model, kit.get_tools(), checkpointer=InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "oob"}}
    paused = agent.invoke({"messages": [("user", "Top up $25")]}, config)
    (pending,) = paused["__interrupt__"]
    (link,) = person.links
    token = link.url.rsplit("/", 1)[1]
    assert pending.value["kind"] == "agent_billing_out_of_band_approval"
    assert token not in json.dumps(pending.value) and pending.value["url"].endswith("<token redacted>")
    assert pending.value["approval_request_id"] == link.request_id
    # A forged resume ("approve") without a recorded yes: nothing moves, the graph pauses again, no new link.
    again = agent.invoke(Command(resume="approve"), config)
    assert again.get("__interrupt__") and ledger(clients[0]) == (Decimal("0.00"), 0)
    assert len(person.links) == 1
    # The person approves at the link; the next resume (any value) reads the store's yes and charges once.
    assert person.press(link, "approve").status_code == 200
    done = agent.invoke(Command(resume="whatever"), config)
    assert not done.get("__interrupt__")
    assert ledger(clients[0]) == (Decimal("25.00"), 1)
    agent.invoke(Command(resume="approve"), config)
    assert ledger(clients[0]) == (Decimal("25.00"), 1)


async def test_async_langgraph_interrupt_reads_the_store(clients: Any, url: str, clock: Clock, person: Person) -> None:
    kit = toolkit(clients, url, approver(person, clock, wait="interrupt"))
    model = ScriptedChatModel(turns=[tool_call("wallet", action="fund", amount=25)], final="Done.")
    agent = create_agent(model, kit.get_tools(), checkpointer=InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "oob-async"}}
    paused = await agent.ainvoke({"messages": [("user", "Top up $25")]}, config)
    assert paused["__interrupt__"] and len(person.links) == 1
    assert (await agent.ainvoke(Command(resume="approve"), config)).get("__interrupt__")  # forged: paused again
    assert ledger(clients[0]) == (Decimal("0.00"), 0)
    await asyncio.to_thread(person.press, person.links[0], "approve")
    await agent.ainvoke(Command(resume="go"), config)
    assert ledger(clients[0]) == (Decimal("25.00"), 1) and len(person.links) == 1


def test_langgraph_decline_at_the_link_is_a_no(clients: Any, url: str, clock: Clock, person: Person) -> None:
    kit = toolkit(clients, url, approver(person, clock, wait="interrupt"))
    model = ScriptedChatModel(turns=[tool_call("wallet", action="fund", amount=25)], final="Done.")
    agent = create_agent(model, kit.get_tools(), checkpointer=InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "oob-no"}}
    agent.invoke({"messages": [("user", "Top up $25")]}, config)
    assert person.press(person.links[0], "decline").status_code == 200
    done = agent.invoke(Command(resume="approve"), config)  # the resume says yes; the person said no
    assert not done.get("__interrupt__") and ledger(clients[0]) == (Decimal("0.00"), 0)
    assert '"rejected"' in str(done["messages"][-2].content)


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_async_toolkit_with_either_notifier(clients: Any, url: str, clock: Clock, person: Person,
                                                  kind: str) -> None:
    async def notify(link: ApprovalLink) -> None:
        await asyncio.sleep(0)
        person(link)

    kit = toolkit(clients, url, OutOfBandApprover(notifier=notify if kind == "async" else person, base_url=BASE,
                                                  clock=clock, sleep=clock.sleep, asleep=clock.asleep, wait=60))
    clock.actions.append(lambda: requests_in(url).decide(
        person.links[0].url.rsplit("/", 1)[1], approved=True, evidence=Evidence(method="test"),
        now=datetime.fromtimestamp(clock(), tz=timezone.utc)))
    content, _ = await acall(kit.get_tool("wallet"), action="fund", amount=25)
    assert content["ok"] is True, content
    assert ledger(clients[0]) == (Decimal("25.00"), 1) and len(person.links) == 1


def test_without_a_store_it_fails_closed(clock: Clock) -> None:
    oob = OutOfBandApprover(notifier=lambda link: None, base_url=BASE, clock=clock, sleep=clock.sleep)
    decision = oob.decide(ApprovalRequest(operation="o", effect="charge", summary="s", intent_digest="d"))
    assert decision.failed and not decision.approved and "no store" in str(decision.reason)


def test_a_toolkit_whose_store_keeps_no_requests_refuses_to_start(clients: Any, clock: Clock) -> None:
    from agent_billing.guardrails.store import AccountState, StateDirStore

    class OldStore(StateDirStore):  # a deployer's store written before out-of-band approvals existed
        def for_account(self, account: str) -> AccountState:
            state = super().for_account(account)
            state._approval_requests = None
            return state

    oob = OutOfBandApprover(notifier=lambda link: None, base_url=BASE, clock=clock, sleep=clock.sleep)
    with pytest.raises(ValueError, match="keeps no out-of-band approval requests"):
        BillingToolkit(client=clients[0], store=OldStore(), approval=oob, audit=MemoryAuditLog())
    with pytest.raises(ValueError, match="keeps no out-of-band approval requests"):
        requests_in(type("Bare", (), {"name": "bare", "for_account": None})())


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="ttl"):
        OutOfBandApprover(notifier=print, base_url=BASE, ttl=0)
    with pytest.raises(ValueError, match="wait"):
        OutOfBandApprover(notifier=print, base_url=BASE, ttl=60, wait=61)
    with pytest.raises(ValueError, match="base_url"):
        OutOfBandApprover(notifier=print, base_url="javascript:alert(1)")
    with pytest.raises(TypeError, match="notifier"):
        OutOfBandApprover(notifier="sms", base_url=BASE)  # type: ignore[arg-type]


def test_console_notifier_prints_the_link(capsys: pytest.CaptureFixture[str], clock: Clock) -> None:
    requests = ApprovalRequests.memory()
    oob = OutOfBandApprover(notifier=ConsoleNotifier(), base_url=BASE, store=requests, clock=clock,
                            sleep=clock.sleep, wait=0)
    oob.decide(ApprovalRequest(operation="o", effect="charge", summary="Charge $5.00 USD", intent_digest="d"))
    out = capsys.readouterr().out
    assert BASE + "/" in out and "Charge $5.00 USD" in out
