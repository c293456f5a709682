"""Doctest set-up shared by the package's examples (``--doctest-modules``), kept out of the examples.

Names put into ``doctest_namespace`` here are there in every doctest of ``agent_billing``:

- ``tmp_dir``: a fresh, empty directory (a ``pathlib.Path``) for the example's files;
- ``audited_store``: a ``sqlite:///`` store URL whose account ``acct`` holds one chained audit record;
- ``example_registry``: a small made-up provider's registry (``example_registry()`` below), for core examples
  that need operations without naming a real provider's: ``get_item`` (a read with a path parameter),
  ``list_items`` (cursor pages), ``get_balance`` (a read without arguments) and ``top_up`` (a charge).

A registry an example registers by name (``register_provider``) is forgotten after the example.
Every doctest also gets a fresh state directory (``AGENT_BILLING_STATE_DIR``), so no example writes to the
developer's home or sees another example's state. Other set-up shared by many examples belongs here too.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from agent_billing.conventions import Pagination, WireConventions
from agent_billing.money import Money
from agent_billing.registry import Effect, Registry


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ItemArgs(_Args):
    item_id: str


class _PageArgs(_Args):
    limit: int = 20
    cursor: str | None = None


class _TopUpArgs(_Args):
    amount: Annotated[Money, Field(ge=Decimal("10"))]


class _Item(BaseModel):
    id: str
    amount: Money | None = None


class _ItemPage(BaseModel):
    items: list[_Item]
    next_page: str | None = None


class _Balance(BaseModel):
    balance: Decimal
    currency: str = "USD"


@lru_cache(maxsize=1)
def example_registry() -> Registry:
    """A made-up provider's registry ("example"; not registered, so no lookup by name finds it)."""
    registry = Registry(provider="example", base_path="/v1",
                        wire=WireConventions(pagination=Pagination(next_field="next_page")))
    registry.declare("get_item", "items", "get", "GET", "/items/{item_id}", _ItemArgs, _Item, Effect.READ, "One item.")
    registry.declare("list_items", "items", "list", "GET", "/items", _PageArgs, _ItemPage, Effect.READ,
                     "Items, one cursor page at a time.")
    registry.declare("get_balance", "balance", "get", "GET", "/balance", _Args, _Balance, Effect.READ, "The balance.")
    registry.declare("top_up", "balance", "top_up", "POST", "/balance/top-ups", _TopUpArgs, _Item, Effect.CHARGE,
                     "Add money from the saved card.", amount_field="amount")
    return registry


@pytest.fixture(autouse=True)
def _doctest_setup(doctest_namespace: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from agent_billing import registry
    from agent_billing.audit import AuditEvent
    from agent_billing.guardrails.store import open_store

    state = tmp_path / "state"
    monkeypatch.setenv("AGENT_BILLING_STATE_DIR", str(state))
    files = tmp_path / "files"
    files.mkdir()
    doctest_namespace["tmp_dir"] = files
    url = f"sqlite:///{tmp_path / 'audited.db'}"
    open_store(url).for_account("acct").audit.record(
        AuditEvent(operation="example_read", effect="read", decision="succeeded"))
    doctest_namespace["audited_store"] = url
    doctest_namespace["example_registry"] = example_registry()
    before = set(registry._REGISTRIES)
    yield
    # A registry an example registers (``register_provider``) is forgotten after it, so no later test sees it.
    for name in set(registry._REGISTRIES) - before:
        registry._REGISTRIES.pop(name, None)
        registry._LOADED.pop(name, None)
