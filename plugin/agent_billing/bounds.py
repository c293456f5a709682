"""Bounded calls: one total deadline per call and a cap on the answer's size, both enforced while reading.

httpx's timeouts are per socket operation: a server that drips its answer one byte at a time resets the
read timeout with every byte and holds a call open for as long as it likes, and ``response.read()``
keeps whatever size arrives. Here every attempt streams its answer, counts the bytes against
``max_bytes`` and checks the call's monotonic deadline between chunks:

- sync: each socket connect, write and read of the client's own connection pool is given at most the
  time left until the deadline (``install_deadline`` wraps httpcore's network backend; the deadline of
  the call in progress is a context variable), so even a stalled or dripping header ends on time;
- async: the whole exchange runs under ``anyio.fail_after``.

Crossing either bound raises ``Exceeded`` (internal); the client turns it into a typed error.

Example:
    >>> import httpx, time
    >>> def app(request):
    ...     return httpx.Response(200, content=b"x" * 5000)
    >>> http = httpx.Client(transport=httpx.MockTransport(app), base_url="http://api.test")
    >>> read_sync(http, http.build_request("GET", "/"), deadline=time.monotonic() + 5, max_bytes=10_000).content[:3]
    b'xxx'
    >>> try:
    ...     read_sync(http, http.build_request("GET", "/"), deadline=time.monotonic() + 5, max_bytes=1024)
    ... except Exceeded as exc:
    ...     exc.cause
    'response_too_large'
"""

from __future__ import annotations

import contextvars
import time
import typing
from collections.abc import Callable, Iterable
from typing import Any, Literal

import anyio
import httpcore
import httpx

Clock = Callable[[], float]

# The monotonic deadline of the sync call in progress on this thread (None: not inside a bounded call).
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("agent_billing_deadline", default=None)

# Failures before anything left this process: the request was certainly not delivered.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol,
            httpx.LocalProtocolError)

# Connecting never gets more than this, whatever the deadline (a host that does not answer is down).
_CONNECT_CAP = 10.0


class Exceeded(Exception):
    """Internal: an attempt crossed the call's deadline or the answer's size cap (never retried).

    ``sent`` says whether the request may have reached the server (then a mutation's outcome is unknown).

    Example:
        >>> Exceeded("deadline_exceeded", "no answer within 5 s", sent=False).cause
        'deadline_exceeded'
    """

    def __init__(self, cause: Literal["deadline_exceeded", "response_too_large"], detail: str, *, sent: bool,
                 status: int | None = None) -> None:
        super().__init__(detail)
        self.cause, self.detail, self.sent, self.status = cause, detail, sent, status


def _timeouts(left: float) -> dict[str, float | None]:
    """httpx's per-operation timeouts, none longer than the time left."""
    left = max(left, 0.001)
    return httpx.Timeout(left, connect=min(_CONNECT_CAP, left)).as_dict()


class _Body:
    """The bytes of one answer, counted against the cap and the deadline as they arrive."""

    def __init__(self, response: httpx.Response, deadline: float, max_bytes: int, clock: Clock) -> None:
        self.response, self.deadline, self.max_bytes, self.clock = response, deadline, max_bytes, clock
        self.chunks: list[bytes] = []
        self.size = 0
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise self._too_large(f"declares {declared} bytes")

    def _too_large(self, how: str) -> Exceeded:
        return Exceeded("response_too_large", f"the answer {how}, more than the {self.max_bytes} bytes accepted "
                        "(AGENT_BILLING_MAX_RESPONSE_BYTES)", sent=True, status=self.response.status_code)

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise self._too_large("grew past that")
        self.chunks.append(chunk)
        if self.clock() >= self.deadline:
            raise Exceeded("deadline_exceeded", "the answer was still arriving at the deadline", sent=True,
                           status=self.response.status_code)

    def complete(self) -> httpx.Response:
        """The answer as a read response (already decoded: the transfer headers no longer apply)."""
        headers = [(k, v) for k, v in self.response.headers.multi_items()
                   if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
        return httpx.Response(self.response.status_code, headers=headers, content=b"".join(self.chunks),
                              request=self.response.request, extensions=self.response.extensions)


def _late(exc: Exception, deadline: float, clock: Clock) -> Exceeded | None:
    """A transport error raised because the deadline passed, as ``Exceeded`` (None for any other failure)."""
    if isinstance(exc, httpx.TimeoutException) and clock() >= deadline - 0.001:
        return Exceeded("deadline_exceeded", f"no complete answer before the deadline ({type(exc).__name__})",
                        sent=not isinstance(exc, NOT_SENT))
    return None


def read_sync(http: httpx.Client, request: httpx.Request, *, deadline: float, max_bytes: int,
              clock: Clock = time.monotonic) -> httpx.Response:
    """Send ``request`` and read its whole answer before ``deadline`` (monotonic) and within ``max_bytes``.

    Raises ``Exceeded`` for either bound, httpx's transport errors for anything else.
    """
    if clock() >= deadline:
        raise Exceeded("deadline_exceeded", "the deadline passed before this attempt", sent=False)
    request.extensions = {**request.extensions, "timeout": _timeouts(deadline - clock())}
    token = _DEADLINE.set(deadline)
    try:
        response = http.send(request, stream=True)
        try:
            body = _Body(response, deadline, max_bytes, clock)
            for chunk in response.iter_bytes():
                body.add(chunk)
            return body.complete()
        finally:
            response.close()
    except httpx.TransportError as exc:
        late = _late(exc, deadline, clock)
        if late is not None:
            raise late from None
        raise
    finally:
        _DEADLINE.reset(token)


async def read_async(http: httpx.AsyncClient, request: httpx.Request, *, deadline: float, max_bytes: int,
                     clock: Clock = time.monotonic) -> httpx.Response:
    """Async ``read_sync``: the whole exchange (connect, headers, body) runs under one ``anyio.fail_after``."""
    left = deadline - clock()
    if left <= 0:
        raise Exceeded("deadline_exceeded", "the deadline passed before this attempt", sent=False)
    request.extensions = {**request.extensions, "timeout": _timeouts(left)}
    started = False
    try:
        with anyio.fail_after(left):
            response = await http.send(request, stream=True)
            started = True
            try:
                body = _Body(response, deadline, max_bytes, clock)
                async for chunk in response.aiter_bytes():
                    body.add(chunk)
                return body.complete()
            finally:
                # Closing must not be cancelled by the expired scope (the connection would leak), nor hang.
                with anyio.move_on_after(1.0, shield=True):
                    await response.aclose()
    except TimeoutError:
        # Whether the request left is not known when the scope fired during the send: assume it may have.
        raise Exceeded("deadline_exceeded", "no complete answer before the deadline", sent=True,
                       status=response.status_code if started else None) from None
    except httpx.TransportError as exc:
        late = _late(exc, deadline, clock)
        if late is not None:
            raise late from None
        raise


# --- Sync deadline on every socket operation of the client's own pool


def _budget(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` shortened to the time left until the current call's deadline; ``error`` once it passed."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the call's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation ends by the current call's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _budget(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _budget(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname,
                                                     _budget(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sync network backend, with connects and streams bounded by the current call's deadline."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_tcp(host, port, _budget(timeout, httpcore.ConnectTimeout),
                                                       local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_unix_socket(path, _budget(timeout, httpcore.ConnectTimeout),
                                                               socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def install_deadline(http: httpx.Client) -> int:
    """Bound every socket operation of ``http``'s own connection pools by the current call's deadline.

    Returns how many pools were wrapped: 0 for a transport without httpcore's pool (in-process ASGI, a mock),
    where the per-chunk checks of ``read_sync`` remain the bound.

    Example:
        >>> install_deadline(httpx.Client())
        1
    """
    transports: list[Any] = [getattr(http, "_transport", None), *getattr(http, "_mounts", {}).values()]
    wrapped = 0
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.NetworkBackend) and not isinstance(backend, _DeadlineBackend):
            typing.cast(Any, pool)._network_backend = _DeadlineBackend(backend)
            wrapped += 1
    return wrapped
