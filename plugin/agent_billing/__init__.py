"""agent-billing: safe billing tools for LangChain and LangGraph agents.

Example:
    >>> from agent_billing import BillingClient
    >>> client = BillingClient(base_url="http://127.0.0.1:8787/api/agents/v1", token="sk_sandbox_demo")
    >>> client.close()
"""

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
    PaymentDeclinedError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
)
from agent_billing.guardrails import Mandate
from agent_billing.registry import Effect, Operation, Registry, get_registry
from agent_billing.retry import RetryPolicy
from agent_billing.tools import BillingToolkit

__version__ = "0.1.0"

__all__ = [
    "ActionRequiredError",
    "AsyncBillingClient",
    "AuthenticationError",
    "BillingClient",
    "BillingConnectionError",
    "BillingError",
    "BillingToolkit",
    "CardDataRefusedError",
    "ConflictError",
    "Effect",
    "IdempotencyConflictError",
    "InvalidRequestError",
    "Mandate",
    "NotFoundError",
    "Operation",
    "PaymentDeclinedError",
    "PermissionDeniedError",
    "RateLimitedError",
    "Registry",
    "RetryPolicy",
    "ServerError",
    "Settings",
    "__version__",
    "get_registry",
]
