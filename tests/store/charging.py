"""What the store tests do to the sandbox: a top-up as a model's tool call, and the ledger read back."""

from __future__ import annotations

import asyncio
import json
import os
from decimal import Decimal
from typing import Any

from tests.conftest import TOKEN

from agent_billing.client import BillingClient
from agent_billing.inprocess import SANDBOX_BASE_URL, SyncASGITransport
from agent_billing.tools import BillingToolkit


def fund(toolkit: BillingToolkit, mode: str = "sync", amount: int = 25, **args: Any) -> dict[str, Any]:
    """One top-up as a model's tool call (a new tool-call id every time), sync or async; ``args`` add to it."""
    tool = toolkit.get_tool("wallet")
    call = {"type": "tool_call", "name": "wallet", "args": {"action": "fund", "amount": amount, **args},
            "id": f"call_{os.urandom(5).hex()}"}
    message = asyncio.run(tool.ainvoke(call)) if mode == "async" else tool.invoke(call)
    result: dict[str, Any] = json.loads(str(message.content))
    return result


def charges(app: Any) -> tuple[Decimal, int]:
    """The sandbox ledger: the wallet balance and the number of transactions."""
    plain = BillingClient(base_url=SANDBOX_BASE_URL, token=TOKEN, transport=SyncASGITransport(app))
    return plain.get_wallet_balance().balance, len(plain.get_wallet_transactions().items)
