"""Wire details of MCP 2026-07-28 over streamable HTTP: ``Mcp-Method``/``Mcp-Name`` required, ``ttlMs`` on lists,
and the W3C trace context in ``_meta`` passed to the flow.

The official client's own requests are recorded, then replayed raw with a header dropped or changed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.mcp.mcp_helpers import MODES, STATELESS, LoopbackHttp, content_of, http_session
from tests.tools import conftest as tool_fixtures
from tests.tools.conftest import MakeToolkit

from agent_billing.mcp import BillingMCPServer, ElicitationApprover
from agent_billing.mcp.server import LIST_TTL_MS

clients, make_toolkit = tool_fixtures.clients, tool_fixtures.make_toolkit  # the tool tests' fixtures, for pytest
TOKEN = "wire-" + "t0k" * 12
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def served(make_toolkit: MakeToolkit, tmp_path: Path) -> Iterator[tuple[str, BillingMCPServer]]:
    server = BillingMCPServer(make_toolkit(approval=ElicitationApprover(), store=f"sqlite:///{tmp_path / 's.db'}"))
    with LoopbackHttp(server.http_app(TOKEN)) as http:
        yield http.url, server


def _recorded(url: str, token: str = TOKEN) -> dict[str, tuple[dict[str, str], bytes]]:
    """The official 2026-07-28 client's requests (headers, body) by JSON-RPC method."""
    seen: dict[str, tuple[dict[str, str], bytes]] = {}

    async def run() -> None:
        async with http_session(url, token, mode=STATELESS) as client:
            listed = await client.list_tools()
            assert listed.ttl_ms == LIST_TTL_MS and listed.cache_scope == "private"
            await client.call_tool("wallet", {"action": "balance"})

    import mcp.shared._httpx_utils as utils

    made = utils.create_mcp_http_client

    def recording(*args: Any, **kwargs: Any) -> Any:
        http = made(*args, **kwargs)

        async def record(request: Any) -> None:
            body = request.content
            method = json.loads(body).get("method") if body else None
            if method:
                seen[method] = (dict(request.headers), body)

        http.event_hooks = {**http.event_hooks, "request": [*http.event_hooks.get("request", []), record]}
        return http

    from tests.mcp import mcp_helpers

    original = mcp_helpers.create_mcp_http_client
    mcp_helpers.create_mcp_http_client = recording  # type: ignore[assignment]
    try:
        asyncio.run(run())
    finally:
        mcp_helpers.create_mcp_http_client = original  # type: ignore[assignment]
    return seen


def _replay(url: str, headers: dict[str, str], body: bytes) -> httpx.Response:
    keep = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "host", "accept-encoding")}
    return httpx.post(url, content=body, headers=keep, timeout=30)


def test_mcp_method_and_name_headers_are_required_and_must_match(served: tuple[str, BillingMCPServer]) -> None:
    url, _ = served
    headers, body = _recorded(url)["tools/call"]
    assert headers["mcp-method"] == "tools/call" and headers["mcp-name"] == "wallet"
    assert _replay(url, headers, body).status_code == 200
    for dropped in ("mcp-method", "mcp-name"):
        refused = _replay(url, {k: v for k, v in headers.items() if k != dropped}, body)
        assert refused.status_code == 400 and "error" in refused.json(), (dropped, refused.text)
    refused = _replay(url, {**headers, "mcp-name": "payment_links"}, body)  # the header says one tool, the body another
    assert refused.status_code == 400, refused.text
    refused = _replay(url, {**headers, "mcp-method": "tools/list"}, body)  # a router would take it for a list
    assert refused.status_code == 400 and "mcp-method" in refused.text, refused.text


def test_mcp_method_is_required_on_a_list_too(served: tuple[str, BillingMCPServer]) -> None:
    url, _ = served
    headers, body = _recorded(url)["tools/list"]
    assert headers["mcp-method"] == "tools/list" and "mcp-name" not in headers
    assert _replay(url, headers, body).status_code == 200
    refused = _replay(url, {k: v for k, v in headers.items() if k != "mcp-method"}, body)
    assert refused.status_code == 400 and "mcp-method" in refused.text, refused.text


def test_tools_list_carries_ttl_ms_on_the_wire(served: tuple[str, BillingMCPServer]) -> None:
    url, _ = served
    headers, body = _recorded(url)["tools/list"]
    answer = _replay(url, headers, body)
    result = answer.json()["result"]
    assert result["ttlMs"] == LIST_TTL_MS and result["cacheScope"] == "private"
    assert [tool["name"] for tool in result["tools"]][:4] == ["billing", "payment_methods", "invoices", "wallet"]


@pytest.mark.parametrize("mode", MODES)
def test_the_trace_context_in_meta_reaches_the_flow(served: tuple[str, BillingMCPServer], mode: str) -> None:
    url, server = served
    seen: list[Any] = []
    tool = server._tools["wallet"]
    original = tool.ainvoke

    async def spy(value: Any, config: Any = None, **kwargs: Any) -> Any:
        seen.append((config or {}).get("metadata", {}).get("trace_context"))
        return await original(value, config, **kwargs)

    object.__setattr__(tool, "ainvoke", spy)

    async def run() -> None:
        async with http_session(url, TOKEN, mode=mode) as client:
            for parent in (TRACEPARENT, "00-garbage-01", None):
                meta: Any = {"traceparent": parent, "tracestate": "vendor=1"} if parent else None
                content, is_error = content_of(await client.call_tool("wallet", {"action": "balance"}, meta=meta))
                assert not is_error and content["ok"] is True

    asyncio.run(run())
    assert seen == [{"traceparent": TRACEPARENT, "tracestate": "vendor=1"}, None, None]
