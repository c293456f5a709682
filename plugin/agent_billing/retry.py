"""Retry policy: which failures are retried, and how long to wait.

Retries cover 429, 5xx and connection errors, with exponential backoff and full jitter, honouring
``Retry-After`` and ``X-RateLimit-Reset``, bounded in count, in total waiting time and by the call's
own deadline (a retry that could not finish before it is not started). Mutations
are only ever retried with the same ``Idempotency-Key`` (the client guarantees that), so a retry after
a dropped response replays instead of charging twice.

Example:
    >>> policy = RetryPolicy(max_retries=2, base_delay=0.5, jitter=False)
    >>> [policy.backoff(n) for n in (1, 2)]
    [0.5, 1.0]
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# A retry must leave itself at least half the remaining time after its wait: a retry started a moment
# before the deadline could only end as a timeout (an unknown outcome, for a mutation).
_LEFT_AFTER_WAIT = 0.5


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    ``max_total_wait`` bounds the sum of all waits of one call: a server asking for a longer pause
    than is left gets a ``RateLimitedError`` (with ``retry_after``) instead of a hung agent.

    Example:
        >>> RetryPolicy.none().max_retries
        0
    """

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_total_wait: float = 30.0
    jitter: bool = True

    @classmethod
    def none(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(max_retries=0)

    def backoff(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1-based) when the server gave no hint."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return random.uniform(0, ceiling) if self.jitter else ceiling

    def delay(self, attempt: int, server_hint: float | None) -> float:
        """The wait before retry ``attempt``: the server's hint if any (never shorter), else backoff."""
        if server_hint is not None:
            return max(0.0, server_hint)
        return self.backoff(attempt)

    def allows(self, attempt: int, waited: float, delay: float, remaining: float) -> bool:
        """Whether retry ``attempt`` may start after waiting ``delay`` more seconds: within the count, the
        total wait, and the ``remaining`` seconds of the call's deadline (with time left to do something).

        Example:
            >>> policy = RetryPolicy(max_retries=3, max_total_wait=10)
            >>> policy.allows(1, 0.0, 1.0, remaining=5.0), policy.allows(1, 0.0, 1.0, remaining=1.0)
            (True, False)
        """
        return (attempt <= self.max_retries and waited + delay <= self.max_total_wait
                and delay < remaining * _LEFT_AFTER_WAIT)


def server_wait_hint(headers: Any, *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, from ``Retry-After`` or ``X-RateLimit-Reset``.

    ``Retry-After`` may be seconds or an HTTP date. ``X-RateLimit-Reset`` is Unix epoch seconds (as
    the providers' own CLIs read it); a small value is taken as seconds from now.

    Example:
        >>> server_wait_hint({"Retry-After": "3"})
        3.0
    """
    now = time.time() if now is None else now
    retry_after = headers.get("Retry-After") or headers.get("retry-after")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(retry_after).timestamp() - now)
            except (TypeError, ValueError):
                pass
    reset = headers.get("X-RateLimit-Reset") or headers.get("x-ratelimit-reset")
    if reset:
        try:
            value = float(reset)
        except ValueError:
            return None
        # Epoch seconds are > 1e9; anything smaller is a relative number of seconds.
        return max(0.0, value - now) if value > 1e9 else max(0.0, value)
    return None
