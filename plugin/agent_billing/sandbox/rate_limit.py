"""The documented rate limiters: ``agent-billing`` 15/min and ``agent-general`` 120/min per token.

Each (token, limiter) pair has a window that opens with its first request and lasts
``window_seconds`` (Laravel's throttle, which the real platform runs). Every API response carries
``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (Unix epoch seconds, an
integer); a request over the limit gets HTTP 429 ``rate_limited`` with ``Retry-After`` in seconds.

Example:
    >>> limiter = RateLimiter(RateLimits(billing=2, general=5, window_seconds=60), clock=lambda: 1000.0)
    >>> [limiter.hit("acct-1", "agent-billing").allowed for _ in range(3)]
    [True, True, False]
    >>> limiter.hit("acct-1", "agent-billing").headers()["Retry-After"]
    '60'
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from agent_billing.sandbox.units import Clock


@dataclass(frozen=True)
class RateLimits:
    """Requests allowed per window, per token, for each limiter.

    Example:
        >>> RateLimits(billing=3, window_seconds=1.0).limit_for("agent-billing")
        3
    """

    billing: int = 15
    general: int = 120
    window_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.billing < 1 or self.general < 1 or self.window_seconds <= 0:
            raise ValueError("rate limits must be positive")

    def limit_for(self, limiter: str) -> int:
        """The limit of a limiter by name (``agent-billing`` or anything else as ``agent-general``)."""
        return self.billing if limiter == "agent-billing" else self.general


@dataclass(frozen=True)
class Decision:
    """The limiter's answer for one request, with the headers to send.

    Example:
        >>> headers = Decision(True, 15, 14, 1_800_000_060.0, 0, "agent-billing").headers()
        >>> headers["X-RateLimit-Remaining"], headers["X-RateLimit-Reset"], "Retry-After" in headers
        ('14', '1800000060', False)
    """

    allowed: bool
    limit: int
    remaining: int
    reset_at: float
    retry_after: int
    limiter: str

    def headers(self) -> dict[str, str]:
        """``X-RateLimit-*`` headers, and ``Retry-After`` when refused."""
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
            "X-RateLimit-Limiter": self.limiter,
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


class RateLimiter:
    """Fixed windows per (subject, limiter), started by the first request, on an injectable clock.

    Example:
        >>> limiter = RateLimiter(RateLimits(general=2), clock=lambda: 0.0)
        >>> [(d.allowed, d.remaining) for d in (limiter.hit("address:127.0.0.1", "agent-general") for _ in range(3))]
        [(True, 1), (True, 0), (False, 0)]
    """

    def __init__(self, limits: RateLimits, *, clock: Clock) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def hit(self, subject: str, limiter: str) -> Decision:
        """Count one request of ``subject`` (a token's account, or an address) against ``limiter``."""
        limit = self.limits.limit_for(limiter)
        now = self._clock()
        with self._lock:
            start, count = self._windows.get((subject, limiter), (now, 0))
            if now >= start + self.limits.window_seconds:
                start, count = now, 0
            reset_at = start + self.limits.window_seconds
            if count >= limit:
                return Decision(False, limit, 0, reset_at, max(1, math.ceil(reset_at - now)), limiter)
            count += 1
            self._windows[(subject, limiter)] = (start, count)
            if len(self._windows) > 10_000:  # forget windows that are over, so memory stays bounded
                self._windows = {k: v for k, v in self._windows.items()
                                 if now < v[0] + self.limits.window_seconds}
            return Decision(True, limit, limit - count, reset_at, 0, limiter)
