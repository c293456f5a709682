"""A provider is a package, in other processes too: Acme served by ``agent-billing mcp`` over stdio (the
official ``mcp`` client) and its sandbox run by ``agent-billing sandbox``, found through the entry point.

Each process gets the test-only distribution only through ``PYTHONPATH`` (its ``*.dist-info`` and the
package's parent): the same way a ``pip install`` of a provider reaches the command. Nothing outside
``acme_provider`` names Acme.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.mcp.mcp_helpers import StdioSession, server_env
from tests.providers.install import installed

from agent_billing.sandbox.server import SandboxServer
from mcp import types

ROOT = Path(__file__).resolve().parents[2]
KEY = "acme_stdio"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A site directory holding Acme's distribution (also on this process's path, for the loopback sandbox)."""
    path = tmp_path_factory.mktemp("acme-site")
    with installed(path):
        yield path


def _pythonpath(site: Path) -> str:
    return os.pathsep.join([str(site), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])


@pytest.fixture(scope="module")
def sandbox(site: Path) -> Iterator[SandboxServer]:
    with SandboxServer(rate_limit=False) as server:
        yield server


@pytest.fixture(scope="module")
def acme(site: Path, sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StdioSession]:
    state = tmp_path_factory.mktemp("acme-state")
    env = server_env("http://127.0.0.1:9/unused", "sk_not_this_provider", state, AGENT_BILLING_PROVIDER="acme",
                     ACME_API_KEY=KEY, ACME_BASE_URL=sandbox.root_url + "/acme/acme-api", PYTHONPATH=_pythonpath(site))
    session = StdioSession([], env, state / "stderr.txt").start()
    yield session
    session.close()


def test_its_tools_are_served_over_stdio(acme: StdioSession) -> None:
    tools = acme.tools()
    assert list(tools) == ["membership", "credits"]
    assert tools["credits"].annotations is not None and tools["credits"].annotations.destructive_hint
    content, is_error = acme.call("membership", action="get")
    assert not is_error and content["result"]["nickname"] == "Acme account"


def test_a_charge_over_stdio_asks_the_person_and_runs_once(acme: StdioSession, sandbox: SandboxServer) -> None:
    purchases = sandbox.app.state.acme.purchases
    acme.on_elicit = lambda params: types.ElicitResult(action="decline")
    refused, _ = acme.call("credits", action="buy", amount=5, bundle="small", saved_card="pm_card_visa")
    assert refused["ok"] is False and purchases == []
    assert "Acme" in acme.elicitations[-1].message or "5" in acme.elicitations[-1].message

    acme.on_elicit = lambda params: types.ElicitResult(action="accept", content={})
    bought, is_error = acme.call("credits", action="buy", amount=20, bundle="large", saved_card="pm_card_visa")
    assert not is_error and bought["ok"] and len(purchases) == 1
    topped, is_error = acme.call("credits", action="refill", target=40, saved_card="pm_card_visa")
    assert not is_error and topped["status"] == "refilled" and len(purchases) == 2, topped  # 30 credits, 10 short: large
    card, _ = acme.call("membership", action="rename", nickname="card 4242 4242 4242 4242")
    assert card["error"] == "card_data_not_allowed" and "4242 4242" not in str(card)


def test_the_sandbox_flag_serves_it_against_its_own_sandbox(site: Path, tmp_path: Path) -> None:
    env = server_env("http://127.0.0.1:9/unused", "sk_unused", tmp_path, AGENT_BILLING_PROVIDER="acme",
                     PYTHONPATH=_pythonpath(site))
    session = StdioSession(["--sandbox"], env, tmp_path / "stderr.txt").start()
    try:
        content, is_error = session.call("membership", action="get")
        assert not is_error and content["result"]["credit_balance"] == "10"
    finally:
        session.close()
    assert "serving acme against the offline sandbox" in (tmp_path / "stderr.txt").read_text()


def _command() -> list[str]:
    script = Path(sys.executable).parent / "agent-billing"
    return [str(script)] if script.exists() else [sys.executable, "-m", "agent_billing.cli"]


def test_agent_billing_sandbox_runs_its_sandbox(site: Path) -> None:
    env = {**os.environ, "PYTHONPATH": _pythonpath(site)}
    process = subprocess.Popen([*_command(), "sandbox", "--port", "0", "--no-rate-limit"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    watchdog = threading.Timer(60, process.kill)  # a hung start fails the test, never the run
    watchdog.start()
    try:
        assert process.stdout is not None
        banner: list[str] = []
        while not banner or "Ctrl+C to stop" not in banner[-1]:  # the banner's last line; "" if it exited
            banner.append(process.stdout.readline())
            assert banner[-1], (banner, process.stderr.read() if process.stderr else "")
        (line,) = [line for line in banner if "Acme API" in line]
        url = line.split()[-1]
        assert url.endswith("/acme/acme-api")
        headers = {"Authorization": "Bearer acme_cli"}
        assert httpx.get(url + "/account", headers=headers).json()["credit_balance"] == "10"
        receipt = httpx.post(url + "/credit-purchases", headers={**headers, "Idempotency-Key": "k1"},
                             json={"bundle": "small", "amount": "5", "saved_card": "pm_card_visa"}).json()
        assert receipt["receipt_number"].startswith("R_")
        assert httpx.get(url + "/account", headers=headers).json()["credit_balance"] == "15"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            returncode = process.wait(30)
        finally:
            watchdog.cancel()
            process.kill()
            process.communicate()
    assert returncode == 0
