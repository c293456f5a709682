"""Several accounts at once over loopback, on a file ledger: the books balance and each key credits once.

Threads (each its own kept-alive connection) fund four accounts together; every key is sent twice, by
two threads racing each other, so a replay and a first run overlap. Afterwards the invariant checker
(``GET /sandbox/ledger/check``) finds nothing, each account holds exactly its keys' credits, and each
key has exactly one wallet credit. Also: the idempotency sweep uses its index, and ids keep their shape.
Bounded: 4 accounts x 12 keys x 2 sends, 10 s timeouts.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sandbox_helpers import API, FakeClock, count

from agent_billing.providers.modelslab.sandbox.ledger import Ledger
from agent_billing.sandbox import SandboxServer
from agent_billing.sandbox.units import new_id, request_id

ACCOUNTS = tuple(f"sk_sandbox_parallel_{i}" for i in range(4))
KEYS = 12
FUND = {"amount": 10, "payment_method_id": "pm_card_visa"}


def _send_all(server: SandboxServer, token: str, keys: list[str], statuses: Counter[int], lock: threading.Lock,
              start: threading.Barrier) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.root_url, timeout=10) as http:
        http.get(API + "/wallet/balance", headers=auth)  # connect first, so the sends overlap
        start.wait()
        for key in keys:
            r = http.post(API + "/wallet/fund", json=FUND, headers={**auth, "Idempotency-Key": key})
            with lock:
                statuses[r.status_code] += 1


def test_accounts_in_parallel_keep_the_books_and_credit_each_key_once(tmp_path: Path) -> None:
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(2 * len(ACCOUNTS))
    with SandboxServer(tokens=ACCOUNTS, rate_limit=False, db_path=str(tmp_path / "ledger.db")) as server:
        threads = []
        for token in ACCOUNTS:
            keys = [f"{token[-1]}-fund-{n}" for n in range(KEYS)]
            for order in (keys, keys[::-1]):  # two racers per account, meeting in the middle
                threads.append(threading.Thread(target=_send_all, args=(server, token, order, statuses, lock, start)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not any(thread.is_alive() for thread in threads)
        check = httpx.get(server.root_url + "/sandbox/ledger/check", timeout=10).json()["data"]
        assert check == {"ok": True, "problems": []}
        ledger = server.ledger
        assert statuses == Counter({200: 2 * KEYS * len(ACCOUNTS)})
        for token in ACCOUNTS:
            account = server.sandbox.account_for_token(token)
            assert account is not None
            assert ledger.balance(account.id) == KEYS * 1000  # $10.00 per key, once
            assert count(ledger, "SELECT COUNT(*) FROM wallet_entries WHERE type = 'credit' AND account_id = ?",
                         account.id) == KEYS  # one credit per key: the racing second send replayed
        assert count(ledger, "SELECT COUNT(*) FROM idempotency_keys") == KEYS * len(ACCOUNTS)


def test_the_idempotency_sweep_is_an_index_lookup_not_a_scan() -> None:
    ledger = Ledger(":memory:", clock=FakeClock())
    plan = " ".join(row[-1] for row in ledger.rows("EXPLAIN QUERY PLAN DELETE FROM idempotency_keys WHERE created_at < ?",
                                                   (0.0,)))
    assert plan.startswith("SEARCH") and "idempotency_keys_created" in plan, plan  # not "SCAN idempotency_keys"
    ledger.close()


def test_ids_keep_their_documented_shape() -> None:
    ids = [new_id("pi_3") for _ in range(200)]
    assert all(re.fullmatch(r"pi_3[A-Za-z0-9]{24}", i) for i in ids) and len(set(ids)) == 200
    assert re.fullmatch(r"req_[A-Za-z0-9]{20}", request_id())
    assert re.fullmatch(r"cs_test_a1[A-Za-z0-9]{40}", new_id("cs_test_a1", 40))


MANY = tuple(f"sk_sandbox_many_{i:02d}" for i in range(12))


def _fund_all(server: SandboxServer, token: str, sends: list[tuple[str, str]], seen: dict[tuple[str, str], list[Any]],
              lock: threading.Lock, start: threading.Barrier) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.root_url, timeout=10) as http:
        http.get(API + "/wallet/balance", headers=auth)
        start.wait()
        for key, card in sends:
            r = http.post(API + "/wallet/fund", json={"amount": 10, "payment_method_id": card},
                          headers={**auth, "Idempotency-Key": key})
            body = r.json()
            answer = (r.status_code, (body["data"] or {}).get("transaction_id"), (body["error"] or {}).get("code"))
            with lock:
                seen.setdefault((token, key), []).append(answer)


def test_many_accounts_with_declines_and_racing_keys_keep_exact_books(tmp_path: Path) -> None:
    """Twelve accounts, two racing threads each (24 at once, so requests of several accounts share a commit),
    every third key on a declining card: each key has one outcome, sent twice; balances are exact."""
    seen: dict[tuple[str, str], list[Any]] = {}
    lock = threading.Lock()
    start = threading.Barrier(2 * len(MANY))
    with SandboxServer(tokens=MANY, rate_limit=False, db_path=str(tmp_path / "ledger.db")) as server:
        threads = []
        for token in MANY:
            sends = [(f"k{n}", "pm_card_chargeDeclined" if n % 3 == 0 else "pm_card_visa") for n in range(9)]
            for order in (sends, sends[::-1]):
                threads.append(threading.Thread(target=_fund_all, args=(server, token, order, seen, lock, start)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not any(thread.is_alive() for thread in threads)
        assert httpx.get(server.root_url + "/sandbox/ledger/check", timeout=10).json()["data"]["problems"] == []
        ledger, writer = server.ledger, server.sandbox.writer
        for (token, key), answers in seen.items():
            assert len(answers) == 2 and answers[0] == answers[1], (token, key, answers)  # one outcome, replayed
            assert answers[0][0] == (402 if key in ("k0", "k3", "k6") else 200)
        for token in MANY:
            account = server.sandbox.account_for_token(token)
            assert account is not None
            assert ledger.balance(account.id) == 6 * 1000  # six succeeding keys of $10.00, each once
            assert count(ledger, "SELECT COUNT(*) FROM payment_intents WHERE account_id = ? AND status != 'succeeded'",
                         account.id) == 3  # each declined key kept its one failed payment, in its batch
        assert writer.jobs >= 2 * 9 * len(MANY)  # every API request went through the writer
