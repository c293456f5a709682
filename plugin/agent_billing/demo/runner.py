"""``agent-billing demo``: a scripted agent walks the three payment paths against the embedded sandbox.

Offline and keyless: the sandbox runs on loopback, the chat model is SCRIPTED (it plays planned tool
calls, and says so), and everything else is real: the LangGraph agent, the tools and their guardrails,
LangGraph interrupts for approvals, the official ``stripe`` SDK tokenizing test cards against the
sandbox, the hosted checkout a simulated person pays.

Scenes: (1) headless top-up with a payment method from trusted code, (2) setup intent, then a
subscription, (3) human-assisted top-up, waiting while the person pays, (4) a declined card handed off
to a payment link, (5) a card number typed into the chat, refused.

Example:
    $ agent-billing demo --yes
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.prompt import Confirm

from agent_billing.audit import MemoryAuditLog
from agent_billing.card_tokenization import CardTokenizer
from agent_billing.client import AsyncBillingClient, BillingClient
from agent_billing.demo.agent import build_agent
from agent_billing.demo.scripted_model import ScriptedChatModel, last_tool_result, tool_call
from agent_billing.guardrails.card_data import redact_text
from agent_billing.money import format_usd
from agent_billing.prompts import load_prompt
from agent_billing.sandbox import SandboxServer
from agent_billing.tools import BillingToolkit

TOKEN = "sk_sandbox_demo"
Turn = AIMessage | Callable[[Sequence[BaseMessage]], AIMessage]


class Terminal:
    """Shows the conversation and asks for approvals (or answers them itself with ``--yes``).

    Example:
        >>> terminal = Terminal(Console(quiet=True), auto_yes=True)
        >>> terminal.approve({"summary": "Charge $25.00", "operation": "fund_wallet", "effect": "charge"})
        'approve'
    """

    def __init__(self, console: Console, auto_yes: bool) -> None:
        self.console = console
        self.auto_yes = auto_yes
        self.interactive = sys.stdin.isatty() and not auto_yes

    def approve(self, request: dict[str, Any]) -> str:
        mandate = f"[yellow]Mandate: {escape(request['mandate'])}[/yellow]\n" if request.get("mandate") else ""
        self.console.print(Panel(f"[bold]{escape(request['summary'])}[/bold]\n{mandate}"
                                 f"operation: {request['operation']} ({request['effect']})",
                                 title="Approval needed", border_style="yellow"))
        if self.auto_yes:
            self.console.print("[green]approved[/green] (--yes)")
            return "approve"
        if not self.interactive:
            self.console.print("[red]declined[/red]: no terminal to ask and no --yes (nothing moves without a yes)")
            return "reject"
        return "approve" if Confirm.ask("Approve?", console=self.console, default=False) else "reject"

    def show(self, message: BaseMessage) -> None:
        if isinstance(message, HumanMessage):
            self.console.print(f"[bold cyan]person[/bold cyan]: {escape(redact_text(str(message.content)))}")
        elif isinstance(message, AIMessage):
            for call in message.tool_calls:
                args = ", ".join(f"{k}={v!r}" for k, v in call["args"].items())
                self.console.print(f"[magenta]agent (scripted)[/magenta] -> {call['name']}({escape(redact_text(args))})")
            if message.content:
                self.console.print(f"[magenta]agent (scripted)[/magenta]: {escape(str(message.content))}")
        elif isinstance(message, ToolMessage):
            style = "red" if message.status == "error" else "green"
            self.console.print(f"  [{style}]{message.name}[/{style}] <- {escape(_brief(str(message.content)))}")


def _brief(content: str, limit: int = 400) -> str:
    try:
        data = json.loads(content)
    except ValueError:
        return content[:limit]
    for key in ("messages",):
        data.pop(key, None) if isinstance(data, dict) else None
    text = json.dumps(data, separators=(", ", ": "), ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Scene:
    """One conversation (its own thread) with a scripted agent.

    Example:
        >>> from agent_billing.demo.scripted_model import ScriptedChatModel
        >>> graph = build_agent(ScriptedChatModel(turns=[], final="Hello."), [], InMemorySaver())
        >>> scene = Scene("greeting", Terminal(Console(quiet=True), auto_yes=True), graph)
        >>> scene.say("hi")["messages"][-1].content
        'Hello.'
    """

    def __init__(self, title: str, terminal: Terminal, graph: Any) -> None:
        self.title = title
        self.terminal = terminal
        self.graph = graph
        self.config = {"configurable": {"thread_id": title}}
        self._shown = 0

    @classmethod
    def scripted(cls, title: str, toolkit: BillingToolkit, terminal: Terminal, turns: list[Turn], final: str) -> Scene:
        """A scene whose agent is a scripted model playing ``turns``."""
        model = ScriptedChatModel(turns=turns, final=final)
        return cls(title, terminal, build_agent(model, toolkit.get_tools(), InMemorySaver()))

    def say(self, text: str) -> dict[str, Any]:
        """The person says ``text``; run the agent, answering approvals, until it replies."""
        self.terminal.show(HumanMessage(content=text))
        self._shown += 1
        result: dict[str, Any] = self.graph.invoke({"messages": [HumanMessage(content=text)]}, self.config)
        while True:
            self._print_new(result)
            interrupts = result.get("__interrupt__") or []
            if not interrupts:
                return result
            answers = {i.id: self.terminal.approve(i.value) for i in interrupts}
            result = self.graph.invoke(Command(resume=answers), self.config)

    def _print_new(self, result: dict[str, Any]) -> None:
        messages = result["messages"]
        for message in messages[self._shown:]:
            self.terminal.show(message)
        self._shown = len(messages)


def _from_last(build: Callable[[dict[str, Any]], AIMessage]) -> Callable[[Sequence[BaseMessage]], AIMessage]:
    return lambda messages: build(last_tool_result(messages))


class Person:
    """A simulated person who opens payment links and pays them after a short pause.

    Example:
        >>> person = Person("http://127.0.0.1:8787", Console(quiet=True), delay=0.5)
        >>> person.receive(handoff)  # opens handoff["payment_url"] over HTTP and pays it  # doctest: +SKIP
    """

    def __init__(self, root_url: str, console: Console, delay: float = 1.5) -> None:
        self.root_url, self.console, self.delay = root_url, console, delay

    def receive(self, handoff: dict[str, Any]) -> None:
        self.console.print(Panel(escape(handoff["messages"]["chat"]), title="Link sent to the person",
                                 border_style="cyan"))

        def pay() -> None:
            time.sleep(self.delay)
            page = httpx.get(handoff["payment_url"], timeout=10)
            paid = httpx.post(f"{self.root_url}/sandbox/checkout/{handoff['session_id']}/complete", timeout=10)
            self.console.print(f"[cyan]person[/cyan] opens the page (HTTP {page.status_code}) and pays "
                               f"(HTTP {paid.status_code})")

        threading.Thread(target=pay, daemon=True).start()


def run_demo(auto_yes: bool = False, console: Console | None = None) -> int:
    """Run all scenes; returns the exit code (0 when every scene behaved as designed).

    Example:
        >>> run_demo(auto_yes=True)  # starts a loopback sandbox server  # doctest: +SKIP
        0
    """
    console = console or Console(highlight=False)
    console.print(Panel("agent-billing demo: a [bold]scripted[/bold] agent (no model, no key) on the embedded "
                        "sandbox (no network, no account). Every charge asks for approval.", border_style="blue"))
    terminal = Terminal(console, auto_yes)
    with SandboxServer(tokens=(TOKEN,), rate_limit=False) as server:
        client = BillingClient(base_url=server.base_url, token=TOKEN)
        aclient = AsyncBillingClient(base_url=server.base_url, token=TOKEN)
        person = Person(server.root_url, console)
        audit = MemoryAuditLog()
        toolkit = BillingToolkit(client=client, async_client=aclient, approval="interrupt", audit=audit,
                                 product_name="the demo account", handoff_notifier=person.receive,
                                 progress=lambda message: console.print(f"  [dim]{message}[/dim]"),
                                 poll_interval=(0.5, 2.0), wait_timeout=60)
        console.print(f"sandbox: {server.base_url}\nsystem prompt: prompts/system.en.md "
                      f"({len(load_prompt('system', product_name='the demo account'))} characters)\n")
        checks = [scene(console, toolkit, terminal, client) for scene in SCENES]
        balance = client.get_wallet_balance().balance
        subscriptions = client.list_subscriptions().subscriptions
        console.rule("Summary")
        console.print(f"wallet balance {format_usd(balance)}; subscriptions: "
                      + (", ".join(f"plan {s.plan_id} {s.status}" for s in subscriptions) or "none"))
        console.print("audit: " + ", ".join(f"{e.operation}:{e.decision}" for e in audit.events))
        client.close()
    ok = all(checks)
    console.print("[green]demo complete[/green]" if ok else "[red]a scene did not behave as designed[/red]")
    return 0 if ok else 1


def scene_headless(console: Console, toolkit: BillingToolkit, terminal: Terminal, client: BillingClient) -> bool:
    """Scene 1: trusted code tokenizes a test card and the agent tops up headless; True if it went as designed.

    Example:
        >>> scene_headless(console, toolkit, terminal, client)  # as run_demo calls it  # doctest: +SKIP
        True
    """
    console.rule("1. Headless: trusted code holds a payment method, the agent tops up")
    card = CardTokenizer.for_sandbox(client).create_payment_method("4242424242424242", 12, 2030, "123")
    console.print(f"[dim]trusted code tokenized a test card with the stripe SDK: {card.brand} ending {card.last4} "
                  f"-> {card.id} (the agent only ever sees this id)[/dim]")
    before = client.get_wallet_balance().balance
    scene = Scene.scripted("headless", toolkit, terminal, [
        tool_call("payment_path", purpose="fund", amount=25, trusted_payment_method_id=card.id),
        tool_call("wallet", action="fund", amount=25, payment_method_id=card.id),
    ], final="Your wallet has been topped up by $25.00.")
    scene.say(f"Please add $25 to my wallet. Our checkout service created payment method {card.id}.")
    return not terminal.auto_yes or client.get_wallet_balance().balance == before + 25


def scene_setup_intent(console: Console, toolkit: BillingToolkit, terminal: Terminal, client: BillingClient) -> bool:
    """Scene 2: a setup intent saves a card, then the agent subscribes with it; True if it went as designed.

    Example:
        >>> scene_setup_intent(console, toolkit, terminal, client)  # as run_demo calls it  # doctest: +SKIP
        True
    """
    console.rule("2. Setup intent: save a card, then subscribe")
    scene = Scene.scripted("setup-intent", toolkit, terminal, [
        tool_call("payment_path", purpose="subscribe", plan_id=10, wants_to_save_card=True),
        tool_call("payment_methods", action="setup_intent"),
    ], final="I started saving your card; please confirm it on the secure form.")
    result = scene.say("Save my card for later and put me on the Standard plan (id 10).")
    seti = last_tool_result(result["messages"]).get("result", {}).get("setup_intent_id")
    pm_id = CardTokenizer.for_sandbox(client).confirm_setup_intent(str(seti), "5555555555554444", 11, 2031, "321")
    console.print(f"[dim]the person confirmed {seti} on a secure form (stripe SDK, trusted code) -> {pm_id}[/dim]")
    scene = Scene.scripted("setup-intent-2", toolkit, terminal, [
        tool_call("payment_methods", action="add", payment_method_id=pm_id, make_default=True),
        tool_call("subscriptions", action="plans"),
        tool_call("subscriptions", action="create", plan_id=10, payment_method_id=pm_id),
    ], final="You are subscribed to the Standard plan.")
    scene.say(f"Done, the card is saved as {pm_id}. Go ahead with the subscription.")
    subs = client.list_subscriptions().subscriptions
    return not terminal.auto_yes or any(s.plan_id == 10 and s.status == "active" for s in subs)


def scene_human(console: Console, toolkit: BillingToolkit, terminal: Terminal, client: BillingClient) -> bool:
    """Scene 3: the person pays a top-up on a hosted page while the agent waits; True if it went as designed.

    Example:
        >>> scene_human(console, toolkit, terminal, client)  # as run_demo calls it  # doctest: +SKIP
        True
    """
    console.rule("3. Human-assisted: the person pays on a hosted page, the agent waits")
    before = client.get_wallet_balance().balance
    scene = Scene.scripted("human", toolkit, terminal, [
        tool_call("payment_path", purpose="fund", amount=40, channel="chat"),
        tool_call("wallet", action="fund_via_human", amount=40, channel="chat"),
    ], final="Thanks, your $40.00 payment arrived.")
    scene.say("I'd rather pay myself. Add $40.")
    return client.get_wallet_balance().balance == before + 40


def scene_declined(console: Console, toolkit: BillingToolkit, terminal: Terminal, client: BillingClient) -> bool:
    """Scene 4: a declined card is not retried, a payment link is sent instead; True if it went as designed.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.inprocess import sandbox_clients
        >>> client, aclient = sandbox_clients(create_app(), token=TOKEN)
        >>> toolkit = BillingToolkit(client=client, async_client=aclient, approval="interrupt", audit=MemoryAuditLog())
        >>> scene_declined(Console(quiet=True), toolkit, Terminal(Console(quiet=True), auto_yes=True), client)
        True
    """
    console.rule("4. Declined card: no retry, a payment link instead")
    scene = Scene.scripted("declined", toolkit, terminal, [
        tool_call("wallet", action="fund", amount=30, payment_method_id="pm_card_chargeDeclined"),
        _from_last(lambda last: tool_call("payment_path", purpose="fund", amount=30, card_declined=True)),
        tool_call("payment_links", action="handoff", purpose="fund", amount=30, channel="chat"),
    ], final="That card was declined, so I sent you a secure payment link for $30.00 instead.")
    result = scene.say("Top up $30 with my old card (pm_card_chargeDeclined).")
    return "payment_url" in last_tool_result(result["messages"])


def scene_card_number(console: Console, toolkit: BillingToolkit, terminal: Terminal, client: BillingClient) -> bool:
    """Scene 5: a card number typed into the chat is refused, never repeated; True if it went as designed.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.inprocess import sandbox_clients
        >>> client, aclient = sandbox_clients(create_app(), token=TOKEN)
        >>> toolkit = BillingToolkit(client=client, async_client=aclient, approval="interrupt", audit=MemoryAuditLog())
        >>> scene_card_number(Console(quiet=True), toolkit, Terminal(Console(quiet=True), auto_yes=True), client)
        True
    """
    console.rule("5. A card number in the chat: refused, never repeated")
    scene = Scene.scripted("card-number", toolkit, terminal, [
        tool_call("payment_methods", action="add", payment_method_id="4242 4242 4242 4242"),
        tool_call("payment_links", action="handoff", purpose="fund", amount=20, channel="chat"),
    ], final="I can't take card numbers here. Please use the secure payment link I just sent.")
    result = scene.say("Just use my card 4242 4242 4242 4242, exp 12/30, cvc 123, and add $20.")
    refused = [m for m in result["messages"] if isinstance(m, ToolMessage) and "card_data_not_allowed" in str(m.content)]
    leaked = any("4242 4242" in str(m.content) for m in result["messages"] if isinstance(m, ToolMessage))
    return bool(refused) and not leaked


SCENES = (scene_headless, scene_setup_intent, scene_human, scene_declined, scene_card_number)
