"""The sandbox: an offline, local, real-HTTP ModelsLab Agent Control Plane (all 34 billing operations).

It keeps a real SQLite ledger, charges Stripe-style test cards (``pm_card_visa`` succeeds,
``pm_card_chargeDeclined`` declines, ``pm_card_authenticationRequired`` needs 3-D Secure...), replays
idempotent requests, enforces the documented rate limits, serves hosted checkout pages for payment
links, and answers the part of Stripe's API that tokenization uses, so the official ``stripe`` SDK can
be pointed at it. The client, the demo and the tests all run against it.

Example (in-process, through httpx's ASGI transport):
    >>> import asyncio, httpx
    >>> from agent_billing.sandbox import create_app
    >>> app = create_app(tokens=("sk_sandbox_demo",))
    >>> async def plans() -> int:
    ...     async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox",
    ...                                  headers={"Authorization": "Bearer sk_sandbox_demo"}) as client:
    ...         return (await client.get("/api/agents/v1/subscriptions/plans")).json()["data"]["count"]
    >>> asyncio.run(plans())
    9

Example (over loopback, for synchronous code and the ``stripe`` SDK):
    >>> from agent_billing.sandbox import SandboxServer
    >>> with SandboxServer(tokens=("sk_sandbox_demo",)) as server:  # doctest: +SKIP
    ...     print(server.base_url)  # http://127.0.0.1:<port>/api/agents/v1
"""

from agent_billing.sandbox.app import create_app
from agent_billing.sandbox.rate_limit import RateLimits
from agent_billing.sandbox.server import SandboxServer

__all__ = ["RateLimits", "SandboxServer", "create_app"]
