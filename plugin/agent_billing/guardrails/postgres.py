"""Guardrail state in PostgreSQL, shared by every worker on every host (``pip install 'agent-billing[postgres]'``).

The same interfaces as the SQLite stores (spend reservations, pending unknown outcomes, single-use
confirmations, approval records, declined requests, the chained audit log), on one connection pool
(psycopg 3 and psycopg_pool). What makes them correct across hosts:

- a reservation's check and insert run in one transaction holding a transaction-level advisory lock
  for (account, mandate): a second worker's reservation for the same mandate waits for the first to
  commit, then sees its row (READ COMMITTED takes a fresh snapshot per statement);
- a confirmation is spent by one ``UPDATE ... WHERE used_us IS NULL RETURNING``: of two workers
  presenting one token, exactly one gets the row back;
- an audit record is appended under an advisory lock per chain, so the chain never forks;
- the schema is created on first use and migrated by version (table ``agent_billing_schema``), under an
  advisory lock so two workers starting together do not race;
- inside :meth:`PostgresStore.joined` a thread's calls share one transaction in pipeline mode (the guard joins
  the calls a charge makes between two steps: its checks, reservation, audited yes and write-ahead record are
  one transaction before the send, its confirmation, audited success and settling one after). A statement's
  failure may then surface at a later call of the block or at the commit; either way nothing of the
  transaction is kept.

Nothing connects at construction. Every wait is bounded by one setting, ``timeout`` (default
``$AGENT_BILLING_STORE_TIMEOUT``, 5 s): getting a connection from the pool, ``lock_timeout`` for an
advisory or row lock, and ``statement_timeout`` (twice that) for any statement. Any database failure
(server down, pool timeout, a lock or statement timeout) becomes a
:class:`~agent_billing.guardrails.store.StoreUnavailableError` naming the store (password removed), which
the toolkit turns into a refusal for money-moving calls; no ``psycopg`` exception leaves the store.

Example:
    >>> store = PostgresStore("postgresql://billing:secret@db.internal:5432/agents")
    >>> store.name  # no connection yet, and the password never appears in messages
    'postgresql://billing@db.internal:5432/agents'
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from agent_billing import wire
from agent_billing.audit import GENESIS_HASH, AuditEvent, chain_record, state_keys
from agent_billing.guardrails.approval_records import DEFAULT_TTL as APPROVAL_TTL
from agent_billing.guardrails.approval_records import Decision
from agent_billing.guardrails.approval_requests import APPROVAL_REQUESTS_SCHEMA, ApprovalRequests
from agent_billing.guardrails.authority import (
    AUTHORITY_SCHEMA,
    BUCKET_SUBTRACT,
    CHANGED,
    PERIOD_BUCKETS_SCHEMA,
    AuthorityStore,
    Run,
    bucket_add,
    bucket_backfill,
)
from agent_billing.guardrails.confirmation import (
    DEFAULT_TTL as CONFIRMATION_TTL,
)
from agent_billing.guardrails.confirmation import (
    MAX_TTL,
    Confirmation,
    check_presented,
    matches,
    new_token,
    token_hash,
)
from agent_billing.guardrails.pending_outcomes import DEFAULT_TTL as PENDING_TTL
from agent_billing.guardrails.pending_outcomes import PendingCall
from agent_billing.guardrails.spend_store import (
    BUCKETS,
    DAY,
    SWEEP_BATCH,
    Reservation,
    WindowPlan,
    _changed,
    _check_key,
    _check_retention,
    _created,
    _cutoff,
    _decide,
    _Entry,
    _existing,
    _from_cents,
    _to_cents,
    _to_micros,
    _window_start,
    total_params,
    total_sql,
)
from agent_billing.guardrails.sqlite_state import store_timeout
from agent_billing.guardrails.store import AccountState, StoreUnavailableError, redact_url


def _counting_function(name: str, changed: str, *, subtract: str, add: str) -> str:
    """A trigger function keeping running totals of a table of charges (the mandate's window, an authority's
    period): a row counts unless released; an update that releases it or changes what it counts (``changed``, on
    OLD and NEW) takes the old row out (``subtract``), and a row that counts after the change goes in (``add``)."""
    return f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.status <> 'released' AND (NEW.status = 'released' OR {changed}) THEN
            {subtract};
        END IF;
        IF NEW.status = 'released' OR (OLD.status <> 'released' AND NOT ({changed})) THEN
            RETURN NULL;
        END IF;
    ELSIF NEW.status = 'released' THEN
        RETURN NULL;
    END IF;
    {add};
    RETURN NULL;
END $$;"""


def _spend_buckets() -> str:
    """Migration 3's SQL, derived from the bucket widths the other stores use."""
    changed = _changed("OLD", "NEW")
    old_buckets = ", ".join(f"({level}, OLD.created_us / {width})" for level, width in enumerate(BUCKETS))
    new_buckets = ", ".join(f"(NEW.account, NEW.mandate, {level}, NEW.created_us / {width}, NEW.amount_cents, "
                            f"(NEW.created_us / {width} + 1) * {width})" for level, width in enumerate(BUCKETS))
    backfill = "\n".join(
        f"INSERT INTO ab_spend_buckets SELECT account, mandate, {level}, created_us / {width}, SUM(amount_cents), "
        f"(created_us / {width} + 1) * {width} FROM ab_reservations WHERE status <> 'released' "
        f"GROUP BY account, mandate, created_us / {width};" for level, width in enumerate(BUCKETS))
    counting = _counting_function(
        "ab_spend_count", changed,
        subtract="UPDATE ab_spend_buckets SET cents = cents - OLD.amount_cents\n                WHERE account = "
                 f"OLD.account AND mandate = OLD.mandate AND (level, bucket) IN ({old_buckets})",
        add=f"INSERT INTO ab_spend_buckets (account, mandate, level, bucket, cents, end_us) VALUES {new_buckets}\n"
            "        ON CONFLICT (account, mandate, level, bucket) DO UPDATE SET cents = ab_spend_buckets.cents + "
            "excluded.cents")
    return f"""
CREATE TABLE ab_spend_buckets (
    account TEXT NOT NULL,
    mandate TEXT NOT NULL,
    level SMALLINT NOT NULL,
    bucket BIGINT NOT NULL,
    cents BIGINT NOT NULL,
    end_us BIGINT NOT NULL,
    PRIMARY KEY (account, mandate, level, bucket)
);
CREATE INDEX ab_spend_buckets_by_end ON ab_spend_buckets (end_us);
CREATE INDEX ab_reservations_by_time ON ab_reservations (created_us);
{counting}
CREATE TRIGGER ab_spend_count AFTER INSERT OR UPDATE ON ab_reservations FOR EACH ROW EXECUTE FUNCTION ab_spend_count();
{backfill}
ANALYZE ab_spend_buckets;
"""


def _authority_buckets() -> str:
    """Migration 6's SQL: a rolling period's running totals (guardrails/authority.py), kept by a trigger."""
    has_period = "(a.body::json ->> 'period') IS NOT NULL"
    return f"""{PERIOD_BUCKETS_SCHEMA};
{_counting_function("ab_authority_count", CHANGED, subtract=BUCKET_SUBTRACT, add=bucket_add(has_period))}
CREATE TRIGGER ab_authority_count AFTER INSERT OR UPDATE ON ab_authority_charges FOR EACH ROW
    EXECUTE FUNCTION ab_authority_count();
{bucket_backfill(has_period)};
ANALYZE ab_authority_buckets;
"""


# Versioned schema: append a migration, never edit one that has shipped.
MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, """
CREATE TABLE ab_reservations (
    account TEXT NOT NULL,
    key TEXT NOT NULL,
    mandate TEXT NOT NULL,
    amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0),
    spent_before_cents BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'released')),
    created_us BIGINT NOT NULL,
    PRIMARY KEY (account, key)
);
CREATE INDEX ab_reservations_by_mandate ON ab_reservations (account, mandate, created_us);
CREATE TABLE ab_confirmations (
    token_hash TEXT PRIMARY KEY,
    operation TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    summary TEXT NOT NULL,
    expires_us BIGINT NOT NULL,
    used_us BIGINT
);
CREATE INDEX ab_confirmations_by_expiry ON ab_confirmations (expires_us);
CREATE TABLE ab_pending_outcomes (
    scope TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    digest TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    arguments TEXT NOT NULL,
    expires_us BIGINT NOT NULL,
    PRIMARY KEY (scope, fingerprint)
);
CREATE INDEX ab_pending_by_digest ON ab_pending_outcomes (scope, digest);
CREATE TABLE ab_approvals (
    approval_id TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    approved BOOLEAN,
    approver TEXT,
    expires_us BIGINT NOT NULL
);
CREATE TABLE ab_declined (
    item TEXT PRIMARY KEY,
    until_us BIGINT NOT NULL
);
CREATE TABLE ab_audit (
    chain TEXT NOT NULL,
    seq BIGINT NOT NULL,
    line TEXT NOT NULL,
    hash TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (chain, seq)
);
"""),
    # Write-ahead records: one per key (several unsettled calls may share a fingerprint), found through
    # indexes by fingerprint or digest, swept through an expiry index; approvals swept the same way.
    (2, """
DELETE FROM ab_pending_outcomes a USING ab_pending_outcomes b
    WHERE a.scope = b.scope AND a.idempotency_key = b.idempotency_key AND a.ctid < b.ctid;
ALTER TABLE ab_pending_outcomes DROP CONSTRAINT ab_pending_outcomes_pkey;
ALTER TABLE ab_pending_outcomes ADD PRIMARY KEY (scope, idempotency_key);
DROP INDEX ab_pending_by_digest;
CREATE INDEX ab_pending_by_fingerprint ON ab_pending_outcomes (scope, fingerprint, expires_us);
CREATE INDEX ab_pending_by_digest ON ab_pending_outcomes (scope, digest, expires_us);
CREATE INDEX ab_pending_by_expiry ON ab_pending_outcomes (expires_us);
CREATE INDEX ab_approvals_by_expiry ON ab_approvals (expires_us);
"""),
    # The spend window from running totals (see spend_store): buckets kept by a trigger in the transaction that
    # writes the reservation, filled once from the rows already there; a time index for sweeping old rows.
    (3, _spend_buckets()),
    # Spend authorities per agent and task (guardrails/authority.py): additive, the same tables as in SQLite.
    (4, AUTHORITY_SCHEMA),
    # Durable out-of-band approval requests (guardrails/approval_requests.py): additive, as in SQLite.
    (5, APPROVAL_REQUESTS_SCHEMA),
    # A spend authority's rolling period from running totals, as the mandate's window (migration 3).
    (6, _authority_buckets()),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]
_TOTAL = total_sql("ab_spend_buckets", "ab_reservations", "account = %s AND mandate = %s", "%s")


def lock_id(*parts: str) -> int:
    """A signed 64-bit advisory-lock id for a tuple of names (stable across processes and hosts).

    Example:
        >>> lock_id("acct", "default") == lock_id("acct", "default") != lock_id("acct", "other")
        True
    """
    digest = hashlib.sha256("\0".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


_SCHEMA_LOCK = lock_id("agent_billing", "schema")


class _Shared:
    """One thread's transaction inside :meth:`PostgresStore.joined`: its connection, once a call opened it."""

    def __init__(self) -> None:
        self.conn: psycopg.Connection[Any] | None = None
        self.cur: psycopg.Cursor[Any] | None = None
        self.pool: ConnectionPool | None = None
        self.pipeline: contextlib.ExitStack | None = None  # the connection's pipeline mode, left before it goes back


class PostgresStore:
    """All guardrail state in one PostgreSQL database, through a lazily opened connection pool.

    ``url``: ``postgresql://user@host:port/db`` or ``postgresql:///db?host=/socket/dir``. ``timeout``
    (seconds; default ``$AGENT_BILLING_STORE_TIMEOUT``): how long a call waits for a connection or a lock
    before the store counts as unavailable; a statement may run twice that. The pool is opened on first
    use and reopened in a forked child (a pool's threads do not survive ``fork``).

    Example:
        >>> PostgresStore("postgresql:///agents?host=/run/postgresql").name
        'postgresql:///agents?host=/run/postgresql'
    """

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10, timeout: float | None = None) -> None:
        self.url = url
        self.name = redact_url(url)
        self.timeout = store_timeout() if timeout is None else timeout
        self._sizes = (min_size, max_size)
        self._lock = threading.Lock()
        self._pool: ConnectionPool | None = None
        self._pid = 0
        self._migrated = False
        self._local = threading.local()  # ``shared``: the thread's transaction inside ``joined`` (else None)

    def _get_pool(self) -> ConnectionPool:
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                pool = ConnectionPool(self.url, min_size=self._sizes[0], max_size=self._sizes[1], open=False,
                                      timeout=self.timeout, name="agent-billing", configure=self._configure,
                                      # A connection broken while idle (the server restarted) is replaced,
                                      # not handed out to fail the first call after an outage.
                                      check=ConnectionPool.check_connection)
                pool.open(wait=False)
                self._pool, self._pid, self._migrated = pool, os.getpid(), False
            return self._pool

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        """Each new connection: no lock wait and no statement longer than the store's bound."""
        millis = max(1, int(self.timeout * 1000))
        conn.execute("SELECT set_config('lock_timeout', %s, false), set_config('statement_timeout', %s, false)",
                     (f"{millis}ms", f"{2 * millis}ms"))
        conn.commit()

    @contextmanager
    def cursor(self) -> Iterator[psycopg.Cursor[Any]]:
        """A cursor in a transaction committed when the block ends (rolled back if it raises); inside
        :meth:`joined`, a cursor in the thread's shared transaction instead (committed by :meth:`flush`).

        Any database failure becomes ``StoreUnavailableError``; the caller's own errors pass through.
        """
        shared: _Shared | None = getattr(self._local, "shared", None)
        if shared is not None:
            with self._translated(), self._in_shared(shared) as cur:
                yield cur
            return
        with self._translated(), self._get_pool().connection() as conn:
            if not self._migrated:
                self._migrate(conn)
            with conn.cursor() as cur:
                yield cur

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if isinstance(exc, (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled)):
                reason = f"waited longer than the store's bound of {self.timeout:g} s: {reason}"
            raise StoreUnavailableError(self.name, reason) from exc

    @contextmanager
    def joined(self) -> Iterator[None]:
        """Until the block ends, this thread's calls on this store share one transaction (opened by the first
        call), committed by :meth:`flush` or when the block ends. Any failure inside a call (the database's or the
        caller's) rolls back everything since the last commit, so a combined write is kept whole or not at all;
        the calls after it start a new transaction. A block inside another one is part of it.

        Example:
            >>> store = PostgresStore("postgresql:///agents")
            >>> with store.joined():
            ...     pass  # no call, so no connection and no transaction
        """
        if getattr(self._local, "shared", None) is not None:
            yield
            return
        shared = self._local.shared = _Shared()
        try:
            yield
        except BaseException:
            self._drop(shared)
            raise
        else:
            self.flush()
        finally:
            self._local.shared = None

    def flush(self) -> None:
        """Commit this thread's shared transaction now (no-op outside :meth:`joined` or with nothing in it).

        On failure nothing of it is kept and ``StoreUnavailableError`` is raised.
        """
        shared: _Shared | None = getattr(self._local, "shared", None)
        if shared is None or shared.conn is None:
            return
        try:
            with self._translated():
                shared.conn.commit()
                if shared.pipeline is not None:
                    shared.pipeline.close()
        except BaseException:
            self._drop(shared)
            raise
        self._put(shared)

    @contextmanager
    def _in_shared(self, shared: _Shared) -> Iterator[psycopg.Cursor[Any]]:
        try:
            if shared.conn is None:
                pool = self._get_pool()
                conn = pool.getconn()
                shared.conn, shared.pool = conn, pool
                if not self._migrated:
                    self._migrate(conn)
                # Pipeline mode: a statement whose result nobody reads (a sweep, an insert, a lock) travels with
                # the next one that is read, or with the commit, instead of costing a round trip of its own.
                shared.pipeline = contextlib.ExitStack()
                shared.pipeline.enter_context(conn.pipeline())
                shared.cur = conn.cursor()
            assert shared.cur is not None
            yield shared.cur
        except BaseException:
            self._drop(shared)
            raise

    def _drop(self, shared: _Shared) -> None:
        """Roll back what the shared transaction holds and give its connection back."""
        if shared.pipeline is not None:
            with contextlib.suppress(psycopg.Error):
                shared.pipeline.close()
        if shared.conn is not None:
            with contextlib.suppress(psycopg.Error):
                shared.conn.rollback()
        self._put(shared)

    @staticmethod
    def _put(shared: _Shared) -> None:
        conn, pool = shared.conn, shared.pool
        shared.conn = shared.cur = shared.pool = shared.pipeline = None
        if conn is not None and pool is not None:
            with contextlib.suppress(Exception):  # a broken connection is the pool's to replace
                pool.putconn(conn)

    def _migrate(self, conn: psycopg.Connection[Any]) -> None:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            cur.execute("CREATE TABLE IF NOT EXISTS agent_billing_schema (version INTEGER PRIMARY KEY, "
                        "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            row = cur.execute("SELECT COALESCE(MAX(version), 0) FROM agent_billing_schema").fetchone()
            current = int(row[0]) if row else 0
            if current > SCHEMA_VERSION:
                raise RuntimeError(f"{self.name} has schema version {current}, newer than this agent-billing "
                                   f"({SCHEMA_VERSION}); upgrade agent-billing")
            for version, sql in MIGRATIONS:
                if version > current:
                    cur.execute(sql.encode())
                    cur.execute("INSERT INTO agent_billing_schema (version) VALUES (%s)", (version,))
        self._migrated = True

    def schema_version(self) -> int:
        """The schema version in the database (migrating first, if needed)."""
        with self.cursor() as cur:
            row = cur.execute("SELECT MAX(version) FROM agent_billing_schema").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def for_account(self, account: str) -> AccountState:
        """The guardrail state of one account (``BillingClient.account_id``)."""
        return AccountState(
            spend=lambda: PostgresSpendStore(self, account), pending=lambda: PostgresPendingOutcomes(self),
            confirmations=lambda: PostgresConfirmationStore(self), approvals=lambda: PostgresApprovalRecords(self),
            declined=lambda: PostgresDeclinedRequests(self), audit=lambda: PostgresAuditLog(self, chain=account),
            authorities=lambda: AuthorityStore(PostgresAuthorities(self), account),
            approval_requests=self.approval_requests,
        )

    def approval_requests(self) -> ApprovalRequests:
        """The out-of-band approval requests of every account (decided by one ``UPDATE ... RETURNING``)."""
        return ApprovalRequests(PostgresAuthorities(self))  # its transaction runner is generic: one per statement set

    def audit_chains(self) -> list[str]:
        """The audit chains kept here (one per account)."""
        with self.cursor() as cur:
            return [str(row[0]) for row in cur.execute("SELECT DISTINCT chain FROM ab_audit ORDER BY chain")]

    def audit_lines(self, chain: str) -> list[str]:
        """One chain's records, oldest first."""
        with self.cursor() as cur:
            return [str(row[0]) for row in cur.execute("SELECT line FROM ab_audit WHERE chain = %s ORDER BY seq",
                                                       (chain,))]

    def close(self) -> None:
        """Close the pool (a later call opens a new one)."""
        with self._lock:
            if self._pool is not None and self._pid == os.getpid():
                self._pool.close()
            self._pool = None


class PostgresSpendStore:
    """Spend reservations of one account (see :class:`~agent_billing.guardrails.spend_store.SpendStore`).

    The window's total is read from running totals (``ab_spend_buckets``), so it costs the same whatever the
    number of reservations in the window; each reservation also sweeps a bounded batch of expired rows.
    """

    def __init__(self, store: PostgresStore, account: str, *, retention: timedelta = DAY) -> None:
        self.store, self.account = store, account
        self.retention = _check_retention(retention)

    def reserve(
        self, mandate: str, key: str, amount: Decimal, *, limit: Decimal | None, now: datetime,
        window: timedelta = DAY,
    ) -> Reservation:
        """Check the cap and reserve, serialized per (account, mandate) by an advisory lock."""
        _check_key(mandate, key)
        cents = _to_cents(amount)
        created, start = _created(now), _window_start(now, window, self.retention)
        if limit is not None:
            _to_cents(limit, "limit")
        with self.store.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (lock_id("spend", self.account, mandate),))
            self._sweep(cur, _cutoff(created, self.retention))
            row = cur.execute("SELECT mandate, amount_cents, spent_before_cents, status, created_us FROM ab_reservations"
                              " WHERE account = %s AND key = %s", (self.account, key)).fetchone()
            if row is not None and row[3] != "released":
                return _existing(key, _Entry(*row), mandate, cents)
            spent = self._spent(cur, mandate, start)
            result = _decide(mandate, key, cents, spent, limit, window)
            if result.granted:
                cur.execute(
                    "INSERT INTO ab_reservations (account, key, mandate, amount_cents, spent_before_cents, status, "
                    "created_us) VALUES (%s, %s, %s, %s, %s, 'pending', %s) ON CONFLICT (account, key) DO UPDATE SET "
                    "mandate = excluded.mandate, amount_cents = excluded.amount_cents, "
                    "spent_before_cents = excluded.spent_before_cents, status = 'pending', created_us = excluded.created_us",
                    (self.account, key, mandate, cents, spent, created))
            return result

    def confirm(self, key: str) -> None:
        """Turn the reservation into spend; confirming twice is harmless."""
        with self.store.cursor() as cur:
            found = cur.execute("UPDATE ab_reservations SET status = 'confirmed' WHERE account = %s AND key = %s "
                                "RETURNING key", (self.account, key)).fetchone() is not None
        if not found:  # raised after the block: nothing was written, so a shared transaction goes on
            raise KeyError(f"no reservation with key {key!r}")

    def release(self, key: str) -> None:
        """Stop counting a pending reservation; confirmed spend is never released."""
        with self.store.cursor() as cur:
            cur.execute("UPDATE ab_reservations SET status = 'released' WHERE account = %s AND key = %s "
                        "AND status = 'pending'", (self.account, key))

    def spent(self, mandate: str, *, now: datetime, window: timedelta = DAY) -> Decimal:
        """Reserved plus confirmed amounts of ``mandate`` in the window ending at ``now``."""
        start = _window_start(now, window, self.retention)
        with self.store.cursor() as cur:
            return _from_cents(self._spent(cur, mandate, start))

    def _spent(self, cur: psycopg.Cursor[Any], mandate: str, start: int) -> int:
        row = cur.execute(_TOTAL, total_params((self.account, mandate), WindowPlan.starting(start))).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _sweep(cur: psycopg.Cursor[Any], cutoff: tuple[int, int]) -> None:
        # Any account's: rows and buckets this old are in no window. SKIP LOCKED: two sweepers never wait on
        # each other (a row one of them skips is swept by a later call). ORDER BY: the time index, whatever the
        # planner's statistics say (without them it chose a scan of the whole table).
        cur.execute("DELETE FROM ab_reservations WHERE ctid IN (SELECT ctid FROM ab_reservations WHERE created_us < %s "
                    "ORDER BY created_us LIMIT %s FOR UPDATE SKIP LOCKED)", (cutoff[0], SWEEP_BATCH))
        cur.execute("DELETE FROM ab_spend_buckets WHERE ctid IN (SELECT ctid FROM ab_spend_buckets WHERE end_us <= %s "
                    "ORDER BY end_us LIMIT %s FOR UPDATE SKIP LOCKED)", (cutoff[1], SWEEP_BATCH))


class PostgresAuthorities:
    """The rows of spend authorities (see :class:`~agent_billing.guardrails.authority.AuthorityStore`): a claim
    locks the applicable authorities' rows (``FOR UPDATE``, in id order), so a second worker's claim on one of them
    waits for the first to commit and then sees its spend; ``lock_timeout`` bounds that wait.

    Example:
        >>> PostgresAuthorities(PostgresStore("postgresql:///agents")).lock
        ' FOR UPDATE'
    """

    lock = " FOR UPDATE"

    def __init__(self, store: PostgresStore) -> None:
        self.store, self.name = store, store.name

    @contextmanager
    def transaction(self) -> Iterator[Run]:
        """One transaction; statements written with ``?`` run with psycopg's ``%s``."""
        with self.store.cursor() as cur:
            def run(sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
                cur.execute(sql.replace("?", "%s").encode(), tuple(params))
                if cur.connection.pgconn.pipeline_status:  # a shared transaction's pipeline: fetch the result now
                    with cur.connection.pipeline():
                        pass
                return list(cur.fetchall()) if cur.description is not None else []

            yield run


class PostgresPendingOutcomes:
    """Unknown outcomes (see :class:`~agent_billing.guardrails.pending_outcomes.PendingOutcomes`): one worker
    records the call, any other finds and replays it."""

    def __init__(self, store: PostgresStore, *, ttl: timedelta = PENDING_TTL) -> None:
        self.store, self.ttl = store, ttl

    def remember(self, scope: str, fingerprint: str, digest: str, key: str, arguments: dict[str, Any], *,
                 now: datetime) -> None:
        """Keep this call until the TTL runs out (sweeping a bounded batch of expired ones)."""
        with self.store.cursor() as cur:
            cur.execute("DELETE FROM ab_pending_outcomes WHERE ctid IN (SELECT ctid FROM ab_pending_outcomes WHERE "
                        "expires_us < %s LIMIT %s)", (_to_micros(now), SWEEP_BATCH))
            cur.execute("INSERT INTO ab_pending_outcomes VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT "
                        "(scope, idempotency_key) DO UPDATE SET fingerprint = excluded.fingerprint, digest = "
                        "excluded.digest, arguments = excluded.arguments, expires_us = excluded.expires_us",
                        (scope, fingerprint, digest, key, wire.dumps(arguments).decode(),
                         _to_micros(now + self.ttl)))

    def find(self, scope: str, *, fingerprint: str | None = None, digest: str | None = None,
             now: datetime) -> PendingCall | None:
        """The unsettled call with these tool arguments, or (``digest``) resolving to this intent (one index read)."""
        column = "fingerprint" if fingerprint is not None else "digest"
        with self.store.cursor() as cur:
            row = cur.execute(f"SELECT {_PENDING_COLUMNS} FROM ab_pending_outcomes WHERE scope = %s AND {column} = %s "
                              "AND expires_us >= %s ORDER BY expires_us LIMIT 1",
                              (scope, fingerprint if fingerprint is not None else digest, _to_micros(now))).fetchone()
        return None if row is None else _pending_call(row)

    def forget(self, scope: str, key: str) -> None:
        """The outcome is known now."""
        with self.store.cursor() as cur:
            cur.execute("DELETE FROM ab_pending_outcomes WHERE scope = %s AND idempotency_key = %s", (scope, key))

    def close(self) -> None:
        """Nothing to close: the pool belongs to the store."""


_PENDING_COLUMNS = "idempotency_key, arguments, digest, fingerprint"


def _pending_call(row: Any) -> PendingCall:
    return PendingCall(str(row[0]), dict(wire.loads(str(row[1]).encode())), str(row[2]), str(row[3]))


class PostgresConfirmationStore:
    """Single-use confirmations (see :class:`~agent_billing.guardrails.confirmation.ConfirmationStore`),
    single-use across every worker."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    def issue(self, operation: str, args_fingerprint: str, summary: str, *, ttl: timedelta = CONFIRMATION_TTL,
              now: datetime | None = None) -> Confirmation:
        """Issue a token for exactly this operation and argument fingerprint, valid for ``ttl``."""
        if not operation or not args_fingerprint:
            raise ValueError("a confirmation needs an operation and an argument fingerprint")
        if not timedelta(0) < ttl <= MAX_TTL:
            raise ValueError(f"ttl must be positive and at most {MAX_TTL}")
        token, expires_at, now = new_token(ttl, now)
        with self.store.cursor() as cur:
            cur.execute("DELETE FROM ab_confirmations WHERE expires_us < %s", (_to_micros(now - timedelta(days=1)),))
            cur.execute("INSERT INTO ab_confirmations (token_hash, operation, fingerprint, summary, expires_us) "
                        "VALUES (%s, %s, %s, %s, %s)",
                        (token_hash(token), operation, args_fingerprint, summary, _to_micros(expires_at)))
        return Confirmation(token=token, expires_at=expires_at, summary=summary)

    def consume(self, token: str, operation: str, args_fingerprint: str, *, now: datetime | None = None) -> bool:
        """Use a token: True once, for its exact operation and fingerprint, before it expires."""
        presented = check_presented(token)
        if presented is None:
            return False
        when = _to_micros(now if now is not None else datetime.now().astimezone())
        with self.store.cursor() as cur:
            row = cur.execute("UPDATE ab_confirmations SET used_us = %s WHERE token_hash = %s AND used_us IS NULL "
                              "AND expires_us > %s RETURNING token_hash, operation, fingerprint",
                              (when, presented, when)).fetchone()
        if row is None:
            return False
        return matches(presented, operation, args_fingerprint, stored=(str(row[0]), str(row[1]), str(row[2])))

    def close(self) -> None:
        """Nothing to close: the pool belongs to the store."""


class PostgresApprovalRecords:
    """Shown intents and decisions by approval id (see
    :class:`~agent_billing.guardrails.approval_records.ApprovalRecords`)."""

    def __init__(self, store: PostgresStore, *, ttl: timedelta = APPROVAL_TTL) -> None:
        self.store, self.ttl = store, ttl

    def shown(self, approval_id: str, digest: str, *, now: datetime) -> str:
        """Record that ``digest`` was shown for this approval, unless one was already; return the first one."""
        with self.store.cursor() as cur:
            cur.execute("DELETE FROM ab_approvals WHERE ctid IN (SELECT ctid FROM ab_approvals WHERE expires_us < %s "
                        "LIMIT %s)", (_to_micros(now), SWEEP_BATCH))
            cur.execute("INSERT INTO ab_approvals (approval_id, digest, expires_us) VALUES (%s, %s, %s) "
                        "ON CONFLICT (approval_id) DO NOTHING", (approval_id, digest, _to_micros(now + self.ttl)))
            row = cur.execute("SELECT digest FROM ab_approvals WHERE approval_id = %s", (approval_id,)).fetchone()
        return str(row[0]) if row else digest

    def decide(self, approval_id: str, *, approved: bool, approver: str, now: datetime) -> None:
        """Record the person's decision on what was shown (the first decision stands)."""
        with self.store.cursor() as cur:
            cur.execute("UPDATE ab_approvals SET approved = %s, approver = %s WHERE approval_id = %s AND approved IS "
                        "NULL AND expires_us >= %s", (approved, approver, approval_id, _to_micros(now)))

    def decision(self, approval_id: str, *, now: datetime) -> Decision | None:
        """The recorded decision for this approval, if one was made and has not expired."""
        with self.store.cursor() as cur:
            row = cur.execute("SELECT approved, digest, approver FROM ab_approvals WHERE approval_id = %s AND "
                              "approved IS NOT NULL AND expires_us >= %s", (approval_id, _to_micros(now))).fetchone()
        if row is None:
            return None
        return Decision(approved=bool(row[0]), digest=str(row[1]), approver=str(row[2]))

    def forget(self, approval_id: str) -> None:
        """The approved call has run: the record is used up."""
        with self.store.cursor() as cur:
            cur.execute("DELETE FROM ab_approvals WHERE approval_id = %s", (approval_id,))

    def close(self) -> None:
        """Nothing to close: the pool belongs to the store."""


class PostgresDeclinedRequests:
    """Requests a person declined, remembered until a time (see ``store.DeclinedRequests``)."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    def remember(self, item: str, *, until: datetime) -> None:
        """Remember ``item`` as declined until ``until``."""
        with self.store.cursor() as cur:
            cur.execute("INSERT INTO ab_declined (item, until_us) VALUES (%s, %s) ON CONFLICT (item) DO UPDATE SET "
                        "until_us = excluded.until_us", (item, _to_micros(until)))

    def is_declined(self, item: str, *, now: datetime) -> bool:
        """Whether ``item`` was declined and the memory has not run out."""
        with self.store.cursor() as cur:
            row = cur.execute("SELECT until_us FROM ab_declined WHERE item = %s", (item,)).fetchone()
        return row is not None and int(row[0]) >= _to_micros(now)


class PostgresAuditLog:
    """A chained audit log, one chain per ``chain`` name (the toolkit uses the account)."""

    def __init__(self, store: PostgresStore, *, chain: str = "default") -> None:
        self.store, self.chain = store, chain

    def record(self, event: AuditEvent) -> None:
        """Append ``event`` as the chain's next record (the chain's advisory lock keeps it linear)."""
        with self.store.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (lock_id("audit", self.chain),))
            row = cur.execute("SELECT seq, hash FROM ab_audit WHERE chain = %s ORDER BY seq DESC LIMIT 1",
                              (self.chain,)).fetchone()
            seq, prev = (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)
            line, digest = chain_record(event, seq + 1, prev, state_keys())
            cur.execute("INSERT INTO ab_audit (chain, seq, line, hash) VALUES (%s, %s, %s, %s)",
                        (self.chain, seq + 1, line, digest))

    def lines(self) -> list[str]:
        """This chain's records, oldest first."""
        return self.store.audit_lines(self.chain)
