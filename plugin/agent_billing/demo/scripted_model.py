"""A scripted chat model: replays planned turns, so agents run with no model and no key.

Each turn is an ``AIMessage`` or a function of the conversation so far returning one (so a turn can
use an id or URL that an earlier tool returned). It is labelled as scripted wherever it is shown.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage
    >>> model = ScriptedChatModel(turns=[AIMessage(content="Hello")])
    >>> model.invoke([HumanMessage(content="hi")]).content
    'Hello'
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

Turn = AIMessage | Callable[[Sequence[BaseMessage]], AIMessage]


def tool_call(name: str, **args: Any) -> AIMessage:
    """An assistant turn that calls one tool.

    Example:
        >>> tool_call("wallet", action="balance").tool_calls[0]["name"]
        'wallet'
    """
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:12]}",
                                              "type": "tool_call"}])


def last_tool_result(messages: Sequence[BaseMessage]) -> dict[str, Any]:
    """The JSON content of the most recent tool message (``{}`` if none or not JSON).

    Example:
        >>> last_tool_result([])
        {}
    """
    for message in reversed(messages):
        if isinstance(message, ToolMessage):
            try:
                value = json.loads(str(message.content))
            except ValueError:
                return {}
            return value if isinstance(value, dict) else {}
    return {}


class ScriptedChatModel(BaseChatModel):
    """Plays ``turns`` in order; after the last one it answers with ``final`` (a text or a turn).

    Example:
        >>> ScriptedChatModel(turns=[]).invoke("hi").content
        'Done.'
        >>> ScriptedChatModel(turns=[], final=lambda messages: AIMessage(content=f"{len(messages)} seen")).invoke("hi").content
        '1 seen'
    """

    turns: list[Any]
    # A string, or a function of the conversation (so the last words can follow the last tool result).
    final: Any = "Done."
    _position: int = PrivateAttr(default=0)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        """Tools are already in the script; binding changes nothing."""
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._position < len(self.turns):
            turn = self.turns[self._position]
            self._position += 1
            message = turn(messages) if callable(turn) else turn
        else:
            message = self.final(messages) if callable(self.final) else AIMessage(content=self.final)
        return ChatResult(generations=[ChatGeneration(message=message)])
