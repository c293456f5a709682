"""Issue 24's acceptance: two agents with separate budgets on one account, four worker processes (separate
hosts) on one PostgreSQL store, spend exactly their budgets, counted by the sandbox's ledger."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path

from tests.store import authority_workers as workers

from agent_billing.client import BillingClient
from agent_billing.guardrails.authority import SpendAuthority
from agent_billing.guardrails.store import open_store
from agent_billing.sandbox import SandboxServer

ATTEMPTS = 6  # per process: 2 processes x 6 per agent, far beyond either budget


def test_two_agents_on_four_workers_spend_exactly_their_budgets(postgres_url: str, tmp_path: Path) -> None:
    with SandboxServer(tokens=(workers.TOKEN,), rate_limit=False) as server:
        client = BillingClient(base_url=server.base_url, token=workers.TOKEN)
        client.add_payment_method("pm_card_visa", make_default=True)
        authorities = open_store(postgres_url).for_account(client.account_id).authorities
        alpha = authorities.create(SpendAuthority(agent="alpha", budget="50"))  # 5 x $10
        beta = authorities.create(SpendAuthority(agent="beta", budget="45"))  # 3 x $15
        spawn = multiprocessing.get_context("spawn")
        plan = [("alpha", 10), ("alpha", 10), ("beta", 15), ("beta", 15)]
        with spawn.Manager() as manager, ProcessPoolExecutor(4, mp_context=spawn) as pool:
            start = manager.Event()
            futures = [pool.submit(workers.spend, server.base_url, postgres_url, str(tmp_path / f"host{i}"), agent,
                                   amount, ATTEMPTS, start) for i, (agent, amount) in enumerate(plan)]
            start.set()
            results = [r for future in futures for r in future.result(timeout=300)]
        # The ledger decides: each agent's charges are the transactions of its amount.
        ledger = Counter(str(t.amount) for t in client.get_wallet_transactions().items)
        assert ledger == Counter({"10.00": 5, "15.00": 3}), ledger
        assert client.get_wallet_balance().balance == Decimal("95.00")
        refused = [r for r in results if not r["ok"]]
        assert refused and all("budget" in r["message"] and "Nothing was charged" in r["message"] for r in refused)
        assert authorities.inspect(alpha.id).spent == Decimal("50.00")
        assert authorities.inspect(beta.id).spent == Decimal("45.00")
        server.check_invariants()
