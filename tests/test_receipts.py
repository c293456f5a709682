"""Signed receipts: canonical signing, tampering with any field, the wrong key, the deployer's key configuration,
one receipt per key under concurrency, and ``agent-billing receipts keygen|verify|list``.

The receipts here come from real charges through the toolkit against the sandbox (ModelsLab's, the default);
every provider is covered by tests/providers/test_receipts_on_every_provider.py.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.tools.conftest import call

from agent_billing.audit import JsonlAuditLog, MemoryAuditLog
from agent_billing.cli import main
from agent_billing.guardrails.pending_outcomes import PendingOutcomes
from agent_billing.inprocess import sandbox_clients
from agent_billing.receipts import (
    RECEIPT_KEY_ENV,
    ReceiptBook,
    ReceiptSigner,
    canonical_json,
    receipt_digest,
    verify_receipt,
)
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit

SIGNER = ReceiptSigner.generate()


def _charge(tmp_path: Path, **kwargs: Any) -> tuple[dict[str, Any], BillingToolkit]:
    client, _ = sandbox_clients(create_app(rate_limit=False))
    client.add_payment_method(payment_method_id="pm_card_visa")
    kwargs.setdefault("audit", MemoryAuditLog())
    kwargs.setdefault("receipts", ReceiptBook(SIGNER, tmp_path / "receipts"))
    toolkit = BillingToolkit(client=client, approval=lambda request: True,
                             pending_outcomes=PendingOutcomes(tmp_path / "pending.db"), **kwargs)
    content, _ = call(toolkit.get_tool("wallet"), action="fund", amount=25)
    assert content["ok"], content
    return content, toolkit


@pytest.fixture(scope="module")
def receipt(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp_path = tmp_path_factory.mktemp("receipt")
    _content, toolkit = _charge(tmp_path)
    (only,) = list(ReceiptBook(None, tmp_path / "receipts", account=toolkit.guard.account).receipts())
    return only


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if value is None:
        return "x"
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "0" if value else "0"
    return ["x"]  # an empty list or dict


def test_a_real_receipt_verifies(receipt: dict[str, Any]) -> None:
    assert verify_receipt(receipt, SIGNER.public_pem()).ok
    assert receipt["operation"] == "fund_wallet" and Decimal(receipt["outcome"]["amount"]) == 25
    assert receipt["intent"]["payment_method"]["last4"] == "4242" and "4242424242424242" not in json.dumps(receipt)


def test_changing_any_field_fails_verification(receipt: dict[str, Any]) -> None:
    paths = [path for path in _leaves(receipt) if path[0] != "signature"]
    assert len(paths) > 25 and any(len(path) > 2 for path in paths)  # nested fields are in the loop
    for path in paths:
        forged = copy.deepcopy(receipt)
        holder = forged
        for step in path[:-1]:
            holder = holder[step]
        holder[path[-1]] = _changed(holder[path[-1]])
        assert not verify_receipt(forged, SIGNER.public_pem()).ok, path
    for key in [key for key in receipt if key != "signature"]:  # a field removed, or one added
        assert not verify_receipt({k: v for k, v in receipt.items() if k != key}, SIGNER.public_pem()).ok, key
    assert not verify_receipt({**receipt, "note": "refunded"}, SIGNER.public_pem()).ok
    for field in ("alg", "kid", "value"):  # the signature itself
        forged = copy.deepcopy(receipt)
        forged["signature"][field] = _changed(forged["signature"][field])
        assert not verify_receipt(forged, SIGNER.public_pem()).ok, field
    assert not verify_receipt({k: v for k, v in receipt.items() if k != "signature"}, SIGNER.public_pem()).ok


def test_a_wrong_key_fails(receipt: dict[str, Any]) -> None:
    assert verify_receipt(receipt, ReceiptSigner.generate().public_pem()).reason == "signed by another key"
    impostor = ReceiptSigner.generate()
    resigned = impostor.sign(receipt)
    resigned["signature"]["kid"] = SIGNER.kid  # claims the deployer's key id
    assert verify_receipt(resigned, SIGNER.public_pem()).reason == "the signature does not match the receipt"
    assert not verify_receipt(receipt, b"not a key").ok


def test_canonical_json_is_sorted_compact_and_decimal_as_string() -> None:
    assert canonical_json({"b": Decimal("25.00"), "a": {"z": 1, "y": None}}) == b'{"a":{"y":null,"z":1},"b":"25.00"}'
    with pytest.raises(TypeError, match="no floats"):
        canonical_json({"amount": 25.0})
    signed = SIGNER.sign({"amount": Decimal("25.00")})
    assert signed["amount"] == "25.00" and verify_receipt(json.loads(json.dumps(signed)), SIGNER.public_pem()).ok


def test_the_audit_chain_references_the_receipt(tmp_path: Path) -> None:
    log = JsonlAuditLog(tmp_path / "audit.jsonl")
    _content, toolkit = _charge(tmp_path, audit=log)
    (receipt,) = list(ReceiptBook(None, tmp_path / "receipts", account=toolkit.guard.account).receipts())
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    (done,) = [r for r in records if r["decision"] == "succeeded" and r["operation"] == "fund_wallet"]
    assert done["receipt"] == receipt_digest(receipt) and done["hash"]
    assert next(r for r in records if r["decision"] == "approved").get("receipt") is None
    assert main(["audit", "verify", str(tmp_path / "audit.jsonl")]) == 0  # the chain holds with the new field


def test_reads_and_writes_get_no_receipt(tmp_path: Path) -> None:
    _content, toolkit = _charge(tmp_path)
    call(toolkit.get_tool("wallet"), action="balance")
    call(toolkit.get_tool("billing"), action="update_info", name="Acme Corp")
    assert len(list(ReceiptBook(None, tmp_path / "receipts", account=toolkit.guard.account).receipts())) == 1


def test_one_receipt_per_key_even_when_issued_concurrently(tmp_path: Path) -> None:
    book = ReceiptBook(SIGNER, tmp_path, provider="modelslab")
    got: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def issue(n: int) -> None:
        barrier.wait()
        try:
            got.append(book.issue("ab_same", {"n": n}))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=issue, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == [] and len(got) == 8
    assert len(list(book.receipts())) == 1 and len({json.dumps(r, sort_keys=True) for r in got}) == 1
    assert got[0] == book.get("ab_same") and not list(tmp_path.rglob("*.tmp"))


def test_a_key_asked_for_and_missing_refuses_to_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client, _ = sandbox_clients(create_app(rate_limit=False))
    monkeypatch.setenv(RECEIPT_KEY_ENV, str(tmp_path / "missing.pem"))
    with pytest.raises(ValueError, match=r"cannot read the receipt signing key .*agent-billing receipts keygen"):
        BillingToolkit(client=client, audit=MemoryAuditLog())
    (tmp_path / "not_a_key.pem").write_text("-----BEGIN NOTHING-----\n")
    monkeypatch.setenv(RECEIPT_KEY_ENV, str(tmp_path / "not_a_key.pem"))
    with pytest.raises(ValueError, match=r"not_a_key\.pem"):
        BillingToolkit(client=client, audit=MemoryAuditLog())
    with pytest.raises(ValueError, match="receipts= takes"):
        BillingToolkit(client=client, audit=MemoryAuditLog(), receipts="yes please")


def test_the_key_from_the_environment_signs_into_the_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["receipts", "keygen", "--out", str(tmp_path / "key.pem")]) == 0
    monkeypatch.setenv(RECEIPT_KEY_ENV, str(tmp_path / "key.pem"))
    monkeypatch.setenv("AGENT_BILLING_STATE_DIR", str(tmp_path / "state"))
    content, _toolkit = _charge(tmp_path, receipts=None)
    (path,) = (tmp_path / "state" / "receipts").rglob("*.json")
    assert json.loads(path.read_text())["id"] == content["signed_receipt"]
    assert main(["receipts", "verify", str(path), "--public-key", str(tmp_path / "key.pem.pub")]) == 0


def test_cli_keygen_verify_and_list(tmp_path: Path, receipt: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["receipts", "keygen", "--out", str(tmp_path / "k.pem")]) == 0
    assert oct((tmp_path / "k.pem").stat().st_mode & 0o777) == "0o600"
    assert main(["receipts", "keygen", "--out", str(tmp_path / "k.pem")]) == 2  # never overwritten
    signer = ReceiptSigner.from_pem_file(tmp_path / "k.pem")
    signed = signer.sign({k: v for k, v in receipt.items() if k != "signature"})
    (tmp_path / "r.json").write_text(json.dumps(signed))
    capsys.readouterr()
    assert main(["receipts", "verify", str(tmp_path / "r.json"), "--public-key", str(tmp_path / "k.pem.pub")]) == 0
    assert "valid: receipt rcpt_" in capsys.readouterr().out
    (tmp_path / "forged.json").write_text(json.dumps({**signed, "operation": "withdraw"}))
    assert main(["receipts", "verify", str(tmp_path / "forged.json"), "--public-key", str(tmp_path / "k.pem.pub")]) == 1
    assert "INVALID: the signature does not match" in capsys.readouterr().err
    assert main(["receipts", "verify", str(tmp_path / "nope.json"), "--public-key", str(tmp_path / "k.pem.pub")]) == 2
    book = ReceiptBook(signer, tmp_path / "book", account="acct_1")
    book.issue("ab_1", {"operation": "fund_wallet"})
    capsys.readouterr()
    assert main(["receipts", "list", "--dir", str(tmp_path / "book"), "--account", "acct_1"]) == 0
    assert json.loads(capsys.readouterr().out)["idempotency_key"] == "ab_1"


def test_a_receipt_that_cannot_be_written_is_minted_by_the_replay(tmp_path: Path) -> None:
    # The charge went through but its receipt could not be kept (a file where the directory should be): the
    # call is reported done and unrecorded, its write-ahead record stays, and the repeat mints the one receipt.
    (tmp_path / "blocked").write_text("not a directory")
    client, _ = sandbox_clients(create_app(rate_limit=False))
    client.add_payment_method(payment_method_id="pm_card_visa")

    def toolkit(root: Path) -> BillingToolkit:
        return BillingToolkit(client=client, approval=lambda request: True, audit=MemoryAuditLog(),
                              receipts=ReceiptBook(SIGNER, root), pending_outcomes=PendingOutcomes(tmp_path / "p.db"))

    first, _ = call(toolkit(tmp_path / "blocked" / "receipts").get_tool("wallet"), "call_1", action="fund", amount=25)
    assert first["ok"] and first["recorded"] is False and "signed_receipt" not in first
    again, _ = call(toolkit(tmp_path / "receipts").get_tool("wallet"), "call_1", action="fund", amount=25)
    assert again["ok"] and again["signed_receipt"].startswith("rcpt_")
    assert client.get_wallet_balance().balance == 25  # charged once
    (receipt,) = list(ReceiptBook(None, tmp_path / "receipts", account=client.account_id).receipts())
    assert receipt["approval"]["decision"] == "replayed" and verify_receipt(receipt, SIGNER.public_pem()).ok


def test_receipt_ids_of_a_registry_under_a_deployers_own_name() -> None:
    from agent_billing.audit import receipt_keys
    from agent_billing.receipts import provider_receipt_ids

    # Not a registered provider: every provider's declared receipt fields count (the charge must still get its receipt).
    found = provider_receipt_ids("a_deployers_own_name", {"charge": {key: "x" for key in receipt_keys()}})
    assert set(found) == {f"charge.{key}" for key in receipt_keys()}
