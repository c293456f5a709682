"""Rate limiting for the sandboxes: each provider's declared rate-limit classes, per token.

A provider's sandbox names its classes (name -> requests per window) in a :class:`RateLimits`; each
request counts against one class. Each (subject, class) pair has a window that opens with its first
request and lasts ``window_seconds`` (a fixed-window throttle). The decision carries
``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (Unix epoch seconds, an
integer), and ``Retry-After`` in seconds when a request is over the limit.

Example:
    >>> limiter = RateLimiter(RateLimits({"slow": 2, "fast": 5}, window_seconds=60), clock=lambda: 1000.0)
    >>> [limiter.hit("acct-1", "slow").allowed for _ in range(3)]
    [True, True, False]
    >>> limiter.hit("acct-1", "slow").headers()["Retry-After"]
    '60'
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from agent_billing.sandbox.units import Clock


@dataclass(frozen=True)
class RateLimits:
    """Requests allowed per window, per subject, for each rate-limit class (the first is the default).

    Example:
        >>> limits = RateLimits({"writes": 3, "reads": 10}, window_seconds=1.0)
        >>> limits.limit_for("writes"), limits.limit_for("anything else"), limits.class_for("")
        (3, 10, 'reads')
    """

    classes: Mapping[str, int] = field(default_factory=dict)
    window_seconds: float = 60.0
    # The class a name no class has counts against (None: the last declared, the broadest).
    default: str | None = None

    def __post_init__(self) -> None:
        if not self.classes or any(n < 1 for n in self.classes.values()) or self.window_seconds <= 0:
            raise ValueError("rate limits must be positive")
        if self.default is not None and self.default not in self.classes:
            raise ValueError(f"default rate-limit class {self.default!r} is not one of {sorted(self.classes)}")

    def class_for(self, limiter: str) -> str:
        """The class a name counts against: itself when declared, else the default class."""
        if limiter in self.classes:
            return limiter
        return self.default if self.default is not None else list(self.classes)[-1]

    def limit_for(self, limiter: str) -> int:
        """The limit of a class by name (an unknown name counts against the default class)."""
        return self.classes[self.class_for(limiter)]


@dataclass(frozen=True)
class Decision:
    """The limiter's answer for one request, with the headers to send.

    Example:
        >>> headers = Decision(True, 15, 14, 1_800_000_060.0, 0, "writes").headers()
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
        >>> limiter = RateLimiter(RateLimits({"reads": 2}), clock=lambda: 0.0)
        >>> [(d.allowed, d.remaining) for d in (limiter.hit("address:127.0.0.1", "reads") for _ in range(3))]
        [(True, 1), (True, 0), (False, 0)]
    """

    def __init__(self, limits: RateLimits, *, clock: Clock) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def hit(self, subject: str, limiter: str) -> Decision:
        """Count one request of ``subject`` (a token's account, or an address) against ``limiter``."""
        limiter = self.limits.class_for(limiter)
        limit = self.limits.classes[limiter]
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
