"""Sandbox-only endpoints: things the real platform does on its own, made callable for tests and demos.

All take the same bearer token as the API, answer in the same envelope and honour
``Idempotency-Key``; they are not rate limited.

- ``POST /sandbox/usage`` ``{"amount": 3.50, "description": "..."}``: debit the wallet as API usage
  would (400 ``insufficient_balance`` if it does not cover it); when auto-funding is on and the
  balance falls below its threshold, the default card is charged ``auto_charge_amount`` and credited.
- ``POST /sandbox/subscriptions/{id}/fail-payment``: the renewal payment fails: an open invoice and a
  failed payment intent, the subscription becomes ``past_due`` (from ``active`` or ``trialing``).
- ``POST /sandbox/subscriptions/{id}/cancel``: cancel a subscription (any live status).
- ``GET /sandbox/ledger/check`` (no token): ``{"ok": bool, "problems": [...]}`` from the ledger's
  invariant checker.

Example:
    >>> [op.name for op in CONTROL_OPERATIONS]
    ['sandbox_usage', 'sandbox_fail_payment', 'sandbox_cancel_subscription']
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agent_billing.money import Money
from agent_billing.providers.modelslab.arguments import Args, SubscriptionArgs, Text
from agent_billing.providers.modelslab.results import Result, SubscriptionResult
from agent_billing.providers.modelslab.sandbox import subscriptions as subs
from agent_billing.providers.modelslab.sandbox.dispatch import Ctx, Handler
from agent_billing.providers.modelslab.sandbox.envelope import Reply, envelope, json_response
from agent_billing.providers.modelslab.sandbox.handlers_wallet import record_usage
from agent_billing.providers.modelslab.sandbox.state import Sandbox
from agent_billing.registry import Effect, Operation
from agent_billing.sandbox.units import request_id, to_cents


class UsageArgs(Args):
    """API usage to debit from the wallet.

    Example:
        >>> UsageArgs.model_validate({"amount": "3.50", "description": "image generation"}).amount
        Decimal('3.50')
    """

    amount: Annotated[Money, Field(gt=Decimal("0"), le=Decimal("10000"), description="USD of usage to debit")]
    description: Text | None = None


class UsageResult(Result):
    """What a usage debit did.

    Example:
        >>> result = UsageResult(usage_id="use_1", debited="3.50", balance="6.50", auto_funding={"triggered": False})
        >>> result.usage_id, result.auto_funding
        ('use_1', {'triggered': False})
    """

    usage_id: str
    debited: Any
    balance: Any
    auto_funding: dict[str, Any]


def _usage(ctx: Ctx, args: UsageArgs) -> Reply:
    return Reply(record_usage(ctx, to_cents(args.amount), args.description or "API usage"))


def _fail_payment(ctx: Ctx, args: SubscriptionArgs) -> Reply:
    sub = subs.sub_or_404(ctx.ledger, ctx.account.id, args.subscription_id)
    sub = subs.fail_payment(ctx.ledger, sub, now=ctx.now())
    invoice = ctx.ledger.open_invoice(sub.id)
    return Reply(subs.result(ctx.ledger, sub, f"Renewal payment of subscription {sub.id} failed; it is past_due. "
                             "Fix it with POST /subscriptions/{id}/fix-payment.".replace("{id}", str(sub.id)),
                             invoice_id=invoice.id if invoice else None))


def _cancel(ctx: Ctx, args: SubscriptionArgs) -> Reply:
    sub = subs.sub_or_404(ctx.ledger, ctx.account.id, args.subscription_id)
    subs.require_status(sub, subs.LIVE, "cancel")
    sub = ctx.ledger.update_subscription(sub.id, status="canceled", canceled_at=ctx.now())
    return Reply(subs.result(ctx.ledger, sub, f"Subscription {sub.id} canceled."))


def _control(name: str, path: str, args: type[Args], result: type[Result], effect: Effect) -> Operation:
    return Operation(name=name, group="sandbox", action=name, method="POST", path=path, args=args, result=result,
                     effect=effect, description="sandbox control")


CONTROL_OPERATIONS: tuple[Operation, ...] = (
    _control("sandbox_usage", "/sandbox/usage", UsageArgs, UsageResult, Effect.CHARGE),
    _control("sandbox_fail_payment", "/sandbox/subscriptions/{subscription_id}/fail-payment", SubscriptionArgs,
             SubscriptionResult, Effect.WRITE),
    _control("sandbox_cancel_subscription", "/sandbox/subscriptions/{subscription_id}/cancel", SubscriptionArgs,
             SubscriptionResult, Effect.DESTRUCTIVE),
)
CONTROL_HANDLERS: dict[str, Handler] = {
    "sandbox_usage": _usage,
    "sandbox_fail_payment": _fail_payment,
    "sandbox_cancel_subscription": _cancel,
}


def ledger_check_route(sandbox: Sandbox) -> Route:
    """``GET /sandbox/ledger/check``: the invariant checker over HTTP.

    Example:
        >>> import httpx
        >>> from agent_billing import inprocess, sandbox
        >>> with httpx.Client(transport=inprocess.SyncASGITransport(sandbox.create_app()), base_url="http://s") as http:
        ...     http.get("/sandbox/ledger/check").json()["data"]
        {'ok': True, 'problems': []}
    """

    async def check(request: Request) -> Response:
        problems = await run_in_threadpool(sandbox.ledger.invariant_problems)
        rid = request_id()
        return json_response(envelope({"ok": not problems, "problems": problems}, None, rid), 200,
                             {"X-Request-Id": rid})

    return Route("/sandbox/ledger/check", check, methods=["GET"])
