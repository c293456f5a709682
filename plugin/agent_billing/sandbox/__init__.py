"""The sandbox: offline, local, real-HTTP stand-ins for every provider's API, in one application.

The core here names no provider. It composes the sandbox each provider declares
(``Connection.sandbox_app``, see :mod:`agent_billing.sandbox.app`) and holds what they share: the
SQLite store machinery (``store``) and its group commit (``group_commit``), idempotency keys
(``idempotency``), rate limiting by the classes a provider declares (``rate_limit``), the card
processor's test cards (``cards``), the mechanics of fault injection (``faults``), units and ids
(``units``), and the loopback server (``server``). Each
provider's own sandbox, with its envelope and error shapes, is the ``sandbox`` package of its provider
package.

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

Example (over loopback, for synchronous code and third-party SDKs):
    >>> from agent_billing.sandbox import SandboxServer
    >>> with SandboxServer(tokens=("sk_sandbox_demo",)) as server:  # a free port, until the block ends
    ...     print(server.base_url)  # doctest: +ELLIPSIS
    http://127.0.0.1:.../api/agents/v1
"""

from agent_billing.cli import missing_extra

# A base install has no web server: say which extra brings it, not a bare "No module named 'starlette'".
_MISSING = missing_extra("sandbox")
if _MISSING is not None:
    raise ModuleNotFoundError(f"agent_billing.sandbox: {_MISSING.replace('this command', 'the sandbox')}",
                              name="starlette")

from agent_billing.sandbox.app import ProviderSandbox, create_app  # noqa: E402
from agent_billing.sandbox.rate_limit import RateLimits  # noqa: E402
from agent_billing.sandbox.server import SandboxServer, serve  # noqa: E402

__all__ = ["ProviderSandbox", "RateLimits", "SandboxServer", "create_app", "serve"]
