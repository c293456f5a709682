"""agent-billing: safe billing tools for LangChain and LangGraph agents.

The public names below are imported on first use, so ``agent-billing --help`` and ``--version`` (whose
module lives in this package) do not pay for LangChain and httpx. Each provider's typed clients (the
names its ``Provider.clients`` declares) are exported here too, found at run time; for static types
import them from the provider's package, ``agent_billing.providers.<name>.client``.

Example:
    >>> from agent_billing import BillingToolkit, RetryPolicy
    >>> "RetryPolicy" in __import__("agent_billing").__all__
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Type checkers' view of the core's names (re-exported: ``X as X``); run time: __getattr__. A test keeps it equal to
# _PUBLIC. The providers' typed clients are not in it (the core names no provider): they resolve at run time, and
# a type checker sees them as Any here; import one from its provider's package (``<package>.client``) for static types.
if TYPE_CHECKING:
    from agent_billing.client import (
        AsyncBillingClient as AsyncBillingClient,
    )
    from agent_billing.client import (
        BillingClient as BillingClient,
    )
    from agent_billing.config import (
        Settings as Settings,
    )
    from agent_billing.errors import (
        ActionRequiredError as ActionRequiredError,
    )
    from agent_billing.errors import (
        AuthenticationError as AuthenticationError,
    )
    from agent_billing.errors import (
        BillingConnectionError as BillingConnectionError,
    )
    from agent_billing.errors import (
        BillingError as BillingError,
    )
    from agent_billing.errors import (
        CardDataRefusedError as CardDataRefusedError,
    )
    from agent_billing.errors import (
        ConflictError as ConflictError,
    )
    from agent_billing.errors import (
        IdempotencyConflictError as IdempotencyConflictError,
    )
    from agent_billing.errors import (
        InvalidRequestError as InvalidRequestError,
    )
    from agent_billing.errors import (
        NotFoundError as NotFoundError,
    )
    from agent_billing.errors import (
        OutcomeUnknownError as OutcomeUnknownError,
    )
    from agent_billing.errors import (
        PaymentDeclinedError as PaymentDeclinedError,
    )
    from agent_billing.errors import (
        PermissionDeniedError as PermissionDeniedError,
    )
    from agent_billing.errors import (
        RateLimitedError as RateLimitedError,
    )
    from agent_billing.errors import (
        ServerError as ServerError,
    )
    from agent_billing.errors import (
        UnexpectedResponseError as UnexpectedResponseError,
    )
    from agent_billing.guardrails import (
        ApprovalDecision as ApprovalDecision,
    )
    from agent_billing.guardrails import (
        ApprovalRequest as ApprovalRequest,
    )
    from agent_billing.guardrails import (
        ChargeIntent as ChargeIntent,
    )
    from agent_billing.guardrails import (
        Mandate as Mandate,
    )
    from agent_billing.guardrails.out_of_band import (
        ApprovalLink as ApprovalLink,
    )
    from agent_billing.guardrails.out_of_band import (
        ConsoleNotifier as ConsoleNotifier,
    )
    from agent_billing.guardrails.out_of_band import (
        OutOfBandApprover as OutOfBandApprover,
    )
    from agent_billing.registry import (
        Effect as Effect,
    )
    from agent_billing.registry import (
        Operation as Operation,
    )
    from agent_billing.registry import (
        Registry as Registry,
    )
    from agent_billing.registry import (
        get_registry as get_registry,
    )
    from agent_billing.retry import (
        RetryPolicy as RetryPolicy,
    )
    from agent_billing.tools import (
        BillingToolkit as BillingToolkit,
    )

__version__ = "0.1.0"

# The one list of public names of the core, by the module each lives in (imported by __getattr__ on first use).
# The providers' typed clients are not listed: each provider declares them (``Provider.clients``).
_PUBLIC: dict[str, tuple[str, ...]] = {
    "agent_billing.client": ("AsyncBillingClient", "BillingClient"),  # deprecated aliases
    "agent_billing.config": ("Settings",),
    "agent_billing.errors": (
        "ActionRequiredError", "AuthenticationError", "BillingConnectionError", "BillingError", "CardDataRefusedError",
        "ConflictError", "IdempotencyConflictError", "InvalidRequestError", "NotFoundError", "OutcomeUnknownError",
        "PaymentDeclinedError", "PermissionDeniedError", "RateLimitedError", "ServerError", "UnexpectedResponseError"),
    "agent_billing.guardrails": ("ApprovalDecision", "ApprovalRequest", "ChargeIntent", "Mandate"),
    # Approvals by a one-time link for people not in the chat (the page: agent_billing.approval_page, needs starlette).
    "agent_billing.guardrails.out_of_band": ("ApprovalLink", "ConsoleNotifier", "OutOfBandApprover"),
    "agent_billing.registry": ("Effect", "Operation", "Registry", "get_registry"),
    "agent_billing.retry": ("RetryPolicy",),
    "agent_billing.tools": ("BillingToolkit",),
}


_DEPRECATED = _PUBLIC["agent_billing.client"]


def _homes() -> dict[str, str]:
    """Every public name and the module it lives in: the core's, then each provider's typed clients."""
    from agent_billing.provider import get_provider, provider_names

    # The deprecated aliases resolve (with a warning) but are not advertised: a star import or a tool listing
    # the package's names would otherwise warn for names nobody used.
    homes = {name: module for module, names in _PUBLIC.items() for name in names if name not in _DEPRECATED}
    for provider in map(get_provider, provider_names()):
        for name in provider.clients or ():
            homes[name] = f"{provider.package}.client"
    return homes


def __getattr__(name: str) -> Any:
    if name == "__all__":
        return sorted([*_homes(), "__version__"])
    if name in _DEPRECATED:  # warns on each use, so never cached here
        from agent_billing.client import deprecated_alias

        return deprecated_alias(name)
    core = next((module for module, names in _PUBLIC.items() if name in names), None)
    home = core or (None if name.startswith("__") else _homes().get(name))
    if home is None:
        raise AttributeError(f"module 'agent_billing' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_homes()})
