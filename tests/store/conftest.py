"""Store fixtures: every store test runs on SQLite and on a real PostgreSQL (``AGENT_BILLING_TEST_POSTGRES_URL``).

Without a server the PostgreSQL cases skip with a reason, except under ``CI=true``, where a missing
server is a failure: CI starts a throwaway cluster (``.ci/postgres.sh``) and must test against it.
Each PostgreSQL test gets its own schema (``search_path``), dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from agent_billing.guardrails.store import Store

POSTGRES_ENV = "AGENT_BILLING_TEST_POSTGRES_URL"


def postgres_server() -> str:
    """The test server's URL, or skip (fail under CI) when none is configured."""
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if not url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {POSTGRES_ENV} is not set: .ci/run must start PostgreSQL (.ci/postgres.sh)")
        pytest.skip(f"no PostgreSQL server: set {POSTGRES_ENV} (e.g. URL=$(.ci/postgres.sh start /tmp/pg))")
    return url


def with_schema(url: str, schema: str) -> str:
    """``url`` with ``search_path`` set to ``schema`` (libpq's ``options``)."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A URL of the test server whose tables land in a fresh schema, dropped afterwards (skip, or fail under
    CI, without a reachable server)."""
    import psycopg

    server = postgres_server()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"'.encode())
    except psycopg.OperationalError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but PostgreSQL at {POSTGRES_ENV} is unreachable: {exc}")
        pytest.skip(f"PostgreSQL at {POSTGRES_ENV} is unreachable: {exc}")
    try:
        yield with_schema(server, schema)
    finally:
        with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE'.encode())


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL of the test server whose tables land in a fresh schema."""
    with fresh_schema() as url:
        yield url
        from agent_billing.guardrails.postgres import PostgresStore
        from agent_billing.guardrails.store import open_store

        shared = open_store(url)
        assert isinstance(shared, PostgresStore)
        shared.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store of each backend: one SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def new_store() -> Iterator[Callable[[str], Store]]:
    """Separate store objects for one URL, as separate workers would have (closed afterwards)."""
    from agent_billing.guardrails.postgres import PostgresStore
    from agent_billing.guardrails.store import SqliteStore

    made: list[PostgresStore] = []

    def make(url: str) -> Store:
        if url.startswith("sqlite://"):
            return SqliteStore(url[len("sqlite://"):])
        made.append(PostgresStore(url))
        return made[-1]

    yield make
    for store in made:
        store.close()


@pytest.fixture
def app(sandbox_app: Any) -> Any:
    """The in-process sandbox, its account holding a default Visa card (what a charge needs)."""
    from tests.conftest import TOKEN

    from agent_billing.client import BillingClient
    from agent_billing.inprocess import SANDBOX_BASE_URL, SyncASGITransport

    client = BillingClient(base_url=SANDBOX_BASE_URL, token=TOKEN, transport=SyncASGITransport(sandbox_app))
    client.add_payment_method("pm_card_visa", make_default=True)
    return sandbox_app


@pytest.fixture(autouse=True)
def _own_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A temporary state directory per test, and no store URL leaking in from the environment."""
    monkeypatch.setenv("AGENT_BILLING_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("AGENT_BILLING_STORE_URL", raising=False)
