"""10ex's webhooks: what it sends, as declared in ``operations.WEBHOOK`` (``Connection.webhook``).

- Header ``X-10ex-Signature``: ``sha256=<hex>``, HMAC-SHA256 of the raw body with the endpoint's secret.
- Payload ``{id, type, company_id, occurred_at, data}``: ``occurred_at`` is the event's signed time (the
  replay tolerance is measured on it), ``id`` what a retry repeats (the deduplicators key on it).
- Each delivery is retried 5 times, after 1, 2, 4, 8 and 16 s (the retries span 31 s).
- Events: ``subscription.updated`` and ``invoice.paid`` are documented; the sandbox also sends
  ``usage.soft_cap_reached`` and ``usage.hard_cap_reached`` (names we assumed: 10ex warns at the soft cap
  and refuses at the hard cap, but names no event for either).

A receiver names the provider ``"10ex"`` (its display name) or ``"tenex"`` (its Python name).

Example:
    >>> from agent_billing.webhooks import event_key, event_time, seen_key, sign_webhook, verify_webhook
    >>> body = b'{"id":"evt_1","type":"invoice.paid","company_id":"cmp_1","occurred_at":"2026-11-29T10:00:00Z","data":{}}'
    >>> headers = sign_webhook("10ex", body, "whsec_test")
    >>> sorted(headers)
    ['Content-Type', 'X-10ex-Signature']
    >>> verify_webhook("tenex", body, headers, "whsec_test", now=event_time("2026-11-29T10:00:02Z"))["type"]
    'invoice.paid'
    >>> verify_webhook("10ex", body.replace(b"paid", b"void"), headers, "whsec_test", now=event_time("2026-11-29T10:00:02Z"))
    Traceback (most recent call last):
    agent_billing.webhooks.WebhookSignatureError: X-10ex-Signature does not match the body (wrong secret, or the body was changed)
    >>> event_key("10ex", {"id": "evt_1"}), seen_key("tenex", {"id": "evt_1"}) == seen_key("10ex", {"id": "evt_1"})
    ('evt_1', True)
    >>> WEBHOOK.retry_delays, WEBHOOK.events[2:]
    ((1.0, 2.0, 4.0, 8.0, 16.0), ('usage.soft_cap_reached', 'usage.hard_cap_reached'))
"""

from __future__ import annotations

from agent_billing.providers.tenex.operations import WEBHOOK

__all__ = ["WEBHOOK"]
