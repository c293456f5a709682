"""Approvals across the rounds of a 2026-07-28 ``tools/call``: the state a stateless client carries back.

A stateless client has no session the server could ask through, so an approval takes two rounds: the
tool answers ``resultType: "input_required"`` with the approval form and a ``requestState``, and the
client calls again with the person's answer and that state. The client holds the state in between, so
the server treats it as attacker-controlled:

- the SDK's ``RequestStateBoundary`` seals it (AES-256-GCM under the server's key) and binds it to the
  tool, a digest of its arguments, the principal and a short expiry: an altered, foreign or stale state
  is refused before any handler runs;
- inside, this module's plaintext names a single-use token kept in the guardrail store's confirmations
  (SQLite or PostgreSQL, so single use holds across workers), bound to the principal and the charge
  intent's digest, expiring on the toolkit's clock: a replayed state, or one redeemed for a charge that
  has changed since the question, moves nothing.

Example:
    >>> from datetime import datetime, timezone
    >>> from agent_billing.guardrails.approval import ApprovalRequest
    >>> from agent_billing.guardrails.confirmation import ConfirmationStore
    >>> rounds = ApprovalRounds(ConfirmationStore(), lambda: datetime(2026, 12, 5, tzinfo=timezone.utc))
    >>> state = rounds.issue(ApprovalRequest(operation="top_up", effect="charge", summary="Charge $25.00",
    ...                                      intent_digest="d" * 64), "alice")
    >>> rounds.redeem(state, "mallory") is None, rounds.redeem(state, "alice").binding == "d" * 64
    (True, True)
    >>> rounds.redeem(state, "alice") is None  # once only
    True
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from agent_billing.guardrails.approval import ApprovalRequest
from agent_billing.mcp.approver import binding

__all__ = ["ROUND_TTL", "ApprovalRounds", "RoundState"]

ROUND_TTL = timedelta(minutes=5)  # the person's time to answer; the sealed envelope's own expiry is longer
STATE_VERSION = 1


@dataclass(frozen=True)
class RoundState:
    """The plaintext of one ``requestState`` (the SDK seals it): which question, for whom, redeemable once.

    Example:
        >>> RoundState.loads(RoundState(1, "conf_x", "top_up", "d" * 64, "alice").dumps()).principal
        'alice'
        >>> RoundState.loads("not json") is None
        True
    """

    v: int
    token: str
    operation: str
    binding: str
    principal: str
    request: str = ""  # an out-of-band approval request's id (mcp/out_of_band.py); "" for a form question

    def dumps(self) -> str:
        """The compact JSON the server hands to the SDK to seal."""
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def loads(cls, text: str) -> RoundState | None:
        """Parse an unsealed state; None when it is not one of ours (of this version)."""
        try:
            data: Any = json.loads(text)
            state = cls(**data) if isinstance(data, dict) else None
        except (ValueError, TypeError):
            return None
        if state is None or state.v != STATE_VERSION or not all(
                isinstance(value, str)
                for value in (state.token, state.operation, state.binding, state.principal, state.request)):
            return None
        return state


def _fingerprint(principal: str, bound: str) -> str:
    """The confirmation's argument fingerprint: the principal and what the answer is bound to, together."""
    return hashlib.sha256(f"mcp-round\n{principal}\n{bound}".encode()).hexdigest()


class ApprovalRounds:
    """Issues and redeems round states against a single-use confirmation store (``issue``/``consume``).

    ``now`` is the toolkit's clock (``Guard._now``), so tests move time instead of waiting.

    Example:
        >>> from datetime import timezone
        >>> from agent_billing.guardrails.confirmation import ConfirmationStore
        >>> ApprovalRounds(ConfirmationStore(), lambda: datetime.now(timezone.utc)).ttl
        datetime.timedelta(seconds=300)
    """

    def __init__(self, store: Any, now: Callable[[], datetime], ttl: timedelta = ROUND_TTL) -> None:
        self.store, self.now, self.ttl = store, now, ttl

    def issue(self, request: ApprovalRequest, principal: str, asked: str = "") -> str:
        """A fresh state for ``request`` asked of ``principal``: a new single-use token in the store. ``asked``:
        the out-of-band approval request the round showed by URL, if any."""
        bound = binding(request)
        issued = self.store.issue(request.operation, _fingerprint(principal, bound), request.summary,
                                  ttl=self.ttl, now=self.now())
        return RoundState(STATE_VERSION, issued.token, request.operation, bound, principal, asked).dumps()

    def redeem(self, text: str, principal: str) -> RoundState | None:
        """The state, used up, when it is ours, for ``principal``, unused and unexpired; else None."""
        state = RoundState.loads(text)
        if state is None or not hmac.compare_digest(state.principal.encode(), principal.encode()):
            return None
        used = self.store.consume(state.token, state.operation, _fingerprint(principal, state.binding), now=self.now())
        return state if used else None
