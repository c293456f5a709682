"""Fault injection: a provider sandbox misbehaves like an unlucky network, on purpose and reproducibly.

A provider's sandbox that takes ``faults="drop_after_commit=0.1,garble=0.05"`` and ``fault_seed=7`` (or
``agent-billing sandbox --faults SPEC --fault-seed N``) draws one fault, or none, for every request to a
**money-moving operation** (:func:`eligible`): a non-GET operation whose declared effect moves money, or
whose effect depends on its arguments. Reads, other writes and the sandbox-only endpoints are never
touched. Off by default; the same seed gives the same faults for the same sequence of requests. The
mechanics are here; the provider's sandbox says how its API words a refusal (:class:`Refusal`).

==================== ================================================================ ===========
kind                 what happens                                                     committed
==================== ================================================================ ===========
``reset``            the connection is reset before the request is read               no
``error_before_commit`` a 500 in the provider's error shape                           no
``rate_limit``       a 429 with ``Retry-After``, in the provider's error shape        no
``drop_after_commit`` the request runs, then the connection closes without a response yes
``delay``            the request runs, the response is held past the client's timeout yes
``garble``           the request runs; a 2xx answer arrives as 200 with a body that   yes
                     is not valid JSON (an error answer is passed through unchanged)
==================== ================================================================ ===========

Over a real socket (``SandboxServer``, ``agent-billing sandbox``) the connection faults are real: a
TCP reset (``SO_LINGER`` 0), a closed connection, a response sent after ``fault_delay_seconds``. In
process (``httpx.ASGITransport``) there is no connection, so they raise the httpx transport error a
client would see: :class:`InjectedReset` (``httpx.ReadError``), :class:`InjectedDisconnect`
(``httpx.RemoteProtocolError``) and :class:`InjectedTimeout` (``httpx.ReadTimeout``), after the work
is committed where the table says so.

Example:
    >>> parse_faults("garble=0.25, reset=0.5")
    {'garble': 0.25, 'reset': 0.5}
    >>> first, again = FaultInjector({"rate_limit": 0.5}, seed=3), FaultInjector({"rate_limit": 0.5}, seed=3)
    >>> draws = [first.draw() for _ in range(8)]
    >>> draws == [again.draw() for _ in range(8)], sorted(set(draws), key=str)
    (True, [None, 'rate_limit'])
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response

from agent_billing.registry import Operation

KINDS = ("drop_after_commit", "error_before_commit", "delay", "reset", "rate_limit", "garble")
TRANSPORT_EXTENSION = "agent_billing.transport"  # the asyncio transport, set by ``http_protocol``'s class


class InjectedReset(httpx.ReadError):
    """In process: the connection was reset before the request was read (nothing ran).

    Example:
        >>> isinstance(InjectedReset("reset"), httpx.TransportError)
        True
    """


class InjectedDisconnect(httpx.RemoteProtocolError):
    """In process: the server closed the connection without a response (the request ran).

    Example:
        >>> isinstance(InjectedDisconnect("closed"), httpx.TransportError)
        True
    """


class InjectedTimeout(httpx.ReadTimeout):
    """In process: the response did not arrive before the client's timeout (the request ran).

    Example:
        >>> isinstance(InjectedTimeout("late"), httpx.TimeoutException)
        True
    """


def parse_faults(spec: str | Mapping[str, float]) -> dict[str, float]:
    """``"kind=probability,..."`` (or a mapping) as a checked dict; ``ValueError`` names what is wrong.

    Example:
        >>> parse_faults({"delay": 0.1})
        {'delay': 0.1}
        >>> parse_faults("explode=0.1")
        Traceback (most recent call last):
        ValueError: unknown fault 'explode'; known: drop_after_commit, error_before_commit, delay, reset, rate_limit, garble
        >>> parse_faults("reset=0.7,garble=0.6")
        Traceback (most recent call last):
        ValueError: fault probabilities add up to 1.3, more than 1
    """
    items: list[tuple[str, Any]]
    if isinstance(spec, str):
        items = []
        for part in filter(None, (p.strip() for p in spec.split(","))):
            kind, sep, value = part.partition("=")
            if not sep:
                raise ValueError(f"expected kind=probability, got {part!r}")
            items.append((kind.strip(), value.strip()))
    else:
        items = list(spec.items())
    out: dict[str, float] = {}
    for kind, value in items:
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(KINDS)}")
        try:
            probability = float(value)
        except ValueError:
            raise ValueError(f"fault {kind}: {value!r} is not a probability") from None
        if not 0 <= probability <= 1:
            raise ValueError(f"fault {kind}: probability {probability} is not between 0 and 1")
        out[kind] = probability
    total = sum(out.values())
    if total > 1 + 1e-9:
        raise ValueError(f"fault probabilities add up to {total:g}, more than 1")
    return out


@dataclass(frozen=True)
class Refusal:
    """An injected refusal the provider's sandbox turns into its own error answer: HTTP ``status``, a
    ``message`` that says nothing was changed, the ``headers`` to send and, for a 429, ``retry_after``.

    Example:
        >>> refusal = Refusal("rate_limit", 429, "retry later", {"Retry-After": "1"}, retry_after=1)
        >>> refusal.status, refusal.headers["Retry-After"]
        (429, '1')
    """

    kind: str
    status: int
    message: str
    headers: Mapping[str, str] = field(default_factory=dict)
    retry_after: int | None = None


Refuse = Callable[[Refusal], Response]


def plain_refusal(refusal: Refusal) -> Response:
    """The default refusal: the status, the headers and the message as plain text (a provider's sandbox
    passes its own, in its API's error shape).

    Example:
        >>> r = plain_refusal(Refusal("error_before_commit", 500, "nothing was changed"))
        >>> r.status_code, r.body
        (500, b'nothing was changed')
    """
    return Response(refusal.message, status_code=refusal.status, headers=dict(refusal.headers), media_type="text/plain")


def eligible(op: Operation) -> bool:
    """Whether faults apply to ``op``: a non-GET operation that moves (or may move) money.

    Example:
        >>> from agent_billing.registry import Effect, Operation
        >>> from pydantic import BaseModel
        >>> def op(method: str, effect: Effect) -> Operation:
        ...     return Operation(name="example", group="g", action="a", method=method, path="/x",
        ...                      args=BaseModel, result=BaseModel, effect=effect, description="An example.")
        >>> eligible(op("POST", Effect.CHARGE)), eligible(op("GET", Effect.READ)), eligible(op("POST", Effect.WRITE))
        (True, False, False)
    """
    return op.method != "GET" and (op.effect.moves_money or op.effect_for is not None)


class FaultInjector:
    """Draws faults with a seeded generator and applies them around a request.

    ``counts`` tallies what was drawn per kind (``"none"`` for no fault); ``history`` keeps the last
    draws as ``(operation, kind or None)``.

    Example:
        >>> injector = FaultInjector("garble=1", seed=0)
        >>> injector.draw(), injector.counts["garble"]
        ('garble', 1)
    """

    def __init__(self, faults: str | Mapping[str, float], *, refuse: Refuse = plain_refusal, seed: int | None = None,
                 delay_seconds: float = 30.0, retry_after: int = 1) -> None:
        self.faults = parse_faults(faults)
        self.refuse = refuse  # the provider's error answer for an injected refusal
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
        self.delay_seconds = delay_seconds
        self.retry_after = retry_after
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()  # draws happen on the event loop, but keep them safe anyway
        self.counts: Counter[str] = Counter()
        self.history: deque[tuple[str, str | None]] = deque(maxlen=10_000)

    def draw(self, operation: str = "") -> str | None:
        """The fault of the next eligible request, or ``None``."""
        with self._lock:
            roll = self._random.random()
            kind: str | None = None
            for name in KINDS:  # a fixed order, so a seed means the same thing whatever the spec's order
                probability = self.faults.get(name, 0.0)
                if roll < probability:
                    kind = name
                    break
                roll -= probability
            self.counts[kind or "none"] += 1
            self.history.append((operation, kind))
            return kind

    async def apply(self, op: Operation, request: Request, respond: Callable[[], Awaitable[Response]]) -> Response:
        """Run ``respond`` (which reads the body and runs the pipeline) with a drawn fault around it."""
        kind = self.draw(op.name)
        transport = request.scope.get("extensions", {}).get(TRANSPORT_EXTENSION)
        if kind == "reset":
            return await _reset(transport)
        if kind == "error_before_commit":
            return self.refuse(Refusal(kind, 500, "Injected fault (error_before_commit): nothing was changed."))
        if kind == "rate_limit":
            return self.refuse(Refusal(kind, 429, f"Injected fault (rate_limit): retry after {self.retry_after} "
                                       "seconds.", {"Retry-After": str(self.retry_after)}, self.retry_after))
        response = await respond()  # the work is committed from here on
        if kind == "drop_after_commit":
            return await _drop(transport)
        if kind == "delay":
            if transport is None:
                raise InjectedTimeout("injected fault (delay): no response before the timeout")
            await _held(request, self.delay_seconds)
        if kind == "garble" and response.status_code < 300:
            body = bytes(response.body)
            return Response(body[: len(body) // 2], status_code=200, media_type="application/json",
                            headers={"X-Request-Id": response.headers.get("x-request-id", "")})
        return response


async def _held(request: Request, seconds: float) -> None:
    """Hold the response ``seconds``, or until the client gives up (no point sending to nobody, and a
    server shutting down need not wait)."""

    async def disconnected() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(disconnected(), timeout=seconds)


async def _gone() -> Response:
    # Let connection_lost run, so uvicorn knows the client is gone and sends nothing more.
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    return Response(status_code=500)  # never sent


async def _reset(transport: Any) -> Response:
    if transport is None:
        raise InjectedReset("injected fault (reset): connection reset before the request was read")
    sock = transport.get_extra_info("socket")
    if sock is not None:  # linger 0: close with RST, not FIN
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    return await _gone()


async def _drop(transport: Any) -> Response:
    if transport is None:
        raise InjectedDisconnect("injected fault (drop_after_commit): server disconnected without a response")
    transport.close()
    return await _gone()


def http_protocol(app: Any) -> Any:
    """The uvicorn ``http`` setting for ``app``: ``"auto"``, or with faults a protocol that exposes the
    connection's transport to the app (so a fault can reset or close the real socket).

    Example:
        >>> from starlette.applications import Starlette
        >>> app = Starlette()
        >>> http_protocol(app)
        'auto'
        >>> app.state.faults = FaultInjector("reset=0.1")
        >>> http_protocol(app).__name__
        'FaultableHTTPProtocol'
    """
    if getattr(app.state, "faults", None) is None:
        return "auto"
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    class FaultableHTTPProtocol(AutoHTTPProtocol):  # type: ignore[valid-type,misc]
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            inner: Any = getattr(self, "app")  # noqa: B009  (set by the base class; mypy cannot see its type)

            async def with_transport(scope: dict[str, Any], receive: Any, send: Any) -> None:
                scope = {**scope, "extensions": {**(scope.get("extensions") or {}), TRANSPORT_EXTENSION: transport}}
                await inner(scope, receive, send)

            self.app = with_transport

    return FaultableHTTPProtocol
