"""The schema a model receives is what the code enforces (issue 10, item 4).

A snapshot of the exact JSON models receive: ``convert_to_openai_tool`` of every ``BillingToolkit`` tool
(default group tools, the ``chatbot`` preset, operation granularity) and the MCP server's ``tools/list``
answer. A change fails with a diff; review it, then regenerate with

    AGENT_BILLING_UPDATE_SNAPSHOTS=1 pytest -q -p no:cacheprovider tests/tools/test_schema_snapshot.py

The properties are checked over every tool, not only by the snapshot: no ``"default": null`` and no
``anyOf``; an operation tool requires what its operation requires; every bound the validators enforce
(read from pydantic's core schemas, not from the JSON schema code) is stated as JSON Schema, and the
schema states no bound the code does not enforce; a group field's description is true for every
action using it; and the budget.
"""

from __future__ import annotations

import asyncio
import difflib
import functools
import json
import os
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel

from agent_billing.audit import MemoryAuditLog
from agent_billing.inprocess import sandbox_clients
from agent_billing.mcp.server import BillingMCPServer, ElicitationApprover
from agent_billing.providers.modelslab.workflows import EnsureFundedArgs, FundViaHumanArgs, HandoffArgs, WaitArgs
from agent_billing.registry import get_registry
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit

SNAPSHOT = Path(__file__).parent / "snapshots" / "tool_schemas.json"
UPDATE = os.environ.get("AGENT_BILLING_UPDATE_SNAPSHOTS") == "1"
CONFIGS: dict[str, dict[str, Any]] = {
    "group": {},
    "chatbot": {"actions": "chatbot"},
    "operation": {"granularity": "operation"},
}
# The budget (compact JSON, summed over the tools).
BUDGET = {"group": 7_000, "chatbot": 3_000}
WORKFLOW_MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("payment_links", "handoff"): HandoffArgs, ("payment_links", "wait"): WaitArgs,
    ("wallet", "ensure_funded"): EnsureFundedArgs, ("wallet", "fund_via_human"): FundViaHumanArgs,
}
_CONSTRAINT_NAMES = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum",
                     "pattern": "pattern", "min_length": "minLength", "max_length": "maxLength"}
_CHOICE = re.compile(r"^\^\(([A-Za-z0-9_|]+)\)\$$")


@functools.cache
def _toolkit(config: str) -> BillingToolkit:
    client, aclient = sandbox_clients(create_app(rate_limit=False))
    return BillingToolkit(client=client, async_client=aclient, approval="interrupt", audit=MemoryAuditLog(),
                          **CONFIGS[config])


def openai_tools(config: str) -> list[dict[str, Any]]:
    return [convert_to_openai_tool(tool) for tool in _toolkit(config).get_tools()]


def mcp_tools_list() -> dict[str, Any]:
    """What the MCP server answers to ``tools/list`` (its registered handler, in process)."""
    toolkit = BillingToolkit(async_client=sandbox_clients(create_app(rate_limit=False))[1],
                             approval=ElicitationApprover(), audit=MemoryAuditLog())
    server = BillingMCPServer(toolkit)
    entry = server.server.get_request_handler("tools/list")
    assert entry is not None
    result = asyncio.run(entry.handler(None, None))  # type: ignore[arg-type]
    dumped: dict[str, Any] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def current_snapshot() -> dict[str, Any]:
    return {"convert_to_openai_tool": {config: openai_tools(config) for config in CONFIGS},
            "mcp_tools_list": mcp_tools_list()}


def test_snapshot_of_what_models_receive() -> None:
    text = json.dumps(current_snapshot(), indent=1, ensure_ascii=False) + "\n"
    if UPDATE:
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(text, encoding="utf-8")
    expected = SNAPSHOT.read_text(encoding="utf-8") if SNAPSHOT.exists() else ""
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(keepends=True), text.splitlines(keepends=True),
                                            str(SNAPSHOT), "now", n=2))
        pytest.fail("The tool schemas models receive changed. Review the diff; if it is intended, regenerate with "
                    "AGENT_BILLING_UPDATE_SNAPSHOTS=1 pytest tests/tools/test_schema_snapshot.py\n" + diff,
                    pytrace=False)


def _walk(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def every_schema() -> Iterator[tuple[str, dict[str, Any]]]:
    for config in CONFIGS:
        for tool in openai_tools(config):
            yield f"{config}:{tool['function']['name']}", tool["function"]["parameters"]
    for tool in mcp_tools_list()["tools"]:
        yield f"mcp:{tool['name']}", tool["inputSchema"]


def test_no_default_null_and_no_null_wrappers_anywhere() -> None:
    schemas = list(every_schema())
    assert len(schemas) > 40
    for where, schema in schemas:
        for node in _walk(schema):
            assert not ("default" in node and node["default"] is None), where
            assert "anyOf" not in node, where


def test_the_mcp_server_lists_the_same_schemas_as_langchain() -> None:
    listed = {tool["name"]: (tool["description"], tool["inputSchema"]) for tool in mcp_tools_list()["tools"]}
    for tool in openai_tools("group"):
        function = tool["function"]
        assert listed[function["name"]] == (function["description"], function["parameters"])


# --- what the validators enforce, read from pydantic's core schema (independent of tools/schemas.py)


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, Decimal) and value == value.to_integral_value() else \
        float(value) if isinstance(value, Decimal) else value


def _constraints(node: Any, found: dict[str, Any]) -> None:
    if isinstance(node, functools.partial):
        for key, value in node.keywords.items():
            if key in _CONSTRAINT_NAMES:
                found[_CONSTRAINT_NAMES[key]] = _number(value)
        return
    if isinstance(node, list):
        for item in node:
            _constraints(item, found)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "literal":
        found["enum"] = list(node["expected"])
    if node.get("type") in ("str", "int", "decimal", "float"):
        for key, name in _CONSTRAINT_NAMES.items():
            if key in node:
                found[name] = _number(node[key])
    for key, value in node.items():
        if key not in ("metadata", "serialization", "default"):
            _constraints(value, found)


def enforced(model: type[BaseModel]) -> dict[str, dict[str, Any]]:
    """Field -> the constraints its validator enforces, in JSON Schema words."""
    core = model.__pydantic_core_schema__
    while core.get("type") != "model-fields":
        core = core["schema"]
    out = {}
    for name, field in core["fields"].items():
        found: dict[str, Any] = {}
        _constraints(field["schema"], found)
        choice = _CHOICE.match(str(found.get("pattern", "")))
        if choice:
            found.pop("pattern")
            found["enum"] = choice.group(1).split("|")
        out[name] = found
    return out


def test_the_core_schema_reader_sees_the_bounds() -> None:
    from agent_billing.providers.modelslab.arguments import FundWalletArgs, InvoiceArgs, WithdrawArgs

    assert enforced(FundWalletArgs)["amount"] == {"maximum": 10000, "minimum": 10}
    assert enforced(WithdrawArgs)["amount"] == {"maximum": 10000, "exclusiveMinimum": 0}
    assert enforced(InvoiceArgs)["invoice_id"] == {"pattern": "^[A-Za-z0-9_-]{1,64}$"}
    assert enforced(HandoffArgs)["channel"] == {"enum": ["chat", "voice", "email", "none"]}


def _stated(prop: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in prop.items() if k in (*_CONSTRAINT_NAMES.values(), "enum")}


def test_operation_tools_state_exactly_what_is_enforced_and_require_what_is_required() -> None:
    registry = get_registry()
    models = {op.name: op.args for op in registry}
    tools = openai_tools("operation")
    assert len(tools) == len(registry.operations)
    for tool in tools:
        function = tool["function"]
        model = models[function["name"]]
        parameters = function["parameters"]
        required = sorted(name for name, info in model.model_fields.items() if info.is_required())
        assert sorted(parameters.get("required", [])) == required, function["name"]
        truth = enforced(model)
        assert set(parameters["properties"]) == set(truth), function["name"]
        for name, prop in parameters["properties"].items():
            assert _stated(prop) == truth[name], (function["name"], name)


def _action_line(description: str, action: str) -> str:
    for item in description.split(" | "):
        for head in (f"{action}: ", f"{action}*: "):
            if head in item and item.split(head)[0].strip().count(":") == 0:
                return item.split(head, 1)[1]
    raise AssertionError(f"no line for {action!r} in {description!r}")


def _group_actions(group: str) -> dict[str, type[BaseModel]]:
    registry = get_registry()
    actions: dict[str, type[BaseModel]] = {op.action: op.args for op in registry.groups().get(group, [])}
    actions.update({action: model for (g, action), model in WORKFLOW_MODELS.items() if g == group})
    return actions


@pytest.mark.parametrize("config", ["group", "chatbot"])
def test_group_tools_state_each_bound_where_it_is_true(config: str) -> None:
    checked = 0
    for tool in openai_tools(config):
        function = tool["function"]
        if function["name"] == "payment_path":
            continue
        properties = function["parameters"]["properties"]
        offered = properties["action"]["enum"]
        models = _group_actions(function["name"])
        assert function["parameters"]["required"] == ["action"]
        for action in offered:
            truth = enforced(models[action])
            line = _action_line(function["description"], action)
            for field, constraints in truth.items():
                prop = properties[field]
                for key, value in constraints.items():
                    checked += 1
                    if prop.get(key) == value:
                        continue  # stated in the schema, and (below) true for every action using the field
                    # Otherwise the action's own line says it.
                    figures = value if isinstance(value, list) else [value]
                    assert field in line and all(str(v) in line for v in figures), (function["name"], action, field,
                                                                                     key, value, line)
        for field, prop in properties.items():
            if field in ("action", "confirmation"):
                continue
            users = [action for action in offered if field in models[action].model_fields]
            assert users, (function["name"], field)
            for key, value in _stated(prop).items():
                for action in users:
                    assert enforced(models[action])[field].get(key) == value, (function["name"], field, key, action)
    assert checked > (40 if config == "group" else 8)


def _field_description(group: str, action: str, field: str) -> str | None:
    for custom in _toolkit("group").custom_actions or []:
        if (custom.group, custom.action) == (group, action):
            return custom.fields.get(field, {}).get("description")
    return get_registry().by_action(group, action).args.model_fields[field].description


@pytest.mark.parametrize("config", ["group", "chatbot"])
def test_a_group_field_description_is_true_for_every_action_using_it(config: str) -> None:
    for tool in openai_tools(config):
        function = tool["function"]
        if function["name"] == "payment_path":
            continue
        models = _group_actions(function["name"])
        for field, prop in function["parameters"]["properties"].items():
            if "description" not in prop or field in ("action", "confirmation"):
                continue
            users = [a for a in prop and function["parameters"]["properties"]["action"]["enum"]
                     if field in models[a].model_fields]
            said = {_field_description(function["name"], action, field) for action in users}
            # Actions that describe the field all say this; a figure is only stated if every action says it.
            assert said - {None} == {prop["description"]}, (function["name"], field, said)
            if re.search(r"\d", prop["description"]):
                assert said == {prop["description"]}, (function["name"], field, said)


def test_withdraw_is_not_told_the_funding_bound() -> None:
    wallet = next(t["function"] for t in openai_tools("group") if t["function"]["name"] == "wallet")
    amount = wallet["parameters"]["properties"]["amount"]
    assert "minimum" not in amount and "10" not in amount.get("description", "")
    assert "amount>0" in _action_line(wallet["description"], "withdraw")
    assert "amount>=10" in _action_line(wallet["description"], "fund")


@pytest.mark.parametrize("config", ["group", "chatbot"])
def test_surface_budget(config: str) -> None:
    """Issue 10's budget, measured on what models receive: 7,000 characters for the full default surface, 3,000
    for the chatbot preset (6,988 and 2,673 when it was met)."""
    total = sum(len(compact(tool)) for tool in openai_tools(config))
    assert total <= BUDGET[config]
