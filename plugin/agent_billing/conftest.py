"""Doctest set-up shared by the package's examples (``--doctest-modules``), kept out of the examples.

Names put into ``doctest_namespace`` here are there in every doctest of ``agent_billing``:

- ``tmp_dir``: a fresh, empty directory (a ``pathlib.Path``) for the example's files;
- ``audited_store``: a ``sqlite:///`` store URL whose account ``acct`` holds one chained audit record;
- ``example_registry``: a small made-up provider's registry (``example_registry()`` below), for core examples
  that need operations without naming a real provider's: ``top_up`` (a charge) and ``pay_out`` (group
  ``wallet``), ``read_entries`` and ``check_code`` (reads), ``get_item`` (a read with a path parameter),
  ``list_items`` (cursor pages) and ``get_balance`` (a read without arguments).

A registry an example registers by name (``register_provider``) is forgotten after the example.
Every doctest also gets a fresh state directory (``AGENT_BILLING_STATE_DIR``), so no example writes to the
developer's home or sees another example's state. Other set-up shared by many examples belongs here too.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from agent_billing.conventions import Pagination, WireConventions
from agent_billing.money import Money
from agent_billing.registry import Effect, Operation, Registry


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TopUpArgs(_Strict):
    """Funds added with a saved card."""

    amount: Annotated[Money, Field(ge=Decimal("10"), le=Decimal("10000"), description="USD")]
    payment_method_id: str | None = None


class PayOutArgs(_Strict):
    """Funds paid out."""

    amount: Decimal = Field(gt=0, le=10000, description="USD")


class EntriesArgs(_Strict):
    """Entries of one kind."""

    type: Literal["credit", "debit"] | None = None


class CodeArgs(_Strict):
    """A code to check."""

    code: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")


class Done(BaseModel):
    """An answer."""

    id: str = ""


class _ItemArgs(_Strict):
    item_id: str


class _PageArgs(_Strict):
    limit: int = 20
    cursor: str | None = None


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
    registry = Registry(provider="example", base_path="/", wire=WireConventions(pagination=Pagination(next_field="next_page")))
    for name, group, action, args, effect in (
        ("top_up", "wallet", "fund", TopUpArgs, Effect.CHARGE), ("pay_out", "wallet", "pay_out", PayOutArgs, Effect.PAYOUT),
        ("read_entries", "ledger", "entries", EntriesArgs, Effect.READ),
        ("check_code", "codes", "check", CodeArgs, Effect.READ),
    ):
        path = "/balance/top-ups" if name == "top_up" else f"/{name}"
        registry.add(Operation(name=name, group=group, action=action, method="POST", path=path, args=args,
                               result=Done, effect=effect, description=f"Example operation {name}.",
                               amount_field="amount" if effect is Effect.CHARGE else None))
    registry.declare("get_item", "items", "get", "GET", "/items/{item_id}", _ItemArgs, _Item, Effect.READ, "One item.")
    registry.declare("list_items", "items", "list", "GET", "/items", _PageArgs, _ItemPage, Effect.READ,
                     "Items, one cursor page at a time.")
    registry.declare("get_balance", "balance", "get", "GET", "/balance", _Strict, _Balance, Effect.READ, "The balance.")
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
