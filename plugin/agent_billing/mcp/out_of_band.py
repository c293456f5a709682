"""Out-of-band approvals for MCP hosts: the approval page reaches the person as a URL-mode elicitation.

``UrlElicitationApprover`` is an ``OutOfBandApprover`` (``guardrails/out_of_band.py``) whose link goes to the
MCP client of the tool call being served, which shows it to its user (MCP's URL mode: the page opens in the
person's browser, outside the client and outside the model's view). A 2025-11-25 client (a session) is asked
there and then (``elicitation/create`` with ``mode: "url"``, the one-time URL and the request's id as the
elicitation id); a 2026-07-28 client (stateless) gets the same as an input request of URL mode, and the next
round's sealed ``requestState`` names the approval request (``mcp/rounds.py``).

The client's ``accept`` means only that the person agreed to open the page: it is never a yes. The decision is
what the page records in the guardrail store, for exactly this charge's intent digest, read by polling the
store for at most ``wait`` seconds (then the call answers "could not ask" and nothing moves). ``decline`` in the
client is the person's no (the link is closed); a dismissed prompt or any failure closes the link and moves nothing.

The client receives the URL (the model does not): a compromised client could press Approve itself. Mount the page
behind the deployer's sign-in (``approval_app(identify=...)``) to bind the yes to a person, or use a plain
``OutOfBandApprover`` whose notifier reaches the person's own device where the client is not trusted with the link.

A client that declared no URL elicitation cannot show the page: the link then goes out of band through the
deployer's ``fallback`` notifier (SMS, e-mail, push) and the tool result says so (``approval_delivery``); with
no fallback the call is refused with a message saying how to fix it.

Example:
    >>> import asyncio
    >>> from agent_billing.guardrails.approval import ApprovalRequest
    >>> approver = UrlElicitationApprover(base_url="https://pay.example/approvals")
    >>> request = ApprovalRequest(operation="buy", effect="charge", summary="Charge $25.00 USD", intent_digest="d1")
    >>> decision = asyncio.run(approver.adecide(request))  # outside a tool call: nobody to ask
    >>> decision.approved, decision.failed
    (False, True)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from agent_billing.guardrails.approval import ApprovalDecision, ApprovalRequest
from agent_billing.guardrails.approval_requests import ApprovalRecord, ApprovalRequests
from agent_billing.guardrails.out_of_band import DEFAULT_TTL, POLL_SECONDS, ApprovalLink, Notifier, OutOfBandApprover
from agent_billing.guardrails.sqlite_state import StoreUnavailableError
from agent_billing.mcp.approver import CURRENT_CALL, CURRENT_ROUND, InputRound, binding, client_modes, stateless
from mcp import types

__all__ = ["DELIVERY", "NO_URL_ELICITATION", "UrlElicitationApprover", "url_message"]

NO_URL_ELICITATION = (
    "this MCP client cannot open the approval page (it declared no URL elicitation) and no fallback notifier is "
    "configured. Use an MCP client that supports URL elicitation, give the server a fallback notifier "
    "(UrlElicitationApprover(fallback=...)) that sends the link to the person by text, e-mail or push, or ask in "
    "the client instead ('agent-billing mcp --approval elicitation')")
ASKED_BY_URL = ("sent the approval page to the person through the MCP client (input required); nothing happens "
                "until they decide on the page")
WAITING = "waiting for the person to approve or decline on the approval page"
WAIT_SECONDS = 120.0  # MCP clients time a call out after a minute or a few; the link itself lives longer (ttl)
BY_CLIENT = "url_elicitation"
ALREADY_SENT = ("already sent: an earlier call for this same charge showed the approval page, and its decision is "
                "awaited (the one-time link is not shown twice)")
BY_FALLBACK = ("sent by the deployer's notifier: this MCP client cannot open URLs (no URL elicitation), so the "
               "approval link went to the person out of band")

# Per tool call: how the approval link was delivered (the server puts the last one into the tool result).
DELIVERY: ContextVar[list[str] | None] = ContextVar("agent_billing_mcp_delivery", default=None)


def url_message(link: ApprovalLink) -> str:
    """What the MCP client shows with the URL: the facts, that opening is not a yes, the expiry.

    Example:
        >>> from datetime import datetime, timezone
        >>> print(url_message(ApprovalLink(url="https://x/approvals/T", request=ApprovalRequest(operation="o",
        ...     effect="charge", summary="Charge $25.00 USD to Visa ending 4242."),
        ...     expires_at=datetime(2026, 12, 5, 12, 15, tzinfo=timezone.utc), request_id="apr_1")))
        Approve this billing action on its approval page?
        Charge $25.00 USD to Visa ending 4242.
        Opening the page is not a yes: approve or decline there. The link expires 2026-12-05 12:15 UTC.
    """
    expires = link.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    return (f"Approve this billing action on its approval page?\n{link.facts}\n"
            f"Opening the page is not a yes: approve or decline there. The link expires {expires}.")


def _noted(how: str) -> None:
    notes = DELIVERY.get()
    if notes is not None:
        notes.append(how)


class UrlElicitationApprover(OutOfBandApprover):
    """Asks through the approval page, shown by the MCP client as a URL elicitation (see the module).

    ``base_url``: where the approval page is mounted over the same store (the server's own HTTP transport at
    ``/approvals``, the sandbox's, or the deployer's web app). ``fallback``: the deployer's notifier for clients
    without URL elicitation (None: such a call is refused). ``wait``: seconds to poll the store for the decision
    within one call. The rest as for ``OutOfBandApprover``.

    Example:
        >>> UrlElicitationApprover(base_url="https://pay.example/approvals").describe()
        'mcp url elicitation'
    """

    def __init__(self, *, base_url: str, fallback: Notifier | None = None, ttl: timedelta | float = DEFAULT_TTL,
                 wait: float = WAIT_SECONDS, store: ApprovalRequests | None = None, account: str = "default",
                 poll: float = POLL_SECONDS, clock: Callable[[], float] = time.time,
                 asleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        super().__init__(notifier=fallback or _no_fallback, base_url=base_url, ttl=ttl, wait=wait, store=store,
                         account=account, poll=poll, clock=clock, asleep=asleep)
        self.fallback = fallback
        # The server's progress relay (set by BillingMCPServer): a client that asked for progress hears about the
        # wait, and clients that reset their timeout on progress keep the call open while the person decides.
        self.progress: Callable[[str], None] | None = None

    def describe(self) -> str:
        """A short name for audit records."""
        return "mcp url elicitation"

    def decide(self, request: ApprovalRequest) -> ApprovalDecision:
        """Not used: the server runs tools asynchronously, where the client can be asked.

        Example:
            >>> UrlElicitationApprover(base_url="https://x/a").decide(ApprovalRequest(operation="x", effect="charge",
            ...     summary="s")).failed
            True
        """
        return self._failed("MCP approvals are asked from the server's async tool path only")

    async def adecide(self, request: ApprovalRequest) -> ApprovalDecision:
        """Show the page through the client (or the fallback notifier), then read the person's decision."""
        ctx = CURRENT_CALL.get()
        if ctx is None:
            return self._failed("no MCP request is being served, so nobody can be asked")
        if not client_modes(ctx.session)[1]:
            if self.fallback is None:
                return self._failed(NO_URL_ELICITATION)
            _noted(BY_FALLBACK)
            return await super().adecide(request)  # the notifier is the fallback; the store is polled
        try:
            round_ = CURRENT_ROUND.get()
            if stateless(ctx) and round_ is not None:
                return await self._round(request, round_)
            begun = await asyncio.to_thread(self._begin, request)
            if isinstance(begun, ApprovalDecision):
                return begun
            record, link = begun
            _noted(BY_CLIENT if link is not None else ALREADY_SENT)
            if link is not None:  # else this charge's link is out already: wait on the same request
                try:
                    answer = await ctx.session.elicit_url(url_message(link), link.url, record.id,
                                                          related_request_id=ctx.request_id)
                except Exception as exc:  # the client erred or went away: the link is closed, nothing moves
                    return await asyncio.to_thread(self._notify_failed, record, exc, link)
                refused = await self._refused(record, answer)
                if refused is not None:
                    return refused
            decision = await self._outcome(record)
            if not decision.failed:  # the page was used: tell the client the interaction is over
                with contextlib.suppress(Exception):  # advice only: the decision stands either way
                    await ctx.session.send_elicit_complete(record.id, related_request_id=ctx.request_id)
            return decision
        except StoreUnavailableError as exc:
            return self._failed(f"the guardrail store is unreachable ({exc.reason})")

    async def _round(self, request: ApprovalRequest, round_: InputRound) -> ApprovalDecision:
        """A stateless round: ask (the server returns the URL as an input request), or read the answered one."""
        key = binding(request)
        asked_id = round_.approvals.get(key)
        if asked_id is None:
            begun = await asyncio.to_thread(self._begin, request)
            if isinstance(begun, ApprovalDecision):
                return begun
            record, link = begun
            if link is None:  # the same charge's link is out already (an earlier call): wait on its decision
                _noted(ALREADY_SENT)
                return await self._outcome(record)
            round_.links.append((request, link))
            _noted(BY_CLIENT)
            return self._failed(ASKED_BY_URL)
        asked = await asyncio.to_thread(self._asked, asked_id)
        if asked is None or asked.account != self.account or asked.digest != request.intent_digest:
            return self._failed("this answer is for another approval request (another charge); nothing moves. "
                                "Call again without requestState to ask anew")
        _noted(BY_CLIENT)
        refused = await self._refused(asked, round_.answers.get(key))
        return refused if refused is not None else await self._outcome(asked)

    def _asked(self, record_id: str) -> ApprovalRecord | None:
        return self.store.get(record_id, now=self._now()) if self.store is not None else None

    async def _refused(self, record: ApprovalRecord, answer: types.ElicitResult | None) -> ApprovalDecision | None:
        """The decision when the person would not open the page (decline: a no; else none), closing the link."""
        if answer is not None and answer.action == "accept":
            return None  # only "opened": the page's record decides
        assert self.store is not None
        await asyncio.to_thread(self.store.retract, record.id, now=self._now())
        if answer is not None and answer.action == "decline":
            return ApprovalDecision(approved=False, approver=self.describe(),
                                    reason="declined to open the approval page in the MCP client")
        return self._failed("the person closed the approval page's link without opening it")

    async def _outcome(self, record: ApprovalRecord) -> ApprovalDecision:
        """Poll the store until the page records a decision, the link expires, or ``wait`` runs out."""
        deadline, asleep = self._deadline(record), self.asleep or asyncio.sleep
        while (decided := await asyncio.to_thread(self._read, record)) is None:
            remaining = deadline - self.clock()
            if remaining <= 0:
                return self._timed_out()
            if self.progress is not None:
                self.progress(f"{WAITING} ({remaining:.0f} s left)")
            await asleep(min(self.poll, remaining))
        return decided


def _no_fallback(link: ApprovalLink) -> None:
    raise RuntimeError("no fallback notifier")  # never reached: adecide refuses first
