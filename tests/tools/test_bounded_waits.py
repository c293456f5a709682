"""Bounded waits, and reads that never starve (issue 18, item 6: the in-process parts).

Found: a card change waited 14 s behind one slow charge (the funding lock had no timeout); a balance read
from another conversation took 44 s because waiting flows held every thread of the default pool under
``ainvoke``; a sync approval callback blocked the event loop (a 100 ms ticker ran 6 times in 5.5 s).
Here the funding lock is held as a slow charge holds it, approvals wait for a person (a ``threading.Event``)
and the read, the ticker and the bounds are measured in real time with generous margins.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import TOKEN
from tests.tools.conftest import acall, call
from tests.tools.test_charge_intent import MASTERCARD, VISA, payments

from agent_billing import Settings
from agent_billing.audit import MemoryAuditLog
from agent_billing.client import AsyncBillingClient, BillingClient
from agent_billing.guardrails.approval import ApprovalRequest
from agent_billing.guardrails.mandate import Mandate
from agent_billing.guardrails.spend_store import SqliteSpendStore
from agent_billing.inprocess import SANDBOX_BASE_URL, SyncASGITransport
from agent_billing.tools import BillingToolkit
from agent_billing.tools.steps import _lock

BOUND = 0.3  # the funding lock's wait bound in these tests (AGENT_BILLING_LOCK_TIMEOUT)
MARGIN = 1.0
WAITERS = 10  # more than the default pool's six threads on a two-core host


@pytest.fixture
def bounded(sandbox_app: Any) -> Iterator[tuple[BillingClient, AsyncBillingClient]]:
    settings = Settings(lock_timeout=BOUND)
    sync_client = BillingClient(base_url=SANDBOX_BASE_URL, token=TOKEN, transport=SyncASGITransport(sandbox_app),
                                settings=settings)
    async_client = AsyncBillingClient(base_url=SANDBOX_BASE_URL, token=TOKEN, settings=settings,
                                      transport=httpx.ASGITransport(app=sandbox_app))
    sync_client.add_payment_method(MASTERCARD, make_default=False)
    sync_client.add_payment_method(VISA, make_default=True)
    yield sync_client, async_client
    sync_client.close()


def _default_card(client: BillingClient) -> str:
    cards = client.list_payment_methods().model_dump()
    found = [c for c in cards.get("payment_methods") or cards.get("items") or [] if c.get("is_default")]
    return str(found[0]["id"]) if found else ""


class SlowCharge:
    """Holds the account's funding lock, as a charge on the default card does from its last check to its
    answer; released when the test ends (also when the code under test never gives up)."""

    def __init__(self, account: str) -> None:
        self.lock = _lock(account)

    def __enter__(self) -> SlowCharge:
        assert self.lock.acquire(timeout=5)
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def _in_thread(target: Any) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def run() -> None:
        started = time.monotonic()
        box["content"] = target()
        box["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


# --- The funding lock has a bound


def test_a_card_change_behind_a_slow_charge_ends_within_the_lock_bound(
        bounded: tuple[BillingClient, AsyncBillingClient]) -> None:
    client, _ = bounded
    audit = MemoryAuditLog()
    tool = BillingToolkit(client=client, audit=audit, approval=lambda request: True).get_tool("payment_methods")
    with SlowCharge(client.account_id):
        thread, box = _in_thread(lambda: call(tool, action="set_default", payment_method_id=MASTERCARD)[0])
        thread.join(BOUND + MARGIN)
        finished = not thread.is_alive()
    thread.join(5)
    assert finished, "the card change waited for the lock without a bound"
    content = box["content"]
    assert content["error"] == "store_unavailable" and content["store"] == "funding lock", content
    assert "nothing was sent" in content["message"].lower() and "AGENT_BILLING_LOCK_TIMEOUT" in content["message"]
    assert box["elapsed"] >= BOUND * 0.9
    assert _default_card(client) == VISA  # the change was not made
    # With the lock free again the same change goes through.
    assert call(tool, action="set_default", payment_method_id=MASTERCARD)[0]["ok"] is True


def test_a_charge_on_the_default_card_behind_the_lock_refuses_and_charges_nothing(
        bounded: tuple[BillingClient, AsyncBillingClient], sandbox_app: Any) -> None:
    client, _ = bounded
    audit = MemoryAuditLog()
    # A one-off charge the API takes no card id for: it holds the lock from its last check to its answer.
    tool = BillingToolkit(client=client, audit=audit, approval=lambda request: True).get_tool("subscriptions")
    with SlowCharge(client.account_id):
        thread, box = _in_thread(lambda: call(tool, action="charge_amount", amount=20)[0])
        thread.join(BOUND + MARGIN)
        finished = not thread.is_alive()
    thread.join(5)
    assert finished
    content = box["content"]
    assert content["error"] == "store_unavailable" and "Nothing was charged" in content["message"], content
    assert payments(sandbox_app) == []
    assert audit.events[-1].decision == "refused" and "funding lock" in str(audit.events[-1].reason)


async def test_async_lock_waiters_end_within_the_bound_and_a_read_answers_meanwhile(
        bounded: tuple[BillingClient, AsyncBillingClient]) -> None:
    client, async_client = bounded
    toolkit = BillingToolkit(async_client=async_client, audit=MemoryAuditLog(), approval=lambda request: True)
    cards, wallet = toolkit.get_tool("payment_methods"), toolkit.get_tool("wallet")
    with SlowCharge(client.account_id):
        started = time.monotonic()
        waiters = [asyncio.create_task(acall(cards, action="set_default", payment_method_id=MASTERCARD))
                   for _ in range(WAITERS)]
        await asyncio.sleep(0.05)
        read_started = time.monotonic()
        balance, _ = await acall(wallet, action="balance")
        read_took = time.monotonic() - read_started
        results = await asyncio.wait_for(asyncio.gather(*waiters), BOUND + MARGIN + 2)
        all_took = time.monotonic() - started
    assert balance["ok"] is True and read_took < 1.0, read_took
    assert {content["error"] for content, _ in results} == {"store_unavailable"}
    assert all_took < BOUND + MARGIN, all_took
    assert _default_card(client) == VISA


# --- Waiting for a person takes no thread reads need, and never the event loop


class Person:
    """A person who answers yes only when the test lets them (``answer``); counts who is waiting."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.waiting = 0
        self.guard = threading.Lock()

    def __call__(self, request: ApprovalRequest) -> bool:
        with self.guard:
            self.waiting += 1
        self.go.wait(10)
        return True

    async def until_waiting(self, count: int) -> None:
        for _ in range(400):
            if self.waiting >= count:
                return
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("kind", ["async client", "sync client"])
async def test_a_read_answers_while_many_flows_wait_for_a_person(
        bounded: tuple[BillingClient, AsyncBillingClient], kind: str) -> None:
    client, async_client = bounded
    person = Person()
    clients: dict[str, Any] = {"client": client} if kind == "sync client" else {"async_client": async_client}
    waiting = BillingToolkit(**clients, audit=MemoryAuditLog(), approval=person).get_tool("wallet")
    # Another conversation: its own toolkit on the same account, only reading.
    reader = BillingToolkit(**clients, audit=MemoryAuditLog()).get_tool("wallet")
    # If the read cannot get through, the person still answers after 4 s, so the test ends either way.
    timer = threading.Timer(4.0, person.go.set)
    timer.start()
    try:
        charges = [asyncio.create_task(acall(waiting, action="fund", amount=20, payment_method_id=VISA))
                   for _ in range(WAITERS)]
        await person.until_waiting(WAITERS)
        # All of them are waiting for the person at once (a callback run on the loop lets one wait at a time).
        waiting_at_once = person.waiting if not person.go.is_set() else 0
        started = time.monotonic()
        balance, _ = await acall(reader, action="balance")
        read_took = time.monotonic() - started
        person.go.set()
        await asyncio.wait_for(asyncio.gather(*charges), 15)
    finally:
        timer.cancel()
        person.go.set()
    assert waiting_at_once == WAITERS
    assert balance["ok"] is True
    assert read_took < 1.5, f"the read waited {read_took:.2f} s behind flows waiting for a person"


async def test_a_slow_sync_approval_callback_does_not_stall_the_event_loop(
        bounded: tuple[BillingClient, AsyncBillingClient]) -> None:
    _, async_client = bounded

    def slow_person(request: ApprovalRequest) -> bool:
        time.sleep(0.5)  # a person answering through a blocking channel (a voice prompt, a terminal)
        return True

    tool = BillingToolkit(async_client=async_client, audit=MemoryAuditLog(), approval=slow_person).get_tool("wallet")
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            await asyncio.sleep(0.05)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    content, _ = await acall(tool, action="fund", amount=20, payment_method_id=VISA)
    stop.set()
    await ticking
    assert content["ok"] is True
    # 0.5 s at 50 ms is 10 ticks; a callback run on the loop lets none through while it sleeps.
    assert ticks >= 8, ticks


def test_a_lock_timeout_releases_the_mandates_reservation(
        bounded: tuple[BillingClient, AsyncBillingClient], tmp_path: Path) -> None:
    """Refused before the send, the charge must not keep counting against the 24 h cap."""
    client, _ = bounded
    mandate = Mandate(max_per_charge="50", max_per_24h="100", auto_approve=True)
    spend = SqliteSpendStore(tmp_path / "spend.db")
    tool = BillingToolkit(client=client, audit=MemoryAuditLog(), mandate=mandate,
                          spend_store=spend).get_tool("subscriptions")
    with SlowCharge(client.account_id):
        content = call(tool, action="charge_amount", amount=20)[0]
    assert content["error"] == "store_unavailable", content
    assert spend.spent(f"{client.account_id}/{mandate.name}", now=datetime.now(timezone.utc)) == 0
    assert spend.spent(mandate.name, now=datetime.now(timezone.utc)) == 0
