"""Real agents (LangChain create_agent, LangGraph checkpointers) driving the tools through approvals.

The chat model is scripted (it emits planned tool calls), so no key is needed; everything else is real:
the agent loop, the ToolNode, interrupts, the SQLite checkpointer, the sandbox.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command
from tests.tools.conftest import MakeToolkit

from agent_billing.client import BillingClient
from agent_billing.demo.scripted_model import ScriptedChatModel, tool_call


def ledger(client: BillingClient) -> tuple[Decimal, int]:
    return client.get_wallet_balance().balance, len(client.get_wallet_transactions().items)


def tool_messages(result: dict[str, Any]) -> list[ToolMessage]:
    return [m for m in result["messages"] if isinstance(m, ToolMessage)]


def fund_agent(toolkit: Any, saver: Any, *calls: AIMessage) -> Any:
    model = ScriptedChatModel(turns=list(calls) or [tool_call("wallet", action="fund", amount=25)], final="Done.")
    return create_agent(model, toolkit.get_tools(), checkpointer=saver)


def test_interrupt_then_approve_charges_exactly_once(make_toolkit: MakeToolkit, clients: Any, tmp_path: Path) -> None:
    client = clients[0]
    client.add_payment_method("pm_card_visa")
    with SqliteSaver.from_conn_string(str(tmp_path / "checkpoints.sqlite")) as saver:
        agent = fund_agent(make_toolkit(approval="interrupt"), saver)
        config = {"configurable": {"thread_id": "approve"}}
        paused = agent.invoke({"messages": [("user", "Top up $25 please")]}, config)
        (pending,) = paused["__interrupt__"]
        assert pending.value["kind"] == "agent_billing_approval"
        assert "$25.00" in pending.value["summary"] and "Visa ending 4242" in pending.value["summary"]
        assert ledger(client) == (Decimal("0.00"), 0)  # never before the decision
        done = agent.invoke(Command(resume="approve"), config)
        assert '"ok":true' in str(tool_messages(done)[-1].content)
        assert ledger(client) == (Decimal("25.00"), 1)
        # Replaying the same resume again must not charge again.
        agent.invoke(Command(resume="approve"), config)
        assert ledger(client) == (Decimal("25.00"), 1)


def test_interrupt_then_reject_charges_nothing(make_toolkit: MakeToolkit, clients: Any, tmp_path: Path) -> None:
    client = clients[0]
    client.add_payment_method("pm_card_visa")
    with SqliteSaver.from_conn_string(str(tmp_path / "checkpoints.sqlite")) as saver:
        agent = fund_agent(make_toolkit(approval="interrupt"), saver,
                           tool_call("wallet", action="fund", amount=25), tool_call("wallet", action="fund", amount=25))
        config = {"configurable": {"thread_id": "reject"}}
        agent.invoke({"messages": [("user", "Top up $25")]}, config)
        after_reject = agent.invoke(Command(resume="reject"), config)
        # The scripted agent tries again; the declined request is refused without a new question.
        assert "__interrupt__" not in after_reject
        contents = [str(m.content) for m in tool_messages(after_reject)]
        assert "declined" in contents[0] and "declined" in contents[1]
        assert ledger(client) == (Decimal("0.00"), 0)


def test_parallel_tool_calls_each_need_their_own_yes(make_toolkit: MakeToolkit, clients: Any) -> None:
    client = clients[0]
    client.add_payment_method("pm_card_visa")
    both = AIMessage(content="", tool_calls=[
        {"name": "wallet", "args": {"action": "fund", "amount": 25}, "id": "call_a", "type": "tool_call"},
        {"name": "wallet", "args": {"action": "fund", "amount": 40}, "id": "call_b", "type": "tool_call"},
    ])
    agent = fund_agent(make_toolkit(approval="interrupt"), InMemorySaver(), both)
    config = {"configurable": {"thread_id": "parallel"}}
    paused = agent.invoke({"messages": [("user", "Top up twice")]}, config)
    pending = {i.value["amount"]: i.id for i in paused["__interrupt__"]}
    assert set(pending) == {"25", "40"} or set(pending) == {"25.00", "40.00"}
    answers = {iid: ("approve" if Decimal(amount) == 25 else "reject") for amount, iid in pending.items()}
    agent.invoke(Command(resume=answers), config)
    assert ledger(client) == (Decimal("25.00"), 1)


def test_toolkit_middleware_asks_per_action_and_binds_the_yes(make_toolkit: MakeToolkit, clients: Any) -> None:
    client = clients[0]
    client.add_payment_method("pm_card_visa")
    toolkit = make_toolkit(approval="middleware")
    model = ScriptedChatModel(turns=[tool_call("wallet", action="balance"), tool_call("wallet", action="fund", amount=25),
                                     tool_call("wallet", action="fund", amount=30)])
    agent = create_agent(model, toolkit.get_tools(), middleware=[toolkit.middleware()], checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "hitl"}}
    paused = agent.invoke({"messages": [("user", "fund")]}, config)
    (question,) = paused["__interrupt__"]  # the balance read did not interrupt; the $25 charge did
    (action,) = question.value["action_requests"]
    assert action["description"].startswith("Charge $25.00 USD to Visa ending 4242, one-off.")
    assert ledger(client) == (Decimal("0.00"), 0)
    paused = agent.invoke(Command(resume={"decisions": [{"type": "approve"}]}), config)
    assert ledger(client) == (Decimal("25.00"), 1)
    agent.invoke(Command(resume={"decisions": [{"type": "reject", "message": "no"}]}), config)
    assert ledger(client) == (Decimal("25.00"), 1)


async def test_async_agent_with_interrupt(make_toolkit: MakeToolkit, clients: Any) -> None:
    client = clients[0]
    client.add_payment_method("pm_card_visa")
    agent = fund_agent(make_toolkit(approval="interrupt"), InMemorySaver())
    config = {"configurable": {"thread_id": "async"}}
    paused = await agent.ainvoke({"messages": [("user", "Top up $25")]}, config)
    assert paused["__interrupt__"] and ledger(client) == (Decimal("0.00"), 0)
    await agent.ainvoke(Command(resume={"approved": True}), config)
    assert ledger(client) == (Decimal("25.00"), 1)
