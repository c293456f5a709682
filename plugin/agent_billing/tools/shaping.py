"""Results and errors shaped for agents: compact, PII-minimal, with the next step where one exists.

Cards show brand and last four only; secrets (setup-intent client secrets, tokens) never reach the
model, they stay in the tool's artifact for host code; long lists are cut; results and errors (message,
details, request id) pass the one outgoing redaction (``guardrails.redaction``: configured tokens by
value, card data, secret-looking text), the same the audit log and the library's logs use.

Example:
    >>> from agent_billing.errors import PaymentDeclinedError
    >>> err = PaymentDeclinedError("Card declined", details={"decline_code": "do_not_honor"})
    >>> error_content(err, "top_up", gated=True)["next_step"].startswith("The card was declined")
    True
"""

from __future__ import annotations

import contextvars
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agent_billing.errors import (
    ActionRequiredError,
    AuthenticationError,
    BillingConnectionError,
    BillingError,
    CardDataRefusedError,
    ConflictError,
    IdempotencyConflictError,
    InsufficientScopeError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    PaymentDeclinedError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
)
from agent_billing.guardrails.redaction import redact_outgoing
from agent_billing.registry import Operation

if TYPE_CHECKING:
    from agent_billing.provider import HandOff

# The hand-off of the provider whose tool is running (set by the tool around its run): failure advice names
# only that provider's hand-off tool, and none when the text is built outside a tool or the provider has none.
CURRENT_HANDOFF: contextvars.ContextVar[HandOff | None] = contextvars.ContextVar(
    "agent_billing_current_handoff", default=None)


def _handoff(handoff: HandOff | None) -> HandOff | None:
    return handoff if handoff is not None else CURRENT_HANDOFF.get()


def handoff_hint(handoff: HandOff | None) -> str:
    """`` (call ...)``: how to hand off to a person with this provider, or nothing when it has no hand-off.

    Example:
        >>> from agent_billing.provider import HandOff
        >>> handoff_hint(HandOff(group="pages", action="open")), handoff_hint(None)
        (' (call pages action=open)', '')
    """
    return f" (call {handoff.call()})" if handoff is not None else ""

MAX_ITEMS = 20
_HIDDEN = "[held for trusted code]"  # secrets stay in the tool's artifact, for host code


def paging_keys() -> frozenset[str]:
    """The result keys that continue a paged list, as every provider's wire conventions declare them.

    After a cut list they would skip the items that were cut, so a cut page drops them.

    Example:
        >>> from agent_billing.provider import get_provider, provider_names
        >>> all(set(get_provider(name).registry.wire.paging_keys) <= paging_keys() for name in provider_names())
        True
    """
    from agent_billing.provider import get_provider, provider_names

    return frozenset(key for name in provider_names() for key in get_provider(name).registry.wire.paging_keys)


def _compact(value: Any) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if item is None or item == [] or item == {} or (key == "idempotency_replay" and item is False):
                continue
            if key in ("exp_month", "exp_year"):
                continue  # expiry is card data the agent never needs
            out[key] = _compact(item)
        cut = [key for key, item in value.items() if isinstance(item, list) and len(item) > MAX_ITEMS]
        keys = paging_keys() if cut else frozenset()  # read only when a list was cut
        if keys & out.keys():
            for key in keys:
                out.pop(key, None)
            out["paging"] = (f"Only the first {MAX_ITEMS} items of this page are shown, so its cursor was left out "
                             f"(it would skip the rest): ask again with limit={MAX_ITEMS} or less to page through.")
        return out
    if isinstance(value, list):
        items = [_compact(v) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append(f"... {len(value) - MAX_ITEMS} more")
        return items
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def result_content(result: BaseModel | dict[str, Any]) -> dict[str, Any]:
    """The model-facing form of a result: compact, card data redacted, secrets hidden.

    Secrets are what ``guardrails.secrets`` says (the audit log uses the same policy): values under
    secret key names and secret-looking text become ``[held for trusted code]``.

    Example:
        >>> class Saving(BaseModel):
        ...     intent_id: str
        ...     client_secret: str
        >>> result_content(Saving(intent_id="seti_123", client_secret="seti_123_secret_abc"))
        {'intent_id': 'seti_123', 'client_secret': '[held for trusted code]'}
        >>> result_content({"refresh_token": "r1", "note": "key sk_test_abcdefgh123", "public_key": "pk_test_1"})
        {'refresh_token': '[held for trusted code]', 'note': 'key [held for trusted code]', 'public_key': 'pk_test_1'}
        >>> cursor = sorted(paging_keys())[0]  # a provider's paging key
        >>> page = result_content({"items": list(range(25)), cursor: "c2"})
        >>> cursor in page, page["items"][-1], page["paging"][:31]
        (False, '... 5 more', 'Only the first 20 items of this')
    """
    data = result.model_dump(mode="python") if isinstance(result, BaseModel) else result
    shaped: dict[str, Any] = redact_outgoing(_compact(data), _HIDDEN)
    return shaped


def success_content(operation: str | Operation, result: BaseModel | dict[str, Any]) -> dict[str, Any]:
    """``{"ok": true, "result": ..., "next_step"?}`` for a completed call; the next step is the declaration's.

    Example:
        >>> success_content("read_balance", {"balance": Decimal("12.50"), "currency": "USD"})
        {'ok': True, 'operation': 'read_balance', 'result': {'balance': '12.50', 'currency': 'USD'}}
    """
    name = operation if isinstance(operation, str) else operation.name
    content: dict[str, Any] = {"ok": True, "operation": name, "result": result_content(result)}
    shaped = content["result"]
    step = operation.next_step_after(shaped) if isinstance(operation, Operation) else None
    if step:
        content["next_step"] = step
    if isinstance(shaped, dict) and shaped.get("idempotency_replay"):
        content["note"] = "This repeats an earlier identical request: nothing was charged again."
    return content


def next_step_for(error: BillingError, gated: bool = False, handoff: HandOff | None = None) -> str | None:
    """The advice an agent needs after ``error`` (``gated``: the call could move money).

    ``handoff`` is the provider's hand-off (default: that of the tool running now); advice names no other
    tool, and no hand-off tool at all when the provider has none.

    Example:
        >>> next_step_for(RateLimitedError("too many requests", retry_after=30))
        'Rate limited: wait 30 seconds before calling again.'
        >>> next_step_for(InsufficientScopeError("This call needs wallet:write")).split(";")[0]
        'The access token lacks wallet:write: the operator must re-authenticate with scope wallet:write'
        >>> from agent_billing.provider import HandOff
        >>> next_step_for(PaymentDeclinedError("no"), handoff=HandOff(group="pages", action="open")).split(". ")[-1]
        'Offer another saved card, or hand off to the person with a payment page (call pages action=open).'
    """
    handoff = _handoff(handoff)
    if isinstance(error, CardDataRefusedError):
        return None  # the refusal message already names the alternatives
    if isinstance(error, PaymentDeclinedError):
        code = error.decline_code or "declined"
        return (f"The card was declined ({code}). Do not retry the same card. Offer another saved card, or hand off "
                f"to the person with a payment page{handoff_hint(handoff)}.")
    if isinstance(error, ActionRequiredError):
        return ("The card needs 3-D Secure, which only the cardholder can complete. Hand off with a payment page"
                f"{handoff_hint(handoff)} for the same purchase and relay it to the person.")
    if isinstance(error, RateLimitedError):
        wait = f"{error.retry_after:.0f} seconds" if error.retry_after is not None else "a minute"
        return f"Rate limited: wait {wait} before calling again."
    if isinstance(error, AuthenticationError):
        return "The billing access token is missing, wrong or expired: tell the operator; do not retry."
    if isinstance(error, InsufficientScopeError):
        scope = error.scope or "the scope this action needs"
        return (f"The access token lacks {scope}: the operator must re-authenticate with scope {scope}; do not "
                "retry. Tell the person this is not permitted with the current token.")
    if isinstance(error, PermissionDeniedError):
        return "This account is not allowed to do that; do not retry."
    if isinstance(error, IdempotencyConflictError):
        return "A request with this key had different arguments; do not retry, check the ledger first."
    if isinstance(error, ConflictError):
        if handoff is not None and handoff.unpaid_code is not None and error.code == handoff.unpaid_code:
            waiting = f"wait with {handoff.call(wait=True)}, or " if handoff.wait_action else ""
            return f"The person has not paid yet: {waiting}ask them."
        if handoff is not None and handoff.expired_code is not None and error.code == handoff.expired_code:
            return ("The payment page expired: create a new one"
                    f"{handoff_hint(handoff)} if the person still wants to pay.")
        return "The account's state does not allow this now; check its status first."
    if isinstance(error, NotFoundError):
        return "Nothing with that id exists on this account; list first to get a valid id."
    if isinstance(error, InvalidRequestError):
        return "Fix the arguments named above and call again."
    if isinstance(error, OutcomeUnknownError):
        return ("The outcome is unknown: it may or may not have gone through. Do not report success or failure, and "
                "do not retry with other arguments. Check wallet transactions (or the payment or subscription "
                "status) first. Calling again with exactly the same arguments is safe: it replays the same request "
                "and never charges twice.")
    if isinstance(error, BillingConnectionError):
        return "The billing service could not be reached and nothing was sent; try again shortly."
    if isinstance(error, ServerError):
        return "The billing service failed; try again shortly."
    return None


def error_content(error: BillingError, operation: str, gated: bool = False,
                  handoff: HandOff | None = None) -> dict[str, Any]:
    """``{"ok": false, "error": code, "message": ..., "next_step"?}`` for a failed call (redacted).

    Example:
        >>> content = error_content(NotFoundError("No such invoice", request_id="req_1"), "read_invoice")
        >>> content["ok"], content["error"], content["request_id"]
        (False, 'not_found', 'req_1')
    """
    content: dict[str, Any] = {"ok": False, "operation": operation, "error": error.code, "message": error.message}
    if error.request_id:
        content["request_id"] = error.request_id
    if isinstance(error, InvalidRequestError) and error.details.get("errors"):
        content["fields"] = error.details["errors"]
    step = next_step_for(error, gated, handoff)
    if step:
        content["next_step"] = step
    redacted: dict[str, Any] = redact_outgoing(content)
    return redacted


def parse_args(model: type[BaseModel], raw: dict[str, Any], action: str) -> BaseModel | Any:
    """Validate a custom action's arguments: the model, or the tool outcome of a value-free validation error.

    Example:
        >>> from pydantic import BaseModel
        >>> class Args(BaseModel):
        ...     amount: int
        >>> parse_args(Args, {"amount": "x"}, "fund").content["error"]
        'validation_error'
    """
    from pydantic import ValidationError

    from agent_billing.exchange import validation_error
    from agent_billing.tools.steps import ToolOutcome

    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        return ToolOutcome(error_content(validation_error(exc, action), action), is_error=True)
