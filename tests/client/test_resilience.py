"""Failure modes of the client: dropped responses, 429 and 5xx, declines, secrets, bad input, .env."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import TOKEN

from agent_billing import (
    ActionRequiredError,
    AsyncModelsLabClient,
    AuthenticationError,
    BillingConnectionError,
    CardDataRefusedError,
    IdempotencyConflictError,
    ModelsLabClient,
    OutcomeUnknownError,
    PaymentDeclinedError,
    RateLimitedError,
    RetryPolicy,
    Settings,
)
from agent_billing.inprocess import SANDBOX_BASE_URL, SyncASGITransport
from agent_billing.sandbox import RateLimits, create_app

FAST = RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.05, max_total_wait=5)


class DropResponses(httpx.BaseTransport):
    """Forwards every request to the sandbox, then loses the response of the first ``drops`` matching ones."""

    def __init__(self, inner: httpx.BaseTransport, path: str, drops: int = 1) -> None:
        self.inner, self.path, self.drops, self.keys = inner, path, drops, []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith(self.path):
            self.keys.append(request.headers.get("Idempotency-Key"))
            if self.drops:
                self.drops -= 1
                raise httpx.ReadError("connection reset by peer", request=request)
        return response


class AsyncDropResponses(httpx.AsyncBaseTransport):
    """Async twin of ``DropResponses``."""

    def __init__(self, inner: httpx.AsyncBaseTransport, path: str, drops: int = 1) -> None:
        self.inner, self.path, self.drops, self.keys = inner, path, drops, []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path.endswith(self.path):
            self.keys.append(request.headers.get("Idempotency-Key"))
            if self.drops:
                self.drops -= 1
                raise httpx.ReadError("connection reset by peer", request=request)
        return response


def test_a_fund_whose_response_was_dropped_is_retried_and_charges_once(sandbox_app: Any) -> None:
    transport = DropResponses(SyncASGITransport(sandbox_app), "/wallet/fund")
    client = ModelsLabClient(base_url=SANDBOX_BASE_URL, token=TOKEN, retry=FAST, transport=transport)
    result = client.fund_wallet(Decimal("25"), "pm_card_visa")
    assert result.idempotency_replay is True
    assert len(transport.keys) == 2 and transport.keys[0] == transport.keys[1]
    assert client.get_wallet_balance().balance == Decimal("25.00")
    assert len(client.get_wallet_transactions().items) == 1


async def test_async_fund_with_dropped_response_charges_once(sandbox_app: Any) -> None:
    transport = AsyncDropResponses(httpx.ASGITransport(app=sandbox_app), "/wallet/fund", drops=2)
    client = AsyncModelsLabClient(base_url=SANDBOX_BASE_URL, token=TOKEN, retry=FAST, transport=transport)
    await client.fund_wallet(Decimal("40"), "pm_card_visa", idempotency_key="fund-40-order-17")
    assert transport.keys == ["fund-40-order-17"] * 3
    assert (await client.get_wallet_balance()).balance == Decimal("40.00")
    await client.aclose()


def test_a_lost_answer_after_all_retries_is_an_unknown_outcome(sandbox_app: Any) -> None:
    transport = DropResponses(SyncASGITransport(sandbox_app), "/wallet/fund", drops=10)
    client = ModelsLabClient(base_url=SANDBOX_BASE_URL, token=TOKEN, retry=FAST, transport=transport)
    with pytest.raises(OutcomeUnknownError) as info:
        client.fund_wallet(Decimal("25"), "pm_card_visa")
    assert not isinstance(info.value, BillingConnectionError)  # not "failed": it may have gone through
    assert len(set(transport.keys)) == 1  # every attempt carried the same key
    assert info.value.idempotency_key == info.value.details["idempotency_key"] == transport.keys[0]
    # The charge did happen once; asking again with the same key replays it instead of charging twice.
    transport.drops = 0
    replay = client.fund_wallet(Decimal("25"), "pm_card_visa", idempotency_key=transport.keys[0])
    assert replay.idempotency_replay is True
    assert client.get_wallet_balance().balance == Decimal("25.00")


def test_429_is_retried_after_the_reset() -> None:
    app = create_app(tokens=(TOKEN,), rate_limit=RateLimits({"agent-billing": 2, "agent-general": 100}, window_seconds=1))
    statuses: list[int] = []
    client = ModelsLabClient(base_url=SANDBOX_BASE_URL, token=TOKEN, transport=SyncASGITransport(app),
                           retry=RetryPolicy(max_retries=3, base_delay=0.01, max_total_wait=5))
    client._http.event_hooks["response"].append(lambda response: statuses.append(response.status_code))
    for _ in range(3):
        client.add_payment_method("pm_card_visa")
    assert 429 in statuses and statuses[-1] == 200


def test_429_beyond_the_wait_budget_surfaces_with_retry_after() -> None:
    app = create_app(tokens=(TOKEN,), rate_limit=RateLimits({"agent-billing": 1, "agent-general": 100}, window_seconds=60))
    client = ModelsLabClient(base_url=SANDBOX_BASE_URL, token=TOKEN, transport=SyncASGITransport(app),
                           retry=RetryPolicy(max_retries=3, max_total_wait=1))
    client.add_payment_method("pm_card_visa")
    with pytest.raises(RateLimitedError) as info:
        client.add_payment_method("pm_card_visa")
    assert info.value.retry_after is not None and 1 < info.value.retry_after <= 60


class FlakyServer(httpx.BaseTransport):
    """Answers 503 to the first ``failures`` requests, then forwards."""

    def __init__(self, inner: httpx.BaseTransport, failures: int) -> None:
        self.inner, self.failures, self.calls = inner, failures, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls <= self.failures:
            return httpx.Response(503, json={"data": None, "error": {"code": "unavailable", "message": "busy"},
                                             "meta": {"request_id": "req_x"}})
        return self.inner.handle_request(request)


def test_5xx_is_retried(sandbox_app: Any) -> None:
    flaky = FlakyServer(SyncASGITransport(sandbox_app), failures=2)
    client = ModelsLabClient(base_url=SANDBOX_BASE_URL, token=TOKEN, retry=FAST, transport=flaky)
    assert client.get_wallet_balance().balance == Decimal("0.00")
    assert flaky.calls == 3


@pytest.mark.parametrize("method, decline_code", [("pm_card_chargeDeclined", "generic_decline"),
                                                  ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds")])
def test_declines_map_to_payment_declined(client: ModelsLabClient, method: str, decline_code: str) -> None:
    with pytest.raises(PaymentDeclinedError) as info:
        client.fund_wallet(Decimal("25"), method)
    assert info.value.decline_code == decline_code and info.value.status == 402
    assert info.value.request_id
    assert client.get_wallet_balance().balance == Decimal("0.00")


def test_three_d_secure_is_action_required(client: ModelsLabClient) -> None:
    with pytest.raises(ActionRequiredError) as info:
        client.fund_wallet(Decimal("25"), "pm_card_authenticationRequired")
    assert info.value.payment_intent_id and info.value.payment_intent_id.startswith("pi_")
    assert client.get_payment_status(info.value.payment_intent_id).status == "pending"
    assert client.get_wallet_balance().balance == Decimal("0.00")


def test_same_key_different_body_is_a_conflict(client: ModelsLabClient) -> None:
    client.fund_wallet(Decimal("25"), "pm_card_visa", idempotency_key="k-1")
    with pytest.raises(IdempotencyConflictError):
        client.fund_wallet(Decimal("30"), "pm_card_visa", idempotency_key="k-1")
    assert client.get_wallet_balance().balance == Decimal("25.00")


def test_card_numbers_never_leave_the_process(client: ModelsLabClient) -> None:
    sent: list[str] = []
    client._http.event_hooks["request"].append(lambda request: sent.append(request.url.path))
    with pytest.raises(CardDataRefusedError) as info:
        client.update_billing_info(address_line2="4242 4242 4242 4242")
    assert sent == [] and "4242" not in str(info.value)


SECRET = "sk_sandbox_SECRET_0123456789"


def test_the_token_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(tokens=(SECRET,), rate_limit=False)
    caplog.set_level(logging.DEBUG)
    client = ModelsLabClient(base_url=SANDBOX_BASE_URL, token=SECRET, retry=FAST, transport=SyncASGITransport(app))
    assert SECRET not in repr(client) and SECRET not in str(client)
    client.fund_wallet(Decimal("25"), "pm_card_visa")
    with pytest.raises(PaymentDeclinedError) as declined:
        client.fund_wallet(Decimal("25"), "pm_card_chargeDeclined")
    wrong = ModelsLabClient(base_url=SANDBOX_BASE_URL, token=SECRET + "x", transport=SyncASGITransport(app))
    with pytest.raises(AuthenticationError) as unauth:
        wrong.get_wallet_balance()
    dead = ModelsLabClient(base_url="http://127.0.0.1:9/api/agents/v1", token=SECRET, retry=RetryPolicy.none())
    with pytest.raises(BillingConnectionError) as unreachable:
        dead.get_wallet_balance()
    texts = [str(declined.value), repr(declined.value), str(unauth.value), str(unreachable.value), caplog.text,
             repr(Settings(token=SECRET))]  # type: ignore[arg-type]
    assert all(SECRET not in text for text in texts)
    assert "/wallet/fund" in caplog.text  # DEBUG logging did happen


def test_settings_from_env_and_dotenv(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("AGENT_BILLING_TOKEN=from-dotenv\nAGENT_BILLING_BASE_URL=http://127.0.0.1:8787/api/agents/v1\n")
    settings = Settings.from_env(environ={}, dotenv_path=env_file)
    assert settings.token is not None and settings.token.get_secret_value() == "from-dotenv"
    assert settings.base_url.endswith("/api/agents/v1")
    override = Settings.from_env(environ={"AGENT_BILLING_TOKEN": "from-env"}, dotenv_path=env_file)
    assert override.token is not None and override.token.get_secret_value() == "from-env"
    with pytest.raises(AuthenticationError, match="AGENT_BILLING_TOKEN"):
        ModelsLabClient(settings=Settings.from_env(environ={}, dotenv_path=None))


@pytest.mark.parametrize("method, args", [
    ("fund_wallet", (Decimal("-5"),)), ("fund_wallet", (float("nan"),)), ("fund_wallet", (10.005,)),
    ("fund_wallet", ("9.99",)), ("fund_wallet", (Decimal("25"), "pm-123")),
    ("confirm_wallet_checkout", ("cs_",)), ("get_payment_status", ("abc",)), ("create_subscription", (0,)),
    ("charge_subscription_amount", (Decimal("4.99"),)), ("enable_auto_funding", (Decimal("4"), Decimal("1"))),
])
def test_bad_input_is_refused_before_any_request(client: ModelsLabClient, method: str, args: tuple[Any, ...]) -> None:
    from agent_billing import InvalidRequestError

    sent: list[str] = []
    client._http.event_hooks["request"].append(lambda request: sent.append(request.url.path))
    with pytest.raises(InvalidRequestError) as info:
        getattr(client, method)(*args)
    assert sent == [] and info.value.details["errors"]
