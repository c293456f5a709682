"""Ask in one process, approve and resume in another: LangGraph's PostgreSQL checkpointer plus the
PostgreSQL guardrail store. Exactly one charge results, whichever worker resumes.

A charge raises a LangGraph ``interrupt()``; the graph's state goes to PostgreSQL (the checkpointer) and
so does the guardrail state (what the person was shown, the spend reservation, the audit chain). Any
worker can then resume the thread with the person's answer. Run it (needs ``agent-billing[postgres]``)::

    agent-billing sandbox &
    export AGENT_BILLING_BASE_URL=http://127.0.0.1:8787/api/agents/v1 AGENT_BILLING_TOKEN=sk_sandbox_demo
    export AGENT_BILLING_STORE_URL=postgresql://postgres@127.0.0.1:5432/agents
    python examples/postgres_resume.py ask --thread order-42       # worker 1: stops at the approval
    python examples/postgres_resume.py approve --thread order-42   # worker 2: approves and resumes

The stand-in model (no key needed) asks for one $25 top-up with the test card; the worker that resumes
only needs the model for its final words, so it gets no scripted tool call. ``--model PROVIDER:MODEL``
(for example ``openai:gpt-4.1-mini``, give it to both steps) uses a real model instead. ``--checkpoints
URL`` defaults to the store URL.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.types import Command

from agent_billing import BillingToolkit
from agent_billing.demo.narration import reply
from agent_billing.demo.scripted_model import ScriptedChatModel, last_tool_result, tool_call


def model(asks: bool) -> BaseChatModel:
    """The stand-in model: the asking worker's turn is a $25 top-up; every worker answers from the result."""
    return ScriptedChatModel(
        turns=[tool_call("wallet", action="fund", amount=25, payment_method_id="pm_card_visa")] if asks else [],
        final=lambda messages: AIMessage(content=reply(last_tool_result(messages), what="the $25.00 top-up",
                                                      done="Done: $25.00 added to your wallet.")))


def main(argv: Sequence[str] | None = None) -> int:
    """``ask``: run until the approval and print it; ``approve``/``reject``: resume the thread with that answer."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("step", choices=["ask", "approve", "reject"])
    parser.add_argument("--thread", required=True, help="the conversation's thread id")
    parser.add_argument("--model", help="PROVIDER:MODEL for init_chat_model (default: a scripted model, no key)")
    parser.add_argument("--checkpoints", help="PostgreSQL URL of the checkpointer (default: $AGENT_BILLING_STORE_URL)")
    args = parser.parse_args(argv)
    checkpoints = args.checkpoints or os.environ.get("AGENT_BILLING_STORE_URL", "")
    if not checkpoints.startswith("postgres"):
        print("set AGENT_BILLING_STORE_URL (or --checkpoints) to a postgresql:// URL", file=sys.stderr)
        return 2
    # The guardrail state follows AGENT_BILLING_STORE_URL: the same database, other tables.
    toolkit = BillingToolkit.from_env(approval="interrupt")
    config: Any = {"configurable": {"thread_id": args.thread}}
    if args.model:
        from langchain.chat_models import init_chat_model

        chat_model: BaseChatModel = init_chat_model(args.model)
    else:
        chat_model = model(asks=args.step == "ask")
    with PostgresSaver.from_conn_string(checkpoints) as saver:
        saver.setup()
        graph = create_agent(chat_model, toolkit.get_tools(),
                             system_prompt=toolkit.system_prompt("chatbot"), checkpointer=saver)
        if args.step == "ask":
            state = graph.invoke({"messages": [("user", "Add $25 with my card")]}, config)
        else:
            waiting = [i for task in graph.get_state(config).tasks for i in task.interrupts]
            if not waiting:
                print(json.dumps({"thread": args.thread, "status": "nothing_to_resume"}))
                return 0
            state = graph.invoke(Command(resume={i.id: args.step for i in waiting}), config)
    pending = state.get("__interrupt__") or []
    if pending:
        print(json.dumps({"thread": args.thread, "status": "waiting_for_approval",
                          "summaries": [i.value["summary"] for i in pending]}))
    else:
        print(json.dumps({"thread": args.thread, "status": "done", "reply": state["messages"][-1].text}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
