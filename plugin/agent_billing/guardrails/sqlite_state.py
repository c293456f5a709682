"""What every guardrail state file shares: private files, bounded lock waits, and one typed failure.

Guardrail state (spend reservations, unknown outcomes, approvals...) lives in SQLite files or in
PostgreSQL. Whatever goes wrong there (the file is corrupt, locked by another process past the wait
bound, the disk is full, the server is gone) reaches the toolkit as one
:class:`StoreUnavailableError` naming the file or server, never as a ``sqlite3`` or ``psycopg``
exception: money-moving calls then refuse (``store_unavailable``) and reads keep working.

``AGENT_BILLING_STORE_TIMEOUT`` (seconds, default 5) bounds every wait on the state: SQLite's busy
timeout, and PostgreSQL's pool wait, ``lock_timeout`` and (twice that) ``statement_timeout``.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "state" / "x.sqlite3"
    >>> conn = connect(path)
    >>> oct(path.stat().st_mode & 0o777), oct(path.parent.stat().st_mode & 0o777)
    ('0o600', '0o700')
    >>> _ = path.write_bytes(b"not a database" * 100)
    >>> with translated(path):
    ...     connect(path).execute("SELECT 1 FROM sqlite_master").fetchall()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    agent_billing.guardrails.sqlite_state.StoreUnavailableError: ... (the file is not a readable SQLite database...
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STORE_TIMEOUT_ENV = "AGENT_BILLING_STORE_TIMEOUT"
DEFAULT_STORE_TIMEOUT = 5.0


class StoreUnavailableError(RuntimeError):
    """The guardrail store cannot be used (unreachable, locked too long, corrupt): money-moving calls must not
    proceed without it. Also importable from ``agent_billing.guardrails.store``.

    Example:
        >>> str(StoreUnavailableError("postgresql://app@db:5432/billing", "connection refused"))
        'the guardrail store postgresql://app@db:5432/billing is unreachable (connection refused)'
    """

    def __init__(self, store: str, reason: str) -> None:
        super().__init__(f"the guardrail store {store} is unreachable ({reason})")
        self.store = store
        self.reason = reason


def store_timeout() -> float:
    """The bound on any wait for guardrail state, in seconds (``$AGENT_BILLING_STORE_TIMEOUT``, default 5).

    Example:
        >>> store_timeout() > 0
        True
    """
    raw = os.environ.get(STORE_TIMEOUT_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_STORE_TIMEOUT
    except ValueError:
        raise ValueError(f"{STORE_TIMEOUT_ENV} must be a number of seconds, not {raw!r}") from None
    if not 0 < value <= 3600:
        raise ValueError(f"{STORE_TIMEOUT_ENV} must be between 0 and 3600 seconds, not {raw!r}")
    return value


def private_file(path: Path) -> None:
    """Create ``path`` (and its directory) readable by this user only, unless it exists already.

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "d" / "f"
        >>> private_file(target); oct(target.stat().st_mode & 0o777)
        '0o600'
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))


def connect(path: str | os.PathLike[str] | None, *, timeout: float | None = None) -> sqlite3.Connection:
    """A connection to a state file (created private) or, for None, to a private in-memory database.

    ``timeout`` (default :func:`store_timeout`) bounds how long a statement waits for another
    connection's lock before SQLite answers "database is locked". Autocommit: callers open transactions.
    """
    if path is None:
        return sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    target = Path(path)
    private_file(target)
    return sqlite3.connect(target, timeout=store_timeout() if timeout is None else timeout,
                           check_same_thread=False, isolation_level=None)


def reason_of(exc: sqlite3.Error) -> str:
    """What a SQLite failure means for the person running the host, and what to do.

    Example:
        >>> reason_of(sqlite3.OperationalError("database is locked"))  # doctest: +ELLIPSIS
        'locked by another connection for longer than the wait bound...'
    """
    text = str(exc) or type(exc).__name__
    if "locked" in text or "busy" in text:
        return (f"locked by another connection for longer than the wait bound ({STORE_TIMEOUT_ENV}, now "
                f"{store_timeout():g} s): {text}")
    if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text):
        return (f"the file is not a readable SQLite database ({text}); move it aside (keep it for the record) "
                "and start again with a fresh one")
    return text


@contextmanager
def translated(name: str | os.PathLike[str]) -> Iterator[None]:
    """Turn any ``sqlite3`` failure inside the block into :class:`StoreUnavailableError` naming ``name``.

    Example:
        >>> with translated("state.db"):
        ...     raise sqlite3.OperationalError("database is locked")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        agent_billing.guardrails.sqlite_state.StoreUnavailableError: the guardrail store state.db is unreachable (locked...
    """
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreUnavailableError(str(name), reason_of(exc)) from exc


__all__ = ["DEFAULT_STORE_TIMEOUT", "STORE_TIMEOUT_ENV", "StoreUnavailableError", "connect", "private_file",
           "reason_of", "store_timeout", "translated"]
