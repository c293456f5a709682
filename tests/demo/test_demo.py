"""The newcomer's first command: the offline demo tells the truth, in the order things happen."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from agent_billing.card_tokenization import CardTokenizer
from agent_billing.client import BillingClient
from agent_billing.demo.narration import reply, summary
from agent_billing.demo.runner import run_demo
from agent_billing.errors import PaymentDeclinedError
from agent_billing.sandbox import SandboxServer

SUCCESS_WORDS = ("Your wallet has been topped up by $25.00.", "You are subscribed to the Standard plan.",
                 "Your bank declined that card, so nothing was charged.")


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AGENT_BILLING_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def transcript(auto_yes: bool, verbose: bool = False) -> tuple[int, str]:
    buffer = io.StringIO()
    # 80 columns, as a newcomer's terminal; no waits between payment checks (the person pays on the 2nd).
    code = run_demo(auto_yes=auto_yes, console=Console(file=buffer, width=80, color_system=None),
                    verbose=verbose, interactive=False, poll_interval=(0.0, 0.0))
    return code, buffer.getvalue()


def agent_says(text: str) -> list[str]:
    """What the agent said, each reply unwrapped onto one line (the console wraps at 80 columns)."""
    flat = " ".join(text.split())
    return [re.split(r" [─╭]", part)[0] for part in flat.split("agent (scripted): ")[1:]]


def position(text: str, needle: str, start: int = 0) -> int:
    index = text.find(needle, start)
    assert index >= 0, f"{needle!r} not in the transcript after position {start}"
    return index


def test_every_approval_given_reads_as_done() -> None:
    code, text = transcript(auto_yes=True)
    assert code == 0, text
    for heading in ("1. Headless", "2. Setup intent", "3. Human-assisted", "4. Declined card", "5. A card number"):
        assert heading in text
    assert text.count("Approval needed") == 3 and text.count("approved (--yes)") == 3
    said = "\n".join(agent_says(text))
    for words in (*SUCCESS_WORDS, "Thanks, your $40.00 payment arrived.", "I can't take card numbers here"):
        assert words in said, said
    assert "not approved" not in said
    flat = " ".join(text.split())
    assert "wallet <- Wallet funded with $25.00 from Visa ending 4242." in flat
    assert "wallet <- declined by the bank (generic_decline): nothing charged" in flat
    assert "4242 4242" not in text and "cvc 123" not in text.lower()
    assert "wallet balance $65.00; subscriptions: plan 10 active" in text


def test_every_approval_declined_reads_as_not_done() -> None:
    code, text = transcript(auto_yes=False)
    assert code == 0, text
    assert text.count("not approved: no terminal to ask") == 3 and "approved (--yes)" not in text
    said = agent_says(text)
    for what in ("The $25.00 top-up", "The Standard subscription", "The $30.00 top-up"):
        assert any(words.startswith(f"{what} was not approved, so nothing was charged.") for words in said), said
    # Nothing the person did not approve is claimed, and a refusal is not called a decline.
    for words in SUCCESS_WORDS:
        assert words not in text
    assert "declined by the bank" not in text and "payment_declined" not in text
    assert "Thanks, your $40.00 payment arrived." in "\n".join(said)  # the person paid that one on the page
    assert "wallet balance $40.00; subscriptions: none" in text


def test_events_appear_in_the_order_they_happen() -> None:
    _, text = transcript(auto_yes=True)
    text = " ".join(text.split())
    scene = position(text, "3. Human-assisted")
    call = position(text, "-> wallet(action='fund_via_human'", scene)
    link = position(text, "link sent to the person: To add $40.00", call)
    first_wait = position(text, "Waiting for the person to pay (1 check so far)", link)
    second_wait = position(text, "(2 checks so far)", first_wait)
    pays = position(text, "person opens the page (HTTP 200) and pays (HTTP 200)", second_wait)
    received = position(text, "Payment received for cs_", pays)
    result = position(text, "wallet <- Payment confirmed: $40.00 credited", received)
    position(text, "agent (scripted): Thanks, your $40.00 payment arrived.", result)


def test_payment_links_print_whole_on_their_own_line_at_80_columns() -> None:
    _, text = transcript(auto_yes=True)
    lines = text.splitlines()
    links = [line for line in lines if "/sandbox/checkout/cs_" in line]
    assert len(links) == 3  # scene 3 (sent to the person), scenes 4 and 5 (relayed by the agent)
    for line in links:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/sandbox/checkout/cs_test_\w+", line), line
        assert len(line) > 80  # longer than the terminal, and still not broken or framed


def test_tool_results_are_sentences_unless_verbose() -> None:
    _, text = transcript(auto_yes=True)
    results = [line for line in text.splitlines() if " <- " in line]
    assert len(results) >= 12 and '"ok"' not in text
    assert not any(line.rstrip().endswith("...") for line in results)
    _, verbose = transcript(auto_yes=True, verbose=True)
    raw = [line for line in verbose.splitlines() if line.startswith("  wallet <- {")]
    assert raw and all(line.rstrip().endswith("}") for line in raw)  # whole JSON, never cut


@pytest.mark.parametrize(("content", "expected"), [
    ({"ok": False, "error": "rejected"}, "The top-up was not approved, so nothing was charged."),
    ({"ok": False, "error": "refused", "message": "Over the $50.00 per-charge limit. Do not retry."},
     "I could not do the top-up: a safety rule refused it (Over the $50.00 per-charge limit), so nothing was charged."),
    ({"ok": False, "error": "outcome_unknown", "message": "Connection lost."},
     "I don't know yet whether the top-up went through: the connection failed before an answer came. "
     "I will check your transactions before trying anything else."),
    ({"ok": False, "error": "intent_changed"},
     "What you approved changed before it ran, so nothing was charged. Shall I ask you again?"),
    ({"ok": False, "error": "payment_declined", "message": "Your card was declined (decline code: insufficient_funds)."},
     "Your bank declined the card (insufficient_funds), so nothing was charged."),
    ({"ok": False, "error": "secret_not_allowed"}, "I can't take secrets here, so I did not use them and nothing was done."),
    ({"ok": False, "error": "server_error", "message": "Internal error. Try later."},
     "That did not go through: the billing service answered server_error (Internal error)."),
    ({"ok": False}, "That did not go through: the billing service answered unknown (no reason given)."),
])
def test_the_agent_never_claims_success_for_a_failed_result(content: dict[str, object], expected: str) -> None:
    words = reply(content, done="Your wallet has been topped up.", what="the top-up")
    assert words == expected
    assert "topped up" not in summary(content)


def test_demo_command_runs_with_no_environment(state_dir: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
           "AGENT_BILLING_STATE_DIR": str(state_dir), "COLUMNS": "80"}
    result = subprocess.run([sys.executable, "-m", "agent_billing.cli", "demo", "--yes"], env=env,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "demo complete" in result.stdout and "Traceback" not in result.stderr


def test_trusted_code_tokenizes_with_the_stripe_sdk() -> None:
    with SandboxServer(tokens=("sk_tok",), rate_limit=False) as server:
        client = BillingClient(base_url=server.base_url, token="sk_tok")
        tokenizer = CardTokenizer.for_sandbox(client)
        card = tokenizer.create_payment_method("4242424242424242", 12, 2030, "123")
        assert card.id.startswith("pm_") and (card.brand, card.last4) == ("visa", "4242")
        assert "4242424242424242" not in repr(card)
        client.fund_wallet(Decimal("25"), card.id)
        saved = tokenizer.save_card("5555555555554444", 11, 2031, "321")
        assert saved.last4 == "4444"
        assert [c.is_default for c in client.list_payment_methods().payment_methods if c.id == saved.id] == [True]
        declined = tokenizer.create_payment_method("4000000000000002", 12, 2030, "123")
        with pytest.raises(PaymentDeclinedError) as err:
            client.fund_wallet(Decimal("25"), declined.id)
        assert err.value.decline_code == "generic_decline"
        assert client.get_wallet_balance().balance == Decimal("25.00")
        client.close()
