"""The server loaded through ``langchain-mcp-adapters`` (LangChain tools over MCP), approvals by its elicitation callback."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from langchain_mcp_adapters.callbacks import Callbacks
from langchain_mcp_adapters.client import MultiServerMCPClient
from langchain_mcp_adapters.tools import load_mcp_tools
from tests.mcp.mcp_helpers import server_env

from agent_billing.client import BillingClient
from agent_billing.sandbox.server import SandboxServer
from mcp import types

TOKEN = "sk_mcp_adapters"


def test_tools_through_langchain_mcp_adapters(tmp_path: Path) -> None:
    asked: list[str] = []

    async def approve(context: Any, params: types.ElicitRequestParams, callback_context: Any) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={})

    with SandboxServer(tokens=(TOKEN,), rate_limit=False) as sandbox:
        ledger = BillingClient(base_url=sandbox.base_url, token=TOKEN)
        ledger.add_payment_method("pm_card_visa", make_default=True)
        client = MultiServerMCPClient(
            {"billing": {"transport": "stdio", "command": sys.executable, "args": ["-m", "agent_billing.mcp"],
                         "env": server_env(sandbox.base_url, TOKEN, tmp_path)}},
            callbacks=Callbacks(on_elicitation=approve))

        async def run() -> tuple[list[str], Any, Any]:
            async with client.session("billing") as session:
                tools = {tool.name: tool for tool in await load_mcp_tools(session)}
                balance = await tools["wallet"].ainvoke({"action": "balance"})
                funded = await tools["wallet"].ainvoke({"action": "fund", "amount": 15})
                return list(tools), balance, funded

        names, balance, funded = asyncio.run(run())
        assert names[:4] == ["billing", "payment_methods", "invoices", "wallet"]
        assert json.loads(_text(balance))["result"]["balance"] == "0.00"
        assert json.loads(_text(funded))["ok"] is True and len(asked) == 1 and "$15.00" in asked[0]
        assert ledger.get_wallet_balance().balance == 15


def _text(result: Any) -> str:
    """The text of an adapter tool's result (a string, or content blocks)."""
    if isinstance(result, str):
        return result
    blocks = result[0] if isinstance(result, tuple) else result
    return "".join(block["text"] if isinstance(block, dict) else str(block) for block in blocks)
