"""Worker processes for the cross-process store tests (importable under ``spawn``)."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

TOKEN = "sk_sandbox_store"


def toolkit(base_url: str, store_url: str, state_dir: str, *, drops: int = 0, cap: str = "100") -> Any:
    """A toolkit of a separate host: its own state directory, the shared store, an auto-approving mandate."""
    os.environ["AGENT_BILLING_STATE_DIR"] = state_dir
    import httpx

    from agent_billing.audit import MemoryAuditLog
    from agent_billing.client import BillingClient
    from agent_billing.guardrails.mandate import Mandate
    from agent_billing.retry import RetryPolicy
    from agent_billing.tools import BillingToolkit

    transport: httpx.BaseTransport = httpx.HTTPTransport()
    if drops:
        from tests.client.test_resilience import DropResponses

        transport = DropResponses(transport, "/wallet/fund", drops=drops)
    client = BillingClient(base_url=base_url, token=TOKEN, transport=transport,
                           retry=RetryPolicy(max_retries=1, base_delay=0.01, jitter=False))
    return BillingToolkit(client=client, store=store_url, audit=MemoryAuditLog(),
                          mandate=Mandate(max_per_charge="10", max_per_24h=cap, auto_approve=True))


def fund(tk: Any, amount: int) -> dict[str, Any]:
    """One wallet top-up through the tool, as a model's tool call."""
    message = tk.get_tool("wallet").invoke({"type": "tool_call", "name": "wallet", "id": f"call_{uuid.uuid4().hex[:12]}",
                                            "args": {"action": "fund", "amount": amount}})
    result: dict[str, Any] = json.loads(str(message.content))
    return result


def race(base_url: str, store_url: str, state_dir: str, attempts: int, start: Any) -> list[dict[str, Any]]:
    """Wait for the start signal, then try ``attempts`` $10 top-ups as fast as possible."""
    tk = toolkit(base_url, store_url, state_dir)
    start.wait()
    return [fund(tk, 10) for _ in range(attempts)]


def lose_the_answer(base_url: str, store_url: str, state_dir: str) -> dict[str, Any]:
    """A $10 top-up whose responses are all lost after the sandbox committed it: an unknown outcome."""
    return fund(toolkit(base_url, store_url, state_dir, drops=5), 10)


def repeat(base_url: str, store_url: str, state_dir: str) -> dict[str, Any]:
    """The same top-up from another host: it must replay the first one's request, not charge again."""
    return fund(toolkit(base_url, store_url, state_dir), 10)


def reserve_many(store_url: str, index: int, count: int, start: Any) -> int:
    """Straight at the store, no HTTP in between: ``count`` $7 reservations against a $50 cap; how many were granted."""
    from datetime import datetime, timezone
    from decimal import Decimal

    from agent_billing.guardrails.store import open_store

    spend = open_store(store_url).for_account("acct").spend
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    spend.spent("default", now=now)  # connect (and migrate) before the start signal
    start.wait()
    return sum(spend.reserve("default", f"p{index}-{n}", Decimal("7"), limit=Decimal("50"), now=now).granted
               for n in range(count))


def reserve_at_the_edge(store_url: str, index: int, count: int, now_us: int, start: Any) -> int:
    """``count`` $5 reservations against a $100 cap at one instant (microseconds since the epoch), straight at
    the store, after the start signal; how many were granted."""
    from datetime import datetime, timedelta, timezone
    from decimal import Decimal

    from agent_billing.guardrails.store import open_store

    spend = open_store(store_url).for_account("acct").spend
    now = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=now_us)
    spend.spent("default", now=now)  # connect (and migrate) before the start signal
    start.wait()
    return sum(spend.reserve("default", f"edge{index}-{n}", Decimal("5"), limit=Decimal("100"), now=now).granted
               for n in range(count))
