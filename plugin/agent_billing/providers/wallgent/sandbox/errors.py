"""Wallgent's error envelope: ``{"error": {"code", "message", "details"}}`` with the documented HTTP statuses.

Example:
    >>> err = validation_error("plan", "must be STARTER or GROWTH")
    >>> err.status, err.body()["error"]["details"]
    (400, {'errors': [{'field': 'plan', 'message': 'must be STARTER or GROWTH'}]})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class WallgentError(Exception):
    """A refusal as Wallgent sends it: HTTP ``status``, an upper-case ``code``, a ``message`` and ``details``.

    ``APPROVAL_REQUIRED`` is one too, although its status is 202: nothing happened, a person must approve.

    Example:
        >>> WallgentError(409, "NOT_SUBSCRIBED", "No paid plan.").body()
        {'error': {'code': 'NOT_SUBSCRIBED', 'message': 'No paid plan.', 'details': {}}}
    """

    def __init__(self, status: int, code: str, message: str, details: Mapping[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = dict(details or {})
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON body of the response."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def validation_error(field: str, message: str) -> WallgentError:
    """A 400 ``VALIDATION_ERROR`` about one field (``details.errors`` lists ``{field, message}``).

    Example:
        >>> validation_error("limit", "must be 1 to 100").message
        'limit: must be 1 to 100'
    """
    return validation_errors([{"field": field, "message": message}])


def validation_errors(errors: list[dict[str, str]]) -> WallgentError:
    """A 400 ``VALIDATION_ERROR`` listing every field that is wrong.

    Example:
        >>> validation_errors([{"field": "a", "message": "required"}, {"field": "b", "message": "unknown field"}]).message
        'a: required; b: unknown field'
    """
    message = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return WallgentError(400, "VALIDATION_ERROR", message, {"errors": errors})
