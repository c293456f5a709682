"""The audit trail is tamper-evident: editing, deleting, inserting or reordering a record breaks the chain
at that record, on the JSON Lines file, on SQLite and on PostgreSQL; ``agent-billing audit`` reports it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from agent_billing.audit import (
    AuditEvent,
    AuditKeys,
    JsonlAuditLog,
    chain_record,
    key_id,
    record_hash,
    verify_chain,
)
from agent_billing.cli import main
from agent_billing.guardrails.store import open_store

T0 = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
KEY = "test-audit-key-" + "k" * 32


@pytest.fixture(autouse=True)
def audit_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every writer and the verifier share one audit key, as a deployment's workers do."""
    monkeypatch.setenv("AGENT_BILLING_AUDIT_KEY", KEY)


def events() -> list[AuditEvent]:
    return [AuditEvent(timestamp=T0 + timedelta(minutes=n), operation="fund_wallet", effect="charge", amount="10",
                       decision="succeeded", approver="mandate:default", idempotency_key=f"ab_{n}",
                       request_id=f"req_{n}", intent_digest="d" * 64,
                       result={"payment": {"payment_intent_id": f"pi_{n}"}, "transaction_id": n})
            for n in range(5)]


def edit(lines: list[str]) -> list[str]:
    record = json.loads(lines[2])
    record["amount"] = "1000"
    return [*lines[:2], json.dumps(record, separators=(",", ":")), *lines[3:]]


def delete(lines: list[str]) -> list[str]:
    return [*lines[:2], *lines[3:]]


def insert(lines: list[str]) -> list[str]:
    # A forger who knows the format: correct hash and link to record 2, yet the chain still breaks.
    prev = json.loads(lines[1])
    forged, _ = chain_record(AuditEvent(operation="withdraw", effect="payout", decision="approved"),
                             prev["seq"] + 1, prev["hash"])
    return [*lines[:2], forged, *lines[2:]]


def reorder(lines: list[str]) -> list[str]:
    return [lines[0], lines[2], lines[1], *lines[3:]]


TAMPERING: dict[str, tuple[Callable[[list[str]], list[str]], int, str]] = {
    "edit": (edit, 3, "changed"),
    "delete": (delete, 3, "removed"),
    "insert": (insert, 3, "inserted"),
    "reorder": (reorder, 2, "reordered"),
}


def test_records_carry_the_chain_and_the_facts_of_a_dispute(store_url: str) -> None:
    log = open_store(store_url).for_account("acct").audit
    for event in events():
        log.record(event)
    lines = open_store(store_url).audit_lines("acct")
    first, second = json.loads(lines[0]), json.loads(lines[1])
    assert second["prev_hash"] == first["hash"] == record_hash(first, KEY.encode()) and first["seq"] == 1
    assert first["intent_digest"] == "d" * 64 and first["decision"] == "succeeded"
    assert first["approver"] == "mandate:default" and first["request_id"] == "req_0"
    assert first["receipt_ids"] == {"payment.payment_intent_id": "pi_0", "transaction_id": "0"}
    assert verify_chain(lines, AuditKeys(KEY)).ok


@pytest.mark.parametrize("kind", sorted(TAMPERING))
def test_tampering_is_found_at_the_record(kind: str, store_url: str) -> None:
    log = open_store(store_url).for_account("acct").audit
    for event in events():
        log.record(event)
    tamper, position, word = TAMPERING[kind]
    report = verify_chain(tamper(open_store(store_url).audit_lines("acct")), AuditKeys(KEY))
    assert not report.ok and report.position == position and word in (report.problem or ""), report


@pytest.mark.parametrize("kind", sorted(TAMPERING))
def test_tampering_with_the_stored_rows_is_reported_by_the_cli(kind: str, store_url: str,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    log = open_store(store_url).for_account("acct").audit
    for event in events():
        log.record(event)
    assert main(["audit", "verify", "--store", store_url]) == 0
    assert "acct: intact, 5 record(s)" in capsys.readouterr().out
    tamper, position, word = TAMPERING[kind]
    _rewrite(store_url, tamper(open_store(store_url).audit_lines("acct")))
    assert main(["audit", "verify", "--store", store_url]) == 1
    out = capsys.readouterr().out
    assert f"acct: BROKEN at record {position}" in out and word in out, out


def _rewrite(store_url: str, lines: list[str]) -> None:
    """What an attacker with write access to the table does: replace the rows (seq = row order)."""
    if store_url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(store_url[len("sqlite://"):]) as conn:
            conn.execute("DELETE FROM audit_log WHERE chain = 'acct'")
            conn.executemany("INSERT INTO audit_log VALUES ('acct', ?, ?, '')", list(enumerate(lines, 1)))
        return
    import psycopg

    with psycopg.connect(store_url) as conn:
        conn.execute("DELETE FROM ab_audit WHERE chain = 'acct'")
        for seq, line in enumerate(lines, 1):
            conn.execute("INSERT INTO ab_audit (chain, seq, line, hash) VALUES ('acct', %s, %s, '')", (seq, line))


def test_file_verify_and_export_of_a_period(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "audit.jsonl"
    with JsonlAuditLog(path) as log:
        for event in events():
            log.record(event)
    assert main(["audit", "verify", str(path)]) == 0
    capsys.readouterr()
    assert main(["audit", "export", str(path), "--since", (T0 + timedelta(minutes=1)).isoformat(),
                 "--until", (T0 + timedelta(minutes=3)).isoformat()]) == 0
    exported = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["seq"] for line in exported] == [2, 3]
    lines = path.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")
    assert main(["audit", "verify", str(path)]) == 1
    assert "BROKEN at record 3" in capsys.readouterr().out


def test_two_writers_on_one_file_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    one, two = JsonlAuditLog(path), JsonlAuditLog(path)
    for n, event in enumerate(events() * 4):
        (one if n % 3 else two).record(event)
    report = verify_chain(path.read_text().splitlines(), AuditKeys(KEY))
    assert report.ok and report.records == report.keyed == 20


def test_every_backend_writes_keyed_records_and_verify_needs_the_key(store_url: str,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    log = open_store(store_url).for_account("acct").audit
    for event in events()[:2]:
        log.record(event)
    lines = open_store(store_url).audit_lines("acct")
    assert all(json.loads(line)["kid"] == key_id(KEY.encode()) for line in lines)
    assert KEY not in "".join(lines)
    assert verify_chain(lines, AuditKeys(KEY)).keyed == 2
    other = verify_chain(lines, AuditKeys("another-key-" + "x" * 32))  # another key cannot vouch for them
    assert not other.ok and other.unchecked == 2
    assert main(["audit", "verify", "--store", store_url]) == 0
    out = capsys.readouterr().out
    assert "2 keyed" in out and KEY not in out, out
