"""Cost of the OpenTelemetry instrumentation on a guarded tool call, on the in-process sandbox.

Run: python benchmarks/otel_overhead.py [--rounds N]   (needs opentelemetry-sdk for the third column)

Three settings, interleaved in blocks in one process so drift hits them alike; the ratios are against
"off" of the same run:

- off: ``telemetry.configure(enabled=False)``, the same path as without the API installed (one flag check
  per hook; the audit correlation ids are still kept);
- no-op: the API's no-op tracer and meter providers (what a process that installed the API but never
  configured an SDK gets);
- SDK: the SDK's tracer provider (simple processor, in-memory exporter) and meter provider (in-memory
  reader): every span and point is built and exported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable

from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NoOpTracerProvider

from agent_billing import telemetry
from agent_billing.audit import MemoryAuditLog
from agent_billing.guardrails.mandate import Mandate
from agent_billing.guardrails.spend_store import MemorySpendStore
from agent_billing.inprocess import sandbox_clients
from agent_billing.sandbox import create_app


def timed(fn: Callable[[], object], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=300)
    rounds = parser.parse_args().rounds

    os.environ.setdefault("AGENT_BILLING_STATE_DIR", tempfile.mkdtemp(prefix="agent-billing-bench-"))
    from agent_billing.tools import BillingToolkit

    client, aclient = sandbox_clients(create_app(rate_limit=False))
    client.add_payment_method("pm_card_visa", make_default=True)
    toolkit = BillingToolkit(client=client, async_client=aclient, audit=MemoryAuditLog(),
                             mandate=Mandate(max_per_charge="100", auto_approve=True), spend_store=MemorySpendStore())
    wallet = toolkit.get_tool("wallet")
    spans = InMemorySpanExporter()
    sdk_tracer = TracerProvider()
    sdk_tracer.add_span_processor(SimpleSpanProcessor(spans))
    sdk_meter = MeterProvider(metric_readers=[InMemoryMetricReader()])
    settings: dict[str, Callable[[], None]] = {
        "off": lambda: telemetry.configure(enabled=False),
        "no-op": lambda: telemetry.configure(tracer_provider=NoOpTracerProvider(), meter_provider=NoOpMeterProvider()),
        "SDK": lambda: telemetry.configure(tracer_provider=sdk_tracer, meter_provider=sdk_meter),
    }
    calls: dict[str, Callable[[], object]] = {
        "read: balance": lambda: wallet.invoke({"type": "tool_call", "name": "wallet", "id": "call_read",
                                                 "args": {"action": "balance"}}),
        "charge: fund $10 (mandate auto-approve)": lambda: wallet.invoke(
            {"type": "tool_call", "name": "wallet", "id": f"call_{time.perf_counter_ns()}",
             "args": {"action": "fund", "amount": 10, "payment_method_id": "pm_card_visa"}}),
    }
    for setting in settings.values():  # warm up every path (imports, pools, SQLite pages, instruments)
        setting()
        for call in calls.values():
            for _ in range(20):
                call()
    spans.clear()

    print(f"{'call':<42} {'off ms':>8} {'no-op ms':>9} {'SDK ms':>8} {'no-op/off':>10} {'SDK/off':>8} {'spans/call':>11}")
    for name, call in calls.items():
        samples: dict[str, list[float]] = {key: [] for key in settings}
        exported = 0
        for _ in range(rounds // 10):  # interleave blocks so drift hits all three alike
            for key, setting in settings.items():
                setting()
                samples[key] += timed(call, 10)
            exported += len(spans.get_finished_spans())
            spans.clear()
        off, noop, sdk = (statistics.median(samples[key]) * 1000 for key in settings)
        per_call = exported / (rounds // 10 * 10)
        print(f"{name:<42} {off:>8.3f} {noop:>9.3f} {sdk:>8.3f} {noop / off:>9.2f}x {sdk / off:>7.2f}x {per_call:>11.1f}")
    telemetry.configure()
    client.close()


if __name__ == "__main__":
    main()
