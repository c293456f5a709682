"""A writer waiting for another process's transaction retries at once with short waits, for a bounded time.

SQLite's own busy handler sleeps up to 100 ms between tries, so one process that keeps committing starved
the others (1 commit in 3 s for one of 8 processes, 1,027 for another). The other process is a second
connection here; the store's waits are counted, not slept (no real sleeps).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agent_billing.sandbox.store import SqliteStore

SCHEMA = "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v INTEGER);"


def _other_writer(path: Path) -> sqlite3.Connection:
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's write transaction, holding the lock
    other.execute("INSERT INTO t (v) VALUES (0)")
    return other


def test_a_waiting_writer_retries_with_short_waits_and_gets_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ledger.db"
    store = SqliteStore(str(path), schema=SCHEMA)
    other = _other_writer(path)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            other.execute("COMMIT")  # the other process finishes while we wait

    monkeypatch.setattr("agent_billing.sandbox.store.time.sleep", sleep)
    with store.transaction():
        store.insert("t", v=1)
    assert len(waits) == 3 and max(waits) <= 0.002  # short waits: never SQLite's 100 ms naps
    assert store.scalar("SELECT COUNT(*) FROM t") == 2
    store.close()
    other.close()


def test_a_writer_gives_up_after_the_bound_with_sqlites_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ledger.db"
    store = SqliteStore(str(path), schema=SCHEMA)
    other = _other_writer(path)
    clock = iter(range(0, 10_000, 5))  # each look at the clock: 5 s later
    monkeypatch.setattr("agent_billing.sandbox.store.time.monotonic", lambda: float(next(clock)))
    monkeypatch.setattr("agent_billing.sandbox.store.time.sleep", lambda seconds: None)
    with pytest.raises(sqlite3.OperationalError, match="locked"), store.transaction():
        store.insert("t", v=1)
    other.execute("ROLLBACK")
    with store.transaction():  # the store is usable afterwards
        store.insert("t", v=2)
    assert store.scalar("SELECT v FROM t") == 2
    store.close()
    other.close()
