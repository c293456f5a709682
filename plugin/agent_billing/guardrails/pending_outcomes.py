"""Idempotency keys of money-moving calls whose outcome is unknown, kept on disk for an hour.

When a charge's response is lost (the connection dropped, the server answered 5xx after the client's
retries), the money may or may not have moved. The agent is told that repeating exactly the same call
is safe; that holds because the repeat reuses the first call's idempotency key, which the API answers
with a replay instead of a second charge. Keeping the key in SQLite makes that hold across a restart
of the host process too.

Example:
    >>> from datetime import datetime, timezone
    >>> store = PendingOutcomes()
    >>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> store.remember("fund_wallet", "fp1", "ab_123", now=now)
    >>> store.key_for("fund_wallet", "fp1", now=now)
    'ab_123'
    >>> store.forget("fund_wallet", "fp1")
    >>> store.key_for("fund_wallet", "fp1", now=now) is None
    True
"""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import datetime, timedelta
from pathlib import Path

DEFAULT_TTL = timedelta(hours=1)


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


class PendingOutcomes:
    """A small SQLite table of (operation, arguments fingerprint) -> idempotency key, with expiry.

    ``path=None`` keeps it in memory (tests, or hosts that accept losing it on restart).

    Example:
        >>> PendingOutcomes().ttl
        datetime.timedelta(seconds=3600)
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, ttl: timedelta = DEFAULT_TTL) -> None:
        self.ttl = ttl
        target = ":memory:"
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            target = str(path)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(target, check_same_thread=False, timeout=30, isolation_level=None)
        self._conn.execute("CREATE TABLE IF NOT EXISTS pending_outcomes ("
                           "operation TEXT NOT NULL, fingerprint TEXT NOT NULL, idempotency_key TEXT NOT NULL, "
                           "expires_us INTEGER NOT NULL, PRIMARY KEY (operation, fingerprint))")

    def remember(self, operation: str, fingerprint: str, key: str, *, now: datetime) -> None:
        """Keep ``key`` as the one to reuse for this exact call until the TTL runs out."""
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO pending_outcomes VALUES (?, ?, ?, ?)",
                               (operation, fingerprint, key, _micros(now + self.ttl)))

    def key_for(self, operation: str, fingerprint: str, *, now: datetime) -> str | None:
        """The key of an earlier call with the same arguments whose outcome is unknown, if any."""
        with self._lock:
            self._conn.execute("DELETE FROM pending_outcomes WHERE expires_us < ?", (_micros(now),))
            row = self._conn.execute("SELECT idempotency_key FROM pending_outcomes WHERE operation = ? AND "
                                     "fingerprint = ?", (operation, fingerprint)).fetchone()
        return str(row[0]) if row else None

    def forget(self, operation: str, fingerprint: str) -> None:
        """The outcome is known now (the repeat succeeded or failed for a known reason)."""
        with self._lock:
            self._conn.execute("DELETE FROM pending_outcomes WHERE operation = ? AND fingerprint = ?",
                               (operation, fingerprint))

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._conn.close()
