"""Running the sandbox on loopback: ``serve`` for the CLI, ``SandboxServer`` for tests and the demo.

The sandbox only ever binds a loopback address (``127.0.0.0/8``, ``::1`` or ``localhost``): it accepts
any request carrying a configured token and has no TLS, so it must not be reachable from a network.

Example:
    >>> with SandboxServer(tokens=("sk_sandbox_demo",), rate_limit=False) as server:
    ...     import httpx
    ...     r = httpx.get(server.base_url + "/wallet/balance", headers={"Authorization": "Bearer sk_sandbox_demo"})
    ...     r.json()["data"]["balance"]
    0.0
"""

from __future__ import annotations

import ipaddress
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette

from agent_billing.registry import get_registry
from agent_billing.sandbox.app import ProviderSandbox, create_app
from agent_billing.sandbox.faults import http_protocol
from agent_billing.sandbox.rate_limit import RateLimits


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``).

    Example:
        >>> is_loopback("127.0.0.2"), is_loopback("::1"), is_loopback("0.0.0.0"), is_loopback("example.com")
        (True, True, False, False)
    """
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    address = "127.0.0.1" if host.strip().lower() == "localhost" else host.strip().strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted connections only for IPPROTO_TCP
    # sockets. Without it a kept-alive request waits for a delayed ACK (~44 ms each). Linux also lets the
    # accepted sockets inherit the listener's TCP_NODELAY.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((address, port))
        # Listen before the banner is printed: a client that reads the URL and connects at once must be
        # queued, not refused, while uvicorn is still starting.
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _root(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(
    host: str = "127.0.0.1",
    port: int = 8787,
    db_path: str = ":memory:",
    rate_limit: bool | RateLimits = True,
    log_requests: bool = False,
    **options: Any,
) -> int:
    """Run the sandbox in the foreground until interrupted; returns the process exit code.

    Refuses (exit code 2) any host that is not loopback; prints what each provider's sandbox says of
    itself (its API base URL, its accounts: a well-known demo token in full, other tokens masked).
    ``log_requests`` prints one line per request (method, path, status). ``db_path``, ``rate_limit``
    and the ``options`` (``tokens=``, ``faults=``, ``fault_seed=``...) go to
    :func:`~agent_billing.sandbox.create_app`.

    Example:
        >>> serve(host="0.0.0.0")  # not loopback: refused at once (the reason goes to stderr)
        2
    """
    if not is_loopback(host):
        print(f"agent-billing sandbox: refusing to listen on {host!r}: only loopback addresses "
              "(127.0.0.0/8, ::1, localhost) are allowed.", file=sys.stderr)
        return 2
    try:
        app = create_app(db_path=db_path, rate_limit=rate_limit, **options)
    except ValueError as err:
        print(f"agent-billing sandbox: {err}", file=sys.stderr)
        return 2
    try:
        sock = _bind(host, port)
    except OSError as err:
        print(f"agent-billing sandbox: cannot listen on {host}:{port}: {err.strerror or err}", file=sys.stderr)
        return 1
    root = _root(sock)
    parts: list[ProviderSandbox] = app.state.providers
    print("agent-billing sandbox: offline provider APIs (no real money moves)")
    for part in parts:
        for line in part.banner(root):
            print(line)
    print(f"  approvals        {root}/approvals/<token> (OutOfBandApprover(base_url='{root}/approvals'))")
    print("  requests         " + ("printed below" if log_requests else "not printed (--log prints each one)"))
    print("  Ctrl+C to stop", flush=True)
    served: Any = RequestLog(app) if log_requests else app
    server = uvicorn.Server(uvicorn.Config(served, log_level="warning", lifespan="off", http=http_protocol(app)))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
        for part in parts:
            part.close()
    return 0


APPROVAL_PATH = re.compile(r"^(/approvals/).+$", re.DOTALL)


class RequestLog:
    """ASGI wrapper printing one line per HTTP request: time, method, path and status (never headers).

    Example:
        >>> import asyncio, httpx
        >>> lines: list[str] = []
        >>> app = RequestLog(create_app(), write=lines.append, clock=lambda: "12:00:00")
        >>> async def get() -> int:
        ...     async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        ...         return (await c.get("/api/agents/v1/wallet/balance")).status_code
        >>> asyncio.run(get()), lines
        (401, ['12:00:00 GET /api/agents/v1/wallet/balance -> 401'])
        >>> async def approval() -> int:
        ...     async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        ...         return (await c.get("/approvals/SECRET-TOKEN")).status_code
        >>> asyncio.run(approval()), lines[-1]
        (404, '12:00:00 GET /approvals/<token> -> 404')
    """

    def __init__(self, app: Any, write: Callable[[str], None] | None = None,
                 clock: Callable[[], str] | None = None) -> None:
        self.app = app
        self.write: Callable[[str], None] = write or (lambda line: print(line, flush=True))
        self.clock: Callable[[], str] = clock or (lambda: time.strftime("%H:%M:%S"))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve ``scope`` through the wrapped app, noting the response status."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status: list[int] = []

        async def noting(message: Any) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        # An approval link's token is the approval itself: the log names the page, never the token.
        path = APPROVAL_PATH.sub(r"\1<token>", scope["path"])
        try:
            await self.app(scope, receive, noting)
        finally:
            self.write(f"{self.clock()} {scope['method']} {path} -> {status[0] if status else 'no response'}")


class SandboxServer:
    """The sandbox on a free loopback port, in a background thread, as a context manager.

    Keyword arguments go to :func:`~agent_billing.sandbox.create_app` (or pass a ready ``app=``).
    ``root_url`` is ``http://127.0.0.1:<port>``; ``base_url`` adds the default provider's sandbox path
    (``/api/agents/v1``).

    Example:
        >>> import httpx
        >>> with SandboxServer(tokens=("sk_a",), reseller_tokens=("sk_r",)) as server:
        ...     r = httpx.get(server.base_url + "/wallet/balance", headers={"Authorization": "Bearer sk_a"})
        ...     server.check_invariants()
        >>> r.status_code, r.json()["data"]["balance"]
        (200, 0.0)
    """

    def __init__(self, *, app: Starlette | None = None, host: str = "127.0.0.1", port: int = 0,
                 startup_timeout: float = 10.0, **create_app_kwargs: Any) -> None:
        if not is_loopback(host):
            raise ValueError("the sandbox listens on loopback addresses only")
        if app is not None and create_app_kwargs:
            raise TypeError("pass either app= or create_app keyword arguments, not both")
        self._owns_app = app is None
        self.app: Starlette = app if app is not None else create_app(**create_app_kwargs)
        self._host, self._port, self._timeout = host, port, startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self.root_url = ""

    @property
    def base_url(self) -> str:
        """The default provider's API base URL (``http://127.0.0.1:<port>/api/agents/v1``)."""
        return self.root_url + get_registry().connection.sandbox_path

    @property
    def sandbox(self) -> Any:
        """The default provider's sandbox state (its ledger, clock, publishable key)."""
        return self.app.state.sandbox

    @property
    def ledger(self) -> Any:
        """The default provider's ledger."""
        return self.sandbox.ledger

    def check_invariants(self) -> None:
        """Raise if any provider's books broke an invariant."""
        for part in self.app.state.providers:
            part.check_invariants()

    def start(self) -> SandboxServer:
        """Start serving and wait until the port accepts requests."""
        if self._thread is not None:
            raise RuntimeError("already started")
        self._sock = _bind(self._host, self._port)
        self.root_url = _root(self._sock)
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False,
                                http=http_protocol(self.app))
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name="agent-billing-sandbox", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self._timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving (waits for the server thread); closes the ledger of an app it created."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(self._timeout)
        if self._sock is not None:
            self._sock.close()
        if self._owns_app:
            for part in self.app.state.providers:
                part.close()
        self._server, self._thread, self._sock = None, None, None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
