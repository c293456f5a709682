"""``TenexClient`` and ``AsyncTenexClient``: 10ex's payments API with one typed method per operation.

The methods are generated from the declarations (``client_methods.py``, by ``python -m agent_billing.codegen``)
and named as a 10ex user looks for them: ``get_subscription``, ``get_plan``, ``get_usage``,
``get_agent_usage``, ``list_invoices``, ``get_invoice``, ``list_ledger`` and ``create_portal_session``.
``iter_invoices`` and ``iter_ledger`` walk the cursor pages to the end. 10ex lets programs read only:
there is no method that subscribes, changes or cancels (that happens in the billing portal, whose URL
``create_portal_session`` returns). Credits and amounts are ``Decimal``.

Example:
    >>> from agent_billing.sandbox import create_app
    >>> from agent_billing.inprocess import SANDBOX_ORIGIN, SyncASGITransport
    >>> client = TenexClient(base_url=SANDBOX_ORIGIN + "/tenex/api/v1/payments", token="tnx_sandbox",
    ...                      transport=SyncASGITransport(create_app()))
    >>> client.get_plan().hard_cap, client.get_usage().credits_used
    (Decimal('100000'), Decimal('78500'))
    >>> sum(1 for _ in client.iter_ledger(agent_id="agt_support"))
    40
    >>> client.close()
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import ClassVar

import agent_billing.providers.tenex.results as r
from agent_billing.client import AsyncClient, SyncClient
from agent_billing.providers.tenex.client_methods import AsyncTenexOperations, TenexOperations


class TenexClient(SyncClient, TenexOperations):
    """Synchronous 10ex client (``TenexClient.from_env()`` reads ``TENEX_API_KEY``, ``TENEX_BASE_URL``, ``TENEX_PATHS``).

    Example:
        >>> TenexClient(token="tnx_x").base_url
        'https://api.10ex.ai/api/v1/payments'
    """

    PROVIDER: ClassVar[str | None] = "tenex"

    def iter_invoices(self, *, limit: int = 50) -> Iterator[r.Invoice]:
        """Every invoice, newest first, fetched ``limit`` per page until ``next_cursor`` runs out.

        Example:
            >>> from agent_billing.sandbox import create_app
            >>> from agent_billing.inprocess import SANDBOX_ORIGIN, SyncASGITransport
            >>> client = TenexClient(base_url=SANDBOX_ORIGIN + "/tenex/api/v1/payments", token="tnx_sandbox",
            ...                      transport=SyncASGITransport(create_app()))
            >>> [invoice.status for invoice in client.iter_invoices(limit=4)].count("paid")
            6
        """
        return self.paginate("list_invoices", {"limit": limit})

    def iter_ledger(self, *, agent_id: str | None = None, limit: int = 200) -> Iterator[r.LedgerEntry]:
        """Every credit ledger entry (or one agent's), newest first, page after page to the end.

        Example:
            >>> from agent_billing.sandbox import create_app
            >>> from agent_billing.inprocess import SANDBOX_ORIGIN, SyncASGITransport
            >>> client = TenexClient(base_url=SANDBOX_ORIGIN + "/tenex/api/v1/payments", token="tnx_sandbox",
            ...                      transport=SyncASGITransport(create_app()))
            >>> entries = list(client.iter_ledger(limit=50))
            >>> len(entries), entries[-1].kind
            (121, 'grant')
        """
        return self.paginate("list_ledger", {"limit": limit, "agent_id": agent_id})


class AsyncTenexClient(AsyncClient, AsyncTenexOperations):
    """Asynchronous twin of ``TenexClient``: the same methods, awaited; ``async for`` over the iterators.

    Example:
        >>> AsyncTenexClient(token="tnx_x").registry.provider
        'tenex'
    """

    PROVIDER: ClassVar[str | None] = "tenex"

    def iter_invoices(self, *, limit: int = 50) -> AsyncIterator[r.Invoice]:
        """Every invoice, newest first: ``async for invoice in client.iter_invoices(): ...``.

        Example:
            >>> import asyncio, httpx
            >>> from agent_billing.sandbox import create_app
            >>> from agent_billing.inprocess import SANDBOX_ORIGIN
            >>> client = AsyncTenexClient(base_url=SANDBOX_ORIGIN + "/tenex/api/v1/payments", token="tnx_sandbox",
            ...                           transport=httpx.ASGITransport(app=create_app()))
            >>> async def ids() -> list[str]:
            ...     return [invoice.id async for invoice in client.iter_invoices(limit=5)]
            >>> len(set(asyncio.run(ids())))
            6
        """
        return self.paginate("list_invoices", {"limit": limit})

    def iter_ledger(self, *, agent_id: str | None = None, limit: int = 200) -> AsyncIterator[r.LedgerEntry]:
        """Every credit ledger entry (or one agent's): ``async for entry in client.iter_ledger(): ...``.

        Example:
            >>> import asyncio, httpx
            >>> from agent_billing.sandbox import create_app
            >>> from agent_billing.inprocess import SANDBOX_ORIGIN
            >>> client = AsyncTenexClient(base_url=SANDBOX_ORIGIN + "/tenex/api/v1/payments", token="tnx_sandbox",
            ...                           transport=httpx.ASGITransport(app=create_app()))
            >>> async def agents() -> set[str | None]:
            ...     return {entry.agent_id async for entry in client.iter_ledger(agent_id="agt_codegen", limit=7)}
            >>> asyncio.run(agents())
            {'agt_codegen'}
        """
        return self.paginate("list_ledger", {"limit": limit, "agent_id": agent_id})


__all__ = ["AsyncTenexClient", "TenexClient"]
