"""Money-moving calls whose outcome is unknown, kept on disk so a repeat replays instead of charging.

When a charge's answer is lost or unreadable (the connection dropped, a 5xx after the client's
retries, a 2xx whose body cannot be read), the money may or may not have moved. The call is recorded
here with its idempotency key and the exact arguments that were sent. Repeating the call, with the
same tool arguments or with any arguments that resolve to the same charge intent, sends exactly that
request again under the same key, which the API answers with a replay instead of a second charge.
SQLite makes that hold across restarts and across toolkits sharing a state directory; entries expire
after an hour and are removed as soon as a repeat learns the outcome.

Example:
    >>> from datetime import datetime, timezone
    >>> store = PendingOutcomes()
    >>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> store.remember("acct_1:fund_wallet", "fp1", "d1", "ab_123", {"amount": "25.00"}, now=now)
    >>> store.find("acct_1:fund_wallet", fingerprint="fp1", now=now).idempotency_key
    'ab_123'
    >>> store.find("acct_1:fund_wallet", digest="d1", now=now).arguments
    {'amount': '25.00'}
    >>> [call.fingerprint for call in store.calls("acct_1:fund_wallet", now=now)]
    ['fp1']
    >>> store.forget("acct_1:fund_wallet", "ab_123")
    >>> store.find("acct_1:fund_wallet", fingerprint="fp1", now=now) is None
    True
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from agent_billing import wire

DEFAULT_TTL = timedelta(hours=1)
# The columns a PendingCall is read from, in its field order.
_COLUMNS = "idempotency_key, arguments, digest, fingerprint"


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


@dataclass(frozen=True)
class PendingCall:
    """A call whose outcome is unknown: the key and the exact arguments to replay it with, and what it is
    found by (the tool arguments' fingerprint, the intent's digest).

    Example:
        >>> PendingCall("ab_1", {"amount": "25.00"}, "d1", "fp1").idempotency_key
        'ab_1'
    """

    idempotency_key: str
    arguments: dict[str, Any]
    digest: str
    fingerprint: str = ""


@runtime_checkable
class PendingStore(Protocol):
    """Where unknown outcomes are kept: this SQLite table, or PostgreSQL (``guardrails/postgres.py``).

    Example:
        >>> isinstance(PendingOutcomes(), PendingStore)
        True
    """

    def remember(self, scope: str, fingerprint: str, digest: str, key: str, arguments: dict[str, Any], *,
                 now: datetime) -> None:
        """Keep this call until its TTL runs out."""
        ...

    def find(self, scope: str, *, fingerprint: str | None = None, digest: str | None = None,
             now: datetime) -> PendingCall | None:
        """The kept call with these tool arguments, or resolving to this intent digest."""
        ...

    def calls(self, scope: str, *, now: datetime) -> list[PendingCall]:
        """Every kept call of this scope (one read: the flow matches the arguments, then the intent)."""
        ...

    def forget(self, scope: str, key: str) -> None:
        """The outcome is known now."""
        ...


class PendingOutcomes:
    """A small SQLite table of unknown outcomes, per scope (account and operation), with expiry.

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
        # v2: the arguments sent are kept, so a repeat replays the identical request.
        self._conn.execute("CREATE TABLE IF NOT EXISTS pending_outcomes_v2 ("
                           "scope TEXT NOT NULL, fingerprint TEXT NOT NULL, digest TEXT NOT NULL, "
                           "idempotency_key TEXT NOT NULL, arguments BLOB NOT NULL, expires_us INTEGER NOT NULL, "
                           "PRIMARY KEY (scope, fingerprint))")
        self._conn.execute("CREATE INDEX IF NOT EXISTS pending_by_digest ON pending_outcomes_v2 (scope, digest)")

    def remember(self, scope: str, fingerprint: str, digest: str, key: str, arguments: dict[str, Any], *,
                 now: datetime) -> None:
        """Keep this call (tool-arguments fingerprint, intent digest, key, arguments sent) until the TTL runs out."""
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO pending_outcomes_v2 VALUES (?, ?, ?, ?, ?, ?)",
                               (scope, fingerprint, digest, key, wire.dumps(arguments), _micros(now + self.ttl)))

    def find(self, scope: str, *, fingerprint: str | None = None, digest: str | None = None,
             now: datetime) -> PendingCall | None:
        """The unknown-outcome call with these tool arguments, or (``digest``) resolving to this intent."""
        column, value = ("fingerprint", fingerprint) if fingerprint is not None else ("digest", digest)
        with self._lock:
            self._conn.execute("DELETE FROM pending_outcomes_v2 WHERE expires_us < ?", (_micros(now),))
            row = self._conn.execute(f"SELECT {_COLUMNS} FROM pending_outcomes_v2 WHERE scope = ? AND {column} = ?",
                                     (scope, value)).fetchone()
        if row is None:
            return None
        return PendingCall(str(row[0]), dict(wire.loads(row[1])), str(row[2]), str(row[3]))

    def calls(self, scope: str, *, now: datetime) -> list[PendingCall]:
        """Every unexpired unknown-outcome call of this scope (usually none)."""
        with self._lock:
            self._conn.execute("DELETE FROM pending_outcomes_v2 WHERE expires_us < ?", (_micros(now),))
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM pending_outcomes_v2 WHERE scope = ?", (scope,)).fetchall()
        return [PendingCall(str(r[0]), dict(wire.loads(r[1])), str(r[2]), str(r[3])) for r in rows]

    def forget(self, scope: str, key: str) -> None:
        """The outcome is known now (a repeat succeeded, or failed for a known reason)."""
        with self._lock:
            self._conn.execute("DELETE FROM pending_outcomes_v2 WHERE scope = ? AND idempotency_key = ?", (scope, key))

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._conn.close()
