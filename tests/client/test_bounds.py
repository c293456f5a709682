"""Bounded calls against a real misbehaving HTTP server on 127.0.0.1 (issue 18, items 4 and 5).

httpx's timeout is per read: a server that drips its answer kept a call with ``timeout=5`` open 60 s, and a
300 MB answer was read whole. Here a tiny socket server sends headers and then one byte every 0.2 s, or a
50 MB body, or keeps answering 503: every call must end within its deadline plus a small margin, with a
typed error (an unknown outcome for a mutation), and an oversized answer must never be held in memory.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from tests.conftest import TOKEN

from agent_billing import (
    AsyncModelsLabClient,
    BillingConnectionError,
    BillingError,
    ModelsLabClient,
    OutcomeUnknownError,
    RetryPolicy,
)
from agent_billing.errors import DeadlineExceededError, ResponseTooLargeError

DEADLINE = 1.0
MARGIN = 0.6  # scheduling on a loaded 2-core machine; the old client took the whole drip (8 s) or more
CAP = 1024 * 1024
BIG = 50 * 1024 * 1024


class MisbehavingServer:
    """A one-file HTTP/1.1 server: reads a request, then answers in the way ``mode`` says.

    drip:        headers (Content-Length 40), then one body byte every 0.2 s
    header_drip: the status line and headers themselves, one byte every 0.2 s
    stall:       headers and half the body, then silence
    huge:        a 50 MB body in 64 KiB chunks, as fast as the client reads (close-delimited)
    huge_declared: the same with ``Content-Length`` announcing it
    busy:        503 with ``Retry-After: 0.3``, every time
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.requests = 0
        self.sent_bytes = 0
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/agents/v1"

    def __enter__(self) -> MisbehavingServer:
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self.threads.append(accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.listener.close()
        for thread in self.threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        self.listener.settimeout(0.05)
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            worker = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            worker.start()
            self.threads.append(worker)

    def _read_request(self, conn: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            body += conn.recv(65536)
        self.requests += 1
        return True

    def _send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        self.sent_bytes += len(data)

    def _drip(self, conn: socket.socket, data: bytes) -> None:
        for i in range(len(data)):
            if self.stop.wait(0.2):
                return
            self._send(conn, data[i:i + 1])

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            conn.settimeout(30)
            while self._read_request(conn):
                body = b'{"data": {"balance": 1, "currency": "USD"}}'.ljust(40)
                head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                if self.mode == "drip":
                    self._send(conn, head + b"Content-Length: 40\r\n\r\n")
                    self._drip(conn, body)
                elif self.mode == "header_drip":
                    self._drip(conn, head + b"Content-Length: 40\r\n\r\n" + body)
                elif self.mode == "stall":
                    self._send(conn, head + b"Content-Length: 40\r\n\r\n" + body[:20])
                    self.stop.wait(20)
                elif self.mode in ("huge", "huge_declared"):
                    declared = f"Content-Length: {BIG}\r\n".encode() if self.mode == "huge_declared" else b""
                    self._send(conn, head + declared + b"Connection: close\r\n\r\n")
                    chunk = b"x" * 65536
                    for _ in range(BIG // len(chunk)):
                        self._send(conn, chunk)
                    return
                elif self.mode == "busy":
                    error = b'{"data": null, "error": {"code": "server_error", "message": "busy"}}'
                    self._send(conn, b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0.3\r\nContent-Length: "
                               + str(len(error)).encode() + b"\r\n\r\n" + error)
                    continue
                return


@pytest.fixture
def server() -> Iterator[Callable[[str], MisbehavingServer]]:
    started: list[MisbehavingServer] = []

    def start(mode: str) -> MisbehavingServer:
        started.append(MisbehavingServer(mode).__enter__())
        return started[-1]

    yield start
    for one in started:
        one.__exit__()


def _sync(srv: MisbehavingServer, **kwargs: object) -> ModelsLabClient:
    return ModelsLabClient(base_url=srv.base_url, token=TOKEN, timeout=DEADLINE, **kwargs)  # type: ignore[arg-type]


def _async(srv: MisbehavingServer, **kwargs: object) -> AsyncModelsLabClient:
    return AsyncModelsLabClient(base_url=srv.base_url, token=TOKEN, timeout=DEADLINE, **kwargs)  # type: ignore[arg-type]


# --- The deadline: connect, headers and body together


@pytest.mark.parametrize("mode", ["drip", "header_drip", "stall"])
def test_a_read_from_a_dripping_server_ends_at_the_deadline(server: Callable[[str], MisbehavingServer],
                                                            mode: str) -> None:
    srv = server(mode)
    with _sync(srv, retry=RetryPolicy.none()) as client:
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError) as info:
            client.get_wallet_balance()
        elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + MARGIN, f"{mode}: the call stayed open {elapsed:.2f} s"
    assert "AGENT_BILLING_TIMEOUT" in info.value.message


def test_a_dripping_answer_to_a_charge_is_an_unknown_outcome_within_the_deadline(
        server: Callable[[str], MisbehavingServer]) -> None:
    srv = server("drip")
    with _sync(srv) as client:
        started = time.monotonic()
        with pytest.raises(OutcomeUnknownError) as info:
            client.fund_wallet(Decimal("25"), "pm_card_visa", idempotency_key="drip-1")
        elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + MARGIN
    assert info.value.cause == "deadline_exceeded" and info.value.idempotency_key == "drip-1"
    assert srv.requests == 1  # never retried past the deadline


@pytest.mark.parametrize("mode", ["drip", "header_drip", "stall"])
async def test_async_a_dripping_server_ends_at_the_deadline(server: Callable[[str], MisbehavingServer],
                                                            mode: str) -> None:
    srv = server(mode)
    async with _async(srv, retry=RetryPolicy.none()) as client:
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError):
            await client.get_wallet_balance()
        elapsed = time.monotonic() - started
        started = time.monotonic()
        with pytest.raises(OutcomeUnknownError) as info:
            await client.fund_wallet(Decimal("25"), "pm_card_visa")
        charge_elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + MARGIN and charge_elapsed < DEADLINE + MARGIN, (elapsed, charge_elapsed)
    assert info.value.cause == "deadline_exceeded"


def test_retries_stop_at_the_deadline(server: Callable[[str], MisbehavingServer]) -> None:
    # 503 with Retry-After 0.3 s, and a policy that would wait up to 30 s over ten retries.
    srv = server("busy")
    generous = RetryPolicy(max_retries=10, base_delay=0.3, max_total_wait=30, jitter=False)
    with _sync(srv, retry=generous) as client:
        started = time.monotonic()
        with pytest.raises(BillingError):  # the last 503, or the deadline
            client.get_wallet_balance()
        elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + MARGIN
    assert 1 <= srv.requests <= 3  # ten retries at 0.3 s would take 3 s


async def test_async_retries_stop_at_the_deadline(server: Callable[[str], MisbehavingServer]) -> None:
    srv = server("busy")
    generous = RetryPolicy(max_retries=10, base_delay=0.3, max_total_wait=30, jitter=False)
    async with _async(srv, retry=generous) as client:
        started = time.monotonic()
        with pytest.raises(OutcomeUnknownError):  # a 5xx to a charge may have committed
            await client.fund_wallet(Decimal("25"), "pm_card_visa")
        elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + MARGIN and srv.requests <= 3


def test_a_charge_that_cannot_connect_says_nothing_was_sent() -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with ModelsLabClient(base_url=f"http://127.0.0.1:{port}/api/agents/v1", token=TOKEN, timeout=DEADLINE,
                       retry=RetryPolicy.none()) as client, pytest.raises(BillingConnectionError) as info:
        client.fund_wallet(Decimal("25"), "pm_card_visa")
    assert not isinstance(info.value, OutcomeUnknownError)
    assert "nothing was sent" in info.value.message


# --- The size cap: enforced while the answer arrives


def _peak_while(run: Callable[[], object]) -> tuple[object, int]:
    tracemalloc.start()
    try:
        outcome: object = run()
    except Exception as exc:  # the typed error is the outcome under test
        outcome = exc
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return outcome, peak


@pytest.mark.parametrize("mode", ["huge", "huge_declared"])
def test_an_oversized_answer_is_refused_while_it_arrives(server: Callable[[str], MisbehavingServer],
                                                         mode: str) -> None:
    srv = server(mode)
    settings_cap = {"max_response_bytes": CAP}
    with _sync(srv, retry=RetryPolicy.none()) as client:
        client._settings = client.settings.model_copy(update=settings_cap)
        error, peak = _peak_while(client.get_wallet_balance)
    assert isinstance(error, ResponseTooLargeError), error
    # 50 MB were offered; memory held stays near the 1 MB cap (the old client grew by three times the body).
    assert peak < 4 * CAP, f"peak {peak / 1e6:.1f} MB for a {BIG / 1e6:.0f} MB answer"
    assert srv.sent_bytes < BIG  # the client stopped reading; the server could not push it all


@pytest.mark.parametrize("mode", ["huge", "huge_declared"])
async def test_async_an_oversized_answer_to_a_charge_is_an_unknown_outcome(
        server: Callable[[str], MisbehavingServer], mode: str) -> None:
    srv = server(mode)
    async with _async(srv, retry=RetryPolicy.none()) as client:
        client._settings = client.settings.model_copy(update={"max_response_bytes": CAP})
        tracemalloc.start()
        try:
            with pytest.raises(OutcomeUnknownError) as info:
                await client.fund_wallet(Decimal("25"), "pm_card_visa")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        with pytest.raises(ResponseTooLargeError):
            await client.get_wallet_balance()
    assert info.value.cause == "response_too_large"
    assert peak < 4 * CAP, f"peak {peak / 1e6:.1f} MB for a {BIG / 1e6:.0f} MB answer"


def test_the_bounds_come_from_the_environment() -> None:
    from agent_billing import Settings
    from agent_billing.errors import InvalidRequestError

    settings = Settings.from_env(environ={"AGENT_BILLING_TIMEOUT": "2.5", "AGENT_BILLING_MAX_RESPONSE_BYTES": "65536",
                                          "AGENT_BILLING_LOCK_TIMEOUT": "3"}, dotenv_path=None)
    assert (settings.timeout, settings.max_response_bytes, settings.lock_timeout) == (2.5, 65536, 3.0)
    with pytest.raises(InvalidRequestError, match="AGENT_BILLING_TIMEOUT"):
        Settings.from_env(environ={"AGENT_BILLING_TIMEOUT": "soon"}, dotenv_path=None)
