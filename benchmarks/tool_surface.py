"""How much JSON the tool surface costs a model, against Stripe's agent toolkit 0.6.1, measured in one run.

Run: python benchmarks/tool_surface.py [--stripe-venv DIR]

Both sides are measured the same way: ``langchain_core.utils.function_calling.convert_to_openai_tool``
on each LangChain tool, serialised compactly (``json.dumps(..., separators=(",", ":"))``), characters
summed over the tools. Stripe's toolkit 0.6.1 (its last release with local tool definitions: 15
LangChain tools, one per operation) runs in its own virtual environment, created under a temporary
directory with ``python3 -m venv`` and ``pip install stripe-agent-toolkit==0.6.1`` plus the packages it
imports (``stripe``, ``langchain`` for ``langchain.tools.BaseTool``), pinned to this environment's
``langchain``, ``langchain-core`` and ``pydantic`` versions so the conversion is the same code.
``--stripe-venv DIR`` reuses (or creates) that environment at DIR. If the install fails, no Stripe
figure is printed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

from langchain_core.utils.function_calling import convert_to_openai_tool

from agent_billing.audit import MemoryAuditLog
from agent_billing.inprocess import sandbox_clients
from agent_billing.registry import get_registry, provider_names
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit

STRIPE_PACKAGE = "stripe-agent-toolkit==0.6.1"
STRIPE_SCRIPT = """
import json
from langchain_core.utils.function_calling import convert_to_openai_tool
from stripe_agent_toolkit.langchain.toolkit import StripeAgentToolkit
from stripe_agent_toolkit.tools import tools

actions = {}
for tool in tools:  # allow every tool the package defines
    for resource, permissions in tool["actions"].items():
        actions.setdefault(resource, {}).update(permissions)
toolkit = StripeAgentToolkit(secret_key="sk_test_not_used", configuration={"actions": actions})
print(json.dumps({tool.name: len(json.dumps(convert_to_openai_tool(tool), separators=(",", ":")))
                  for tool in toolkit.get_tools()}))
"""


def surface(provider: str | None = None, **options: object) -> tuple[int, dict[str, int], int]:
    """(total characters, characters per tool, operations covered) for one toolkit configuration of ``provider``."""
    client, aclient = sandbox_clients(create_app(rate_limit=False), provider=provider)
    toolkit = BillingToolkit(client=client, async_client=aclient, audit=MemoryAuditLog(), **options)
    sizes = {tool.name: len(json.dumps(convert_to_openai_tool(tool), separators=(",", ":")))
             for tool in toolkit.get_tools()}
    covered = sum(1 for op in get_registry(provider) if toolkit.allows(op.group, op.action))
    client.close()
    return sum(sizes.values()), sizes, covered


def stripe_surface(venv: Path) -> dict[str, int] | None:
    """Characters per tool of Stripe's toolkit, measured in its own virtual environment (None if it cannot be installed)."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pins = [f"{name}=={version(name)}" for name in ("langchain", "langchain-core", "pydantic")]
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", STRIPE_PACKAGE, "stripe", *pins],
                             capture_output=True, text=True)
    if install.returncode != 0:
        print(f"could not install {STRIPE_PACKAGE} with {', '.join(pins)}:\n{install.stderr[-2000:]}")
        return None
    run = subprocess.run([str(python), "-c", STRIPE_SCRIPT], capture_output=True, text=True, check=True)
    sizes: dict[str, int] = json.loads(run.stdout)
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stripe-venv", type=Path, help="virtual environment for Stripe's toolkit (default: a temp dir)")
    args = parser.parse_args()
    rows = []
    configurations: list[tuple[str, dict[str, object]]] = [
        ("group (default)", {"approval": "interrupt"}),
        ("group, chatbot preset", {"approval": "interrupt", "actions": "chatbot"}),
        ("group, confirmation", {"approval": "confirmation"}),
        ("operation", {"approval": "interrupt", "granularity": "operation"}),
    ]
    for label, options in configurations:
        total, sizes, covered = surface(**options)
        rows.append((label, len(sizes), covered, total))
        if label == "group (default)":
            print("agent-billing, default group tools:")
            for name, size in sizes.items():
                print(f"  {name:<30} {size:>6} chars")
    for provider in provider_names()[1:]:  # the other providers' default and chatbot surfaces
        for label, options in configurations[:2]:
            total, sizes, covered = surface(provider, **options)
            rows.append((f"{provider}, {label}", len(sizes), covered, total))
    with tempfile.TemporaryDirectory() as temp:
        stripe = stripe_surface(args.stripe_venv or Path(temp) / "stripe-venv")
    if stripe is not None:
        print(f"\nStripe agent toolkit ({STRIPE_PACKAGE}), one tool per operation:")
        for name, size in stripe.items():
            print(f"  {name:<30} {size:>6} chars")
    stripe_total = sum(stripe.values()) if stripe else None
    print(f"\n{'surface':<32} {'tools':>5} {'ops':>4} {'chars':>7} {'per op':>7} {'vs Stripe':>10} {'per op':>8}")
    if stripe:
        print(f"{'Stripe toolkit 0.6.1':<32} {len(stripe):>5} {len(stripe):>4} {stripe_total:>7} "
              f"{stripe_total // len(stripe):>7} {'1.00x':>10} {'1.00x':>8}")  # type: ignore[operator]
    for label, tools, covered, total in rows:
        ratio = per_op = ""
        if stripe:
            ratio = f"{total / stripe_total:.2f}x"  # type: ignore[operator]
            per_op = f"{(total / covered) / (stripe_total / len(stripe)):.2f}x"  # type: ignore[operator]
        print(f"{label:<32} {tools:>5} {covered:>4} {total:>7} {total // covered:>7} {ratio:>10} {per_op:>8}")
    print(f"\nversions: langchain-core {version('langchain-core')}, pydantic {version('pydantic')}")


if __name__ == "__main__":
    main()
