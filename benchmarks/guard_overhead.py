"""Per-call overhead of the guard pipeline against a direct client call, both on the in-process sandbox.

Run: python benchmarks/guard_overhead.py [--rounds N]

Each pair runs interleaved in the same process (the direct call is the baseline of the same run), so
the printed ratios hold on a noisy shared machine where absolute times do not.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal

from agent_billing.audit import MemoryAuditLog
from agent_billing.guardrails.card_data import scan_arguments
from agent_billing.guardrails.mandate import Mandate
from agent_billing.guardrails.spend_store import MemorySpendStore
from agent_billing.inprocess import sandbox_clients
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit


def timed(fn: Callable[[], object], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=300)
    rounds = parser.parse_args().rounds

    # The toolkit keeps pending outcomes and approval records on disk: keep them out of the home directory.
    os.environ.setdefault("AGENT_BILLING_STATE_DIR", tempfile.mkdtemp(prefix="agent-billing-bench-"))
    client, aclient = sandbox_clients(create_app(rate_limit=False))
    client.add_payment_method("pm_card_visa", make_default=True)
    toolkit = BillingToolkit(client=client, async_client=aclient, audit=MemoryAuditLog(),
                             mandate=Mandate(max_per_charge="100", auto_approve=True), spend_store=MemorySpendStore())
    wallet = toolkit.get_tool("wallet")

    pairs = {
        "read: balance": (lambda: client.get_wallet_balance(), lambda: wallet.invoke({"action": "balance"})),
        "charge: fund $10 (mandate auto-approve)": (
            lambda: client.fund_wallet(Decimal("10"), "pm_card_visa"),
            lambda: wallet.invoke({"action": "fund", "amount": 10, "payment_method_id": "pm_card_visa"})),
        # Without a card id the intent resolves the default card (one read), then sends its id.
        "charge: fund $10, default card (resolved)": (
            lambda: client.fund_wallet(Decimal("10")),
            lambda: wallet.invoke({"action": "fund", "amount": 10})),
    }
    # Warm up both paths (imports, connection pools, SQLite pages).
    for direct, guarded in pairs.values():
        for _ in range(20):
            direct()
            guarded()

    print(f"{'call':<42} {'direct ms':>10} {'tool ms':>9} {'ratio':>7}")
    for name, (direct, guarded) in pairs.items():
        d_samples, g_samples = [], []
        for _ in range(rounds // 10):  # interleave blocks so drift hits both alike
            d_samples += timed(direct, 10)
            g_samples += timed(guarded, 10)
        d, g = statistics.median(d_samples) * 1000, statistics.median(g_samples) * 1000
        print(f"{name:<42} {d:>10.3f} {g:>9.3f} {g / d:>6.2f}x")

    args = {"action": "update_info", "name": "Acme Corp", "email": "billing@acme.example", "tax_id": "EU123456789",
            "address_line1": "123 AI Street", "address_city": "San Francisco", "address_postal_code": "94105",
            "address_country": "US"}
    scan = statistics.median(timed(lambda: scan_arguments(args), 2000)) * 1e6
    big = "lorem ipsum 12345 " * 6000
    scan_big = statistics.median(timed(lambda: scan_arguments({"note": big}), 20)) * 1000
    print(f"\ncard-data scan, billing-info arguments: {scan:.1f} us; a {len(big) // 1000} KB string: {scan_big:.1f} ms")
    client.close()


if __name__ == "__main__":
    main()
