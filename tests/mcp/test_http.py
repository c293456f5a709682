"""Streamable HTTP: loopback only, foreign Host or Origin refused, tools served to the real ``mcp`` client."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp.client.streamable_http import streamable_http_client

from mcp import ClientSession

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("http")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_BILLING_")}
    env["AGENT_BILLING_STATE_DIR"] = str(state)
    process = subprocess.Popen([sys.executable, "-m", "agent_billing.mcp", "--http", "--port", "0", "--sandbox",
                                "--actions", "read_only"], env=env, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    url, deadline = "", time.monotonic() + 60
    while not url and time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        if "streamable HTTP at " in line:
            url = line.split("streamable HTTP at ")[1].split()[0]
    try:
        assert url.startswith("http://127.0.0.1:"), "the server did not announce its loopback URL"
        yield url
    finally:
        process.terminate()
        process.wait(10)


def test_listens_on_loopback_only(served: str) -> None:
    port = int(served.rsplit(":", 1)[1].split("/")[0])
    table = Path("/proc/net/tcp")
    if not table.exists():
        pytest.skip("needs Linux's /proc/net/tcp")
    listening = [line.split()[1] for line in table.read_text().splitlines()[1:]
                 if line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "0A"]
    assert listening == [f"0100007F:{port:04X}"]  # 127.0.0.1, not 0.0.0.0


def test_foreign_host_and_origin_are_refused(served: str) -> None:
    host = served.split("/")[2]
    assert httpx.post(served, json=INITIALIZE, headers={**HEADERS, "Host": "billing.evil.example"}).status_code == 421
    refused = httpx.post(served, json=INITIALIZE, headers={**HEADERS, "Origin": "http://evil.example"})
    assert refused.status_code == 403
    allowed = httpx.post(served, json=INITIALIZE, headers={**HEADERS, "Host": host, "Origin": f"http://{host}"})
    assert allowed.status_code == 200


def test_tools_over_streamable_http(served: str) -> None:
    async def session() -> tuple[list[str], str]:
        async with streamable_http_client(served) as (read, write, _), ClientSession(read, write) as client:
            await client.initialize()
            tools = await client.list_tools()
            balance = await client.call_tool("wallet", {"action": "balance"})
            return [tool.name for tool in tools.tools], balance.content[0].text  # type: ignore[union-attr]

    names, balance = asyncio.run(session())
    assert "wallet" in names and "payment_links" not in names  # read_only: no group without a read
    assert '"ok":true' in balance
