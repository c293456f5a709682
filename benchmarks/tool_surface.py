"""How much JSON the whole tool surface costs a model: the OpenAI-style tool definitions, in characters.

Run: python benchmarks/tool_surface.py

Baseline: Stripe's agent toolkit spends about 9,000 characters on its 15 tools (figure from the issue
that set the goal; not re-measured here, there is no network). The goal is all 34 operations in less.
"""

from __future__ import annotations

import json

from langchain_core.utils.function_calling import convert_to_openai_tool

from agent_billing.audit import MemoryAuditLog
from agent_billing.inprocess import sandbox_clients
from agent_billing.registry import get_registry
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit

STRIPE_TOOLKIT_CHARS = 9000
STRIPE_TOOLKIT_TOOLS = 15


def surface(granularity: str, approval: object = None) -> tuple[int, dict[str, int], int]:
    """(total characters, characters per tool, operations covered) for one toolkit configuration."""
    client, aclient = sandbox_clients(create_app(rate_limit=False))
    toolkit = BillingToolkit(client=client, async_client=aclient, granularity=granularity,  # type: ignore[arg-type]
                             approval=approval, audit=MemoryAuditLog())
    sizes = {tool.name: len(json.dumps(convert_to_openai_tool(tool), separators=(",", ":")))
             for tool in toolkit.get_tools()}
    registry = get_registry()
    covered = sum(1 for op in registry if op.group in sizes or op.name in sizes)
    client.close()
    return sum(sizes.values()), sizes, covered


def main() -> None:
    rows = []
    for granularity, approval in (("group", "interrupt"), ("group", "confirmation"), ("operation", "interrupt")):
        total, sizes, covered = surface(granularity, approval)
        rows.append((granularity, str(approval), len(sizes), covered, total))
        if granularity == "group" and approval == "interrupt":
            for name, size in sizes.items():
                print(f"  {name:<16} {size:>6} chars")
    print(f"\n{'granularity':<11} {'approval':<13} {'tools':>5} {'ops':>4} {'chars':>7} {'vs Stripe 15 tools':>19}")
    for granularity, approval, tools, covered, total in rows:
        print(f"{granularity:<11} {approval:<13} {tools:>5} {covered:>4} {total:>7} {total / STRIPE_TOOLKIT_CHARS:>18.2f}x")
    print(f"\nbaseline: Stripe agent toolkit ~{STRIPE_TOOLKIT_CHARS} chars for {STRIPE_TOOLKIT_TOOLS} tools "
          f"(~{STRIPE_TOOLKIT_CHARS // STRIPE_TOOLKIT_TOOLS} per operation)")
    group_total = rows[0][4]
    print(f"agent-billing (group tools): {group_total} chars for 34 operations "
          f"(~{group_total // 34} per operation)")


if __name__ == "__main__":
    main()
