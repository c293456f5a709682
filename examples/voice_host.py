"""A voice-style host: short spoken turns, approvals asked aloud, and never a URL read out.

Speech in and out is left to your telephony or speech stack; this host only decides what is said. The
agent uses the ``voice`` prompt and ``channel="voice"`` links: it says the amount and the expiry, and the
link itself goes to the caller by text message through ``send_text`` (here: printed as "SMS").

Run it against the sandbox (``pip install -e '.[demo]'`` in a checkout)::

    agent-billing sandbox &
    AGENT_BILLING_BASE_URL=http://127.0.0.1:8787/api/agents/v1 AGENT_BILLING_TOKEN=sk_sandbox_demo \\
        python examples/voice_host.py

``--help`` prints the options and charges nothing; ``--model openai:gpt-4.1-mini`` uses a real model.

Without a model a scripted one asks to top up $25.00 with the saved card, then texts a $40.00 link.
"""

from __future__ import annotations

import argparse
import json
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from agent_billing import BillingToolkit
from agent_billing.demo.agent import build_agent
from agent_billing.demo.narration import reply, spoken
from agent_billing.demo.scripted_model import ScriptedChatModel, last_tool_result, tool_call


def scripted_model() -> BaseChatModel:
    """A stand-in model: a top-up with a test card, then a payment link for the voice channel."""
    return ScriptedChatModel(turns=[
        tool_call("wallet", action="fund", amount=25, payment_method_id="pm_card_visa"),
        lambda messages: AIMessage(content=reply(last_tool_result(messages), what="the $25.00 top-up",
                                                 done="Done, twenty-five dollars added.")),
        tool_call("payment_links", action="handoff", purpose="fund", amount=40, channel="voice"),
    ], final=lambda messages: AIMessage(content=reply(
        last_tool_result(messages), what="the payment link",
        done=str(last_tool_result(messages).get("messages", {}).get("voice", "")))))


class VoiceHost:
    """One call: ``hear(text)`` returns what to say; approvals are asked aloud and answered by the caller."""

    def __init__(self, toolkit: BillingToolkit, send_text: Callable[[str], None], model: BaseChatModel | None = None):
        self.graph = build_agent(model or scripted_model(), toolkit.get_tools(), InMemorySaver(),
                                 system_prompt=toolkit.system_prompt("voice"))
        self.send_text = send_text
        self.config = {"configurable": {"thread_id": uuid.uuid4().hex}}
        self.pending: Any = None
        self._seen = 0

    def hear(self, text: str) -> str:
        """The caller said ``text`` (a yes/no when an approval is pending); returns the next spoken turn."""
        if self.pending is not None:
            yes = bool(re.match(r"\s*(yes|yeah|sure|ok)\b", text, re.IGNORECASE))
            payload: Any = Command(resume={self.pending.id: "approve" if yes else "reject"})
        else:
            payload = {"messages": [("user", text)]}
        state = self.graph.invoke(payload, self.config)
        links = list(self._new_links(state))
        for url in links:
            self.send_text(f"Your secure payment page: {url}")
        interrupts = state.get("__interrupt__") or []
        self.pending = interrupts[0] if interrupts else None
        if self.pending is not None:
            return spoken(f"{self.pending.value['summary']} Shall I go ahead? Please say yes or no.", limit=3)
        # The link went by text already, so the turn says so instead of offering to send it.
        # .text: the words only (a model's content may be a list of blocks, as Anthropic's is).
        return spoken(state["messages"][-1].text) + (" I've texted you the link." if links else "")

    def _new_links(self, state: dict[str, Any]) -> Iterator[str]:
        messages = state["messages"]
        for message in messages[self._seen:]:
            if isinstance(message, ToolMessage):
                content = json.loads(str(message.content))
                if content.get("ok") and content.get("payment_url"):
                    yield str(content["payment_url"])
        self._seen = len(messages)


CALL = ("Please add twenty-five dollars with my card.", "yes", "And send me a link for forty more.")


def main(argv: Sequence[str] | None = None) -> int:
    """A scripted call against the API configured in the environment (for example the sandbox).

    The arguments are read before anything else, so ``--help`` only prints the help: nothing is charged.
    """
    parser = argparse.ArgumentParser(
        description="A scripted voice call against the API in the environment (AGENT_BILLING_BASE_URL, "
                    "AGENT_BILLING_TOKEN): the caller approves a $25.00 top-up aloud, then gets a $40.00 link by text.")
    parser.add_argument("--model", help="PROVIDER:MODEL for init_chat_model (default: a scripted model, no key)")
    parser.add_argument("--say", action="append", metavar="TEXT",
                        help="what the caller says, in order, repeatable (default: the scripted call)")
    args = parser.parse_args(argv)
    model: BaseChatModel | None = None
    if args.model:
        from langchain.chat_models import init_chat_model

        model = init_chat_model(args.model)
    host = VoiceHost(BillingToolkit.from_env(approval="interrupt"), send_text=lambda sms: print(f"SMS: {sms}"),
                     model=model)
    for said in args.say or CALL:
        print(f"caller: {said}\nagent:  {host.hear(said)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
