"""Shared fixtures: an isolated state directory, and an in-process sandbox with sync and async clients."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

# Nothing a test does may write to the developer's home directory or read their real token.
os.environ["AGENT_BILLING_STATE_DIR"] = os.environ.get("PYTEST_AGENT_BILLING_STATE_DIR") or str(
    Path(os.environ.get("TMPDIR", "/tmp")) / f"agent-billing-tests-{os.getpid()}"
)
for _name in ("AGENT_BILLING_TOKEN", "MODELSLAB_AGENT_TOKEN", "AGENT_BILLING_BASE_URL"):
    os.environ.pop(_name, None)



@pytest.fixture(autouse=True)
def _state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh state directory per test: audit logs, spend and approval stores never leak between tests.

    (The session-wide directory set above is only what collection-time imports see.)
    """
    path = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("AGENT_BILLING_STATE_DIR", str(path))
    return path


TOKEN = "sk_sandbox_test"
RESELLER_TOKEN = "sk_sandbox_reseller"


@pytest.fixture
def sandbox_app():  # type: ignore[no-untyped-def]
    """A fresh in-memory sandbox with the rate limiters off (tests of the limiters build their own)."""
    from agent_billing.sandbox import create_app

    return create_app(tokens=(TOKEN,), reseller_tokens=(RESELLER_TOKEN,), rate_limit=False)


@pytest.fixture
def client(sandbox_app):  # type: ignore[no-untyped-def]
    """A synchronous client bound in-process to the sandbox."""
    from agent_billing.inprocess import sandbox_clients

    sync_client, _ = sandbox_clients(sandbox_app, token=TOKEN)
    yield sync_client
    sync_client.close()


@pytest.fixture
async def aclient(sandbox_app) -> AsyncIterator[object]:  # type: ignore[no-untyped-def]
    """An asynchronous client bound in-process to the sandbox."""
    from agent_billing.inprocess import sandbox_clients

    sync_client, async_client = sandbox_clients(sandbox_app, token=TOKEN)
    sync_client.close()
    yield async_client
    await async_client.aclose()


@pytest.fixture
def sandbox_root(sandbox_app) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """An httpx client on the sandbox root, for its sandbox-only endpoints (complete a checkout...)."""
    import httpx

    from agent_billing.inprocess import SyncASGITransport

    with httpx.Client(transport=SyncASGITransport(sandbox_app), base_url="http://sandbox.local",
                      headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        yield http
