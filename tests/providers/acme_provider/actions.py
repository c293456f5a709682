"""Acme's tool actions beyond its operations: ``credits.refill``, a workflow over a read and a charge.

``refill`` makes the credit balance at least ``target``: it reads the account and, when short, buys the
smallest bundle that covers the shortfall with the saved card, through the same guard as ``credits
action=buy`` (card guard, mandate, a person's yes, idempotency, audit). It is gated (it may charge): its
``gate`` finds, with reads only, the purchase it would make, so a host's middleware can ask about that exact
charge first. ``calls`` names every operation it may call (its token scopes are theirs; see scopes.py).

Example:
    >>> [(a.group, a.action, a.gated, a.calls) for a in ACTIONS]
    [('credits', 'refill', True, ('get_account', 'buy_credits'))]
"""

from __future__ import annotations

from collections.abc import Generator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent_billing.errors import BillingError
from agent_billing.tools.schemas import model_field_schemas
from agent_billing.tools.shaping import error_content, parse_args
from agent_billing.tools.steps import ApiCall, Flow, ToolOutcome
from agent_billing.tools.toolkit import CustomAction

from .operations import BUNDLES

if TYPE_CHECKING:
    from agent_billing.tools.toolkit import BillingToolkit


class RefillArgs(BaseModel):
    """Arguments of ``credits.refill``: the balance wanted, and the saved card that pays (a token, never card data).

    Example:
        >>> RefillArgs(target="12", saved_card="pm_card_visa").target
        Decimal('12')
    """

    model_config = ConfigDict(extra="forbid")

    target: Decimal = Field(gt=0, le=1000)
    saved_card: str = Field(pattern=r"^pm_[A-Za-z0-9_]{1,64}$")


def bundle_for(shortfall: Decimal) -> str | None:
    """The cheapest bundle that covers ``shortfall`` credits (None: more than the largest one).

    Example:
        >>> bundle_for(Decimal("2")), bundle_for(Decimal("6")), bundle_for(Decimal("21"))
        ('small', 'large', None)
    """
    fitting = [name for name, price in sorted(BUNDLES.items(), key=lambda item: item[1]) if price >= shortfall]
    return fitting[0] if fitting else None


def _plan(args: RefillArgs) -> Generator[ApiCall, Any, tuple[Decimal, dict[str, Any] | None]]:
    """(balance, the purchase's arguments or None when the balance is enough), from one read."""
    balance = (yield ApiCall("get_account", {})).credit_balance
    shortfall = args.target - balance
    if shortfall <= 0:
        return balance, None
    bundle = bundle_for(shortfall)
    if bundle is None:
        raise ValueError(f"{shortfall} credits short: more than the largest bundle; buy in steps")
    return balance, {"bundle": bundle, "amount": BUNDLES[bundle], "saved_card": args.saved_card}


def refill_gate(tk: BillingToolkit, raw: dict[str, Any]) -> Generator[ApiCall, Any, tuple[str, dict[str, Any]] | None]:
    """The purchase ``refill`` would make (for the agent middleware to ask about), or None."""
    try:
        _, purchase = yield from _plan(RefillArgs.model_validate(raw))
    except (ValidationError, ValueError, BillingError):
        return None
    return None if purchase is None else ("buy_credits", purchase)


def refill_flow(tk: BillingToolkit, raw: dict[str, Any], tool_call_id: str | None) -> Flow:
    """``credits.refill``: a read, then (when short) one guarded purchase."""
    args = parse_args(RefillArgs, raw, "refill")
    if isinstance(args, ToolOutcome):
        return args
    assert isinstance(args, RefillArgs)
    try:
        balance, purchase = yield from _plan(args)
    except BillingError as exc:
        return ToolOutcome(error_content(exc, "get_account"), is_error=True)
    except ValueError as exc:
        return ToolOutcome({"ok": False, "operation": "refill", "error": "too_large", "message": str(exc),
                            "next_step": "Refill to a lower target first."}, is_error=True)
    if purchase is None:
        return ToolOutcome({"ok": True, "operation": "refill", "status": "sufficient",
                            "credit_balance": format(balance, "f")})
    outcome = yield from tk.guard.operation_flow(tk.registry.get("buy_credits"), purchase, tool_call_id)
    if not outcome.is_error:
        outcome.content.update({"operation": "refill", "status": "refilled", "bundle": purchase["bundle"]})
    return outcome


ACTIONS = [
    CustomAction("credits", "refill", "Make the credit balance at least target (buys the cheapest covering bundle).",
                 model_field_schemas([RefillArgs]), refill_flow, gated=True, gate=refill_gate,
                 calls=("get_account", "buy_credits")),
]
