"""Wallgent's webhooks: what it sends, as declared in ``operations.WEBHOOK`` (``Connection.webhook``).

- Header ``Wallgent-Signature``: ``sha256=<hex>``, HMAC-SHA256 of the raw body with the endpoint's secret.
- Payload ``{event, timestamp, organizationId, data}``: ``timestamp`` is the event's signed time (the
  replay tolerance is measured on it). It has no id: a retry is known by the SHA-256 of the payload's
  canonical JSON, so the same event re-serialised with its keys in another order is still one event.
- Wallgent's documentation names no events and no retry schedule: the names its sandbox sends,
  ``subscription.updated`` and ``invoice.paid``, are our assumption, and the sandbox retries on the
  default schedule (``agent_billing.webhooks.RETRY_DELAYS``).

Example:
    >>> from agent_billing.webhooks import event_key, event_time, sign_webhook, verify_webhook
    >>> body = b'{"event":"invoice.paid","timestamp":"2026-11-29T10:00:00Z","organizationId":"org_1","data":{}}'
    >>> headers = sign_webhook("wallgent", body, "whsec_1")
    >>> sorted(headers)
    ['Content-Type', 'Wallgent-Signature']
    >>> lowered = {name.lower(): value for name, value in headers.items()}
    >>> verify_webhook("wallgent", body, lowered, "whsec_1", now=event_time("2026-11-29T10:00:05Z"))["event"]
    'invoice.paid'
    >>> event_key("wallgent", {"event": "invoice.paid", "timestamp": "t"}) == event_key(
    ...     "wallgent", {"timestamp": "t", "event": "invoice.paid"})
    True
    >>> WEBHOOK.id_field, WEBHOOK.retry_delays
    (None, None)
"""

from __future__ import annotations

from agent_billing.providers.wallgent.operations import WEBHOOK

__all__ = ["WEBHOOK"]
