"""Spend authorities through the tools (issue 24): agents and tasks from the toolkit and the RunnableConfig, hard
limits counted by the sandbox's ledger, ``check_spend`` moving nothing, and the ``mandates`` command."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from langchain_core.tools import BaseTool
from tests.conftest import TOKEN

from agent_billing.audit import MemoryAuditLog
from agent_billing.cli import main
from agent_billing.guardrails.authority import AuthorityStore, Instrument, SpendAuthority
from agent_billing.guardrails.mandate import Mandate
from agent_billing.inprocess import sandbox_clients
from agent_billing.tools import BillingToolkit

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def env(sandbox_app: Any, tmp_path: Path) -> dict[str, Any]:
    client, aclient = sandbox_clients(sandbox_app, token=TOKEN)
    client.add_payment_method("pm_card_visa", make_default=True)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    authorities = AuthorityStore.sqlite(tmp_path / "state.db", account=client.account_id)
    return {"client": client, "aclient": aclient, "url": url, "authorities": authorities}


def toolkit(env: dict[str, Any], **kwargs: Any) -> BillingToolkit:
    kwargs.setdefault("audit", MemoryAuditLog())
    return BillingToolkit(client=env["client"], store=env["url"], **kwargs)


def fund(tool: BaseTool, amount: int, thread: str | None = None, **extra: Any) -> dict[str, Any]:
    config = {"configurable": {"thread_id": thread}} if thread else None
    message = tool.invoke({"type": "tool_call", "name": "wallet", "id": f"call_{uuid.uuid4().hex[:10]}",
                           "args": {"action": "fund", "amount": amount, **extra}}, config=config)
    result: dict[str, Any] = json.loads(str(message.content))
    return result


def ledger(env: dict[str, Any]) -> list[str]:
    return sorted(str(t.amount) for t in env["client"].get_wallet_transactions().items)


def test_an_agent_spends_its_budget_and_no_more(env: dict[str, Any]) -> None:
    env["authorities"].create(SpendAuthority(agent="bot", budget="25"))
    wallet = toolkit(env, agent="bot").get_tool("wallet")
    first, second = fund(wallet, 15), fund(wallet, 15)
    assert first["ok"] and first["approved_by"].startswith("authority:")
    assert not second["ok"] and "budget of $25.00" in second["message"] and "Nothing was charged" in second["message"]
    assert fund(wallet, 10)["ok"]
    assert ledger(env) == ["10.00", "15.00"]


def test_an_agent_without_an_authority_moves_nothing(env: dict[str, Any]) -> None:
    env["authorities"].create(SpendAuthority(agent="someone-else", budget="100"))
    answer = fund(toolkit(env, agent="bot").get_tool("wallet"), 10)
    assert not answer["ok"] and "No spend authority covers" in answer["message"]
    assert ledger(env) == []


def test_a_task_mandate_covers_its_thread_only_and_ends_with_it(env: dict[str, Any]) -> None:
    wallet = toolkit(env, agent="bot").get_tool("wallet")
    with env["authorities"].for_task("thread-1", budget="40"):
        assert fund(wallet, 10, thread="thread-1")["ok"]
        assert not fund(wallet, 10, thread="thread-2")["ok"]  # another conversation: not covered
        assert not fund(wallet, 10)["ok"]  # no task at all
    ended = fund(wallet, 10, thread="thread-1")
    assert not ended["ok"] and "No spend authority covers" in ended["message"]
    assert ledger(env) == ["10.00"]


def test_instrument_limits_follow_the_default_card_actually_charged(env: dict[str, Any]) -> None:
    env["authorities"].create(SpendAuthority(agent="bot", allowed_instruments=[Instrument(brand="visa", last4="4242")]))
    wallet = toolkit(env, agent="bot").get_tool("wallet")
    assert fund(wallet, 10)["ok"]
    env["client"].add_payment_method("pm_card_mastercard", make_default=True)  # the default card swapped
    refused = fund(wallet, 10)
    assert not refused["ok"] and "Mastercard ending 4444" in refused["message"]
    assert ledger(env) == ["10.00"]


def test_recurrence_limits_with_an_injected_clock(env: dict[str, Any]) -> None:
    env["authorities"].create(SpendAuthority(agent="bot", max_charges=2, min_interval=timedelta(hours=1)),
                              now=NOW - timedelta(days=1))
    tk = toolkit(env, agent="bot")
    clock = [NOW.timestamp()]
    tk.guard.clock = lambda: clock[0]
    wallet = tk.get_tool("wallet")
    assert fund(wallet, 10)["ok"]
    soon = fund(wallet, 11)
    assert not soon["ok"] and "one charge every 1 h" in soon["message"]
    clock[0] += 3600
    assert fund(wallet, 12)["ok"]
    clock[0] += 86400
    assert "at most 2 charges" in fund(wallet, 13)["message"]
    assert ledger(env) == ["10.00", "12.00"]


def test_an_asking_authority_still_asks_a_person_and_its_limits_hold_after_a_yes(env: dict[str, Any]) -> None:
    env["authorities"].create(SpendAuthority(agent="bot", max_amount="20", approval="ask"))
    asked: list[Any] = []
    wallet = toolkit(env, agent="bot", approval=lambda request: asked.append(request) or True).get_tool("wallet")
    assert fund(wallet, 20)["ok"] and len(asked) == 1
    beyond = fund(wallet, 21)
    assert not beyond["ok"] and len(asked) == 1  # refused before anyone is asked: a yes cannot lift it
    assert ledger(env) == ["20.00"]


def test_the_mandate_and_the_authority_both_hold(env: dict[str, Any]) -> None:
    env["authorities"].create(SpendAuthority(agent="bot", budget="100"))
    wallet = toolkit(env, agent="bot", mandate=Mandate(max_per_24h="25", auto_approve=True)).get_tool("wallet")
    assert fund(wallet, 20)["ok"]
    capped = fund(wallet, 10)
    assert not capped["ok"] and "24 h" in capped["message"]
    assert ledger(env) == ["20.00"]
    assert env["authorities"].list()[0].spent == Decimal("20.00")  # the refused one was not kept


def test_check_spend_forecasts_and_moves_nothing(env: dict[str, Any]) -> None:
    env["authorities"].create(SpendAuthority(agent="bot", budget="30", max_amount="20"))
    tk = toolkit(env, agent="bot", approval=lambda request: True)
    wallet = tk.get_tool("wallet")
    assert fund(wallet, 15)["ok"]

    def check(**args: Any) -> dict[str, Any]:
        message = wallet.invoke({"type": "tool_call", "name": "wallet", "id": "c1",
                                 "args": {"action": "check_spend", **args}})
        result: dict[str, Any] = json.loads(str(message.content))
        return result

    allowed = check(check="fund", amount=15)
    assert allowed["check"] == "allowed" and allowed["moved"] is False
    (status,) = allowed["limits"]["authorities"]
    assert status["spent"] == "15.00" and status["remaining"] == "15.00"
    over = check(check="fund", amount=16)
    assert over["check"] == "refused" and "budget of $30.00" in " ".join(over["reasons"])
    assert check(check="balance")["check"] == "allowed"  # a read needs no yes
    assert check(check="fund", amount=5)["check"] == "refused"  # below the API's bound: invalid arguments
    assert ledger(env) == ["15.00"]  # nothing moved, nothing reserved:
    assert env["authorities"].list()[0].spent == Decimal("15.00")
    from agent_billing.mcp.annotations import tool_annotations

    reader = toolkit(env, agent="bot", actions="read_only")
    assert reader.allows("wallet", "check_spend") and tool_annotations(reader, "wallet").read_only_hint


def test_the_mandates_command_manages_what_the_toolkit_enforces(env: dict[str, Any], capsys: Any) -> None:
    account, url = env["client"].account_id, env["url"]
    assert main(["mandates", "create", "--store", url, "--account", account, "--agent", "bot", "--budget", "20"]) == 0
    created = json.loads(capsys.readouterr().out)
    wallet = toolkit(env, agent="bot").get_tool("wallet")
    assert fund(wallet, 10)["ok"]
    assert main(["mandates", "show", created["id"], "--store", url, "--account", account]) == 0
    assert json.loads(capsys.readouterr().out)["spent"] == "10.00"
    assert main(["mandates", "export", created["id"], "--store", url, "--account", account]) == 0
    exported = capsys.readouterr().out
    assert main(["mandates", "revoke", created["id"], "--store", url, "--account", account]) == 0
    assert not fund(wallet, 10)["ok"]  # revoked: nothing covers the agent any more
    path = env["url"][len("sqlite:///"):]
    doc = json.loads(exported)
    doc["id"] = "sa_imported"
    (Path(path).parent / "m.json").write_text(json.dumps(doc))
    assert main(["mandates", "import", str(Path(path).parent / "m.json"), "--store", url, "--account", account]) == 0
    capsys.readouterr()
    assert fund(wallet, 10)["ok"] and not fund(wallet, 20)["ok"]  # a fresh budget of $20 from the import
    assert main(["mandates", "list", "--all", "--store", url, "--account", account]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    assert main(["mandates", "show", "sa_missing", "--store", url, "--account", account]) == 1
    assert ledger(env) == ["10.00", "10.00"]


@pytest.mark.parametrize("with_async_client", [True, False])
async def test_the_task_reaches_the_check_through_ainvoke(env: dict[str, Any], with_async_client: bool) -> None:
    extra = {"async_client": env["aclient"]} if with_async_client else {}
    wallet = toolkit(env, agent="bot", **extra).get_tool("wallet")
    env["authorities"].create(SpendAuthority(task="thread-async", budget="10"))

    async def fund_in(thread: str) -> dict[str, Any]:
        message = await wallet.ainvoke({"type": "tool_call", "name": "wallet", "id": f"c{uuid.uuid4().hex[:8]}",
                                        "args": {"action": "fund", "amount": 10}},
                                       config={"configurable": {"thread_id": thread}})
        result: dict[str, Any] = json.loads(str(message.content))
        return result

    assert not (await fund_in("thread-other"))["ok"]
    assert (await fund_in("thread-async"))["ok"]
    assert ledger(env) == ["10.00"]


def test_an_authority_store_that_fails_at_the_claim_sends_nothing_and_frees_the_mandate_cap(
        env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The claim is the last check before the send: if its store fails, nothing goes out, and the mandate's
    reservation made just before it is released (it would otherwise hold the 24 h cap until it expired)."""
    from agent_billing.guardrails.store import StoreUnavailableError

    env["authorities"].create(SpendAuthority(agent="bot", budget="100"))
    kit = toolkit(env, agent="bot", mandate=Mandate(name="ops", max_per_charge="50", max_per_24h="50",
                                                    auto_approve=True))

    def down(*args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailableError("authority store down")

    monkeypatch.setattr(AuthorityStore, "claim", down)
    answer = fund(kit.get_tool("wallet"), 30)
    assert not answer["ok"] and answer.get("sent") is not True
    assert ledger(env) == []
    assert kit.guard.spend_store is not None
    assert kit.guard.spend_store.spent("ops", now=datetime.now(timezone.utc)) == Decimal(0)
    monkeypatch.undo()
    assert fund(kit.get_tool("wallet"), 30)["ok"]  # the cap was not held by the failed call: $30 of $50 fits
    assert ledger(env) == ["30.00"]
