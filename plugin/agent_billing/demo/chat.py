"""``agent-billing chat --model PROVIDER:MODEL``: the demo's agent with a real chat model.

Against the embedded sandbox by default (``--live`` uses ``AGENT_BILLING_*`` from the environment).
Replies stream as the model writes them, approvals are asked inline, and a model or network error is
reported in one line while the conversation goes on. Needs the ``demo`` and ``langchain`` extras and the
provider's package and key (e.g. ``langchain-openai`` and ``OPENAI_API_KEY``).

Example:
    $ agent-billing chat --model openai:gpt-4.1-mini
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from rich.console import Console
from rich.markup import escape

from agent_billing.audit import MemoryAuditLog
from agent_billing.cli import error_message
from agent_billing.client import provider_clients
from agent_billing.demo.agent import build_agent
from agent_billing.demo.narration import first_sentence
from agent_billing.demo.runner import TOKEN, Person, Scene, Terminal
from agent_billing.prompts import load_prompt
from agent_billing.registry import default_provider, get_registry
from agent_billing.sandbox import SandboxServer
from agent_billing.tools import BillingToolkit

# The key each common provider reads, so a missing one is named before the first request fails.
PROVIDER_KEYS = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY", "google_genai": "GOOGLE_API_KEY",
                 "mistralai": "MISTRAL_API_KEY", "groq": "GROQ_API_KEY", "deepseek": "DEEPSEEK_API_KEY"}


class ChatTerminal(Terminal):
    """The chat's terminal: Ctrl-C or Ctrl-D at an approval prompt is a no, and the conversation goes on.

    Left unanswered, the paused call would stay in the thread with no result, and every later request
    would carry a tool call without its answer, which model APIs refuse (OpenAI and Anthropic answer 400).
    Answered no, the call gets its refusal and the model speaks next, as after any no.

    Example:
        >>> import io, sys
        >>> sys.stdin, saved = io.StringIO(""), sys.stdin  # nothing left to read: what Ctrl-D gives
        >>> ChatTerminal(Console(quiet=True), auto_yes=False, interactive=True).approve({"summary": "Charge $25.00"})
        'reject'
        >>> sys.stdin = saved
    """

    def approve(self, request: dict[str, Any]) -> str:
        """Show the request and ask; no answer (Ctrl-C, Ctrl-D) is a no."""
        try:
            return super().approve(request)
        except (EOFError, KeyboardInterrupt):
            self.console.print("\n[red]not approved[/red]: no answer (nothing moves without a yes)")
            return "reject"


def one_line(exc: BaseException) -> str:
    """An exception as one short line (its type and first sentence), never a traceback.

    Example:
        >>> one_line(ConnectionError("Connection refused.\\nTraceback ..."))
        'ConnectionError: Connection refused.'
    """
    text = first_sentence(str(exc).splitlines()[0] if str(exc).strip() else "no details")
    return f"{type(exc).__name__}: {text}"


def load_model(model: str, environ: dict[str, str] | None = None) -> tuple[Any, str | None]:
    """Load ``PROVIDER:MODEL`` with LangChain, or explain in one line why it cannot be (model, problem).

    Example:
        >>> load_model("openai:gpt-4.1-mini", environ={})[1]
        'no API key for openai: set OPENAI_API_KEY (in the environment or a .env file)'
        >>> load_model("nosuchprovider:model", environ={})[1][:34]
        "cannot start 'nosuchprovider:model"
    """
    environ = dict(os.environ) if environ is None else environ
    provider = model.split(":", 1)[0] if ":" in model else ""
    key = PROVIDER_KEYS.get(provider)
    if key and not environ.get(key):
        return None, f"no API key for {provider}: set {key} (in the environment or a .env file)"
    try:
        from langchain.chat_models import init_chat_model

        return init_chat_model(model), None
    except ImportError as exc:
        return None, (f"cannot load {model!r}: {exc}. Install the provider's package "
                      "(e.g. pip install langchain-openai) and set its API key.")
    except Exception as exc:
        return None, f"cannot start {model!r}: {one_line(exc)}"


def run_chat(model: str, use_sandbox: bool = True, *, chat_model: Any = None, console: Console | None = None,
             read: Callable[[], str] | None = None, interactive: bool | None = None,
             provider: str | None = None) -> int:
    """Chat until EOF or ``exit``; returns the exit code (130 after Ctrl-C at the prompt).

    ``chat_model`` replaces loading ``model`` (tests pass a fake); ``read`` replaces the terminal prompt.
    ``provider`` names the billing provider whose tools the agent holds (default: the default provider).

    Example:
        >>> from agent_billing.demo.scripted_model import ScriptedChatModel
        >>> lines = iter(["hello", "exit"])
        >>> fake = ScriptedChatModel(turns=[], final="Hi, how can I help?")
        >>> run_chat("fake", chat_model=fake, console=Console(quiet=True), read=lambda: next(lines))
        0
    """
    console = console or Console(highlight=False)
    if chat_model is None:
        chat_model, problem = load_model(model)
        if problem is not None:
            console.print(f"agent-billing chat: {problem}", markup=False, highlight=False, soft_wrap=True)
            return 2
    registry = get_registry(provider)
    sync_class, async_class = provider_clients(registry)
    with contextlib.ExitStack() as stack:
        terminal = ChatTerminal(console, auto_yes=False, interactive=interactive, agent="agent")
        if use_sandbox:
            server = stack.enter_context(SandboxServer(tokens=(TOKEN,)))
            connection = registry.connection
            # The default provider's sandbox account is the demo's; another provider's is its own sandbox key.
            base_url, token = ((server.base_url, TOKEN) if registry.provider == default_provider()
                               else (server.root_url + connection.sandbox_path, connection.sandbox_token))
            client = sync_class(base_url=base_url, token=token, provider=registry.provider)
            aclient = async_class(base_url=base_url, token=token, provider=registry.provider)
            person = Person(server.root_url, terminal)
            notifier, progress = person.receive, person.on_progress
            console.print(f"{registry.provider} sandbox at {base_url} (a simulated person pays a link while the "
                          "agent waits)", markup=False)
        else:
            try:
                client = sync_class.from_env(provider=registry.provider)
                aclient = async_class.from_env(provider=registry.provider)
            except Exception as exc:
                # The library's whole message: it names the variable to set.
                console.print(f"agent-billing chat --live: {error_message(exc)}", markup=False, highlight=False,
                              soft_wrap=True)
                return 2
            notifier, progress = None, terminal.progress
            console.print(f"[yellow]LIVE API[/yellow] at {escape(client.base_url)}: real money, every charge asks first")
        stack.callback(client.close)
        toolkit = BillingToolkit(client=client, async_client=aclient, approval="interrupt", audit=MemoryAuditLog(),
                                 handoff_notifier=notifier, progress=progress)
        graph = build_agent(chat_model, toolkit.get_tools(), InMemorySaver(),
                            load_prompt("chatbot", provider=registry.provider))
        scene = Scene(f"chat-{uuid.uuid4().hex[:8]}", terminal, graph, stream_tokens=True)
        ask = read or (lambda: console.input("[bold cyan]you[/bold cyan]> "))
        console.print("type exit (or Ctrl+D) to leave", markup=False)
        while True:
            try:
                text = ask().strip()
            except KeyboardInterrupt:  # Ctrl-C at the prompt: leave, as a shell would report it
                console.print("", markup=False)
                return 130
            except (EOFError, StopIteration):  # Ctrl-D, or the scripted lines ran out
                console.print("", markup=False)
                break
            if text.lower() in ("exit", "quit"):
                break
            if not text:
                continue
            try:
                scene.say(text, echo=read is not None)
            except KeyboardInterrupt:
                console.print("\n(interrupted; the conversation goes on)", markup=False)
            except Exception as exc:
                # A model or network failure ends this turn only: the thread's state is kept.
                # soft_wrap: one line, however long, as the user may grep or copy it.
                console.print(f"\n[red]error[/red]: {escape(one_line(exc))} (the conversation goes on; try again)",
                              soft_wrap=True)
    return 0
