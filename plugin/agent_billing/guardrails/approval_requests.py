"""Durable approval requests for people who are not in the chat: what they are asked, by which link, what they said.

An out-of-band approval (``guardrails/out_of_band.py``) is asked through a link the person opens on their own
device, minutes or hours after the agent asked. So the request lives in the guardrail store: the facts the
person reads (the ``ApprovalRequest`` as JSON), the digest of the charge intent it is bound to, when it was
made and when it expires, its status (``pending``, ``approved``, ``declined``, ``expired``) and, once decided,
the evidence (when, from which client address and user agent, by which method, and the deployer's identity
claim for the person if the host passes one). Of the one-time link token only its SHA-256 is kept: a copy of
the store cannot be replayed as a link.

Deciding is one compare-and-set from ``pending`` (``UPDATE ... WHERE status = 'pending' AND expires > now
RETURNING``): of two racing clicks exactly one wins, in one process or across hosts (PostgreSQL). Each write
sweeps a bounded batch of expired rows (pending ones become ``expired``; rows long past their expiry go).

One schema and one set of statements serve SQLite (a file, or memory) and PostgreSQL (migration 5).

Example:
    >>> from datetime import datetime, timedelta, timezone
    >>> from agent_billing.guardrails.approval import ApprovalRequest
    >>> requests = ApprovalRequests.memory()
    >>> now = datetime(2026, 12, 5, tzinfo=timezone.utc)
    >>> asked = ApprovalRequest(operation="top_up", effect="charge", summary="Charge $25.00 USD", intent_digest="d1")
    >>> record = requests.create("acct", asked, approval_id="call_1", token="t" * 43, now=now,
    ...                          expires_at=now + timedelta(minutes=15))
    >>> record.status, requests.find("t" * 43, now=now).id == record.id
    ('pending', True)
    >>> requests.decide("t" * 43, approved=True, evidence=Evidence(method="test"), now=now).status
    'approved'
    >>> requests.decide("t" * 43, approved=False, evidence=Evidence(method="test"), now=now) is None  # used
    True
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal, Protocol

from agent_billing.guardrails.approval import ApprovalRequest
from agent_billing.guardrails.approval_text import safe_line
from agent_billing.guardrails.authority import Run, SqliteBackend

Status = Literal["pending", "approved", "declined", "expired"]

# Additive (schema v5 in PostgreSQL; created if missing in SQLite). BIGINT is INTEGER to SQLite.
APPROVAL_REQUESTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS ab_approval_requests (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    approval_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    facts TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_us BIGINT NOT NULL,
    expires_us BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'declined', 'expired')),
    decided_us BIGINT,
    client TEXT,
    user_agent TEXT,
    method TEXT,
    identity TEXT,
    used_us BIGINT
);
CREATE INDEX IF NOT EXISTS ab_approval_requests_by_digest ON ab_approval_requests (account, digest, approval_id);
CREATE INDEX IF NOT EXISTS ab_approval_requests_by_expiry ON ab_approval_requests (status, expires_us);
"""

# How long a no given on the page is carried to the same charge's next call (the toolkit's memory of a no).
DECLINE_MEMORY = timedelta(minutes=10)
# Rows swept per write: bounded, so no call pays for a backlog.
SWEEP_BATCH = 100
# Decided and expired requests are kept this long after their expiry (the evidence is in the audit log too).
RETENTION = timedelta(days=30)
# Evidence strings come from the person's browser: kept short and plain.
EVIDENCE_LIMIT = 200

_COLUMNS = ("id, account, approval_id, digest, facts, created_us, expires_us, status, decided_us, client, user_agent, "
            "method, identity, used_us")
# What a read returns: a pending row past its expiry reads as expired (the sweep writes that later).
_READ = _COLUMNS.replace("status", "CASE WHEN status = 'pending' AND expires_us <= ? THEN 'expired' ELSE status END", 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return (moment - _EPOCH) // _MICROSECOND


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(timezone.utc)


def _moment(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def token_hash(token: str) -> str:
    """The SHA-256 of a link token: all the store keeps of it.

    Example:
        >>> token_hash("abc")[:16]
        'ba7816bf8f01cfea'
    """
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> str:
    """A one-time, unguessable link token (256 random bits, URL-safe).

    Example:
        >>> len(new_token()), new_token() != new_token()
        (43, True)
    """
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Evidence:
    """How a decision was given: from which client, with which user agent, by which method, who (the
    deployer's claim). Strings are cleaned (no control or bidi characters) and capped.

    Example:
        >>> Evidence(client="203.0.113.9", user_agent="Mozilla\\x1b[2J/5.0", method="approval page").user_agent
        'Mozilla[2J/5.0'
    """

    method: str
    client: str | None = None
    user_agent: str | None = None
    identity: str | None = None

    def __post_init__(self) -> None:
        for name in ("method", "client", "user_agent", "identity"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, safe_line(str(value), EVIDENCE_LIMIT))


@dataclass(frozen=True)
class ApprovalRecord:
    """One durable approval request as the store holds it (never the link token).

    Example:
        >>> from datetime import datetime, timezone
        >>> now = datetime(2026, 12, 5, tzinfo=timezone.utc)
        >>> record = ApprovalRecord(id="apr_1", account="a", approval_id="c", digest="d", request=ApprovalRequest(
        ...     operation="top_up", effect="charge", summary="s"), created_at=now, expires_at=now, status="pending")
        >>> record.decided, record.is_open(now)
        (False, False)
    """

    id: str
    account: str
    approval_id: str
    digest: str
    request: ApprovalRequest
    created_at: datetime
    expires_at: datetime
    status: Status
    decided_at: datetime | None = None
    evidence: Evidence | None = None
    used_at: datetime | None = None

    @property
    def decided(self) -> bool:
        """Approved or declined (not pending, not expired)."""
        return self.status in ("approved", "declined")

    def is_open(self, now: datetime) -> bool:
        """Still waiting for a decision and not expired at ``now``."""
        return self.status == "pending" and now < self.expires_at


class Backend(Protocol):
    """A transaction yielding a statement runner (``?`` placeholders): SQLite or PostgreSQL."""

    name: str

    def transaction(self) -> AbstractContextManager[Run]:
        """One transaction, committed when the block ends."""
        ...


class ApprovalRequests:
    """Durable approval requests in a backend (SQLite file or memory, or PostgreSQL via the store).

    Example:
        >>> ApprovalRequests.memory().name
        'memory'
    """

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @classmethod
    def sqlite(cls, path: str | Path | None, *, timeout: float | None = None) -> ApprovalRequests:
        """Requests in a SQLite file (created private); ``None``: a private in-memory database.

        Example:
            >>> ApprovalRequests.sqlite(tmp_dir / "requests.db").name.endswith("requests.db")
            True
        """
        return cls(SqliteBackend(path, timeout=timeout, schema=APPROVAL_REQUESTS_SCHEMA, upgrade=None))

    @classmethod
    def memory(cls) -> ApprovalRequests:
        """Requests in this process only (tests, one-process demos).

        Example:
            >>> ApprovalRequests.memory().get("apr_none") is None
            True
        """
        return cls.sqlite(None)

    @property
    def name(self) -> str:
        """Where the requests are kept (for messages)."""
        return self.backend.name

    def create(self, account: str, request: ApprovalRequest, *, approval_id: str, token: str, now: datetime,
               expires_at: datetime) -> ApprovalRecord:
        """Keep a new pending request for ``request`` (bound to its ``intent_digest``), reachable by ``token``."""
        if not request.intent_digest:
            raise ValueError("an out-of-band approval needs the request's intent_digest (what the yes is bound to)")
        if expires_at <= now:
            raise ValueError("an approval request must expire after it is made")
        record_id = "apr_" + secrets.token_hex(12)
        facts = json.dumps(request.model_dump(mode="json", exclude={"confirmation"}), sort_keys=True)
        with self.backend.transaction() as run:
            self._sweep(run, now)
            run("INSERT INTO ab_approval_requests (id, account, approval_id, digest, facts, created_us, expires_us, "
                "status, token_hash) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
                (record_id, account, approval_id, request.intent_digest, facts, _micros(now), _micros(expires_at),
                 token_hash(token)))
        return ApprovalRecord(record_id, account, approval_id, request.intent_digest,
                              ApprovalRequest.model_validate_json(facts), now, expires_at, "pending")

    def get(self, record_id: str, *, now: datetime | None = None) -> ApprovalRecord | None:
        """The request with this id, whatever its status (a pending one past its expiry at ``now``, default the
        current time, reads as expired).

        Example:
            >>> ApprovalRequests.memory().get("apr_unknown") is None
            True
        """
        with self.backend.transaction() as run:
            rows = run(f"SELECT {_READ} FROM ab_approval_requests WHERE id = ?", (_micros(_now(now)), record_id))
        return _record(rows[0]) if rows else None

    def latest(self, account: str, approval_id: str, digest: str, *, now: datetime | None = None,
               ) -> ApprovalRecord | None:
        """The newest request for this call (approval id) and exactly this intent digest, if any.

        Example:
            >>> ApprovalRequests.memory().latest("acct", "call_1", "d1") is None
            True
        """
        with self.backend.transaction() as run:
            rows = run(f"SELECT {_READ} FROM ab_approval_requests WHERE account = ? AND digest = ? AND approval_id = ? "
                       "ORDER BY created_us DESC LIMIT 1", (_micros(_now(now)), account, digest, approval_id))
        return _record(rows[0]) if rows else None

    def open_for(self, account: str, digest: str, *, now: datetime) -> ApprovalRecord | None:
        """The newest request for exactly this intent digest, from any call, that is pending and unexpired (a
        retry of the same charge waits on the link already sent instead of sending another), approved, unexpired
        and not yet used (given after the call that asked had stopped waiting: the retry runs on that yes, once),
        or declined within ``DECLINE_MEMORY`` (the retry stops on that no instead of asking again).

        Example:
            >>> from datetime import datetime, timezone
            >>> ApprovalRequests.memory().open_for("acct", "d1", now=datetime(2026, 1, 1, tzinfo=timezone.utc)) is None
            True
        """
        with self.backend.transaction() as run:
            rows = run(f"SELECT {_READ} FROM ab_approval_requests WHERE account = ? AND digest = ? AND ("
                       "(status IN ('pending', 'approved') AND used_us IS NULL AND expires_us > ?) OR "
                       "(status = 'declined' AND decided_us > ?)) ORDER BY created_us DESC LIMIT 1",
                       (_micros(now), account, digest, _micros(now), _micros(now - DECLINE_MEMORY)))
        return _record(rows[0]) if rows else None

    def find(self, token: str, *, now: datetime) -> ApprovalRecord | None:
        """The request a link token opens, if it is still open (pending, unexpired); else None.

        Any string may be given (a malformed one is hashed and found nowhere, by the same lookup).

        Example:
            >>> from datetime import datetime, timezone
            >>> ApprovalRequests.memory().find("<script>", now=datetime(2026, 1, 1, tzinfo=timezone.utc)) is None
            True
        """
        with self.backend.transaction() as run:
            rows = run(f"SELECT {_READ} FROM ab_approval_requests WHERE token_hash = ? AND status = 'pending' AND "
                       "expires_us > ?", (_micros(now), token_hash(token), _micros(now)))
        return _record(rows[0]) if rows else None

    def decide(self, token: str, *, approved: bool, evidence: Evidence, now: datetime) -> ApprovalRecord | None:
        """Record the person's decision: one compare-and-set from pending. The decided record, or None when the
        token opens nothing open (unknown, used, expired): then nothing changed."""
        with self.backend.transaction() as run:
            self._sweep(run, now)
            rows = run(f"UPDATE ab_approval_requests SET status = ?, decided_us = ?, client = ?, user_agent = ?, "
                       "method = ?, identity = ? WHERE token_hash = ? AND status = 'pending' AND expires_us > ? "
                       f"RETURNING {_COLUMNS}",
                       ("approved" if approved else "declined", _micros(now), evidence.client, evidence.user_agent,
                        evidence.method, evidence.identity, token_hash(token), _micros(now)))
        return _record(rows[0]) if rows else None

    def use(self, record_id: str, *, now: datetime) -> bool:
        """Spend an approved request's yes: True once (one compare-and-set), so one yes moves money once.

        Example:
            >>> from datetime import datetime, timezone
            >>> ApprovalRequests.memory().use("apr_none", now=datetime(2026, 1, 1, tzinfo=timezone.utc))
            False
        """
        with self.backend.transaction() as run:
            rows = run("UPDATE ab_approval_requests SET used_us = ? WHERE id = ? AND status = 'approved' AND "
                       "used_us IS NULL RETURNING id", (_micros(now), record_id))
        return bool(rows)

    def retract(self, record_id: str, *, now: datetime) -> bool:
        """Close a pending request without a decision (its link could not be delivered): it becomes expired.

        Example:
            >>> from datetime import datetime, timezone
            >>> ApprovalRequests.memory().retract("apr_none", now=datetime(2026, 1, 1, tzinfo=timezone.utc))
            False
        """
        with self.backend.transaction() as run:
            rows = run("UPDATE ab_approval_requests SET status = 'expired', decided_us = ? WHERE id = ? AND "
                       "status = 'pending' RETURNING id", (_micros(now), record_id))
        return bool(rows)

    @staticmethod
    def _sweep(run: Run, now: datetime) -> None:
        # Bounded: pending rows past their expiry become 'expired'; rows long past it are removed.
        cutoff = _micros(now)
        run("UPDATE ab_approval_requests SET status = 'expired' WHERE id IN (SELECT id FROM ab_approval_requests "
            "WHERE status = 'pending' AND expires_us <= ? ORDER BY expires_us LIMIT ?)", (cutoff, SWEEP_BATCH))
        for status in ("approved", "declined", "expired"):
            run("DELETE FROM ab_approval_requests WHERE id IN (SELECT id FROM ab_approval_requests WHERE status = ? "
                "AND expires_us < ? ORDER BY expires_us LIMIT ?)", (status, cutoff - RETENTION // _MICROSECOND, SWEEP_BATCH))

    def count(self) -> int:
        """How many requests are kept (for tests and capacity checks).

        Example:
            >>> ApprovalRequests.memory().count()
            0
        """
        with self.backend.transaction() as run:
            return int(run("SELECT COUNT(*) FROM ab_approval_requests", ())[0][0])


def _record(row: Sequence[Any]) -> ApprovalRecord:
    (record_id, account, approval_id, digest, facts, created, expires, status, decided, client, agent, method,
     identity, used) = row
    evidence = Evidence(method=str(method), client=client, user_agent=agent, identity=identity) \
        if method is not None else None
    return ApprovalRecord(
        id=str(record_id), account=str(account), approval_id=str(approval_id), digest=str(digest),
        request=ApprovalRequest.model_validate_json(str(facts)), created_at=_moment(int(created)),
        expires_at=_moment(int(expires)), status=status, decided_at=_moment(int(decided)) if decided is not None
        else None, evidence=evidence, used_at=_moment(int(used)) if used is not None else None)


__all__ = ["APPROVAL_REQUESTS_SCHEMA", "ApprovalRecord", "ApprovalRequests", "Evidence", "new_token", "token_hash"]
