"""The Wallgent sandbox: an offline ``/v1/billing`` API of wallgent.com, mounted by the main sandbox at ``/wallgent``.

All 13 billing operations of Wallgent's billing guide, answered as Wallgent documents them: bare JSON
objects in camelCase, amounts as two-decimal strings (``"99.00"``), ISO 8601 UTC timestamps with ``Z``
and errors as ``{"error": {"code", "message", "details"}}``. Any ``wg_test_`` key is an account
(``wg_test_sandbox`` exists from the start); a ``wg_live_`` key gets 403 ``ENVIRONMENT_MISMATCH``.
Plans FREE (the start plan), STARTER $99, GROWTH $249 a month, ENTERPRISE (custom, not self-serve),
each with the guide's read and write requests per minute. Subscriptions are paid by CARD (Stripe's
``pm_card_*`` test payment methods) or WALLET (a sandbox wallet, opened with $500.00).

Sandbox additions, not in Wallgent's API:

- ``GET /v1/sandbox/wallet`` reads the wallet balance WALLET billing debits, ``POST /v1/sandbox/wallet
  {"balance"}`` sets it (``GET /billing`` answers exactly the fields Wallgent documents);
- ``POST /v1/sandbox/policy {"requireHumanApproval", "maxTransactionAmount"}``: money-moving requests then
  get 202 ``APPROVAL_REQUIRED`` or 403 ``POLICY_DENIED`` and move nothing;
- ``POST /v1/sandbox/advance {"seconds"?}`` moves the clock (by default to the period end) and runs renewals;
- ``POST /v1/sandbox/fail-next-renewal`` makes the next renewal fail (PAST_DUE, an open invoice);
- ``POST /v1/sandbox/checkout/{id}/complete {"paymentMethodId"?}`` pays a checkout as the person would.

A billing period is 30 days; an upgrade pays the price difference times the whole days left over 30.

Example:
    >>> import asyncio, httpx
    >>> app = create_wallgent_app(clock=lambda: 1_815_000_000.0, rate_limit=False)
    >>> async def subscribe() -> dict[str, str]:
    ...     async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox",
    ...                                  headers={"Authorization": "Bearer wg_test_sandbox"}) as client:
    ...         r = await client.post("/v1/billing/subscribe", json={"plan": "STARTER", "paymentMethod": "CARD",
    ...                                                              "stripePaymentMethodId": "pm_card_visa"})
    ...         return r.json()
    >>> body = asyncio.run(subscribe())
    >>> body["plan"], body["billingStatus"], body["invoiceId"].startswith("inv_")
    ('STARTER', 'ACTIVE', True)
"""

from agent_billing.providers.wallgent.sandbox.app import DEFAULT_KEY, create_wallgent_app, wallgent_sandbox

__all__ = ["DEFAULT_KEY", "create_wallgent_app", "wallgent_sandbox"]
