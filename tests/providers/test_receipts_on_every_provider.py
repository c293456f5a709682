"""Signed receipts on every provider that moves money (the test-only one too), through the real toolkit and sandbox.

Each executed charge gets exactly one receipt: it verifies with the deployer's public key, names the
provider's request and receipt ids and the approval, and the audit record of the executed call carries its
digest. A repeat of the same tool call (the API replays) mints no second one; a call whose answer was lost
and is later completed by a replay under the same key mints the only one, marked as a replay.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.providers.test_guards_on_every_provider import (  # the guard suite's adapters and sandbox fixtures
    PROVIDERS,
    Provider,
    _client,
    _Garble,
    _toolkit,
    app,
    provider,
    ready,
)
from tests.tools.conftest import call

from agent_billing.audit import AuditEvent, MemoryAuditLog
from agent_billing.guardrails.mandate import Mandate
from agent_billing.inprocess import SyncASGITransport
from agent_billing.provider import get_provider
from agent_billing.receipts import ReceiptBook, ReceiptSigner, receipt_digest, verify_receipt

__all__ = ["app", "provider", "ready"]  # fixtures, for pytest
SIGNER = ReceiptSigner.generate()


def _book(tmp_path: Path) -> ReceiptBook:
    return ReceiptBook(SIGNER, tmp_path / "receipts")


def _succeeded(audit: MemoryAuditLog) -> list[AuditEvent]:
    return [event for event in audit.events if event.decision == "succeeded" and event.effect.moves_money]


def test_every_money_moving_provider_is_covered() -> None:
    assert {p.name for p in PROVIDERS} >= {"modelslab", "wallgent", "acme"}


def test_a_charge_gets_one_receipt_that_verifies_and_the_audit_names_it(app: Any, provider: Provider, ready: Any,
                                                                       tmp_path: Path) -> None:
    client, before = ready
    audit = MemoryAuditLog()
    tool = _toolkit(client, tmp_path, approval=lambda r: True, audit=audit, receipts=_book(tmp_path)).get_tool(
        provider.tool)
    content, _ = call(tool, "call_receipt", **provider.charge)
    assert content["ok"] and provider.charges(app) == before + 1
    (receipt,) = list(_book(tmp_path).for_account(client.account_id, provider.name).receipts())
    assert content["signed_receipt"] == receipt["id"]
    assert verify_receipt(receipt, SIGNER.public_pem()).ok
    (event,) = _succeeded(audit)
    assert event.receipt == receipt_digest(receipt) and event.intent_digest == receipt["intent_digest"]
    assert event.idempotency_key == receipt["idempotency_key"]
    assert receipt["provider"] == provider.name and receipt["intent"]["operation"] == receipt["operation"]
    assert receipt["approval"]["decision"] == "approved" and receipt["approval"]["approver"]
    assert receipt["approval"]["at"] and receipt["outcome"] == {
        "status": "succeeded", "replay": False, "amount": receipt["intent"]["amount"],
        "currency": receipt["intent"]["currency"]}
    declared = set(get_provider(provider.name).receipt_fields)
    assert receipt["provider_receipts"] and {path.rsplit(".", 1)[-1] for path in receipt["provider_receipts"]} <= declared
    assert receipt["provider_request_id"] is None or isinstance(receipt["provider_request_id"], str)

    # The same tool call again: at most the API's replay, never a second receipt.
    again, _ = call(tool, "call_receipt", **provider.charge)
    assert len(list(_book(tmp_path).for_account(client.account_id, provider.name).receipts())) == 1
    if again["ok"]:
        assert again["signed_receipt"] == receipt["id"]


def test_a_mandate_that_covered_the_charge_is_its_evidence(app: Any, provider: Provider, ready: Any,
                                                           tmp_path: Path) -> None:
    client, _ = ready
    toolkit = _toolkit(client, tmp_path, mandate=Mandate(name="ops-budget", max_per_charge=500, auto_approve=True),
                       receipts=_book(tmp_path))
    content, _ = call(toolkit.get_tool(provider.tool), **provider.charge)
    assert content["ok"], content
    (receipt,) = list(_book(tmp_path).for_account(client.account_id, provider.name).receipts())
    assert receipt["approval"]["kind"] == "mandate" and receipt["approval"]["mandate"] == "ops-budget"
    assert receipt["approval"]["decision"] == "auto_approved" and verify_receipt(receipt, SIGNER.public_pem()).ok


def test_a_lost_answer_completed_by_a_replay_gets_one_receipt_marked_replay(app: Any, provider: Provider, ready: Any,
                                                                           tmp_path: Path) -> None:
    _, before = ready
    garbled = _client(app, provider, _Garble(SyncASGITransport(app), provider.charge_path))
    lost, _ = call(_toolkit(garbled, tmp_path, approval=lambda r: True, receipts=_book(tmp_path)).get_tool(provider.tool),
                   **provider.charge)
    assert lost["error"] == "outcome_unknown" and provider.charges(app) == before + 1
    book = _book(tmp_path).for_account(garbled.account_id, provider.name)
    assert list(book.receipts()) == []  # nothing is known yet: no receipt says it succeeded
    audit = MemoryAuditLog()
    # The same call from a fresh toolkit on the same state: it replays the lost one under its key.
    done, _ = call(_toolkit(_client(app, provider), tmp_path, approval=lambda r: True, audit=audit,
                            receipts=_book(tmp_path)).get_tool(provider.tool), **provider.charge)
    assert done["ok"] and "note" in done, done
    (receipt,) = list(book.receipts())
    assert done["signed_receipt"] == receipt["id"]
    assert receipt["outcome"]["replay"] is True and receipt["approval"]["decision"] == "replayed"
    assert receipt["intent_digest"] and verify_receipt(receipt, SIGNER.public_pem()).ok
    assert provider.charges(app) == before + 1
    assert [event.receipt for event in _succeeded(audit)] == [receipt_digest(receipt)]


def test_no_signer_no_receipt_and_nothing_changes(app: Any, provider: Provider, ready: Any, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENT_BILLING_RECEIPT_KEY", raising=False)
    client, _ = ready
    audit = MemoryAuditLog()
    content, _ = call(_toolkit(client, tmp_path, approval=lambda r: True, audit=audit).get_tool(provider.tool),
                      **provider.charge)
    assert content["ok"] and "signed_receipt" not in content
    assert [event.receipt for event in _succeeded(audit)] == [None]
