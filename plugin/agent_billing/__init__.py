"""agent-billing: safe billing tools for LangChain and LangGraph agents.

The public names below are imported on first use, so ``agent-billing --help`` and ``--version`` (whose
module lives in this package) do not pay for LangChain and httpx.

Example:
    >>> from agent_billing import BillingClient
    >>> client = BillingClient(base_url="http://127.0.0.1:8787/api/agents/v1", token="sk_sandbox_demo")
    >>> client.close()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent_billing.client import AsyncBillingClient, BillingClient
    from agent_billing.config import Settings
    from agent_billing.errors import (
        ActionRequiredError,
        AuthenticationError,
        BillingConnectionError,
        BillingError,
        CardDataRefusedError,
        ConflictError,
        IdempotencyConflictError,
        InvalidRequestError,
        NotFoundError,
        OutcomeUnknownError,
        PaymentDeclinedError,
        PermissionDeniedError,
        RateLimitedError,
        ServerError,
        UnexpectedResponseError,
    )
    from agent_billing.guardrails import ApprovalDecision, ApprovalRequest, ChargeIntent, Mandate
    from agent_billing.providers.modelslab.client import AsyncModelsLabClient, ModelsLabClient
    from agent_billing.providers.tenex.client import AsyncTenexClient, TenexClient
    from agent_billing.providers.wallgent.client import AsyncWallgentClient, WallgentClient
    from agent_billing.registry import Effect, Operation, Registry, get_registry
    from agent_billing.retry import RetryPolicy
    from agent_billing.tools import BillingToolkit

__version__ = "0.1.0"

_ERRORS = ("ActionRequiredError", "AuthenticationError", "BillingConnectionError", "BillingError", "CardDataRefusedError",
           "ConflictError", "IdempotencyConflictError", "InvalidRequestError", "NotFoundError", "PaymentDeclinedError",
           "PermissionDeniedError", "RateLimitedError", "ServerError", "OutcomeUnknownError", "UnexpectedResponseError")
# Where each public name lives (imported by __getattr__ on first access).
_HOMES: dict[str, str] = {
    "AsyncBillingClient": "agent_billing.client",
    "BillingClient": "agent_billing.client",
    "Settings": "agent_billing.config",
    **dict.fromkeys(_ERRORS, "agent_billing.errors"),
    "Mandate": "agent_billing.guardrails",
    **dict.fromkeys(("ApprovalDecision", "ApprovalRequest", "ChargeIntent"), "agent_billing.guardrails"),
    **dict.fromkeys(("Effect", "Operation", "Registry", "get_registry"), "agent_billing.registry"),
    "RetryPolicy": "agent_billing.retry",
    "BillingToolkit": "agent_billing.tools",
    **dict.fromkeys(("ModelsLabClient", "AsyncModelsLabClient"), "agent_billing.providers.modelslab.client"),
    **dict.fromkeys(("WallgentClient", "AsyncWallgentClient"), "agent_billing.providers.wallgent.client"),
    **dict.fromkeys(("TenexClient", "AsyncTenexClient"), "agent_billing.providers.tenex.client"),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'agent_billing' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])


__all__ = [
    "ActionRequiredError",
    "ApprovalDecision",
    "ApprovalRequest",
    "AsyncBillingClient",
    "AsyncModelsLabClient",
    "AsyncTenexClient",
    "AsyncWallgentClient",
    "AuthenticationError",
    "BillingClient",
    "BillingConnectionError",
    "BillingError",
    "BillingToolkit",
    "CardDataRefusedError",
    "ChargeIntent",
    "ConflictError",
    "Effect",
    "IdempotencyConflictError",
    "InvalidRequestError",
    "Mandate",
    "ModelsLabClient",
    "NotFoundError",
    "Operation",
    "OutcomeUnknownError",
    "PaymentDeclinedError",
    "PermissionDeniedError",
    "RateLimitedError",
    "Registry",
    "RetryPolicy",
    "ServerError",
    "Settings",
    "TenexClient",
    "UnexpectedResponseError",
    "WallgentClient",
    "__version__",
    "get_registry",
]
