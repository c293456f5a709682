"""A small web chat host (Starlette): relays payment links to the page and takes approvals from it.

``POST /chat {"thread": ..., "text": ...}`` runs the agent. When a billing tool needs a yes, the answer
carries ``approval`` (the ``summary`` to show and its ``id``) and the agent waits; ``POST /approve
{"thread": ..., "approve": true|false}`` resumes it (add ``"id"`` to answer that exact request; without it
the request shown last on the thread is answered). Payment links the agent created come back in
``links``, for the page to show as buttons (never retyped by the model).

Run it against the sandbox (``pip install -e '.[demo]'`` in a checkout)::

    agent-billing sandbox &
    AGENT_BILLING_BASE_URL=http://127.0.0.1:8787/api/agents/v1 AGENT_BILLING_TOKEN=sk_sandbox_demo \\
        python examples/web_chat.py --port 8000
    curl -s localhost:8000/chat -d '{"thread": "t1", "text": "Top up $25 with my card"}'
    curl -s localhost:8000/approve -d '{"thread": "t1", "approve": true}'

(or ``uvicorn --factory examples.web_chat:create_app --port 8000``). ``--help`` prints the options.

Without a model a scripted one asks for a $25.00 top-up with ``pm_card_visa``, then sends a $40.00 link.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
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
    """The web app; one conversation per ``thread``, kept by the graph's checkpointer.

    A real ``model`` serves every thread; the scripted stand-in keeps its place in its script, so each
    thread gets its own (one shared script would hand thread B the turn thread A was due).
    """
    toolkit = toolkit or BillingToolkit.from_env(approval="interrupt")
    tools, checkpointer = toolkit.get_tools(), InMemorySaver()
    prompt = toolkit.system_prompt("chatbot")
    graphs: dict[str, Any] = {}
    seen: dict[str, int] = {}
    shown: dict[str, tuple[str, int]] = {}  # thread -> (the interrupt shown, where its turn started)

    def graph_for(thread: str) -> Any:
        if thread not in graphs:
            graphs[thread] = build_agent(model or scripted_model(), tools, checkpointer, system_prompt=prompt)
        return graphs[thread]

    async def run(thread: str, payload: Any, since: int) -> dict[str, Any]:
        config = {"configurable": {"thread_id": thread}}
        state = await graph_for(thread).ainvoke(payload, config)
        seen[thread] = len(state["messages"])
        answer = _answer(state, since)
        if answer["approval"] is None:
            shown.pop(thread, None)
            return answer
        # Keep the interrupt's id so /approve resumes exactly the request that was shown.
        interrupt_id = state["__interrupt__"][0].id
        shown[thread] = (interrupt_id, since)
        answer["approval"]["id"] = interrupt_id
        return answer

    def problem(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    async def body_of(request: Request) -> dict[str, Any] | None:
        try:
            body = await request.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) and isinstance(body.get("thread"), str) else None

    async def chat(request: Request) -> JSONResponse:
        body = await body_of(request)
        if body is None or not isinstance(body.get("text"), str):
            return problem(400, 'send JSON {"thread": "...", "text": "..."}')
        thread = body["thread"]
        if thread in shown:
            return problem(409, "an approval is pending on this thread: answer it with POST /approve first")
        return JSONResponse(await run(thread, {"messages": [("user", body["text"])]}, seen.get(thread, 0)))

    async def approve(request: Request) -> JSONResponse:
        body = await body_of(request)
        if body is None:
            return problem(400, 'send JSON {"thread": "...", "approve": true|false} (and optionally "id")')
        thread = body["thread"]
        if thread not in shown:
            return problem(409, "nothing is waiting for approval on this thread")
        interrupt_id, since = shown[thread]
        if body.get("id", interrupt_id) != interrupt_id:
            return problem(409, "that approval is no longer pending; answer the one shown last")
        decision = "approve" if body.get("approve") is True else "reject"
        return JSONResponse(await run(thread, Command(resume={interrupt_id: decision}), since))

    return Starlette(routes=[Route("/chat", chat, methods=["POST"]), Route("/approve", approve, methods=["POST"])])


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the web chat on loopback with uvicorn (``--help`` only prints the options)."""
    parser = argparse.ArgumentParser(
        description="A small web chat host for the billing tools, against the API in the environment "
                    "(AGENT_BILLING_BASE_URL, AGENT_BILLING_TOKEN).")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    parser.add_argument("--model", help="PROVIDER:MODEL for init_chat_model (default: a scripted model, no key)")
    args = parser.parse_args(argv)
    model: BaseChatModel | None = None
    if args.model:
        from langchain.chat_models import init_chat_model

        model = init_chat_model(args.model)
    import uvicorn

    uvicorn.run(create_app(model=model), host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
