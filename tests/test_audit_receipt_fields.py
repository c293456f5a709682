"""Receipt ids in the audit chain come from each provider's declared ``receipt_fields``, and every declared
field is one its shaped results can carry (the Python names of its results models)."""
from __future__ import annotations

import inspect

import pytest
from pydantic import BaseModel

from agent_billing.audit import receipt_ids, receipt_keys
from agent_billing.provider import get_provider, provider_names


def _result_field_names(name: str) -> set[str]:
    results = get_provider(name).part("results")
    assert results is not None, f"{name} has no results module"
    names: set[str] = set()
    for _, model in inspect.getmembers(results, inspect.isclass):
        if issubclass(model, BaseModel):
            names.update(model.model_fields)
    return names


# ModelsLab's receipts include keys its results keep as extra fields from the wire (not declared model fields).
@pytest.mark.parametrize("name", ["wallgent", "tenex"])
def test_declared_receipt_fields_exist_in_the_providers_results(name: str) -> None:
    declared = set(get_provider(name).receipt_fields)
    assert declared, name
    missing = declared - _result_field_names(name)
    assert not missing, f"{name} declares receipt fields its results never carry: {sorted(missing)}"


@pytest.mark.parametrize("name", provider_names())
def test_audit_reads_each_providers_receipt_fields(name: str) -> None:
    fields = get_provider(name).receipt_fields
    assert set(fields) <= receipt_keys()
    result = {"wrapped": {field: f"r_{i}" for i, field in enumerate(fields)}}
    assert receipt_ids(result) == {f"wrapped.{field}": f"r_{i}" for i, field in enumerate(fields)}


def test_a_provider_registered_later_is_picked_up_and_lookups_are_cheap() -> None:
    import time

    from agent_billing.provider import _PROVIDERS, Provider, register

    receipt_keys()
    start = time.perf_counter()
    for _ in range(200):
        receipt_keys()
    assert time.perf_counter() - start < 0.05  # no entry-point scan per audit record
    register(Provider(name="example_receipts", package="example_receipts", receipt_fields=("ticket_no",)))
    try:
        assert "ticket_no" in receipt_keys()
    finally:
        _PROVIDERS.pop("example_receipts")
    assert "ticket_no" not in receipt_keys()
