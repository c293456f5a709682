"""``agent-billing demo``: a scripted agent walks the payment paths against the embedded sandbox.

Offline and keyless: the sandbox runs on loopback, the chat model is SCRIPTED (it plays planned tool
calls, and says so), and everything else is real: the LangGraph agent, the tools and their guardrails,
LangGraph interrupts for approvals, the official ``stripe`` SDK tokenizing test cards against the
sandbox, the hosted checkout a simulated person pays. The scripted agent's words are chosen from the
tool results as they come (see :mod:`agent_billing.demo.narration`), so a declined approval reads as one.

The scenes are the provider's: its ``demo`` part (``get_provider(name).part("demo")``) declares ``SCENES``
(each plays on a :class:`Stage` and returns True when the ledger agrees with what the agent said),
``ledger`` (the closing line on what the account holds) and ``pay`` (how the simulated person pays a
hand-off's page on its sandbox). This module plays any provider's scenes.

Example:
    $ agent-billing demo --yes
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from types import ModuleType
from typing import Any, NamedTuple

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.prompt import Confirm
from rich.text import Text

from agent_billing.audit import MemoryAuditLog
from agent_billing.client import AsyncClient, SyncClient, provider_clients
from agent_billing.demo.agent import build_agent
from agent_billing.demo.narration import failure, reply, summary
from agent_billing.demo.scripted_model import ScriptedChatModel, last_tool_result
from agent_billing.guardrails.approval_text import safe_line, safe_text
from agent_billing.guardrails.card_data import redact_text
from agent_billing.prompts import load_prompt
from agent_billing.provider import default_provider, get_provider
from agent_billing.sandbox import SandboxServer
from agent_billing.tools import BillingToolkit

TOKEN = "sk_sandbox_demo"
Turn = AIMessage | Callable[[Sequence[BaseMessage]], AIMessage]
_URL = re.compile(r"https?://\S+")
_URL_SPLIT = re.compile(r"(https?://\S+)")
# A scene: plays on the stage's toolkit and client (the provider's typed client), True if the ledger agrees.
SceneFn = Callable[[Console, BillingToolkit, "Terminal", Any], bool]


class Terminal:
    """Shows the conversation as it happens and asks for approvals (or answers them itself with ``--yes``).

    ``interactive`` (default: whether stdin is a terminal) decides whether a person can be asked; when
    nobody can, every approval is declined. ``verbose`` prints tool results as raw JSON.

    Example:
        >>> terminal = Terminal(Console(quiet=True), auto_yes=True)
        >>> terminal.approve({"summary": "Charge $25.00", "operation": "top_up", "effect": "charge"})
        'approve'
        >>> Terminal(Console(quiet=True), auto_yes=False, interactive=False).approve({"summary": "Charge $25.00"})
        'reject'
    """

    def __init__(self, console: Console, auto_yes: bool, *, verbose: bool = False,
                 interactive: bool | None = None, agent: str = "agent (scripted)") -> None:
        self.console = console
        self.agent = agent
        self.auto_yes = auto_yes
        self.verbose = verbose
        self.interactive = (sys.stdin.isatty() if interactive is None else interactive) and not auto_yes

    def approve(self, request: dict[str, Any]) -> str:
        """Show an approval request and return ``"approve"`` or ``"reject"``.

        The panel shows the request's rendered text (``guardrails/approval_text.py``) as plain ``Text``, never
        markup: the facts line in bold, the provider's quoted words after it dimmed, every line cleaned again of
        terminal codes, so nothing a provider wrote can move the cursor, recolour or overwrite the facts.
        """
        lines = safe_text(str(request.get("summary") or "")).split("\n")
        # The provider's words sit indented under the facts, so even their wrapped lines never line up with them.
        parts: list[RenderableType] = [Text(lines[0], style="bold")]
        parts += [Padding(Text(line, style="dim"), (0, 0, 0, 4)) for line in lines[1:]]
        if request.get("mandate"):
            parts.append(Text("Mandate: " + safe_line(str(request["mandate"])), style="yellow"))
        if request.get("operation"):
            parts.append(Text(f"operation: {safe_line(str(request['operation']), 60)} "
                              f"({safe_line(str(request.get('effect')), 20)})"))
        body = Group(*parts)
        self.console.print(Panel(body, title="Approval needed", border_style="yellow"))
        if self.auto_yes:
            self.console.print("[green]approved[/green] (--yes)")
            return "approve"
        if not self.interactive:
            self.console.print("[red]not approved[/red]: no terminal to ask and no --yes (nothing moves without a yes)")
            return "reject"
        return "approve" if Confirm.ask("Approve?", console=self.console, default=False) else "reject"

    def show(self, message: BaseMessage) -> None:
        """Print one message of the conversation (tool results as one sentence unless verbose)."""
        if isinstance(message, HumanMessage):
            self.console.print(f"[bold cyan]person[/bold cyan]: {escape(redact_text(str(message.content)))}")
        elif isinstance(message, AIMessage):
            for call in message.tool_calls:
                args = ", ".join(f"{k}={v!r}" for k, v in call["args"].items())
                self.console.print(f"[magenta]{self.agent}[/magenta] -> {call['name']}({escape(redact_text(args))})")
            # .text: Anthropic-style content is a list of blocks; only their words are shown, never the list.
            if message.text:
                self.text(message.text, prefix=f"[magenta]{self.agent}[/magenta]: ")
        elif isinstance(message, ToolMessage):
            content = str(message.content)
            style = "red" if message.status == "error" else "green"
            if self.verbose:
                self.console.print(f"  [{style}]{message.name}[/{style}] <- {escape(content)}", soft_wrap=True)
                return
            try:
                data = json.loads(content)
            except ValueError:
                data = None
            text = summary(data) if isinstance(data, dict) else content
            # A result quotes the provider (card brands, messages): no terminal codes reach the screen.
            self.console.print(f"  [{style}]{message.name}[/{style}] <- {escape(safe_line(text, 2000))}")

    def text(self, text: str, prefix: str = "") -> None:
        """Print prose after ``prefix`` (markup), with every link whole on a line of its own."""
        for line in text.splitlines():
            for part in _URL_SPLIT.split(line):
                if _URL.fullmatch(part):
                    if prefix:
                        self.console.print(prefix.rstrip())
                    # soft_wrap: never break the link or frame it, so it can be copied whole at any width.
                    self.console.print(part, soft_wrap=True, markup=False, highlight=False)
                elif part.strip():
                    self.console.print(prefix + escape(part.strip()))
                else:
                    continue
                prefix = ""

    def link(self, handoff: dict[str, Any]) -> None:
        """Show the message relayed to the person, with the payment link whole on a line of its own."""
        self.text(str(handoff["messages"]["chat"]), prefix="[cyan]link sent to the person[/cyan]: ")

    def progress(self, message: str) -> None:
        """A line of progress from a waiting tool."""
        self.console.print(f"  [dim]{escape(re.sub(r'[(]1 checks ', '(1 check ', message))}[/dim]")


class Person:
    """A simulated person who opens the payment link they were sent and pays it, once the agent waits.

    The person pays after the agent's ``pay_after`` waiting check (no timer: the transcript is the same
    on every run, and tests need no real waits). ``pay(root_url, handoff)`` pays a hand-off's page and
    returns the two HTTP statuses (opening the page, paying); by default the ``provider``'s demo part's.

    Example:
        >>> paid = []
        >>> person = Person("http://sandbox", Terminal(Console(quiet=True), auto_yes=True), pay_after=2,
        ...                 pay=lambda root, handoff: paid.append(handoff["page"]) or (200, 200))
        >>> person.receive({"page": "http://sandbox/p/1", "messages": {"chat": "Please pay on http://sandbox/p/1"}})
        >>> person.on_progress("Waiting for the person to pay (1 checks so far)..."); paid
        []
        >>> person.on_progress("Waiting for the person to pay (2 checks so far)..."); paid
        ['http://sandbox/p/1']
    """

    def __init__(self, root_url: str, terminal: Terminal, pay_after: int = 2, *, provider: str | None = None,
                 pay: Callable[[str, dict[str, Any]], tuple[int, int]] | None = None) -> None:
        self.root_url, self.terminal, self.pay_after = root_url, terminal, pay_after
        self._pay = pay or demo_part(provider).pay
        self._pending: dict[str, Any] | None = None
        self._checks = 0

    def receive(self, handoff: dict[str, Any]) -> None:
        """The person is sent a payment link."""
        self.terminal.link(handoff)
        self._pending, self._checks = handoff, 0

    def on_progress(self, message: str) -> None:
        """The agent reported progress while waiting: after enough checks, the person pays."""
        self.terminal.progress(message)
        if self._pending is None or not message.startswith("Waiting"):
            return
        self._checks += 1
        if self._checks >= self.pay_after:
            handoff, self._pending = self._pending, None
            page, paid = self._pay(self.root_url, handoff)
            self.terminal.console.print(f"[cyan]person[/cyan] opens the page (HTTP {page}) and pays (HTTP {paid})")


def demo_part(provider: str | None = None) -> ModuleType:
    """The provider's demo part (its scenes, ledger line and way to pay); LookupError if it has none.

    Example:
        >>> demo_part().SCENES[0].__name__
        'scene_headless'
    """
    found = get_provider(provider).part("demo")
    if found is None:
        raise LookupError(f"provider {get_provider(provider).name!r} has no demo scenes (no 'demo' part)")
    return found


class Scene:
    """One conversation (its own thread) with an agent, streamed: each step prints as it happens.

    Example:
        >>> graph = build_agent(ScriptedChatModel(turns=[], final="Hello."), [], InMemorySaver())
        >>> scene = Scene("greeting", Terminal(Console(quiet=True), auto_yes=True), graph)
        >>> scene.say("hi")["messages"][-1].content
        'Hello.'
    """

    def __init__(self, title: str, terminal: Terminal, graph: Any, stream_tokens: bool = False) -> None:
        self.title = title
        self.terminal = terminal
        self.graph = graph
        self.config = {"configurable": {"thread_id": title}}
        # A real model's reply is printed token by token; the scripted one has no tokens to stream.
        self.stream_tokens = stream_tokens

    @classmethod
    def scripted(cls, title: str, toolkit: BillingToolkit, terminal: Terminal, turns: list[Turn],
                 final: Turn | str) -> Scene:
        """A scene whose agent is a scripted model playing ``turns``, then ``final``.

        Example:
            >>> from agent_billing.sandbox import create_app
            >>> from agent_billing.inprocess import sandbox_clients
            >>> client, aclient = sandbox_clients(create_app(), token=TOKEN)
            >>> toolkit = BillingToolkit(client=client, async_client=aclient, approval="interrupt", audit=MemoryAuditLog())
            >>> from agent_billing.demo.scripted_model import tool_call
            >>> scene = Scene.scripted("balance", toolkit, Terminal(Console(quiet=True), auto_yes=True),
            ...                        [tool_call("wallet", action="balance")], final="You have $0.00.")
            >>> scene.say("How much is in my wallet?")["messages"][-1].content
            'You have $0.00.'
        """
        model = ScriptedChatModel(turns=turns, final=final)
        return cls(title, terminal, build_agent(model, toolkit.get_tools(), InMemorySaver()))

    def say(self, text: str, echo: bool = True) -> dict[str, Any]:
        """The person says ``text`` (shown if ``echo``); stream the agent, answering approvals; the final state."""
        if echo:
            self.terminal.show(HumanMessage(content=text))
        payload: Any = {"messages": [HumanMessage(content=text)]}
        modes = ["updates", "messages"] if self.stream_tokens else ["updates"]
        streamed: set[str] = set()
        while True:
            interrupts: list[Any] = []
            for mode, chunk in self.graph.stream(payload, self.config, stream_mode=modes):
                if mode == "messages":
                    self._token(chunk[0], streamed)
                    continue
                for node, update in chunk.items():
                    if node == "__interrupt__":
                        interrupts.extend(update)
                        continue
                    for message in (update or {}).get("messages", []):
                        if isinstance(message, AIMessage) and message.id in streamed:
                            self.terminal.console.print()  # end the streamed line; show only its tool calls
                            message = message.model_copy(update={"content": ""})
                        self.terminal.show(message)
            if not interrupts:
                values: dict[str, Any] = self.graph.get_state(self.config).values
                return values
            payload = Command(resume={i.id: self.terminal.approve(i.value) for i in interrupts})

    def _token(self, chunk: Any, streamed: set[str]) -> None:
        if not isinstance(chunk, AIMessageChunk) or not chunk.text:  # text blocks stream too (Anthropic)
            return
        if chunk.id not in streamed:
            streamed.add(str(chunk.id))
            self.terminal.console.print(f"[magenta]{self.terminal.agent}[/magenta]: ", end="")
        self.terminal.console.print(chunk.text, end="", markup=False, highlight=False, soft_wrap=True)


def answer(done: str | Callable[[dict[str, Any]], str], what: str) -> Callable[[Sequence[BaseMessage]], AIMessage]:
    """A final turn: ``done`` (or ``done(result)``) if the last tool result succeeded, else what actually happened.

    Example:
        >>> turn = answer("You are subscribed.", what="the subscription")
        >>> turn([ToolMessage(content='{"ok": false, "error": "rejected"}', tool_call_id="1")]).content
        'The subscription was not approved, so nothing was charged.'
    """
    def final(messages: Sequence[BaseMessage]) -> AIMessage:
        last = last_tool_result(messages)
        words = done(last) if callable(done) and failure(last) is None else done
        return AIMessage(content=reply(last, done=words if isinstance(words, str) else "", what=what))

    return final


def relay(opening: str) -> Callable[[dict[str, Any]], str]:
    """A final turn's words: ``opening``, then the hand-off's chat message (with the link exactly as created).

    Example:
        >>> relay("Here is the link.")({"messages": {"chat": "Pay on http://x/1"}})
        'Here is the link. Pay on http://x/1'
    """
    return lambda handoff: f"{opening} {handoff['messages']['chat']}"


def continue_if(expected: str | None, turn: AIMessage, done: str, what: str) -> Callable[[Sequence[BaseMessage]], AIMessage]:
    """Play ``turn`` only if the last result failed with ``expected`` (None: succeeded); else reply and stop.

    Example:
        >>> from agent_billing.demo.scripted_model import tool_call
        >>> step = continue_if("payment_declined", tool_call("payment_path", purpose="fund"), done="Done.", what="it")
        >>> step([ToolMessage(content='{"ok": false, "error": "rejected"}', tool_call_id="1")]).content
        'It was not approved, so nothing was charged.'
    """
    def decide(messages: Sequence[BaseMessage]) -> AIMessage:
        last = last_tool_result(messages)
        return turn if failure(last) == expected else AIMessage(content=reply(last, done=done, what=what))

    return decide


class Stage(NamedTuple):
    """What the scenes play on: a loopback sandbox, a client of it, the agent's toolkit and its audit log."""

    server: SandboxServer
    client: SyncClient
    toolkit: BillingToolkit
    audit: MemoryAuditLog


@contextmanager
def demo_stage(terminal: Terminal, poll_interval: tuple[float, float] = (0.5, 2.0), *,
               provider: str | None = None) -> Iterator[Stage]:
    """A fresh loopback sandbox and the demo's toolkit on it; a simulated person pays the links it sends.

    ``poll_interval`` is how long the agent waits between checks of a payment (tests pass zeros); the
    client is the ``provider``'s typed client (default: the default provider) on its sandbox account.

    Example:
        >>> with demo_stage(Terminal(Console(quiet=True), auto_yes=True)) as stage:
        ...     stage.client.PROVIDER == default_provider()
        True
    """
    registry = get_provider(provider).registry
    sync_class, async_class = provider_clients(registry)
    with SandboxServer(tokens=(TOKEN,), rate_limit=False) as server:
        # The default provider's sandbox account is the demo's; another provider's is its own sandbox key.
        connection = registry.connection
        base_url, token = ((server.base_url, TOKEN) if registry.provider == default_provider()
                           else (server.root_url + connection.sandbox_path, connection.sandbox_token))
        with sync_class(base_url=base_url, token=token, provider=registry.provider) as client:
            aclient: AsyncClient = async_class(base_url=base_url, token=token, provider=registry.provider)
            person = Person(server.root_url, terminal, provider=registry.provider)
            audit = MemoryAuditLog()
            toolkit = BillingToolkit(client=client, async_client=aclient, approval="interrupt", audit=audit,
                                     product_name="the demo account", handoff_notifier=person.receive,
                                     progress=person.on_progress, poll_interval=poll_interval, wait_timeout=60)
            yield Stage(server, client, toolkit, audit)


def run_demo(auto_yes: bool = False, console: Console | None = None, *, verbose: bool = False,
             interactive: bool | None = None, poll_interval: tuple[float, float] = (0.5, 2.0),
             provider: str | None = None) -> int:
    """Run the provider's scenes; returns the exit code (0 when the ledger agrees with the agent in every scene).

    ``poll_interval`` is how long the agent waits between checks of a payment (tests pass zeros);
    ``provider`` names whose scenes play (default: the default provider).

    Example:
        >>> transcript = io.StringIO()
        >>> run_demo(auto_yes=True, console=Console(file=transcript, width=100), poll_interval=(0, 0))
        0
        >>> "wallet balance $65.00; subscriptions: plan 10 active" in transcript.getvalue()
        True
    """
    console = console or Console(highlight=False)
    console.print(Panel("agent-billing demo: a [bold]scripted[/bold] agent (no model, no key) on the embedded "
                        "sandbox (no network, no account). Every charge asks for approval.", border_style="blue"))
    terminal = Terminal(console, auto_yes, verbose=verbose, interactive=interactive)
    part = demo_part(provider)
    with demo_stage(terminal, poll_interval, provider=provider) as stage:
        client = stage.client
        console.print(f"sandbox: {stage.server.base_url}\nsystem prompt: prompts/system.en.md "
                      f"({len(load_prompt('system', product_name='the demo account'))} characters)\n")
        checks = [scene(console, stage.toolkit, terminal, client) for scene in part.SCENES]
        console.rule("Ledger")
        console.print(part.ledger(client))
        console.print("audit: " + ", ".join(f"{e.operation}:{e.decision}" for e in stage.audit.events))
    ok = all(checks)
    console.print("[green]demo complete[/green]" if ok else "[red]a scene did not behave as designed[/red]")
    return 0 if ok else 1


def rehearse(scene: SceneFn, auto_yes: bool = True, *, provider: str | None = None) -> tuple[bool, str]:
    """Play one scene alone on a fresh demo stage, with no waits between payment checks.

    Returns what the scene returned (True if the ledger agrees with the agent) and its transcript.

    Example:
        >>> from agent_billing.demo.scripted_model import tool_call
        >>> def balance_scene(console, toolkit, terminal, client):
        ...     scene = Scene.scripted("balance", toolkit, terminal, [tool_call("wallet", action="balance")],
        ...                            final="You have $0.00.")
        ...     return scene.say("How much is in my wallet?")["messages"][-1].content == "You have $0.00."
        >>> agreed, transcript = rehearse(balance_scene, auto_yes=False)
        >>> agreed, "How much is in my wallet?" in transcript
        (True, True)
    """
    transcript = io.StringIO()
    console = Console(file=transcript, width=120, color_system=None)
    terminal = Terminal(console, auto_yes, interactive=False)
    with demo_stage(terminal, poll_interval=(0.0, 0.0), provider=provider) as stage:
        agreed = scene(console, stage.toolkit, terminal, stage.client)
    return agreed, transcript.getvalue()


def agrees(result: dict[str, Any], before: Decimal, after: Decimal, amount: int) -> bool:
    """Whether the ledger agrees with the scene's last tool result: ``amount`` arrived exactly when it says so.

    Example:
        >>> ok = {"messages": [ToolMessage(content='{"ok": true}', tool_call_id="1")]}
        >>> agrees(ok, Decimal(0), Decimal(25), 25), agrees(ok, Decimal(0), Decimal(0), 25)
        (True, False)
    """
    return after == before + (amount if failure(last_tool_result(result["messages"])) is None else 0)
