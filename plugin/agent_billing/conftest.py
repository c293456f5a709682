"""Doctest set-up shared by the package's examples (``--doctest-modules``), kept out of the examples.

Names put into ``doctest_namespace`` here are there in every doctest of ``agent_billing``:

- ``tmp_dir``: a fresh, empty directory (a ``pathlib.Path``) for the example's files;
- ``audited_store``: a ``sqlite:///`` store URL whose account ``acct`` holds one chained audit record;
- ``example_registry``: a small registry of made-up operations (no provider's), for examples that need
  declarations: ``top_up`` and ``pay_out`` (group ``wallet``), ``read_entries`` and ``check_code``.

Every doctest also gets a fresh state directory (``AGENT_BILLING_STATE_DIR``), so no example writes to the
developer's home or sees another example's state. Other set-up shared by many examples belongs here too.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from agent_billing.registry import Effect, Operation, Registry


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TopUpArgs(_Strict):
    """Funds added with a saved card."""

    amount: Decimal = Field(ge=10, le=10000, description="USD")
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


def example_registry() -> Registry:
    """A small registry of made-up operations for examples (no provider's declarations)."""
    registry = Registry(provider="example", base_path="/")
    for name, group, action, args, effect in (
        ("top_up", "wallet", "fund", TopUpArgs, Effect.CHARGE), ("pay_out", "wallet", "pay_out", PayOutArgs, Effect.PAYOUT),
        ("read_entries", "ledger", "entries", EntriesArgs, Effect.READ),
        ("check_code", "codes", "check", CodeArgs, Effect.READ),
    ):
        registry.add(Operation(name=name, group=group, action=action, method="POST", path=f"/{name}", args=args,
                               result=Done, effect=effect, description=f"Example operation {name}."))
    return registry


@pytest.fixture(autouse=True)
def _doctest_setup(doctest_namespace: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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
