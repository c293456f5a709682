"""A minimal LangGraph tool-calling agent: a model node, a ToolNode, and a checkpointer.

Written out with LangGraph's own pieces (no extra package), so the demo shows exactly what a host
application builds: tools that raise ``interrupt()`` for approvals, resumed with ``Command(resume=...)``.

Example:
    >>> from langgraph.checkpoint.memory import InMemorySaver
    >>> from agent_billing.demo.scripted_model import ScriptedChatModel
    >>> graph = build_agent(ScriptedChatModel(turns=[]), [], InMemorySaver())
    >>> graph.invoke({"messages": [("user", "hi")]}, {"configurable": {"thread_id": "t"}})["messages"][-1].content
    'Done.'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import SystemMessage
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import Send


def build_agent(model: BaseChatModel, tools: Sequence[BaseTool], checkpointer: Any, system_prompt: str | None = None) -> Any:
    """Compile the agent graph (model <-> tools loop) with ``checkpointer``.

    Example:
        >>> from langgraph.checkpoint.memory import InMemorySaver
        >>> from agent_billing.demo.scripted_model import ScriptedChatModel
        >>> graph = build_agent(ScriptedChatModel(turns=[]), [], InMemorySaver(), system_prompt="You handle billing.")
        >>> sorted(graph.get_graph().nodes)
        ['__end__', '__start__', 'model']
    """
    bound = model.bind_tools(list(tools)) if tools else model

    def call_model(state: MessagesState) -> dict[str, Any]:
        messages = list(state["messages"])
        if system_prompt:
            messages = [SystemMessage(content=system_prompt), *messages]
        return {"messages": [bound.invoke(messages)]}

    def each_call(state: MessagesState) -> Any:
        # One task per tool call (as create_agent does): LangGraph matches a resume to an interrupt by id
        # per task, but within one task by the order interrupt() is reached, which parallel calls make
        # racy, so in one shared task an approval given for one charge could be spent by another.
        last = state["messages"][-1]
        calls = getattr(last, "tool_calls", None) or []
        if not calls:
            return END
        return [Send("tools", {"messages": [*state["messages"][:-1], last.model_copy(update={"tool_calls": [call]})]})
                for call in calls]

    graph = StateGraph(MessagesState)
    graph.add_node("model", call_model)
    graph.add_edge(START, "model")
    if tools:
        graph.add_node("tools", ToolNode(list(tools), handle_tool_errors=False))
        graph.add_conditional_edges("model", each_call, ["tools", END])
        graph.add_edge("tools", "model")
    else:
        graph.add_edge("model", END)
    return graph.compile(checkpointer=checkpointer)
