"""The newcomer's first command: the offline demo walks every path, shows every approval and refusal."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from decimal import Decimal

from rich.console import Console

from agent_billing.card_tokenization import CardTokenizer
from agent_billing.client import BillingClient
from agent_billing.demo.runner import run_demo
from agent_billing.errors import PaymentDeclinedError
from agent_billing.sandbox import SandboxServer


def transcript(auto_yes: bool) -> tuple[int, str]:
    buffer = io.StringIO()
    code = run_demo(auto_yes=auto_yes, console=Console(file=buffer, width=120, color_system=None))
    return code, buffer.getvalue()


def test_demo_with_yes_walks_every_path() -> None:
    code, text = transcript(auto_yes=True)
    assert code == 0, text
    for heading in ("1. Headless", "2. Setup intent", "3. Human-assisted", "4. Declined card", "5. A card number"):
        assert heading in text
    assert text.count("Approval needed") == 3 and text.count("approved (--yes)") == 3
    assert "card_data_not_allowed" in text and "payment_declined" in text
    assert "Waiting for the person to pay" in text and "Payment received" in text
    assert "4242 4242" not in text and "cvc 123" not in text.lower()
    assert "subscriptions: plan 10 active" in text
    assert "wallet balance $65.00" in text


def test_demo_without_a_terminal_declines_every_charge() -> None:
    code, text = transcript(auto_yes=False)
    assert code == 0, text
    assert "no terminal to ask" in text and "approved (--yes)" not in text
    assert "wallet balance $40.00" in text  # only the person's own payment on the hosted page


def test_demo_command_runs_with_no_environment() -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
           "AGENT_BILLING_STATE_DIR": os.environ["AGENT_BILLING_STATE_DIR"]}
    result = subprocess.run([sys.executable, "-m", "agent_billing.cli", "demo", "--yes"], env=env,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "demo complete" in result.stdout


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
        try:
            client.fund_wallet(Decimal("25"), declined.id)
        except PaymentDeclinedError as err:
            assert err.decline_code == "generic_decline"
        else:
            raise AssertionError("the declining test card was charged")
        assert client.get_wallet_balance().balance == Decimal("25.00")
        client.close()


def test_chat_explains_a_missing_model_package() -> None:
    result = subprocess.run([sys.executable, "-m", "agent_billing.cli", "chat", "--model", "nosuchprovider:model"],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "cannot" in result.stdout and "nosuchprovider" in result.stdout
