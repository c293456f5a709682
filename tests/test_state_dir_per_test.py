"""Each test gets its own state directory (the autouse fixture in tests/conftest.py): what one test writes
there, the next never sees, whatever the order."""
from __future__ import annotations

import pytest

from agent_billing.guardrails.spend_store import state_dir


@pytest.mark.parametrize("run", [1, 2, 3])
def test_state_dir_starts_empty_and_is_private(run: int) -> None:
    marker = state_dir() / "marker"
    assert not marker.exists(), "a previous test's state leaked into this one"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(str(run))
