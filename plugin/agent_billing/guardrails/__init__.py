"""Guardrails: checks every billing tool call passes before anything is sent."""

from agent_billing.guardrails.card_data import (
    REFUSAL_MESSAGE,
    CardFinding,
    find_card_numbers,
    redact,
    redact_text,
    refuse_card_data,
    scan_arguments,
)

__all__ = [
    "REFUSAL_MESSAGE",
    "CardFinding",
    "find_card_numbers",
    "redact",
    "redact_text",
    "refuse_card_data",
    "scan_arguments",
]
