"""One URL for all guardrail state: spend reservations, unknown outcomes, confirmations, approvals,
declined requests and the audit log.

``AGENT_BILLING_STORE_URL`` (or ``BillingToolkit(store=...)``) picks where that state lives:

- unset: today's SQLite files under the state directory (``$AGENT_BILLING_STATE_DIR``), one host;
- ``sqlite:///path/to/file.db``: everything in one SQLite file (processes of one host may share it);
- ``postgresql://user@host:port/db`` or ``postgresql:///db?host=/socket/dir``: PostgreSQL, shared by
  every worker on every host (``pip install 'agent-billing[postgres]'``; see ``guardrails/postgres.py``).

:func:`open_store` turns a URL (or a store object, or None) into a store; ``store.for_account(account)``
hands out the state of one account (``BillingClient.account_id``, a hash of the token, never the token).
Spend and the audit chain are kept per account; the other keys (pending scopes, approval ids, declined
requests) already start with the account.

Example:
    >>> import tempfile, pathlib
    >>> from datetime import datetime, timezone
    >>> from decimal import Decimal
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "state.db"
    >>> state = open_store(f"sqlite:///{path}").for_account("acct_1")
    >>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> state.spend.reserve("default", "k1", Decimal("5"), limit=Decimal("10"), now=now).granted
    True
    >>> state.spend.spent("default", now=now)
    Decimal('5.00')
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit, urlunsplit

from agent_billing.audit import AuditLog, JsonlAuditLog, SqliteAuditLog
from agent_billing.guardrails.approval_records import ApprovalRecords, ApprovalStore
from agent_billing.guardrails.approval_requests import ApprovalRequests
from agent_billing.guardrails.authority import AuthorityStore
from agent_billing.guardrails.confirmation import ConfirmationStore
from agent_billing.guardrails.pending_outcomes import PendingOutcomes, PendingStore
from agent_billing.guardrails.spend_store import DAY, Reservation, SpendStore, SqliteSpendStore, state_dir

# StoreUnavailableError lives with the SQLite helpers (every store module raises it); its documented home is here.
from agent_billing.guardrails.sqlite_state import StoreUnavailableError as StoreUnavailableError
from agent_billing.guardrails.sqlite_state import connect, translated

STORE_URL_ENV = "AGENT_BILLING_STORE_URL"


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs.

    Example:
        >>> redact_url("postgresql://app:s3cret@db:5432/billing"), redact_url("sqlite:///tmp/state.db")
        ('postgresql://app@db:5432/billing', 'sqlite:///tmp/state.db')
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc}" if user else netloc))


@runtime_checkable
class DeclinedRequests(Protocol):
    """Requests a person declined, remembered for a while so an agent cannot nag its way in.

    Example:
        >>> isinstance(MemoryDeclinedRequests(), DeclinedRequests)
        True
    """

    def remember(self, item: str, *, until: datetime) -> None:
        """Remember ``item`` as declined until ``until``.

        Example:
            >>> from datetime import datetime, timedelta, timezone
            >>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
            >>> memory = MemoryDeclinedRequests()
            >>> memory.remember("acct:top_up:fp", until=now + timedelta(minutes=10))
            >>> memory.is_declined("acct:top_up:fp", now=now)
            True
        """
        ...

    def is_declined(self, item: str, *, now: datetime) -> bool:
        """Whether ``item`` was declined and the memory has not run out.

        Example:
            >>> from datetime import datetime, timedelta, timezone
            >>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
            >>> MemoryDeclinedRequests().is_declined("acct:top_up:fp", now=now)
            False
        """
        ...


@runtime_checkable
class SharedTransactions(Protocol):
    """A store whose calls can share one transaction (PostgreSQL; the state directory's spend file, which also
    keeps its pending outcomes): the guard joins the calls it makes between two steps of a flow (no request,
    question or wait in between), so a charge's bookkeeping costs two transactions instead of one per call. A
    failure in a joined call rolls back the whole transaction since the last commit.

    Example:
        >>> isinstance(MemoryDeclinedRequests(), SharedTransactions)
        False
    """

    def joined(self) -> AbstractContextManager[None]:
        """Until the block ends, this thread's calls share one transaction, committed at its end."""
        ...

    def flush(self) -> None:
        """Commit the shared transaction now (``StoreUnavailableError``: nothing of it was kept)."""
        ...


def shared_transactions(*parts: object) -> list[SharedTransactions]:
    """The distinct stores behind these parts of the guardrail state (``part.store``) that can join calls.

    Example:
        >>> shared_transactions(MemoryDeclinedRequests(), None)
        []
    """
    found: dict[int, SharedTransactions] = {}
    for part in parts:
        backend = getattr(part, "store", None)
        if isinstance(backend, SharedTransactions):
            found.setdefault(id(backend), backend)
    return list(found.values())


class MemoryDeclinedRequests:
    """Declined requests in this process only (today's behaviour without a store URL).

    Example:
        >>> from datetime import datetime, timedelta, timezone
        >>> memory, now = MemoryDeclinedRequests(), datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> memory.remember("acct:pay_out:fp", until=now + timedelta(minutes=10))
        >>> memory.is_declined("acct:pay_out:fp", now=now), memory.is_declined("acct:pay_out:fp", now=now + DAY)
        (True, False)
    """

    def __init__(self) -> None:
        self._until: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def remember(self, item: str, *, until: datetime) -> None:
        """Remember ``item`` as declined until ``until``."""
        with self._lock:
            self._until[item] = until

    def is_declined(self, item: str, *, now: datetime) -> bool:
        """Whether ``item`` was declined and the memory has not run out."""
        with self._lock:
            until = self._until.get(item)
            if until is not None and until < now:
                del self._until[item]
                return False
            return until is not None


class SqliteDeclinedRequests:
    """Declined requests in a SQLite table (shared by the processes using the file).

    Example:
        >>> import tempfile, pathlib
        >>> from datetime import datetime, timezone
        >>> memory = SqliteDeclinedRequests(pathlib.Path(tempfile.mkdtemp()) / "state.db")
        >>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> memory.remember("x", until=now + DAY); memory.is_declined("x", now=now)
        True
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._name = str(path)
        self._lock = threading.Lock()
        with translated(self._name):
            self._conn = connect(path)
            self._conn.execute("CREATE TABLE IF NOT EXISTS declined (item TEXT PRIMARY KEY, until_us INTEGER NOT NULL)")

    def remember(self, item: str, *, until: datetime) -> None:
        """Remember ``item`` as declined until ``until``."""
        with self._lock, translated(self._name):
            self._conn.execute("INSERT OR REPLACE INTO declined VALUES (?, ?)", (item, _micros(until)))

    def is_declined(self, item: str, *, now: datetime) -> bool:
        """Whether ``item`` was declined and the memory has not run out."""
        with self._lock, translated(self._name):
            row = self._conn.execute("SELECT until_us FROM declined WHERE item = ?", (item,)).fetchone()
        return row is not None and int(row[0]) >= _micros(now)

    def close(self) -> None:
        """Close the database.

        Example:
            >>> SqliteDeclinedRequests(tmp_dir / "declined.db").close()
        """
        with self._lock:
            self._conn.close()


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


class AccountState:
    """The guardrail state of one account, as a store hands it out; each part is opened on first use.

    Lazily, because a toolkit given its own audit log or spend store must not open (and hold) the
    store's. ``confirmations`` has :class:`~agent_billing.guardrails.confirmation.ConfirmationStore`'s
    ``issue``/``consume``.

    Example:
        >>> state = AccountState(spend=lambda: None, pending=lambda: None, confirmations=lambda: "conf",
        ...                      approvals=lambda: None, declined=lambda: None, audit=lambda: None)
        >>> state.confirmations
        'conf'
    """

    def __init__(self, *, spend: Callable[[], SpendStore], pending: Callable[[], PendingStore],
                 confirmations: Callable[[], Any], approvals: Callable[[], ApprovalStore],
                 declined: Callable[[], DeclinedRequests], audit: Callable[[], AuditLog],
                 authorities: Callable[[], AuthorityStore] | None = None,
                 approval_requests: Callable[[], ApprovalRequests] | None = None) -> None:
        self._make = {"spend": spend, "pending": pending, "confirmations": confirmations, "approvals": approvals,
                      "declined": declined, "audit": audit}
        self._authorities = authorities
        self._approval_requests = approval_requests  # durable out-of-band approval requests (None: kept nowhere)

    @cached_property
    def spend(self) -> SpendStore:
        """Spend reservations against the mandate's caps.

        Example:
            >>> from agent_billing.guardrails.spend_store import SpendStore
            >>> isinstance(open_store("").for_account("a").spend, SpendStore)
            True
        """
        made: SpendStore = self._make["spend"]()
        return made

    @cached_property
    def pending(self) -> PendingStore:
        """Calls whose outcome is unknown, to replay.

        Example:
            >>> isinstance(open_store("").for_account("a").pending, PendingStore)
            True
        """
        made: PendingStore = self._make["pending"]()
        return made

    @cached_property
    def confirmations(self) -> Any:
        """Single-use confirmations.

        Example:
            >>> state = open_store("").for_account("a")
            >>> state.confirmations is state.confirmations  # made once, on first use
            True
        """
        return self._make["confirmations"]()

    @cached_property
    def approvals(self) -> ApprovalStore:
        """What a person was shown and decided, per approval id.

        Example:
            >>> isinstance(open_store("").for_account("a").approvals, ApprovalStore)
            True
        """
        made: ApprovalStore = self._make["approvals"]()
        return made

    @cached_property
    def declined(self) -> DeclinedRequests:
        """Requests a person declined.

        Example:
            >>> isinstance(open_store("").for_account("a").declined, DeclinedRequests)
            True
        """
        made: DeclinedRequests = self._make["declined"]()
        return made

    @cached_property
    def audit(self) -> AuditLog:
        """The audit log (one chain).

        Example:
            >>> callable(open_store("").for_account("a").audit.record)
            True
        """
        made: AuditLog = self._make["audit"]()
        return made

    @cached_property
    def authorities(self) -> AuthorityStore:
        """Spend authorities per agent and task; ``ValueError`` if the store keeps none."""
        if self._authorities is None:
            raise ValueError("this store keeps no spend authorities")
        return self._authorities()

    @cached_property
    def approval_requests(self) -> ApprovalRequests:
        """Durable approval requests asked out of band (``guardrails/out_of_band.py``); ``ValueError`` if the
        store keeps none.

        Example:
            >>> open_store(f"sqlite:///{tmp_dir / 'state.db'}").for_account("a").approval_requests.count()
            0
        """
        if self._approval_requests is None:
            raise ValueError("this store keeps no out-of-band approval requests")
        return self._approval_requests()


@runtime_checkable
class Store(Protocol):
    """A place for guardrail state: hands out each account's state; reads back the audit chains.

    Example:
        >>> isinstance(StateDirStore(), Store)
        True
    """

    name: str

    def for_account(self, account: str) -> AccountState:
        """The state of one account.

        Example:
            >>> store = open_store(f"sqlite:///{tmp_dir / 'state.db'}")
            >>> type(store.for_account("acct_1")).__name__
            'AccountState'
        """
        ...

    def audit_chains(self) -> list[str]:
        """The audit chains kept here.

        Example:
            >>> open_store(audited_store).audit_chains()
            ['acct']
        """
        ...

    def audit_lines(self, chain: str) -> list[str]:
        """One chain's records (chained JSON lines), oldest first.

        Example:
            >>> import json
            >>> [json.loads(line)["operation"] for line in open_store(audited_store).audit_lines("acct")]
            ['example_read']
        """
        ...


class StateDirStore:
    """Today's layout: separate SQLite files and a JSON Lines audit log under the state directory.

    One audit file for every account (one chain); confirmations and declined requests in memory, as
    before. ``root`` defaults to :func:`~agent_billing.guardrails.spend_store.state_dir` at use time.

    Example:
        >>> StateDirStore().name.startswith("state directory ")
        True
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self._root = Path(root) if root is not None else None
        self.name = f"state directory {self.root}"

    @property
    def root(self) -> Path:
        """The directory the files are in.

        Example:
            >>> StateDirStore(tmp_dir).root == tmp_dir, StateDirStore().root == state_dir()
            (True, True)
        """
        return self._root if self._root is not None else state_dir()

    def for_account(self, account: str) -> AccountState:
        """The state of one account (the files are shared; keys carry the account)."""
        root = self.root
        # The pending outcomes live in the spend file, on the spend store's connection: a reservation and its
        # write-ahead record are committed together (records in the older pending-outcomes file move over).
        spend = cache(lambda: SqliteSpendStore(root / "spend.sqlite3"))
        return AccountState(
            spend=spend, pending=lambda: PendingOutcomes(host=spend(), legacy=root / "pending-outcomes.sqlite3"),
            confirmations=ConfirmationStore, approvals=lambda: ApprovalRecords(root / "approvals.sqlite3"),
            declined=MemoryDeclinedRequests, audit=lambda: JsonlAuditLog(root / "audit.jsonl"),
            authorities=lambda: _authorities(root / "spend.sqlite3", account),
            approval_requests=lambda: ApprovalRequests.sqlite(root / "approval-requests.sqlite3"),
        )

    def approval_requests(self) -> ApprovalRequests:
        """The out-of-band approval requests of every account (the approval page finds them by link token).

        Example:
            >>> StateDirStore(tmp_dir).approval_requests().name.endswith("approval-requests.sqlite3")
            True
        """
        return ApprovalRequests.sqlite(self.root / "approval-requests.sqlite3")

    def audit_chains(self) -> list[str]:
        """One chain: the audit file, if it exists."""
        return ["audit.jsonl"] if (self.root / "audit.jsonl").exists() else []

    def audit_lines(self, chain: str) -> list[str]:
        """The audit file's records."""
        with (self.root / "audit.jsonl").open(encoding="utf-8") as handle:
            return [line.rstrip("\n") for line in handle if line.strip()]


class _AccountSpend:
    """A spend store shared by several accounts, with each account's mandates kept apart."""

    def __init__(self, inner: SpendStore, account: str) -> None:
        self.inner, self.account = inner, account

    def _name(self, mandate: str) -> str:
        return f"{self.account}/{mandate}"

    def reserve(self, mandate: str, key: str, amount: Decimal, *, limit: Decimal | None, now: datetime,
                window: timedelta = DAY) -> Reservation:
        result = self.inner.reserve(self._name(mandate), key, amount, limit=limit, now=now, window=window)
        if result.reason is None:
            return result
        # The account id is bookkeeping; the refusal names the mandate as the deployer wrote it.
        reason = result.reason.replace(repr(self._name(mandate)), repr(mandate))
        return Reservation(result.granted, result.key, result.amount, result.spent_before, reason, result.existing)

    def confirm(self, key: str) -> None:
        self.inner.confirm(key)

    def release(self, key: str) -> None:
        self.inner.release(key)

    def spent(self, mandate: str, *, now: datetime, window: timedelta = DAY) -> Decimal:
        return self.inner.spent(self._name(mandate), now=now, window=window)


class SqliteStore:
    """Everything in one SQLite file (``sqlite:///path/to/file.db``): one host, any number of processes.

    Example:
        >>> import tempfile, pathlib
        >>> store = SqliteStore(pathlib.Path(tempfile.mkdtemp()) / "state.db")
        >>> store.for_account("acct_1").audit.chain
        'acct_1'
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.name = f"sqlite://{self.path}"
        self._spend: SqliteSpendStore | None = None
        self._lock = threading.Lock()

    def for_account(self, account: str) -> AccountState:
        """The state of one account, in the shared file."""
        path = self.path
        return AccountState(
            spend=lambda: _AccountSpend(self._shared_spend(), account), pending=lambda: PendingOutcomes(path),
            confirmations=lambda: ConfirmationStore(path), approvals=lambda: ApprovalRecords(path),
            declined=lambda: SqliteDeclinedRequests(path), audit=lambda: SqliteAuditLog(path, chain=account),
            authorities=lambda: _authorities(path, account), approval_requests=self.approval_requests,
        )

    def approval_requests(self) -> ApprovalRequests:
        """The out-of-band approval requests of every account, in the shared file.

        Example:
            >>> SqliteStore(tmp_dir / "state.db").approval_requests().count()
            0
        """
        return ApprovalRequests.sqlite(self.path)

    def _shared_spend(self) -> SqliteSpendStore:
        with self._lock:
            if self._spend is None:
                self._spend = SqliteSpendStore(self.path)
            return self._spend

    def audit_chains(self) -> list[str]:
        """The chains in the file (one per account)."""
        return SqliteAuditLog(self.path).chains()

    def audit_lines(self, chain: str) -> list[str]:
        """One chain's records, oldest first."""
        return SqliteAuditLog(self.path).lines(chain)


def _authorities(path: Path, account: str) -> AuthorityStore:
    return AuthorityStore.sqlite(path, account=account)


_POSTGRES: dict[tuple[str, tuple[tuple[str, Any], ...]], Store] = {}
_POSTGRES_LOCK = threading.Lock()


def open_store(store: str | Store | None = None, **options: Any) -> Store:
    """The store a URL names (None: ``$AGENT_BILLING_STORE_URL``, unset: the state directory's files).

    A store object is returned as it is. ``options`` go to the PostgreSQL store (``timeout``,
    ``max_size``...). A PostgreSQL URL opened again in this process gets the same store, so toolkits
    made per conversation share one connection pool.

    Example:
        >>> type(open_store("")).__name__, type(open_store("sqlite:///tmp/x/state.db")).__name__
        ('StateDirStore', 'SqliteStore')
        >>> open_store("redis://cache")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: unsupported store URL 'redis://cache': use sqlite:///path/file.db or postgresql://...
    """
    if store is not None and not isinstance(store, str):
        return store
    url = os.environ.get(STORE_URL_ENV, "") if store is None else store
    url = url.strip()
    if not url:
        return StateDirStore()
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        path = unquote(url[len("sqlite://"):])
        if not path or path == "/":
            raise ValueError("a sqlite store URL needs a file: sqlite:///path/to/file.db")
        return SqliteStore(Path(path).expanduser())
    if scheme in ("postgresql", "postgres"):
        try:
            from agent_billing.guardrails.postgres import PostgresStore
        except ImportError as exc:  # the core install stays lean: psycopg is an extra
            raise ImportError("a postgresql:// store needs the 'postgres' extra: "
                              "pip install 'agent-billing[postgres]'") from exc
        with _POSTGRES_LOCK:
            key = (url, tuple(sorted(options.items())))
            if key not in _POSTGRES:
                _POSTGRES[key] = PostgresStore(url, **options)
            return _POSTGRES[key]
    raise ValueError(f"unsupported store URL {redact_url(url)!r}: use sqlite:///path/file.db or postgresql://...")
