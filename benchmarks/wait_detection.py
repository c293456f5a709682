"""How soon a person's payment is noticed, and with how many requests: the wait flow against fixed 5 s polling.

Run: python benchmarks/wait_detection.py [--draws N] [--seed S]

Nothing waits in real time: the real ``_wait`` flow of ``payment_links`` / ``fund_via_human`` is driven
step by step on a simulated clock (a ``Sleep`` step moves the clock; a poll answers "not paid" until the
payment time, then "paid"). The baseline in the same run is the reference skill's fixed polling (sleep
5 s, then check), and the previous schedule (check at once, then 3 s growing x1.5 up to 15 s).

Scenarios (seconds after the link reached the person): a payment at 7, 45 and 170 s, each shifted by a
uniform 0-15 s (several poll intervals) so no strategy gains from landing exactly on one of its polls; a spread
(log-normal, median 60 s, sigma 1, capped at the 300 s wait); and a link nobody pays (the wait times
out). Every poll counts against the agent-billing limiter (15 per minute, with the link's creation in
the same minute): the table shows the most polls any strategy sent in one 60 s window.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from agent_billing.errors import ConflictError
from agent_billing.providers.modelslab.results import CheckoutConfirmation
from agent_billing.providers.modelslab.workflows import LINK_TTL_SECONDS, _wait
from agent_billing.tools.steps import ApiCall, Sleep

TIMEOUT = 300.0
NEVER = math.inf


@dataclass
class FakeToolkit:
    """What ``_wait`` reads from a toolkit, with the simulated clock."""

    now: float = 0.0
    poll_interval: tuple[float, float] = (3.0, 15.0)
    progress: list[str] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def notify_progress(self, message: str) -> None:
        self.progress.append(message)


@dataclass
class Run:
    delay: float | None  # seconds from payment to notice; None when the wait ended unpaid
    polls: list[float]  # times of the polls


def _expires_at() -> str:
    return datetime.fromtimestamp(LINK_TTL_SECONDS, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def run_flow(paid_at: float) -> Run:
    """The real wait flow (link created at t=0, as in fund_via_human) on the simulated clock."""
    tk = FakeToolkit()
    flow = _wait(tk, "cs_bench", "fund", TIMEOUT, age=0.0)  # type: ignore[arg-type]
    polls: list[float] = []
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = flow.throw(error) if error is not None else flow.send(value)
        except StopIteration as stop:
            paid = stop.value.content.get("status") == "paid"
            return Run(tk.now - paid_at if paid else None, polls)
        value, error = None, None
        if isinstance(step, Sleep):
            tk.now += step.seconds
        elif isinstance(step, ApiCall):
            polls.append(tk.now)
            if tk.now >= paid_at:
                value = CheckoutConfirmation(session_id="cs_bench", status="paid")
            else:
                error = ConflictError("not paid", code="checkout_not_paid", status=409,
                                      details={"expires_at": _expires_at()})


def run_schedule(times: Callable[[], Iterator[float]], paid_at: float) -> Run:
    polls = []
    for t in times():
        if t > TIMEOUT:
            return Run(None, polls)
        polls.append(t)
        if t >= paid_at:
            return Run(t - paid_at, polls)
    return Run(None, polls)


def fixed_5s() -> Iterator[float]:
    t = 0.0
    while True:
        t += 5.0
        yield t


def previous_backoff() -> Iterator[float]:
    t, delay = 0.0, 3.0
    while True:
        yield t
        t += delay
        delay = min(delay * 1.5, 15.0)


STRATEGIES: dict[str, Callable[[float], Run]] = {
    "fixed 5 s (reference)": lambda p: run_schedule(fixed_5s, p),
    "previous backoff": lambda p: run_schedule(previous_backoff, p),
    "wait flow (this version)": run_flow,
}


def busiest_minute(polls: list[float]) -> int:
    """Most requests in any 60 s window, counting the link's creation at t=0."""
    times = [0.0, *polls]
    return max(sum(1 for u in times if t <= u < t + 60) for t in times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    scenarios: dict[str, list[float]] = {
        f"paid at {p:g}-{p + 15:g} s": [p + rng.uniform(0, 15) for _ in range(args.draws)] for p in (7, 45, 170)}
    scenarios["spread (log-normal, median 60 s)"] = [
        min(rng.lognormvariate(math.log(60), 1.0), TIMEOUT - 1) for _ in range(args.draws)]
    scenarios["never paid (300 s timeout)"] = [NEVER]
    print(f"draws per scenario: {args.draws}, seed {args.seed}; delay = seconds from payment to notice\n")
    print("| scenario | strategy | mean delay | median delay | p95 delay | mean requests | busiest minute |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, payments in scenarios.items():
        for label, strategy in STRATEGIES.items():
            runs = [strategy(p) for p in payments]
            delays = [r.delay for r in runs if r.delay is not None]
            requests = statistics.mean(len(r.polls) for r in runs)
            busiest = max(busiest_minute(r.polls) for r in runs)
            if delays:
                p95 = statistics.quantiles(delays, n=20)[-1] if len(delays) > 1 else delays[0]
                shown = f"{statistics.mean(delays):.2f} s | {statistics.median(delays):.2f} s | {p95:.2f} s"
            else:
                shown = "- | - | -"
            print(f"| {name} | {label} | {shown} | {requests:.1f} | {busiest} |")


if __name__ == "__main__":
    main()
