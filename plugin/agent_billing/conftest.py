"""Doctest set-up shared by the package's examples (``--doctest-modules``), kept out of the examples.

Names put into ``doctest_namespace`` here are there in every doctest of ``agent_billing``:

- ``tmp_dir``: a fresh, empty directory (a ``pathlib.Path``) for the example's files;
- ``audited_store``: a ``sqlite:///`` store URL whose account ``acct`` holds one chained audit record.

Every doctest also gets a fresh state directory (``AGENT_BILLING_STATE_DIR``), so no example writes to the
developer's home or sees another example's state. Other set-up shared by many examples belongs here too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


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
