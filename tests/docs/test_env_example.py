"""`.env.example` names every provider's variables (from the providers' declarations) and holds no value."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent_billing.registry import get_registry, provider_names

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / ".env.example").read_text(encoding="utf-8")
# Each variable as a line of its own: NAME=value, or commented out as "# NAME=value".
NAMED = {m.group(1): m.group(2) for m in re.finditer(r"^(?:# )?([A-Z][A-Z0-9_]+)=(.*)$", EXAMPLE, re.MULTILINE)}


@pytest.mark.parametrize("provider", provider_names())
def test_every_declared_key_variable_is_in_env_example(provider: str) -> None:
    connection = get_registry(provider).connection
    for variable in (*connection.token_variables, *connection.base_url_variables):
        assert variable in NAMED, f".env.example lacks {variable} ({provider})"


def test_the_variables_a_client_reads_are_there() -> None:
    for variable in ("AGENT_BILLING_TIMEOUT", "AGENT_BILLING_MAX_RETRIES", "AGENT_BILLING_STATE_DIR",
                     "AGENT_BILLING_STORE_URL", "AGENT_BILLING_ALLOW_LIVE", "AGENT_BILLING_PROVIDER", "TENEX_PATHS"):
        assert variable in NAMED, variable


def test_no_key_has_a_value() -> None:
    for provider in provider_names():
        for variable in get_registry(provider).connection.token_variables:
            assert NAMED[variable] == "", f"{variable} must be empty in .env.example"
