"""A keyed, anchorable audit chain (issue 19.3): a rewritten and re-hashed record, an erased and
re-numbered one, and a cut end are all found by ``agent-billing audit verify`` given the key or the head;
the key never appears in the log or the output; keys rotate; older unkeyed logs still verify, as unkeyed."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from agent_billing.audit import (
    AUDIT_KEY_ENV,
    AuditEvent,
    AuditKeys,
    JsonlAuditLog,
    MemoryAuditLog,
    SqliteAuditLog,
    key_id,
    record_hash,
    verify_chain,
)
from agent_billing.cli import main
from agent_billing.guardrails.store import open_store

T0 = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
KEY = "current-audit-key-" + "c" * 40
OLD_KEY = "retired-audit-key-" + "o" * 40


def charges(amounts: list[str]) -> list[AuditEvent]:
    return [AuditEvent(timestamp=T0 + timedelta(minutes=n), operation="fund_wallet", effect="charge", amount=amount,
                       decision="succeeded", request_id=f"req_{n}", result={"transaction_id": f"tx_{n}"})
            for n, amount in enumerate(amounts)]


def write_log(path: Path, amounts: list[str], keys: AuditKeys | None) -> list[str]:
    with JsonlAuditLog(path, keys=keys if keys is not None else False) as log:
        for event in charges(amounts):
            log.record(event)
    return path.read_text().splitlines()


def rehash(records: list[dict[str, object]]) -> list[str]:
    """What a forger without the key can do: fix every seq, link and hash with plain SHA-256."""
    prev = "0" * 64
    out = []
    for seq, record in enumerate(records, 1):
        record = {k: v for k, v in record.items() if k != "hash"}
        record.update(seq=seq, prev_hash=prev)
        body = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        prev = record["hash"] = hashlib.sha256(body.encode()).hexdigest()
        out.append(json.dumps(record, separators=(",", ":")))
    return out


def cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(["audit", "verify", *args])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(AUDIT_KEY_ENV, raising=False)


def edit_amount(lines: list[str]) -> list[dict[str, object]]:
    records = [json.loads(line) for line in lines]
    records[1]["amount"] = "9.00"  # the $900 charge becomes $9
    return records


def erase(lines: list[str]) -> list[dict[str, object]]:
    records = [json.loads(line) for line in lines]
    return records[:1] + records[2:]


FORGERIES: dict[str, Callable[[list[str]], list[dict[str, object]]]] = {"rewrite": edit_amount, "erase": erase}


@pytest.mark.parametrize("kind", sorted(FORGERIES))
def test_a_rewrite_or_erasure_re_hashed_without_the_key_is_found(kind: str, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "audit.jsonl"
    lines = write_log(path, ["25.00", "900.00", "10.00", "5.00"], AuditKeys(KEY))
    (tmp_path / "audit.key").write_text(KEY + "\n")
    assert cli(str(path), capsys=capsys)[0] == 0

    # The forger keeps the key ids (so verify tries the key) ...
    path.write_text("\n".join(rehash(FORGERIES[kind](lines))) + "\n")
    status, out = cli(str(path), capsys=capsys)
    assert status == 1 and "BROKEN at record 1" in out and "does not match its hash" in out, out

    # ... or drops them, posing as an older unkeyed log (and removes the writer's head file, which
    # catches an erasure at the end): intact as plain SHA-256, but never "keyed", and --require-key fails.
    path.with_name("audit.jsonl.head").unlink()
    stripped = [{k: v for k, v in json.loads(line).items() if k != "kid"} for line in rehash(FORGERIES[kind](lines))]
    path.write_text("\n".join(rehash(stripped)) + "\n")
    status, out = cli(str(path), capsys=capsys)
    assert status == 0 and "unkeyed" in out and " keyed" not in out.replace("unkeyed", ""), out
    status, out = cli(str(path), "--require-key", capsys=capsys)
    assert status == 1 and "not keyed" in out, out


def test_an_unkeyed_record_after_keyed_ones_is_a_downgrade(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    lines = write_log(path, ["25.00", "900.00", "10.00"], AuditKeys(KEY))
    records = [json.loads(line) for line in lines]
    forged = {k: v for k, v in records[2].items() if k not in ("kid", "hash")}
    forged["amount"] = "1.00"
    forged["hash"] = record_hash(forged)
    report = verify_chain([*lines[:2], json.dumps(forged)], AuditKeys(KEY))
    assert not report.ok and report.position == 3 and "without the key" in (report.problem or "")


def test_the_old_plain_chain_was_forgeable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Why keys: the same re-hashed rewrite of an unkeyed log passes (what issue 19 found)."""
    path = tmp_path / "audit.jsonl"
    lines = write_log(path, ["25.00", "900.00", "10.00"], None)
    path.write_text("\n".join(rehash(edit_amount(lines))) + "\n")
    status, out = cli(str(path), capsys=capsys)
    assert status == 0 and "3 unkeyed" in out and "not that nobody rewrote them" in out, out


def test_without_the_key_verify_does_not_say_intact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "audit.jsonl"
    write_log(path, ["25.00", "900.00"], AuditKeys(KEY))
    status, out = cli(str(path), capsys=capsys)
    assert status == 2 and "NOT CHECKED: 2 keyed record(s)" in out and key_id(KEY.encode()) in out, out
    assert "intact," not in out


def test_a_cut_end_is_found_given_the_head(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    (tmp_path / "audit.key").write_text(KEY + "\n")
    log = open_store(url).for_account("acct").audit
    for event in charges(["25.00", "900.00", "10.00"]):
        log.record(event)
    status, out = cli("--store", url, capsys=capsys)
    head = out.split("head ")[1].split(";")[0]
    assert status == 0 and len(head) == 64, out

    import sqlite3

    with sqlite3.connect(tmp_path / "state.db") as conn:
        conn.execute("DELETE FROM audit_log WHERE seq = 3")  # the last record, cut
    assert cli("--store", url, capsys=capsys)[0] == 0  # a chain alone cannot show a cut end ...
    status, out = cli("--store", url, "--head", head, capsys=capsys)  # ... the noted head does
    assert status == 1 and "cut from its end" in out, out
    status, out = cli("--store", url, "--head", f"acct={head}", capsys=capsys)
    assert status == 1, out

    log.record(charges(["7.00"])[0])  # appending after a cut does not hide it either
    status, out = cli("--store", url, "--head", head, capsys=capsys)
    assert status == 1 and "not in the chain" in out, out


def test_the_head_of_a_longer_chain_is_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "audit.jsonl"
    lines = write_log(path, ["1.00", "2.00"], AuditKeys(KEY))
    head = json.loads(lines[-1])["hash"]
    with JsonlAuditLog(path, keys=AuditKeys(KEY)) as log:
        log.record(charges(["3.00"])[0])
    (tmp_path / "audit.key").write_text(KEY)
    status, out = cli(str(path), "--head", head, capsys=capsys)
    assert status == 0 and "expected head found at record 2" in out, out


def test_the_key_never_appears_in_the_log_or_the_output(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(AUDIT_KEY_ENV, KEY)
    path = tmp_path / "audit.jsonl"
    with JsonlAuditLog(path) as log:  # the default: the key from the environment
        for event in charges(["25.00", "900.00"]):
            log.record(event)
        assert KEY not in repr(log.keys()) and key_id(KEY.encode()) in repr(log.keys())
    text = path.read_text()
    assert KEY not in text and KEY[:20] not in text and key_id(KEY.encode()) in text
    assert not (tmp_path / "audit.key").exists()  # the environment's key is used, no file made
    status, out = cli(str(path), capsys=capsys)
    assert status == 0 and "2 keyed" in out and KEY not in out, out
    url = f"sqlite:///{tmp_path / 'state.db'}"
    open_store(url).for_account("acct").audit.record(charges(["1.00"])[0])
    assert KEY.encode() not in (tmp_path / "state.db").read_bytes()


def test_a_key_file_is_made_once_private_and_used_by_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "state" / "audit.jsonl"
    with JsonlAuditLog(path) as log:
        log.record(charges(["1.00"])[0])
    key_file = path.parent / "audit.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    first = key_file.read_text()
    with JsonlAuditLog(path) as log:  # reopened: the same key, not a new one
        log.record(charges(["2.00"])[0])
    assert key_file.read_text() == first
    status, out = cli(str(path), capsys=capsys)
    assert status == 0 and "2 keyed" in out, out


def test_rotation_old_records_verify_with_the_retired_key(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "audit.jsonl"
    monkeypatch.setenv(AUDIT_KEY_ENV, OLD_KEY)
    with JsonlAuditLog(path) as log:
        for event in charges(["1.00", "2.00"]):
            log.record(event)
    monkeypatch.setenv(AUDIT_KEY_ENV, f"{KEY},{OLD_KEY}")  # rotated: the new key signs, the old one verifies
    with JsonlAuditLog(path) as log:
        for event in charges(["3.00", "4.00"]):
            log.record(event)
    kids = [json.loads(line)["kid"] for line in path.read_text().splitlines()]
    assert kids == [key_id(OLD_KEY.encode())] * 2 + [key_id(KEY.encode())] * 2
    status, out = cli(str(path), capsys=capsys)
    assert status == 0 and "intact, 4 record(s)" in out and "4 keyed" in out, out

    monkeypatch.setenv(AUDIT_KEY_ENV, KEY)  # the retired key dropped: its records cannot be checked
    status, out = cli(str(path), capsys=capsys)
    assert status == 2 and key_id(OLD_KEY.encode()) in out, out
    retired = tmp_path / "retired.keys"
    retired.write_text(f"# retired 2026-12\n{OLD_KEY}\n")
    status, out = cli(str(path), "--key-file", str(retired), capsys=capsys)  # kept offline, given when verifying
    assert status == 0 and "4 keyed" in out, out


def test_a_bad_key_fails_closed_and_typed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agent_billing.errors import AuditWriteError

    monkeypatch.setenv(AUDIT_KEY_ENV, "short")
    with JsonlAuditLog(tmp_path / "audit.jsonl") as log, pytest.raises(AuditWriteError, match="at least 32"):
        log.record(charges(["1.00"])[0])
    assert (tmp_path / "audit.jsonl").read_text() == ""
    log2 = SqliteAuditLog(tmp_path / "state.db")
    with pytest.raises(AuditWriteError, match="at least 32"):
        log2.record(charges(["1.00"])[0])
    log2.close()


def test_memory_log_chains_too() -> None:
    log = MemoryAuditLog(keys=AuditKeys(KEY))
    for event in charges(["1.00", "2.00"]):
        log.record(event)
    assert verify_chain(log.lines, AuditKeys(KEY)).keyed == 2
    assert os.environ.get(AUDIT_KEY_ENV) is None


def test_the_default_state_directory_log_verifies_with_its_own_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AGENT_BILLING_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("AGENT_BILLING_STORE_URL", raising=False)
    log = open_store(None).for_account("acct").audit  # today's layout: audit.jsonl in the state directory
    for event in charges(["25.00", "900.00"]):
        log.record(event)
    assert (tmp_path / "audit.key").stat().st_mode & 0o777 == 0o600
    status, out = cli(capsys=capsys)
    assert status == 0 and "audit.jsonl: intact, 2 record(s)" in out and "2 keyed" in out, out
