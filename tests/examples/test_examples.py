"""The examples run against the sandbox: a terminal interrupt loop, a web chat host and a voice host."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from agent_billing import BillingClient, BillingToolkit
from agent_billing.audit import MemoryAuditLog
from agent_billing.inprocess import sandbox_clients
from agent_billing.sandbox import SandboxServer, create_app
from examples import terminal_interrupts, voice_host, web_chat

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "sk_sandbox_examples"


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[BillingClient, BillingToolkit]]:
    monkeypatch.setenv("AGENT_BILLING_STATE_DIR", str(tmp_path / "state"))
    client, aclient = sandbox_clients(create_app(tokens=(TOKEN,), rate_limit=False), token=TOKEN)
    yield client, BillingToolkit(client=client, async_client=aclient, approval="interrupt", audit=MemoryAuditLog())
    client.close()


def replay(*answers: str) -> tuple[list[str], object]:
    asked: list[str] = []
    pending = iter(answers)

    def read(prompt: str) -> str:
        asked.append(prompt)
        return next(pending)

    return asked, read


@pytest.mark.parametrize(("answer", "words", "balance"), [
    ("y", "agent: Done: $25.00 added to your wallet.", Decimal("25.00")),
    ("n", "agent: The $25.00 top-up was not approved, so nothing was charged.", Decimal("0.00")),
])
def test_terminal_loop_pauses_for_the_person_and_resumes(sandbox: tuple[BillingClient, BillingToolkit], answer: str,
                                                         words: str, balance: Decimal) -> None:
    client, toolkit = sandbox
    asked, read = replay("Add $25 with my card", answer, "")
    said: list[str] = []
    assert terminal_interrupts.main([], toolkit=toolkit, read=read, write=said.append) == 0  # type: ignore[arg-type]
    assert asked[1].startswith("Approve? Charge $25.00") and asked[1].endswith("[y/N] ")
    assert said == [words]
    assert client.get_wallet_balance().balance == balance


def test_terminal_example_runs_as_documented_over_loopback(tmp_path: Path) -> None:
    with SandboxServer(tokens=("sk_sandbox_demo",), rate_limit=False) as server:
        env = {**os.environ, "AGENT_BILLING_BASE_URL": server.base_url, "AGENT_BILLING_TOKEN": "sk_sandbox_demo",
               "AGENT_BILLING_STATE_DIR": str(tmp_path / "state")}
        result = subprocess.run([sys.executable, str(ROOT / "examples" / "terminal_interrupts.py")], cwd=tmp_path,
                                env=env, input="Add $25 with my card\ny\n\n", capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "agent: Done: $25.00 added to your wallet." in result.stdout
        client = BillingClient(base_url=server.base_url, token="sk_sandbox_demo")
        assert client.get_wallet_balance().balance == Decimal("25.00")
        client.close()


def test_web_chat_takes_approvals_and_relays_links(sandbox: tuple[BillingClient, BillingToolkit]) -> None:
    client, toolkit = sandbox
    with TestClient(web_chat.create_app(toolkit)) as http:
        first = http.post("/chat", json={"thread": "t1", "text": "Top up $25 with my card"}).json()
        assert first["reply"] == "" and first["links"] == []
        assert first["approval"]["summary"].startswith("Charge $25.00")
        assert client.get_wallet_balance().balance == Decimal("0.00")  # nothing before the yes
        done = http.post("/approve", json={"thread": "t1", "id": first["approval"]["id"], "approve": True}).json()
        assert done == {"reply": "Done: $25.00 added.", "links": [], "approval": None, "approvals": []}
        assert client.get_wallet_balance().balance == Decimal("25.00")
        link = http.post("/chat", json={"thread": "t1", "text": "Now $40 more, I'll pay myself"}).json()
        assert link["reply"] == "Here is a secure page for the $40.00."
        (only,) = link["links"]
        assert "/sandbox/checkout/cs_" in only["url"] and only["expires_at"]


def test_web_chat_rejection_moves_nothing(sandbox: tuple[BillingClient, BillingToolkit]) -> None:
    client, toolkit = sandbox
    with TestClient(web_chat.create_app(toolkit)) as http:
        first = http.post("/chat", json={"thread": "t2", "text": "Top up $25"}).json()
        no = http.post("/approve", json={"thread": "t2", "id": first["approval"]["id"], "approve": False}).json()
        assert no["reply"] == "The $25.00 top-up was not approved, so nothing was charged."
    assert client.get_wallet_balance().balance == Decimal("0.00")


def test_voice_host_speaks_short_turns_and_texts_the_link(sandbox: tuple[BillingClient, BillingToolkit]) -> None:
    client, toolkit = sandbox
    texts: list[str] = []
    host = voice_host.VoiceHost(toolkit, send_text=texts.append)
    turns = [host.hear("Please add twenty-five dollars with my card."), host.hear("yes"),
             host.hear("And send me a link for forty more.")]
    assert turns[0].startswith("Charge $25.00") and turns[0].endswith("Please say yes or no.")
    assert turns[1] == "Done, twenty-five dollars added."
    assert turns[2].startswith("I've prepared a secure payment page to add $40.00 to your wallet. It expires in about")
    assert turns[2].endswith("I've texted you the link.")
    for said in turns:
        assert "http" not in said and "cs_" not in said and len(said.split()) <= 45
    (sms,) = texts
    assert sms.startswith("Your secure payment page: http") and "/sandbox/checkout/cs_" in sms
    assert client.get_wallet_balance().balance == Decimal("25.00")


def test_voice_host_no_means_no(sandbox: tuple[BillingClient, BillingToolkit]) -> None:
    client, toolkit = sandbox
    host = voice_host.VoiceHost(toolkit, send_text=lambda sms: None)
    host.hear("Add twenty-five dollars.")
    assert host.hear("no, not now") == "The $25.00 top-up was not approved, so nothing was charged."
    assert client.get_wallet_balance().balance == Decimal("0.00")


def test_web_chat_documented_approve_body_without_an_id(sandbox: tuple[BillingClient, BillingToolkit]) -> None:
    # The module's docstring documents {"thread", "approve"}; that body answered HTTP 500 (KeyError: 'id').
    client, toolkit = sandbox
    with TestClient(web_chat.create_app(toolkit)) as http:
        http.post("/chat", json={"thread": "t3", "text": "Top up $25 with my card"})
        done = http.post("/approve", json={"thread": "t3", "approve": True})
        assert done.status_code == 200, done.text
        assert done.json()["reply"] == "Done: $25.00 added."
        again = http.post("/approve", json={"thread": "t3", "approve": True})  # nothing is pending now
        assert again.status_code == 409 and "nothing is waiting" in again.json()["error"]
        assert http.post("/approve", content=b"not json").status_code == 400
    assert client.get_wallet_balance().balance == Decimal("25.00")


def test_web_chat_answers_a_stale_approval_id_with_409(sandbox: tuple[BillingClient, BillingToolkit]) -> None:
    client, toolkit = sandbox
    with TestClient(web_chat.create_app(toolkit)) as http:
        http.post("/chat", json={"thread": "t4", "text": "Top up $25 with my card"})
        stale = http.post("/approve", json={"thread": "t4", "id": "not-the-shown-one", "approve": True})
        assert stale.status_code == 409
    assert client.get_wallet_balance().balance == Decimal("0.00")


def test_web_chat_threads_do_not_share_the_stand_in_model(sandbox: tuple[BillingClient, BillingToolkit]) -> None:
    # Two conversations at once: each plays the script from its start. With one shared stand-in, the
    # second thread got the first thread's next turn (a reply about a top-up it never asked for).
    client, toolkit = sandbox
    with TestClient(web_chat.create_app(toolkit)) as http:
        first = http.post("/chat", json={"thread": "a", "text": "Top up $25 with my card"}).json()
        second = http.post("/chat", json={"thread": "b", "text": "Top up $25 with my card"}).json()
        assert first["approval"]["summary"].startswith("Charge $25.00")
        assert second["approval"] is not None and second["approval"]["summary"].startswith("Charge $25.00")
        assert http.post("/approve", json={"thread": "b", "approve": True}).json()["reply"] == "Done: $25.00 added."
        assert http.post("/approve", json={"thread": "a", "approve": False}).json()["reply"] == (
            "The $25.00 top-up was not approved, so nothing was charged.")
    assert client.get_wallet_balance().balance == Decimal("25.00")


EXAMPLES = sorted(path.name for path in (ROOT / "examples").glob("*.py"))


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_parses_its_arguments_and_help_charges_nothing(name: str, tmp_path: Path) -> None:
    # voice_host.py used to ignore --help and run its whole scripted call, charging $25.00.
    with SandboxServer(tokens=("sk_sandbox_demo",), rate_limit=False) as server:
        env = {**os.environ, "AGENT_BILLING_BASE_URL": server.base_url, "AGENT_BILLING_TOKEN": "sk_sandbox_demo",
               "AGENT_BILLING_STATE_DIR": str(tmp_path / "state")}
        result = subprocess.run([sys.executable, str(ROOT / "examples" / name), "--help"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("usage: ") and "--help" in result.stdout
        with BillingClient(base_url=server.base_url, token="sk_sandbox_demo") as client:
            assert client.get_wallet_balance().balance == Decimal("0.00")
            assert client.get_wallet_transactions().items == []


def test_voice_host_main_runs_the_call_it_is_given(tmp_path: Path) -> None:
    with SandboxServer(tokens=("sk_sandbox_demo",), rate_limit=False) as server:
        env = {**os.environ, "AGENT_BILLING_BASE_URL": server.base_url, "AGENT_BILLING_TOKEN": "sk_sandbox_demo",
               "AGENT_BILLING_STATE_DIR": str(tmp_path / "state")}
        result = subprocess.run([sys.executable, str(ROOT / "examples" / "voice_host.py"), "--say", "Add $25 please",
                                 "--say", "no"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "agent:  The $25.00 top-up was not approved, so nothing was charged." in result.stdout
        with BillingClient(base_url=server.base_url, token="sk_sandbox_demo") as client:
            assert client.get_wallet_balance().balance == Decimal("0.00")


@pytest.mark.parametrize("wanted", [25, 40])
@pytest.mark.parametrize("run_async", [False, True], ids=["invoke", "ainvoke"])
async def test_two_charges_in_one_turn_are_each_answered_by_id(sandbox: tuple[BillingClient, BillingToolkit],
                                                              wanted: int, run_async: bool) -> None:
    # The demo's agent graph (chat, voice_host, web_chat) once ran a turn's tool calls in one ToolNode task:
    # LangGraph matches resumes to interrupts within a task by the order interrupt() is reached, so with two
    # charges asked one after the other, the yes for one was spent by the other and the refused one was
    # charged too ($65.00 instead of $25.00). Each call is its own task now: both are asked at once, by id.
    from langchain_core.messages import AIMessage
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.types import Command

    from agent_billing.demo.agent import build_agent
    from agent_billing.demo.scripted_model import ScriptedChatModel

    client, toolkit = sandbox
    client.add_payment_method("pm_card_visa")
    calls = [{"name": "wallet", "id": f"call-{amount}", "args": {
        "action": "fund", "amount": amount, "payment_method_id": "pm_card_visa"}} for amount in (25, 40)]
    graph = build_agent(ScriptedChatModel(turns=[AIMessage(content="", tool_calls=calls)], final="done"),
                        toolkit.get_tools(), InMemorySaver())
    config = {"configurable": {"thread_id": "two-charges"}}

    async def run(payload: Any) -> dict[str, Any]:
        return await (graph.ainvoke(payload, config) if run_async else asyncio.to_thread(graph.invoke, payload, config))

    state = await run({"messages": [("user", "Top up $25 and $40")]})
    assert sorted(i.value["summary"][:13] for i in state["__interrupt__"]) == ["Charge $25.00", "Charge $40.00"]
    state = await run(Command(resume={i.id: "approve" if i.value["summary"].startswith(f"Charge ${wanted}.00")
                                      else "reject" for i in state["__interrupt__"]}))
    assert not state.get("__interrupt__") and state["messages"][-1].content == "done"
    assert client.get_wallet_balance().balance == wanted
    assert [t.amount for t in client.get_wallet_transactions().items] == [wanted]


@pytest.mark.parametrize(("approve", "words", "balance"), [
    (True, "Done: $25.00 added.", Decimal("25.00")),
    (False, "The $25.00 top-up was not approved, so nothing was charged.", Decimal("0.00")),
])
def test_web_chat_default_middleware_runs_the_documented_flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              approve: bool, words: str, balance: Decimal) -> None:
    # What `python examples/web_chat.py` builds by default (approval through the per-call middleware), driven with
    # the module docstring's two curl bodies.
    monkeypatch.setenv("AGENT_BILLING_STATE_DIR", str(tmp_path / "state"))
    client, aclient = sandbox_clients(create_app(tokens=(TOKEN,), rate_limit=False), token=TOKEN)
    toolkit = BillingToolkit(client=client, async_client=aclient, approval="middleware", audit=MemoryAuditLog())
    with TestClient(web_chat.create_app(toolkit)) as http:
        asked = http.post("/chat", json={"thread": "t1", "text": "Top up $25 with my card"}).json()
        assert [a["summary"][:13] for a in asked["approvals"]] == ["Charge $25.00"]
        done = http.post("/approve", json={"thread": "t1", "approve": approve}).json()
        assert done == {"reply": words, "links": [], "approval": None, "approvals": []}
    assert client.get_wallet_balance().balance == balance
    client.close()
