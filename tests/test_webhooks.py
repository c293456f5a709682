"""Webhook verification for Wallgent and 10ex (valid, tampered, truncated, replayed, stale, wrong-secret deliveries),
the dedup helper, and both sandboxes delivering signed events to a handler on loopback that verifies and dedups."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from agent_billing import registry as registry_module
from agent_billing import webhooks
from agent_billing.conventions import Connection
from agent_billing.inprocess import SANDBOX_ORIGIN, SyncASGITransport, sandbox_clients
from agent_billing.providers.tenex.sandbox import create_tenex_app
from agent_billing.registry import Registry, get_registry, register_provider
from agent_billing.sandbox import create_app
from agent_billing.webhooks import (
    DEFAULT_TOLERANCE,
    RETRY_DELAYS,
    EventDeduplicator,
    WebhookFormat,
    WebhookSender,
    WebhookSignatureError,
    event_time,
    sign_webhook,
    signature,
    verify_webhook,
    webhook_format,
)

SECRET = "whsec_test_secret"
NOW = event_time("2026-11-29T10:00:00Z")
assert NOW is not None
EVENTS = {
    "wallgent": {"event": "invoice.paid", "timestamp": "2026-11-29T10:00:00Z", "organizationId": "org_1",
                 "data": {"id": "inv_1", "amount": "99.00", "status": "paid"}},
    "10ex": {"id": "evt_1", "type": "invoice.paid", "company_id": "cmp_1", "occurred_at": "2026-11-29T10:00:00Z",
             "data": {"id": "in_1", "total": "499.00"}},
}
HEADERS = {"wallgent": "Wallgent-Signature", "10ex": "X-10ex-Signature"}
PROVIDERS = list(EVENTS)


def delivery(provider: str, event: dict[str, Any] | None = None, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event or EVENTS[provider], separators=(",", ":")).encode()
    return body, sign_webhook(provider, body, secret)


# --- verification

@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_valid_delivery_verifies_with_any_header_case(provider: str) -> None:
    body, headers = delivery(provider)
    assert headers[HEADERS[provider]] == signature(body, SECRET) and headers[HEADERS[provider]].startswith("sha256=")
    assert verify_webhook(provider, body, headers, SECRET, now=NOW) == json.loads(body)
    name, value = HEADERS[provider], headers[HEADERS[provider]]
    for variant in (name.lower(), name.upper()):
        assert verify_webhook(provider, body, {variant: value}, SECRET, now=NOW)["data"] == EVENTS[provider]["data"]
    assert verify_webhook(provider, body, [("content-type", "application/json"), (name.lower(), value)], SECRET, now=NOW)
    assert verify_webhook(provider, body, httpx.Headers({name: value}), SECRET, now=NOW)
    assert verify_webhook(provider, body.decode(), headers, SECRET.encode(), now=NOW)  # str body, bytes secret
    assert verify_webhook(provider, body, headers, SECRET, tolerance=300, now=NOW + 299)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_single_byte_change_is_refused(provider: str) -> None:
    body, headers = delivery(provider)
    for index in range(len(body)):
        tampered = bytearray(body)
        tampered[index] ^= 0x01
        with pytest.raises(WebhookSignatureError, match="does not match"):
            verify_webhook(provider, bytes(tampered), headers, SECRET, now=NOW)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_tampered_truncated_extended_and_wrong_secret(provider: str) -> None:
    body, headers = delivery(provider)
    richer = body.replace(b'"data":{', b'"data":{"bonus":"1000.00",', 1)
    for changed in (richer, body[:-1], body[: len(body) // 2], b"", body + b" ", body + b"\n"):
        with pytest.raises(WebhookSignatureError, match="does not match"):
            verify_webhook(provider, changed, headers, SECRET, now=NOW)
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify_webhook(provider, body, headers, "whsec_other", now=NOW)
    _, foreign = delivery(provider, secret="whsec_other")
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify_webhook(provider, body, foreign, SECRET, now=NOW)
    with pytest.raises(ValueError, match="empty"):
        verify_webhook(provider, body, headers, "", now=NOW)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_missing_malformed_and_misplaced_headers(provider: str) -> None:
    body, headers = delivery(provider)
    good = headers[HEADERS[provider]]
    with pytest.raises(WebhookSignatureError, match="no "):
        verify_webhook(provider, body, {"Content-Type": "application/json"}, SECRET, now=NOW)
    other = "X-10ex-Signature" if provider == "wallgent" else "Wallgent-Signature"
    with pytest.raises(WebhookSignatureError, match="no "):
        verify_webhook(provider, body, {other: good}, SECRET, now=NOW)  # the other provider's header does not count
    for bad in (good.removeprefix("sha256="), "sha1=" + good[7:], good[:-2], good + "00", "sha256=" + "zz" * 32, "",
                "sha256="):
        with pytest.raises(WebhookSignatureError, match="malformed"):
            verify_webhook(provider, body, {HEADERS[provider]: bad}, SECRET, now=NOW)
    with pytest.raises(WebhookSignatureError, match="more than one"):
        verify_webhook(provider, body, [(HEADERS[provider], good), (HEADERS[provider].lower(), good)], SECRET, now=NOW)
    assert verify_webhook(provider, body, {HEADERS[provider]: "SHA256=" + good[7:].upper()}, SECRET, now=NOW)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_signed_body_that_is_not_a_json_object_is_refused(provider: str) -> None:
    for raw in (b"not json", b'{"id": "evt_1"', b"[1, 2]", b'"text"', b"\xff\xfe"):
        with pytest.raises(WebhookSignatureError, match="JSON"):
            verify_webhook(provider, raw, sign_webhook(provider, raw, SECRET), SECRET, now=NOW)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_stale_and_future_events_are_refused_with_a_tolerance(provider: str) -> None:
    body, headers = delivery(provider)
    with pytest.raises(WebhookSignatureError, match="old"):
        verify_webhook(provider, body, headers, SECRET, tolerance=300, now=NOW + 301)
    with pytest.raises(WebhookSignatureError, match="future"):
        verify_webhook(provider, body, headers, SECRET, tolerance=300, now=NOW - 301)
    assert verify_webhook(provider, body, headers, SECRET, tolerance=None, now=NOW + 10 ** 7)  # age check off
    field_name = "timestamp" if provider == "wallgent" else "occurred_at"
    for value in (None, "soon", True):
        event = {**EVENTS[provider], field_name: value}
        undated, undated_headers = delivery(provider, event)
        assert verify_webhook(provider, undated, undated_headers, SECRET, tolerance=None)  # age check off
        for tolerance in (300, DEFAULT_TOLERANCE):
            with pytest.raises(WebhookSignatureError, match=field_name):
                verify_webhook(provider, undated, undated_headers, SECRET, tolerance=tolerance, now=NOW)
        with pytest.raises(WebhookSignatureError, match=field_name):  # the default checks the age too
            verify_webhook(provider, undated, undated_headers, SECRET, now=NOW)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_timestamp_no_clock_can_read_is_refused_not_a_crash(provider: str) -> None:
    """A signed event whose timestamp overflows a float, has an impossible offset or is not a number."""
    field_name = "timestamp" if provider == "wallgent" else "occurred_at"
    for value in (10 ** 400, -(10 ** 400), "2026-11-29T10:00:00+99:00", "NaN", "1764410400"):
        body, headers = delivery(provider, {**EVENTS[provider], field_name: value})
        with pytest.raises(WebhookSignatureError, match=field_name):
            verify_webhook(provider, body, headers, SECRET, tolerance=300, now=NOW)
    assert [event_time(v) for v in (float("nan"), float("inf"), 10 ** 400)] == [None, None, None]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_raw_asgi_header_pairs_in_bytes_are_read(provider: str) -> None:
    body, headers = delivery(provider)
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    assert verify_webhook(provider, body, raw, SECRET, now=NOW) == json.loads(body)
    with pytest.raises(WebhookSignatureError, match="more than one"):
        verify_webhook(provider, body, [*raw, *raw], SECRET, now=NOW)


def test_threads_racing_on_one_event_act_once() -> None:
    dedup, barrier, firsts = EventDeduplicator(), threading.Barrier(16), []

    def handle() -> None:
        barrier.wait()
        firsts.append(dedup.first_time("wallgent", EVENTS["wallgent"]))

    threads = [threading.Thread(target=handle) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(firsts) == [False] * 15 + [True]


def test_unknown_provider_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown webhook provider"):
        verify_webhook("stripe", b"{}", {}, SECRET, now=NOW)
    with pytest.raises(ValueError, match="unknown webhook provider 'modelslab'; known: wallgent, tenex, 10ex"):
        verify_webhook("modelslab", b"{}", {}, SECRET, now=NOW)  # a provider that declares no webhooks
    body, headers = delivery("10ex")
    for name in ("tenex", "10EX", " 10ex "):  # the Python name, and the display name in any case
        assert verify_webhook(name, body, headers, SECRET, now=NOW)["id"] == "evt_1"


def test_the_format_is_the_providers_declaration(monkeypatch: pytest.MonkeyPatch) -> None:
    assert webhook_format("wallgent") is get_registry("wallgent").connection.webhook
    assert webhook_format("10ex") is get_registry("tenex").connection.webhook
    # A new provider's webhooks work from its declaration alone: the core names none.
    monkeypatch.setattr(registry_module, "_REGISTRIES", dict(registry_module._REGISTRIES))
    monkeypatch.setattr(registry_module, "_LOADED", dict(registry_module._LOADED))
    monkeypatch.setattr(webhooks, "_RESOLVED", {})
    declared = WebhookFormat(header="Example-Signature", timestamp_field="created", type_field="kind",
                             id_field="uid", retry_delays=(3.0, 30.0), aliases=("Example Pay",))
    register_provider("examplepay", lambda: Registry(provider="examplepay", base_path="/", connection=Connection(
        default_base_url="https://api.example.com", webhook=declared)))
    event = {"uid": "ev_9", "kind": "invoice.paid", "created": "2026-11-29T10:00:00Z", "data": {}}
    body, headers = delivery("examplepay", event)
    assert list(headers) == ["Content-Type", "Example-Signature"]
    assert verify_webhook("example pay", body, headers, SECRET, tolerance=60, now=NOW) == event
    assert webhooks.event_key("examplepay", event) == "ev_9"
    assert WebhookSender("examplepay").register("http://127.0.0.1:9/hook", SECRET).delays == (3.0, 30.0)


# --- dedup

@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_replayed_delivery_is_acted_on_once(provider: str) -> None:
    now = [NOW]
    dedup = EventDeduplicator(ttl=3600, clock=lambda: now[0])
    body, headers = delivery(provider)
    acted = 0
    for _ in range(6):  # the first delivery and 10ex's five retries
        event = verify_webhook(provider, body, headers, SECRET, now=NOW)
        if dedup.first_time(provider, event):
            acted += 1
    assert acted == 1
    other, other_headers = delivery(provider, {**EVENTS[provider], "id": "evt_2", "data": {"id": "in_2"}})
    assert dedup.first_time(provider, verify_webhook(provider, other, other_headers, SECRET, now=NOW))
    event = verify_webhook(provider, body, headers, SECRET, now=NOW)
    dedup.forget(provider, event)  # acting failed: the provider's retry must get through
    assert dedup.first_time(provider, event) and not dedup.first_time(provider, event)
    now[0] += 3601
    assert dedup.first_time(provider, event)  # remembered for the ttl only


def test_distinct_wallgent_events_with_the_same_data_are_each_acted_on_and_a_retry_is_not() -> None:
    """Wallgent's payload has no id: a retry repeats the body byte for byte, two events differ in their timestamps."""
    dedup = EventDeduplicator(clock=lambda: NOW)
    first = {**EVENTS["wallgent"], "event": "subscription.updated"}
    second = {**first, "timestamp": "2026-11-29T10:05:00Z"}  # the same change of data, announced again later
    acted = []
    for event in (first, first, second, second, first):  # each delivered and retried, and a late retry of the first
        body, headers = delivery("wallgent", event)
        verified = verify_webhook("wallgent", body, headers, SECRET, now=NOW)
        if dedup.first_time("wallgent", verified):
            acted.append(verified["timestamp"])
    assert acted == ["2026-11-29T10:00:00Z", "2026-11-29T10:05:00Z"]


def test_dedup_is_bounded() -> None:
    dedup = EventDeduplicator(max_events=3)
    for n in range(5):
        assert dedup.first_time("10ex", {"id": f"evt_{n}"})
    assert dedup.first_time("10ex", {"id": "evt_0"})  # evicted, oldest first
    assert not dedup.first_time("10ex", {"id": "evt_4"})


# --- a handler on loopback, and the sandboxes delivering to it

@dataclass
class Receiver:
    """A minimal app webhook endpoint: verify, dedup, act; answers 500 for the first ``fail_first`` deliveries
    (after acting, as if the app crashed before answering, so the retry must be deduplicated)."""

    provider: str
    secret: str = SECRET
    fail_first: int = 0
    always_fail: bool = False
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    acted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    dedup: EventDeduplicator = field(default_factory=EventDeduplicator)
    lock: threading.Lock = field(default_factory=threading.Lock)
    now: float | None = NOW  # most sandboxes here run on the injected clock NOW; None: the real time



    def handle(self, body: bytes, headers: Any) -> int:
        try:
            event = verify_webhook(self.provider, body, headers, self.secret, now=self.now)
        except WebhookSignatureError as exc:
            with self.lock:
                self.rejected.append(exc.reason)
            return 400
        with self.lock:
            self.deliveries.append(event)
            if self.dedup.first_time(self.provider, event):
                self.acted.append(event)
            if self.always_fail or len(self.deliveries) <= self.fail_first:
                return 500
        return 204


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def start(receiver: Receiver) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the name http.server calls
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(receiver.handle(body, self.headers))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/hooks"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_10ex_sandbox_delivers_signed_cap_events_with_retries_to_a_loopback_handler(serve: Any) -> None:
    slept: list[float] = []
    app = create_tenex_app(clock=lambda: NOW, webhook_sleep=slept.append)  # the retry waits are recorded, not waited
    receiver = Receiver("10ex", fail_first=1)
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://sandbox/api/v1/payments",
                      headers={"Authorization": "Bearer tnx_sandbox"}) as http:
        registered = http.post("/sandbox/webhooks", json={"url": serve(receiver), "secret": SECRET})
        assert registered.status_code == 200 and registered.json()["retry_delays"] == list(RETRY_DELAYS)
        http.post("/sandbox/usage", json={"agent_id": "agt_research", "credits": 1000}).raise_for_status()
        assert app.state.tenex.webhooks.wait_idle()
        assert receiver.deliveries == []  # still under the soft cap: no event
        http.post("/sandbox/usage", json={"agent_id": "agt_research", "credits": 600}).raise_for_status()
        http.post("/sandbox/usage", json={"agent_id": "agt_support", "credits": "19900"}).raise_for_status()
        assert app.state.tenex.webhooks.wait_idle()
        refused = http.post("/sandbox/usage", json={"agent_id": "agt_support", "credits": 1})
        assert refused.status_code == 402 and refused.json()["code"] == "hard_cap_reached"
    assert [e["type"] for e in receiver.acted] == ["usage.soft_cap_reached", "usage.hard_cap_reached"]
    assert {e["type"] for e in receiver.acted} <= set(webhook_format("10ex").events)
    assert len(receiver.deliveries) == 3 and receiver.deliveries[0] == receiver.deliveries[1]  # the retry, deduplicated
    soft = receiver.acted[0]
    assert soft["company_id"].startswith("cmp_") and soft["occurred_at"] == "2026-11-29T10:00:00Z"
    assert soft["data"]["credits_used"] == "80100" and soft["data"]["cap"] == "80000"
    assert slept == [1.0] and receiver.rejected == []
    log = app.state.tenex.webhooks.attempts
    assert [(a["attempt"], a["status"]) for a in log] == [(1, 500), (2, 204), (1, 204)]


def test_10ex_retries_five_times_on_its_schedule_then_gives_up(serve: Any) -> None:
    slept: list[float] = []
    app = create_tenex_app(clock=lambda: NOW, webhook_sleep=slept.append)
    receiver = Receiver("10ex", always_fail=True)
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://sandbox/api/v1/payments",
                      headers={"Authorization": "Bearer tnx_sandbox"}) as http:
        http.post("/sandbox/webhooks", json={"url": serve(receiver), "secret": SECRET}).raise_for_status()
        http.post("/sandbox/subscription", json={"plan": "Business"}).raise_for_status()
        assert app.state.tenex.webhooks.wait_idle()
        assert http.get("/sandbox/webhooks").json()["attempts"][-1]["attempt"] == 6
    assert slept == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert len(receiver.deliveries) == 6 and len(receiver.acted) == 1
    assert receiver.acted[0]["type"] == "subscription.updated" and receiver.acted[0]["data"]["plan"] == "Business"


def test_a_handler_with_the_wrong_secret_rejects_every_attempt(serve: Any) -> None:
    app = create_tenex_app(clock=lambda: NOW, webhook_sleep=lambda seconds: None)
    receiver = Receiver("10ex", secret="whsec_not_this_one")
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://sandbox/api/v1/payments",
                      headers={"Authorization": "Bearer tnx_sandbox"}) as http:
        http.post("/sandbox/webhooks", json={"url": serve(receiver), "secret": SECRET}).raise_for_status()
        http.post("/sandbox/renew").raise_for_status()
        assert app.state.tenex.webhooks.wait_idle()
    assert receiver.acted == [] and len(receiver.rejected) == 6 and "does not match" in receiver.rejected[0]


def test_the_sandboxes_deliver_to_loopback_only() -> None:
    app = create_app(rate_limit=False)
    with httpx.Client(transport=SyncASGITransport(app), base_url=SANDBOX_ORIGIN) as http:
        tenex = http.post("/tenex/api/v1/payments/sandbox/webhooks", headers={"Authorization": "Bearer tnx_sandbox"},
                          json={"url": "https://example.com/hooks", "secret": SECRET})
        assert tenex.status_code == 422 and "loopback" in tenex.json()["detail"][0]["msg"]
        wallgent = http.post("/wallgent/v1/sandbox/webhooks", headers={"Authorization": "Bearer wg_test_sandbox"},
                             json={"url": "http://10.0.0.1/hooks", "secret": SECRET})
        assert wallgent.status_code == 400 and "loopback" in wallgent.json()["error"]["message"]


def test_both_sandboxes_deliver_end_to_end_through_the_main_app(serve: Any) -> None:
    app = create_app(rate_limit=False)
    wallgent, tenex = Receiver("wallgent", fail_first=1, now=None), Receiver("10ex", now=None)  # real clocks
    with httpx.Client(transport=SyncASGITransport(app), base_url=SANDBOX_ORIGIN) as http:
        http.post("/wallgent/v1/sandbox/webhooks", headers={"Authorization": "Bearer wg_test_sandbox"},
                  json={"url": serve(wallgent), "secret": SECRET, "retryScale": 0}).raise_for_status()
        http.post("/tenex/api/v1/payments/sandbox/webhooks", headers={"Authorization": "Bearer tnx_sandbox"},
                  json={"url": serve(tenex), "secret": SECRET, "retry_scale": 0}).raise_for_status()
        client, _ = sandbox_clients(app, provider="wallgent")
        client.call("subscribe", {"plan": "STARTER", "payment_method": "CARD", "stripe_payment_method_id": "pm_card_visa"})
        client.call("get_billing")  # a read changes nothing, so it sends nothing
        client.call("cancel")
        http.post("/tenex/api/v1/payments/sandbox/renew", headers={"Authorization": "Bearer tnx_sandbox"}).raise_for_status()
        http.post("/tenex/api/v1/payments/sandbox/subscription", headers={"Authorization": "Bearer tnx_sandbox"},
                  json={"cancel_at_period_end": True}).raise_for_status()
        client.close()
    for route in app.routes:
        if getattr(route, "path", "") == "/wallgent":
            assert route.app.state.wallgent.webhooks.wait_idle()
        if getattr(route, "path", "") == "/tenex":
            assert route.app.state.tenex.webhooks.wait_idle()
    kinds = sorted(e["event"] for e in wallgent.acted)
    assert kinds == ["invoice.paid", "subscription.updated", "subscription.updated"]
    assert len(wallgent.deliveries) == 4  # the first one was answered 500 and retried, then deduplicated
    paid = next(e for e in wallgent.acted if e["event"] == "invoice.paid")
    assert paid["data"]["amount"] == "99.00" and paid["organizationId"].startswith("org_") and paid["timestamp"]
    assert wallgent.acted[-1]["data"]["cancelAtPeriodEnd"] is True
    assert [e["type"] for e in tenex.acted] == ["invoice.paid", "subscription.updated"]
    assert set(kinds) <= set(webhook_format("wallgent").events)  # the names its declaration (and SKILL.md) give
    assert tenex.acted[0]["data"]["status"] == "paid" and tenex.acted[1]["data"]["cancel_at_period_end"] is True
    assert tenex.acted[1]["data"]["renews_at"] is None
    assert wallgent.rejected == tenex.rejected == []


def test_closing_the_sandbox_stops_its_webhook_senders() -> None:
    app = create_app(rate_limit=False)
    mounts = {getattr(route, "path", ""): getattr(route, "app", None) for route in app.routes}
    senders = [mounts["/tenex"].state.tenex.webhooks, mounts["/wallgent"].state.wallgent.webhooks]  # type: ignore[union-attr]
    for sender in senders:
        sender.register("http://127.0.0.1:9/hook", SECRET, retry_scale=0)  # nothing listens: each attempt fails fast
        assert sender.emit({"id": "evt_1", "type": "invoice.paid"}) and sender.wait_idle()
    threads = [sender._thread for sender in senders]
    assert all(thread is not None and thread.is_alive() for thread in threads)
    for part in app.state.providers:
        part.close()
    assert not any(thread is not None and thread.is_alive() for thread in threads)
    assert not senders[0].emit({"id": "evt_2", "type": "invoice.paid"})  # a closed sender queues nothing


def test_one_deduplicator_keeps_providers_apart() -> None:
    """A 10ex event whose id equals a Wallgent event's key does not silence the Wallgent event; aliases agree."""
    from agent_billing.webhooks import event_key

    wallgent = {"event": "invoice.paid", "timestamp": "2026-11-29T10:00:00Z", "organizationId": "org_1", "data": {}}
    tenex = {"id": event_key("wallgent", wallgent), "type": "invoice.paid", "company_id": "c",
             "occurred_at": "2026-11-29T10:00:00Z", "data": {}}
    seen = EventDeduplicator()
    assert seen.first_time("10ex", tenex) and seen.first_time("wallgent", wallgent)
    assert not seen.first_time("tenex", tenex)  # the Python name and the display name are one provider


def test_a_format_the_library_does_not_ship_is_verified_and_deduplicated_by_itself() -> None:
    # A receiver for a provider with no package passes its format; nothing is looked up by name.
    from agent_billing.webhooks import WebhookFormat, event_time, seen_key, sign_webhook, verify_webhook, webhook_format

    fmt = WebhookFormat(header="X-Own-Signature", timestamp_field="at", id_field="id")
    assert webhook_format(fmt) is fmt
    body = b'{"id":"e1","type":"x","at":"2026-12-05T10:00:00Z"}'
    headers = sign_webhook(fmt, body, "s")
    assert set(headers) == {"Content-Type", "X-Own-Signature"}
    assert verify_webhook(fmt, body, headers, "s", now=event_time("2026-12-05T10:00:01Z"))["id"] == "e1"
    assert seen_key(fmt, {"id": "e1"}) == "X-Own-Signature:e1"
    with pytest.raises(WebhookSignatureError):
        verify_webhook(fmt, body, {"X-Own-Signature": headers["X-Own-Signature"]}, "other", tolerance=None)
