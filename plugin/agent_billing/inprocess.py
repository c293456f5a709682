"""Use an ASGI app (the embedded sandbox) in-process, from sync and async clients alike.

httpx's ``ASGITransport`` is async-only. ``SyncASGITransport`` runs the app on a private event loop
thread so a synchronous client can talk to it without a socket.

Example:
    >>> from agent_billing.sandbox import create_app
    >>> sync_client, async_client = sandbox_clients(create_app())  # the default provider's sandbox account
    >>> read = next(op for op in get_registry() if op.effect.value == "read"
    ...             and not any(field.is_required() for field in op.args.model_fields.values()))
    >>> isinstance(sync_client.call(read.name), read.result)  # answered by the sandbox, without a socket
    True
    >>> sync_client.close()
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx

from agent_billing.client import AsyncClient, SyncClient, provider_clients
from agent_billing.registry import get_registry
from agent_billing.retry import RetryPolicy

SANDBOX_ORIGIN = "http://sandbox.local"
SANDBOX_BASE_URL = SANDBOX_ORIGIN + "/api/agents/v1"  # the default provider's, kept for existing callers


class SyncASGITransport(httpx.BaseTransport):
    """A synchronous httpx transport that calls an ASGI app on a background event loop.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> with httpx.Client(transport=SyncASGITransport(create_app()), base_url="http://s") as http:
        ...     http.get("/api/agents/v1/wallet/balance").status_code
        401
    """

    def __init__(self, app: Any, **kwargs: Any) -> None:
        self._inner = httpx.ASGITransport(app=app, **kwargs)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sync-asgi", daemon=True)
        self._thread.start()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the app and return its complete response."""
        request.read()

        async def send() -> tuple[int, httpx.Headers, bytes]:
            response = await self._inner.handle_async_request(request)
            body = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
            return response.status_code, response.headers, body

        status, headers, body = asyncio.run_coroutine_threadsafe(send(), self._loop).result()
        return httpx.Response(status, headers=headers, content=body, request=request)

    def close(self) -> None:
        """Stop the background loop."""
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)


def sandbox_clients(
    app: Any, *, token: str | None = None, retry: RetryPolicy | None = None, provider: str | None = None,
) -> tuple[Any, Any]:
    """A sync and an async client bound in-process to ``app`` (a sandbox from ``create_app``) for ``provider``.

    Both are the provider's own typed clients (``provider_clients``), so its typed methods work.

    ``token`` defaults to the provider's sandbox key (``Registry.connection.sandbox_token``).

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> client, aclient = sandbox_clients(create_app())
        >>> client.close()
    """
    registry = get_registry(provider)
    connection = registry.connection
    base_url = SANDBOX_ORIGIN + connection.sandbox_path
    key = token or connection.sandbox_token
    sync_cls, async_cls = provider_clients(registry)
    client: SyncClient = sync_cls(base_url=base_url, token=key, retry=retry, transport=SyncASGITransport(app),
                                  provider=provider)
    aclient: AsyncClient = async_cls(base_url=base_url, token=key, retry=retry,
                                     transport=httpx.ASGITransport(app=app), provider=provider)
    return client, aclient
