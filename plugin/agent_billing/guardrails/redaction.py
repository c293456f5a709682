"""One redaction for every text that leaves the library: card data and secrets, in one function.

Tool content (results and errors), error messages, details and request ids, MCP results, the audit
log and the library's log records all pass :func:`redact_outgoing` (or :func:`redact_outgoing_text`
for one string), so what is hidden from the log is hidden from the model by construction. It applies,
in this order:

1. configured secrets by value (:func:`~agent_billing.guardrails.secrets.register_secret`: every
   client registers its token when it is built; variants with a prefix, URL-encoded, base64...),
   replaced before anything else can cut them apart;
2. card data (:func:`~agent_billing.guardrails.card_data.redact`): at most brand and last four;
3. secret-looking text and values under secret key names
   (:func:`~agent_billing.guardrails.secrets.redact_secrets`).

:class:`RedactingFilter` applies the same to log records; it is installed on the ``agent_billing``
logger and on every ``agent_billing.*`` logger (a filter on a parent logger does not see records
logged to its children), again whenever a client registers a token.

Example:
    >>> from agent_billing.guardrails.secrets import register_secret
    >>> register_secret("opaque-configured-value-123")
    >>> redact_outgoing({"message": "bad key opaque-configured-value-123, card 4242 4242 4242 4242",
    ...                  "request_id": "req_Bearer abcdefghijkl", "client_secret": "x"})
    {'message': 'bad key [redacted], card [visa card ending 4242]', 'request_id': 'req_[redacted]', \
'client_secret': '[redacted]'}
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from agent_billing.guardrails.card_data import redact, redact_text
from agent_billing.guardrails.secrets import _KNOWN, REDACTED, redact_secret_text, redact_secrets, register_secret

__all__ = [
    "RedactingFilter",
    "install_log_redaction",
    "redact_error_parts",
    "redact_outgoing",
    "redact_outgoing_text",
    "register_credential",
]

_MAX_DEPTH = 200


def _known_text(text: str, marker: str) -> str:
    pattern = _KNOWN.pattern
    if pattern is not None:
        text = pattern.sub(marker, text)
    return marker if _KNOWN.whole(text) else text


def _known(value: Any, marker: str, depth: int = 0) -> Any:
    """A copy with registered secrets (and their variants) replaced in every string and key."""
    if depth > _MAX_DEPTH:
        return value
    if isinstance(value, str):
        return _known_text(value, marker)
    if isinstance(value, (bytes, bytearray)):
        text = bytes(value).decode("utf-8", "replace")
        clean = _known_text(text, marker)
        return value if clean == text else clean.encode()
    if isinstance(value, Mapping):
        return {(_known_text(k, marker) if isinstance(k, str) else k): _known(v, marker, depth + 1)
                for k, v in value.items()}
    for kind in (list, tuple, set, frozenset):
        if isinstance(value, kind):
            return kind(_known(item, marker, depth + 1) for item in value)
    return value


def redact_outgoing_text(text: str, marker: str = REDACTED) -> str:
    """``text`` with known secrets, card data and secret-looking substrings hidden.

    Example:
        >>> redact_outgoing_text("declined 4000~0566~5566~5556, Authorization: Bearer abcdefghijkl")
        'declined [visa card ending 5556], Authorization: [redacted]'
    """
    # Secret shapes first as well: a registered token that is part of a longer secret-shaped word must not
    # leave the rest of that word behind.
    return redact_secret_text(redact_text(_known_text(redact_secret_text(text, marker), marker)), marker)


def redact_outgoing(value: Any, marker: str = REDACTED) -> Any:
    """A copy of a JSON-like value (or a string) with known secrets, card data and secrets hidden.

    ``marker`` replaces secrets (card data shows as ``[brand card ending 1234]`` or ``[redacted]``).

    Example:
        >>> redact_outgoing(["whsec_abcdefgh12", {"password": "hunter2"}], "[held]")
        ['[held]', {'password': '[held]'}]
    """
    if isinstance(value, str):
        return redact_outgoing_text(value, marker)
    return redact_secrets(redact(_known(redact_secrets(value, marker), marker)), marker)


def redact_error_parts(
    message: str, details: dict[str, Any] | None, request_id: str | None
) -> tuple[str, dict[str, Any], str | None]:
    """An error's message, details and request id as they may leave the library.

    Example:
        >>> redact_error_parts("echoed sk_live_abcdefgh123", {"key": "rk_live_abcdefgh12"}, "req_7Hq2doc")
        ('echoed [redacted]', {'key': '[redacted]'}, 'req_7Hq2doc')
    """
    clean_details = redact_outgoing(details) if details else {}
    clean_id = redact_outgoing_text(request_id) if isinstance(request_id, str) else request_id
    text = redact_outgoing_text(message) if isinstance(message, str) else message
    return text, dict(clean_details) if isinstance(clean_details, Mapping) else {}, clean_id


class RedactingFilter(logging.Filter):
    """A log filter that redacts the formatted message and any exception text of every record.

    Example:
        >>> record = logging.LogRecord("agent_billing.x", logging.INFO, __file__, 1, "key %s", ("sk_live_abcdefgh12",),
        ...                            None)
        >>> RedactingFilter().filter(record), record.getMessage()
        (True, 'key [redacted]')
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place (message without args); never drops a record.

        Example:
            >>> import logging
            >>> record = logging.LogRecord("x", logging.INFO, __file__, 1, "token=%s", ("sk_test_abcdefgh123",), None)
            >>> RedactingFilter().filter(record), record.args
            (True, None)
        """
        try:
            message = record.getMessage()
        except Exception:  # a broken format: keep its parts from reaching a handler unredacted
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact_outgoing_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_outgoing_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_outgoing_text(record.stack_info)
        return True


_FILTER = RedactingFilter()
_ROOT = "agent_billing"


def install_log_redaction() -> None:
    """Put the redacting filter on ``agent_billing`` and every ``agent_billing.*`` logger (idempotent).

    Example:
        >>> install_log_redaction()
        >>> _FILTER in logging.getLogger("agent_billing.client").filters
        True
    """
    names = [_ROOT, *(name for name in list(logging.root.manager.loggerDict) if name.startswith(_ROOT + "."))]
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def register_credential(value: str | None) -> None:
    """Register a configured credential (see ``secrets.register_secret``) and make sure logs are redacted.

    Example:
        >>> register_credential("sk_sandbox_configured_1")
        >>> redact_outgoing_text("got sk_sandbox_configured_1")
        'got [redacted]'
    """
    register_secret(value)
    install_log_redaction()


# The library's loggers exist once their modules are imported; the client module imports this one.
logging.getLogger("agent_billing.client")
logging.getLogger("agent_billing.tools")
logging.getLogger("agent_billing.sandbox")
logging.getLogger("agent_billing.mcp")
install_log_redaction()
