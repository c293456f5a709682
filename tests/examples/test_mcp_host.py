"""The MCP host configuration example: its sandbox entry starts as written and serves the tools over stdio."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from mcp.client.stdio import stdio_client

from mcp import ClientSession, StdioServerParameters

ROOT = Path(__file__).resolve().parents[2]
# The example host configuration, and the plugin's own (a plugin user tries it offline first).
CONFIGS = [ROOT / "examples" / "mcp_host" / "mcp_config.json", ROOT / ".mcp.json"]


def _expand(value: str, env: dict[str, str]) -> str:
    """``${VAR}`` and ``${VAR:-default}`` the way hosts expand them."""
    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_the_sandbox_entry_serves_the_tools_offline(config: Path, tmp_path: Path) -> None:
    entry = json.loads(config.read_text())["mcpServers"]["agent-billing-sandbox"]
    command = shutil.which(entry["command"])
    assert command, "the agent-billing console script is installed with the package"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_BILLING_", "MODELSLAB_"))}
    env["AGENT_BILLING_STATE_DIR"] = str(tmp_path / "state")
    env.update({key: _expand(value, env) for key, value in entry["env"].items()})
    params = StdioServerParameters(command=command, args=entry["args"], env=env)

    async def session() -> tuple[list[str], dict[str, object]]:
        with (tmp_path / "server.log").open("w") as errors:
            async with stdio_client(params, errlog=errors) as (read, write), \
                    ClientSession(read, write, read_timeout_seconds=60) as client:
                await client.initialize()
                tools = [tool.name for tool in (await client.list_tools()).tools]
                result = await client.call_tool("wallet", {"action": "balance"})
                return tools, json.loads(result.content[0].text)  # type: ignore[union-attr]

    tools, balance = asyncio.run(asyncio.wait_for(session(), 120))
    assert "wallet" in tools and "payment_links" in tools
    assert balance["ok"] is True and balance["result"]["balance"] == "0.00"
