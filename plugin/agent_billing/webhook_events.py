"""Webhook events acted on, kept in the guardrail store: a restart or another worker does not act twice.

A provider retries a delivery until it gets a 2xx, and a captured delivery can be sent again by anyone
who saw it. ``verify_webhook`` refuses events older than its tolerance (5 minutes by default); inside
that window, :class:`StoreEventDeduplicator` remembers each event a handler claimed, by
``webhooks.seen_key`` (the provider and the event's id, or the digest of its canonical JSON), in the
same store as the rest of the guardrail state:

- the state directory (no URL): ``webhook-events.sqlite3`` beside the other state files;
- ``sqlite:///file.db``: a table in that file (every process of the host shares it);
- ``postgresql://...``: a table in that database (every worker on every host shares it).

The claim is one atomic insert, so of two workers racing on one event exactly one gets ``True``. An
entry expires after ``ttl`` seconds (a day by default; keep it well above the tolerance you verify
with), and expired entries are swept in small batches as new events arrive, so a call costs the same
however many events were seen. A store that cannot be reached raises ``StoreUnavailableError``: answer
the delivery with a 5xx so the provider retries later, rather than act without the record.

Example:
    >>> import json, pathlib, tempfile
    >>> from agent_billing.webhooks import WebhookFormat, event_time, sign_webhook, verify_webhook
    >>> fmt = WebhookFormat(header="Example-Signature", timestamp_field="timestamp", type_field="event")
    >>> url = f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'state.db'}"
    >>> body = json.dumps({"event": "invoice.paid", "timestamp": "2026-12-05T10:00:00Z",
    ...                    "data": {"id": "inv_1"}}).encode()
    >>> now = event_time("2026-12-05T10:00:03Z")
    >>> event = verify_webhook(fmt, body, sign_webhook(fmt, body, "whsec_1"), "whsec_1", now=now)
    >>> seen = event_deduplicator(url, clock=lambda: now)
    >>> seen.first_time(fmt, event), event_deduplicator(url).first_time(fmt, event)
    (True, False)
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from agent_billing.guardrails.store import SqliteStore, StateDirStore, Store, StoreUnavailableError, open_store
from agent_billing.webhooks import DEFAULT_TOLERANCE, WebhookProvider, seen_key

__all__ = ["StoreEventDeduplicator", "event_deduplicator"]

DEFAULT_TTL = 86_400.0
SWEEP_BATCH = 200
_MAX_KEY = 200  # longer keys (an odd provider id) are kept as their digest
_SQLITE_FILE = "webhook-events.sqlite3"
_TABLE = "ab_webhook_events"
_CREATE = (f"CREATE TABLE IF NOT EXISTS {_TABLE} (key TEXT PRIMARY KEY, seen_us BIGINT NOT NULL, "
           "expires_us BIGINT NOT NULL)")
_INDEX = f"CREATE INDEX IF NOT EXISTS {_TABLE}_expires ON {_TABLE} (expires_us)"


def _stored_key(provider: WebhookProvider, event: Mapping[str, Any]) -> str:
    key = seen_key(provider, event)
    return key if len(key) <= _MAX_KEY else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class StoreEventDeduplicator:
    """Remembers the events a handler acted on in the guardrail store (same interface as ``EventDeduplicator``).

    ``store``: a store URL or object (None: ``$AGENT_BILLING_STORE_URL``, unset: the state directory).
    ``first_time`` claims an event (True once, across processes and restarts, until ``ttl`` seconds of
    ``clock`` have passed); ``forget`` releases the claim when acting on the event failed, so the
    provider's retry is handled.

    Example:
        >>> import pathlib, tempfile
        >>> from agent_billing.webhooks import WebhookFormat
        >>> fmt = WebhookFormat(header="X-Example-Signature", timestamp_field="occurred_at", id_field="id")
        >>> seen = StoreEventDeduplicator(f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'state.db'}")
        >>> seen.first_time(fmt, {"id": "evt_1"}), seen.first_time(fmt, {"id": "evt_1"})
        (True, False)
        >>> seen.forget(fmt, {"id": "evt_1"}); seen.first_time(fmt, {"id": "evt_1"})
        True
    """

    def __init__(self, store: str | Store | None = None, *, ttl: float = DEFAULT_TTL,
                 clock: Callable[[], float] = time.time, sweep_batch: int = SWEEP_BATCH) -> None:
        if not ttl >= 2 * DEFAULT_TOLERANCE:
            raise ValueError(f"ttl must be at least {2 * DEFAULT_TOLERANCE:g} s (twice the webhook tolerance), so an "
                             "event still inside the tolerance is never forgotten")
        if sweep_batch < 1:
            raise ValueError("sweep_batch must be at least 1")
        self._ttl_us, self._clock, self._batch = int(ttl * 1_000_000), clock, sweep_batch
        self._backend = _backend_for(open_store(store))

    def first_time(self, provider: WebhookProvider, event: Mapping[str, Any]) -> bool:
        """True the first time an event is claimed (and remember it); False for a repeat still remembered."""
        now = int(self._clock() * 1_000_000)
        return self._backend.claim(_stored_key(provider, event), now, now + self._ttl_us, self._batch)

    def forget(self, provider: WebhookProvider, event: Mapping[str, Any]) -> None:
        """Let the next delivery of this event through again (acting on it failed)."""
        self._backend.release(_stored_key(provider, event))

    def close(self) -> None:
        """Close this deduplicator's own connection (a PostgreSQL pool belongs to its store)."""
        self._backend.close()


def event_deduplicator(store: str | Store | None = None, **options: Any) -> StoreEventDeduplicator:
    """The deduplicator for production receivers: events kept in the guardrail store (see the module docstring).

    Example:
        >>> import pathlib, tempfile
        >>> from agent_billing.webhooks import WebhookFormat
        >>> fmt = WebhookFormat(header="X-Example-Signature", timestamp_field="occurred_at", id_field="id")
        >>> event_deduplicator(f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'state.db'}").first_time(fmt, {"id": "evt_9"})
        True
    """
    return StoreEventDeduplicator(store, **options)


class _SqliteEvents:
    """The events table in a SQLite file (shared by the host's processes)."""

    def __init__(self, path: Path, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not path.exists():  # private from the first byte: event ids are business data
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            # A bounded wait for another process's write lock; past it the store counts as unreachable.
            self._conn = sqlite3.connect(str(path), check_same_thread=False, timeout=5, isolation_level=None)
            self._conn.execute(_CREATE)
            self._conn.execute(_INDEX)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailableError(name, f"{type(exc).__name__}: {exc}") from None

    def claim(self, key: str, now: int, expires: int, batch: int) -> bool:
        try:
            with self._lock:
                self._conn.execute(f"DELETE FROM {_TABLE} WHERE key IN (SELECT key FROM {_TABLE} "
                                   "WHERE expires_us <= ? LIMIT ?)", (now, batch))
                # Inserted, or an expired entry taken over: one row changed. A live entry: none.
                changed = self._conn.execute(
                    f"INSERT INTO {_TABLE} (key, seen_us, expires_us) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE "
                    f"SET seen_us = excluded.seen_us, expires_us = excluded.expires_us "
                    f"WHERE {_TABLE}.expires_us <= excluded.seen_us", (key, now, expires)).rowcount
        except sqlite3.Error as exc:
            raise StoreUnavailableError(self._name, f"{type(exc).__name__}: {exc}") from None
        return changed == 1

    def release(self, key: str) -> None:
        try:
            with self._lock:
                self._conn.execute(f"DELETE FROM {_TABLE} WHERE key = ?", (key,))
        except sqlite3.Error as exc:
            raise StoreUnavailableError(self._name, f"{type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class _PostgresEvents:
    """The events table in the PostgreSQL store's database, through the store's pool."""

    def __init__(self, store: Any) -> None:
        self._store, self._ready = store, False

    def _cursor(self) -> Any:
        return self._store.cursor()

    def _prepare(self, cur: Any) -> None:
        if not self._ready:
            # Workers creating the table at once would race in the catalogue: one at a time.
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_TABLE,))
            cur.execute(_CREATE.encode())
            cur.execute(_INDEX.encode())
            self._ready = True

    def claim(self, key: str, now: int, expires: int, batch: int) -> bool:
        with self._cursor() as cur:
            self._prepare(cur)
            cur.execute(f"DELETE FROM {_TABLE} WHERE key IN (SELECT key FROM {_TABLE} WHERE expires_us <= %s "
                        "LIMIT %s FOR UPDATE SKIP LOCKED)".encode(), (now, batch))
            cur.execute(f"INSERT INTO {_TABLE} (key, seen_us, expires_us) VALUES (%s, %s, %s) ON CONFLICT (key) DO "
                        f"UPDATE SET seen_us = EXCLUDED.seen_us, expires_us = EXCLUDED.expires_us "
                        f"WHERE {_TABLE}.expires_us <= EXCLUDED.seen_us".encode(), (key, now, expires))
            return bool(cur.rowcount == 1)

    def release(self, key: str) -> None:
        with self._cursor() as cur:
            self._prepare(cur)
            cur.execute(f"DELETE FROM {_TABLE} WHERE key = %s".encode(), (key,))

    def close(self) -> None:
        """Nothing to close: the pool belongs to the store."""


def _backend_for(store: Store) -> _SqliteEvents | _PostgresEvents:
    if isinstance(store, StateDirStore):
        return _SqliteEvents(store.root / _SQLITE_FILE, store.name)
    if isinstance(store, SqliteStore):
        return _SqliteEvents(store.path, store.name)
    try:
        from agent_billing.guardrails.postgres import PostgresStore
    except ImportError:
        PostgresStore = None  # type: ignore[assignment,misc]
    if PostgresStore is not None and isinstance(store, PostgresStore):
        return _PostgresEvents(store)
    raise TypeError(f"webhook events cannot be kept in {type(store).__name__}: use the state directory, "
                    "a sqlite:/// or a postgresql:// store URL")
