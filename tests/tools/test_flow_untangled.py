"""Issues 21 and 25: the guard's flow untangled and near its floor.

- the audit modules import each other and the guardrails in no circle, and each imports alone;
- a guarded charge scans its input for card data once and redacts its result once (reused by the answer and the
  audit), and its audit records still hold no card data or secret;
- under ``ainvoke`` with in-memory stores the flow makes no thread hop per step (and still does with files);
- the group tools' argument schemas reach LangChain without ``Annotated`` forms, and models see the same JSON;
- a tool call is resolved to its operation in one place, and a provider's workflows keep state in
  ``toolkit.memory``.
"""

from __future__ import annotations

import ast
import asyncio
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, get_origin

import pytest

import agent_billing
from agent_billing.audit import MemoryAuditLog, verify_chain
from agent_billing.guardrails import card_data
from agent_billing.guardrails.approval_records import ApprovalRecords
from agent_billing.guardrails.mandate import Mandate
from agent_billing.guardrails.pending_outcomes import PendingOutcomes
from agent_billing.guardrails.spend_store import MemorySpendStore
from agent_billing.inprocess import sandbox_clients
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit
from agent_billing.tools.pipeline import CallContext

PACKAGE = Path(agent_billing.__file__).parent
AUDIT_MODULES = ("agent_billing.audit", "agent_billing.audit_event", "agent_billing.audit_chain",
                 "agent_billing.audit_backends")
FUND = {"action": "fund", "amount": 10, "payment_method_id": "pm_card_visa"}


def _module_files() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path], *, lazy: bool) -> set[str]:
    """The package modules ``path`` imports when it loads (``lazy``: inside functions too), parents included
    (importing ``a.b.c`` runs ``a.b`` first). ``TYPE_CHECKING`` blocks are skipped: they never run."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes: list[ast.AST] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            inner = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if top or lazy:
                nodes.append(child)
            visit(child, top and not inner)

    visit(tree, True)
    out: set[str] = set()
    for node in nodes:
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module
                     for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for imported in names:
            parts = imported.split(".")
            # A module inside a package never "imports" that package: Python ran it before the module.
            out |= {prefix for prefix in (".".join(parts[:i]) for i in range(2, len(parts) + 1))
                    if prefix in modules and not name.startswith(prefix + ".")}
    return out


def import_graph(*, lazy_in: tuple[str, ...] = ()) -> dict[str, set[str]]:
    """Module -> the package modules it imports on load (and, for ``lazy_in``, inside functions as well)."""
    modules = _module_files()
    return {name: _imports(name, path, modules, lazy=name in lazy_in) - {name} for name, path in modules.items()}


def _cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A path from ``start`` back to itself, if there is one."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                return [*path, nxt]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def test_the_audit_modules_and_the_guardrails_import_each_other_in_no_circle() -> None:
    graph = import_graph(lazy_in=AUDIT_MODULES)  # what the audit modules import even inside functions counts
    for module in (*AUDIT_MODULES, "agent_billing.guardrails", "agent_billing.guardrails.store",
                   "agent_billing.guardrails.postgres"):
        assert _cycle_through(graph, module) is None, _cycle_through(graph, module)
    # The guardrails' stores use the audit; the audit uses only the guardrails' scrubbing.
    used = {m for name in AUDIT_MODULES for m in graph[name] if m.startswith("agent_billing.guardrails")}
    assert used <= {"agent_billing.guardrails", "agent_billing.guardrails.card_data",
                    "agent_billing.guardrails.card_networks", "agent_billing.guardrails.redaction",
                    "agent_billing.guardrails.secrets", "agent_billing.guardrails.spend_store"}, used


def test_the_cycle_check_sees_a_circle() -> None:
    """The check above can fail: a store importing the audit while the audit imports the store is a circle."""
    graph = import_graph(lazy_in=AUDIT_MODULES)
    graph["agent_billing.audit_event"] = graph["agent_billing.audit_event"] | {"agent_billing.guardrails.store"}
    assert _cycle_through(graph, "agent_billing.audit_event") is not None


@pytest.mark.parametrize("module", [*AUDIT_MODULES, "agent_billing.guardrails.store"])
def test_each_audit_module_imports_alone(module: str) -> None:
    """A fresh interpreter importing only this module (the package's own start-up aside) succeeds."""
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(PACKAGE.parent), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]


def test_agent_billing_audit_keeps_its_public_names() -> None:
    import agent_billing.audit as audit

    for name in ("AuditEvent", "AuditLog", "MemoryAuditLog", "JsonlAuditLog", "SqliteAuditLog", "MultiAuditLog",
                 "AuditKeys", "ChainReport", "FileLines", "GENESIS_HASH", "chain_record", "verify_chain", "scrub",
                 "scrub_text", "redact_event", "receipt_ids", "state_keys", "load_keys", "key_id", "record_hash"):
        assert hasattr(audit, name), name


def _memory_toolkit(**extra: Any) -> BillingToolkit:
    client, aclient = sandbox_clients(create_app(rate_limit=False))
    client.add_payment_method("pm_card_visa", make_default=True)
    options: dict[str, Any] = {"audit": MemoryAuditLog(), "spend_store": MemorySpendStore(),
                               "pending_outcomes": PendingOutcomes(), "approval_records": ApprovalRecords()}
    options.update(extra)
    return BillingToolkit(client=client, async_client=aclient, **options,
                          mandate=Mandate(max_per_charge="100", auto_approve=True))


def test_a_guarded_charge_scans_its_input_once_and_redacts_its_result_once(monkeypatch: pytest.MonkeyPatch,
                                                                           ) -> None:
    toolkit = _memory_toolkit()
    wallet = toolkit.get_tool("wallet")
    json.loads(wallet.invoke(dict(FUND)))  # warm up (provider discovery and the like)
    counts = {"scan": 0, "redact": 0}
    real_scan, real_redact = card_data._scan, card_data.redact

    def scan(*args: Any, **kwargs: Any) -> Any:
        # The in-process sandbox (another thread) scans requests as the real API would: not the library's work.
        counts["scan"] += threading.current_thread() is threading.main_thread()
        return real_scan(*args, **kwargs)

    def redact(*args: Any, **kwargs: Any) -> Any:
        counts["redact"] += 1
        return real_redact(*args, **kwargs)

    monkeypatch.setattr(card_data, "_scan", scan)
    monkeypatch.setattr(card_data, "redact", redact)
    import agent_billing.guardrails.redaction as redaction

    monkeypatch.setattr(redaction, "redact", redact)
    answer = json.loads(wallet.invoke(dict(FUND)))
    monkeypatch.undo()
    assert answer["ok"] is True
    # One scan of the raw input; one redaction (and its scan) of the result, shared by the answer and the audit.
    # Before: 7 scans and 6 redactions per charge.
    assert counts == {"scan": 2, "redact": 1}, counts
    audit = toolkit.guard.audit
    assert isinstance(audit, MemoryAuditLog)
    assert [e.decision for e in audit.events[-2:]] == ["auto_approved", "succeeded"]
    assert audit.events[-1].result == answer["result"]
    assert verify_chain(audit.lines).ok


def test_arguments_the_tool_did_not_scan_are_still_scrubbed_in_the_audit() -> None:
    """A workflow's own call (no tool scan) and a confirmation token in scanned input: the audit hides them."""
    toolkit = _memory_toolkit()
    op = toolkit.registry.by_action("wallet", "fund")
    unscanned = toolkit.guard.admit(op, {"amount": 10, "payment_method_id": "pm_4242424242424242"})
    assert isinstance(unscanned, CallContext)
    assert "4242424242424242" not in json.dumps(unscanned.audit_arguments)
    token = "conf_" + "A" * 30
    scanned = toolkit.guard.admit(op, {"amount": 10, "payment_method_id": f"pm_{token}"}, scanned=True)
    assert isinstance(scanned, CallContext)
    assert token not in json.dumps(scanned.audit_arguments)


def test_card_data_in_the_input_is_still_refused_and_never_logged() -> None:
    toolkit = _memory_toolkit()
    refused = json.loads(toolkit.get_tool("wallet").invoke({**FUND, "payment_method_id": "4242 4242 4242 4242"}))
    assert refused["error"] == "card_data_not_allowed"
    audit = toolkit.guard.audit
    assert isinstance(audit, MemoryAuditLog)
    assert "4242 4242" not in "".join(audit.lines)
    assert audit.events[-1].operation == toolkit.registry.by_action("wallet", "fund").name


def _threads_of_a_charge(toolkit: BillingToolkit) -> set[str]:
    seen: set[str] = set()
    audit = toolkit.guard.audit
    real = audit.record

    def record(event: Any) -> None:
        seen.add(threading.current_thread().name)
        real(event)

    audit.record = record  # type: ignore[method-assign]

    async def charge() -> Any:
        seen.add(threading.current_thread().name)  # the loop's thread
        return json.loads(await toolkit.get_tool("wallet").ainvoke(dict(FUND)))

    answer = asyncio.run(charge())
    assert answer["ok"] is True, answer
    return seen


def test_ainvoke_with_in_memory_stores_makes_no_thread_hop() -> None:
    toolkit = _memory_toolkit()
    assert toolkit.guard.blocking is False
    assert _threads_of_a_charge(toolkit) == {threading.main_thread().name}  # the flow's work ran on the loop


def test_ainvoke_with_a_store_on_disk_still_leaves_the_loop(tmp_path: Path) -> None:
    from agent_billing.audit import JsonlAuditLog

    class Watched(JsonlAuditLog):
        pass

    toolkit = _memory_toolkit(audit=Watched(tmp_path / "audit.jsonl"))
    assert toolkit.guard.blocking is True
    seen = _threads_of_a_charge(toolkit)
    assert seen - {threading.main_thread().name}, seen  # the audit file was written off the loop


def test_group_schemas_reach_langchain_without_annotated_forms() -> None:
    """LangChain re-walks every field's annotation on each call: plain classes, not ``Annotated[...]``."""
    toolkit = _memory_toolkit()
    for tool in toolkit.get_tools():
        schema = tool.args_schema
        assert isinstance(schema, type)
        for name, field in schema.model_fields.items():
            assert get_origin(field.annotation) is None, (tool.name, name, field.annotation)
            assert not field.metadata, (tool.name, name)
    wallet = toolkit.get_tool("wallet")
    assert wallet.tool_call_schema.model_json_schema()["properties"]["action"]["enum"]  # type: ignore[union-attr]
    bad = json.loads(wallet.invoke({"action": "no_such_action"}))
    assert bad["error"] == "validation_error"


def test_one_resolution_serves_the_run_and_the_middleware() -> None:
    toolkit = _memory_toolkit(actions="read_only")
    resolved = toolkit.resolve_call("wallet", {"action": "fund", "amount": 10})
    assert resolved.refusal is not None and resolved.refusal.content["error"] == "action_not_allowed"
    assert resolved.op is not None and resolved.op.action == "fund"  # named, though not offered
    unexpected = _memory_toolkit().resolve_call("wallet", {"action": "balance", "amount": 10})
    assert unexpected.refusal is not None and "does not take" in unexpected.refusal.content["message"]


def test_workflows_keep_their_state_in_the_toolkit_memory() -> None:
    toolkit = _memory_toolkit()
    assert not hasattr(toolkit, "remember_session") and not hasattr(toolkit, "session_purpose")
    toolkit.memory("a")["k"] = 1
    assert toolkit.memory("a") == {"k": 1} and toolkit.memory("b") == {}
