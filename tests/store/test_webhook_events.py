"""Replay-safe webhooks: old events refused by default, and each event acted on once across restarts and workers.

The deduplicator keeps its claims in the guardrail store, so these run on SQLite and on a real PostgreSQL
(``store_url``), with separate processes standing in for a restart and for other workers.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from agent_billing.guardrails.store import StoreUnavailableError
from agent_billing.webhook_events import StoreEventDeduplicator, event_deduplicator
from agent_billing.webhooks import (
    EventDeduplicator,
    WebhookSignatureError,
    event_key,
    event_time,
    sign_webhook,
    verify_webhook,
)

SECRET = "whsec_replay_test"
NOW = event_time("2026-12-05T10:00:00Z")
assert NOW is not None


def tenex_event(occurred_at: str = "2026-12-05T10:00:00Z", event_id: str = "evt_42") -> dict[str, Any]:
    return {"id": event_id, "type": "invoice.paid", "company_id": "cmp_1", "occurred_at": occurred_at,
            "data": {"id": "in_1", "total": "499.00"}}


def wallgent_event(timestamp: str = "2026-12-05T10:00:00Z") -> dict[str, Any]:
    return {"event": "invoice.paid", "timestamp": timestamp, "organizationId": "org_1",
            "data": {"id": "inv_1", "amount": "99.00", "status": "paid"}}


def signed(provider: str, event: dict[str, Any], **dumps: Any) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event, **dumps).encode()
    return body, sign_webhook(provider, body, SECRET)


# --- age: on by default

@pytest.mark.parametrize(("provider", "make"), [("10ex", tenex_event), ("wallgent", wallgent_event)])
def test_a_year_old_signed_event_is_refused_with_default_settings(provider: str, make: Any) -> None:
    year_ago = (datetime.now(timezone.utc) - timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body, headers = signed(provider, make(year_ago))
    with pytest.raises(WebhookSignatureError, match="old"):
        verify_webhook(provider, body, headers, SECRET)  # the real clock, no options
    fresh = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    body, headers = signed(provider, make(fresh))
    assert verify_webhook(provider, body, headers, SECRET)  # a current event still verifies


def test_the_default_window_is_five_minutes_either_way() -> None:
    body, headers = signed("10ex", tenex_event())
    assert verify_webhook("10ex", body, headers, SECRET, now=NOW + 300)
    assert verify_webhook("10ex", body, headers, SECRET, now=NOW - 300)
    for off in (301, -301):
        with pytest.raises(WebhookSignatureError):
            verify_webhook("10ex", body, headers, SECRET, now=NOW + off)


@pytest.mark.parametrize("bad", [0, -5, float("nan"), float("inf")])
def test_a_tolerance_that_checks_nothing_is_refused(bad: float) -> None:
    body, headers = signed("10ex", tenex_event())
    with pytest.raises(ValueError, match="tolerance"):
        verify_webhook("10ex", body, headers, SECRET, tolerance=bad, now=NOW)


# --- Wallgent has no event id: one event, however it is serialised

def test_a_wallgent_event_with_reordered_keys_is_one_event(store_url: str) -> None:
    event = wallgent_event()
    first = verify_webhook("wallgent", *signed("wallgent", event), SECRET, now=NOW)
    reordered_event = dict(reversed(list(event.items())))
    reordered_event["data"] = dict(reversed(list(event["data"].items())))
    body, headers = signed("wallgent", reordered_event, indent=2)
    assert body != json.dumps(event).encode()
    again = verify_webhook("wallgent", body, headers, SECRET, now=NOW)
    assert event_key("wallgent", first) == event_key("wallgent", again)
    for seen in (EventDeduplicator(clock=lambda: NOW), StoreEventDeduplicator(store_url, clock=lambda: NOW)):
        assert seen.first_time("wallgent", first) and not seen.first_time("wallgent", again)
    # Two distinct events still differ (their timestamps do).
    later = verify_webhook("wallgent", *signed("wallgent", wallgent_event("2026-12-05T10:00:01Z")), SECRET, now=NOW)
    assert StoreEventDeduplicator(store_url, clock=lambda: NOW).first_time("wallgent", later)


# --- once across a restart and across workers

_CLAIM = """
import json, sys
from agent_billing.webhook_events import event_deduplicator
event = json.loads(sys.argv[2])
print(json.dumps(event_deduplicator(sys.argv[1], clock=lambda: float(sys.argv[3])).first_time(sys.argv[4], event)))
"""


def _claim_in_new_process(store: str, provider: str, event: dict[str, Any], now: float, env: dict[str, str]) -> bool:
    done = subprocess.run([sys.executable, "-c", _CLAIM, store, json.dumps(event), repr(now), provider],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 0, done.stderr
    answer: bool = json.loads(done.stdout)
    return answer


def test_the_same_event_before_and_after_a_restart_is_acted_on_once(store_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    event = verify_webhook("10ex", *signed("10ex", tenex_event()), SECRET, now=NOW)
    assert _claim_in_new_process(store_url, "10ex", event, NOW, env)
    # The provider retries 31 s later; the receiver was restarted meanwhile.
    assert not _claim_in_new_process(store_url, "10ex", event, NOW + 31, env)
    assert not _claim_in_new_process(store_url, "tenex", event, NOW + 200, env)  # an alias is the same provider
    assert _claim_in_new_process(store_url, "10ex", tenex_event(event_id="evt_43"), NOW + 200, env)


def test_the_state_directory_keeps_events_across_a_restart(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "AGENT_BILLING_STATE_DIR": str(tmp_path / "state")}
    env.pop("AGENT_BILLING_STORE_URL", None)
    event = tenex_event()
    assert _claim_in_new_process("", "10ex", event, NOW, env)
    assert not _claim_in_new_process("", "10ex", event, NOW + 5, env)
    made = tmp_path / "state" / "webhook-events.sqlite3"
    assert stat.S_IMODE(made.stat().st_mode) == 0o600


def _race(store: str, event: dict[str, Any], start: float, results: Any) -> None:
    seen = event_deduplicator(store, clock=lambda: NOW)
    while time.time() < start:  # line the workers up on one moment
        time.sleep(0.001)
    results.put(seen.first_time("10ex", event))


def test_workers_racing_on_one_event_act_once(store_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start = time.time() + 2.0
    workers = [context.Process(target=_race, args=(store_url, tenex_event(), start, results)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    answers = sorted(results.get(timeout=10) for _ in workers)
    assert answers == [False, False, False, True]


# --- expiry, release, and a store that is down

def test_an_event_is_forgotten_after_the_ttl_and_old_entries_are_swept_in_batches(store_url: str) -> None:
    now = [NOW]
    seen = StoreEventDeduplicator(store_url, ttl=3_600, clock=lambda: now[0], sweep_batch=50)
    for n in range(120):
        assert seen.first_time("10ex", {"id": f"evt_{n}"})
    assert not seen.first_time("10ex", {"id": "evt_0"})
    now[0] += 3_601
    # Expired: claimable again (the provider's retries are long over; verify_webhook refuses it anyway).
    assert seen.first_time("10ex", {"id": "evt_0"})
    assert _rows(store_url) <= 120 - 50 + 1  # one sweep removed one batch, not everything at once
    for n in range(1, 4):
        seen.first_time("10ex", {"id": f"new_{n}"})
    assert _rows(store_url) == 4  # the rest went in the next batches


def _rows(store_url: str) -> int:
    if store_url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(store_url[len("sqlite://"):]) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM ab_webhook_events").fetchone()[0])
    import psycopg

    with psycopg.connect(store_url) as conn:
        row = conn.execute("SELECT COUNT(*) FROM ab_webhook_events").fetchone()
        assert row is not None
        return int(row[0])


def test_forget_lets_the_retry_through(store_url: str) -> None:
    seen = StoreEventDeduplicator(store_url, clock=lambda: NOW)
    event = tenex_event()
    assert seen.first_time("10ex", event)
    seen.forget("10ex", event)  # acting on it failed: the provider's retry must be handled
    assert seen.first_time("10ex", event) and not seen.first_time("10ex", event)


def test_a_ttl_shorter_than_the_replay_window_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ttl"):
        StoreEventDeduplicator(f"sqlite:///{tmp_path / 's.db'}", ttl=60)


def test_an_unreachable_store_is_a_typed_error_not_a_silent_yes(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    seen = StoreEventDeduplicator("postgresql://nobody@127.0.0.1:9/none?connect_timeout=1", clock=lambda: NOW)
    with pytest.raises(StoreUnavailableError):
        seen.first_time("10ex", tenex_event())
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    with pytest.raises(StoreUnavailableError):
        StoreEventDeduplicator(f"sqlite:///{blocked / 'state.db'}")
