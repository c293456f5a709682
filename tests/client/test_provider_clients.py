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


def test_paging_follows_the_providers_declared_fields_and_is_refused_without_a_declaration() -> None:
    import httpx
    from pydantic import BaseModel

    from agent_billing import registry as registry_module
    from agent_billing.conventions import Pagination, WireConventions
    from agent_billing.errors import InvalidRequestError
    from agent_billing.registry import Effect, Registry, register_provider

    class PageArgs(BaseModel):
        after: str | None = None

    class Page(BaseModel):
        rows: list[int]
        then: str | None = None

    def registry(name: str, pagination: Pagination | None) -> Registry:
        reg = Registry(provider=name, base_path="/", wire=WireConventions(envelope=False, pagination=pagination))
        reg.declare("list_rows", "rows", "list", "GET", "/rows", PageArgs, Page, Effect.READ, "Rows.")
        return reg

    def serve(request: httpx.Request) -> httpx.Response:
        after = request.url.params.get("after")
        return httpx.Response(200, json={"rows": [1, 2]} if after else {"rows": [0], "then": "p2"})

    register_provider("pages_declared", lambda: registry("pages_declared", Pagination(next_field="then", cursor_arg="after",
                                                                                      items_field="rows")))
    register_provider("pages_undeclared", lambda: registry("pages_undeclared", None))
    try:
        with SyncClient(base_url="http://x.test", token="t", provider="pages_declared",
                        transport=httpx.MockTransport(serve)) as client:
            assert list(client.paginate("list_rows")) == [0, 1, 2]
        with SyncClient(base_url="http://x.test", token="t", provider="pages_undeclared",
                        transport=httpx.MockTransport(serve)) as client, pytest.raises(InvalidRequestError, match="declares no"):
            list(client.paginate("list_rows"))
    finally:
        for name in ("pages_declared", "pages_undeclared"):
            registry_module._REGISTRIES.pop(name, None)
            registry_module._LOADED.pop(name, None)
