"""Conformance stand-ins for two model APIs: OpenAI's Chat Completions and Anthropic's Messages.

A real model API validates the whole history it is sent, and answers 400 when the history breaks its
documented rules; a scripted chat model in the same process checks nothing. These stand-ins are small
HTTP servers speaking each API's wire format, so the official SDKs behind ``langchain-openai`` and
``langchain-anthropic`` talk to them exactly as to the provider, and they answer 400, with each API's
own error shape and wording, exactly where the provider's documentation says it does:

OpenAI (Chat Completions, ``POST /v1/chat/completions``):
- a ``tool`` message must answer a ``tool_calls`` id of the assistant message right before its run of
  tool messages ("messages with role 'tool' must be a response to a preceeding message with 'tool_calls'");
- an assistant message with ``tool_calls`` must be followed by tool messages answering each id, each once;
- tool names match ``^[a-zA-Z0-9_-]{1,64}$``; roles are system, developer, user, assistant, tool.

Anthropic (Messages, ``POST /v1/messages``):
- ``max_tokens`` is required; roles are user and assistant only (system goes in ``system``);
- each ``tool_use`` block must be answered by a ``tool_result`` block in the very next (user) message,
  and each ``tool_result`` must answer a ``tool_use`` of the message right before it, once;
- every message has non-empty content, except an optional final assistant message;
- tool names match ``^[a-zA-Z0-9_-]{1,64}$``.

The "model" itself is a script: for each user text it plans turns of tool calls (a turn may be a
function of the tool results so far, e.g. to pass a confirmation token back), then answers in words,
quoting the last tool results. Every request, and every 400 given, is recorded for the test to read;
a test driving another process (``agent-billing chat``, an example) waits with ``wait_answered`` until
the model has closed a user text's turn. ``stream: true`` requests (a host printing tokens as they come)
get each API's server-sent events, word by word.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ToolCallPlan = tuple[str, dict[str, Any]]
# A planned turn: tool calls, or a function of the tool results seen so far that returns them.
Turn = Sequence[ToolCallPlan] | Callable[[list[dict[str, Any]]], Sequence[ToolCallPlan]]
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class Rejected(Exception):
    """A request the API refuses with 400."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message, self.param = message, param


@dataclass
class ModelScript:
    """What the model does: for each user text, the turns of tool calls it makes before it answers."""

    plans: dict[str, list[Turn]]
    requests: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    answered: list[str] = field(default_factory=list)  # user texts the model has closed with words, in order
    _closed: threading.Condition = field(default_factory=threading.Condition)

    def said(self, user_text: str) -> None:
        """Record that the model answered ``user_text`` in words (its turn is over)."""
        with self._closed:
            self.answered.append(user_text)
            self._closed.notify_all()

    def wait_answered(self, user_text: str, timeout: float = 60) -> bool:
        """Block until the model has answered ``user_text`` in words (a test driving another process waits here).

        Example:
            >>> script = ModelScript(plans={})
            >>> script.said("hi")
            >>> script.wait_answered("hi", timeout=0)
            True
        """
        with self._closed:
            return self._closed.wait_for(lambda: user_text in self.answered, timeout)

    def next_turn(self, user_text: str, turns_done: int, results: list[dict[str, Any]]) -> Sequence[ToolCallPlan]:
        """The tool calls of the model's next turn (empty: it answers in words)."""
        plan = self.plans.get(user_text, [])
        if turns_done >= len(plan):
            return ()
        turn = plan[turns_done]
        return turn(results) if callable(turn) else turn

    @staticmethod
    def words(results: list[dict[str, Any]]) -> str:
        """The model's closing words, quoting what the tools answered (so a test sees it read them)."""
        if not results:
            return "Hello! How can I help with billing?"
        last = results[-1]
        return f"I read the tool's answer: {json.dumps(last, sort_keys=True)[:300]}"


def _json(content: Any) -> dict[str, Any]:
    """A tool result as the model reads it (the tools answer JSON objects)."""
    text = content if isinstance(content, str) else " ".join(
        block.get("text", "") for block in content if isinstance(block, dict))
    try:
        value = json.loads(text)
    except (ValueError, TypeError):
        return {"text": text}
    return value if isinstance(value, dict) else {"value": value}


# --- OpenAI Chat Completions -------------------------------------------------------------------------


def validate_openai(body: dict[str, Any]) -> None:
    """Raise ``Rejected`` where OpenAI's Chat Completions API answers 400 for this request."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise Rejected("Invalid 'messages': empty array. Expected an array with minimum length 1.", "messages")
    for n, tool in enumerate(body.get("tools") or []):
        name = (tool.get("function") or {}).get("name", "")
        if not TOOL_NAME.match(str(name)):
            raise Rejected(f"Invalid 'tools[{n}].function.name': string does not match pattern. Expected a string "
                           "that matches the pattern '^[a-zA-Z0-9_-]+$'.", f"tools[{n}].function.name")
    open_calls: dict[str, int] = {}  # tool_call ids of the last assistant message not answered yet
    answered: set[str] = set()
    for i, message in enumerate(messages):
        role = message.get("role")
        if role not in ("system", "developer", "user", "assistant", "tool"):
            raise Rejected(f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'tool', "
                           "'function', and 'developer'.", f"messages[{i}].role")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in open_calls or call_id in answered:
                raise Rejected("Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                               "message with 'tool_calls'.", f"messages.[{i}].role")
            answered.add(call_id)
            continue
        if open_calls and set(open_calls) - answered:
            missing = ", ".join(sorted(set(open_calls) - answered))
            raise Rejected("An assistant message with 'tool_calls' must be followed by tool messages responding to "
                           f"each 'tool_call_id'. The following tool_call_ids did not have response messages: "
                           f"{missing}", f"messages.[{min(open_calls.values())}].role")
        open_calls, answered = {}, set()
        if role == "assistant":
            for call in message.get("tool_calls") or []:
                arguments = (call.get("function") or {}).get("arguments")
                if not isinstance(arguments, str):
                    raise Rejected("Invalid type for 'function.arguments': expected a string.",
                                   f"messages.[{i}].tool_calls")
                open_calls[call["id"]] = i
    if open_calls and set(open_calls) - answered:
        missing = ", ".join(sorted(set(open_calls) - answered))
        raise Rejected("An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                       f"'tool_call_id'. The following tool_call_ids did not have response messages: {missing}",
                       f"messages.[{min(open_calls.values())}].role")


def _openai_state(messages: list[dict[str, Any]]) -> tuple[str, int, list[dict[str, Any]]]:
    """The last user text, the assistant turns since it, and the tool results since it."""
    start = max(i for i, m in enumerate(messages) if m.get("role") == "user")
    content = messages[start].get("content")
    text = content if isinstance(content, str) else " ".join(
        part.get("text", "") for part in content or [] if isinstance(part, dict))
    after = messages[start + 1:]
    turns = sum(1 for m in after if m.get("role") == "assistant")
    results = [_json(m.get("content")) for m in after if m.get("role") == "tool"]
    return text, turns, results


# --- Anthropic Messages -------------------------------------------------------------------------------


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [block for block in content or [] if isinstance(block, dict)]


def validate_anthropic(body: dict[str, Any]) -> None:
    """Raise ``Rejected`` where Anthropic's Messages API answers 400 for this request."""
    if "max_tokens" not in body:
        raise Rejected("max_tokens: Field required")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise Rejected("messages: at least one message is required")
    for n, tool in enumerate(body.get("tools") or []):
        if not TOOL_NAME.match(str(tool.get("name", ""))):
            raise Rejected(f"tools.{n}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'")
    previous_uses: set[str] = set()
    for i, message in enumerate(messages):
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise Rejected(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        blocks = _blocks(message.get("content"))
        final_assistant = role == "assistant" and i == len(messages) - 1
        if not final_assistant and (not blocks or all(b.get("type") == "text" and not b.get("text") for b in blocks)):
            raise Rejected(f"messages.{i}: all messages must have non-empty content except for the optional final "
                           "assistant message")
        results = [b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"]
        if results and role != "user":
            raise Rejected(f"messages.{i}: `tool_result` blocks can only be in `user` messages")
        for j, used in enumerate(results):
            if used not in previous_uses or results.count(used) > 1:
                raise Rejected(f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: "
                               f"{used}. Each `tool_result` block must have a corresponding `tool_use` block in the "
                               "previous message.")
        if previous_uses - set(results):
            missing = ", ".join(sorted(previous_uses - set(results)))
            raise Rejected(f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                           f"{missing}. Each `tool_use` block must have a corresponding `tool_result` block in the "
                           "next message.")
        previous_uses = {str(b.get("id")) for b in blocks if b.get("type") == "tool_use"}
    if previous_uses:  # a final assistant message with tool_use nobody answered: only valid as a prefill? No.
        raise Rejected(f"messages.{len(messages) - 1}: `tool_use` ids were found without `tool_result` blocks "
                       f"immediately after: {', '.join(sorted(previous_uses))}. Each `tool_use` block must have a "
                       "corresponding `tool_result` block in the next message.")


def _anthropic_state(messages: list[dict[str, Any]]) -> tuple[str, int, list[dict[str, Any]]]:
    def user_text(message: dict[str, Any]) -> str:
        return " ".join(b.get("text", "") for b in _blocks(message.get("content")) if b.get("type") == "text")

    start = max(i for i, m in enumerate(messages) if m.get("role") == "user" and user_text(m).strip())
    after = messages[start + 1:]
    turns = sum(1 for m in after if m.get("role") == "assistant")
    results = [_json(b.get("content")) for m in after for b in _blocks(m.get("content"))
               if b.get("type") == "tool_result"]
    return user_text(messages[start]).strip(), turns, results


# --- one endpoint skeleton for both APIs -----------------------------------------------------------


@dataclass(frozen=True)
class Api:
    """What differs between the two APIs: validation, where the script stands, and the wire shapes."""

    validate: Callable[[dict[str, Any]], None]
    state: Callable[[list[dict[str, Any]]], tuple[str, int, list[dict[str, Any]]]]
    error: Callable[[Rejected], dict[str, Any]]
    reply: Callable[[dict[str, Any], int, Sequence[ToolCallPlan], str], dict[str, Any]]
    events: Callable[[dict[str, Any]], list[tuple[str | None, dict[str, Any]]]]


def _openai_reply(body: dict[str, Any], n: int, calls: Sequence[ToolCallPlan], words: str) -> dict[str, Any]:
    if calls:
        message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [
            {"id": f"call_{uuid.uuid4().hex[:24]}", "type": "function",
             "function": {"name": name, "arguments": json.dumps(args)}} for name, args in calls]}
        finish = "tool_calls"
    else:
        message, finish = {"role": "assistant", "content": words}, "stop"
    return {"id": f"chatcmpl-{n}", "object": "chat.completion", "created": 1_764_928_800,
            "model": body.get("model", "gpt-test"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}


def _openai_events(reply: dict[str, Any]) -> list[tuple[str | None, dict[str, Any]]]:
    """The reply as ``stream: true`` sends it: a role chunk, the content word by word or the calls, the finish."""
    choice = reply["choices"][0]
    base = {key: reply[key] for key in ("id", "created", "model")} | {"object": "chat.completion.chunk"}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> tuple[None, dict[str, Any]]:
        return None, {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}

    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    if choice["message"].get("tool_calls"):
        deltas += [{"tool_calls": [{"index": i, **call}]} for i, call in enumerate(choice["message"]["tool_calls"])]
    else:
        deltas += [{"content": word} for word in re.findall(r"\S+\s*", choice["message"]["content"])]
    return [*(chunk(delta) for delta in deltas), chunk({}, choice["finish_reason"])]


def _anthropic_reply(body: dict[str, Any], n: int, calls: Sequence[ToolCallPlan], words: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = (
        [{"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:24]}", "name": name, "input": args}
         for name, args in calls] if calls else [{"type": "text", "text": words}])
    return {"id": f"msg_{n}", "type": "message", "role": "assistant", "model": body.get("model", "claude-test"),
            "content": content, "stop_reason": "tool_use" if calls else "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 5}}


def _anthropic_events(reply: dict[str, Any]) -> list[tuple[str | None, dict[str, Any]]]:
    """The reply as ``stream: true`` sends it: Anthropic's named server-sent events."""
    events: list[tuple[str | None, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": {**reply, "content": [], "stop_reason": None}})]
    for i, block in enumerate(reply["content"]):
        start: dict[str, Any]
        deltas: list[dict[str, Any]]
        if block["type"] == "text":
            start, deltas = {"type": "text", "text": ""}, [
                {"type": "text_delta", "text": word} for word in re.findall(r"\S+\s*", block["text"])]
        else:
            start = {**block, "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": json.dumps(block["input"])}]
        events.append(("content_block_start", {"type": "content_block_start", "index": i, "content_block": start}))
        events += [("content_block_delta", {"type": "content_block_delta", "index": i, "delta": d}) for d in deltas]
        events.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
    events += [("message_delta", {"type": "message_delta", "usage": {"output_tokens": 5},
                                  "delta": {"stop_reason": reply["stop_reason"], "stop_sequence": None}}),
               ("message_stop", {"type": "message_stop"})]
    return events


OPENAI = Api(validate_openai, _openai_state, lambda exc: {"error": {
    "message": exc.message, "type": "invalid_request_error", "param": exc.param, "code": None}},
    _openai_reply, _openai_events)
ANTHROPIC = Api(validate_anthropic, _anthropic_state, lambda exc: {"type": "error", "error": {
    "type": "invalid_request_error", "message": exc.message}}, _anthropic_reply, _anthropic_events)


def _sse(events: list[tuple[str | None, dict[str, Any]]], done: bool) -> str:
    lines = [(f"event: {name}\n" if name else "") + f"data: {json.dumps(data)}\n\n" for name, data in events]
    return "".join(lines) + ("data: [DONE]\n\n" if done else "")


def endpoint(script: ModelScript, api: Api) -> Callable[[Request], Any]:
    """One API's endpoint: record, validate (400 with the API's error shape), plan, answer (streamed or not)."""

    async def handle(request: Request) -> Response:
        body = await request.json()
        with script.lock:
            script.requests.append(body)
            try:
                api.validate(body)
            except Rejected as exc:
                script.rejections.append(exc.message)
                return JSONResponse(api.error(exc), status_code=400)
            n = len(script.requests)
            text, turns, results = api.state(body["messages"])
            calls = script.next_turn(text, turns, results)
        reply = api.reply(body, n, calls, ModelScript.words(results))
        if not calls:
            script.said(text)
        if body.get("stream"):
            return Response(_sse(api.events(reply), done=api is OPENAI), media_type="text/event-stream")
        return JSONResponse(reply)

    return handle


def model_api_app(script: ModelScript) -> Starlette:
    """Both stand-ins on one app: ``/v1/chat/completions`` (OpenAI) and ``/v1/messages`` (Anthropic)."""
    return Starlette(routes=[Route("/v1/chat/completions", endpoint(script, OPENAI), methods=["POST"]),
                             Route("/v1/messages", endpoint(script, ANTHROPIC), methods=["POST"])])
