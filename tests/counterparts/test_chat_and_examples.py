"""``agent-billing chat`` and the examples, as real processes, against the model-API conformance stand-ins.

Each test starts the stand-ins (``model_apis.py``) on loopback and points the official SDKs at them with
``OPENAI_BASE_URL`` / ``ANTHROPIC_BASE_URL`` and dummy keys; the process under test is the one a person
runs (``python -m agent_billing chat``, ``python examples/...``). Chat is driven through a pseudo-terminal,
since it asks approvals only of a person at a terminal. The assertions read what the model API was sent
(every history accepted, the tools by name, the model's turn after a refusal) and the sandbox's ledger.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import termios
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.counterparts.model_apis import ModelScript, model_api_app
from tests.store.conftest import postgres_url  # noqa: F401  (the fixture: a fresh PostgreSQL schema)

from agent_billing.client import provider_clients
from agent_billing.registry import get_registry
from agent_billing.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[2]
APIS = ["openai", "anthropic"]
MODELS = {"openai": "openai:gpt-test", "anthropic": "anthropic:claude-test"}


@pytest.fixture
def script() -> ModelScript:
    return ModelScript(plans={})


@pytest.fixture
def api_url(script: ModelScript) -> Iterator[str]:
    with SandboxServer(app=model_api_app(script)) as server:
        yield server.root_url


def model_env(api_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of the process under test: both SDKs aimed at the stand-ins, nothing real reachable."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AGENT_BILLING_", "MODELSLAB_", "WALLGENT_", "TENEX_", "OPENAI_", "ANTHROPIC_"))}
    return {**env, "OPENAI_BASE_URL": f"{api_url}/v1", "OPENAI_API_KEY": "sk-test",
            "ANTHROPIC_BASE_URL": api_url, "ANTHROPIC_API_KEY": "sk-ant-test",
            "AGENT_BILLING_STATE_DIR": str(tmp_path / "state"), "NO_COLOR": "1", "COLUMNS": "200"}


def user_texts(request: dict[str, Any]) -> list[str]:
    """The person's words in one request, in either API's format."""
    texts = []
    for message in request["messages"]:
        if message.get("role") != "user":
            continue
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        texts += [b["text"] for b in blocks if b.get("type") == "text" and b.get("text", "").strip()]
    return texts


def tool_names(request: dict[str, Any]) -> set[str]:
    return {str(t.get("name") or t.get("function", {}).get("name")) for t in request.get("tools") or []}


def requests_after(script: ModelScript, text: str) -> list[dict[str, Any]]:
    """The requests sent while the model was on ``text`` (it was the person's last words)."""
    return [r for r in script.requests if user_texts(r)[-1:] == [text]]


class Chat:
    """``python -m agent_billing chat`` with a pseudo-terminal for stdin (no echo) and stdout read by a thread."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.master, slave = pty.openpty()
        attributes = termios.tcgetattr(slave)
        attributes[3] &= ~termios.ECHO  # the person's typing is not part of what the test reads
        termios.tcsetattr(slave, termios.TCSANOW, attributes)
        self.process = subprocess.Popen([sys.executable, "-m", "agent_billing.cli", "chat", *args], stdin=slave,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        os.close(slave)
        self.text = ""
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        while chunk := self.process.stdout.read1(4096):  # type: ignore[attr-defined]
            with self.changed:
                self.text += chunk.decode(errors="replace")
                self.changed.notify_all()

    def wait_for(self, text: str, count: int = 1) -> None:
        """Until chat has printed ``text`` ``count`` times (a prompt has no newline to wait for)."""
        with self.changed:
            assert self.changed.wait_for(lambda: self.text.count(text) >= count, 60), self.text

    def type(self, *lines: str) -> None:
        os.write(self.master, "".join(f"{line}\n" for line in lines).encode())

    def sandbox(self) -> str:
        """The sandbox base URL chat printed on its first line."""
        self.wait_for(" sandbox at ")
        return self.text.split(" sandbox at ", 1)[1].split(" ", 1)[0]

    def finish(self) -> str:
        self.type("exit")
        try:
            code = self.process.wait(timeout=120)
        finally:
            os.close(self.master)
        self.reader.join(10)
        assert code == 0, self.text
        assert "Traceback" not in self.text
        return self.text


def billing_client(provider: str, base_url: str, token: str) -> Any:
    registry = get_registry(provider)
    return provider_clients(registry)[0](base_url=base_url, token=token, provider=registry.provider)


# --- agent-billing chat

FUND_25 = ("wallet", {"action": "fund", "amount": 25, "payment_method_id": "pm_card_visa"})
FUND_40 = ("wallet", {"action": "fund", "amount": 40, "payment_method_id": "pm_card_visa"})
READ = [("wallet", {"action": "balance"}), ("wallet", {"action": "transactions"})]


@pytest.mark.parametrize("api", APIS)
def test_chat_with_a_real_model_api_approves_refuses_and_reads(api: str, api_url: str, script: ModelScript,
                                                                tmp_path: Path) -> None:
    script.plans = {"Top up $25 with my card": [[FUND_25]], "Now $40 more": [[FUND_40]],
                    "What do I have now?": [READ]}
    chat = Chat(["--model", MODELS[api]], model_env(api_url, tmp_path), tmp_path)
    chat.type("Top up $25 with my card", "y", "Now $40 more", "n", "What do I have now?")
    assert script.wait_answered("What do I have now?"), chat.text
    # The sandbox's own ledger, read while chat still runs: one charge, the yes; nothing for the no.
    with billing_client("modelslab", chat.sandbox(), "sk_sandbox_demo") as client:
        assert client.get_wallet_balance().balance == Decimal("25.00")
        assert [t.amount for t in client.get_wallet_transactions().items] == [Decimal("25.00")]
    text = chat.finish()

    assert script.rejections == []  # every history the model API was sent, it accepted
    assert script.answered == ["Top up $25 with my card", "Now $40 more", "What do I have now?"]
    assert {"wallet", "payment_links"} <= tool_names(script.requests[0])
    # After the refusal the model got its turn, and read the refusal in it.
    after_no = requests_after(script, "Now $40 more")
    assert len(after_no) == 2 and '"error": "rejected"' in ModelScript.words(_results(api, after_no[-1]))
    assert "Approval needed" in text and "agent: I read the tool's answer" in text
    # The read's answers reached the model: the sandbox said $25.00, in one transaction.
    read = _results(api, requests_after(script, "What do I have now?")[-1])
    assert read[0]["result"]["balance"] == "25.00"
    assert [t["amount"] for t in read[1]["result"]["items"]] == ["25.00"]


@pytest.mark.parametrize(("api", "key"), [("openai", "ctrl-d"), ("anthropic", "ctrl-c")])
def test_no_answer_at_the_approval_prompt_is_a_no_and_the_conversation_goes_on(
        api: str, key: str, api_url: str, script: ModelScript, tmp_path: Path) -> None:
    # Ctrl-D at "Approve?" used to end the turn with the call paused and unanswered: every later request
    # carried a tool call without its result, and the API answered 400 for the rest of the conversation.
    script.plans = {"Top up $25 with my card": [[FUND_25]], "What do I have now?": [READ]}
    chat = Chat(["--model", MODELS[api]], model_env(api_url, tmp_path), tmp_path)
    chat.type("Top up $25 with my card")
    chat.wait_for("Approve?")
    if key == "ctrl-d":
        os.write(chat.master, b"\x04")  # end of input at the prompt (the terminal's EOF)
    else:
        chat.process.send_signal(signal.SIGINT)
    assert script.wait_answered("Top up $25 with my card"), chat.text  # the model spoke after the no
    chat.type("What do I have now?")
    assert script.wait_answered("What do I have now?"), chat.text
    with billing_client("modelslab", chat.sandbox(), "sk_sandbox_demo") as client:
        assert client.get_wallet_balance().balance == Decimal("0.00")
        assert client.get_wallet_transactions().items == []
    text = chat.finish()
    assert script.rejections == [], script.rejections
    assert "not approved: no answer" in text and "error:" not in text
    refused = _results(api, requests_after(script, "Top up $25 with my card")[-1])
    assert [r.get("error") for r in refused] == ["rejected"]


def _results(api: str, request: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool results in ``request`` after the person's last words."""
    from tests.counterparts.model_apis import _anthropic_state, _openai_state

    return (_openai_state if api == "openai" else _anthropic_state)(request["messages"])[2]


def test_chat_provider_wallgent_refuses_then_subscribes_once(api_url: str, script: ModelScript,
                                                             tmp_path: Path) -> None:
    subscribe = ("billing", {"action": "subscribe", "plan": "GROWTH", "payment_method": "WALLET"})
    script.plans = {"Put me on Growth": [[subscribe]], "Starter then": [[
        ("billing", {"action": "subscribe", "plan": "STARTER", "payment_method": "WALLET"})]],
        "Where am I now?": [[("billing", {"action": "get"}), ("invoices", {"action": "list"})]]}
    chat = Chat(["--model", MODELS["openai"], "--provider", "wallgent"], model_env(api_url, tmp_path), tmp_path)
    chat.type("Put me on Growth", "n", "Starter then", "y", "Where am I now?")
    assert script.wait_answered("Where am I now?"), chat.text
    connection = get_registry("wallgent").connection
    with billing_client("wallgent", chat.sandbox(), connection.sandbox_token) as client:
        assert client.get_billing().plan == "STARTER"  # the no moved nothing; the yes, once
        assert [i.amount for i in client.list_invoices().invoices] == [Decimal("99.00")]
    chat.finish()
    assert script.rejections == [] and script.answered == ["Put me on Growth", "Starter then", "Where am I now?"]
    assert {"billing", "payment_method", "invoices"} <= tool_names(script.requests[0])
    assert "wallet" not in tool_names(script.requests[0])  # the other provider's tools are not offered
    assert len(requests_after(script, "Put me on Growth")) == 2  # the model spoke after the refusal


def test_chat_provider_tenex_is_read_only(api_url: str, script: ModelScript, tmp_path: Path) -> None:
    script.plans = {"How much have I used?": [[("usage", {"action": "get"}), ("subscription", {"action": "get"})]]}
    chat = Chat(["--model", MODELS["anthropic"], "--provider", "tenex"], model_env(api_url, tmp_path), tmp_path)
    chat.type("How much have I used?")
    assert script.wait_answered("How much have I used?"), chat.text
    text = chat.finish()
    assert script.rejections == [] and "Approval needed" not in text
    offered = tool_names(script.requests[0])
    assert {"usage", "subscription", "ledger", "invoices"} <= offered and "wallet" not in offered
    results = _results("anthropic", script.requests[-1])
    assert [r["ok"] for r in results] == [True, True], results


# --- the examples, each with --model


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[tuple[Any, dict[str, str]]]:
    """A sandbox the example talks to (from its documented environment), and a client on its ledger."""
    with SandboxServer(tokens=("sk_sandbox_demo",), rate_limit=False) as server, \
            billing_client("modelslab", server.base_url, "sk_sandbox_demo") as client:
        client.add_payment_method("pm_card_visa")
        yield client, {"AGENT_BILLING_BASE_URL": server.base_url, "AGENT_BILLING_TOKEN": "sk_sandbox_demo"}


def charged_once(client: Any) -> None:
    """The yes moved $25.00 once; the no moved nothing."""
    assert client.get_wallet_balance().balance == Decimal("25.00")
    assert [t.amount for t in client.get_wallet_transactions().items] == [Decimal("25.00")]


def example(name: str, *args: str, env: dict[str, str], cwd: Path, stdin: str = "") -> str:
    result = subprocess.run([sys.executable, str(ROOT / "examples" / name), *args], cwd=cwd, env=env, input=stdin,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


@pytest.mark.parametrize("api", APIS)
def test_terminal_interrupts_with_a_real_model_api(api: str, api_url: str, script: ModelScript, tmp_path: Path,
                                                   ledger: tuple[Any, dict[str, str]]) -> None:
    script.plans = {"Top up $25": [[FUND_25]], "Now $40 more": [[FUND_40]], "What do I have now?": [READ]}
    out = example("terminal_interrupts.py", "--model", MODELS[api], env={**model_env(api_url, tmp_path), **ledger[1]},
                  cwd=tmp_path, stdin="Top up $25\ny\nNow $40 more\nn\nWhat do I have now?\n\n")
    charged_once(ledger[0])
    assert script.rejections == [] and script.answered == ["Top up $25", "Now $40 more", "What do I have now?"]
    replies = [line for line in out.splitlines() if "agent: " in line]
    assert len(replies) == 3 and all("agent: I read the tool's answer: {" in line for line in replies), out
    assert '"error": "rejected"' in replies[1] and '"balance": "25.00"' not in replies[1]


@pytest.mark.parametrize("api", APIS)
def test_voice_host_with_a_real_model_api(api: str, api_url: str, script: ModelScript, tmp_path: Path,
                                          ledger: tuple[Any, dict[str, str]]) -> None:
    script.plans = {"Add twenty-five dollars": [[FUND_25]], "And forty more": [[FUND_40]]}
    said = ["Add twenty-five dollars", "yes", "And forty more", "no, not now"]
    out = example("voice_host.py", "--model", MODELS[api], *(f"--say={s}" for s in said),
                  env={**model_env(api_url, tmp_path), **ledger[1]}, cwd=tmp_path)
    charged_once(ledger[0])
    assert script.rejections == [] and script.answered == ["Add twenty-five dollars", "And forty more"]
    spoken = [line.split("agent:", 1)[1].strip() for line in out.splitlines() if line.startswith("agent:")]
    assert spoken[0].startswith("Charge $25.00") and spoken[2].startswith("Charge $40.00"), out
    assert spoken[1].startswith("I read the tool's answer: {") and "[{" not in spoken[1]
    assert '"error": "rejected"' in spoken[3]


def _serve_web_chat(api: str, env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[str], str]:
    """``examples/web_chat.py --model ... --port 0``; its address from uvicorn's start line."""
    process = subprocess.Popen([sys.executable, str(ROOT / "examples" / "web_chat.py"), "--model", MODELS[api],
                                "--port", "0"], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    assert process.stderr is not None
    for line in process.stderr:
        if "Uvicorn running on " in line:
            url = line.split("Uvicorn running on ", 1)[1].split()[0]
            threading.Thread(target=lambda: [*process.stderr], daemon=True).start()  # type: ignore[misc]
            return process, url
    process.wait(10)
    raise AssertionError(f"web_chat did not start (exit {process.returncode})")


@pytest.mark.parametrize("api", APIS)
def test_web_chat_over_http_answers_several_approvals_by_id(api: str, api_url: str, script: ModelScript,
                                                            tmp_path: Path, ledger: tuple[Any, dict[str, str]]) -> None:
    import httpx

    script.plans = {"Top up $25 and $40": [[FUND_25, FUND_40]], "What do I have now?": [READ]}
    process, url = _serve_web_chat(api, {**model_env(api_url, tmp_path), **ledger[1]}, tmp_path)
    try:
        with httpx.Client(base_url=url, timeout=60) as http:
            asked = http.post("/chat", json={"thread": "t1", "text": "Top up $25 and $40"}).json()
            by_amount = {a["summary"].split()[1]: a["id"] for a in asked["approvals"]}
            assert sorted(by_amount) == ["$25.00", "$40.00"] and asked["reply"] == ""  # both shown at once
            assert asked["approval"] == asked["approvals"][0]
            assert ledger[0].get_wallet_balance().balance == Decimal("0.00")  # nothing before a yes
            assert http.post("/approve", json={"thread": "t1", "approve": True}).status_code == 409  # which one?
            if api == "openai":  # both at once, by id
                done = http.post("/approve", json={"thread": "t1", "answers": {
                    by_amount["$25.00"]: True, by_amount["$40.00"]: False}}).json()
            else:  # one at a time, by id: the other stays waiting and is shown again
                half = http.post("/approve", json={"thread": "t1", "id": by_amount["$40.00"],
                                                    "approve": False}).json()
                assert [a["id"] for a in half["approvals"]] == [by_amount["$25.00"]], half
                assert ledger[0].get_wallet_balance().balance == Decimal("0.00")
                stale = http.post("/approve", json={"thread": "t1", "id": by_amount["$40.00"], "approve": True})
                assert stale.status_code == 409  # answered already: a second answer moves nothing
                done = http.post("/approve", json={"thread": "t1", "id": by_amount["$25.00"],
                                                    "approve": True}).json()
            assert done["approvals"] == [] and done["reply"].startswith("I read the tool's answer: {"), done
            read = http.post("/chat", json={"thread": "t1", "text": "What do I have now?"}).json()
            assert '"transaction_id"' in read["reply"]
    finally:
        process.terminate()
        process.wait(30)
    charged_once(ledger[0])
    assert script.rejections == []  # the mixed answers left a history the API accepts, and the model spoke
    assert script.answered == ["Top up $25 and $40", "What do I have now?"]
    results = _results(api, requests_after(script, "Top up $25 and $40")[-1])
    assert sorted(r.get("error", "ok") for r in results) == ["ok", "rejected"]


@pytest.mark.parametrize(("api", "answer", "balance"), [("openai", "approve", "25.00"), ("anthropic", "reject", "0.00")])
def test_postgres_resume_with_a_real_model_api(api: str, answer: str, balance: str, api_url: str, script: ModelScript,
                                               tmp_path: Path, ledger: tuple[Any, dict[str, str]],
                                               postgres_url: str) -> None:  # noqa: F811 (the imported fixture)
    script.plans = {"Add $25 with my card": [[FUND_25]]}
    env = {**model_env(api_url, tmp_path), **ledger[1], "AGENT_BILLING_STORE_URL": postgres_url}

    def step(name: str) -> dict[str, Any]:
        out = example("postgres_resume.py", name, "--thread", "t-1", "--model", MODELS[api], env=env, cwd=tmp_path)
        result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return result

    asked = step("ask")
    assert asked["status"] == "waiting_for_approval" and "$25.00" in str(asked["summaries"]), asked
    assert ledger[0].get_wallet_balance().balance == Decimal("0.00")
    done = step(answer)  # another process resumes: the model reads the whole history from the checkpointer
    assert done["status"] == "done" and done["reply"].startswith("I read the tool's answer: {"), done
    assert ('"error": "rejected"' in done["reply"]) == (answer == "reject")
    assert ledger[0].get_wallet_balance().balance == Decimal(balance)
    assert script.rejections == [] and script.answered == ["Add $25 with my card"]
