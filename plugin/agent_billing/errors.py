"""The error hierarchy of agent-billing.

Every error carries the API's ``code``, ``message`` and ``details``, the HTTP ``status`` and the
``request_id`` (quote it to support). ``from_response`` maps an API error envelope to the right class.
Messages never contain the access token or card data.

Example:
    >>> from agent_billing.errors import error_from_envelope, PaymentDeclinedError
    >>> err = error_from_envelope(402, {"code": "declined", "message": "Card declined",
    ...                                 "details": {"decline_code": "expired_card"}}, "req_1")
    >>> isinstance(err, PaymentDeclinedError), err.decline_code
    (True, 'expired_card')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


class BillingError(Exception):
    """Base of every error raised by agent-billing.

    Example:
        >>> str(BillingError("boom", code="x", status=500, request_id="req_1"))
        'boom (code=x, status=500, request_id=req_1)'
    """

    default_code = "billing_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        from agent_billing.guardrails.redaction import redact_error_parts  # lazy: guardrails import this module
        message, details, request_id = redact_error_parts(message, details, request_id)
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details or {}
        self.status = status
        self.request_id = request_id

    def __str__(self) -> str:
        parts = [f"code={self.code}"]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return f"{self.message} ({', '.join(parts)})"

    @property
    def retryable(self) -> bool:
        """Whether trying the same request again later may succeed."""
        return False


class AuthenticationError(BillingError):
    """401: the token is missing, wrong or expired.

    Example:
        >>> AuthenticationError("token expired", status=401).code
        'unauthenticated'
    """

    default_code = "unauthenticated"


class PermissionDeniedError(BillingError):
    """403: the account may not do this (e.g. pay out from an account that may not).

    Example:
        >>> str(PermissionDeniedError("payouts are for reseller accounts", status=403))
        'payouts are for reseller accounts (code=forbidden, status=403)'
    """

    default_code = "forbidden"


class InsufficientScopeError(PermissionDeniedError):
    """403 ``insufficient_scope``: the access token lacks the scope this call needs (``scope`` names it).

    Retrying cannot help: the operator must re-authenticate with a token that has that scope.

    Example:
        >>> err = error_from_envelope(403, {"code": "scope", "message": "Needs wallet:write",
        ...                                 "details": {"required_scope": "wallet:write"}}, "req_1",
        ...                           classes={"scope": "InsufficientScopeError"})
        >>> type(err).__name__, err.scope, err.retryable
        ('InsufficientScopeError', 'wallet:write', False)
    """

    default_code = "insufficient_scope"

    @property
    def scope(self) -> str | None:
        """The missing scope, from the details (or the message, as ``area:level``)."""
        value = self.details.get("required_scope") or self.details.get("scope")
        if value:
            return str(value)
        found = re.search(r"\b[a-z_]+:(?:read|write)\b", self.message)
        return found.group(0) if found else None


class InvalidRequestError(BillingError):
    """Bad input, caught locally before any request or reported by the API as ``validation_error``.

    Example:
        >>> InvalidRequestError("amount: must be at least 10", details={"errors": [{"field": "amount"}]}).code
        'validation_error'
    """

    default_code = "validation_error"


class CardDataRefusedError(InvalidRequestError):
    """Raw card data was offered where only a saved card's id or a payment page is allowed.

    Example:
        >>> err = CardDataRefusedError("card numbers are not accepted here")
        >>> err.code, isinstance(err, InvalidRequestError)
        ('card_data_not_allowed', True)
    """

    default_code = "card_data_not_allowed"


class SecretRefusedError(InvalidRequestError):
    """A secret (access token, API key, client secret, password) was offered in a tool call's arguments.

    Example:
        >>> err = SecretRefusedError("secrets are not accepted here")
        >>> err.code, isinstance(err, InvalidRequestError)
        ('secret_not_allowed', True)
    """

    default_code = "secret_not_allowed"


class NotFoundError(BillingError):
    """404: no such invoice, subscription, payment method, session...

    Example:
        >>> NotFoundError("no such invoice", status=404, request_id="req_1").request_id
        'req_1'
    """

    default_code = "not_found"


class ConflictError(BillingError):
    """409: the request conflicts with the current state (e.g. checkout not paid yet).

    Example:
        >>> ConflictError("the person has not paid yet", code="checkout_not_paid", status=409).code
        'checkout_not_paid'
    """

    default_code = "conflict"


class IdempotencyConflictError(ConflictError):
    """409: the Idempotency-Key was already used with a different request body.

    Example:
        >>> err = IdempotencyConflictError("key reused with another body", status=409)
        >>> err.code, isinstance(err, ConflictError)
        ('idempotency_error', True)
    """

    default_code = "idempotency_error"


class _DeclaredDetails(BillingError):
    """An error whose details the providers declare readable as attributes (the id of the payment at stake).

    ``err.<field>`` is ``details[<field>]`` as text (None when the API gave none) for each field a provider
    declares for the error's class: ``WireConventions.error_attributes`` and, for ``ActionRequiredError``, the
    details of its ``action_required`` shape. Any other name is an ``AttributeError`` as usual.
    """

    def __getattr__(self, name: str) -> str | None:
        if name.startswith("_") or name not in _declared_attributes(type(self)):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        value = self.details.get(name)
        return str(value) if value is not None else None


def _declared_attributes(cls: type[BillingError]) -> frozenset[str]:
    """The detail fields any provider declares as attributes of ``cls`` (or of a class it derives from)."""
    from agent_billing.registry import get_registry, provider_names  # the providers load after this module

    names: set[str] = set()
    classes = {klass.__name__ for klass in cls.__mro__}
    for provider in provider_names():
        try:
            wire = get_registry(provider).wire
        except Exception:  # a provider that cannot load declares nothing here; the lookup never breaks
            continue
        names.update(field for name, fields in wire.error_attributes.items() if name in classes for field in fields)
        if issubclass(cls, ActionRequiredError) and wire.action_required is not None:
            names.update(wire.action_required.details)
    return frozenset(names)


class PaymentDeclinedError(_DeclaredDetails):
    """402: the card was declined; ``decline_code`` says why (``expired_card``...).

    The provider's other details about the payment (its id...) are attributes where it declares them
    (``WireConventions.error_attributes``).

    Example:
        >>> PaymentDeclinedError("Card declined", details={"decline_code": "expired_card"}).decline_code
        'expired_card'
    """

    default_code = "payment_declined"

    @property
    def decline_code(self) -> str | None:
        """The card processor's decline code, when the API gave one."""
        value = self.details.get("decline_code", self.details.get("declineCode"))
        return str(value) if value is not None else None


class ActionRequiredError(_DeclaredDetails):
    """202 ``requires_action``: the card needs 3-D Secure, which only a human can complete.

    The right next step is the human-assisted path: the provider's hand-off gives a person the page. The
    details the provider's ``action_required`` shape hands on (the id of the payment waiting) are attributes.

    Example:
        >>> err = ActionRequiredError("3-D Secure needed", details={"step_id": "s_1"})
        >>> err.details["step_id"], err.code
        ('s_1', 'requires_action')
    """

    default_code = "requires_action"


class RateLimitedError(BillingError):
    """429: too many requests; ``retry_after`` is the number of seconds to wait, when known.

    Example:
        >>> err = RateLimitedError("too many requests", retry_after=30.0, status=429)
        >>> err.retry_after, err.retryable
        (30.0, True)
    """

    default_code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return True


class ServerError(BillingError):
    """5xx: the API failed; safe to retry a mutation only with the same Idempotency-Key.

    Example:
        >>> ServerError("upstream failed", status=502).retryable
        True
    """

    default_code = "server_error"

    @property
    def retryable(self) -> bool:
        return True


class BillingConnectionError(BillingError):
    """The API could not be reached, or the connection dropped before an answer.

    Example:
        >>> BillingConnectionError("connection reset").retryable
        True
    """

    default_code = "connection_error"

    @property
    def retryable(self) -> bool:
        return True


class OutcomeUnknownError(BillingError):
    """A mutation was sent but no readable answer came back: it may or may not have taken effect.

    Raised for a request that may have committed (dropped connection after sending, 5xx after the
    retries, a 2xx whose body cannot be read). It is neither success nor failure: check the ledger
    (transactions, payment status) and repeat only with the same ``idempotency_key``, which replays.

    Example:
        >>> err = OutcomeUnknownError("no readable answer", idempotency_key="ab_1", cause="unreadable_body")
        >>> err.code, err.idempotency_key, err.retryable
        ('outcome_unknown', 'ab_1', True)
    """

    default_code = "outcome_unknown"

    def __init__(self, message: str, *, idempotency_key: str | None = None, cause: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.idempotency_key = idempotency_key
        self.cause = cause

    @property
    def retryable(self) -> bool:
        """Only with the same idempotency key (which replays instead of charging again)."""
        return True


class ProviderApprovalRequiredError(BillingError):
    """202 ``APPROVAL_REQUIRED``: the provider's own policy wants a person to approve in its dashboard.

    Nothing moved. This is the provider's gate, on top of (not instead of) the toolkit's own approval.

    Example:
        >>> ProviderApprovalRequiredError("approve it in the dashboard", status=202).code
        'approval_required'
    """

    default_code = "approval_required"


class UnexpectedResponseError(BillingError):
    """A read got an answer it could not understand (not JSON, wrong shape, nested too deep...).

    Example:
        >>> UnexpectedResponseError("not JSON", status=200).code
        'unexpected_response'
    """

    default_code = "unexpected_response"


# --- Bounded calls (issue 18): a call that outlived its deadline or whose answer outgrew the size cap.


class DeadlineExceededError(BillingConnectionError):
    """A call did not finish within its total deadline (``AGENT_BILLING_TIMEOUT``: connect, headers and body,
    every retry included). A read that timed out has no effect; a mutation that may have been delivered is an
    ``OutcomeUnknownError`` instead, and one that was never sent says so.

    Example:
        >>> err = DeadlineExceededError("GET /wallet/balance took longer than 5 s")
        >>> err.code, isinstance(err, BillingConnectionError), err.retryable
        ('deadline_exceeded', True, True)
    """

    default_code = "deadline_exceeded"


class ResponseTooLargeError(UnexpectedResponseError):
    """An answer was larger than the client accepts (``AGENT_BILLING_MAX_RESPONSE_BYTES``); it was not kept.

    Example:
        >>> ResponseTooLargeError("the answer exceeded 4194304 bytes", status=200).code
        'response_too_large'
    """

    default_code = "response_too_large"


class AuditWriteError(BillingError):
    """The audit log could not record an event (full disk, I/O error, closed log, unreachable store, bad key).

    Every audit log raises this, and only this, when a write fails; the event is then not in the log
    (a partial line is truncated away, or kept aside and reported by ``agent-billing audit verify``),
    and the log keeps working once the cause is fixed. ``details`` has ``log`` (which log) and
    ``reason`` (an errno name such as ``ENOSPC``, or the failure's type). What it means for the call
    being audited is the caller's to say: if a request was already sent, its outcome is not this error.

    Example:
        >>> err = AuditWriteError("the audit log audit.jsonl could not record the event: No space left on device",
        ...                       log="audit.jsonl", reason="ENOSPC")
        >>> err.code, err.details["reason"], err.retryable
        ('audit_write_failed', 'ENOSPC', False)
    """

    default_code = "audit_write_failed"

    def __init__(self, message: str, *, log: str | None = None, reason: str | None = None, **kwargs: Any) -> None:
        details = dict(kwargs.pop("details", None) or {})
        details.update({k: v for k, v in (("log", log), ("reason", reason)) if v is not None})
        super().__init__(message, details=details, **kwargs)


_BY_STATUS: dict[int, type[BillingError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    402: PaymentDeclinedError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: InvalidRequestError,
    429: RateLimitedError,
}


def error_from_envelope(
    status: int, error: dict[str, Any] | None, request_id: str | None, *, retry_after: float | None = None,
    classes: Mapping[str, str] | None = None,
) -> BillingError:
    """Build the right error from an HTTP status and the envelope's ``error`` object.

    The code decides when the provider declares a class for it (``classes``: its
    ``WireConventions.error_classes``), else the status does.

    Example:
        >>> err = error_from_envelope(404, {"code": "not_found", "message": "No such invoice"}, "req_1")
        >>> type(err).__name__, err.message, err.request_id
        ('NotFoundError', 'No such invoice', 'req_1')
    """
    error = error or {}
    code = str(error.get("code") or "") or None
    message = str(error.get("message") or f"HTTP {status}")
    details = error.get("details") if isinstance(error.get("details"), dict) else {}
    named = (classes or {}).get(code or "")
    provider_cls = globals().get(named) if named else None
    if not (isinstance(provider_cls, type) and issubclass(provider_cls, BillingError)):
        provider_cls = None
    cls = provider_cls or _BY_STATUS.get(status) or \
        (ServerError if status >= 500 else BillingError)
    kwargs: dict[str, Any] = {"code": code, "details": details, "status": status, "request_id": request_id}
    if cls is RateLimitedError:
        return RateLimitedError(message, retry_after=retry_after, **kwargs)
    return cls(message, **kwargs)
