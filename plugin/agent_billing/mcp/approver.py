"""Approvals over MCP: the person says yes or no in their MCP client, through form-mode elicitation.

``ElicitationApprover`` asks through the MCP client of the tool call being served (the server keeps the
call's request context in a context variable for its duration). A 2025-11-25 client (a session) is asked
there and then (``elicitation/create``); a 2026-07-28 client (stateless) is asked by a multi-round-trip
request: the approver notes the question (``InputRound``) and answers "could not ask" so nothing happens
in this round, the server answers ``input_required`` with the form, and the person's answer comes back in
the next round, bound by the server to this exact charge (``mcp/rounds.py``). The form shows the same rendered text every other
approver shows (``guardrails/approval_text.py``: the intent's facts first) and has no fields: accept is a
yes, decline a no (remembered, so the agent does not ask again), a cancelled form or any failure is "could not ask"
(nothing happens, and it may be asked again). The audit and the tool result name the channel and the
client that answered (``mcp elicitation via <clientInfo.name>``), never "the person": form elicitation
trusts the MCP host to show the question to its user.
A client that declared no form elicitation cannot ask anyone: the call is refused with a message
saying how to fix it, unless the deployer's mandate covers it (then nobody is asked at all).

Example:
    >>> import asyncio
    >>> from agent_billing.guardrails.approval import ApprovalRequest
    >>> request = ApprovalRequest(operation="top_up", effect="charge", summary="Charge $25.00 to Visa ending 4242")
    >>> decision = asyncio.run(ElicitationApprover().adecide(request))  # outside a tool call: nobody to ask
    >>> decision.approved, decision.failed
    (False, True)
"""

from __future__ import annotations

import hashlib
import json
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from mcp.types.version import MODERN_PROTOCOL_VERSIONS

from agent_billing.guardrails.approval import ApprovalDecision, ApprovalRequest
from agent_billing.guardrails.approval_text import clean
from agent_billing.guardrails.out_of_band import ApprovalLink
from mcp import types

NO_ELICITATION = ("this MCP client cannot ask the person (it declared no form elicitation). Use an MCP client "
                  "that supports elicitation, or start the server with a mandate that covers this call, e.g. "
                  "'agent-billing mcp --max-per-charge 25 --max-per-24h 100 --auto-approve'")
# Form mode: no fields to fill in, the person only accepts or declines what the message says.
CONFIRM_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}
CLIENT_NAME_LIMIT = 64
ASKED = "asked the person through the MCP client (input required); nothing happens until they answer"


@dataclass
class InputRound:
    """One round of a 2026-07-28 ``tools/call``: the person's answers it brings, the questions it raises.

    ``answers`` maps a question's binding (``binding(request)``) to the person's answer, as redeemed by the
    server from the previous round; ``asked`` collects the questions nobody could answer in this round.

    Example:
        >>> InputRound().asked
        []
    """

    answers: dict[str, types.ElicitResult] = field(default_factory=dict)
    asked: list[ApprovalRequest] = field(default_factory=list)
    page: dict[str, Any] | None = None  # a payment page to show by URL in this round's result (server.py)
    # Out-of-band (mcp/out_of_band.py): the approval request ids the previous round asked about, by binding,
    # and the links asked in this round (shown by URL in its result).
    approvals: dict[str, str] = field(default_factory=dict)
    links: list[tuple[ApprovalRequest, ApprovalLink]] = field(default_factory=list)


# The request being served and, for a stateless (2026-07-28) call, its round; set by the server per call.
CURRENT_CALL: ContextVar[Any] = ContextVar("agent_billing_mcp_call", default=None)
CURRENT_ROUND: ContextVar[InputRound | None] = ContextVar("agent_billing_mcp_round", default=None)


def binding(request: ApprovalRequest) -> str:
    """What an answer is bound to: the charge intent's digest, else the operation and its (redacted) arguments.

    Example:
        >>> binding(ApprovalRequest(operation="x", effect="charge", summary="s", intent_digest="ab" * 32))
        'abababababababababababababababababababababababababababababababab'
        >>> len(binding(ApprovalRequest(operation="x", effect="destructive", summary="s", arguments={"id": 1})))
        64
    """
    if request.intent_digest:
        return request.intent_digest
    text = json.dumps([request.operation, request.effect, request.arguments], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def stateless(ctx: Any) -> bool:
    """Whether the request being served speaks a stateless revision (2026-07-28): no session to ask through.

    Example:
        >>> stateless(None)
        False
    """
    return ctx is not None and getattr(ctx, "protocol_version", None) in MODERN_PROTOCOL_VERSIONS


def client_modes(session: Any) -> tuple[bool, bool]:
    """(form, url): the elicitation modes the client declared (at initialization, or in the request's ``_meta``).

    An empty ``elicitation`` capability means form mode (clients from before URL mode existed).

    Example:
        >>> client_modes(None)
        (False, False)
    """
    capabilities = getattr(session, "client_capabilities", None)
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None:
        return False, False
    form = elicitation.form is not None or (elicitation.form is None and elicitation.url is None)
    return form, elicitation.url is not None


def approval_message(request: ApprovalRequest) -> str:
    """What the person reads: the rendered text (facts first, the provider's words quoted after), nothing to edit.

    Example:
        >>> print(approval_message(ApprovalRequest(operation="top_up", effect="charge",
        ...                                        summary="Charge $25.00 USD to Visa ending 4242, one-off.",
        ...                                        mandate="Over the $20.00 per-charge limit.")))
        Approve this billing action?
        Charge $25.00 USD to Visa ending 4242, one-off.
        Note: Over the $20.00 per-charge limit.
        Accept to go ahead; decline and nothing happens.
    """
    # The facts line stands alone: a client that applies bidi per paragraph cannot reorder it with later text.
    lines = ["Approve this billing action?", request.summary]
    if request.mandate:
        lines.append(f"Note: {request.mandate}")
    lines.append("Accept to go ahead; decline and nothing happens.")
    return "\n".join(lines)


def client_name(session: Any) -> str:
    """The name the MCP client gave itself at initialization (``clientInfo.name``), cleaned and capped.

    It is the client's own claim, recorded so the audit says which program answered, not who sat at it.

    Example:
        >>> client_name(None)
        'an unnamed client'
    """
    params = getattr(session, "client_params", None)
    info = getattr(params, "client_info", None)
    name = clean(str(getattr(info, "name", "") or ""), CLIENT_NAME_LIMIT)
    return name or "an unnamed client"


class ElicitationApprover:
    """Asks the person through the MCP client of the current tool call (form-mode elicitation).

    Example:
        >>> ElicitationApprover().describe()
        'mcp-elicitation'
    """

    def describe(self) -> str:
        """A short name for audit records."""
        return "mcp-elicitation"

    def decide(self, request: ApprovalRequest) -> ApprovalDecision:
        """Not used: the server runs tools asynchronously, where the session can be awaited.

        Example:
            >>> ElicitationApprover().decide(ApprovalRequest(operation="x", effect="charge", summary="s")).failed
            True
        """
        return ApprovalDecision(approved=False, approver=self.describe(), failed=True,
                                reason="MCP approvals are asked from the server's async tool path only")

    async def adecide(self, request: ApprovalRequest) -> ApprovalDecision:
        """Ask with form elicitation in the current request's session (or round); anything but accept is a no."""
        ctx = CURRENT_CALL.get()
        if ctx is None:
            return ApprovalDecision(approved=False, approver=self.describe(), failed=True,
                                    reason="no MCP request is being served, so nobody can be asked")
        if not client_modes(ctx.session)[0]:
            return ApprovalDecision(approved=False, approver=self.describe(), failed=True, reason=NO_ELICITATION)
        round_ = CURRENT_ROUND.get()
        if stateless(ctx) and round_ is not None:
            answer = round_.answers.get(binding(request))
            if answer is None:  # asked in the result of this round; answered (or not) in the next
                round_.asked.append(request)
                return ApprovalDecision(approved=False, approver=self.describe(), failed=True, reason=ASKED)
            return _decision(answer, f"mcp input response via {client_name(ctx.session)}")
        try:
            answer = await ctx.session.elicit_form(approval_message(request), CONFIRM_SCHEMA,
                                                   related_request_id=ctx.request_id)
        except Exception as exc:  # the client erred or went away: no yes was given
            return ApprovalDecision(approved=False, approver=self.describe(), failed=True,
                                    reason=f"the MCP client could not ask the person ({type(exc).__name__})")
        # The server cannot know who answered, only through which channel and which client: say exactly that.
        return _decision(answer, f"mcp elicitation via {client_name(ctx.session)}")


def _decision(answer: types.ElicitResult, who: str) -> ApprovalDecision:
    """The decision an elicitation answer gives: accept is a yes, decline a no, anything else no answer.

    Example:
        >>> _decision(types.ElicitResult(action="decline"), "mcp elicitation via t").reason
        'declined in the MCP client'
    """
    if answer.action == "accept":
        return ApprovalDecision(approved=True, approver=who)
    if answer.action == "decline":
        return ApprovalDecision(approved=False, approver=who, reason="declined in the MCP client")
    return ApprovalDecision(approved=False, approver=who, failed=True,
                            reason="the person closed the approval without answering")
