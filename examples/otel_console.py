"""Print the OpenTelemetry spans of a few tool calls against the in-process sandbox.

Needs the OpenTelemetry SDK (the library itself uses only the API)::

    pip install -e '.[sandbox,otel]' opentelemetry-sdk
    python examples/otel_console.py

It reads the balance, then tops the wallet up by $25.00 with a person's yes (here a callback that says
yes up to $50), and prints each span as JSON as it ends: the ``execute_tool wallet`` spans with their
billing attributes, the guard's steps (intent resolution, approval wait) and one CLIENT span per request
to the sandbox. No card number, token or raw argument appears in any of them.

An application normally sets the global provider instead (``trace.set_tracer_provider(provider)``) with
an OTLP exporter; ``telemetry.configure`` is for providers that are not global, as here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

from agent_billing import BillingToolkit, telemetry
from agent_billing.audit import MemoryAuditLog
from agent_billing.guardrails.approval import ApprovalRequest
from agent_billing.inprocess import sandbox_clients
from agent_billing.sandbox import create_app


def approve_up_to_50(request: ApprovalRequest) -> bool:
    """The person's answer: yes to anything up to $50.00."""
    print(f"approval asked: {request.summary}", file=sys.stderr)
    return request.amount is not None and request.amount <= 50


def main(argv: Sequence[str] | None = None) -> int:
    """Run two tool calls with spans printed to stdout; 0 when both succeeded."""
    argparse.ArgumentParser(description="Print the OpenTelemetry spans of a balance read and a $25.00 top-up "
                            "against the in-process sandbox.").parse_args(argv)
    provider = TracerProvider(resource=Resource.create({"service.name": "agent-billing-example"}))
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stdout)))
    telemetry.configure(tracer_provider=provider)
    client, _ = sandbox_clients(create_app())
    try:
        client.add_payment_method("pm_card_visa", make_default=True)  # the person saved a card earlier
        toolkit = BillingToolkit(client=client, approval=approve_up_to_50, audit=MemoryAuditLog())
        wallet = toolkit.get_tool("wallet")
        read = wallet.invoke({"type": "tool_call", "name": "wallet", "id": "call_1", "args": {"action": "balance"}})
        fund = wallet.invoke({"type": "tool_call", "name": "wallet", "id": "call_2",
                              "args": {"action": "fund", "amount": "25"}})
        return 0 if read.status == fund.status == "success" else 1
    finally:
        client.close()
        provider.shutdown()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
