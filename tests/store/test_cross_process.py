"""Separate OS processes (each with its own state directory, as separate hosts would have) share one
PostgreSQL store and one loopback sandbox."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from tests.store import workers

from agent_billing.audit import receipt_ids
from agent_billing.client import BillingClient
from agent_billing.sandbox import SandboxServer

PROCESSES = 4
ATTEMPTS = 8  # 4 x 8 x $10 = $320 asked for, against a $100 cap


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(tokens=(workers.TOKEN,), rate_limit=False) as server:
        BillingClient(base_url=server.base_url, token=workers.TOKEN).add_payment_method("pm_card_visa",
                                                                                       make_default=True)
        yield server


def _charged(server: SandboxServer) -> tuple[Decimal, int]:
    client = BillingClient(base_url=server.base_url, token=workers.TOKEN)
    return client.get_wallet_balance().balance, len(client.get_wallet_transactions().items)


def test_processes_racing_auto_approved_charges_stop_exactly_at_the_cap(sandbox: SandboxServer, postgres_url: str,
                                                                         tmp_path: Path) -> None:
    spawn = multiprocessing.get_context("spawn")
    with spawn.Manager() as manager, ProcessPoolExecutor(PROCESSES, mp_context=spawn) as pool:
        start = manager.Event()
        futures = [pool.submit(workers.race, sandbox.base_url, postgres_url, str(tmp_path / f"host{i}"), ATTEMPTS,
                               start) for i in range(PROCESSES)]
        start.set()
        results = [result for future in futures for result in future.result(timeout=300)]
    # Identical top-ups overlapping in time join the first's write-ahead record and send under the same key
    # (an answer with a note, no second charge); which of them carries the note is a matter of timing, so
    # charges are counted by their receipts: every success is one of exactly ten distinct charges.
    charges = {tuple(sorted(receipt_ids(r).items())) for r in results if r["ok"]}
    replayed = [r for r in results if r["ok"] and "note" in r]
    refused = [r for r in results if not r["ok"]]
    assert len(charges) == 10, [r.get("message") for r in refused][:3]
    assert all("nothing was charged" in r["note"] for r in replayed)
    # Refused either by the mandate check (the total already seen) or by the reservation (lost the race).
    assert all(r["error"] == "refused" and "24 h" in r["message"] and "nothing was charged" in r["message"].lower()
               for r in refused), refused[:3]
    assert _charged(sandbox) == (Decimal("100.00"), 10)
    sandbox.check_invariants()


def test_an_unknown_outcome_left_by_one_process_is_replayed_by_another(sandbox: SandboxServer, postgres_url: str,
                                                                       tmp_path: Path) -> None:
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as first_host:
        lost = first_host.submit(workers.lose_the_answer, sandbox.base_url, postgres_url, str(tmp_path / "a")).result()
    assert lost["error"] == "outcome_unknown", lost
    assert _charged(sandbox) == (Decimal("10.00"), 1)  # the sandbox committed it; the answer was lost
    with ProcessPoolExecutor(1, mp_context=spawn) as second_host:
        again = second_host.submit(workers.repeat, sandbox.base_url, postgres_url, str(tmp_path / "b")).result()
    assert again["ok"] and "nothing was charged twice" in again["note"], again
    assert _charged(sandbox) == (Decimal("10.00"), 1)
    with ProcessPoolExecutor(1, mp_context=spawn) as third_host:
        fresh = third_host.submit(workers.repeat, sandbox.base_url, postgres_url, str(tmp_path / "c")).result()
    assert fresh["ok"] and "note" not in fresh  # the pending entry is gone: a new top-up is a new charge
    assert _charged(sandbox) == (Decimal("20.00"), 2)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_processes_reserving_at_once_never_pass_the_cap(backend: str, tmp_path: Path,
                                                        request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    spawn = multiprocessing.get_context("spawn")
    with spawn.Manager() as manager, ProcessPoolExecutor(PROCESSES, mp_context=spawn) as pool:
        start = manager.Event()
        futures = [pool.submit(workers.reserve_many, url, i, 25, start) for i in range(PROCESSES)]
        start.set()
        granted = sum(future.result(timeout=300) for future in futures)
    assert granted == 7  # 7 x $7 = $49 <= $50 < $56, however the processes interleave
