"""Packaging for MCP hosts beside the Claude plugin: the MCP registry's ``server.json`` and the desktop-extension
``manifest.json`` (MCPB), checked against the rules of their published schemas and against the code itself.

The published schemas are not vendored (no offline copy here to cite); the rules below restate the required
structure from them (registry ``server.schema.json`` 2025-09-29,
https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json; MCPB ``manifest_version`` 0.3,
https://github.com/modelcontextprotocol/mcpb/blob/main/MANIFEST.md) as JSON Schema, and validate with
``jsonschema``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema

from agent_billing import __version__
from agent_billing.mcp.options import ENVIRONMENT
from agent_billing.registry import provider_names

ROOT = Path(__file__).resolve().parents[2]
RANGE = re.compile(r"[\^~*<>=x]|\.x$|latest")
INPUT = {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string"}, "description": {"type": "string"}, "isRequired": {"type": "boolean"},
    "isSecret": {"type": "boolean"}, "default": {"type": "string"}, "choices": {"type": "array", "items": {"type": "string"}},
    "format": {"enum": ["string", "number", "boolean", "filepath"]}}}
SERVER_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["$schema", "name", "description", "version"],
    "properties": {
        "name": {"type": "string", "pattern": r"^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$", "minLength": 3, "maxLength": 200},
        "description": {"type": "string", "minLength": 1, "maxLength": 100},
        "version": {"type": "string", "maxLength": 255},
        "packages": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["registryType", "identifier", "version", "transport"],
            "properties": {
                "registryType": {"type": "string"}, "registryBaseUrl": {"type": "string"},
                "identifier": {"type": "string"}, "version": {"type": "string", "minLength": 1, "not": {"const": "latest"}},
                "fileSha256": {"type": "string", "pattern": "^[a-f0-9]{64}$"}, "runtimeHint": {"type": "string"},
                "transport": {"type": "object", "required": ["type"],
                              "properties": {"type": {"enum": ["stdio", "streamable-http", "sse"]}}},
                "runtimeArguments": {"type": "array"}, "packageArguments": {"type": "array"},
                "environmentVariables": {"type": "array", "items": INPUT}}}}}}
MANIFEST_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["manifest_version", "name", "version", "description", "author", "server"],
    "properties": {
        "manifest_version": {"const": "0.3"}, "name": {"type": "string", "pattern": "^[a-z0-9-]+$"},
        "version": {"type": "string"}, "description": {"type": "string", "minLength": 1},
        "author": {"type": "object", "required": ["name"]},
        "server": {"type": "object", "required": ["type", "entry_point", "mcp_config"], "properties": {
            "type": {"enum": ["node", "python", "binary", "uv"]}, "entry_point": {"type": "string"},
            "mcp_config": {"type": "object", "required": ["command"], "properties": {
                "command": {"type": "string"}, "args": {"type": "array", "items": {"type": "string"}},
                "env": {"type": "object", "additionalProperties": {"type": "string"}}}}}},
        "user_config": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["type", "title", "description"],
            "properties": {"type": {"enum": ["string", "number", "boolean", "directory", "file"]},
                           "sensitive": {"type": "boolean"}, "required": {"type": "boolean"}}}}}}


def _load(name: str) -> dict[str, Any]:
    data = json.loads((ROOT / name).read_text())
    assert isinstance(data, dict)
    return data


def test_registry_server_json() -> None:
    server = _load("server.json")
    jsonschema.validate(server, SERVER_SCHEMA)
    assert server["version"] == __version__ and not RANGE.search(server["version"])
    [package] = server["packages"]
    assert package["version"] == __version__ and package["transport"] == {"type": "stdio"}
    assert [argument["value"] for argument in package["packageArguments"]] == ["mcp"]
    variables = {item["name"]: item for item in package["environmentVariables"]}
    assert set(variables) <= set(ENVIRONMENT.values()) | {"AGENT_BILLING_TOKEN", "AGENT_BILLING_STORE_URL"}
    assert variables["AGENT_BILLING_PROVIDER"]["choices"] == provider_names()
    for secret in ("AGENT_BILLING_TOKEN", "AGENT_BILLING_STORE_URL"):  # a store URL may hold a password
        assert variables[secret]["isSecret"] is True


def test_desktop_extension_manifest() -> None:
    manifest = _load("manifest.json")
    jsonschema.validate(manifest, MANIFEST_SCHEMA)
    assert manifest["version"] == __version__ and (ROOT / manifest["server"]["entry_point"]).exists()
    config = manifest["server"]["mcp_config"]
    assert config["command"] == "agent-billing" and config["args"] == ["mcp"]
    settings = manifest["user_config"]
    for name, value in config["env"].items():
        assert name in set(ENVIRONMENT.values()) | {"AGENT_BILLING_TOKEN"}, name
        referenced = re.fullmatch(r"\$\{user_config\.([a-z_0-9]+)\}", value)
        assert referenced and referenced.group(1) in settings, value
    assert settings["token"]["sensitive"] is True  # the host keeps the key; it never reaches the agent
    assert settings["actions"]["default"] == "read_only"  # least privilege until the person widens it
