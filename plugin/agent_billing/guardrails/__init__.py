"""Guardrails: what every billing tool call passes before anything is sent.

Example:
    >>> from agent_billing.guardrails import Mandate, find_card_numbers
    >>> [f.masked() for f in find_card_numbers("card 4242 4242 4242 4242")]
    ['visa card number ending 4242']
"""

from agent_billing.guardrails.approval import (
    ApprovalDecision,
    ApprovalRequest,
    Approver,
    CallbackApprover,
    ConfirmationApprover,
    InterruptApprover,
    MiddlewareApprover,
)
from agent_billing.guardrails.approval_records import ApprovalRecords
from agent_billing.guardrails.approval_requests import ApprovalRequests
from agent_billing.guardrails.card_data import (
    REFUSAL_MESSAGE,
    CardFinding,
    find_card_numbers,
    redact,
    redact_text,
    refuse_card_data,
    scan_arguments,
)
from agent_billing.guardrails.confirmation import Confirmation, ConfirmationStore, fingerprint
from agent_billing.guardrails.intent import CardRef, ChargeIntent, PlanRef
from agent_billing.guardrails.mandate import Mandate, MandateDecision
from agent_billing.guardrails.out_of_band import ApprovalLink, ConsoleNotifier, OutOfBandApprover
from agent_billing.guardrails.pending_outcomes import PendingOutcomes
from agent_billing.guardrails.redaction import RedactingFilter, redact_outgoing, redact_outgoing_text
from agent_billing.guardrails.secrets import (
    SecretFinding,
    find_secret_values,
    find_secrets,
    is_secret_key,
    redact_secret_text,
    redact_secrets,
    refuse_secrets,
    register_secret,
)
from agent_billing.guardrails.spend_store import (
    MemorySpendStore,
    Reservation,
    ReservationConflictError,
    SpendStore,
    SqliteSpendStore,
)

__all__ = [
    "REFUSAL_MESSAGE",
    "ApprovalDecision",
    "ApprovalLink",
    "ApprovalRecords",
    "ApprovalRequest",
    "ApprovalRequests",
    "Approver",
    "CallbackApprover",
    "CardFinding",
    "CardRef",
    "ChargeIntent",
    "Confirmation",
    "ConfirmationApprover",
    "ConfirmationStore",
    "ConsoleNotifier",
    "InterruptApprover",
    "Mandate",
    "MandateDecision",
    "MemorySpendStore",
    "MiddlewareApprover",
    "OutOfBandApprover",
    "PendingOutcomes",
    "PlanRef",
    "RedactingFilter",
    "Reservation",
    "ReservationConflictError",
    "SecretFinding",
    "SpendStore",
    "SqliteSpendStore",
    "find_card_numbers",
    "find_secret_values",
    "find_secrets",
    "fingerprint",
    "is_secret_key",
    "redact",
    "redact_outgoing",
    "redact_outgoing_text",
    "redact_secret_text",
    "redact_secrets",
    "redact_text",
    "refuse_card_data",
    "refuse_secrets",
    "register_secret",
    "scan_arguments",
]
