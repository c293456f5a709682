"""Running the sandbox: the CLI's ``serve`` (loopback only, masked tokens) and ``SandboxServer``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from agent_billing.sandbox import SandboxServer, create_app
from agent_billing.sandbox.server import is_loopback, serve

SECRET_TOKEN = "sk_sandbox_secret_value_123456"


@pytest.mark.parametrize(
    ("host", "ok"),
    [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("localhost", True), ("LOCALHOST", True),
     ("0.0.0.0", False), ("::", False), ("192.168.1.10", False), ("10.0.0.1", False), ("example.com", False)],
)
def test_only_loopback_hosts(host: str, ok: bool) -> None:
    assert is_loopback(host) is ok


def test_serve_refuses_a_non_loopback_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert serve(host="0.0.0.0", port=0, tokens=[SECRET_TOKEN]) == 2
    err = capsys.readouterr().err
    assert "loopback" in err and SECRET_TOKEN not in err
    with pytest.raises(ValueError):
        SandboxServer(host="0.0.0.0")


def test_cli_sandbox_serves_on_loopback_and_masks_tokens(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "plugin")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent_billing.cli", "sandbox", "--port", "0", "--token", SECRET_TOKEN,
         "--reseller-token", "sk_sandbox_reseller_abcdef", "--db", str(tmp_path / "ledger.sqlite3")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert proc.stdout is not None
        banner = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            banner.append(line)
            if "Ctrl+C" in line:
                break
        text = "".join(banner)
        assert SECRET_TOKEN not in text and "sk_sandbox_reseller_abcdef" not in text
        assert "sk_s…3456" in text and "(reseller)" in text
        base = re.search(r"API base URL\s+(http://127\.0\.0\.1:\d+/api/agents/v1)", text)
        assert base, text
        r = httpx.get(base.group(1) + "/wallet/balance", headers={"Authorization": f"Bearer {SECRET_TOKEN}"})
        assert r.status_code == 200 and r.json()["data"]["balance"] == 0
        assert r.headers["x-ratelimit-limit"] == "120"
        page = re.search(r"approvals\s+(http://127\.0\.0\.1:\d+/approvals)/<token>", text)  # the out-of-band page
        assert page, text
        unknown = httpx.get(page.group(1) + "/not-a-token")
        assert unknown.status_code == 404 and "cannot be used" in unknown.text
    finally:
        proc.terminate()
        proc.wait(10)
    assert (tmp_path / "ledger.sqlite3").exists()


def test_sandbox_server_lifecycle() -> None:
    server = SandboxServer(tokens=("sk_x",), rate_limit=False)
    with server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.root_url)
        assert server.base_url == server.root_url + "/api/agents/v1"
        assert httpx.get(server.root_url + "/").status_code == 200
        root = server.root_url
    with pytest.raises(httpx.ConnectError):
        httpx.get(root + "/", timeout=1)


def test_sandbox_server_with_a_ready_app() -> None:
    app = create_app(tokens=("sk_y",))
    with SandboxServer(app=app) as server:
        r = httpx.get(server.base_url + "/subscriptions/plans", headers={"X-Agent-Token": "sk_y"})
        assert r.status_code == 200
    with pytest.raises(TypeError):
        SandboxServer(app=app, tokens=("sk_z",))


@pytest.mark.parametrize("option", [{"tokens": "sk_one"}, {"reseller_tokens": "sk_two"}, {"wallgent_keys": "wg_test_x"}])
def test_one_token_as_a_string_is_refused_not_split_into_letters(option: dict[str, str]) -> None:
    with pytest.raises(TypeError, match="list"):
        create_app(**option)


def test_file_ledger_survives_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.sqlite3")
    with SandboxServer(tokens=("sk_keep",), db_path=db) as first:
        headers = {"Authorization": "Bearer sk_keep"}
        pk = httpx.get(first.base_url + "/billing/stripe-config", headers=headers).json()["publishable_key"]
        pm = httpx.post(first.root_url + "/v1/payment_methods", auth=(pk, ""),
                        data={"type": "card", "card[number]": "4242424242424242", "card[exp_month]": "12",
                              "card[exp_year]": "2035"}).json()["id"]
        httpx.post(first.base_url + "/wallet/fund", json={"amount": 12, "payment_method_id": pm}, headers=headers)
    with SandboxServer(tokens=("sk_keep", "sk_new"), db_path=db) as second:
        assert httpx.get(second.base_url + "/billing/stripe-config", headers=headers).json()["publishable_key"] == pk
        assert httpx.get(second.base_url + "/wallet/balance", headers=headers).json()["data"]["balance"] == 12
        r = httpx.post(second.base_url + "/wallet/fund", json={"amount": 10, "payment_method_id": pm}, headers=headers)
        assert r.json()["data"]["balance"] == 22
        second.check_invariants()
    # A token removed from the configuration no longer opens its account.
    with SandboxServer(tokens=("sk_new",), db_path=db) as third:
        assert httpx.get(third.base_url + "/wallet/balance", headers=headers).status_code == 401


def test_create_app_rejects_bad_configuration() -> None:
    with pytest.raises(ValueError):
        create_app(tokens=())
    with pytest.raises(ValueError):
        create_app(tokens=("has space",))
    with pytest.raises(ValueError):
        create_app(checkout_ttl_seconds=0)
