"""``agent-billing chat --model PROVIDER:MODEL``: the demo's agent with a real chat model.

Against the embedded sandbox by default (``--live`` uses ``AGENT_BILLING_*`` from the environment);
approvals are asked in the terminal. Needs ``langchain`` (``pip install 'agent-billing[langchain]'``)
and the provider's package and key (e.g. ``langchain-openai`` and ``OPENAI_API_KEY``).

Example:
    $ agent-billing chat --model openai:gpt-4.1-mini
"""

from __future__ import annotations

import contextlib
import uuid

from langgraph.checkpoint.memory import InMemorySaver
from rich.console import Console

from agent_billing.audit import MemoryAuditLog
from agent_billing.client import AsyncBillingClient, BillingClient
from agent_billing.demo.agent import build_agent
from agent_billing.demo.runner import TOKEN, Person, Scene, Terminal
from agent_billing.prompts import load_prompt
from agent_billing.sandbox import SandboxServer
from agent_billing.tools import BillingToolkit


def run_chat(model: str, use_sandbox: bool = True) -> int:
    """Chat until EOF or ``exit``; returns the exit code.

    Example:
        >>> run_chat("openai:gpt-4.1-mini")  # needs the provider's package and key  # doctest: +SKIP
        0
    """
    console = Console(highlight=False)
    try:
        from langchain.chat_models import init_chat_model

        chat_model = init_chat_model(model)
    except ImportError as exc:
        console.print(f"[red]cannot load {model!r}: {exc}[/red]\nInstall: pip install 'agent-billing[langchain]' "
                      "and the provider package (e.g. langchain-openai), and set its API key.")
        return 2
    except Exception as exc:
        console.print(f"[red]cannot start {model!r}: {type(exc).__name__}: {exc}[/red]")
        return 2
    with contextlib.ExitStack() as stack:
        if use_sandbox:
            server = stack.enter_context(SandboxServer(tokens=(TOKEN,)))
            client = BillingClient(base_url=server.base_url, token=TOKEN)
            aclient = AsyncBillingClient(base_url=server.base_url, token=TOKEN)
            notifier = Person(server.root_url, console, delay=5.0).receive
            console.print(f"sandbox at {server.base_url} (a simulated person pays links after 5 s)")
        else:
            client, aclient, notifier = BillingClient.from_env(), AsyncBillingClient.from_env(), None
            console.print(f"[yellow]LIVE API[/yellow] at {client.base_url}: real money, every charge asks first")
        toolkit = BillingToolkit(client=client, async_client=aclient, approval="interrupt", audit=MemoryAuditLog(),
                                 handoff_notifier=notifier, progress=lambda m: console.print(f"  [dim]{m}[/dim]"))
        terminal = Terminal(console, auto_yes=False)
        graph = build_agent(chat_model, toolkit.get_tools(), InMemorySaver(), load_prompt("chatbot"))
        scene = Scene(f"chat-{uuid.uuid4().hex[:8]}", terminal, graph)
        while True:
            try:
                text = console.input("[bold cyan]you[/bold cyan]> ").strip()
            except (EOFError, KeyboardInterrupt):
                break
            if text.lower() in ("exit", "quit"):
                break
            if text:
                scene.say(text)
        client.close()
    return 0
