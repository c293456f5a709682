"""A small web chat host (Starlette): relays payment links to the page and takes approvals from it.

``POST /chat {"thread": ..., "text": ...}`` runs the agent. When a billing tool needs a yes, the answer
carries ``approval`` (the summary to show) and the agent waits; ``POST /approve {"thread": ...,
"approve": true|false}`` resumes it. Payment links the agent created come back in ``links``, for the page
to show as buttons (never retyped by the model).

Run it against the sandbox::

    agent-billing sandbox
    AGENT_BILLING_BASE_URL=http://127.0.0.1:8787/api/agents/v1 AGENT_BILLING_TOKEN=sk_sandbox_demo \\
        uvicorn --factory examples.web_chat:create_app --host 127.0.0.1 --port 8000

Without a model a scripted one asks for a $25.00 top-up with ``pm_card_visa``, then sends a $40.00 link.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agent_billing import BillingToolkit
from agent_billing.demo.agent import build_agent
from agent_billing.demo.narration import reply
from agent_billing.demo.scripted_model import ScriptedChatModel, last_tool_result, tool_call


def scripted_model() -> BaseChatModel:
    """A stand-in model: a top-up that needs approval, then a payment link for the rest."""
    return ScriptedChatModel(turns=[
        tool_call("wallet", action="fund", amount=25, payment_method_id="pm_card_visa"),
        lambda messages: AIMessage(content=reply(last_tool_result(messages), what="the $25.00 top-up",
                                                 done="Done: $25.00 added.")),
        tool_call("payment_links", action="handoff", purpose="fund", amount=40, channel="chat"),
    ], final=lambda messages: AIMessage(content=reply(last_tool_result(messages), what="the payment link",
                                                      done="Here is a secure page for the $40.00.")))


def _answer(state: dict[str, Any], since: int) -> dict[str, Any]:
    """What the page shows: the reply, any payment links created in this turn, and a pending approval."""
    new = state["messages"][since:]
    links = []
    for message in new:
        if isinstance(message, ToolMessage):
            content = json.loads(str(message.content))
            if content.get("ok") and content.get("payment_url"):
                links.append({"url": content["payment_url"], "expires_at": content.get("expires_at")})
    pending = state.get("__interrupt__") or []
    approval = {"summary": pending[0].value["summary"]} if pending else None
    text = "" if pending else str(state["messages"][-1].content)
    return {"reply": text, "links": links, "approval": approval}


def create_app(toolkit: BillingToolkit | None = None, model: BaseChatModel | None = None) -> Starlette:
    """The web app; one conversation per ``thread``, kept by the graph's checkpointer."""
    toolkit = toolkit or BillingToolkit.from_env(approval="interrupt")
    graph = build_agent(model or scripted_model(), toolkit.get_tools(), InMemorySaver(),
                        system_prompt=toolkit.system_prompt("chatbot"))
    seen: dict[str, int] = {}

    async def run(thread: str, payload: Any) -> dict[str, Any]:
        config = {"configurable": {"thread_id": thread}}
        since = seen.get(thread, 0)
        state = await graph.ainvoke(payload, config)
        seen[thread] = len(state["messages"])
        answer = _answer(state, since)
        if answer["approval"] is None:
            return answer
        # Keep the interrupt's id so /approve resumes exactly the request that was shown.
        seen[f"{thread}:interrupt"] = since
        answer["approval"]["id"] = state["__interrupt__"][0].id
        return answer

    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse(await run(str(body["thread"]), {"messages": [("user", str(body["text"]))]}))

    async def approve(request: Request) -> JSONResponse:
        body = await request.json()
        thread = str(body["thread"])
        seen[thread] = seen.pop(f"{thread}:interrupt", seen.get(thread, 0))
        decision = "approve" if body.get("approve") is True else "reject"
        return JSONResponse(await run(thread, Command(resume={str(body["id"]): decision})))

    return Starlette(routes=[Route("/chat", chat, methods=["POST"]), Route("/approve", approve, methods=["POST"])])
