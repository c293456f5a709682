"""The audit trail: who asked for what, how much, what was decided, and what happened.

One :class:`AuditEvent` per step of a tool call that matters (requested, approved or rejected,
succeeded or failed), scrubbed once when it is built, written as one hash-chained record. The parts live
in modules named after what they hold, and this module keeps their public names in one place:

- ``audit_event``: the event, its scrubbing (card data, secrets, objects that are not plain data) and the
  ``AuditLog`` protocol;
- ``audit_chain``: the chain's keys, the chained record of an event, and ``verify_chain``;
- ``audit_backends``: the logs that keep records (memory, a JSON Lines file, a SQLite table, several).

The guardrails' stores use these modules, and these modules use only the guardrails' scrubbing (card data,
secrets, the one outgoing redaction), so the two import each other in no circle.

Example:
    >>> from decimal import Decimal
    >>> log = MemoryAuditLog()
    >>> log.record(AuditEvent(operation="example_charge", effect="charge", amount=Decimal("25"),
    ...                       decision="requested", arguments={"amount": Decimal("25"), "token": "abc"}))
    >>> log.events[0].arguments
    {'amount': Decimal('25'), 'token': '[redacted]'}
"""

from __future__ import annotations

from agent_billing.audit_backends import FileLines, JsonlAuditLog, MemoryAuditLog, MultiAuditLog, SqliteAuditLog
from agent_billing.audit_chain import (
    _HASH_SUFFIX,
    AUDIT_KEY_ENV,
    AUDIT_KEY_FILE,
    GENESIS_HASH,
    MIN_KEY_LENGTH,
    AuditKeys,
    ChainReport,
    KeysOption,
    _canonical,
    _digest,
    chain_record,
    event_of,
    key_id,
    load_keys,
    receipt_ids,
    receipt_keys,
    record_hash,
    state_keys,
    verify_chain,
)
from agent_billing.audit_event import (
    CHAIN_FIELDS,
    AuditEvent,
    AuditLog,
    Decision,
    event_record,
    is_secret_name,
    record_event,
    redact_event,
    scrub,
    scrub_text,
)
from agent_billing.guardrails.secrets import REDACTED

__all__ = [
    "AUDIT_KEY_ENV",
    "AUDIT_KEY_FILE",
    "CHAIN_FIELDS",
    "GENESIS_HASH",
    "MIN_KEY_LENGTH",
    "REDACTED",
    "_HASH_SUFFIX",
    "AuditEvent",
    "AuditKeys",
    "AuditLog",
    "ChainReport",
    "Decision",
    "FileLines",
    "JsonlAuditLog",
    "KeysOption",
    "MemoryAuditLog",
    "MultiAuditLog",
    "SqliteAuditLog",
    "_canonical",
    "_digest",
    "chain_record",
    "event_of",
    "event_record",
    "is_secret_name",
    "key_id",
    "load_keys",
    "receipt_ids",
    "receipt_keys",
    "record_event",
    "record_hash",
    "redact_event",
    "scrub",
    "scrub_text",
    "state_keys",
    "verify_chain",
]
