"""Fixtures for the tool tests: a toolkit factory over the in-process sandbox, and a tool-call helper."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from tests.conftest import TOKEN

from agent_billing.audit import MemoryAuditLog
from agent_billing.client import AsyncBillingClient, BillingClient
from agent_billing.inprocess import sandbox_clients
from agent_billing.tools import BillingToolkit

MakeToolkit = Callable[..., BillingToolkit]


@pytest.fixture
def clients(sandbox_app: Any) -> Iterator[tuple[BillingClient, AsyncBillingClient]]:
    sync_client, async_client = sandbox_clients(sandbox_app, token=TOKEN)
    yield sync_client, async_client
    sync_client.close()


@pytest.fixture
def make_toolkit(clients: tuple[BillingClient, AsyncBillingClient]) -> MakeToolkit:
    def make(**kwargs: Any) -> BillingToolkit:
        kwargs.setdefault("audit", MemoryAuditLog())
        kwargs.setdefault("poll_interval", (0.01, 0.05))
        return BillingToolkit(client=clients[0], async_client=clients[1], **kwargs)

    return make


def call(tool: BaseTool, call_id: str | None = None, **args: Any) -> tuple[dict[str, Any], ToolMessage]:
    """Invoke ``tool`` as a model's tool call; return (parsed content, the ToolMessage)."""
    message = tool.invoke({"type": "tool_call", "name": tool.name, "args": args,
                           "id": call_id or f"call_{uuid.uuid4().hex[:10]}"})
    assert isinstance(message, ToolMessage)
    return json.loads(str(message.content)), message


async def acall(tool: BaseTool, call_id: str | None = None, **args: Any) -> tuple[dict[str, Any], ToolMessage]:
    """Async form of ``call``."""
    message = await tool.ainvoke({"type": "tool_call", "name": tool.name, "args": args,
                                  "id": call_id or f"call_{uuid.uuid4().hex[:10]}"})
    assert isinstance(message, ToolMessage)
    return json.loads(str(message.content)), message
