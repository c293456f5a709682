"""No exception leaves a tool, whatever the provider answers (issue 18, item 4), sync and async.

Every operation tool of every provider, with an approver that says yes, is called while a real ASGI app
answers with odd statuses, headers and bodies (impossible numbers, junk, non-UTF-8 tails). The tool must
answer with its own content: a result, or a typed error; never ``internal_error`` (an exception the library
did not type), and a charge never reports success on an answer that cannot be read.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import ToolMessage
from tests.client.test_typed_failures import ANSWERABLE, OPERATIONS, QUICK, OddApp, _base_url, arguments, odd_answers

from agent_billing.audit import MemoryAuditLog
from agent_billing.client import provider_clients
from agent_billing.inprocess import SyncASGITransport, sandbox_clients
from agent_billing.registry import Operation, get_registry
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit


def _toolkit(provider: str, app: OddApp) -> BillingToolkit:
    sync_cls, async_cls = provider_clients(get_registry(provider))
    token = get_registry(provider).connection.sandbox_token
    client = sync_cls(base_url=_base_url(provider), token=token, transport=SyncASGITransport(app), provider=provider,
                      retry=QUICK)
    async_client = async_cls(base_url=_base_url(provider), token=token, transport=httpx.ASGITransport(app=app),
                             provider=provider, retry=QUICK)
    return BillingToolkit(client=client, async_client=async_client, audit=MemoryAuditLog(), provider=provider,
                          approval=lambda request: True, granularity="operation")


def _message(tool: Any, args: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_call", "name": tool.name, "args": args, "id": f"call_{uuid.uuid4().hex[:10]}"}


def _check(op: Operation, message: Any) -> None:
    assert isinstance(message, ToolMessage)
    content = json.loads(str(message.content))
    assert content.get("error") != "internal_error", f"{op.name}: {content}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), which=st.sampled_from(ANSWERABLE), use_async=st.booleans())
def test_odd_answers_never_escape_a_tool_untyped(data: st.DataObject, which: tuple[str, Operation, dict[str, Any]],
                                                 use_async: bool) -> None:
    provider, op, args = which
    app = OddApp()
    app.answer = data.draw(odd_answers(op))
    toolkit = _toolkit(provider, app)
    if not any(t.name == op.name for t in toolkit.get_tools()):
        return  # an operation this toolkit does not offer as a tool
    tool = toolkit.get_tool(op.name)
    message = asyncio.run(tool.ainvoke(_message(tool, args))) if use_async else tool.invoke(_message(tool, args))
    _check(op, message)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), which=st.sampled_from(OPERATIONS), use_async=st.booleans())
def test_any_arguments_never_escape_a_tool_untyped(data: st.DataObject, which: tuple[str, Operation],
                                                   use_async: bool) -> None:
    provider, op = which
    clients = sandbox_clients(create_app(rate_limit=False), provider=provider, retry=QUICK)
    toolkit = BillingToolkit(client=clients[0], async_client=clients[1], audit=MemoryAuditLog(), provider=provider,
                             approval=lambda request: True, granularity="operation")
    if not any(t.name == op.name for t in toolkit.get_tools()):
        return
    tool = toolkit.get_tool(op.name)
    args = data.draw(arguments(op))
    message = asyncio.run(tool.ainvoke(_message(tool, args))) if use_async else tool.invoke(_message(tool, args))
    _check(op, message)
