"""Work for separate OS processes (spawned): one click on an approval link, through a store of its own."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

NOW = datetime(2026, 12, 5, 12, 1, tzinfo=timezone.utc)


def click(url: str, token: str, index: int, start: Any) -> str | None:
    """Wait for the start, then decide; the winning click's method, or None when another got there first."""
    from agent_billing.guardrails.approval_requests import Evidence
    from agent_billing.guardrails.out_of_band import requests_in

    requests = requests_in(url)
    requests.count()  # connect (and migrate) before the race starts
    start.wait()
    record = requests.decide(token, approved=index % 2 == 0, evidence=Evidence(method=f"process {index}"), now=NOW)
    return record.evidence.method if record is not None and record.evidence is not None else None
