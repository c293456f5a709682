"""Waiting for a person to pay: the schedule, the limiter, the person's word, on an injected clock.

The flow yields ``Sleep`` steps; here a driver moves a fake clock instead of sleeping, and answers each
poll "not paid" until the payment time. The real flow against the in-process sandbox is in test_workflows.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import pairwise
from typing import Any

import pytest

from agent_billing.errors import ConflictError, RateLimitedError
from agent_billing.providers.modelslab.results import CheckoutConfirmation
from agent_billing.providers.modelslab.workflows import (
    LINK_TTL_SECONDS,
    POLLS_PER_MINUTE,
    _wait,
    poll_interval_for,
    wait_flow,
)
from agent_billing.tools.steps import ApiCall, Sleep, ToolOutcome


@dataclass
class FakeToolkit:
    now: float = 1_000.0
    poll_interval: tuple[float, float] = (3.0, 15.0)
    wait_timeout: float = 300.0
    messages: list[str] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def notify_progress(self, message: str) -> None:
        self.messages.append(message)

    def memory(self, namespace: str) -> dict[str, Any]:
        return {"cs_1": "fund"}  # what the hand-off remembered for the session


@dataclass
class Checkout:
    """A simulated checkout: paid from ``paid_at``; ``created_at`` gives the expiry it reports."""

    paid_at: float
    created_at: float
    limited_at: set[int] = field(default_factory=set)  # poll numbers the limiter refuses
    polls: list[float] = field(default_factory=list)
    slept: list[float] = field(default_factory=list)

    def drive(self, flow: Any, tk: FakeToolkit) -> ToolOutcome:
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as stop:
                outcome: ToolOutcome = stop.value
                return outcome
            value, error = None, None
            if isinstance(step, Sleep):
                assert step.seconds >= 0
                self.slept.append(step.seconds)
                tk.now += step.seconds
            else:
                assert isinstance(step, ApiCall) and step.name == "confirm_wallet_checkout"
                self.polls.append(tk.now)
                expires = datetime.fromtimestamp(self.created_at + LINK_TTL_SECONDS, tz=timezone.utc).isoformat()
                if len(self.polls) in self.limited_at:
                    error = RateLimitedError("slow down", retry_after=20.0, status=429)
                elif tk.now >= self.paid_at:
                    value = CheckoutConfirmation(session_id="cs_1", status="paid")
                else:
                    error = ConflictError("not paid", code="checkout_not_paid", status=409,
                                          details={"expires_at": expires})


def _run(paid_at: float, *, age: float | None = 0.0, timeout: float = 300.0, claim: bool = False,
         created_ago: float = 0.0, limited_at: set[int] | None = None) -> tuple[ToolOutcome, Checkout, FakeToolkit]:
    tk = FakeToolkit()
    start = tk.now
    checkout = Checkout(paid_at=start + paid_at, created_at=start - created_ago, limited_at=limited_at or set())
    flow = _wait(tk, "cs_1", "fund", timeout, age=age, person_says_paid=claim)  # type: ignore[arg-type]
    return checkout.drive(flow, tk), checkout, tk


def _busiest_minute(times: list[float]) -> int:
    return max(sum(1 for u in times if t <= u < t + 60) for t in times)


@pytest.mark.parametrize("paid_at", [7.0, 45.0, 170.0, 299.0])
def test_a_payment_is_noticed_within_one_interval(paid_at: float) -> None:
    outcome, checkout, tk = _run(paid_at)
    assert outcome.content["status"] == "paid"
    delay = checkout.polls[-1] - checkout.paid_at
    assert 0 <= delay <= poll_interval_for(paid_at) + 1e-9, checkout.polls
    assert tk.now == checkout.polls[-1]  # no sleep after the payment was seen


def test_early_polls_are_at_least_as_frequent_as_fixed_5s_and_later_ones_thin_out() -> None:
    _, checkout, _ = _run(NEVER := 10_000.0, timeout=600.0)
    assert checkout.polls[-1] < NEVER
    gaps = [b - a for a, b in pairwise(checkout.polls)]
    early = [g for g, t in zip(gaps, checkout.polls, strict=False) if t - checkout.polls[0] < 80]
    late = [g for g, t in zip(gaps, checkout.polls, strict=False) if t - checkout.polls[0] > 400]
    assert max(early) < 5.0 and min(late) > 5.0
    # Never speeds up without a reason (the last gap is cut short by the timeout).
    assert all(b >= a - 1e-9 for a, b in pairwise(gaps[:-1]))


def test_never_more_polls_in_a_minute_than_the_limiter_allows() -> None:
    _, checkout, _ = _run(10_000.0, timeout=1800.0)
    # The link's creation counts in the same agent-billing window (15 per minute).
    assert _busiest_minute([checkout.polls[0] - 1, *checkout.polls]) <= POLLS_PER_MINUTE + 1 <= 15


def test_an_unknown_link_is_checked_at_once_and_its_age_is_read_from_the_expiry() -> None:
    # The wait action does not know when the link was made: it checks at once, then paces by the
    # age the not-paid answer reveals (a 10-minute-old link is polled less often than a fresh one).
    _, old, _ = _run(10_000.0, age=None, created_ago=600.0, timeout=120.0)
    _, fresh, _ = _run(10_000.0, age=None, created_ago=0.0, timeout=120.0)
    assert old.polls[0] == fresh.polls[0] == 1_000.0  # both checked at once
    assert old.slept[0] == pytest.approx(poll_interval_for(600.0))
    assert fresh.slept[0] == pytest.approx(poll_interval_for(0.0))
    assert len(old.polls) < len(fresh.polls)


def test_the_persons_word_is_checked_at_once_then_quickly_again() -> None:
    outcome, checkout, _ = _run(0.0, age=120.0, claim=True)
    assert outcome.content["status"] == "paid" and len(checkout.polls) == 1 and checkout.slept == []
    # Said so a moment before the payment registered: quick re-checks, not the long interval.
    outcome, checkout, _ = _run(2.5, age=600.0, claim=True)
    assert outcome.content["status"] == "paid"
    assert checkout.polls[-1] - checkout.polls[0] <= 3.5 + 1e-9 and len(checkout.polls) == 3


def test_a_refused_poll_waits_retry_after_and_slows_down() -> None:
    outcome, checkout, _ = _run(100.0, limited_at={3})
    assert outcome.content["status"] == "paid"
    third = checkout.polls.index(checkout.polls[2])
    assert checkout.polls[third + 1] - checkout.polls[third] >= 20.0 - 1e-9
    _, unrefused, _ = _run(100.0)
    later = [b - a for a, b in pairwise(checkout.polls[third + 1:])]
    assert later and min(later) > poll_interval_for(0.0)  # the slowdown stays for the rest of the wait
    assert len(checkout.polls) < len(unrefused.polls)


def test_timeout_reports_pending_with_the_poll_count() -> None:
    outcome, checkout, tk = _run(10_000.0, timeout=30.0)
    assert outcome.is_error and outcome.content["status"] == "pending"
    assert outcome.content["polls"] == len(checkout.polls)
    assert checkout.polls[-1] <= tk.now <= 1_000.0 + 30.0 + 1e-9


def test_wait_flow_takes_the_persons_word_and_the_clock_from_the_toolkit() -> None:
    tk = FakeToolkit(wait_timeout=60.0)
    checkout = Checkout(paid_at=tk.now, created_at=tk.now - 30)
    flow = wait_flow(tk, {"session_id": "cs_1", "person_says_paid": True}, None)  # type: ignore[arg-type]
    outcome = checkout.drive(flow, tk)
    assert outcome.content["status"] == "paid" and checkout.polls == [1_000.0]
