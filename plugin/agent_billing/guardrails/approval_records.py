"""What a person was shown, and what they decided, per approval: the link between a yes and a charge.

Two hosts ask the person *before* the tool's own code runs again: LangGraph re-executes an interrupted
tool from the top after the resume, and the toolkit's agent middleware asks in the graph's
``after_model`` step. In both cases the yes arrives in a later run than the question, and the charge
may meanwhile have changed (another conversation swapped the default card). So the first time an
approval is asked, the digest of the charge intent that was shown is recorded under the approval's id;
a yes counts only for that digest. The middleware also records its decisions here, and the tool then
runs only if a yes was recorded for that exact tool call and intent.

Example:
    >>> from datetime import datetime, timezone
    >>> records = ApprovalRecords()
    >>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> records.shown("call_1", "digest-a", now=now), records.shown("call_1", "digest-b", now=now)
    ('digest-a', 'digest-a')
    >>> records.decide("call_1", approved=True, approver="person", now=now)
    >>> records.decision("call_1", now=now)
    Decision(approved=True, digest='digest-a', approver='person')
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

from agent_billing.guardrails.sqlite_state import connect, translated

DEFAULT_TTL = timedelta(hours=24)
# Expired records removed per write: bounded, so no call pays for a backlog.
SWEEP_BATCH = 100


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


@dataclass(frozen=True)
class Decision:
    """A recorded decision: yes or no, for which intent digest, by whom.

    Example:
        >>> Decision(approved=False, digest="d", approver="person").approved
        False
    """

    approved: bool
    digest: str
    approver: str


@runtime_checkable
class ApprovalStore(Protocol):
    """Where approvals are kept: this SQLite table, or PostgreSQL (``guardrails/postgres.py``).

    Example:
        >>> isinstance(ApprovalRecords(), ApprovalStore)
        True
    """

    def shown(self, approval_id: str, digest: str, *, now: datetime) -> str:
        """Record the digest shown, unless one was already; return the first one.

        Example:
            >>> from datetime import datetime, timedelta, timezone
            >>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
            >>> records = ApprovalRecords()
            >>> records.shown("ap_1", "d1", now=now), records.shown("ap_1", "d2", now=now)
            ('d1', 'd1')
        """
        ...

    def decide(self, approval_id: str, *, approved: bool, approver: str, now: datetime) -> None:
        """Record the decision (the first one stands).

        Example:
            >>> from datetime import datetime, timedelta, timezone
            >>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
            >>> records = ApprovalRecords()
            >>> _ = records.shown("ap_1", "d1", now=now)
            >>> records.decide("ap_1", approved=True, approver="ada", now=now)
            >>> records.decide("ap_1", approved=False, approver="bob", now=now)
            >>> records.decision("ap_1", now=now)
            Decision(approved=True, digest='d1', approver='ada')
        """
        ...

    def decision(self, approval_id: str, *, now: datetime) -> Decision | None:
        """The recorded decision, if any and unexpired.

        Example:
            >>> from datetime import datetime, timedelta, timezone
            >>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
            >>> ApprovalRecords().decision("ap_unknown", now=now) is None
            True
        """
        ...

    def forget(self, approval_id: str) -> None:
        """The record is used up.

        Example:
            >>> from datetime import datetime, timedelta, timezone
            >>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
            >>> records = ApprovalRecords()
            >>> _ = records.shown("ap_1", "d1", now=now)
            >>> records.decide("ap_1", approved=True, approver="ada", now=now)
            >>> records.forget("ap_1"); records.decision("ap_1", now=now) is None
            True
        """
        ...


class ApprovalRecords:
    """Shown intents and decisions by approval id, in a SQLite file (created private) or (``path=None``) in memory.

    Lookups are by primary key; expired records are swept in bounded batches through an index. A file
    that cannot be used raises ``StoreUnavailableError`` naming it.

    Example:
        >>> ApprovalRecords().decision("nothing", now=datetime(2026, 1, 1).astimezone()) is None
        True
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, ttl: timedelta = DEFAULT_TTL,
                 timeout: float | None = None) -> None:
        self.ttl = ttl
        self._name = str(path) if path is not None else "in-memory approval records"
        self._lock = threading.Lock()
        with translated(self._name):
            self._conn = connect(Path(path) if path is not None else None, timeout=timeout)
            self._conn.execute("CREATE TABLE IF NOT EXISTS approvals (approval_id TEXT PRIMARY KEY, digest TEXT NOT "
                               "NULL, approved INTEGER, approver TEXT, expires_us INTEGER NOT NULL)")
            self._conn.execute("CREATE INDEX IF NOT EXISTS approvals_by_expiry ON approvals (expires_us)")

    def shown(self, approval_id: str, digest: str, *, now: datetime) -> str:
        """Record that ``digest`` was shown for this approval, unless one was already; return the first one."""
        with self._lock, translated(self._name):
            self._conn.execute("DELETE FROM approvals WHERE rowid IN (SELECT rowid FROM approvals WHERE expires_us < ? "
                               "LIMIT ?)", (_micros(now), SWEEP_BATCH))
            self._conn.execute("INSERT OR IGNORE INTO approvals (approval_id, digest, expires_us) VALUES (?, ?, ?)",
                               (approval_id, digest, _micros(now + self.ttl)))
            row = self._conn.execute("SELECT digest FROM approvals WHERE approval_id = ?", (approval_id,)).fetchone()
        return str(row[0])

    def decide(self, approval_id: str, *, approved: bool, approver: str, now: datetime) -> None:
        """Record the person's decision on what was shown (the first decision stands)."""
        with self._lock, translated(self._name):
            self._conn.execute("UPDATE approvals SET approved = ?, approver = ? WHERE approval_id = ? AND approved IS "
                               "NULL AND expires_us >= ?", (int(approved), approver, approval_id, _micros(now)))

    def decision(self, approval_id: str, *, now: datetime) -> Decision | None:
        """The recorded decision for this approval, if one was made and has not expired."""
        with self._lock, translated(self._name):
            row = self._conn.execute("SELECT approved, digest, approver FROM approvals WHERE approval_id = ? AND "
                                     "approved IS NOT NULL AND expires_us >= ?", (approval_id, _micros(now))).fetchone()
        if row is None:
            return None
        return Decision(approved=bool(row[0]), digest=str(row[1]), approver=str(row[2]))

    def forget(self, approval_id: str) -> None:
        """The approved call has run (or been refused after the yes): the record is used up."""
        with self._lock, translated(self._name):
            self._conn.execute("DELETE FROM approvals WHERE approval_id = ?", (approval_id,))

    def close(self) -> None:
        """Close the database.

        Example:
            >>> records = ApprovalRecords(tmp_dir / "approvals.db")
            >>> records.close()
        """
        with self._lock:
            self._conn.close()
