"""The plugin's MCP host configuration (``.mcp.json``), generated from the providers' declarations.

Each provider's connection variables (``Connection.token_variables``, ``base_url_variables`` and
``setting_variables``, the first of each) are passed on as placeholders, never values, so adding a provider
adds its variables here without an edit. ``python -m agent_billing.host_config`` rewrites the file;
``--check`` only compares (a test runs it).

Example:
    >>> servers = mcp_config()["mcpServers"]
    >>> sorted(servers), servers[SERVER]["args"], servers[SERVER + "-sandbox"]["args"]
    (['agent-billing', 'agent-billing-sandbox'], ['mcp'], ['mcp', '--sandbox'])
    >>> servers[SERVER]["env"]["AGENT_BILLING_ACTIONS"]
    '${AGENT_BILLING_ACTIONS:-full}'
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from agent_billing.guardrails.store import STORE_URL_ENV
from agent_billing.mcp.options import ENVIRONMENT
from agent_billing.registry import default_provider, get_registry, provider_names

SERVER = "agent-billing"
TARGET = Path(__file__).resolve().parents[2] / ".mcp.json"  # the repository's, beside .claude-plugin/
STATE_DIR_ENV = "AGENT_BILLING_STATE_DIR"


def _placeholder(name: str, default: str = "") -> str:
    return "${" + name + ":-" + default + "}"


def provider_variables() -> list[str]:
    """The first key, base URL and setting variable of each provider's connection, providers in order.

    Example:
        >>> all(get_registry(name).connection.token_variables[0] in provider_variables()
        ...     for name in provider_names() if get_registry(name).connection.token_variables)
        True
    """
    out: list[str] = []
    for name in provider_names():
        connection = get_registry(name).connection
        for variables in (connection.token_variables, connection.base_url_variables, connection.setting_variables):
            if variables and variables[0] not in out:
                out.append(variables[0])
    return out


def mcp_config() -> dict[str, Any]:
    """The ``.mcp.json`` document: the real API's server and the offline sandbox's."""
    common = {ENVIRONMENT["provider"]: _placeholder(ENVIRONMENT["provider"], default_provider()),
              ENVIRONMENT["actions"]: _placeholder(ENVIRONMENT["actions"], "full")}
    live = {**common, **{name: _placeholder(name) for name in (
        ENVIRONMENT["max_per_charge"], ENVIRONMENT["max_per_24h"], STORE_URL_ENV, *provider_variables())}}
    return {"mcpServers": {
        SERVER: {"command": SERVER, "args": ["mcp"], "env": live},
        SERVER + "-sandbox": {"command": SERVER, "args": ["mcp", "--sandbox"],
                              "env": {**common, STATE_DIR_ENV: _placeholder(STATE_DIR_ENV)}},
    }}


def render() -> str:
    """``mcp_config()`` as the file's text."""
    return json.dumps(mcp_config(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write ``.mcp.json`` (``--check``: only report whether it is out of date, exit 1 if so).

    Example:
        >>> main(["--check"])
        0
    """
    if "--check" in (sys.argv[1:] if argv is None else argv):
        if not TARGET.exists() or TARGET.read_text() != render():
            print(f"{TARGET} is out of date: run python -m agent_billing.host_config", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(render())
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
