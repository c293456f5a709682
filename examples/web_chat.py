"""A small web chat host (Starlette): relays payment links to the page and takes approvals from it.

``POST /chat {"thread": ..., "text": ...}`` runs the agent. When billing tools need a yes, the answer
carries ``approvals``, one ``{"id", "summary"}`` per request waiting (a model may ask for several at once;
``approval`` is the first of them), and the agent waits; ``POST /approve {"thread": ..., "id": ...,
"approve": true|false}`` answers one request by its id, ``{"thread": ..., "answers": {id: true|false, ...}}``
answers several at once, and ``{"thread": ..., "approve": ...}`` without an id answers the only one waiting.
Requests not answered yet stay waiting (shown again in the answer). Payment links the agent created come
back in ``links``, for the page to show as buttons (never retyped by the model).

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

from langchain.agents import create_agent
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
    """What the page shows: the reply, any payment links created in this turn, and the approvals waiting."""
    new = state["messages"][since:]
    links = []
    for message in new:
        if isinstance(message, ToolMessage):
            content = json.loads(str(message.content))
            if content.get("ok") and content.get("payment_url"):
                links.append({"url": content["payment_url"], "expires_at": content.get("expires_at")})
    # The interrupt approver's value carries "summary"; the middleware's per-call one, "description".
    approvals = [{"id": i.id, "summary": i.value.get("summary") or i.value["description"]}
                 for i in state.get("__interrupt__") or []]
    # .text: a model's content may be a list of blocks (Anthropic); the page gets its words only.
    text = "" if approvals else state["messages"][-1].text
    return {"reply": text, "links": links, "approval": approvals[0] if approvals else None, "approvals": approvals}


def _decisions(body: dict[str, Any], waiting: list[str]) -> dict[str, bool] | str:
    """The answers an /approve body gives, by interrupt id, or why it cannot be taken."""
    if isinstance(body.get("answers"), dict):
        answers = body["answers"]
    elif isinstance(body.get("id"), str):
        answers = {body["id"]: body.get("approve")}
    elif len(waiting) == 1:
        answers = {waiting[0]: body.get("approve")}
    elif "id" in body:
        return "that approval is not waiting (any more); answer one of the approvals shown"
    else:
        return "several approvals are waiting: answer each by its id"
    if not answers or any(key not in waiting for key in answers):
        return "that approval is not waiting (any more); answer one of the approvals shown"
    return {key: value is True for key, value in answers.items()}  # anything but true is a no


def _agent(toolkit: BillingToolkit, model: BaseChatModel, tools: list[Any], checkpointer: Any, prompt: str) -> Any:
    """The agent: with a middleware toolkit, ``create_agent`` asks once per gated call before any tool runs
    (several at once when the model asks for several); otherwise the tools pause themselves (``interrupt``)."""
    try:
        middleware = toolkit.middleware(interrupt_mode="per_call")
    except ValueError:  # approval="interrupt": the tools raise the interrupts themselves
        return build_agent(model, tools, checkpointer, system_prompt=prompt)
    return create_agent(model, tools, system_prompt=prompt, middleware=[middleware], checkpointer=checkpointer)


def create_app(toolkit: BillingToolkit | None = None, model: BaseChatModel | None = None) -> Starlette:
    """The web app; one conversation per ``thread``, kept by the graph's checkpointer.

    By default the toolkit (from the environment) asks through its agent middleware, one interrupt per
    gated call, so two charges in one model turn are two approvals shown at once. A real ``model`` serves
    every thread; the scripted stand-in keeps its place in its script, so each
    thread gets its own (one shared script would hand thread B the turn thread A was due).
    """
    toolkit = toolkit or BillingToolkit.from_env(approval="middleware")
    tools, checkpointer = toolkit.get_tools(), InMemorySaver()
    prompt = toolkit.system_prompt("chatbot")
    graphs: dict[str, Any] = {}
    seen: dict[str, int] = {}
    waiting: dict[str, tuple[list[str], int]] = {}  # thread -> (the interrupt ids shown, where the turn started)

    def graph_for(thread: str) -> Any:
        if thread not in graphs:
            graphs[thread] = _agent(toolkit, model or scripted_model(), tools, checkpointer, prompt)
        return graphs[thread]

    async def run(thread: str, payload: Any, since: int) -> dict[str, Any]:
        config = {"configurable": {"thread_id": thread}}
        state = await graph_for(thread).ainvoke(payload, config)
        seen[thread] = len(state["messages"])
        answer = _answer(state, since)
        if answer["approvals"]:
            # Keep the ids so /approve resumes exactly the requests that were shown.
            waiting[thread] = ([a["id"] for a in answer["approvals"]], since)
        else:
            waiting.pop(thread, None)
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
        if thread in waiting:
            return problem(409, "an approval is pending on this thread: answer it with POST /approve first")
        return JSONResponse(await run(thread, {"messages": [("user", body["text"])]}, seen.get(thread, 0)))

    async def approve(request: Request) -> JSONResponse:
        body = await body_of(request)
        if body is None:
            return problem(400, 'send JSON {"thread": "...", "id": "...", "approve": true|false} '
                                'or {"thread": "...", "answers": {"<id>": true|false}}')
        thread = body["thread"]
        if thread not in waiting:
            return problem(409, "nothing is waiting for approval on this thread")
        ids, since = waiting[thread]
        decisions = _decisions(body, ids)
        if isinstance(decisions, str):
            return problem(409, decisions)
        # HumanInTheLoopMiddleware's per-call decision format; the interrupt approver reads it too.
        resume = {key: {"type": "approve" if yes else "reject"} for key, yes in decisions.items()}
        return JSONResponse(await run(thread, Command(resume=resume), since))

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
