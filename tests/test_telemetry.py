"""OpenTelemetry traces and metrics of tool calls, read back from the SDK's in-memory exporters.

Each test runs real tool calls through a toolkit bound to the in-process sandbox (or through a real MCP
client session) and checks the spans, their attributes and parents, the metrics and the audit record's
correlation: a read, an approved charge, a declined one, a refused one (card data), an unknown outcome
(the sandbox's fault injection loses the answer) and its replay, and an MCP call whose trace continues
from ``params._meta``.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.trace import SpanKind, StatusCode
from tests.conftest import TOKEN
from tests.telemetry_helpers import Exported, exporting, mcp_call
from tests.tools.conftest import acall, call

from agent_billing import telemetry
from agent_billing.audit import MemoryAuditLog
from agent_billing.client import provider_clients
from agent_billing.guardrails.mandate import Mandate
from agent_billing.inprocess import SANDBOX_ORIGIN, SyncASGITransport, sandbox_clients
from agent_billing.mcp.server import BillingMCPServer
from agent_billing.registry import get_registry
from agent_billing.retry import RetryPolicy
from agent_billing.tools import BillingToolkit

ROOT = Path(__file__).resolve().parents[1]
NS = "agent_billing."


@pytest.fixture
def exported() -> Iterator[Exported]:
    yield from exporting()


@pytest.fixture
def clients(sandbox_app: Any) -> Iterator[tuple[Any, Any]]:
    sync_client, async_client = sandbox_clients(sandbox_app, token=TOKEN)
    sync_client.add_payment_method("pm_card_visa", make_default=True)
    yield sync_client, async_client
    sync_client.close()


def toolkit(clients: tuple[Any, Any], **kwargs: Any) -> BillingToolkit:
    kwargs.setdefault("audit", MemoryAuditLog())
    return BillingToolkit(client=clients[0], async_client=clients[1], **kwargs)


def test_a_read_is_one_execute_tool_span_with_its_http_client_span(exported: Exported, clients: Any) -> None:
    content, _ = call(toolkit(clients).get_tool("wallet"), "call_read_1", action="balance")
    assert content["ok"]
    span = exported.tool_span()
    attributes = dict(span.attributes or {})
    assert span.name == "execute_tool wallet" and span.kind is SpanKind.INTERNAL
    assert attributes["gen_ai.operation.name"] == "execute_tool" and attributes["gen_ai.tool.name"] == "wallet"
    assert attributes["gen_ai.tool.call.id"] == "call_read_1"
    assert attributes[NS + "outcome"] == "ok" and attributes[NS + "operation"] == "get_wallet_balance"
    assert attributes[NS + "provider"] == clients[0].registry.provider
    assert span.status.status_code is StatusCode.UNSET and "error.type" not in attributes
    (http,) = exported.children(span)
    assert http.kind is SpanKind.CLIENT and http.context.trace_id == span.context.trace_id
    http_attributes = dict(http.attributes or {})
    assert http_attributes["http.request.method"] == "GET" and http_attributes["http.response.status_code"] == 200
    assert http_attributes["server.address"] == "sandbox.local"
    assert http_attributes["url.full"].startswith("http://sandbox.local/") and TOKEN not in str(http_attributes)
    (point,) = exported.points("gen_ai.execute_tool.duration")
    assert point[0][NS + "outcome"] == "ok" and point[1] == 1


def test_an_approved_charge_has_its_guard_steps_billing_facts_metrics_and_audit_correlation(
        exported: Exported, clients: Any) -> None:
    audit = MemoryAuditLog()
    kit = toolkit(clients, approval=lambda request: True, mandate=Mandate(name="ops", max_per_charge="50"), audit=audit)
    # A fixed run id: a random one's digit groups can form a card-shaped run (13+ digits with separators passing
    # Luhn, about 1 in 100), which the outgoing redaction hides, as it must for anything shaped like a card.
    run_id = uuid.UUID("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9")
    message = kit.get_tool("wallet").invoke(
        {"type": "tool_call", "name": "wallet", "args": {"action": "fund", "amount": "25"}, "id": "call_fund_1"},
        config={"configurable": {"thread_id": "thread-7"}, "run_id": run_id})
    assert '"ok":true' in str(message.content)
    span = exported.tool_span()
    attributes = dict(span.attributes or {})
    assert attributes[NS + "outcome"] == "ok" and attributes[NS + "decision"] == "succeeded"
    assert attributes[NS + "operation"] == "fund_wallet" and attributes[NS + "effect"] == "charge"
    assert Decimal(attributes[NS + "amount"]) == Decimal("25") and attributes[NS + "currency"] == "USD"
    assert attributes[NS + "approver.kind"] == "callback" and attributes[NS + "mandate.id"] == "ops"
    assert attributes[NS + "intent.digest"] == audit.events[-1].intent_digest
    assert attributes[NS + "thread_id"] == "thread-7" and attributes[NS + "run_id"] == str(run_id)
    steps = [s.name for s in exported.children(span)]
    for step in (telemetry.INTENT_RESOLUTION, telemetry.APPROVAL_WAIT, telemetry.STORE_RESERVATION):
        assert step in steps, steps
    # The intent's reads are children of the intent resolution; the charge itself is the tool span's child.
    (resolution, *_) = [s for s in exported.children(span) if s.name == telemetry.INTENT_RESOLUTION]
    assert [s.kind for s in exported.children(resolution)] and all(
        s.kind is SpanKind.CLIENT for s in exported.children(resolution))
    posts = [s for s in exported.children(span) if s.kind is SpanKind.CLIENT]
    assert [s.attributes["http.request.method"] for s in posts] == ["POST"]  # type: ignore[index]
    assert exported.total(NS + "approvals", **{"approval.result": "asked"}) == 1
    assert exported.total(NS + "approvals", **{"approval.result": "approved"}) == 1
    assert exported.total(NS + "money.moved", currency="USD", operation="fund_wallet") == 25.0
    (moved, _), = exported.points(NS + "money.moved")
    assert moved[NS + "account"] == kit.guard.account
    # The auditor goes from the charge to the conversation and to the trace.
    context = span.get_span_context()
    for event in audit.events:
        assert event.correlation == {"tool_call_id": "call_fund_1", "run_id": str(run_id), "thread_id": "thread-7",
                                     "trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}
    assert '"correlation":{"tool_call_id":"call_fund_1"' in audit.events[-1].to_json_line()


def test_a_declined_charge_is_declined_with_error_status(exported: Exported, clients: Any) -> None:
    content, _ = call(toolkit(clients, approval=lambda request: False).get_tool("wallet"), action="fund", amount=25)
    assert content["error"] == "rejected"
    attributes = dict(exported.tool_span().attributes or {})
    assert attributes[NS + "outcome"] == "declined" and attributes["error.type"] == "rejected"
    assert exported.tool_span().status.status_code is StatusCode.ERROR
    assert exported.tool_span().status.description == "rejected"
    assert exported.total(NS + "approvals", **{"approval.result": "declined"}) == 1
    assert exported.points(NS + "money.moved") == []


async def test_a_refused_call_with_card_data_sends_nothing_and_counts_the_refusal(exported: Exported,
                                                                                  clients: Any) -> None:
    content, _ = await acall(toolkit(clients).get_tool("billing"), action="update_info",
                             address_line1="4000 0566 5566 5556")
    assert content["error"] == "card_data_not_allowed"
    span = exported.tool_span()
    attributes = dict(span.attributes or {})
    assert attributes[NS + "outcome"] == "refused" and attributes["error.type"] == "card_data_not_allowed"
    assert attributes[NS + "decision"] == "refused" and span.status.status_code is StatusCode.ERROR
    same_trace = [s for s in exported.finished() if s.context.trace_id == span.context.trace_id]
    assert same_trace == [span]  # no guard step, no request
    assert exported.total(NS + "guard.refusals", **{"refusal.reason": "card_data_not_allowed"}) == 1


class LosingTransport(httpx.BaseTransport):
    """The in-process sandbox, except that while ``losing`` every POST runs and its answer is lost on the way back."""

    def __init__(self, app: Any) -> None:
        self.inner, self.losing = SyncASGITransport(app), False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.losing and request.method == "POST":
            raise httpx.RemoteProtocolError("connection closed before the answer", request=request)
        return response


def test_an_unknown_outcome_is_open_until_its_replay_settles_it(exported: Exported, sandbox_app: Any) -> None:
    registry = get_registry()
    transport = LosingTransport(sandbox_app)
    client = provider_clients(registry)[0](base_url=SANDBOX_ORIGIN + registry.connection.sandbox_path, token=TOKEN,
                                           transport=transport, retry=RetryPolicy.none())
    client.add_payment_method("pm_card_visa", make_default=True)
    wallet = BillingToolkit(client=client, approval=lambda request: True, audit=MemoryAuditLog()).get_tool("wallet")
    exported.spans.clear()
    transport.losing = True
    content, _ = call(wallet, action="fund", amount=25)
    assert content["error"] == "outcome_unknown" and content["sent"] is True, content
    attributes = dict(exported.tool_span().attributes or {})
    assert attributes[NS + "outcome"] == "outcome_unknown" and attributes["error.type"] == "outcome_unknown"
    assert exported.tool_span().status.status_code is StatusCode.ERROR
    assert exported.total(NS + "outcomes.unknown_open") == 1
    assert exported.total(NS + "provider.errors", **{"operation": "fund_wallet"}) == 1
    (lost,) = [s for s in exported.named("POST ")]
    assert lost.attributes["error.type"] == "RemoteProtocolError"  # type: ignore[index]
    exported.spans.clear()
    transport.losing = False  # the network is fine again: the repeat replays under the same key
    again, _ = call(wallet, action="fund", amount=25)
    assert again["ok"], again
    replay = dict(exported.tool_span().attributes or {})
    assert replay[NS + "idempotency.replay"] is True and replay[NS + "outcome"] == "ok"
    assert replay[NS + "decision"] == "succeeded"
    assert exported.total(NS + "outcomes.unknown_open") == 0
    client.close()


def test_an_mcp_call_continues_the_callers_trace_from_meta(exported: Exported, clients: Any) -> None:
    server = BillingMCPServer(BillingToolkit(async_client=clients[1], audit=MemoryAuditLog()))
    trace_id, parent_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    traceparent = f"00-{trace_id}-{parent_id}-01"
    content, is_error = mcp_call(server, "wallet", {"action": "balance"}, meta={"traceparent": traceparent})
    assert content["ok"] and not is_error
    (served,) = exported.named("tools/call ")
    assert served.name == "tools/call wallet" and served.kind is SpanKind.SERVER
    assert f"{served.context.trace_id:032x}" == trace_id
    assert served.parent is not None and f"{served.parent.span_id:016x}" == parent_id and served.parent.is_remote
    attributes = dict(served.attributes or {})
    assert attributes["mcp.method.name"] == "tools/call" and attributes["gen_ai.tool.name"] == "wallet"
    assert attributes["network.transport"] == "pipe" and "jsonrpc.request.id" in attributes
    tool = exported.tool_span()
    assert tool.parent is not None and tool.parent.span_id == served.context.span_id
    assert exported.points("mcp.server.operation.duration")[0][1] == 1


def test_the_mcp_server_span_marks_a_tool_error(exported: Exported, clients: Any) -> None:
    server = BillingMCPServer(BillingToolkit(async_client=clients[1], audit=MemoryAuditLog()))
    _, is_error = mcp_call(server, "wallet", {"action": "fund", "amount": "25"})
    assert is_error
    (served,) = exported.named("tools/call ")
    assert served.attributes["error.type"] == "tool_error" and served.status.status_code is StatusCode.ERROR  # type: ignore[index]


def test_instrumentation_turned_off_exports_nothing_and_the_tools_work(exported: Exported, clients: Any) -> None:
    telemetry.configure(enabled=False)
    exported.spans.clear()
    content, _ = call(toolkit(clients).get_tool("wallet"), action="balance")
    assert content["ok"] and exported.finished() == [] and exported.points("gen_ai.execute_tool.duration") == []


BLOCKED = """
import importlib.abc, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            raise ImportError(f"blocked: {name}")
        return None

sys.meta_path.insert(0, Block())
from agent_billing.inprocess import sandbox_clients
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit
from agent_billing.audit import MemoryAuditLog
client, aclient = sandbox_clients(create_app(tokens=("sk_sandbox_x",), rate_limit=False), token="sk_sandbox_x")
audit = MemoryAuditLog()
kit = BillingToolkit(client=client, approval=lambda request: True, audit=audit)
client.add_payment_method("pm_card_visa", make_default=True)
message = kit.get_tool("wallet").invoke({"type": "tool_call", "name": "wallet", "id": "call_x",
                                         "args": {"action": "fund", "amount": "25"}})
assert '"ok":true' in message.content, message.content
assert audit.events[-1].correlation == {"tool_call_id": "call_x"}, audit.events[-1].correlation
loaded = sorted(name for name in sys.modules if name.startswith("opentelemetry"))
assert not loaded, loaded
print("ok")
"""


def test_without_the_api_the_tools_work_and_nothing_of_opentelemetry_is_imported(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", BLOCKED], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_the_console_example_prints_spans_against_the_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    sys.path.insert(0, str(ROOT))
    try:
        from examples import otel_console
    finally:
        sys.path.remove(str(ROOT))
    try:
        assert otel_console.main([]) == 0
    finally:
        telemetry.configure()
    printed = capsys.readouterr().out
    assert '"name": "execute_tool wallet"' in printed and '"agent_billing.outcome": "ok"' in printed
    assert '"kind": "SpanKind.CLIENT"' in printed


def test_async_tool_calls_keep_their_own_spans(exported: Exported, clients: Any) -> None:
    wallet = toolkit(clients).get_tool("wallet")

    async def both() -> None:
        await asyncio.gather(acall(wallet, "call_a", action="balance"), acall(wallet, "call_b", action="balance"))

    asyncio.run(both())
    tools = exported.named("execute_tool ")
    assert sorted(s.attributes["gen_ai.tool.call.id"] for s in tools) == ["call_a", "call_b"]  # type: ignore[index]
    for span in tools:
        (http,) = exported.children(span)
        assert http.kind is SpanKind.CLIENT
