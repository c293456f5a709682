"""examples/postgres_resume.py: the interrupt is raised in one process and approved in another; one charge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from agent_billing.client import BillingClient
from agent_billing.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "sk_sandbox_resume"


def step(name: str, env: dict[str, str], state_dir: Path) -> dict[str, object]:
    """Run one step of the example in its own process, with its own state directory (another host)."""
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "postgres_resume.py"), name, "--thread", "t-1"],
                          env={**env, "AGENT_BILLING_STATE_DIR": str(state_dir)}, capture_output=True, text=True,
                          timeout=120, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_asked_in_one_process_approved_in_another_charges_once(postgres_url: str, tmp_path: Path) -> None:
    with SandboxServer(tokens=(TOKEN,), rate_limit=False) as server:
        client = BillingClient(base_url=server.base_url, token=TOKEN)
        client.add_payment_method("pm_card_visa", make_default=True)
        env = {**os.environ, "AGENT_BILLING_BASE_URL": server.base_url, "AGENT_BILLING_TOKEN": TOKEN,
               "AGENT_BILLING_STORE_URL": postgres_url}
        asked = step("ask", env, tmp_path / "worker1")
        assert asked["status"] == "waiting_for_approval" and "$25.00" in str(asked["summaries"]), asked
        assert client.get_wallet_balance().balance == Decimal("0.00")  # nothing before the yes
        approved = step("approve", env, tmp_path / "worker2")
        assert approved == {"thread": "t-1", "status": "done", "reply": "Done: $25.00 added to your wallet."}
        again = step("approve", env, tmp_path / "worker3")  # a second resume finds nothing to do
        assert again["status"] == "nothing_to_resume"
        assert client.get_wallet_balance().balance == Decimal("25.00")
        assert len(client.get_wallet_transactions().items) == 1
