"""The store's promises, on SQLite and on PostgreSQL: two store objects stand for two workers on two hosts."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from agent_billing.audit import AuditEvent
from agent_billing.audit_commands import verify_command
from agent_billing.guardrails.confirmation import fingerprint
from agent_billing.guardrails.spend_store import ReservationConflictError
from agent_billing.guardrails.store import (
    SqliteStore,
    StateDirStore,
    Store,
    StoreUnavailableError,
    open_store,
)

NewStore = Callable[[str], Store]
NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)


def test_the_url_picks_the_backend(tmp_path: Path) -> None:
    assert isinstance(open_store(None), StateDirStore)
    assert isinstance(open_store(f"sqlite:///{tmp_path}/s.db"), SqliteStore)
    assert type(open_store("postgresql://u@127.0.0.1:1/db")).__name__ == "PostgresStore"
    with pytest.raises(ValueError, match="unsupported store URL"):
        open_store("mysql://u:pw@h/db")


def test_reservations_are_capped_idempotent_and_shared(store_url: str, new_store: NewStore) -> None:
    one, two = new_store(store_url).for_account("acct"), new_store(store_url).for_account("acct")
    assert one.spend.reserve("default", "k1", Decimal("60"), limit=Decimal("100"), now=NOW).granted
    refused = two.spend.reserve("default", "k2", Decimal("60"), limit=Decimal("100"), now=NOW)
    assert not refused.granted and refused.spent_before == Decimal("60.00")
    assert refused.reason is not None and "'default'" in refused.reason and "acct" not in refused.reason
    again = two.spend.reserve("default", "k1", Decimal("60"), limit=Decimal("100"), now=NOW)
    assert again.granted and again.existing
    with pytest.raises(ReservationConflictError):
        two.spend.reserve("default", "k1", Decimal("61"), limit=None, now=NOW)
    two.spend.confirm("k1")
    one.spend.release("k1")  # confirmed spend is never released
    assert one.spend.spent("default", now=NOW) == Decimal("60.00")
    assert one.spend.spent("default", now=NOW + timedelta(hours=25)) == Decimal("0.00")
    with pytest.raises(KeyError):
        one.spend.confirm("nope")


def test_accounts_do_not_share_a_cap(store_url: str, new_store: NewStore) -> None:
    store = new_store(store_url)
    a, b = store.for_account("acct_a"), store.for_account("acct_b")
    assert a.spend.reserve("default", "ka", Decimal("100"), limit=Decimal("100"), now=NOW).granted
    assert b.spend.reserve("default", "kb", Decimal("100"), limit=Decimal("100"), now=NOW).granted


def test_concurrent_reservations_never_pass_the_cap(store_url: str, new_store: NewStore) -> None:
    stores = [new_store(store_url).for_account("acct") for _ in range(4)]
    granted: list[bool] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        for n in range(10):
            result = stores[index].spend.reserve("default", f"k{index}-{n}", Decimal("7"), limit=Decimal("50"), now=NOW)
            with lock:
                granted.append(result.granted)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert granted.count(True) == 7  # 7 x $7 = $49 <= $50 < $56
    assert stores[0].spend.spent("default", now=NOW) == Decimal("49.00")


def test_an_unknown_outcome_recorded_by_one_worker_is_found_by_another(store_url: str, new_store: NewStore) -> None:
    one, two = new_store(store_url).for_account("acct"), new_store(store_url).for_account("acct")
    one.pending.remember("acct:fund_wallet", "fp", "dg", "ab_1", {"amount": Decimal("25.00")}, now=NOW)
    found = two.pending.find("acct:fund_wallet", digest="dg", now=NOW)
    assert found is not None and found.idempotency_key == "ab_1" and found.arguments == {"amount": Decimal("25.00")}
    assert two.pending.find("acct:fund_wallet", fingerprint="fp", now=NOW + timedelta(hours=2)) is None  # expired
    one.pending.remember("acct:fund_wallet", "fp", "dg", "ab_1", {"amount": "25.00"}, now=NOW)
    two.pending.forget("acct:fund_wallet", "ab_1")
    assert one.pending.find("acct:fund_wallet", fingerprint="fp", now=NOW) is None


def test_a_confirmation_is_single_use_across_workers(store_url: str, new_store: NewStore) -> None:
    workers = [new_store(store_url).for_account("acct").confirmations for _ in range(6)]
    fp = fingerprint("withdraw", {"amount": 10})
    issued = workers[0].issue("withdraw", fp, "Withdraw $10.00", now=NOW)
    wins: list[bool] = []
    threads = [threading.Thread(target=lambda w=w: wins.append(w.consume(issued.token, "withdraw", fp, now=NOW)))
               for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 5 + [True]
    other = workers[1].issue("withdraw", fp, "Withdraw $10.00", now=NOW)
    assert not workers[2].consume(other.token, "withdraw", fingerprint("withdraw", {"amount": 11}), now=NOW)
    assert not workers[3].consume(other.token, "withdraw", fp, now=NOW)  # spent by the mismatching attempt
    late = workers[1].issue("withdraw", fp, "Withdraw $10.00", now=NOW)
    assert not workers[4].consume(late.token, "withdraw", fp, now=NOW + timedelta(minutes=6))


def test_approvals_and_declines_are_shared(store_url: str, new_store: NewStore) -> None:
    one, two = new_store(store_url).for_account("acct"), new_store(store_url).for_account("acct")
    assert one.approvals.shown("call_1", "digest-a", now=NOW) == "digest-a"
    assert two.approvals.shown("call_1", "digest-b", now=NOW) == "digest-a"
    two.approvals.decide("call_1", approved=True, approver="person", now=NOW)
    one.approvals.decide("call_1", approved=False, approver="someone else", now=NOW)  # the first decision stands
    decision = one.approvals.decision("call_1", now=NOW)
    assert decision is not None and decision.approved and decision.digest == "digest-a"
    two.approvals.forget("call_1")
    assert one.approvals.decision("call_1", now=NOW) is None
    one.declined.remember("acct:withdraw:fp", until=NOW + timedelta(minutes=10))
    assert two.declined.is_declined("acct:withdraw:fp", now=NOW)
    assert not two.declined.is_declined("acct:withdraw:fp", now=NOW + timedelta(minutes=11))


def test_the_audit_chain_stays_linear_under_concurrent_writers(store_url: str, new_store: NewStore) -> None:
    store = new_store(store_url)
    logs = [store.for_account("acct").audit for _ in range(4)]

    def worker(index: int) -> None:
        for n in range(10):
            logs[index].record(AuditEvent(operation=f"op{index}-{n}", effect="read", decision="succeeded"))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out: list[str] = []  # verified with the key the writers used (the keyed chain needs it)
    assert verify_command(store_url, write=out.append) == 0, out
    assert out[0].startswith("acct: intact, 40 record(s)") and "40 keyed" in out[0], out


def test_postgres_schema_is_versioned_and_migrated_once(postgres_url: str) -> None:
    from agent_billing.guardrails.postgres import MIGRATIONS, SCHEMA_VERSION, PostgresStore

    stores = [PostgresStore(postgres_url) for _ in range(4)]
    closers = [store.close for store in stores]
    versions: list[int] = []
    threads = [threading.Thread(target=lambda s=s: versions.append(s.schema_version())) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert versions == [SCHEMA_VERSION] * 4
    with stores[0].cursor() as cur:
        rows = cur.execute("SELECT version FROM agent_billing_schema ORDER BY version").fetchall()
    assert [row[0] for row in rows] == [version for version, _ in MIGRATIONS]
    for close in closers:
        close()


def test_an_unreachable_postgres_store_raises_a_clear_error() -> None:
    import socket

    from agent_billing.guardrails.postgres import PostgresStore

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = PostgresStore(f"postgresql://app:pw@127.0.0.1:{port}/billing", timeout=0.5)
    with pytest.raises(StoreUnavailableError) as caught:
        store.for_account("acct").spend.spent("default", now=NOW)
    assert f"postgresql://app@127.0.0.1:{port}/billing" in str(caught.value) and "pw" not in str(caught.value)
    store.close()


def test_money_moving_calls_fail_closed_when_the_store_is_down_and_reads_still_work(sandbox_app: object) -> None:
    import json
    import socket

    from tests.conftest import TOKEN

    from agent_billing.guardrails.mandate import Mandate
    from agent_billing.guardrails.postgres import PostgresStore
    from agent_billing.inprocess import sandbox_clients
    from agent_billing.tools import BillingToolkit

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = PostgresStore(f"postgresql://app:pw@127.0.0.1:{port}/billing", timeout=0.5)
    client, aclient = sandbox_clients(sandbox_app, token=TOKEN)
    client.add_payment_method("pm_card_visa", make_default=True)
    toolkit = BillingToolkit(client=client, async_client=aclient, store=down,
                             mandate=Mandate(max_per_charge="50", max_per_24h="100", auto_approve=True))
    wallet = toolkit.get_tool("wallet")

    def call(**args: object) -> dict[str, object]:
        message = wallet.invoke({"type": "tool_call", "name": "wallet", "id": "call_1", "args": args})
        result: dict[str, object] = json.loads(str(message.content))
        return result

    assert call(action="balance")["ok"]
    refused = call(action="fund", amount=25)
    assert refused["error"] == "store_unavailable" and refused["store"] == f"postgresql://app@127.0.0.1:{port}/billing"
    assert "Nothing was charged" in str(refused["message"]) and "pw" not in json.dumps(refused)
    assert client.get_wallet_balance().balance == 0
    down.close()


class _GarbleChange(httpx.BaseTransport):
    """The sandbox commits the Wallgent plan change, but its 2xx answer never arrives readable."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/billing/change-plan") and response.status_code < 300:
            return httpx.Response(200, content=b'{"plan": "GROWTH", "prorationCharge": "1', request=request)
        return response


def test_a_lost_wallgent_answer_charges_once_across_fresh_toolkits_on_one_store(store_url: str) -> None:
    from agent_billing.audit import MemoryAuditLog
    from agent_billing.client import BillingClient
    from agent_billing.inprocess import SANDBOX_ORIGIN, SyncASGITransport
    from agent_billing.retry import RetryPolicy
    from agent_billing.sandbox import create_app
    from agent_billing.tools import BillingToolkit

    app = create_app(rate_limit=False)

    def client(transport: httpx.BaseTransport) -> BillingClient:
        return BillingClient(base_url=SANDBOX_ORIGIN + "/wallgent/v1", token="wg_test_sandbox", provider="wallgent",
                             transport=transport, retry=RetryPolicy.none())

    plain = client(SyncASGITransport(app))
    plain.call("subscribe", {"plan": "STARTER", "payment_method": "WALLET"})
    answers = []
    for _ in range(3):  # a fresh toolkit (a restarted worker) each time, sharing only the store
        tools = BillingToolkit(client=client(_GarbleChange(SyncASGITransport(app))), store=store_url,
                               approval=lambda request: True, audit=MemoryAuditLog())
        answers.append(tools.get_tool("billing").invoke({"action": "change_plan", "plan": "GROWTH"}))
    assert all('"outcome_unknown"' in str(answer) for answer in answers), answers
    assert plain.call("get_billing").plan == "GROWTH" and plain.call("list_invoices").total == 2
