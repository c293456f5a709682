"""The OpenTelemetry SDK's in-memory exporters behind ``agent_billing.telemetry``, for the telemetry tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agent_billing import telemetry
from agent_billing.mcp.server import BillingMCPServer
from mcp import Client, types


@dataclass
class Exported:
    """What the instrumentation exported: finished spans, and the metric points so far."""

    spans: InMemorySpanExporter
    reader: InMemoryMetricReader

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def named(self, prefix: str) -> list[ReadableSpan]:
        return [span for span in self.finished() if span.name.startswith(prefix)]

    def tool_span(self) -> ReadableSpan:
        (span,) = self.named("execute_tool ")
        return span

    def children(self, parent: ReadableSpan) -> list[ReadableSpan]:
        return [s for s in self.finished() if s.parent is not None and s.parent.span_id == parent.context.span_id]

    def points(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        """(attributes, value) of every point of metric ``name`` (a sum's value, a histogram's count)."""
        data = self.reader.get_metrics_data()
        found = []
        for resource in data.resource_metrics if data is not None else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        for point in metric.data.data_points:
                            found.append((dict(point.attributes or {}),
                                          getattr(point, "value", getattr(point, "count", None))))
        return found

    def total(self, name: str, **where: Any) -> Any:
        wanted = {f"agent_billing.{k}": v for k, v in where.items()}
        return sum(value for attributes, value in self.points(name)
                   if all(attributes.get(k) == v for k, v in wanted.items()))


def exporting() -> Iterator[Exported]:
    """Point the instrumentation at fresh SDK providers (not the global ones) for one test."""
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    telemetry.configure(tracer_provider=tracer_provider, meter_provider=MeterProvider(metric_readers=[reader]))
    try:
        yield Exported(spans, reader)
    finally:
        telemetry.configure()


def mcp_call(server: BillingMCPServer, name: str, arguments: dict[str, Any],
             meta: dict[str, Any] | None = None) -> tuple[dict[str, Any], bool]:
    """One tools/call through a real MCP client session on the SDK's memory transport, with ``params._meta``."""

    async def run() -> tuple[dict[str, Any], bool]:
        async with Client(server.server) as client:
            result = await client.call_tool(name, arguments, meta=meta)  # type: ignore[arg-type]
        block = result.content[0]
        assert isinstance(block, types.TextContent)
        return json.loads(block.text), bool(result.is_error)

    return asyncio.run(run())
