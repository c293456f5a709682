"""One sandbox instance: its ledger, clock, rate limiter, accounts and Stripe publishable key.

``create_app`` builds one :class:`Sandbox` and keeps it on ``app.state.sandbox``; tests reach the
ledger through it (``app.state.sandbox.ledger.check_invariants()``).

Example:
    >>> sb = Sandbox(tokens=("sk_a",), reseller_tokens=("sk_r",), db_path=":memory:", rate_limit=False,
    ...              clock=lambda: 1_800_000_000.0, checkout_ttl_seconds=1800)
    >>> sb.account_for_token("sk_r").reseller, sb.account_for_token("nope")
    (1, None)
    >>> sb.publishable_key.startswith("pk_test_sandbox_")
    True
"""

from __future__ import annotations

from collections.abc import Iterable

from agent_billing.providers.modelslab.limits import RATE_CLASSES
from agent_billing.providers.modelslab.sandbox.ledger import Account, Ledger, token_digest
from agent_billing.sandbox.group_commit import GroupCommit
from agent_billing.sandbox.rate_limit import RateLimiter, RateLimits
from agent_billing.sandbox.units import Clock, new_id


class Sandbox:
    """The state behind one sandbox app (see :func:`agent_billing.sandbox.create_app`).

    Example:
        >>> sb = Sandbox(tokens=("sk_a",), reseller_tokens=(), db_path=":memory:", rate_limit=True,
        ...              clock=lambda: 1_800_000_000.0, checkout_ttl_seconds=1800)
        >>> sb.account_for_token("sk_a").id, sb.limiter.limits.limit_for("agent-billing"), sb.now()
        (1, 15, 1800000000.0)
    """

    def __init__(
        self,
        *,
        tokens: Iterable[str],
        reseller_tokens: Iterable[str],
        db_path: str,
        rate_limit: bool | RateLimits,
        clock: Clock,
        checkout_ttl_seconds: float,
    ) -> None:
        standard, resellers = [str(t) for t in tokens], [str(t) for t in reseller_tokens]
        if not standard and not resellers:
            raise ValueError("the sandbox needs at least one access token")
        for token in standard + resellers:
            if not token or token != token.strip() or any(ch.isspace() for ch in token):
                raise ValueError("access tokens must be non-empty and contain no whitespace")
        if checkout_ttl_seconds <= 0:
            raise ValueError("checkout_ttl_seconds must be positive")
        self.clock = clock
        self.checkout_ttl_seconds = float(checkout_ttl_seconds)
        self.db_path = db_path
        self.ledger = Ledger(db_path, clock=clock)
        self.writer = GroupCommit(self.ledger)  # API requests: in arrival order, one commit per batch
        reseller_set = set(resellers)
        for token in dict.fromkeys(standard + resellers):  # a token in both lists is a reseller
            self.ledger.ensure_account(token, reseller=token in reseller_set)
        self._digests = {token_digest(t) for t in standard + resellers}
        # Token digest -> ModelsLab scopes, for scoped tokens only (a token without an entry has every scope).
        self.token_scopes: dict[str, frozenset[str]] = {}
        limits = RateLimits(RATE_CLASSES) if rate_limit is True else rate_limit or None
        self.limiter = RateLimiter(limits, clock=clock) if limits else None
        # The key survives restarts of a file ledger, so payment methods tokenized earlier stay usable.
        self.publishable_key = self.ledger.meta("publishable_key", lambda: new_id("pk_test_sandbox_", 32))

    def account_for_token(self, token: str) -> Account | None:
        """The account of a configured token (``None`` for anything else)."""
        digest = token_digest(token)
        if digest not in self._digests:
            return None
        return self.ledger.account_by_digest(digest)

    def now(self) -> float:
        """The sandbox clock."""
        return self.clock()

    def close(self) -> None:
        """Stop the writer, close the ledger."""
        self.writer.close()
        self.ledger.close()
