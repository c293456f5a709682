"""The command line in a newcomer's first hour: the library's messages kept whole, clean exits on Ctrl-C
and Ctrl-D at a prompt, honest help texts, and ``chat --provider``."""

from __future__ import annotations

import io
import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage
from rich.console import Console

from agent_billing.cli import main
from agent_billing.demo.chat import run_chat
from agent_billing.demo.scripted_model import ScriptedChatModel, last_tool_result, tool_call
from agent_billing.registry import Effect, get_registry, provider_names

ENV_PREFIXES = ("AGENT_BILLING_", "MODELSLAB_", "WALLGENT_", "TENEX_", "OPENAI_")


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AGENT_BILLING_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)  # no developer's .env


def test_a_configuration_error_keeps_the_librarys_message(capsys: pytest.CaptureFixture[str]) -> None:
    # An unknown action preset: the toolkit's validator says which names exist; the command used to
    # print only pydantic's header, "1 validation error for BillingToolkit".
    assert main(["mcp", "--sandbox", "--actions", "no_such_preset"]) == 2
    err = capsys.readouterr().err
    assert "validation error for" not in err
    assert "no_such_preset" in err


def test_chat_live_without_a_token_names_every_variable() -> None:
    buffer = io.StringIO()
    code = run_chat("fake", use_sandbox=False, chat_model=ScriptedChatModel(turns=[]),
                    console=Console(file=buffer, width=60), read=lambda: "exit")
    out = " ".join(buffer.getvalue().split())
    assert code == 2
    for variable in get_registry().connection.token_variables:
        assert variable in out, out


def test_sandbox_help_shows_one_default_for_the_token(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sandbox", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    start = out.index("--token TOKEN access token")  # the option's line, not the usage line
    token_help = out[start:out.index("--reseller-token", start)]
    assert token_help.count("default") == 1 and "sk_sandbox_demo" in token_help, token_help


@pytest.mark.parametrize("provider", provider_names())
def test_chat_serves_the_tools_of_the_provider_named(provider: str) -> None:
    registry = get_registry(provider)
    # A read that needs no arguments, through that provider's own tool.
    read_op = next(op for op in registry if op.effect is Effect.READ
                   and not any(field.is_required() for field in op.args.model_fields.values()))
    model = ScriptedChatModel(turns=[tool_call(read_op.group, action=read_op.action)],
                              final=lambda messages: AIMessage(content="ok" if "result" in last_tool_result(messages)
                                                               else json.dumps(last_tool_result(messages))))
    lines = iter(["show me", "exit"])
    buffer = io.StringIO()
    assert main_chat(provider, model, buffer, lambda: next(lines)) == 0
    out = buffer.getvalue()
    assert f"{provider} sandbox at" in out
    assert "agent: ok" in " ".join(out.split()), out


def main_chat(provider: str, model: ScriptedChatModel, buffer: io.StringIO, read: object) -> int:
    return run_chat("scripted", provider=provider, chat_model=model, console=Console(file=buffer, width=200),
                    read=read, interactive=False)  # type: ignore[arg-type]


def test_chat_provider_is_a_choice_of_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["chat", "--model", "x:y", "--provider", "nope"])
    err = capsys.readouterr().err
    for provider in provider_names():
        assert provider in err


def test_demo_for_a_provider_without_scenes_names_those_that_have_them(capsys: pytest.CaptureFixture[str]) -> None:
    from agent_billing.provider import get_provider

    without = [name for name in provider_names() if get_provider(name).part("demo") is None]
    with_scenes = [name for name in provider_names() if get_provider(name).part("demo") is not None]
    assert without and with_scenes  # the test means something only with both kinds
    assert main(["demo", "--yes", "--provider", without[0]]) == 2
    err = capsys.readouterr().err
    assert f"provider {without[0]!r} has no demo scenes" in err
    assert f"providers with a demo: {', '.join(with_scenes)}" in err


def test_demo_provider_is_a_choice_of_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--provider", "nope"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_demo_plays_the_named_providers_scenes(monkeypatch: pytest.MonkeyPatch) -> None:
    import agent_billing.demo.runner as runner

    played: list[str | None] = []
    monkeypatch.setattr(runner, "run_demo", lambda **kwargs: played.append(kwargs["provider"]) or 0)
    assert main(["demo", "--yes", "--provider", "modelslab"]) == 0
    assert played == ["modelslab"]


def _demo_at_the_approval_prompt(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int, bytes]:
    """``agent-billing demo`` with a terminal on stdin, stopped at its first "Approve?" prompt."""
    master, slave = pty.openpty()
    env = {**os.environ, "AGENT_BILLING_STATE_DIR": str(tmp_path / "state"), "COLUMNS": "120"}
    proc = subprocess.Popen([sys.executable, "-m", "agent_billing.cli", "demo"], stdin=slave, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    os.close(slave)
    assert proc.stdout is not None
    seen = b""
    deadline = time.monotonic() + 120  # bounded: the prompt comes within seconds
    os.set_blocking(proc.stdout.fileno(), False)
    while b"Approve?" not in seen:
        assert time.monotonic() < deadline and proc.poll() is None, seen.decode(errors="replace")
        chunk = proc.stdout.read()
        if chunk:
            seen += chunk
        else:
            time.sleep(0.05)
    return proc, master, seen


def test_ctrl_c_at_a_demo_prompt_exits_130_without_a_traceback(tmp_path: Path) -> None:
    proc, master, _ = _demo_at_the_approval_prompt(tmp_path)
    proc.send_signal(signal.SIGINT)  # what the terminal sends on Ctrl-C
    _, err = proc.communicate(timeout=60)
    os.close(master)
    assert proc.returncode == 130
    assert b"Traceback" not in err and b"interrupted" in err, err


def test_ctrl_d_at_a_demo_prompt_ends_cleanly(tmp_path: Path) -> None:
    proc, master, _ = _demo_at_the_approval_prompt(tmp_path)
    os.write(master, b"\x04")  # Ctrl-D: end of input on the terminal
    _, err = proc.communicate(timeout=60)
    os.close(master)
    assert proc.returncode == 0
    assert b"Traceback" not in err and b"end of input" in err, err
