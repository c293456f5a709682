"""A cut page drops the keys that would continue it: the keys each provider's wire conventions declare."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest

from agent_billing.conventions import WireConventions
from agent_billing.provider import Provider, get_provider, provider_names, register, unregister
from agent_billing.registry import Registry
from agent_billing.tools.shaping import MAX_ITEMS, paging_keys, result_content


@pytest.fixture
def pager() -> Iterator[str]:
    """A provider found at run time whose pages continue with a key no other provider uses."""
    module = types.ModuleType("example_pager.operations")
    module.REGISTRY = Registry(provider="example_pager", base_path="/",  # type: ignore[attr-defined]
                               wire=WireConventions(paging_keys=("continuation",)))
    sys.modules["example_pager.operations"] = module
    register(Provider(name="example_pager", package="example_pager"))
    try:
        yield "continuation"
    finally:
        unregister("example_pager")
        del sys.modules["example_pager.operations"]


def test_every_declared_paging_key_is_dropped_from_a_cut_page() -> None:
    declared = {key for name in provider_names() for key in get_provider(name).registry.wire.paging_keys}
    assert declared and paging_keys() == declared
    for key in declared:
        cut = result_content({"items": list(range(MAX_ITEMS + 1)), key: "next"})
        assert key not in cut and "paging" in cut, key
        whole = result_content({"items": list(range(MAX_ITEMS)), key: "next"})
        assert whole[key] == "next" and "paging" not in whole  # a whole page keeps its cursor


def test_a_provider_added_at_run_time_brings_its_paging_key(pager: str) -> None:
    cut = result_content({"entries": list(range(MAX_ITEMS + 5)), pager: "tok_2", "total": 25})
    assert pager not in cut and cut["total"] == 25 and cut["entries"][-1] == "... 5 more"


def test_an_undeclared_key_is_not_taken_for_a_cursor() -> None:
    cut = result_content({"items": list(range(MAX_ITEMS + 1)), "continuation": "x"})
    assert cut["continuation"] == "x" and "paging" not in cut
