"""``agent-billing mcp --provider ...``: the same server for Wallgent and 10ex, over stdio with the real ``mcp``
client, against the sandbox on loopback (and with ``--sandbox``, against its own)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from tests.mcp.mcp_helpers import StdioSession, server_env

from agent_billing import TenexClient, WallgentClient
from agent_billing.sandbox.server import SandboxServer
from mcp import types

WALLGENT_KEY = "wg_test_mcp"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(rate_limit=False, wallgent_keys=[WALLGENT_KEY]) as server:
        yield server


def provider_env(sandbox: SandboxServer, state: Path, provider: str, key: str) -> dict[str, str]:
    prefix = {"wallgent": "WALLGENT", "tenex": "TENEX"}[provider]
    base = sandbox.root_url + {"wallgent": "/wallgent/v1", "tenex": "/tenex/api/v1/payments"}[provider]
    env = server_env(sandbox.base_url, "sk_not_this_provider", state, AGENT_BILLING_PROVIDER=provider)
    env = {k: v for k, v in env.items() if not k.startswith(("WALLGENT_", "TENEX_"))}
    return {**env, f"{prefix}_API_KEY": key, f"{prefix}_BASE_URL": base}


@pytest.fixture(scope="module")
def wallgent(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StdioSession]:
    state = tmp_path_factory.mktemp("wallgent")
    session = StdioSession([], provider_env(sandbox, state, "wallgent", WALLGENT_KEY), state / "stderr.txt").start()
    yield session
    session.close()


def test_wallgent_tools_are_served_and_a_charge_asks_the_person(wallgent: StdioSession, sandbox: SandboxServer) -> None:
    assert list(wallgent.tools()) == ["billing", "payment_method", "invoices", "payment_path"]
    client = WallgentClient(base_url=sandbox.root_url + "/wallgent/v1", token=WALLGENT_KEY)
    content, is_error = wallgent.call("billing", action="get")
    assert not is_error and content["result"]["plan"] == "FREE"

    wallgent.on_elicit = lambda params: types.ElicitResult(action="decline")
    refused, _ = wallgent.call("billing", action="subscribe", plan="STARTER", payment_method="WALLET")
    assert refused["ok"] is False and client.get_billing().plan == "FREE"
    assert "$99.00" in wallgent.elicitations[-1].message

    wallgent.on_elicit = lambda params: types.ElicitResult(action="accept", content={})
    asked = len(wallgent.elicitations)
    again, _ = wallgent.call("billing", action="subscribe", plan="STARTER", payment_method="WALLET")
    assert again["error"] == "rejected" and len(wallgent.elicitations) == asked  # a no is not asked again at once
    done, is_error = wallgent.call("billing", action="subscribe", plan="GROWTH", payment_method="WALLET")
    assert not is_error and done["ok"], done
    assert client.get_billing().plan == "GROWTH" and client.list_invoices().invoices[0].amount == Decimal("249.00")
    client.close()


def test_10ex_read_only_over_mcp(sandbox: SandboxServer, tmp_path: Path) -> None:
    session = StdioSession(["--actions", "read_only"], provider_env(sandbox, tmp_path, "tenex", "tnx_mcp"),
                          tmp_path / "stderr.txt").start()
    try:
        tools = session.tools()
        assert set(tools) == {"subscription", "plan", "usage", "invoices", "ledger"}
        assert all(tool.annotations is not None and tool.annotations.read_only_hint for tool in tools.values())
        check, _ = session.call("usage", action="can_start_run", estimated_credits=1000)
        assert check["decision"] in ("go", "warn", "refuse") and "soft_cap" in check
        client = TenexClient(base_url=sandbox.root_url + "/tenex/api/v1/payments", token="tnx_mcp")
        before = client.get_subscription()
        handoff, _ = session.call("subscription", action="cancel")
        assert handoff["changed"] is False and handoff["portal_url"].startswith("http")
        assert client.get_subscription() == before
        client.close()
    finally:
        session.close()


def test_sandbox_flag_serves_the_chosen_provider(tmp_path: Path) -> None:
    base = server_env("http://127.0.0.1:9/unused", "sk_unused", tmp_path, AGENT_BILLING_PROVIDER="wallgent")
    session = StdioSession(["--sandbox"], base, tmp_path / "stderr.txt").start()
    try:
        assert "payment_method" in session.tools()
        content, is_error = session.call("billing", action="get")
        assert not is_error and content["result"]["plan"] == "FREE"
    finally:
        session.close()
    assert "serving wallgent against the offline sandbox" in (tmp_path / "stderr.txt").read_text()


def test_an_unknown_provider_is_one_line_on_stderr(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = server_env("http://127.0.0.1:9/unused", "sk_unused", tmp_path, AGENT_BILLING_PROVIDER="stripe")
    done = subprocess.run([sys.executable, "-m", "agent_billing.mcp"], env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and "stripe" in done.stderr and "Traceback" not in done.stderr
