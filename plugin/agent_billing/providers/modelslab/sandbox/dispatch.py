"""The handler table: one handler per registry operation, looked up by ``Operation.name``.

A handler takes the request context and the operation's validated argument model and returns a
:class:`~agent_billing.providers.modelslab.sandbox.envelope.Reply` (or raises ``ApiError``). ``create_app`` refuses to start
if any operation of the registry has no handler, so client and sandbox cannot disagree.

Example:
    >>> from agent_billing.providers.modelslab.arguments import NoArgs
    >>> @handles("example_operation")
    ... def example(ctx: Ctx, args: NoArgs) -> Reply:
    ...     return Reply({"ok": True})
    >>> "example_operation" in HANDLERS
    True
    >>> del HANDLERS["example_operation"]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from agent_billing.providers.modelslab.sandbox.envelope import Reply
from agent_billing.providers.modelslab.sandbox.ledger import Account, Ledger
from agent_billing.providers.modelslab.sandbox.state import Sandbox

Handler = Callable[["Ctx", Any], Reply]
HANDLERS: dict[str, Handler] = {}
H = TypeVar("H", bound=Callable[..., Reply])


@dataclass
class Ctx:
    """What a handler may use: the sandbox, the caller's account and the public root URL.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> sb = create_app().state.sandbox
        >>> ctx = Ctx(sb, sb.account_for_token("sk_sandbox_demo"), "http://127.0.0.1:8787")
        >>> ctx.ledger.balance(ctx.account.id), ctx.refresh().default_payment_method
        (0, None)
    """

    sandbox: Sandbox
    account: Account
    root_url: str  # e.g. "http://127.0.0.1:8787" (no trailing slash), for links the sandbox serves

    @property
    def ledger(self) -> Ledger:
        """The sandbox's ledger."""
        return self.sandbox.ledger

    def now(self) -> float:
        """The sandbox clock."""
        return self.sandbox.clock()

    def refresh(self) -> Account:
        """The caller's account as stored now (balance, default card, auto-funding)."""
        self.account = self.ledger.account(self.account.id)
        return self.account


def handles(name: str) -> Callable[[H], H]:
    """Register the decorated function as the handler of operation ``name``.

    Example:
        >>> @handles("ping")
        ... def ping(ctx: Ctx, args: object) -> Reply:
        ...     return Reply({"pong": True})
        >>> HANDLERS.pop("ping") is ping
        True
    """

    def register(func: H) -> H:
        if name in HANDLERS:
            raise ValueError(f"operation {name!r} has two handlers")
        HANDLERS[name] = func
        return func

    return register


def load_handlers() -> dict[str, Handler]:
    """Import every handler module (registering its handlers) and return the table.

    Example:
        >>> table = load_handlers()
        >>> len(table), table["fund_wallet"].__module__
        (34, 'agent_billing.providers.modelslab.sandbox.handlers_wallet')
    """
    from agent_billing.providers.modelslab.sandbox import (  # noqa: F401  (imported for their @handles side effect)
        handlers_billing,
        handlers_coupons,
        handlers_payment_links,
        handlers_subscriptions,
        handlers_wallet,
    )

    return HANDLERS
