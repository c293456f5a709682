"""Signed webhooks: verify a delivery, act on each event once, and (for the sandboxes) send them.

The core here names no provider: each declares its format as ``Connection.webhook`` (a
``WebhookFormat``: signature header, timestamp, type and id fields, retry schedule, the events its
sandbox sends, other names it answers to), and ``verify_webhook(provider, ...)`` looks it up by the
provider's name or alias (or takes a ``WebhookFormat`` itself, for a receiver of a provider the library
does not ship). Every declared format is signed the same way: HMAC-SHA256 of the raw request body with
the endpoint's secret, sent as ``sha256=<hex>`` in the declared header. What each provider sends (its
header, payload and events, and which of them are documented or assumed) is documented with its
declaration, in its package's ``webhooks`` module (``agent_billing.providers.<name>.webhooks``).

``verify_webhook`` checks the signature in constant time over the exact bytes received, so verify
before parsing, never a re-serialised body.

Replay safety, by default:

- **Age.** A provider may sign no separate timestamp header, but the event's own time is in the signed
  body (the declared ``timestamp_field``). ``verify_webhook`` refuses an event whose time is missing,
  older than ``tolerance`` (``DEFAULT_TOLERANCE``, 5 minutes) or that far in the future. A captured
  delivery therefore cannot be replayed later; pass a larger ``tolerance`` if your receiver may be down
  longer than the provider's retries last, and ``tolerance=None`` only in tests.
- **Once.** Inside that window a retried (or replayed) delivery carries the same event again: a
  deduplicator remembers the events a handler has acted on, by the declared ``id_field`` or, for a
  payload without one, by the SHA-256 of its canonical JSON (keys sorted, compact), so the same event
  re-serialised with its keys in another order is still one event. Use
  :func:`agent_billing.webhook_events.event_deduplicator` in production: it keeps the events in the
  guardrail store (SQLite or PostgreSQL), so a restart or another worker does not act twice.
  ``EventDeduplicator`` here is in memory, for tests and single-process tools.

Example (a made-up provider's format; the shipped ones are found by name):
    >>> fmt = WebhookFormat(header="X-Hook-Signature", timestamp_field="occurred_at", id_field="id")
    >>> body = b'{"id":"evt_1","type":"invoice.paid","occurred_at":"2026-11-29T10:00:00Z","data":{}}'
    >>> headers = sign_webhook(fmt, body, "whsec_test")
    >>> sent_at = event_time("2026-11-29T10:00:00Z")
    >>> verify_webhook(fmt, body, headers, "whsec_test", now=sent_at + 2)["type"]
    'invoice.paid'
    >>> verify_webhook(fmt, body, headers, "whsec_test", now=sent_at + 86_400)
    Traceback (most recent call last):
    agent_billing.webhooks.WebhookSignatureError: the event is 86400 s old (tolerance 300 s)
    >>> verify_webhook(fmt, body.replace(b"paid", b"void"), headers, "whsec_test", now=sent_at)
    Traceback (most recent call last):
    agent_billing.webhooks.WebhookSignatureError: X-Hook-Signature does not match the body (wrong secret, or the body was changed)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import httpx

from agent_billing import wire
from agent_billing.conventions import WebhookFormat
from agent_billing.registry import get_registry, provider_names

__all__ = ["DEFAULT_TOLERANCE", "RETRY_DELAYS", "EventDeduplicator", "WebhookFormat", "WebhookProvider", "WebhookSender",
           "WebhookSignatureError", "canonical_json", "event_key", "event_time", "seen_key", "sign_webhook", "signature",
           "verify_webhook", "webhook_format"]

# How old (or how far in the future) an event's own signed time may be: Standard Webhooks' default.
DEFAULT_TOLERANCE = 300.0
# The waits between a sender's attempts when the provider documents none: 5 retries, doubling from 1 s.
RETRY_DELAYS: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# A dict, Starlette's or httpx's headers, or (name, value) pairs: str, or bytes as in a raw ASGI scope.
Headers = Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]]
_RESOLVED: dict[str, WebhookFormat] = {}  # name or alias -> format; registries never change once loaded
# A provider's name or alias (its declared format is looked up), or a format itself.
WebhookProvider = str | WebhookFormat


class WebhookSignatureError(Exception):
    """A delivery that must not be acted on: missing or malformed signature, wrong signature, a body that is
    not a JSON object, or (with a tolerance) an event too old or from the future. Answer it with 400.

    Example:
        >>> WebhookSignatureError("no signature").reason
        'no signature'
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def webhook_format(provider: WebhookProvider) -> WebhookFormat:
    """The webhook format a provider declares, found by its name or one of its aliases (case-insensitive);
    a ``WebhookFormat`` is its own format.

    Example:
        >>> declared = [name for name in provider_names() if get_registry(name).connection.webhook]
        >>> all(webhook_format(name.upper()) is get_registry(name).connection.webhook for name in declared)
        True
        >>> webhook_format("no-such-provider")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ValueError: unknown webhook provider 'no-such-provider'; known: ...
    """
    if isinstance(provider, WebhookFormat):
        return provider
    wanted = provider.strip().lower()
    if wanted in _RESOLVED:
        return _RESOLVED[wanted]
    names = provider_names()
    declared = {name: fmt for name in names if (fmt := get_registry(name).connection.webhook) is not None}
    for name, fmt in declared.items():
        if name == wanted or fmt.answers_to(wanted):
            _RESOLVED[wanted] = fmt
            return fmt
    known = [spelling for name, fmt in declared.items() for spelling in (name, *fmt.aliases)]
    raise ValueError(f"unknown webhook provider {provider!r}; known: {', '.join(known)}")


def _secret(secret: str | bytes) -> bytes:
    key = secret.encode() if isinstance(secret, str) else bytes(secret)
    if not key:
        raise ValueError("the webhook secret is empty: configure the endpoint's signing secret")
    return key


def signature(body: bytes, secret: str | bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the raw body with the secret.

    Example:
        >>> signature(b"{}", "s")[:15]
        'sha256=143ca8d5'
    """
    return "sha256=" + hmac.new(_secret(secret), body, hashlib.sha256).hexdigest()


def sign_webhook(provider: WebhookProvider, body: bytes, secret: str | bytes) -> dict[str, str]:
    """The headers a provider sends with ``body`` (what the sandboxes send, and what tests sign with).

    Example:
        >>> sorted(sign_webhook(WebhookFormat(header="X-Example-Signature", timestamp_field="at"), b"{}", "s"))
        ['Content-Type', 'X-Example-Signature']
    """
    return {"Content-Type": "application/json", webhook_format(provider).header: signature(body, secret)}


def _text(value: object) -> str:
    # Raw ASGI headers are (bytes, bytes) pairs, Latin-1 by the HTTP spec.
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)


def _header(headers: Headers, name: str) -> str:
    pairs = headers.items() if isinstance(headers, Mapping) or hasattr(headers, "items") else headers
    values = [_text(v) for k, v in pairs if _text(k).lower() == name.lower()]
    if not values:
        raise WebhookSignatureError(f"no {name} header")
    if len(values) > 1:
        raise WebhookSignatureError(f"more than one {name} header")
    return values[0].strip()


def event_time(value: Any) -> float | None:
    """Unix seconds of an event timestamp (ISO 8601, ``Z`` or an offset, or epoch seconds), or None.

    None also for a number no clock can compare (NaN, infinite, beyond a float), so a tolerance refuses it.

    Example:
        >>> event_time("1970-01-01T00:01:00Z"), event_time(60), event_time("yesterday"), event_time(10 ** 400)
        (60.0, 60.0, None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) or hasattr(value, "is_finite"):
        try:
            seconds = float(value)
        except (OverflowError, ValueError):
            return None
        return seconds if math.isfinite(seconds) else None
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
    except (ValueError, OverflowError):
        return None


def verify_webhook(provider: WebhookProvider, body: bytes | str, headers: Headers, secret: str | bytes, *,
                   tolerance: float | None = DEFAULT_TOLERANCE, now: float | None = None) -> dict[str, Any]:
    """Check a delivery's signature (constant time, over the raw body) and its age; return the parsed event.

    ``headers`` are matched case-insensitively (a dict, Starlette's or httpx's headers, or pairs).
    ``tolerance`` (seconds, default 300) refuses an event whose own signed timestamp (the format's
    ``timestamp_field``) is missing, older than that, or that far in the future, so a
    captured delivery cannot be replayed later; ``None`` turns the age check off (tests only). ``now`` is
    the current Unix time (default ``time.time()``). Raises ``WebhookSignatureError``.

    Example:
        >>> fmt = WebhookFormat(header="Example-Signature", timestamp_field="timestamp", type_field="event")
        >>> body = b'{"event":"invoice.paid","timestamp":"2026-11-29T10:00:00Z","data":{}}'
        >>> headers = {"example-signature": signature(body, "whsec_1")}
        >>> verify_webhook(fmt, body, headers, "whsec_1", now=event_time("2026-11-29T10:00:05Z"))["event"]
        'invoice.paid'
        >>> verify_webhook(fmt, body, headers, "whsec_1", now=event_time("2026-11-29T11:00:00Z"))
        Traceback (most recent call last):
        agent_billing.webhooks.WebhookSignatureError: the event is 3600 s old (tolerance 300 s)
    """
    fmt = webhook_format(provider)
    raw = body.encode() if isinstance(body, str) else bytes(body)
    sent = _header(headers, fmt.header)
    scheme, _, digest = sent.partition("=")
    digest = digest.strip().lower()
    if scheme.strip().lower() != "sha256" or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise WebhookSignatureError(f"{fmt.header} is malformed: expected sha256=<64 hex digits>")
    expected = hmac.new(_secret(secret), raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, digest):
        raise WebhookSignatureError(f"{fmt.header} does not match the body (wrong secret, or the body was changed)")
    try:
        event = wire.loads(raw)
    except (ValueError, RecursionError):
        raise WebhookSignatureError("the signed body is not valid JSON") from None
    if not isinstance(event, dict):
        raise WebhookSignatureError("the signed body is not a JSON object")
    if tolerance is not None:
        if not (isinstance(tolerance, (int, float)) and math.isfinite(tolerance) and tolerance > 0):
            raise ValueError("tolerance must be a positive number of seconds (None turns the age check off)")
        moment = event_time(event.get(fmt.timestamp_field))
        if moment is None:
            raise WebhookSignatureError(f"the event has no readable {fmt.timestamp_field}")
        current = time.time() if now is None else now
        if current - moment > tolerance:
            raise WebhookSignatureError(f"the event is {current - moment:.0f} s old (tolerance {tolerance:g} s)")
        if moment - current > tolerance:
            raise WebhookSignatureError(f"the event is {moment - current:.0f} s in the future (tolerance {tolerance:g} s)")
    return event


def canonical_json(event: Mapping[str, Any]) -> bytes:
    """The event as canonical JSON: keys sorted at every level, compact, UTF-8, numbers as they were read.

    Two serialisations of one event (keys in another order, other whitespace) give the same bytes.

    Example:
        >>> canonical_json({"b": 1, "a": {"d": [2, 1], "c": None}})
        b'{"a":{"c":null,"d":[2,1]},"b":1}'
    """
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                      default=_canonical_default).encode()


def _canonical_default(value: Any) -> Any:
    # wire.loads reads non-integer numbers as Decimal; their text is the number as it arrived.
    if hasattr(value, "is_finite"):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def event_key(provider: WebhookProvider, event: Mapping[str, Any]) -> str:
    """What identifies an event across retries: its declared id field, else the digest of its canonical JSON.

    Example:
        >>> with_id = WebhookFormat(header="X-Example-Signature", timestamp_field="at", id_field="id")
        >>> event_key(with_id, {"id": "evt_1"})
        'evt_1'
        >>> without = WebhookFormat(header="Example-Signature", timestamp_field="at")
        >>> event_key(without, {"event": "invoice.paid", "at": "t"}) == event_key(without, {"at": "t", "event": "invoice.paid"})
        True
    """
    fmt = webhook_format(provider)
    if fmt.id_field and isinstance(event.get(fmt.id_field), str) and event[fmt.id_field]:
        return str(event[fmt.id_field])
    return "sha256:" + hashlib.sha256(canonical_json(event)).hexdigest()


def seen_key(provider: WebhookProvider, event: Mapping[str, Any]) -> str:
    """The key a deduplicator keeps for an event: the provider (by its signature header) and ``event_key``.

    Example:
        >>> one = WebhookFormat(header="X-One-Signature", timestamp_field="at", id_field="id", aliases=("One",))
        >>> other = WebhookFormat(header="X-Other-Signature", timestamp_field="at", id_field="id")
        >>> seen_key(one, {"id": "evt_1"}), seen_key(other, {"id": "evt_1"})
        ('X-One-Signature:evt_1', 'X-Other-Signature:evt_1')
    """
    # Per provider (its signature header names it, whatever alias the caller used): one deduplicator may
    # serve several providers, and one's event id must not silence another's event.
    return f"{webhook_format(provider).header}:{event_key(provider, event)}"


class EventDeduplicator:
    """Remembers, in this process's memory, the events a handler acted on, so a retried delivery is acted on once.

    For tests and single-process tools: a restart forgets everything, and another worker has its own
    memory. Production receivers use :func:`agent_billing.webhook_events.event_deduplicator`, the
    same interface kept in the guardrail store. Thread-safe; keeps at most ``max_events`` keys for
    ``ttl`` seconds of the injected ``clock`` (a provider's retries span seconds to minutes; a day is
    ample). If acting on an event fails, ``forget`` it so the provider's retry is handled.

    Example:
        >>> fmt = WebhookFormat(header="X-Example-Signature", timestamp_field="at", id_field="id")
        >>> dedup = EventDeduplicator()
        >>> dedup.first_time(fmt, {"id": "evt_1"}), dedup.first_time(fmt, {"id": "evt_1"})
        (True, False)
    """

    def __init__(self, *, ttl: float = 86_400.0, max_events: int = 100_000, clock: Callable[[], float] = time.time) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self._ttl, self._max, self._clock = ttl, max_events, clock

    def first_time(self, provider: WebhookProvider, event: Mapping[str, Any]) -> bool:
        """True the first time an event is seen (and remember it); False for a repeat."""
        key, now = seen_key(provider, event), self._clock()
        with self._lock:
            while self._seen and (next(iter(self._seen.values())) <= now - self._ttl or len(self._seen) >= self._max):
                self._seen.popitem(last=False)
            if key in self._seen:
                return False
            self._seen[key] = now
            return True

    def forget(self, provider: WebhookProvider, event: Mapping[str, Any]) -> None:
        """Let the next delivery of this event through again (acting on it failed)."""
        with self._lock:
            self._seen.pop(seen_key(provider, event), None)


# --- sending (the sandboxes) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """A registered receiver: its URL, secret, and the waits between attempts."""

    url: str
    secret: str
    delays: tuple[float, ...]


class WebhookSender:
    """Delivers signed events to a registered URL from a background thread, retrying on the provider's schedule.

    A delivery is an HTTP POST of the compact JSON event with the provider's signature header; any 2xx
    ends it, anything else (or no answer) is retried after each of ``delays`` (the provider's declared
    ``retry_delays``, else ``RETRY_DELAYS``: 1, 2, 4, 8, 16 s; ``register(..., retry_scale=0.01)``
    shortens them). ``sleep`` and ``clock`` are injectable,
    so a test never waits on the real schedule. Only loopback URLs are accepted unless ``any_host``.
    ``attempts`` records every try (event, attempt number, status or error); ``wait_idle`` blocks until
    the queue is drained.

    Example:
        >>> sender = WebhookSender(WebhookFormat(header="X-Example-Signature", timestamp_field="at"))
        >>> sender.register("http://127.0.0.1:9/hook", "whsec_1", retry_scale=0.5).delays
        (0.5, 1.0, 2.0, 4.0, 8.0)
        >>> sender.register("https://example.com/hook", "whsec_1")
        Traceback (most recent call last):
        ValueError: the sandbox delivers webhooks to loopback URLs only (127.0.0.1, localhost, ::1)
    """

    def __init__(self, provider: WebhookProvider, *, sleep: Callable[[float], Any] = time.sleep,
                 clock: Callable[[], float] = time.time, timeout: float = 5.0, any_host: bool = False,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.provider = provider
        self._format = webhook_format(provider)
        self._sleep, self._clock, self._timeout, self._any_host = sleep, clock, timeout, any_host
        self._transport = transport
        self._endpoint: Endpoint | None = None
        self._queue: queue.Queue[tuple[Endpoint, bytes, str] | None] = queue.Queue()  # None: stop
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.attempts: list[dict[str, Any]] = []

    def register(self, url: str, secret: str, *, retry_scale: float = 1.0) -> Endpoint:
        """Send later events to ``url`` signed with ``secret`` (replaces an earlier registration)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be an http(s) URL")
        if not self._any_host and parts.hostname not in LOOPBACK_HOSTS:
            raise ValueError("the sandbox delivers webhooks to loopback URLs only (127.0.0.1, localhost, ::1)")
        if not secret:
            raise ValueError("secret must not be empty")
        if not 0 <= retry_scale <= 1:
            raise ValueError("retry_scale must be from 0 to 1")
        schedule = self._format.retry_delays if self._format.retry_delays is not None else RETRY_DELAYS
        endpoint = Endpoint(url, secret, tuple(d * retry_scale for d in schedule))
        with self._lock:
            self._endpoint = endpoint
        return endpoint

    @property
    def endpoint(self) -> Endpoint | None:
        """The registered receiver, if any."""
        return self._endpoint

    def close(self, timeout: float = 5.0) -> None:
        """Stop the delivery thread once the queued deliveries are done, and forget the receiver."""
        with self._lock:
            self._endpoint, thread = None, self._thread
            if thread is not None and thread.is_alive():
                self._queue.put(None)
        if thread is not None:
            thread.join(timeout)

    def emit(self, event: Mapping[str, Any]) -> bool:
        """Queue ``event`` for delivery; False (and nothing queued) when no receiver is registered."""
        endpoint = self._endpoint
        if endpoint is None:
            return False
        body = json.dumps(event, separators=(",", ":"), default=str).encode()
        fields = (self._format.id_field, self._format.type_field)
        label = next((str(event[f]) for f in fields if f and event.get(f)), "event")
        with self._lock:
            self._queue.put((endpoint, body, label))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=f"{self._format.header}-webhooks", daemon=True)
                self._thread.start()
        return True

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued delivery is finished (delivered or out of retries); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def _run(self) -> None:
        with httpx.Client(timeout=self._timeout, transport=self._transport) as http:
            while True:  # a daemon thread, idle on the queue until close()
                item = self._queue.get()
                if item is None:
                    self._queue.task_done()
                    return
                try:
                    self._deliver(http, *item)
                finally:
                    self._queue.task_done()

    def _deliver(self, http: httpx.Client, endpoint: Endpoint, body: bytes, label: str) -> None:
        headers = sign_webhook(self._format, body, endpoint.secret)
        for attempt in range(len(endpoint.delays) + 1):
            record: dict[str, Any] = {"event": label, "attempt": attempt + 1, "at": self._clock()}
            try:
                status = http.post(endpoint.url, content=body, headers=headers).status_code
                record["status"] = status
            except httpx.HTTPError as exc:
                status, record["error"] = 0, type(exc).__name__
            self.attempts.append(record)
            if 200 <= status < 300:
                return
            if attempt < len(endpoint.delays):
                self._sleep(endpoint.delays[attempt])
