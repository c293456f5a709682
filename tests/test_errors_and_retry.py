"""Error mapping from the envelope, and the retry policy's arithmetic."""

from __future__ import annotations

import pytest

from agent_billing.errors import (
    ActionRequiredError,
    AuthenticationError,
    CardDataRefusedError,
    ConflictError,
    IdempotencyConflictError,
    InvalidRequestError,
    NotFoundError,
    PaymentDeclinedError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    error_from_envelope,
)
from agent_billing.registry import get_registry
from agent_billing.retry import RetryPolicy, server_wait_hint

# ModelsLab's codes as its wire conventions declare them (the core keeps no code list of its own).
_MODELSLAB_CODES = get_registry("modelslab").wire.error_classes


@pytest.mark.parametrize("status, code, cls", [
    (400, "validation_error", InvalidRequestError),
    (400, "card_data_not_allowed", CardDataRefusedError),
    (401, "unauthenticated", AuthenticationError),
    (402, "payment_declined", PaymentDeclinedError),
    (403, "forbidden", PermissionDeniedError),
    (404, "not_found", NotFoundError),
    (409, "idempotency_error", IdempotencyConflictError),
    (409, "checkout_not_paid", ConflictError),
    (429, "rate_limited", RateLimitedError),
    (503, "unavailable", ServerError),
    (202, "requires_action", ActionRequiredError),
])
def test_status_and_code_map_to_the_right_error(status: int, code: str, cls: type) -> None:
    err = error_from_envelope(status, {"code": code, "message": "m", "details": {"decline_code": "x"}}, "req_9",
                              classes=_MODELSLAB_CODES)
    assert type(err) is cls
    assert err.status == status and err.request_id == "req_9" and err.code == code


@pytest.mark.parametrize("provider", ["wallgent", "tenex"])
def test_another_providers_codes_are_not_everyones_default(provider: str) -> None:
    # A code only ModelsLab declares means nothing special to another provider: its status decides.
    classes = get_registry(provider).wire.error_classes
    err = error_from_envelope(400, {"code": "card_data_not_allowed", "message": "m"}, None, classes=classes)
    assert type(err) is InvalidRequestError
    err = error_from_envelope(409, {"code": "idempotency_error", "message": "m"}, None, classes=classes)
    assert type(err) is ConflictError


def test_decline_code_is_exposed() -> None:
    err = error_from_envelope(402, {"code": "payment_declined", "message": "no",
                                    "details": {"decline_code": "insufficient_funds", "payment_intent_id": "pi_1"}}, None)
    assert isinstance(err, PaymentDeclinedError)
    assert (err.decline_code, err.payment_intent_id) == ("insufficient_funds", "pi_1")


def test_retry_after_and_reset_headers() -> None:
    assert server_wait_hint({"Retry-After": "2"}) == 2.0
    assert server_wait_hint({"X-RateLimit-Reset": "3"}, now=2_000_000_000) == 3.0  # small: relative seconds
    assert server_wait_hint({"X-RateLimit-Reset": str(2_000_000_005)}, now=2_000_000_000) == 5.0
    assert server_wait_hint({}) is None


def test_backoff_grows_and_is_bounded() -> None:
    policy = RetryPolicy(base_delay=1, max_delay=4, jitter=False)
    assert [policy.backoff(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 4, 4]
    jittered = RetryPolicy(base_delay=1, max_delay=4)
    assert all(0 <= jittered.backoff(3) <= 4 for _ in range(100))


def test_error_attributes_are_the_providers_declarations_not_the_cores() -> None:
    # The id of a declined payment is an attribute only because a provider declares it; another name is not.
    from agent_billing import registry as registry_module
    from agent_billing.conventions import WireConventions
    from agent_billing.registry import Registry, register_provider

    err = PaymentDeclinedError("no", details={"charge_ref": "ch_1", "decline_code": "expired_card"})
    with pytest.raises(AttributeError):
        _ = err.charge_ref
    register_provider("declares_charge_ref", lambda: Registry(
        provider="declares_charge_ref", base_path="/", wire=WireConventions(
            error_attributes={"PaymentDeclinedError": ("charge_ref",)})))
    try:
        assert err.charge_ref == "ch_1" and err.decline_code == "expired_card"
        assert PaymentDeclinedError("no").charge_ref is None
        with pytest.raises(AttributeError):
            _ = err.no_such_detail
        with pytest.raises(AttributeError):
            _ = RateLimitedError("slow").charge_ref  # declared for declines only
    finally:
        registry_module._REGISTRIES.pop("declares_charge_ref", None)
        registry_module._LOADED.pop("declares_charge_ref", None)
