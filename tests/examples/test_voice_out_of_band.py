"""The voice host with out-of-band approvals: the link goes by text, the assistant says so, the phone decides.

The sandbox runs in-process behind the toolkit; the approval page is the real one over the same SQLite store;
the "caller" taps the link from the fake gateway's text (httpx posting the page's form, as a phone's browser
would). Every test reads the sandbox ledger.
"""

from __future__ import annotations

import doctest
import os
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from examples.voice_out_of_band import FakeSmsGateway, OutOfBandVoiceHost, TextMessageNotifier
from tests.guardrails.test_out_of_band import Person

from agent_billing import BillingToolkit
from agent_billing.audit import MemoryAuditLog
from agent_billing.client import BillingClient
from agent_billing.guardrails.out_of_band import OutOfBandApprover
from agent_billing.inprocess import sandbox_clients
from agent_billing.sandbox import SandboxServer, create_app
from examples import voice_out_of_band

TOKEN = "sk_sandbox_examples"
PHONE = "+15550100"
BASE = "https://pay.example/approvals"
ASK = "Please add twenty-five dollars with my card."
SENT = "I've sent a link to your phone to approve the $25 charge. Tap approve or decline there, then tell me."


class Call:
    """One phone call: the voice host, the SMS gateway's texts, the caller's phone browser, the ledger."""

    def __init__(self, tmp_path: Path, gateway: Any = None) -> None:
        self.client, aclient = sandbox_clients(create_app(tokens=(TOKEN,), rate_limit=False), token=TOKEN)
        store = f"sqlite:///{tmp_path / 'state.db'}"
        self.gateway = gateway or FakeSmsGateway()
        notifier = TextMessageNotifier(self.gateway, PHONE)
        approver = OutOfBandApprover(notifier=notifier, base_url=BASE, wait="interrupt")
        toolkit = BillingToolkit(client=self.client, async_client=aclient, approval=approver, store=store,
                                 audit=MemoryAuditLog())
        self.host = OutOfBandVoiceHost(toolkit, notifier)
        self.phone = Person(store, clock=cast(Any, time.time))  # the page on real time, as the approver's

    def link(self) -> str:
        (to, text), = self.gateway.texts
        assert to == PHONE
        found = re.search(r"https://\S+", text)
        assert found is not None
        return found.group(0)

    def ledger(self) -> tuple[Decimal, int]:
        return self.client.get_wallet_balance().balance, len(self.client.get_wallet_transactions().items)

    def close(self) -> None:
        self.phone.http.close()
        self.client.close()


@pytest.fixture
def call(tmp_path: Path) -> Iterator[Call]:
    made = Call(tmp_path)
    yield made
    made.close()


def test_the_link_goes_by_text_the_assistant_says_so_and_a_tap_on_approve_charges_once(call: Call) -> None:
    turns = [call.host.hear(ASK)]
    assert turns[0] == SENT
    (_, text), = call.gateway.texts
    assert text.startswith("Approve? Charge $25.00 USD") and "to approve or decline (expires " in text
    assert call.ledger() == (Decimal("0.00"), 0)  # nothing before the tap
    turns.append(call.host.hear("Okay, give me a second."))  # said before tapping: still waiting, no second text
    assert turns[1].startswith("The $25 charge is still waiting for you") and len(call.gateway.texts) == 1
    assert call.ledger() == (Decimal("0.00"), 0)
    page = call.phone.open(call.link())
    assert page.status_code == 200 and "<dd>$25.00 USD</dd>" in page.text and "<dd>one-off</dd>" in page.text
    assert call.phone.press(call.link(), "approve").status_code == 200
    turns.append(call.host.hear("Done, I approved it."))
    assert turns[2] == "Done, twenty-five dollars added."
    assert call.ledger() == (Decimal("25.00"), 1)
    assert call.host.hear("Thanks!") and call.ledger() == (Decimal("25.00"), 1)  # charged once
    for said in turns:
        assert "http" not in said and len(said.split()) <= 30  # short, and the link is never read out


def test_a_tap_on_decline_charges_nothing_and_the_assistant_says_so(call: Call) -> None:
    assert call.host.hear(ASK) == SENT
    assert call.phone.press(call.link(), "decline").status_code == 200
    assert call.host.hear("I declined it.") == "The $25.00 top-up was not approved, so nothing was charged."
    assert call.ledger() == (Decimal("0.00"), 0)
    assert call.phone.press(call.link(), "approve").status_code == 404  # a no stays a no


def test_a_yes_said_aloud_is_not_an_approval(call: Call) -> None:
    call.host.hear(ASK)
    for said in ("Yes, go ahead.", "approve", "I approve, charge it now."):
        assert call.host.hear(said).startswith("The $25 charge is still waiting for you")
    assert call.ledger() == (Decimal("0.00"), 0)


def test_an_sms_gateway_that_fails_makes_no_claim_and_charges_nothing(tmp_path: Path) -> None:
    class Down(FakeSmsGateway):
        def send(self, to: str, body: str) -> str:
            raise ConnectionError("SMS gateway unreachable")

    down = Call(tmp_path, Down())
    try:
        said = down.host.hear(ASK)
        assert "sent" not in said and "link" not in said and down.host.pending is None, said
        assert down.ledger() == (Decimal("0.00"), 0)
    finally:
        down.close()


def test_the_examples_docstrings_run(tmp_path: Path) -> None:
    result = doctest.testmod(voice_out_of_band, extraglobs={"tmp_dir": tmp_path})
    assert result.attempted >= 5 and result.failed == 0


def test_main_runs_as_documented_against_a_loopback_sandbox(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented run: the sandbox serves the page over the same state directory; the caller taps the
    link printed as the SMS, then speaks again."""
    with SandboxServer(tokens=("sk_sandbox_demo",), rate_limit=False) as server:
        for name in [n for n in os.environ if n.startswith("AGENT_BILLING_")]:
            monkeypatch.delenv(name)
        monkeypatch.setenv("AGENT_BILLING_BASE_URL", server.base_url)
        monkeypatch.setenv("AGENT_BILLING_TOKEN", "sk_sandbox_demo")
        monkeypatch.setenv("AGENT_BILLING_STATE_DIR", str(tmp_path / "state"))
        turns = iter(["I tapped approve."])

        def caller(prompt: str) -> str:  # the caller taps the texted link on the sandbox's page, then speaks
            url = re.findall(r"SMS to \+15550100: Approve\? .*\nOpen (\S+) ", capsys.readouterr().out)[-1]
            page = httpx.get(url, timeout=30)
            form = page.text.split('name="form" value="', 1)[1].split('"', 1)[0]
            assert httpx.post(url, data={"decision": "approve", "form": form}, timeout=30).status_code == 200
            return next(turns, "")

        code = voice_out_of_band.main(["--approval-base-url", server.root_url + "/approvals"], read=caller)
        assert code == 0
        assert "agent:  Done, twenty-five dollars added." in capsys.readouterr().out
        with BillingClient(base_url=server.base_url, token="sk_sandbox_demo") as client:
            assert client.get_wallet_balance().balance == Decimal("25.00")


def test_help_charges_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        voice_out_of_band.main(["--help"])
    assert exited.value.code == 0 and "approves it on the link texted" in " ".join(capsys.readouterr().out.split())
