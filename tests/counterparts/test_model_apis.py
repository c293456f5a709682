"""Approvals leave a history real model APIs accept, and the model always gets its turn.

``create_agent`` drives the billing tools with ``langchain-openai``'s and ``langchain-anthropic``'s chat
models, through their official SDKs, over HTTP to stand-ins that enforce each API's documented message
rules (``model_apis.py``). After every decision (approve, reject, both in one turn) under every approver,
the run must end with the model's own words, and a next turn on the same thread (the whole history sent
again) must be accepted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from tests.conftest import TOKEN
from tests.counterparts.model_apis import ModelScript, Rejected, model_api_app, validate_anthropic, validate_openai

from agent_billing.audit import MemoryAuditLog
from agent_billing.client import BillingClient
from agent_billing.guardrails.mandate import Mandate
from agent_billing.inprocess import sandbox_clients
from agent_billing.sandbox import SandboxServer
from agent_billing.tools import BillingToolkit

FUND_25 = ("wallet", {"action": "fund", "amount": 25})
FUND_40 = ("wallet", {"action": "fund", "amount": 40})
BALANCE = ("wallet", {"action": "balance"})
APIS = ["openai", "anthropic"]


@pytest.fixture
def script() -> ModelScript:
    return ModelScript(plans={})


@pytest.fixture
def api_url(script: ModelScript) -> Iterator[str]:
    with SandboxServer(app=model_api_app(script)) as server:
        yield server.root_url


def chat_model(api: str, url: str) -> Any:
    if api == "openai":
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(model="gpt-test", base_url=f"{url}/v1", api_key="test-key", max_retries=0, timeout=20)
    from langchain_anthropic import ChatAnthropic

    return ChatAnthropic(model="claude-test", base_url=url, api_key="test-key", max_retries=0, timeout=20,
                         max_tokens=1024)


@pytest.fixture
def billing(sandbox_app: Any, tmp_path: Path) -> Iterator[tuple[BillingClient, Any, str]]:
    client, aclient = sandbox_clients(sandbox_app, token=TOKEN)
    client.add_payment_method("pm_card_visa")
    yield client, aclient, f"sqlite:///{tmp_path / 'state.db'}"
    client.close()


def toolkit(billing: tuple[BillingClient, Any, str], **kwargs: Any) -> BillingToolkit:
    """A toolkit whose guardrail state lives in this test's own store."""
    return BillingToolkit(client=billing[0], async_client=billing[1], audit=MemoryAuditLog(), store=billing[2],
                          **kwargs)


def funded(client: BillingClient) -> Decimal:
    return client.get_wallet_balance().balance


def ends_with_the_models_words(result: dict[str, Any]) -> str:
    last = result["messages"][-1]
    assert isinstance(last, AIMessage) and not last.tool_calls, f"the run ended on {type(last).__name__}"
    assert "I read the tool's answer" in str(last.content)
    return str(last.content)


def paired(messages: list[Any]) -> None:
    """Every tool_calls id has exactly one tool message, and no tool message lacks its call."""
    calls = [c["id"] for m in messages if isinstance(m, AIMessage) for c in m.tool_calls]
    answers = [m.tool_call_id for m in messages if isinstance(m, ToolMessage)]
    assert sorted(calls) == sorted(answers) and len(set(answers)) == len(answers)


def next_turn_is_accepted(agent: Any, config: dict[str, Any], script: ModelScript) -> None:
    """The whole history goes to the API again: it must raise no 400."""
    again = agent.invoke({"messages": [("user", "Thanks, that is all.")]}, config)
    assert isinstance(again["messages"][-1], AIMessage) and script.rejections == []
    paired(again["messages"])


# --- the agent middleware, batched and per call


@pytest.mark.parametrize("api", APIS)
def test_a_rejected_call_under_the_middleware_lets_the_model_speak_and_keeps_a_valid_history(
        api: str, api_url: str, script: ModelScript, billing: Any) -> None:
    script.plans["Top up $25"] = [[FUND_25]]
    kit = toolkit(billing, approval="middleware")
    agent = create_agent(chat_model(api, api_url), kit.get_tools(), middleware=[kit.middleware()],
                         checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": f"reject-{api}"}}
    paused = agent.invoke({"messages": [("user", "Top up $25")]}, config)
    assert len(paused["__interrupt__"]) == 1
    done = agent.invoke(Command(resume={"decisions": [{"type": "reject", "message": "not today"}]}), config)
    words = ends_with_the_models_words(done)
    assert '"error": "rejected"' in words and funded(billing[0]) == Decimal("0.00")
    assert script.rejections == []
    paired(done["messages"])
    next_turn_is_accepted(agent, config, script)


@pytest.mark.parametrize("api", APIS)
def test_approve_and_reject_in_one_turn_run_one_charge_and_keep_every_call_answered(
        api: str, api_url: str, script: ModelScript, billing: Any) -> None:
    script.plans["Top up twice"] = [[FUND_25, BALANCE, FUND_40]]
    kit = toolkit(billing, approval="middleware")
    agent = create_agent(chat_model(api, api_url), kit.get_tools(), middleware=[kit.middleware()],
                         checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": f"mixed-{api}"}}
    paused = agent.invoke({"messages": [("user", "Top up twice")]}, config)
    (question,) = paused["__interrupt__"]
    assert [Decimal(str(a["args"]["amount"])) for a in question.value["action_requests"]] == [25, 40]
    done = agent.invoke(Command(resume={"decisions": [{"type": "approve"}, {"type": "reject"}]}), config)
    ends_with_the_models_words(done)
    assert funded(billing[0]) == Decimal("25.00")
    contents = {m.tool_call_id: json.loads(str(m.content)) for m in done["messages"] if isinstance(m, ToolMessage)}
    assert sorted(c.get("error", "ok") for c in contents.values()) == ["ok", "ok", "rejected"]
    assert script.rejections == []
    next_turn_is_accepted(agent, config, script)


@pytest.mark.parametrize("api", APIS)
def test_per_call_interrupts_are_answered_by_interrupt_id(api: str, api_url: str, script: ModelScript,
                                                         billing: Any) -> None:
    script.plans["Top up twice"] = [[FUND_25, FUND_40]]
    kit = toolkit(billing, approval="middleware")
    agent = create_agent(chat_model(api, api_url), kit.get_tools(),
                         middleware=[kit.middleware(interrupt_mode="per_call")], checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": f"per-call-{api}"}}
    paused = agent.invoke({"messages": [("user", "Top up twice")]}, config)
    asked = {Decimal(str(i.value["args"]["amount"])): i for i in paused["__interrupt__"]}
    assert set(asked) == {Decimal(25), Decimal(40)}
    assert all(i.value["type"] == "tool_approval" for i in asked.values())
    done = agent.invoke(Command(resume={asked[Decimal(25)].id: {"type": "approve"},
                                        asked[Decimal(40)].id: {"type": "reject", "message": "too much"}}), config)
    ends_with_the_models_words(done)
    assert funded(billing[0]) == Decimal("25.00") and script.rejections == []
    next_turn_is_accepted(agent, config, script)


@pytest.mark.parametrize("api", APIS)
async def test_the_async_middleware_keeps_the_history_valid_too(api: str, api_url: str, script: ModelScript,
                                                               billing: Any) -> None:
    script.plans["Top up twice"] = [[FUND_25, FUND_40]]
    kit = toolkit(billing, approval="middleware")
    agent = create_agent(chat_model(api, api_url), kit.get_tools(), middleware=[kit.middleware()],
                         checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": f"async-{api}"}}
    await agent.ainvoke({"messages": [("user", "Top up twice")]}, config)
    done = await agent.ainvoke(Command(resume={"decisions": [{"type": "reject"}, {"type": "approve"}]}), config)
    ends_with_the_models_words(done)
    assert funded(billing[0]) == Decimal("40.00") and script.rejections == []
    again = await agent.ainvoke({"messages": [("user", "Thanks, that is all.")]}, config)
    assert isinstance(again["messages"][-1], AIMessage) and script.rejections == []


# --- the other approvers


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_the_interrupt_approver(api: str, decision: str, api_url: str, script: ModelScript, billing: Any) -> None:
    script.plans["Top up $25"] = [[FUND_25]]
    agent = create_agent(chat_model(api, api_url), toolkit(billing, approval="interrupt").get_tools(),
                         checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": f"interrupt-{api}-{decision}"}}
    agent.invoke({"messages": [("user", "Top up $25")]}, config)
    done = agent.invoke(Command(resume=decision), config)
    ends_with_the_models_words(done)
    assert funded(billing[0]) == (Decimal("25.00") if decision == "approve" else Decimal("0.00"))
    assert script.rejections == []
    next_turn_is_accepted(agent, config, script)


@pytest.mark.parametrize("api", APIS)
def test_a_callback_that_declines(api: str, api_url: str, script: ModelScript, billing: Any) -> None:
    script.plans["Top up $25"] = [[FUND_25]]
    asked: list[Any] = []
    kit = toolkit(billing, approval=lambda request: asked.append(request) or False)
    agent = create_agent(chat_model(api, api_url), kit.get_tools(), checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": f"callback-{api}"}}
    done = agent.invoke({"messages": [("user", "Top up $25")]}, config)
    assert "declined" in ends_with_the_models_words(done) and len(asked) == 1
    assert funded(billing[0]) == Decimal("0.00") and script.rejections == []
    next_turn_is_accepted(agent, config, script)


@pytest.mark.parametrize("api", APIS)
def test_a_single_use_confirmation_round_trip(api: str, api_url: str, script: ModelScript, billing: Any) -> None:
    def confirm(results: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
        return [("wallet", {**FUND_25[1], "confirmation": results[-1]["confirmation"]})]

    script.plans["Top up $25"] = [[FUND_25], confirm]
    kit = toolkit(billing, approval="confirmation", mandate=Mandate(max_per_charge="50"))
    agent = create_agent(chat_model(api, api_url), kit.get_tools(), checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": f"confirm-{api}"}}
    done = agent.invoke({"messages": [("user", "Top up $25")]}, config)
    ends_with_the_models_words(done)
    assert funded(billing[0]) == Decimal("25.00") and script.rejections == []
    next_turn_is_accepted(agent, config, script)


# --- the stand-ins themselves: they refuse what the APIs refuse


def test_the_openai_stand_in_refuses_the_histories_openai_refuses() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "wallet", "arguments": "{}"}}
    user = {"role": "user", "content": "hi"}
    valid = [user, {"role": "assistant", "content": None, "tool_calls": [call]},
             {"role": "tool", "tool_call_id": "call_1", "content": "{}"}, {"role": "assistant", "content": "ok"}]
    validate_openai({"messages": valid})
    lost_calls = [user, {"role": "assistant", "content": None}, {"role": "tool", "tool_call_id": "call_1",
                                                                    "content": "{}"}]
    with pytest.raises(Rejected, match="must be a response to a preceeding message with 'tool_calls'"):
        validate_openai({"messages": lost_calls})  # what the old middleware left behind
    with pytest.raises(Rejected, match="did not have response messages: call_1"):
        validate_openai({"messages": [user, valid[1], user]})
    with pytest.raises(Rejected, match="must be a response"):
        validate_openai({"messages": [*valid[:3], valid[2]]})  # answered twice
    with pytest.raises(Rejected, match="tools"):
        validate_openai({"messages": [user], "tools": [{"type": "function", "function": {"name": "bad name"}}]})


def test_the_anthropic_stand_in_refuses_the_histories_anthropic_refuses() -> None:
    use = {"type": "tool_use", "id": "toolu_1", "name": "wallet", "input": {}}
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "{}"}
    user = {"role": "user", "content": "hi"}
    valid = [user, {"role": "assistant", "content": [use]}, {"role": "user", "content": [result]}]
    validate_anthropic({"max_tokens": 10, "messages": valid})
    with pytest.raises(Rejected, match="max_tokens"):
        validate_anthropic({"messages": valid})
    with pytest.raises(Rejected, match="without `tool_result` blocks immediately after: toolu_1"):
        validate_anthropic({"max_tokens": 10, "messages": [user, valid[1], user]})
    with pytest.raises(Rejected, match="unexpected `tool_use_id`"):
        validate_anthropic({"max_tokens": 10, "messages": [user, {"role": "assistant", "content": "x"},
                                                           valid[2]]})
    with pytest.raises(Rejected, match="non-empty content"):
        validate_anthropic({"max_tokens": 10, "messages": [user, {"role": "assistant", "content": ""}, user]})
