"""``ModelsLabClient`` and ``AsyncModelsLabClient``: ModelsLab's billing API with one typed method per operation.

The methods are generated from the declarations (``client_methods.py``, by ``python -m agent_billing.codegen``)
and named as in ModelsLab's billing skill. ``BillingClient``/``AsyncBillingClient`` (``agent_billing.client``)
are deprecated aliases of these two.

Example:
    >>> from agent_billing.sandbox import create_app
    >>> from agent_billing.inprocess import SANDBOX_ORIGIN, SyncASGITransport
    >>> client = ModelsLabClient(base_url=SANDBOX_ORIGIN + "/api/agents/v1", token="sk_sandbox_demo",
    ...                          transport=SyncASGITransport(create_app()))
    >>> client.get_wallet_balance().balance
    Decimal('0.00')
    >>> client.close()
"""

from __future__ import annotations

from typing import ClassVar

from agent_billing.client import AsyncClient, SyncClient
from agent_billing.providers.modelslab.client_methods import AsyncModelsLabOperations, ModelsLabOperations


class ModelsLabClient(SyncClient, ModelsLabOperations):
    """Synchronous ModelsLab client (``ModelsLabClient.from_env()`` reads ``AGENT_BILLING_TOKEN``...).

    Every mutation carries an ``Idempotency-Key`` (yours, or one generated per call and kept across its
    retries). Pass ``transport=...`` for in-process use.

    Example:
        >>> client = ModelsLabClient(base_url="http://127.0.0.1:8787/api/agents/v1", token="sk_sandbox_demo")
        >>> client  # the token never shows
        ModelsLabClient(base_url='http://127.0.0.1:8787/api/agents/v1', token=SecretStr('**********'))
        >>> client.close()
    """

    PROVIDER: ClassVar[str | None] = "modelslab"


class AsyncModelsLabClient(AsyncClient, AsyncModelsLabOperations):
    """Asynchronous twin of ``ModelsLabClient``: the same methods, awaited.

    Example:
        >>> AsyncModelsLabClient(base_url="http://127.0.0.1:8787/api/agents/v1", token="t").registry.provider
        'modelslab'
    """

    PROVIDER: ClassVar[str | None] = "modelslab"


__all__ = ["AsyncModelsLabClient", "ModelsLabClient"]
