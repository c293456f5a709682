"""LangChain's own MCP client (``langchain.mcp``) drives the server: the approval arrives as a LangGraph interrupt.

The server runs as a host would start it (stdio, ``python -m agent_billing.mcp``) against a sandbox on loopback.
A LangGraph graph calls the ``wallet`` tool; the server's approval form (an ``input_required`` round) stops
the run with an ``mcp_elicitation`` interrupt; the person's answer resumes it. The ledger says what moved.
"""

from __future__ import annotations

import asyncio
import json
import sys
import warnings
from pathlib import Path
from typing import Any, TypedDict

import pytest
from langchain_core._api import LangChainBetaWarning
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.types import Command
from tests.mcp.mcp_helpers import server_env

from agent_billing.client import BillingClient
from agent_billing.sandbox.server import SandboxServer

with warnings.catch_warnings():
    warnings.simplefilter("ignore", LangChainBetaWarning)
    from fastmcp.client import Client
    from fastmcp.client.transports import StdioTransport
    from langchain.mcp import MCPAdapter

TOKEN = "sk_langchain_mcp"


class State(TypedDict, total=False):
    result: Any


def _text(result: Any) -> dict[str, Any]:
    blocks = result if isinstance(result, list) else [result]
    text = "".join(block["text"] if isinstance(block, dict) else str(block) for block in blocks)
    return dict(json.loads(text))


@pytest.mark.parametrize(("answer", "moved"), [("accept", 15), ("decline", 0)])
def test_the_approval_is_a_langgraph_interrupt_and_the_answer_resumes_the_run(tmp_path: Path, answer: str,
                                                                               moved: int) -> None:
    with SandboxServer(tokens=(TOKEN,), rate_limit=False) as sandbox:
        ledger = BillingClient(base_url=sandbox.base_url, token=TOKEN)
        ledger.add_payment_method("pm_card_visa", make_default=True)
        transport = StdioTransport(command=sys.executable, args=["-m", "agent_billing.mcp"],
                                   env=server_env(sandbox.base_url, TOKEN, tmp_path))

        async def run() -> tuple[dict[str, Any], dict[str, Any]]:
            async with MCPAdapter(Client(transport)) as adapter:
                tools = {tool.name: tool for tool in await adapter.list_tools()}

                async def call(state: State) -> State:
                    return {"result": await tools["wallet"].ainvoke({"action": "fund", "amount": 15})}

                graph = StateGraph(State)
                graph.add_node("call", call)
                graph.add_edge(START, "call")
                app = graph.compile(checkpointer=InMemorySaver())
                config: Any = {"configurable": {"thread_id": "billing"}}
                stopped = await app.ainvoke({}, config)
                assert ledger.get_wallet_balance().balance == 0  # asking moved nothing
                resumed = await app.ainvoke(Command(resume={"responses": {"approval": {"action": answer,
                                                                                        "content": {}}}}), config)
                return stopped, resumed

        stopped, resumed = asyncio.run(asyncio.wait_for(run(), 60))
        [interrupt] = stopped["__interrupt__"]
        assert interrupt.value["type"] == "mcp_elicitation" and interrupt.value["tool_name"] == "wallet"
        [request] = interrupt.value["requests"]
        assert request["key"] == "approval" and request["mode"] == "form"
        assert request["requested_schema"] == {"type": "object", "properties": {}}  # yes or no: no fields
        assert "$15.00" in request["message"] and "4242" in request["message"]
        content = _text(resumed["result"])
        assert content["ok"] is (answer == "accept"), content
        assert ledger.get_wallet_balance().balance == moved
