"""The one secret policy: key names, secret-looking values, redaction, argument scanning, refusals.

These tests try to get a secret past the policy (spelling of key names, secrets inside text, keys,
nested values, encodings of a known token) and check that ordinary billing values pass, and that the
audit log and the model-facing output agree on what is secret.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_billing.audit import scrub, scrub_text
from agent_billing.errors import InvalidRequestError, SecretRefusedError
from agent_billing.guardrails.secrets import (
    REDACTED,
    SECRET_REFUSAL_MESSAGE,
    find_secret_values,
    find_secrets,
    is_secret_key,
    redact_secret_text,
    redact_secrets,
    refuse_secrets,
)
from agent_billing.tools.shaping import result_content

from .strategies import billing_info, tool_arguments

TOKEN = "Zq8xLmN3pR7tVb2Wk9YcHs4D"  # a configured access token with no recognisable shape
SECRETS = [
    "sk_live_51HqLyjWDarjtT1zdp7dc", "sk_test_4eC39HqLyjWDarjtT1zdp7dc", "rk_live_51HqLyjWDarjtT1zd",
    "rk_test_51HqLyjWDarjtT1zd", "whsec_abcdefgh12345678", "seti_1AbcDEF_secret_XyZ987654321",
    "pi_3QwErTy_secret_AbCdEfGh123", "cs_test_a1B2_secret_c3D4e5", "wg_live_AbCdEf0123456789",
    "wg_test_AbCdEf0123456789", "tnx_live_9a3b3d3337e50801e966", "tnx_test_9f83a219bc84d4e0",
    "Bearer abcdefghijklmnop", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
    "42|AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd",
]  # fmt: skip
NOT_SECRET = [
    "pk_live_51HqLyjWDarjtT1zdp7dc", "pk_test_TYooMQauvdEDq54NiTphI7jx", "pm_card_visa", "seti_1AbcDEF",
    "cs_test_a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ0123456789abcd", "https://checkout.stripe.com/c/pay/cs_test_a1B2c3",
    "25.00", "Plan 3, 12 months", "the token expired", "password reset link sent",
    "idempotency key agent-fund-1715000000-1", "sk_ prefix means secret", "1 | A table row with words only",
]  # fmt: skip
CONFIRMATION = "conf_" + "Q" * 43


# --- key names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("token", True), ("access_token", True), ("refresh_token", True), ("refresh-token", True), ("id_token", True),
        ("client_secret", True), ("Client-Secret", True), ("secret", True), ("api_key", True), ("X-API-Key", True),
        ("apiKey", True), ("authorization", True), ("Authorization", True), ("password", True), ("passwd", True),
        ("cookie", True), ("Set-Cookie", True), ("credentials", True), ("stripe_secret_key", True),
        ("webhook_secret", True), ("private_key", True), ("AWS_ACCESS_KEY_ID", True), ("card[access_token]", True),
        ("token_type", False), ("token_id", False), ("max_tokens", False), ("total_tokens", False),
        ("token_count", False), ("publishable_key", False), ("idempotency_key", False), ("amount", False),
        ("payment_method_id", False), ("request_id", False), ("expires_at", False), ("confirmation", False),
    ],
)  # fmt: skip
def test_secret_key_names(name: str, secret: bool) -> None:
    assert is_secret_key(name) is secret


def test_non_string_keys_are_not_secret_names() -> None:
    assert is_secret_key(7) is False and is_secret_key(None) is False and is_secret_key("t" * 300) is False


# --- values in text ----------------------------------------------------------------------------


@pytest.mark.parametrize("secret", SECRETS)
def test_secret_values_are_found_and_redacted_in_text(secret: str) -> None:
    text = f"declined; used {secret}, retry"
    assert find_secret_values(text)
    redacted = redact_secret_text(text)
    assert secret not in redacted and secret.split("_")[-1][-8:] not in redacted
    assert redacted.startswith("declined; used ") and redacted.endswith(", retry")


@pytest.mark.parametrize("text", NOT_SECRET)
def test_ordinary_values_are_not_secrets(text: str) -> None:
    assert redact_secret_text(text) == text
    assert find_secrets({"note": text}) == []


def test_pairs_keep_their_name_and_lose_their_value() -> None:
    assert redact_secret_text("url?client_secret=abc123&x=1") == "url?client_secret=[redacted]&x=1"
    assert redact_secret_text('{"refresh_token": "r-123"}') == '{"refresh_token": "[redacted]"}'
    assert redact_secret_text("Authorization: Basic dXNlcjpwYXNzd29yZA==") == "Authorization: [redacted]"
    assert redact_secret_text("max_tokens=100, token_type=Bearer") == "max_tokens=100, token_type=Bearer"


def test_marker_is_configurable() -> None:
    assert redact_secret_text("key sk_live_abcdefgh1", "[held]") == "key [held]"


# --- nested values -----------------------------------------------------------------------------


def test_redact_secrets_in_nested_values() -> None:
    value = {
        "id": "seti_1",
        "client_secret": "seti_1_secret_abc",
        "refresh_token": {"any": ["thing"]},
        "empty_token": "",
        "none_secret": None,
        "items": [{"api_key": 5}, ("Bearer abcdefghijk", 3)],
        "sk_live_abcdefgh12345": "a secret as a key",
        "note": "ok",
    }
    assert redact_secrets(value) == {
        "id": "seti_1",
        "client_secret": REDACTED,
        "refresh_token": REDACTED,
        "empty_token": "",
        "none_secret": None,
        "items": [{"api_key": REDACTED}, (REDACTED, 3)],
        REDACTED: "a secret as a key",
        "note": "ok",
    }


def test_two_keys_redacted_to_the_same_text_stay_apart() -> None:
    out = redact_secrets({"sk_live_abcdefgh1": 1, "sk_live_abcdefgh2": 2})
    assert sorted(out.values()) == [1, 2]


# --- one policy: the audit log and the model-facing output agree --------------------------------


@pytest.mark.parametrize("secret", [*SECRETS, CONFIRMATION])
@pytest.mark.parametrize("key", ["refresh_token", "note", "X-API-Key"])
def test_audit_and_model_output_hide_the_same_things(secret: str, key: str) -> None:
    result = {"id": "pi_1", key: f"value {secret}", "nested": [{"access_token": secret}]}
    logged = scrub(result)
    shown = result_content(result)
    for out in (repr(logged), repr(shown)):
        assert secret not in out
    assert logged["id"] == shown["id"] == "pi_1"
    # Hidden in both or in neither, field by field.
    assert (logged[key] == result[key]) is (shown[key] == result[key])
    assert shown["nested"] == [{"access_token": "[held for trusted code]"}]


def test_publishable_key_reaches_the_model_and_the_log() -> None:
    config = {"publishable_key": "pk_test_TYooMQauvdEDq54NiTphI7jx"}
    assert result_content(config) == config and scrub(config) == config
    assert scrub_text("pk_live_51HqLyjWDarjtT1zdp7dc") == "pk_live_51HqLyjWDarjtT1zdp7dc"


# --- tool arguments ----------------------------------------------------------------------------


def kinds_paths(value: Any, known: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    return [(f.kind, f.path) for f in find_secrets(value, known=known)]


def test_known_secret_anywhere_in_any_string_or_key() -> None:
    assert kinds_paths({"name": TOKEN}, (TOKEN,)) == [("known_secret", "name")]
    assert kinds_paths({"a": [{"b": f"use {TOKEN} please"}]}, (TOKEN,)) == [("known_secret", "a[0].b")]
    assert kinds_paths({TOKEN: "x"}, (TOKEN,)) == [("known_secret", "<key>")]
    assert kinds_paths({"note": TOKEN.encode()}, (TOKEN,)) == [("known_secret", "note")]


@pytest.mark.parametrize("hide", [
    lambda t: t.upper().lower() if t.islower() else t,
    lambda t: "\u200b".join(t),  # zero-width spaces between characters
    lambda t: " ".join([t[:8], t[8:16], t[16:]]),  # spaces inside
    lambda t: "".join(chr(ord(c) + 0xFEE0) for c in t),  # full-width letters and digits
    lambda t: "".join(f"%{ord(c):02X}" for c in t),  # percent-encoded
    lambda t: "".join(f"&#{ord(c)};" for c in t),  # HTML character references
])  # fmt: skip
def test_known_secret_in_disguise(hide: Callable[[str], str]) -> None:
    assert kinds_paths({"note": f"token is {hide(TOKEN)}"}, (TOKEN,)) == [("known_secret", "note")]


def test_short_known_secrets_match_whole_values_only() -> None:
    assert kinds_paths({"a": "abc"}, ("abc",)) == [("known_secret", "a")]
    assert kinds_paths({"a": "abcdef ghi"}, ("abc",)) == []
    assert kinds_paths({"a": "x"}, ("", "   ")) == []


@pytest.mark.parametrize("secret", SECRETS)
def test_secret_looking_values_in_arguments(secret: str) -> None:
    assert kinds_paths({"address_line1": secret}) == [("secret_value", "address_line1")]
    assert kinds_paths({"metadata": {"note": f"here: {secret}"}}) == [("secret_value", "metadata.note")]


def test_values_under_secret_names_are_found_whatever_they_are() -> None:
    assert kinds_paths({"metadata": {"password": "hunter2"}}) == [("secret_field", "metadata.password")]
    assert kinds_paths({"api_key": 12345}) == [("secret_field", "api_key")]
    assert kinds_paths({"token": None, "refresh_token": "", "max_tokens": 100}) == []


def test_pairs_in_prose_need_a_plausible_value() -> None:
    """Judgment call: logs redact every secret-named pair, arguments are refused only for plausible values."""
    assert redact_secret_text("token: expired") == "token: [redacted]"
    assert kinds_paths({"note": "password: hunter22"}) == [("secret_field", "note")]
    assert kinds_paths({"note": "token: expired, password: changed"}) == []


def test_confirmation_tokens_pass_arguments_by_design() -> None:
    """Judgment call: the model is handed a conf_ token to pass back; the audit log still hides it."""
    assert find_secrets({"confirmation": CONFIRMATION, "note": CONFIRMATION}) == []
    assert CONFIRMATION not in scrub_text(f"confirmed with {CONFIRMATION}")


def test_a_key_holding_a_secret_is_not_shown_in_the_path() -> None:
    secret = SECRETS[0]
    findings = find_secrets({"meta": {secret: "v"}, "card4242424242424242": {"token": "x"}})
    shown = repr(findings)
    assert secret not in shown and "4242424242424242" not in shown
    assert [(f.kind, f.path) for f in findings] == [("secret_value", "meta.<key>"), ("secret_field", "<key>.token")]


def test_deep_and_cyclic_arguments_terminate() -> None:
    deep: Any = TOKEN
    for _ in range(500):
        deep = [deep]
    assert find_secrets(deep, known=(TOKEN,)) == []  # deeper than any argument: not read
    cyclic: list[Any] = ["x"]
    cyclic.append(cyclic)
    assert find_secrets(cyclic) == []


@settings(max_examples=200, deadline=None)
@given(st.one_of(tool_arguments(), billing_info()))
def test_generated_tool_arguments_hold_no_secrets(args: dict[str, Any]) -> None:
    assert find_secrets(args, known=(TOKEN, "sk_sandbox_test")) == []
    assert redact_secrets(args) == args


# --- refusals ----------------------------------------------------------------------------------


def test_refusal_names_kinds_and_fields_only() -> None:
    with pytest.raises(SecretRefusedError) as info:
        refuse_secrets({"note": f"my token {TOKEN}", "meta": {"api_key": "abc"}, "x": SECRETS[0]}, known=[TOKEN])
    exc = info.value
    assert isinstance(exc, InvalidRequestError) and exc.code == "secret_not_allowed"
    assert exc.message.startswith(SECRET_REFUSAL_MESSAGE)
    for shown in (exc.message, str(exc), repr(exc.details)):
        assert TOKEN not in shown and SECRETS[0] not in shown and "abc" not in shown.replace("abc", "", 0)
        assert "'note'" in shown or "note" in shown
    assert exc.details["findings"] == [
        {"kind": "known_secret", "path": "note"}, {"kind": "secret_field", "path": "meta.api_key"},
        {"kind": "secret_value", "path": "x"},
    ]


def test_no_refusal_without_secrets() -> None:
    refuse_secrets({"amount": "25.00", "payment_method_id": "pm_card_visa"}, known=[TOKEN])


def refusal_of(build: Callable[[], Any]) -> BaseException:
    try:
        refuse_secrets(build(), known=[TOKEN])
    except SecretRefusedError as exc:
        return exc
    raise AssertionError("not refused")


@pytest.mark.parametrize("build", [
    lambda: {"note": f"token {TOKEN}"},
    lambda: {"x": "sk_live_51HqLyjWDarjtT1zdp7dc"},
    lambda: {"password": "hunter2-password-value"},
])  # fmt: skip
def test_refusal_traceback_frames_hold_no_secret(build: Callable[[], Any]) -> None:
    exc = refusal_of(build)
    assert exc.__cause__ is None and exc.__suppress_context__
    frames = list(traceback.walk_tb(exc.__traceback__))
    assert len(frames) >= 2
    text = "\n".join(repr(frame.f_locals) for frame, _ in frames)
    for secret in (TOKEN, "51HqLyjWDarjtT1zdp7dc", "hunter2"):
        assert secret not in text
    assert not re.search(r"sk_live_\w", text)
