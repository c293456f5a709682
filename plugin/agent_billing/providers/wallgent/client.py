"""``WallgentClient`` and ``AsyncWallgentClient``: Wallgent's billing API with one typed method per operation.

The methods are generated from the declarations (``client_methods.py``, by ``python -m agent_billing.codegen``)
and named as a Wallgent user looks for them: ``get_billing``, ``subscribe``, ``change_plan``, ``cancel``,
``retry_payment``, ``create_checkout``, ``create_portal_session``, ``change_payment_method``,
``create_setup_intent``, ``save_payment_method``, ``remove_payment_method``, ``list_invoices``,
``get_invoice``. Amounts are ``Decimal``; a ``wg_live_`` key is refused unless ``allow_live=True``.

Example:
    >>> from agent_billing.sandbox import create_app
    >>> from agent_billing.inprocess import SANDBOX_ORIGIN, SyncASGITransport
    >>> client = WallgentClient(base_url=SANDBOX_ORIGIN + "/wallgent/v1", token="wg_test_sandbox",
    ...                         transport=SyncASGITransport(create_app()))
    >>> client.get_billing().plan, client.subscribe("STARTER", "WALLET").billing_status
    ('FREE', 'ACTIVE')
    >>> client.close()
"""

from __future__ import annotations

from typing import ClassVar

from agent_billing.client import AsyncClient, SyncClient
from agent_billing.providers.wallgent.client_methods import AsyncWallgentOperations, WallgentOperations


class WallgentClient(SyncClient, WallgentOperations):
    """Synchronous Wallgent client (``WallgentClient.from_env()`` reads ``WALLGENT_API_KEY`` and ``WALLGENT_BASE_URL``).

    Example:
        >>> WallgentClient(token="wg_test_x").base_url
        'https://api.wallgent.com/v1'
    """

    PROVIDER: ClassVar[str | None] = "wallgent"


class AsyncWallgentClient(AsyncClient, AsyncWallgentOperations):
    """Asynchronous twin of ``WallgentClient``: the same methods, awaited.

    Example:
        >>> AsyncWallgentClient(token="wg_test_x").registry.provider
        'wallgent'
    """

    PROVIDER: ClassVar[str | None] = "wallgent"


__all__ = ["AsyncWallgentClient", "WallgentClient"]
