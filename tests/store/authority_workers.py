"""Worker processes for the spend-authority acceptance test (importable under ``spawn``)."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

TOKEN = "sk_sandbox_authority"


def spend(base_url: str, store_url: str, state_dir: str, agent: str, amount: int, attempts: int,
          start: Any) -> list[dict[str, Any]]:
    """A separate host running ``agent``: after the start signal, ``attempts`` top-ups of ``amount``."""
    os.environ["AGENT_BILLING_STATE_DIR"] = state_dir
    from agent_billing.audit import MemoryAuditLog
    from agent_billing.client import BillingClient
    from agent_billing.tools import BillingToolkit

    toolkit = BillingToolkit(client=BillingClient(base_url=base_url, token=TOKEN), store=store_url,
                             audit=MemoryAuditLog(), agent=agent)
    wallet = toolkit.get_tool("wallet")
    wallet.invoke({"type": "tool_call", "name": "wallet", "id": "warm", "args": {"action": "balance"}})
    toolkit.guard.authorities.list()  # connect (and migrate) before the start signal
    start.wait(timeout=60)
    results = []
    for _ in range(attempts):
        message = wallet.invoke({"type": "tool_call", "name": "wallet", "id": f"call_{uuid.uuid4().hex[:12]}",
                                 "args": {"action": "fund", "amount": amount}})
        results.append(json.loads(str(message.content)))
    return results
