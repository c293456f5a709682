"""Single-use confirmations: a yes bound to one exact operation and its exact arguments.

For hosts with no other approval channel (no LangGraph interrupt, no approval callback). The tool
answers a money-moving call with a summary and a ``conf_...`` token instead of acting; the agent shows
the summary to the person, and only if they agree calls again with the token. The token works once,
for that operation with those arguments (a different amount gives a different fingerprint), and only
for a few minutes.

This is weaker than a human approver: the agent itself carries the token, so nothing proves a person
saw the summary. That is why the toolkit accepts confirmations only for calls that are inside a
spending mandate; this module makes sure a token cannot be reused, stretched to other arguments or
forged. Only the SHA-256 of each token is stored, so a copy of the store cannot be replayed.

Example:
    >>> from decimal import Decimal
    >>> store = ConfirmationStore()
    >>> fp = fingerprint("top_up", {"amount": Decimal("25"), "payment_method_id": "pm_1"})
    >>> conf = store.issue("top_up", fp, "Fund the wallet with $25.00")
    >>> store.consume(conf.token, "top_up", fp), store.consume(conf.token, "top_up", fp)
    (True, False)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agent_billing.guardrails.spend_store import state_dir
from agent_billing.guardrails.sqlite_state import connect, translated

TOKEN_PREFIX = "conf_"
DEFAULT_TTL = timedelta(minutes=5)
MAX_TTL = timedelta(hours=24)
_TOKEN_BYTES = 32
# token_urlsafe(32) is 43 characters; anything else cannot be one of ours.
_TOKEN_LENGTH = len(TOKEN_PREFIX) + 43
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
# Spent and expired rows are kept this long (for a clear "already used" in logs), then pruned.
_KEEP = timedelta(days=1)


def default_path() -> Path:
    """The default confirmation store file, ``<state dir>/confirmations.sqlite3``.

    Example:
        >>> default_path().name
        'confirmations.sqlite3'
    """
    return state_dir() / "confirmations.sqlite3"


def _canonical(value: Any) -> Any:
    # Numbers become their normalised decimal text, tagged so "25" (a string) and 25 (a number) differ.
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Enum):
        return _canonical(value.value)
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, int):
        value = Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("cannot fingerprint a non-finite number")
        return {"$num": "0" if value == 0 else format(value.normalize(), "f")}
    if isinstance(value, BaseModel):
        return _canonical(value.model_dump(mode="python"))
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"argument names must be strings, got {type(key).__name__}")
            # None means "absent" for operation arguments (Operation.validate drops it too).
            if item is not None:
                out[key] = _canonical(item)
        return out
    if isinstance(value, (list, tuple)):
        return [_canonical(item) for item in value]
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("cannot fingerprint a naive datetime")
        return {"$time": value.astimezone(timezone.utc).isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    raise TypeError(f"cannot fingerprint a {type(value).__name__}")


def fingerprint(operation: str, args: Mapping[str, Any] | BaseModel) -> str:
    """SHA-256 (hex) of a canonical JSON of the operation name and its validated arguments.

    Key order does not matter, ``None`` counts as absent, and amounts are compared as numbers:
    ``Decimal("25")``, ``Decimal("25.00")`` and ``25`` are the same amount, ``"25"`` (a string) is not.

    Example:
        >>> fingerprint("top_up", {"amount": Decimal("25")}) == fingerprint(
        ...     "top_up", {"amount": Decimal("25.00"), "payment_method_id": None})
        True
    """
    canonical = {"operation": operation, "arguments": _canonical(args)}
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def token_hash(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored: a copy of the store cannot be replayed.

    Example:
        >>> len(token_hash("conf_x"))
        64
    """
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(ttl: timedelta, now: datetime | None = None) -> tuple[str, datetime, datetime]:
    """A fresh token, its expiry (UTC) and the time it was issued at (shared by every store backend).

    Example:
        >>> token, expires, now = new_token(DEFAULT_TTL, datetime(2026, 1, 1, tzinfo=timezone.utc))
        >>> token.startswith(TOKEN_PREFIX), len(token) == _TOKEN_LENGTH, expires - now
        (True, True, datetime.timedelta(seconds=300))
    """
    now = _now(now)
    return TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES), (now + ttl).astimezone(timezone.utc), now


def check_presented(token: object) -> str | None:
    """The stored hash to look up for a presented token, or None when it cannot be one of ours.

    Example:
        >>> check_presented("conf_forged") is None, check_presented(42) is None
        (True, True)
    """
    if not isinstance(token, str) or len(token) != _TOKEN_LENGTH or not token.startswith(TOKEN_PREFIX):
        return None
    return token_hash(token)


def matches(presented: str, operation: str, args_fingerprint: str, *, stored: tuple[str, str, str]) -> bool:
    """Whether a spent token's stored (hash, operation, fingerprint) are the presented ones, in constant time.

    Example:
        >>> matches("h", "pay_out", "f", stored=("h", "pay_out", "f")), matches("h", "x", "f", stored=("h", "y", "f"))
        (True, False)
    """
    stored_hash, stored_op, stored_fp = stored
    # Evaluate every comparison (no short circuit) in constant time.
    checks = [
        hmac.compare_digest(stored_hash, presented),
        hmac.compare_digest(stored_op.encode(), operation.encode()),
        hmac.compare_digest(stored_fp.encode(), args_fingerprint.encode()),
    ]
    return all(checks)


def _micros(now: datetime) -> int:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return (now - _EPOCH) // _MICROSECOND


def _now(now: datetime | None) -> datetime:
    return datetime.now(timezone.utc) if now is None else now


@dataclass(frozen=True)
class Confirmation:
    """A freshly issued confirmation. ``token`` is a secret: show it only to whoever must confirm.

    Example:
        >>> c = ConfirmationStore().issue("pay_out", "f" * 64, "Pay out $10.00")
        >>> c.token.startswith("conf_"), "conf_" in repr(c)
        (True, False)
    """

    token: str = field(repr=False)
    expires_at: datetime
    summary: str


_SCHEMA = """
CREATE TABLE IF NOT EXISTS confirmations (
    token_hash TEXT PRIMARY KEY,
    operation TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    summary TEXT NOT NULL,
    expires_us INTEGER NOT NULL,
    used_us INTEGER
);
CREATE INDEX IF NOT EXISTS confirmations_by_expiry ON confirmations (expires_us);
"""


class ConfirmationStore:
    """Issues and consumes single-use confirmations, in a SQLite file or (``path=None``) in memory.

    A file store lets the confirming call land in another process than the one that issued the token
    (an MCP server restarted between the two calls, several workers). ``consume`` runs in a
    ``BEGIN IMMEDIATE`` transaction, so of two concurrent attempts with one token only one succeeds.
    A token presented with the wrong operation or arguments is spent as well: that is tampering, and
    the right request needs a fresh confirmation the person can see.

    Example:
        >>> store = ConfirmationStore()
        >>> c = store.issue("pay_out", fingerprint("pay_out", {"amount": 10}), "Pay out $10.00")
        >>> store.consume(c.token, "pay_out", fingerprint("pay_out", {"amount": 11}))
        False
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, timeout: float | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._name = str(path) if path is not None else "in-memory confirmations"
        self._timeout = timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        with self._lock, translated(self._name):
            self._connection()

    @classmethod
    def default(cls) -> ConfirmationStore:
        """A file store at :func:`default_path`.

        Example:
            >>> callable(ConfirmationStore.default)
            True
        """
        return cls(default_path())

    def _connection(self) -> sqlite3.Connection:
        # Called with the lock held. A connection inherited through fork() must not be used by the child.
        if self._conn is not None and (self.path is None or self._pid == os.getpid()):
            return self._conn
        conn = connect(self.path, timeout=self._timeout)
        if self.path is not None:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
        conn.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
        self._conn, self._pid = conn, os.getpid()
        return conn

    def issue(
        self,
        operation: str,
        args_fingerprint: str,
        summary: str,
        *,
        ttl: timedelta = DEFAULT_TTL,
        now: datetime | None = None,
    ) -> Confirmation:
        """Issue a token for exactly this operation and argument fingerprint, valid for ``ttl``.

        Example:
            >>> ConfirmationStore().issue("top_up", "0" * 64, "Fund $25.00").summary
            'Fund $25.00'
        """
        if not operation or not args_fingerprint:
            raise ValueError("a confirmation needs an operation and an argument fingerprint")
        if not timedelta(0) < ttl <= MAX_TTL:
            raise ValueError(f"ttl must be positive and at most {MAX_TTL}")
        token, expires_at, now = new_token(ttl, now)
        with self._lock, translated(self._name):
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("DELETE FROM confirmations WHERE expires_us < ?", (_micros(now - _KEEP),))
                conn.execute(
                    "INSERT INTO confirmations (token_hash, operation, fingerprint, summary, expires_us)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (token_hash(token), operation, args_fingerprint, summary, _micros(expires_at)),
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        return Confirmation(token=token, expires_at=expires_at, summary=summary)

    def consume(self, token: str, operation: str, args_fingerprint: str, *, now: datetime | None = None) -> bool:
        """Use a token: True once, for its exact operation and fingerprint, before it expires.

        Any presentation of a genuine, unexpired, unused token spends it, whether or not it matches.

        Example:
            >>> s = ConfirmationStore()
            >>> s.consume("conf_forged", "pay_out", "0" * 64)
            False
        """
        presented = check_presented(token)
        if presented is None:
            return False
        when = _micros(_now(now))
        with self._lock, translated(self._name):
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT token_hash, operation, fingerprint, expires_us, used_us FROM confirmations "
                    "WHERE token_hash = ?", (presented,),
                ).fetchone()
                if row is None:
                    conn.execute("ROLLBACK")
                    return False
                stored_hash, stored_op, stored_fp, expires_us, used_us = row
                if used_us is not None or when >= expires_us:
                    conn.execute("ROLLBACK")
                    return False
                # "AND used_us IS NULL" as well as the transaction: two spends of one token cannot both win.
                cursor = conn.execute(
                    "UPDATE confirmations SET used_us = ? WHERE token_hash = ? AND used_us IS NULL", (when, stored_hash)
                )
                if cursor.rowcount != 1:
                    conn.execute("ROLLBACK")
                    return False
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        return matches(presented, operation, args_fingerprint, stored=(str(stored_hash), str(stored_op), str(stored_fp)))

    def close(self) -> None:
        """Close the connection (a file store reopens it on next use; a memory store starts empty).

        Example:
            >>> store = ConfirmationStore()
            >>> store.close(); store.close()  # closing twice is harmless
        """
        with self._lock:
            if self._conn is not None and (self.path is None or self._pid == os.getpid()):
                self._conn.close()
            self._conn = None

    def __enter__(self) -> ConfirmationStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
