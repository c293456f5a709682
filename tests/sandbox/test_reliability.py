"""Nothing lost, nothing doubled: money-moving tool calls under a seeded mix of every injected fault.

Auto-approved calls inside a mandate (top-ups with and without a named card, charges to the default
card, bonus-coupon purchases) run against a sandbox that drops answers after committing, fails before
committing, holds answers past the timeout, resets connections, rate-limits and garbles bodies. Then
the faults stop and every call whose outcome was unknown is reconciled the documented way: the same
call again (which replays under its key). Afterwards, read from the ledger:

- every call the tools reported as done is in it exactly once (count and amount of card payments);
- nothing reported as failed moved money (the same equality leaves no room for it);
- no call is left unknown after reconciliation;
- the ledger's own invariants hold, and the mandate's recorded spend equals the ledger's charges.

CI runs ``AGENT_BILLING_RELIABILITY_CALLS`` (default 150) calls; the full run is 1,000:
``AGENT_BILLING_RELIABILITY_CALLS=1000 pytest -q -p no:cacheprovider tests/sandbox/test_reliability.py``.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import TOKEN
from tests.tools.conftest import call

from agent_billing.audit import MemoryAuditLog
from agent_billing.errors import BillingError
from agent_billing.guardrails.approval_records import ApprovalRecords
from agent_billing.guardrails.mandate import Mandate
from agent_billing.guardrails.pending_outcomes import PendingOutcomes
from agent_billing.guardrails.spend_store import SqliteSpendStore
from agent_billing.inprocess import sandbox_clients
from agent_billing.retry import RetryPolicy
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit

FAULTS = "drop_after_commit=0.08,error_before_commit=0.08,delay=0.08,reset=0.08,rate_limit=0.08,garble=0.08"
CALLS = int(os.environ.get("AGENT_BILLING_RELIABILITY_CALLS", "150"))
# Retries are quick and the server's 1 s Retry-After exceeds the budget: no real waiting in the suite.
RETRY = RetryPolicy(max_retries=2, base_delay=0.001, max_delay=0.002, max_total_wait=0.5, jitter=False)


def _plan(rng: random.Random, count: int) -> list[tuple[str, dict[str, Any], int]]:
    """(tool, arguments, cents) per call; every amount differs, so no two calls are the same charge."""
    calls: list[tuple[str, dict[str, Any], int]] = []
    for i in range(count):
        cents = 2500 + i  # $25.00 and up, a cent more each call
        amount = Decimal(cents) / 100
        kind = rng.choice(["fund", "fund_named", "charge", "charge", "coupon"])
        if kind == "fund":
            calls.append(("wallet", {"action": "fund", "amount": str(amount)}, cents))
        elif kind == "fund_named":
            calls.append(("wallet", {"action": "fund", "amount": str(amount), "payment_method_id": "pm_card_visa"},
                          cents))
        elif kind == "charge":
            calls.append(("subscriptions", {"action": "charge_amount", "amount": str(amount)}, cents))
        else:  # BONUS20 works once per account: the later purchases fail for a known reason
            calls.append(("coupons", {"action": "redeem", "coupon_code": "BONUS20", "purchase_amount": str(amount),
                                      "payment_method_id": "pm_card_visa"}, cents))
    return calls


@pytest.mark.parametrize("seed", [7, 2026])
def test_nothing_lost_or_doubled_under_faults(tmp_path: Path, seed: int) -> None:
    app = create_app(tokens=(TOKEN,), rate_limit=False, faults=FAULTS, fault_seed=seed)
    client, _ = sandbox_clients(app, token=TOKEN, retry=RETRY)
    # Making a card the default is a standing authorisation, so it is faulted too: repeat it under one key
    # (as a host would after an unknown outcome) until an answer arrives.
    for _ in range(50):
        try:
            client.add_payment_method("pm_card_visa", make_default=True, idempotency_key=f"card-{seed}")
            break
        except BillingError:
            continue
    else:
        pytest.fail("the card was never added")
    store = SqliteSpendStore(tmp_path / "spend.db")
    toolkit = BillingToolkit(
        client=client, mandate=Mandate(max_per_charge="100", max_per_24h="1000000", auto_approve=True),
        spend_store=store, audit=MemoryAuditLog(), pending_outcomes=PendingOutcomes(tmp_path / "pending.db"),
        approval_records=ApprovalRecords(tmp_path / "approvals.db"),
    )
    calls = _plan(random.Random(seed), CALLS)
    results: dict[int, dict[str, Any]] = {}
    for i, (tool, args, _) in enumerate(calls):
        results[i] = call(toolkit.get_tool(tool), f"call_{i}", **args)[0]
    first_pass = Counter("ok" if r["ok"] else r["error"] for r in results.values())
    assert first_pass["outcome_unknown"] > 0 and app.state.faults.counts["none"] < CALLS  # the faults did bite

    # Reconcile: the network is healthy again; repeat every call whose outcome is unknown, as documented.
    app.state.faults.faults = {}
    for i, result in results.items():
        if not result["ok"] and result["error"] == "outcome_unknown":
            tool, args, _ = calls[i]
            results[i] = call(toolkit.get_tool(tool), f"reconcile_{i}", **args)[0]
    assert not [i for i, r in results.items() if not r["ok"] and r["error"] == "outcome_unknown"]

    done = [calls[i][2] for i, r in results.items() if r["ok"]]
    rows = app.state.sandbox.ledger.rows("SELECT amount_cents FROM payment_intents WHERE status = 'succeeded'")
    charged = sorted(row[0] for row in rows)
    assert charged == sorted(done), "every call reported done is in the ledger exactly once, and nothing else is"
    app.state.sandbox.ledger.check_invariants()
    print(f"\nseed {seed}: {CALLS} calls; faults {dict(app.state.faults.counts)}; first answers {dict(first_pass)}; "
          f"done after reconciliation {len(done)}, charged {len(charged)}")
    spent = store.spent("default", now=datetime.now(timezone.utc))
    assert spent == Decimal(sum(done)) / 100, "the mandate's recorded spend equals the ledger's charges"
