"""Who may speak over ``agent-billing mcp --http``: the deployer's bearer token, on loopback, addressed to us.

Over stdio the host owns the pipe, so whoever speaks is the host. Over HTTP any process on the machine
can connect to a loopback port, declare elicitation and answer its own approval questions, so every
request must carry the bearer token the deployer configured (``$AGENT_BILLING_MCP_TOKEN``), or the one
the server generated and printed once to stderr at start when none is set. A request without it gets
``401`` with ``WWW-Authenticate: Bearer`` and an empty body. The token is compared in constant time
(``hmac.compare_digest``) and never logged.

Before the token, the request must be addressed to this server exactly: ``Host`` is a loopback name
with this server's own port (``421`` otherwise), and ``Origin``, when a browser sends one, is
``http://`` a loopback name with the same port (``403`` otherwise). Both are parsed, not prefix-matched:
``Host: 127.0.0.1:PORT.evil.example`` and ``Origin: http://localhost:OTHER`` are refused. This is what
stops DNS rebinding (a web page whose name resolves to 127.0.0.1) and other local web pages.

Example:
    >>> import asyncio, httpx
    >>> async def hello(scope, receive, send):
    ...     await send({"type": "http.response.start", "status": 200, "headers": []})
    ...     await send({"type": "http.response.body", "body": b"hello"})
    >>> app = HttpGuard(hello, "t" * 32)
    >>> async def get(**headers):
    ...     transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    ...     async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8765") as client:
    ...         response = await client.get("/mcp", headers=headers)
    ...     return response.status_code, response.headers.get("www-authenticate"), response.text
    >>> asyncio.run(get())
    (401, 'Bearer', '')
    >>> asyncio.run(get(authorization="Bearer " + "t" * 32))
    (200, None, 'hello')
    >>> asyncio.run(get(authorization="Bearer " + "t" * 32, origin="http://localhost:8080"))[0]
    403
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from agent_billing.mcp.options import ENVIRONMENT

__all__ = ["PRINCIPAL_KEY", "TOKEN_VARIABLE", "HttpGuard", "addressed_here", "bearer_token", "origin_allowed"]

TOKEN_VARIABLE = ENVIRONMENT["http_token"]
MIN_TOKEN_LENGTH = 32
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})
# Where a guard records who the request speaks for (ASGI scope key); the server binds approval rounds to it.
PRINCIPAL_KEY = "agent_billing.principal"
LOOPBACK_PRINCIPAL = "loopback-bearer"  # the one holder of the deployer's static token
# host[:port], nothing else: a name or an IPv6 literal, then an optional decimal port.
_AUTHORITY = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?")
_TOKEN = re.compile(r"[\x21-\x7e]+")  # what an HTTP header can carry unchanged


def bearer_token(environ: Mapping[str, str]) -> tuple[str, bool]:
    """The HTTP transport's bearer token and whether it was generated (no ``$AGENT_BILLING_MCP_TOKEN``).

    A configured token must be at least 32 visible ASCII characters: a short one could be guessed by
    any local process. The error never repeats the value.

    Example:
        >>> bearer_token({TOKEN_VARIABLE: "k" * 40})
        ('kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk', False)
        >>> token, generated = bearer_token({})
        >>> generated, len(token) >= MIN_TOKEN_LENGTH
        (True, True)
        >>> bearer_token({TOKEN_VARIABLE: "short"})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: $AGENT_BILLING_MCP_TOKEN must be at least 32 visible ASCII characters (no spaces); make one with: ...
    """
    configured = environ.get(TOKEN_VARIABLE, "")
    if not configured:
        return secrets.token_urlsafe(32), True
    if len(configured) < MIN_TOKEN_LENGTH or not _TOKEN.fullmatch(configured):
        raise ValueError(f"${TOKEN_VARIABLE} must be at least {MIN_TOKEN_LENGTH} visible ASCII characters (no "
                         "spaces); make one with: python -c \"import secrets; print(secrets.token_urlsafe(32))\"")
    return configured, False


def _authority(value: str) -> tuple[str, int] | None:
    """(lower-cased host, port) of ``host[:port]`` (port 80 when absent); None when it is anything else."""
    match = _AUTHORITY.fullmatch(value)
    if match is None:
        return None
    port = int(match.group(2)) if match.group(2) is not None else 80
    return (match.group(1).lower(), port) if 0 < port < 65536 else None


def addressed_here(host: str | None, port: int) -> bool:
    """Whether a ``Host`` header names this server exactly: a loopback name and our own port.

    Example:
        >>> [addressed_here(h, 8765) for h in ("127.0.0.1:8765", "LOCALHOST:8765", "[::1]:8765")]
        [True, True, True]
        >>> [addressed_here(h, 8765) for h in ("127.0.0.1:8765.evil.example", "localhost:8766", "evil.example:8765",
        ...                                     "127.0.0.1", "user@127.0.0.1:8765", "127.0.0.1:8765/x", None)]
        [False, False, False, False, False, False, False]
    """
    parsed = _authority(host) if host is not None else None
    return parsed is not None and parsed[0] in LOOPBACK_NAMES and parsed[1] == port


def origin_allowed(origin: str | None, port: int) -> bool:
    """Whether a browser's ``Origin`` is a page served from this server itself (absent: not a browser, allowed).

    Example:
        >>> [origin_allowed(o, 8765) for o in (None, "http://127.0.0.1:8765", "http://localhost:8765")]
        [True, True, True]
        >>> [origin_allowed(o, 8765) for o in ("http://localhost:8766", "http://localhost:8765.evil.example", "null",
        ...                                     "https://localhost:8765", "http://evil.example", "http://localhost")]
        [False, False, False, False, False, False]
    """
    if origin is None:
        return True
    parts = urlsplit(origin)
    if parts.scheme != "http" or parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        return False
    return addressed_here(parts.netloc, port)


def _headers(scope: Scope, name: bytes) -> list[str]:
    """Every value of one header (a header sent twice is refused by the callers: it is garbled or forged)."""
    return [value.decode("latin-1") for key, value in scope.get("headers", []) if key.lower() == name]


class HttpGuard:
    """ASGI middleware in front of the MCP endpoint: exact Host and Origin, then the bearer token.

    The port compared is the one the connection arrived on (``scope["server"]``), so it holds with
    ``--port 0`` too. Lifespan events pass through; anything but HTTP (websockets) is refused.

    Example:
        >>> HttpGuard(lambda scope, receive, send: None, "t" * 32).port_of({"server": ("127.0.0.1", 8765)})
        8765
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = token.encode("ascii")

    @staticmethod
    def port_of(scope: Scope) -> int | None:
        """The local port the request came in on, if the server says."""
        server = scope.get("server")
        return int(server[1]) if server and server[1] is not None else None

    def authorized(self, scope: Scope) -> bool:
        """Whether the request carries ``Authorization: Bearer <the token>`` (constant-time compare)."""
        headers = _headers(scope, b"authorization")
        scheme, _, presented = (headers[0] if len(headers) == 1 else "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        # Compared as bytes in constant time, whatever was sent: a wrong token, a prefix of it or any junk.
        return hmac.compare_digest(presented.strip(" ").encode("latin-1"), self._expected)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1008})
            return
        port, hosts, origins = self.port_of(scope), _headers(scope, b"host"), _headers(scope, b"origin")
        if port is None or len(hosts) != 1 or not addressed_here(hosts[0], port):
            await _refuse(send, 421, b"Host not allowed")
        elif len(origins) > 1 or not origin_allowed(origins[0] if origins else None, port):
            await _refuse(send, 403, b"Origin not allowed")
        elif not self.authorized(scope):
            await _refuse(send, 401, b"", [(b"www-authenticate", b"Bearer")])
        else:
            await self.app({**scope, PRINCIPAL_KEY: LOOPBACK_PRINCIPAL}, receive, send)


async def _refuse(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})
