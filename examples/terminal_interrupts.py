"""A LangGraph agent in a terminal that pauses before any charge and resumes with the person's answer.

The billing tools raise a LangGraph ``interrupt()`` carrying the approval request; this host prints the
summary, asks y/n, and resumes the graph with ``Command(resume=...)``. Nothing is charged before the yes.

Run it against the sandbox (two terminals)::

    agent-billing sandbox
    AGENT_BILLING_BASE_URL=http://127.0.0.1:8787/api/agents/v1 AGENT_BILLING_TOKEN=sk_sandbox_demo \\
        python examples/terminal_interrupts.py --model openai:gpt-4.1-mini

Without ``--model`` a scripted model (no key) asks to add $25 with the test card ``pm_card_visa``.
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from agent_billing import BillingToolkit
from agent_billing.demo.narration import reply
from agent_billing.demo.scripted_model import ScriptedChatModel, last_tool_result, tool_call


def scripted_model() -> BaseChatModel:
    """A stand-in model: one top-up with the sandbox's test card, then words that follow the result."""
    return ScriptedChatModel(
        turns=[tool_call("wallet", action="fund", amount=25, payment_method_id="pm_card_visa")],
        final=lambda messages: AIMessage(content=reply(last_tool_result(messages), what="the $25.00 top-up",
                                                      done="Done: $25.00 added to your wallet.")))


def build(toolkit: BillingToolkit, model: BaseChatModel) -> Any:
    """The agent: LangChain's ``create_agent`` with the billing tools and a checkpointer (needed to resume)."""
    return create_agent(model, toolkit.get_tools(), system_prompt=toolkit.system_prompt("chatbot"),
                        checkpointer=InMemorySaver())


def turn(graph: Any, thread_id: str, text: str, ask: Callable[[str], bool]) -> str:
    """Send one message; answer every approval with ``ask(summary)``; return the agent's reply."""
    config = {"configurable": {"thread_id": thread_id}}
    state = graph.invoke({"messages": [("user", text)]}, config)
    while state.get("__interrupt__"):
        answers = {i.id: "approve" if ask(i.value["summary"]) else "reject" for i in state["__interrupt__"]}
        state = graph.invoke(Command(resume=answers), config)
    return str(state["messages"][-1].text)  # the words only: a model's content may be blocks (Anthropic)


def main(argv: Sequence[str] | None = None, toolkit: BillingToolkit | None = None,
         read: Callable[[str], str] = input, write: Callable[[str], None] = print) -> int:
    """Chat in the terminal until an empty line or EOF."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", help="PROVIDER:MODEL for init_chat_model (default: a scripted model)")
    args = parser.parse_args(argv)
    if args.model:
        from langchain.chat_models import init_chat_model

        model: BaseChatModel = init_chat_model(args.model)
    else:
        model = scripted_model()
    toolkit = toolkit or BillingToolkit.from_env(approval="interrupt")
    graph, thread = build(toolkit, model), uuid.uuid4().hex

    def ask(summary: str) -> bool:
        return read(f"Approve? {summary} [y/N] ").strip().lower() in ("y", "yes")

    while True:
        try:
            text = read("you> ").strip()
        except EOFError:
            return 0
        if not text:
            return 0
        write(f"agent: {turn(graph, thread, text, ask)}")


if __name__ == "__main__":
    raise SystemExit(main())
