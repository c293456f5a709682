"""`agent-billing chat` survives: one-line errors with the conversation kept, streamed replies, clear setup hints."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from pydantic import Field
from rich.console import Console

from agent_billing.demo.chat import run_chat


class FlakyModel(GenericFakeChatModel):
    """Streams its replies word by word; the first call fails like a dropped connection."""

    calls: int = 0
    seen: list[int] = Field(default_factory=list)

    def bind_tools(self, tools: Any, **kwargs: Any) -> FlakyModel:
        return self

    def _stream(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        self.calls += 1
        self.seen.append(len(messages))
        if self.calls == 1:
            raise ConnectionError("Connection refused.\nTraceback (most recent call last): ...")
        yield from super()._stream(messages, *args, **kwargs)


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_BILLING_STATE_DIR", str(tmp_path / "state"))


def test_a_model_error_is_one_line_and_the_conversation_goes_on() -> None:
    buffer = io.StringIO()
    model = FlakyModel(messages=iter([AIMessage(content="Your wallet holds $0.00 right now.")]))
    lines = iter(["hello", "what is my balance?", "exit"])
    code = run_chat("fake", chat_model=model, console=Console(file=buffer, width=100, color_system=None),
                    read=lambda: next(lines), interactive=False)
    text = buffer.getvalue()
    assert code == 0, text
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert errors == ["error: ConnectionError: Connection refused. (the conversation goes on; try again)"]
    assert "Traceback" not in text
    assert "agent: Your wallet holds $0.00 right now." in text
    assert model.seen[1] > model.seen[0]  # the second turn still carries the first message: nothing was lost


def test_replies_stream_token_by_token() -> None:
    printed: list[str] = []

    class Recording(Console):
        def print(self, *objects: Any, **kwargs: Any) -> None:
            printed.append("".join(str(o) for o in objects))
            super().print(*objects, **kwargs)

    model = FlakyModel(messages=iter([AIMessage(content="Three words here.")]), calls=1)
    lines = iter(["hi", "exit"])
    assert run_chat("fake", chat_model=model, console=Recording(file=io.StringIO(), color_system=None),
                    read=lambda: next(lines), interactive=False) == 0
    start = printed.index("[magenta]agent[/magenta]: ")
    assert printed[start + 1:start + 6] == ["Three", " ", "words", " ", "here."]


def test_missing_key_is_named_before_anything_starts(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "AGENT_BILLING_STATE_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "agent_billing.cli", "chat", "--model", "openai:gpt-4.1-mini"],
                            env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stdout.strip() == ("agent-billing chat: no API key for openai: set OPENAI_API_KEY "
                                     "(in the environment or a .env file)")


def test_an_unknown_provider_is_one_line() -> None:
    result = subprocess.run([sys.executable, "-m", "agent_billing.cli", "chat", "--model", "nosuchprovider:model"],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stdout + result.stderr
    assert result.stdout.startswith("agent-billing chat: cannot start 'nosuchprovider:model'")
    assert len(result.stdout.strip().splitlines()) == 1
