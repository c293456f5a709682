"""Approvals from a person who is not in the chat: a one-time link, delivered by the deployer's notifier.

Voice assistants and autonomous agents have nobody at a keyboard to answer an interrupt. ``OutOfBandApprover``
keeps a durable approval request in the guardrail store (``guardrails/approval_requests.py``), makes a one-time
unguessable link to the approval page (``agent_billing.approval_page``), and hands an :class:`ApprovalLink` to
a notifier the deployer writes (SMS, e-mail, push, a chat message; sync or async) exactly once per request.
The person opens the link on their own device, reads the facts and approves or declines there. The agent
either waits (``wait=`` a bound: the store is polled with an injected clock and sleep) or, under LangGraph
(``wait="interrupt"``), pauses with an interrupt carrying the link (its token redacted) and, after any resume,
reads the decision from the store: the resume value alone is never a yes.

A yes counts only for the intent digest it was shown: a changed charge (another card, amount) is another
request with another link. No decision in time, a notifier that raises, or a store that cannot be reached is
a failed decision ("could not ask"): nothing moves, and it is not remembered as the person's no.

Example:
    >>> from datetime import datetime, timezone
    >>> from agent_billing.guardrails.approval import ApprovalRequest
    >>> from agent_billing.guardrails.approval_requests import ApprovalRequests, Evidence
    >>> requests, links = ApprovalRequests.memory(), []
    >>> def person_approves(seconds: float) -> None:  # the test's stand-in for a person clicking the link
    ...     token = links[-1].url.rsplit("/", 1)[1]
    ...     requests.decide(token, approved=True, evidence=Evidence(method="test"), now=datetime.now(timezone.utc))
    >>> approver = OutOfBandApprover(notifier=links.append, base_url="https://pay.example/approvals",
    ...                              store=requests, account="acct", wait=60, sleep=person_approves)
    >>> request = ApprovalRequest(operation="top_up", effect="charge", summary="Charge $25.00 USD",
    ...                           intent_digest="d1", approval_id="call_1")
    >>> approver.decide(request).approved, len(links), links[0].url.startswith("https://pay.example/approvals/")
    (True, 1, True)
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from typing_extensions import Self

from agent_billing.guardrails.approval import ApprovalDecision, ApprovalRequest, _is_async, _run_awaitable
from agent_billing.guardrails.approval_requests import ApprovalRecord, ApprovalRequests, new_token
from agent_billing.guardrails.redaction import redact_outgoing_text
from agent_billing.guardrails.sqlite_state import StoreUnavailableError

_log = logging.getLogger("agent_billing.approvals")

DEFAULT_TTL = timedelta(minutes=15)
MAX_TTL = timedelta(days=7)
POLL_SECONDS = 2.0
# Re-asks under LangGraph (one interrupt per resume that came before the person decided): bounded.
MAX_INTERRUPTS = 50
REDACTED = "<token redacted>"

Notifier = Callable[["ApprovalLink"], Any]


@dataclass(frozen=True)
class ApprovalLink:
    """What a notifier delivers: the one-time URL, the facts the person is asked about, and the expiry.

    ``text`` is a ready message (the facts line, the link, the expiry) for SMS or chat. The URL carries the
    token: a notifier must send it only to the person, and never log it (``repr`` and ``redacted_url``
    leave it out).

    Example:
        >>> from datetime import datetime, timezone
        >>> link = ApprovalLink(url="https://pay.example/approvals/SECRET", request=ApprovalRequest(
        ...     operation="top_up", effect="charge", summary="Charge $25.00 USD to Visa ending 4242."),
        ...     expires_at=datetime(2026, 12, 5, 12, 15, tzinfo=timezone.utc), request_id="apr_1")
        >>> print(link.text)
        Approve? Charge $25.00 USD to Visa ending 4242.
        Open https://pay.example/approvals/SECRET to approve or decline (expires 2026-12-05 12:15 UTC).
        >>> "SECRET" in repr(link), link.redacted_url
        (False, 'https://pay.example/approvals/<token redacted>')
    """

    url: str
    request: ApprovalRequest
    expires_at: datetime
    request_id: str

    @property
    def redacted_url(self) -> str:
        """The URL without its token (for logs, audit and interrupt payloads)."""
        return self.url.rsplit("/", 1)[0] + "/" + REDACTED

    @property
    def facts(self) -> str:
        """The facts line the person approves (the first line of the request's summary)."""
        return self.request.summary.splitlines()[0] if self.request.summary else self.request.operation

    @property
    def text(self) -> str:
        """A short message for SMS, chat or push: the facts, the link, the expiry."""
        expires = self.expires_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        return f"Approve? {self.facts}\nOpen {self.url} to approve or decline (expires {expires})."

    def public(self) -> dict[str, Any]:
        """The link as JSON without its token (what an interrupt or a log may carry).

        Example:
            >>> from datetime import datetime, timezone
            >>> link = ApprovalLink(url="https://x/approvals/T", request=ApprovalRequest(operation="o", effect="charge",
            ...     summary="s"), expires_at=datetime(2026, 1, 1, tzinfo=timezone.utc), request_id="apr_1")
            >>> link.public()["url"], link.public()["approval_request_id"]
            ('https://x/approvals/<token redacted>', 'apr_1')
        """
        return {"kind": "agent_billing_out_of_band_approval", "approval_request_id": self.request_id,
                "url": self.redacted_url, "expires_at": self.expires_at.isoformat(), "facts": self.facts,
                "request": self.request.model_dump(mode="json", exclude={"confirmation"})}

    def __repr__(self) -> str:
        return f"ApprovalLink(url={self.redacted_url!r}, request_id={self.request_id!r}, expires_at={self.expires_at!r})"


class ConsoleNotifier:
    """Prints the link (for the sandbox and demos: the "person" is whoever reads the terminal).

    Example:
        >>> from datetime import datetime, timezone
        >>> lines = []
        >>> ConsoleNotifier(write=lines.append)(ApprovalLink(url="http://127.0.0.1:8000/approvals/T",
        ...     request=ApprovalRequest(operation="o", effect="charge", summary="Charge $5.00 USD."),
        ...     expires_at=datetime(2026, 1, 1, tzinfo=timezone.utc), request_id="apr_1"))
        >>> lines[0].splitlines()[1]
        'Approve? Charge $5.00 USD.'
    """

    def __init__(self, write: Callable[[str], Any] = print) -> None:
        self.write = write

    def __call__(self, link: ApprovalLink) -> None:
        """Write the message with the link."""
        self.write(f"[agent-billing] approval needed ({link.request_id}):\n{link.text}")


Clock = Callable[[], float]


class OutOfBandApprover:
    """Asks a person who is not in the chat through a one-time link (see the module's description).

    ``notifier``: the deployer's callable (sync or async) taking an :class:`ApprovalLink`. ``base_url``: where
    the approval page is mounted (the link is ``base_url/<token>``). ``ttl``: how long the link is valid.
    ``wait``: seconds to wait for the decision (polling the store), or ``"interrupt"`` under LangGraph.
    ``store``: the requests (``ApprovalRequests``); leave it out under ``BillingToolkit(approval=...)``, which
    gives the toolkit's store and account. ``clock``/``sleep``/``asleep`` (default ``asyncio.sleep``): injected
    for tests.

    Example:
        >>> OutOfBandApprover(notifier=print, base_url="https://pay.example/approvals").describe()
        'out-of-band link'
    """

    def __init__(self, *, notifier: Notifier, base_url: str, ttl: timedelta | float = DEFAULT_TTL,
                 wait: float | Literal["interrupt"] = 300.0, store: ApprovalRequests | None = None,
                 account: str = "default", poll: float = POLL_SECONDS, clock: Clock = time.time,
                 sleep: Callable[[float], Any] = time.sleep,
                 asleep: Callable[[float], Awaitable[Any]] | None = None) -> None:
        ttl = ttl if isinstance(ttl, timedelta) else timedelta(seconds=ttl)
        if not timedelta(0) < ttl <= MAX_TTL:
            raise ValueError(f"ttl must be positive and at most {MAX_TTL}")
        if wait != "interrupt" and (isinstance(wait, str) or not 0 <= float(wait) <= ttl.total_seconds()):
            raise ValueError("wait must be 'interrupt' or a number of seconds between 0 and the ttl")
        if not callable(notifier):
            raise TypeError("notifier must be a callable taking an ApprovalLink (sync or async)")
        if not base_url.startswith(("https://", "http://")):
            raise ValueError(f"base_url must be the approval page's http(s) URL, not {base_url!r}")
        self.notifier, self.base_url, self.ttl, self.wait = notifier, base_url.rstrip("/"), ttl, wait
        self.store, self.account, self.poll = store, account, poll
        self.clock, self.sleep, self.asleep = clock, sleep, asleep

    def describe(self) -> str:
        """A short name for audit records."""
        return "out-of-band link"

    def bound(self, store: ApprovalRequests, account: str) -> Self:
        """A copy of the same class that keeps its requests in ``store`` for ``account`` (the toolkit binds its
        own; a store given at construction wins).

        Example:
            >>> approver = OutOfBandApprover(notifier=print, base_url="https://x/approvals")
            >>> approver.bound(ApprovalRequests.memory(), "acct").account, approver.store is None
            ('acct', True)
        """
        if self.store is not None:
            return self
        copy = object.__new__(type(self))  # a subclass stays itself (UrlElicitationApprover)
        copy.__dict__.update(self.__dict__)
        copy.store, copy.account = store, account
        return copy

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=timezone.utc)

    # --- the steps, shared by decide and adecide

    def _begin(self, request: ApprovalRequest) -> tuple[ApprovalRecord, ApprovalLink | None] | ApprovalDecision:
        """The open request for this call and digest, or a new one and the link to deliver (or why not)."""
        if self.store is None:
            return self._failed("the out-of-band approver has no store; use it through BillingToolkit(approval=...) "
                                "or pass store=ApprovalRequests...")
        if not request.intent_digest:
            return self._failed("the request carries no intent digest to bind the approval to")
        approval_id = request.approval_id or "once:" + new_token()  # no tool call id: asked and answered here
        now = self._now()
        earlier = self.store.latest(self.account, approval_id, request.intent_digest, now=now)
        if earlier is not None and earlier.used_at is None and (earlier.decided or earlier.is_open(now)):
            return earlier, None  # LangGraph's re-run (or a repeat of this call): never a second notification
        waiting = self.store.open_for(self.account, request.intent_digest, now=now)
        if waiting is not None:  # the same charge asked again after a timeout: its link's answer, or a wait on it
            return waiting, None
        token = new_token()
        record = self.store.create(self.account, request, approval_id=approval_id, token=token, now=now,
                                   expires_at=now + self.ttl)
        return record, ApprovalLink(url=f"{self.base_url}/{token}", request=record.request,
                                    expires_at=record.expires_at, request_id=record.id)

    def _notify_failed(self, record: ApprovalRecord, exc: Exception, link: ApprovalLink) -> ApprovalDecision:
        assert self.store is not None
        self.store.retract(record.id, now=self._now())  # an undelivered link must not stay usable
        # The deployer needs the reason (a gateway's error); the message may quote the link, whose token is cut.
        token = link.url.rsplit("/", 1)[-1]
        reason = redact_outgoing_text(str(exc).replace(token, REDACTED))
        _log.warning("approval request %s: the link was not delivered: %s: %s", record.id, type(exc).__name__,
                     reason)
        return self._failed(f"the notifier could not deliver the approval link ({type(exc).__name__}); check the "
                            "deployer's notifier (SMS, e-mail, push or chat transport)")

    def _read(self, record: ApprovalRecord) -> ApprovalDecision | None:
        """The recorded decision, a failed one when the request expired, or None while it is pending."""
        assert self.store is not None
        current = self.store.get(record.id, now=self._now())
        if current is None or current.digest != record.digest:
            return self._failed("the approval request is gone from the store")
        if current.status == "approved" and not self.store.use(current.id, now=self._now()):
            return self._failed("this approval was already used for a charge; a new one is needed")
        if current.decided:
            who = current.evidence.identity if current.evidence and current.evidence.identity else None
            how = current.evidence.method if current.evidence else "link"
            return ApprovalDecision(approved=current.status == "approved",
                                    approver=f"person via {how}" + (f" ({who})" if who else ""),
                                    reason=None if current.status == "approved" else "declined at the approval link",
                                    evidence=_evidence(current))
        if not current.is_open(self._now()):
            return self._failed("the approval link expired before the person decided")
        return None

    def _failed(self, reason: str) -> ApprovalDecision:
        return ApprovalDecision(approved=False, approver=self.describe(), reason=reason, failed=True)

    def _deadline(self, record: ApprovalRecord) -> float:
        assert self.wait != "interrupt"
        return min(self.clock() + float(self.wait), record.expires_at.timestamp())

    def _timed_out(self) -> ApprovalDecision:
        # Worded for the agent to pass on (a voice assistant says it): the link is out, the person may still act.
        return self._failed(f"the person was sent an approval link and has not decided within {self.wait:g} s; "
                            "nothing was charged. Tell them to open the link they received; they can decide until it "
                            "expires, and asking again for the same charge waits for that decision (no new link)")

    # --- the Approver protocol

    def decide(self, request: ApprovalRequest) -> ApprovalDecision:
        """Create and deliver the request (once), then wait for the person's decision or interrupt the graph."""
        try:
            begun = self._begin(request)
            if isinstance(begun, ApprovalDecision):
                return begun
            record, link = begun
            if link is not None:
                try:
                    delivered = self.notifier(link)
                    if inspect.isawaitable(delivered):
                        _run_awaitable(delivered)
                except Exception as exc:
                    return self._notify_failed(record, exc, link)
            if self.wait == "interrupt":
                return self._interrupt(record, link)
            deadline = self._deadline(record)
            while (decided := self._read(record)) is None:
                remaining = deadline - self.clock()
                if remaining <= 0:
                    return self._timed_out()
                self.sleep(min(self.poll, remaining))
            return decided
        except StoreUnavailableError as exc:
            return self._failed(f"the guardrail store is unreachable ({exc.reason})")

    async def adecide(self, request: ApprovalRequest) -> ApprovalDecision:
        """Async form of ``decide``: an async notifier is awaited, store reads run off the event loop."""
        import asyncio  # here: the library's import stays lean for sync hosts and the command line

        asleep = self.asleep or asyncio.sleep
        if self.wait == "interrupt":
            return self.decide(request)  # LangGraph's interrupt is synchronous in async graphs too
        try:
            begun = await asyncio.to_thread(self._begin, request)
            if isinstance(begun, ApprovalDecision):
                return begun
            record, link = begun
            if link is not None:
                try:
                    # A sync notifier (an SMS gateway's blocking client) runs off the event loop.
                    delivered = self.notifier(link) if _is_async(self.notifier) else \
                        await asyncio.to_thread(self.notifier, link)
                    if inspect.isawaitable(delivered):
                        await delivered
                except Exception as exc:
                    return await asyncio.to_thread(self._notify_failed, record, exc, link)
            deadline = self._deadline(record)
            while (decided := await asyncio.to_thread(self._read, record)) is None:
                remaining = deadline - self.clock()
                if remaining <= 0:
                    return self._timed_out()
                await asleep(min(self.poll, remaining))
            return decided
        except StoreUnavailableError as exc:
            return self._failed(f"the guardrail store is unreachable ({exc.reason})")

    def _interrupt(self, record: ApprovalRecord, link: ApprovalLink | None) -> ApprovalDecision:
        """Pause the graph until the store holds a decision; a resume value is only a cue to look again."""
        from langgraph.types import interrupt

        payload = (link.public() if link is not None else
                   ApprovalLink(url=f"{self.base_url}/-", request=record.request, expires_at=record.expires_at,
                                request_id=record.id).public())
        for _ in range(MAX_INTERRUPTS):
            decided = self._read(record)
            if decided is not None:
                return decided
            interrupt(payload)  # the n-th call returns the n-th resume value (ignored), or pauses here
        return self._failed(f"resumed {MAX_INTERRUPTS} times without a decision at the approval link")


def _evidence(record: ApprovalRecord) -> dict[str, str]:
    """The decision's record as a receipt carries it (never the token)."""
    found = {"approval_request_id": record.id, "intent_digest": record.digest, "status": record.status}
    if record.decided_at is not None:
        found["decided_at"] = record.decided_at.isoformat()
    if record.evidence is not None:
        found.update({key: value for key, value in vars(record.evidence).items() if value is not None})
    return found


def requests_in(store: Any) -> ApprovalRequests:
    """The approval requests a store keeps: a store object or URL (``open_store``), or ``ApprovalRequests``.

    Example:
        >>> requests_in(f"sqlite:///{tmp_dir / 'state.db'}").count()
        0
    """
    if isinstance(store, ApprovalRequests):
        return store
    from agent_billing.guardrails.store import open_store

    opened = open_store(store)
    make = getattr(opened, "approval_requests", None)
    if make is None:
        raise ValueError(f"the store {opened.name} keeps no out-of-band approval requests")
    made: ApprovalRequests = make()
    return made


__all__ = ["ApprovalLink", "ConsoleNotifier", "Notifier", "OutOfBandApprover", "requests_in"]
