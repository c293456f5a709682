"""Deprecated import path: card tokenization is a provider's own module now (its ``card_tokenization`` part).

Trusted application code that imported ``agent_billing.card_tokenization`` keeps working: each name is
looked up in the first provider package that has a ``card_tokenization`` part, so the core names none.

Example:
    >>> from agent_billing.card_tokenization import TokenizedCard
    >>> TokenizedCard(id="pm_1", brand="visa", last4="4242").last4
    '4242'
"""

from __future__ import annotations

from typing import Any

from agent_billing.provider import get_provider, provider_names


def __getattr__(name: str) -> Any:
    for provider in provider_names():
        part = get_provider(provider).part("card_tokenization")
        if part is not None and hasattr(part, name):
            return getattr(part, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
