"""The repository as a Claude Code plugin and marketplace: the three files are valid and every path they name exists."""

from __future__ import annotations

import json
import re
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from agent_billing import __version__, host_config
from agent_billing.cli import build_parser
from agent_billing.mcp.options import ENVIRONMENT
from agent_billing.registry import get_registry, provider_names

ROOT = Path(__file__).resolve().parents[2]
KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def _load(relative: str) -> dict[str, Any]:
    data = json.loads((ROOT / relative).read_text())
    assert isinstance(data, dict)
    return data


def _exists(base: Path, path: str) -> bool:
    assert path.startswith("./"), f"plugin paths are relative and start with ./ ({path!r})"
    return (base / path).exists()


def test_plugin_manifest() -> None:
    plugin = _load(".claude-plugin/plugin.json")
    assert KEBAB.match(plugin["name"]) and plugin["version"] == __version__
    for field in ("description", "license"):
        assert isinstance(plugin[field], str) and plugin[field]
    # Not yet on PyPI: no link to a page that does not exist, and the description says how to install.
    assert "pypi.org" not in json.dumps(plugin) and "[mcp]" in plugin["description"]
    assert plugin["author"]["name"] and plugin["keywords"] and "mcp" in plugin["keywords"]
    assert _exists(ROOT, plugin["skills"]) and _exists(ROOT, plugin["mcpServers"])
    skills = sorted(p for p in (ROOT / plugin["skills"]).iterdir() if p.is_dir())
    assert skills
    for folder in skills:
        head = (folder / "SKILL.md").read_text().split("---")[1]
        assert re.search(rf"^name: {re.escape(folder.name)}$", head, re.M), folder  # a skill's name is its folder


def test_marketplace_lists_the_plugin() -> None:
    market, plugin = _load(".claude-plugin/marketplace.json"), _load(".claude-plugin/plugin.json")
    assert KEBAB.match(market["name"]) and market["owner"]["name"]
    [entry] = market["plugins"]
    assert entry["name"] == plugin["name"] and entry["version"] == plugin["version"] and entry["description"]
    assert _exists(ROOT, entry["source"]) and (ROOT / entry["source"] / ".claude-plugin" / "plugin.json").exists()


def test_mcp_json_runs_the_mcp_command_with_placeholders() -> None:
    servers = _load(".mcp.json")["mcpServers"]
    # The real API, and an offline sandbox entry a plugin user can try with no account.
    assert set(servers) == {"agent-billing", "agent-billing-sandbox"}
    assert "--sandbox" in servers["agent-billing-sandbox"]["args"] and "--sandbox" not in servers["agent-billing"]["args"]
    scripts = {point.name for point in entry_points(group="console_scripts")}
    # Every provider's own key, base URL (and path) variables, from its declaration, may be passed on.
    connections = [get_registry(name).connection for name in provider_names()]
    provider_variables = {v for c in connections
                          for v in (*c.token_variables, *c.base_url_variables, *c.setting_variables)}
    known = {"AGENT_BILLING_STORE_URL", "AGENT_BILLING_STATE_DIR", *ENVIRONMENT.values(), *provider_variables}
    for server in servers.values():
        assert server["command"] in scripts and server["args"][0] == "mcp"
        assert build_parser().parse_args(server["args"]).command == "mcp"
        for name, value in server["env"].items():
            assert name in known, name
            assert re.fullmatch(r"\$\{" + name + r"(:-[^}]*)?\}", value), (name, value)  # a placeholder, no secret


def test_mcp_json_is_generated_from_the_providers_declarations() -> None:
    # The checked-in file is exactly what the declarations give (python -m agent_billing.host_config rewrites it).
    assert (ROOT / ".mcp.json").read_text() == host_config.render(), "run: python -m agent_billing.host_config"
    assert host_config.main(["--check"]) == 0
    env = _load(".mcp.json")["mcpServers"]["agent-billing"]["env"]
    for name in provider_names():
        connection = get_registry(name).connection
        for variables in (connection.token_variables, connection.base_url_variables, connection.setting_variables):
            assert not variables or variables[0] in env, (name, variables)


def test_a_new_providers_variables_reach_the_generated_file(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from agent_billing import registry

    base = get_registry(provider_names()[-1])
    moved = replace(base, provider="acme_host_config", connection=replace(
        base.connection, token_variables=("ACME_KEY",), base_url_variables=(), setting_variables=("ACME_REGION",)))
    monkeypatch.setitem(registry._REGISTRIES, "acme_host_config", lambda: moved)  # removed again after the test
    env = host_config.mcp_config()["mcpServers"]["agent-billing"]["env"]
    assert env["ACME_KEY"] == "${ACME_KEY:-}" and env["ACME_REGION"] == "${ACME_REGION:-}"
    assert host_config.main(["--check"]) == 1  # the checked-in file lacks them now
