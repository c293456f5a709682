"""A failed audit write never breaks the log (issue 18.2): on a real full filesystem, with torn, garbage or
non-UTF-8 tails, and with a file cut short. Every failure is an ``AuditWriteError``; the file stays whole;
later writes work; ``agent-billing audit verify`` reports what was kept aside and never hides a cut."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from agent_billing.audit import AuditEvent, AuditKeys, JsonlAuditLog, verify_chain
from agent_billing.audit_commands import verify_command
from agent_billing.errors import AuditWriteError

T0 = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
KEYS_TEXT = "recovery-test-key-" + "r" * 32 + "\n"
KEYS = AuditKeys(KEYS_TEXT.strip())


def charge(n: int, reason: str = "") -> AuditEvent:
    return AuditEvent(timestamp=T0 + timedelta(seconds=n), operation="fund_wallet", effect="charge", amount="25",
                      decision="succeeded", request_id=f"req_{n}", reason=reason or None,
                      result={"transaction_id": f"tx_{n}", "blob": "z" * 400})


def verify(path: Path, **options: object) -> tuple[int, str]:
    out: list[str] = []
    status = verify_command(str(path), write=out.append, key_files=[path.parent / "keys"], **options)  # type: ignore[arg-type]
    return status, "\n".join(out)


def whole(path: Path) -> list[dict[str, object]]:
    """The file's records; fails if any line is not a whole record."""
    data = path.read_bytes()
    assert data == b"" or data.endswith(b"\n"), data[-80:]
    return [json.loads(line) for line in data.decode().splitlines()]


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB tmpfs (we run as root in CI; skip with the reason elsewhere, fail under CI=true)."""
    where = tmp_path / f"fs-{uuid.uuid4().hex[:8]}"
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(where)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = f"cannot mount a small tmpfs here ({done.stderr.strip() or done.returncode}): needs root"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {reason}")
        pytest.skip(reason)
    try:
        (where / "keys").write_text(KEYS_TEXT)
        yield where
    finally:
        subprocess.run(["umount", "--lazy", str(where)], check=False)  # lazy: a failed test may hold a file



def fill(folder: Path) -> Path:
    """Take every free block of the filesystem; return the filler (delete it to free the space)."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 512, 64, 8, 1):
            while True:
                try:
                    if os.write(fd, b"\0" * size) < size:
                        break
                except OSError:
                    break
    finally:
        os.close(fd)
    return filler


# A dozen fill levels: how much of the audit file's last block is still free when the disk fills up.
LEVELS = [0, 1, 60, 200, 400, 640, 900, 1500, 2200, 3000, 3600, 4000]


@pytest.mark.parametrize("level", LEVELS)
def test_a_full_disk_never_leaves_a_broken_file(small_fs: Path, level: int) -> None:
    path = small_fs / "audit.jsonl"
    log = JsonlAuditLog(path, keys=KEYS)
    log.record(charge(1))
    # Pad with one record so the file's last block has about ``level`` bytes free.
    size = path.stat().st_size
    log.record(charge(2, reason="p" * max(1, (4096 - size % 4096 - level - 700) % 4096)))
    before = path.read_bytes()
    filler = fill(small_fs)

    outcomes = []
    for n in range(3, 8):  # keep writing into the full disk: each write is whole or absent, typed
        try:
            log.record(charge(n))
            outcomes.append("written")
        except AuditWriteError as err:
            outcomes.append("failed")
            assert err.details["reason"] == "ENOSPC" and "No space left" in err.message
        records = whole(path)
        assert path.read_bytes().startswith(before)
        assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert "failed" in outcomes  # the disk really was full
    assert verify(path)[0] == 0

    filler.unlink()  # space returns: the next write works and the chain goes on
    log.record(charge(99))
    log.close()
    records = whole(path)
    assert records[-1]["request_id"] == "req_99" and records[-1]["seq"] == len(records)
    status, out = verify(path)
    assert status == 0 and f"intact, {len(records)} record(s)" in out, out
    assert not list(small_fs.glob("audit.jsonl.torn-*"))  # nothing was torn: failed writes were taken back


def test_a_torn_write_from_a_crash_is_kept_aside_and_the_chain_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    (tmp_path / "keys").write_text(KEYS_TEXT)
    with JsonlAuditLog(path, keys=KEYS) as log:
        for n in range(3):
            log.record(charge(n))
    full = path.read_bytes()
    torn = full.splitlines(keepends=True)[1][:150]  # the start of a record, as a crash mid-write leaves it
    with path.open("ab") as handle:
        handle.write(torn)

    status, out = verify(path)  # reported before any repair; the whole records are intact
    assert status == 0 and "intact, 3 record(s)" in out and f"{len(torn)} byte(s)" in out, out

    with JsonlAuditLog(path, keys=KEYS) as log:  # a new process: the old code failed here (JSONDecodeError)
        log.record(charge(3))
        log.record(charge(4))
    records = whole(path)
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    [side] = tmp_path.glob("audit.jsonl.torn-*")
    assert side.read_bytes() == torn and side.stat().st_mode & 0o077 == 0
    assert records[3]["torn"] == {"bytes": len(torn), "kept_in": side.name}
    status, out = verify(path)
    assert status == 0 and "intact, 5 record(s)" in out and f"kept aside: {side.name} ({len(torn)} bytes)" in out, out

    side.unlink()  # the evidence removed: verify says so
    status, out = verify(path)
    assert status == 1 and "missing" in out, out


@pytest.mark.parametrize("tail", [
    b"\x00" * 300,  # zero-filled blocks after a crash
    b"garbage that is not json\n",
    b'{"seq": 7}\n',  # JSON, but not a record
    b'{"decision": "succ\xff\xfe\xc3(ed"}\n',  # not UTF-8
    b"\xff\xfe\xfd",
    b"x\n" * 1000 + b"\x80",
])
def test_garbage_and_non_utf8_tails_are_not_fatal(tmp_path: Path, tail: bytes) -> None:
    path = tmp_path / "audit.jsonl"
    (tmp_path / "keys").write_text(KEYS_TEXT)
    with JsonlAuditLog(path, keys=KEYS) as log:
        log.record(charge(1))
        log.record(charge(2))
    with path.open("ab") as handle:
        handle.write(tail)
    assert verify(path)[0] == 0  # a tail that is not a record is reported, the records are intact
    with JsonlAuditLog(path, keys=KEYS) as log:
        log.record(charge(3))
        assert [e.request_id for e in log.read()] == ["req_1", "req_2", "req_3"]
    assert [r["seq"] for r in whole(path)] == [1, 2, 3]
    [side] = tmp_path.glob("audit.jsonl.torn-*")
    assert side.read_bytes() == tail
    report = verify_chain(path.read_bytes().splitlines(), KEYS)
    assert report.ok and report.records == 3 and report.torn_notes[0][1]["bytes"] == len(tail)


def test_garbage_in_the_middle_breaks_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    (tmp_path / "keys").write_text(KEYS_TEXT)
    with JsonlAuditLog(path, keys=KEYS) as log:
        for n in range(3):
            log.record(charge(n))
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + b"\xff not a record\n" + b"".join(lines[1:]))
    status, out = verify(path)
    assert status == 1 and "BROKEN at record 2" in out, out


def test_an_emptied_file_does_not_silently_restart_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    (tmp_path / "keys").write_text(KEYS_TEXT)
    with JsonlAuditLog(path, keys=KEYS) as log:
        for n in range(4):
            log.record(charge(n))
    path.write_bytes(b"")  # truncated (by hand, by a bad rotation...)
    with JsonlAuditLog(path, keys=KEYS) as log:
        log.record(charge(9))
    [record] = whole(path)
    assert record["seq"] == 5  # the old code started again at 1, and verify said "intact"
    status, out = verify(path)
    assert status == 1 and "4 record(s) removed before it" in out, out


def test_a_file_cut_inside_its_last_record_shows_the_loss(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    (tmp_path / "keys").write_text(KEYS_TEXT)
    with JsonlAuditLog(path, keys=KEYS) as log:
        for n in range(4):
            log.record(charge(n))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])  # the last record is cut in the middle
    with JsonlAuditLog(path, keys=KEYS) as log:
        log.record(charge(9))
    assert [r["seq"] for r in whole(path)] == [1, 2, 3, 5]
    status, out = verify(path)
    assert status == 1 and "(seq 4 to 4 missing)" in out, out


def test_a_file_cut_at_a_record_boundary_is_found_by_the_head_file_or_the_noted_head(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    (tmp_path / "keys").write_text(KEYS_TEXT)
    with JsonlAuditLog(path, keys=KEYS) as log:
        for n in range(4):
            log.record(charge(n))
    status, out = verify(path)
    head = out.split("head ")[1].split(";")[0]
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:3]))  # the last record cut, cleanly
    status, out = verify(path)
    assert status == 1 and "cut from its end" in out, out  # the writer's head file says seq 4
    path.with_name("audit.jsonl.head").unlink()  # a careful forger removes that too: the noted head still tells
    assert verify(path)[0] == 0
    status, out = verify(path, heads=[head])
    assert status == 1 and "not in the chain" in out, out


def test_the_head_file_lagging_after_another_writer_is_not_a_cut(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    (tmp_path / "keys").write_text(KEYS_TEXT)
    one, two = JsonlAuditLog(path, keys=KEYS), JsonlAuditLog(path, keys=KEYS)
    for n in range(6):
        (one if n % 2 else two).record(charge(n))
    one.close()
    two.close()
    assert [r["seq"] for r in whole(path)] == list(range(1, 7))
    assert verify(path)[0] == 0
