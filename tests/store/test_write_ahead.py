"""Our own state failing around a charge never turns it into a second charge (issue 18).

Before a money-moving request is sent, a write-ahead record (key, intent digest, exact request) is in
the store. Whatever fails after the send (PostgreSQL gone, the SQLite file locked, the audit log's disk
full), the record stays, and a repeat replays the recorded request under the recorded key: the sandbox
ledger shows exactly one charge. What fails before the send answers "nothing was sent".
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from tests.conftest import TOKEN
from tests.store.charging import charges, fund

from agent_billing.audit import AuditEvent, MemoryAuditLog
from agent_billing.client import AsyncBillingClient, BillingClient
from agent_billing.guardrails.mandate import Mandate
from agent_billing.guardrails.store import open_store
from agent_billing.inprocess import SANDBOX_BASE_URL, SyncASGITransport
from agent_billing.retry import RetryPolicy
from agent_billing.tools import BillingToolkit

AUTO = Mandate(max_per_charge="50", max_per_24h="500", auto_approve=True)
FUND = "/wallet/fund"


# --- the real things the tests cut: a TCP proxy in front of PostgreSQL, a held SQLite lock, a full disk


class Proxy:
    """A TCP proxy to the PostgreSQL server that the test can cut (every connection dropped, new ones refused)
    and restore. The shared server itself is never touched."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                conn.close()
                continue
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [conn, upstream]
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up = False
        with self._lock:
            for s in self._sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self._sockets.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture
def proxied_postgres(postgres_url: str) -> Iterator[tuple[str, Proxy]]:
    """A fresh schema on the test server, reached through a proxy the test can cut."""
    parts = urlsplit(postgres_url)
    assert parts.hostname is not None and parts.port is not None
    proxy = Proxy(parts.hostname, parts.port)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    url = urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))
    yield url, proxy
    proxy.close()


class FullDisk:
    """An audit log (the ``AuditLog`` protocol) whose disk is full at its ``fail_at``-th write: that write fails
    with ENOSPC, and (``stays_full``) every later one until ``free()``. A fault injector in front of a real log."""

    def __init__(self, fail_at: int, stays_full: bool = True) -> None:
        self.inner, self.fail_at, self.stays_full = MemoryAuditLog(), fail_at, stays_full
        self.writes, self.freed = 0, False

    def record(self, event: AuditEvent) -> None:
        self.writes += 1
        full = self.writes == self.fail_at or (self.stays_full and self.writes > self.fail_at)
        if full and not self.freed:
            raise OSError(errno.ENOSPC, "No space left on device", "audit.jsonl")
        self.inner.record(event)

    def free(self) -> None:
        self.freed = True


class AfterCommit(httpx.BaseTransport):
    """Runs ``then`` right after the sandbox committed a top-up, before the toolkit sees the answer."""

    def __init__(self, inner: httpx.BaseTransport, then: Callable[[], None]) -> None:
        self.inner, self.then = inner, then

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith(FUND) and response.status_code < 300:
            self.then()
        return response


class AsyncAfterCommit(httpx.AsyncBaseTransport):
    """The async form of :class:`AfterCommit`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, then: Callable[[], None]) -> None:
        self.inner, self.then = inner, then

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path.endswith(FUND) and response.status_code < 300:
            self.then()
        return response


# --- helpers


def _clients(app: Any, then: Callable[[], None] = lambda: None) -> tuple[BillingClient, AsyncBillingClient]:
    no_retry = RetryPolicy.none()
    return (BillingClient(base_url=SANDBOX_BASE_URL, token=TOKEN, retry=no_retry,
                          transport=AfterCommit(SyncASGITransport(app), then)),
            AsyncBillingClient(base_url=SANDBOX_BASE_URL, token=TOKEN, retry=no_retry,
                               transport=AsyncAfterCommit(httpx.ASGITransport(app=app), then)))


def _toolkit(app: Any, store: Any, then: Callable[[], None] = lambda: None, **kwargs: Any) -> BillingToolkit:
    client, aclient = _clients(app, then)
    return BillingToolkit(client=client, async_client=aclient, store=store, **{"mandate": AUTO, **kwargs})


def _once(action: Callable[[], None]) -> Callable[[], None]:
    """``action`` the first time only (the fault hits the first send, not the repeat)."""
    done: list[bool] = []

    def run() -> None:
        if not done:
            done.append(True)
            action()

    return run


def _sent_but_not_failed(answer: dict[str, Any]) -> bool:
    """Charged: the answer must not be a definite failure (ok, or an unknown outcome that says it was sent)."""
    return bool(answer["ok"]) or answer.get("sent") is True


# --- (a) the store goes away between the send and the record


def _reachable_again(store: Any, within: float = 20.0) -> None:
    """Until the store answers again: the pool reconnects with its own backoff (1 s, doubling), so the
    first call after an outage may still be refused (store_unavailable, nothing sent), which is not
    what these tests are about."""
    from agent_billing.guardrails.sqlite_state import StoreUnavailableError

    deadline = time.monotonic() + within
    while True:
        try:
            store.schema_version()
            return
        except StoreUnavailableError:
            if time.monotonic() > deadline:
                raise


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("repeat_from", ["same toolkit", "fresh toolkit"])
def test_postgres_gone_between_send_and_record_then_back_charges_once(
        app: Any, proxied_postgres: tuple[str, Any], mode: str, repeat_from: str) -> None:
    from agent_billing.guardrails.postgres import PostgresStore

    url, proxy = proxied_postgres
    store = PostgresStore(url, timeout=1.0)
    try:
        first = _toolkit(app, store, then=_once(proxy.cut))
        answer = fund(first, mode)
        assert charges(app) == (Decimal("25.00"), 1)
        assert _sent_but_not_failed(answer), answer
        assert answer.get("recorded") is False and "does not charge again" in answer["warning"], answer
        proxy.restore()
        _reachable_again(store)
        again = fund(first if repeat_from == "same toolkit" else _toolkit(app, PostgresStore(url, timeout=1.0)), mode)
        assert again["ok"] and "nothing was charged twice" in again["note"], again
        assert charges(app) == (Decimal("25.00"), 1)
        # Settled by the replay: the next top-up is a new charge, and the audit has the success.
        assert fund(_toolkit(app, store), mode)["ok"] and charges(app) == (Decimal("50.00"), 2)
        decisions = [json.loads(line)["decision"] for line in store.audit_lines(first.guard.account)]
        assert decisions.count("succeeded") == 2 and "replayed" in decisions
    finally:
        store.close()


def test_postgres_gone_before_the_send_sends_nothing(app: Any, proxied_postgres: tuple[str, Any]) -> None:
    from agent_billing.guardrails.postgres import PostgresStore

    url, proxy = proxied_postgres
    store = PostgresStore(url, timeout=0.5)
    toolkit = _toolkit(app, store, audit=MemoryAuditLog())
    assert toolkit.get_tool("wallet").invoke({"action": "balance"})  # connects and migrates nothing yet
    proxy.cut()
    answer = fund(toolkit, "sync")
    assert answer["error"] == "store_unavailable" and answer["sent"] is False, answer
    assert "Nothing was charged" in answer["message"] and charges(app) == (Decimal("0.00"), 0)
    store.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("repeat_from", ["same toolkit", "fresh toolkit"])
def test_sqlite_locked_between_send_and_record_then_free_charges_once(
        app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, repeat_from: str) -> None:
    monkeypatch.setenv("AGENT_BILLING_STORE_TIMEOUT", "0.2")
    url = f"sqlite:///{tmp_path / 'state.db'}"
    holder = sqlite3.connect(tmp_path / "state.db", isolation_level=None, check_same_thread=False)

    def lock() -> None:  # another process's writer takes the file's write lock right after the send
        holder.execute("BEGIN IMMEDIATE")

    first = _toolkit(app, open_store(url), then=_once(lock), audit=MemoryAuditLog())
    answer = fund(first, mode)
    assert charges(app) == (Decimal("25.00"), 1)
    assert _sent_but_not_failed(answer) and answer.get("recorded") is False, answer
    holder.execute("ROLLBACK")
    again = fund(first if repeat_from == "same toolkit" else _toolkit(app, open_store(url), audit=MemoryAuditLog()),
                 mode)
    assert again["ok"] and "nothing was charged twice" in again["note"], again
    assert charges(app) == (Decimal("25.00"), 1)
    holder.close()


# --- (b) the audit log fails (disk full) at each write around the send


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("flow", ["mandate", "person"])
@pytest.mark.parametrize("fail_at", [1, 2, 3])
@pytest.mark.parametrize("stays_full", [True, False])
def test_a_full_audit_disk_never_reports_a_charge_as_failed_nor_charges_twice(
        app: Any, tmp_path: Path, mode: str, flow: str, fail_at: int, stays_full: bool) -> None:
    # The audit writes of one charge: the yes (1), then the success (2); 3 fails nothing in the first call.
    audit = FullDisk(fail_at, stays_full)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    person: dict[str, Any] = {} if flow == "mandate" else {"mandate": None, "approval": lambda request: True}
    answer = fund(_toolkit(app, url, audit=audit, **person), mode)
    charged = charges(app)[1]
    if charged:
        assert _sent_but_not_failed(answer), answer
    else:
        assert answer["error"] == "nothing_sent" and answer["sent"] is False, answer
        assert "Nothing was charged" in answer["message"]
    audit.free()  # space returns
    again = fund(_toolkit(app, url, audit=audit, **person), mode)
    assert again["ok"], again
    if answer["ok"] and answer.get("recorded") is not False:  # the first charge was fully recorded: a new one
        assert "note" not in again and charges(app) == (Decimal("50.00"), 2)
    else:  # the repeat replayed the unrecorded charge, or made the only one
        assert charges(app) == (Decimal("25.00"), 1) and ("note" in again) == bool(charged)
    assert not audit.inner.events or all(event.decision != "failed" for event in audit.inner.events)


def test_the_write_ahead_record_is_in_the_store_before_the_request_leaves(app: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    seen: list[list[Any]] = []

    def look() -> None:  # at the moment the sandbox has committed: what does the store hold?
        with sqlite3.connect(tmp_path / "state.db") as conn:
            seen.append(conn.execute("SELECT idempotency_key, arguments FROM pending_outcomes_v3").fetchall())

    answer = fund(_toolkit(app, url, then=look, audit=MemoryAuditLog()), "sync")
    assert answer["ok"] and len(seen) == 1 and len(seen[0]) == 1
    key, arguments = seen[0][0]
    assert key.startswith("ab_") and Decimal(str(json.loads(arguments)["amount"])) == 25
    with sqlite3.connect(tmp_path / "state.db") as conn:  # settled once the answer was definite
        assert conn.execute("SELECT COUNT(*) FROM pending_outcomes_v3").fetchone()[0] == 0


# --- corrupt state files: a typed error naming the file; reads work; money calls fail closed


@pytest.mark.parametrize("name", ["spend.sqlite3", "pending-outcomes.sqlite3", "approvals.sqlite3", "state.db"])
def test_a_corrupt_state_file_is_named_and_refuses_money_calls_only(app: Any, tmp_path: Path, name: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / name).write_bytes(b"this is not a database\n" * 200)
    monkeypatch.setenv("AGENT_BILLING_STATE_DIR", str(state))
    store = f"sqlite:///{state / name}" if name == "state.db" else None
    client, aclient = _clients(app)
    # A person approves (so the approval records are used too), under a mandate (so the spend store is).
    toolkit = BillingToolkit(client=client, async_client=aclient, store=store, mandate=Mandate(max_per_charge="50"),
                             approval=lambda request: True, audit=MemoryAuditLog())  # no sqlite3.DatabaseError
    balance = json.loads(toolkit.get_tool("wallet").invoke({"action": "balance"}))
    assert balance["ok"], balance
    for mode in ("sync", "async"):
        answer = fund(toolkit, mode)
        assert answer["error"] == "store_unavailable" and answer["sent"] is False, answer
        assert str(state / name) in answer["message"] and "not a readable SQLite database" in answer["message"]
    assert charges(app) == (Decimal("0.00"), 0)


# --- bounded lock waits: another connection holds the lock; the charge fails closed within the bound


def test_a_sqlite_lock_held_elsewhere_fails_closed_within_the_bound(app: Any, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_BILLING_STORE_TIMEOUT", "0.3")
    toolkit = _toolkit(app, f"sqlite:///{tmp_path / 'state.db'}", audit=MemoryAuditLog())
    assert fund(toolkit, "sync", amount=10)["ok"]  # the file exists and works
    holder = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's long write transaction
    try:
        for mode in ("sync", "async"):
            started = time.monotonic()
            answer = fund(toolkit, mode)
            elapsed = time.monotonic() - started
            assert answer["error"] == "store_unavailable" and answer["sent"] is False, answer
            assert "locked" in answer["message"] and elapsed < 3, elapsed
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert charges(app) == (Decimal("10.00"), 1)


def test_a_postgres_advisory_lock_held_elsewhere_fails_closed_within_the_bound(app: Any, postgres_url: str) -> None:
    import psycopg

    from agent_billing.guardrails.postgres import PostgresStore, lock_id

    store = PostgresStore(postgres_url, timeout=0.3)
    toolkit = _toolkit(app, store, audit=MemoryAuditLog())
    assert fund(toolkit, "sync", amount=10)["ok"]
    holder = psycopg.connect(postgres_url)  # a stuck worker: holds the mandate's reservation lock
    holder.execute("SELECT pg_advisory_xact_lock(%s)", (lock_id("spend", toolkit.guard.account, "default"),))
    # Old code waits for the holder; let go after 8 s so such a run ends (and fails the bound) instead of hanging.
    release = threading.Timer(8, holder.rollback)
    release.start()
    try:
        for mode in ("sync", "async"):
            started = time.monotonic()
            answer = fund(toolkit, mode)
            elapsed = time.monotonic() - started
            assert answer["error"] == "store_unavailable" and answer["sent"] is False, answer
            assert "longer than the store's bound" in answer["message"] and elapsed < 3, elapsed
    finally:
        release.cancel()
        holder.rollback()
        holder.close()
        store.close()
    assert charges(app) == (Decimal("10.00"), 1)


def test_the_store_timeout_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent_billing.guardrails.sqlite_state import store_timeout

    for bad in ("soon", "0", "-1", "86400"):
        monkeypatch.setenv("AGENT_BILLING_STORE_TIMEOUT", bad)
        with pytest.raises(ValueError, match="AGENT_BILLING_STORE_TIMEOUT"):
            store_timeout()
    monkeypatch.setenv("AGENT_BILLING_STORE_TIMEOUT", "0.25")
    assert store_timeout() == 0.25


# --- state files are private; old pending files carry over


def test_state_directories_and_files_are_created_private(tmp_path: Path) -> None:
    from agent_billing.guardrails.approval_records import ApprovalRecords
    from agent_billing.guardrails.pending_outcomes import PendingOutcomes
    from agent_billing.guardrails.spend_store import SqliteSpendStore

    old = os.umask(0o022)  # a usual umask would leave files world-readable
    try:
        made = {"pending": tmp_path / "a" / "pending-outcomes.sqlite3", "approvals": tmp_path / "b" / "approvals.sqlite3",
                "spend": tmp_path / "c" / "spend.sqlite3", "store": tmp_path / "d" / "state.db"}
        PendingOutcomes(made["pending"]).close()
        ApprovalRecords(made["approvals"]).close()
        SqliteSpendStore(made["spend"]).close()
        open_store(f"sqlite:///{made['store']}").for_account("acct").pending.forget("acct:x", "k")
    finally:
        os.umask(old)
    for path in made.values():
        assert oct(path.stat().st_mode & 0o777) == "0o600", path
        assert oct(path.parent.stat().st_mode & 0o777) == "0o700", path.parent


def test_a_pending_file_of_the_previous_version_carries_its_records_over(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from agent_billing.guardrails.pending_outcomes import PendingOutcomes

    path = tmp_path / "pending-outcomes.sqlite3"
    with sqlite3.connect(path) as conn:  # the v2 layout, with one unknown outcome in it
        conn.execute("CREATE TABLE pending_outcomes_v2 (scope TEXT NOT NULL, fingerprint TEXT NOT NULL, digest TEXT "
                     "NOT NULL, idempotency_key TEXT NOT NULL, arguments BLOB NOT NULL, expires_us INTEGER NOT NULL, "
                     "PRIMARY KEY (scope, fingerprint))")
        conn.execute("INSERT INTO pending_outcomes_v2 VALUES ('a:fund_wallet', 'fp', 'dg', 'ab_1', ?, ?)",
                     (b'{"amount":"25.00"}', 2_000_000_000_000_000))
    found = PendingOutcomes(path).find("a:fund_wallet", digest="dg", now=datetime(2026, 12, 5, tzinfo=timezone.utc))
    assert found is not None and found.idempotency_key == "ab_1" and found.arguments == {"amount": "25.00"}
