"""Per-call guard cost against the size of the pending-outcome history (issue 18: cost independent of history).

Run: python benchmarks/pending_history.py [--rounds N]

One auto-approved $10 top-up through the tool (the pending lookups by fingerprint and by digest, the
write-ahead record and its settlement included), on the in-process sandbox, with 0, 10,000 and 100,000
unexpired pending rows of the same scope already in the SQLite file. The printed ratio is each median to
the 0-row median of the same run, so it holds on a noisy shared machine where absolute times do not.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from agent_billing import wire
from agent_billing.audit import MemoryAuditLog
from agent_billing.guardrails.mandate import Mandate
from agent_billing.guardrails.pending_outcomes import PendingOutcomes
from agent_billing.guardrails.spend_store import MemorySpendStore
from agent_billing.inprocess import sandbox_clients
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit


def median_call(rows: int, rounds: int, root: Path) -> float:
    client, aclient = sandbox_clients(create_app(rate_limit=False))
    client.add_payment_method("pm_card_visa", make_default=True)
    pending = PendingOutcomes(root / f"pending-{rows}.sqlite3")
    scope = f"{client.account_id}:fund_wallet"
    expires = int((datetime.now(timezone.utc) + timedelta(hours=1)).timestamp() * 1_000_000)
    args = wire.dumps({"amount": "1.00"})
    pending._conn.execute("BEGIN")
    pending._conn.executemany("INSERT INTO pending_outcomes_v3 VALUES (?, ?, ?, ?, ?, ?)",
                              ((scope, f"fp{i}", f"d{i}", f"ab_{i}", args, expires) for i in range(rows)))
    pending._conn.execute("COMMIT")
    toolkit = BillingToolkit(client=client, async_client=aclient, audit=MemoryAuditLog(), pending_outcomes=pending,
                             mandate=Mandate(max_per_charge="100", auto_approve=True), spend_store=MemorySpendStore())
    wallet = toolkit.get_tool("wallet")
    for _ in range(10):  # warm up
        wallet.invoke({"action": "fund", "amount": 10, "payment_method_id": "pm_card_visa"})
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        wallet.invoke({"action": "fund", "amount": 10, "payment_method_id": "pm_card_visa"})
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    rounds = parser.parse_args().rounds
    root = Path(tempfile.mkdtemp(prefix="agent-billing-bench-"))
    os.environ.setdefault("AGENT_BILLING_STATE_DIR", str(root))
    base = None
    for rows in (0, 10_000, 100_000):
        median = median_call(rows, rounds, root)
        base = base or median
        print(f"{rows:>7} pending rows: median {median * 1000:7.2f} ms per top-up, ratio {median / base:.2f}")


if __name__ == "__main__":
    main()
