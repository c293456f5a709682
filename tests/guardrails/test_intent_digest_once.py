"""The intent digest is computed once per (frozen) intent, and a changed copy hashes its own fields."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from agent_billing.guardrails import intent as intent_module
from agent_billing.guardrails.confirmation import fingerprint
from agent_billing.guardrails.intent import CardRef, ChargeIntent


def test_digest_hashed_once_and_copies_rehash(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def counting(operation: str, binding: Any) -> str:
        calls.append(operation)
        return fingerprint(operation, binding)

    monkeypatch.setattr(intent_module, "fingerprint", counting)
    intent = ChargeIntent(operation="o", effect="charge", account="a", amount=Decimal("5"), summary="s",
                          payment_method=CardRef(id="pm_1"))
    first = intent.digest
    assert all(intent.digest == first for _ in range(5))
    assert len(calls) == 1
    other = intent.model_copy(update={"payment_method": CardRef(id="pm_2")})
    assert other.digest != first
    assert intent.model_copy().digest == first
    assert "digest" not in intent.model_dump() and intent == intent.model_copy()
