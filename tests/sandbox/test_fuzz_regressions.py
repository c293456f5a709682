"""Failures the schemathesis run (tests/test_openapi.py) found, each kept as a regression test."""

from __future__ import annotations

import pytest
from sandbox_helpers import Api, snapshot

from agent_billing.providers.modelslab.sandbox.ledger import Ledger


@pytest.mark.parametrize("offset", [str(2**63), str(2**70), "1550056797796360201785311232"])
async def test_an_offset_past_sqlite_integers_is_a_400_not_a_500(api: Api, ledger: Ledger, offset: str) -> None:
    before = snapshot(ledger)
    err = await api.err("GET", "/wallet/transactions", 400, "validation_error", params={"offset": offset})
    assert [e["field"] for e in err["details"]["errors"]] == ["offset"]
    assert offset not in err["message"]  # inputs are never echoed
    assert snapshot(ledger) == before


async def test_the_largest_sqlite_integer_offset_is_an_empty_page(api: Api) -> None:
    data = await api.ok("GET", "/wallet/transactions", params={"offset": str(2**63 - 1)})
    assert data["items"] == [] and data["offset"] == 2**63 - 1
