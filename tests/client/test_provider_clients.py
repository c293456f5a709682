"""Each provider's own typed client: ``sandbox_clients``/``provider_clients`` hand it out for every provider,
and ``BillingClient`` stays a working alias of the default provider's (ModelsLab's) client."""

from __future__ import annotations

import asyncio

import pytest

from agent_billing.client import AsyncClient, SyncClient, provider_clients
from agent_billing.inprocess import sandbox_clients
from agent_billing.provider import get_provider
from agent_billing.registry import get_registry, provider_names
from agent_billing.sandbox import create_app

BUILT_IN = ("modelslab", "wallgent", "tenex")


def _read_without_arguments(provider: str) -> str:
    """A read operation the typed client can call with no arguments."""
    return next(op.name for op in get_registry(provider) if not op.is_mutation
                and not any(field.is_required() for field in op.args.model_fields.values()))


@pytest.mark.parametrize("provider", BUILT_IN)
def test_sandbox_clients_are_the_providers_own_typed_clients(provider: str) -> None:
    assert provider in provider_names()
    client, aclient = sandbox_clients(create_app(), provider=provider)
    try:
        # The classes the provider declares (Provider.clients), not another provider's.
        assert (type(client).__name__, type(aclient).__name__) == get_provider(provider).clients
        assert (type(client), type(aclient)) == provider_clients(get_registry(provider))
        assert client.registry.provider == aclient.registry.provider == provider
        name = _read_without_arguments(provider)
        # The typed method answers (it raised KeyError when another provider's client was handed out).
        result = getattr(client, name)()
        assert type(result) is get_registry(provider).get(name).result
        aresult = asyncio.run(getattr(aclient, name)())
        assert type(aresult) is type(result)
    finally:
        client.close()
        asyncio.run(aclient.aclose())


def test_billing_client_is_a_deprecated_alias_of_the_modelslab_client() -> None:
    import agent_billing
    from agent_billing.providers.modelslab.client import AsyncModelsLabClient, ModelsLabClient

    with pytest.warns(DeprecationWarning, match="use ModelsLabClient"):
        from agent_billing.client import BillingClient
    with pytest.warns(DeprecationWarning, match="use AsyncModelsLabClient"):
        from agent_billing.client import AsyncBillingClient
    assert BillingClient is ModelsLabClient and AsyncBillingClient is AsyncModelsLabClient
    with pytest.warns(DeprecationWarning, match="use ModelsLabClient"):
        assert agent_billing.BillingClient is ModelsLabClient
    assert agent_billing.ModelsLabClient is ModelsLabClient
    assert issubclass(ModelsLabClient, SyncClient) and issubclass(AsyncModelsLabClient, AsyncClient)
    with pytest.raises(AttributeError):
        from agent_billing import client

        _ = client.NoSuchClient  # type: ignore[attr-defined]
