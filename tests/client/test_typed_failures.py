"""Every failure is typed (issue 18, item 4): only ``agent_billing.errors`` types leave the client or a tool.

Found: a 30-digit amount raised ``decimal.InvalidOperation`` out of ``ModelsLabClient.fund_wallet``, and odd
provider numbers (``1e309``, ``10**33``, NaN) raised untyped errors further on. Here property tests drive
every operation of every provider with arbitrary JSON-ish arguments (against the real sandbox) and with
arbitrary odd answers from a real ASGI app (status, headers, bytes, JSON with impossible numbers), sync and
async: the outcome is a result without impossible numbers, or a ``BillingError``; a mutation whose answer
cannot be read is an ``OutcomeUnknownError``, never a success.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable, MutableMapping
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from tests.conftest import TOKEN

from agent_billing import BillingError, InvalidRequestError, ModelsLabClient, OutcomeUnknownError, RetryPolicy
from agent_billing.client import AsyncClient, SyncClient
from agent_billing.inprocess import SANDBOX_BASE_URL, SANDBOX_ORIGIN, SyncASGITransport, sandbox_clients
from agent_billing.registry import Operation, get_registry, provider_names
from agent_billing.sandbox import create_app

# One stored retry at most, and no waiting: a property test must not sleep on a Retry-After.
QUICK = RetryPolicy(max_retries=1, base_delay=0.0, max_delay=0.0, max_total_wait=0.01, jitter=False)
OPERATIONS: list[tuple[str, Operation]] = [(p, op) for p in provider_names() for op in get_registry(p)]

# --- Arbitrary JSON-ish values, including the ones that broke: long amounts, huge and odd numbers

ODD_NUMBERS = [Decimal("1" * 30 + ".001"), "1" * 30 + ".001", 10**33, -(10**33), 1e308, float("inf"),
               float("nan"), Decimal("NaN"), Decimal("-Infinity"), Decimal("1e309"), "1e309", -5, 0, "25", 25.005]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=40),
                    st.decimals(allow_nan=True, allow_infinity=True), st.sampled_from(ODD_NUMBERS))
json_ish = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                        max_leaves=12)


@st.composite
def arguments(draw: st.DrawFn, op: Operation) -> dict[str, Any]:
    names = list(op.args.model_fields)
    keys = draw(st.lists(st.sampled_from(names) | st.text(max_size=12), max_size=len(names) + 2)) if names else \
        draw(st.lists(st.text(max_size=12), max_size=2))
    # A field's value is an odd number half the time: those are the values that broke the client.
    return {key: draw(st.sampled_from(ODD_NUMBERS) | json_ish) for key in keys}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), which=st.sampled_from(OPERATIONS))
def test_any_arguments_to_any_operation_end_as_a_result_or_a_billing_error(data: st.DataObject,
                                                                          which: tuple[str, Operation]) -> None:
    provider, op = which
    app = create_app(rate_limit=False)
    client, _ = sandbox_clients(app, provider=provider, retry=QUICK)
    raw = data.draw(arguments(op))
    try:
        client.call(op.name, raw)
    except BillingError:
        pass
    finally:
        client.close()


@pytest.mark.parametrize("amount", [Decimal("1" * 30 + ".001"), "1" * 30 + ".001", Decimal("1e309"), 10**33])
def test_a_30_digit_amount_is_a_validation_error_and_nothing_is_sent(amount: Any, sandbox_app: Any) -> None:
    sent: list[httpx.Request] = []
    transport = SyncASGITransport(sandbox_app)
    client = ModelsLabClient(base_url=SANDBOX_BASE_URL, token=TOKEN, transport=transport)
    client._http.event_hooks["request"].append(sent.append)
    with pytest.raises(InvalidRequestError) as info:
        client.fund_wallet(amount, "pm_card_visa")
    assert "amount" in info.value.message and sent == []


# --- Arbitrary odd answers from a real ASGI app


class Odd:
    """A JSON token written as is (``1e309``, ``NaN``, a 34-digit integer): what ``json.dumps`` cannot write."""

    def __init__(self, text: str) -> None:
        self.text = text


def _render(value: Any) -> str:
    if isinstance(value, Odd):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_render(v) for v in value) + "]"
    return json.dumps(value)


ODD_TOKENS = ["1e309", "-1e309", "1" + "0" * 33, "-5", "NaN", "Infinity", "1e-400", "123456789012345678901234567890.001",
              '"NaN"', '"1e309"', '"-Infinity"', "null", "[]", "{}", "true", '"x"', "0", "25.00"]
odd_values = st.recursive(st.sampled_from(ODD_TOKENS).map(Odd) | st.text(max_size=20) | st.integers(),
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=3), max_leaves=8)


@st.composite
def odd_answers(draw: st.DrawFn, op: Operation) -> tuple[int, list[tuple[str, str]], bytes]:
    """A status, headers and a body: the operation's own result fields filled with odd values, or junk."""
    fields = list(op.result.model_fields) or ["data"]
    data = draw(st.dictionaries(st.sampled_from(fields) | st.text(max_size=8), odd_values, max_size=len(fields) + 1))
    error = draw(st.none() | st.dictionaries(st.sampled_from(["code", "message", "details"]), odd_values, max_size=3))
    document = draw(st.sampled_from(["envelope", "bare", "detail", "junk", "deep", "tail"]))
    if document == "envelope":
        body = _render({"data": data, "error": error, "meta": draw(odd_values)}).encode()
    elif document == "bare":
        body = _render(data).encode()
    elif document == "detail":
        body = _render({"detail": draw(odd_values), "code": draw(odd_values)}).encode()
    elif document == "deep":
        body = (b'{"data":' * 300) + b"1" + b"}" * 300
    elif document == "tail":
        body = _render({"data": data}).encode() + draw(st.sampled_from([b"\xff\xfe", b"\x00", b"}", b"\xc3"]))
    else:
        body = draw(st.binary(max_size=64))
    status = draw(st.sampled_from([200, 201, 202, 204, 400, 401, 402, 403, 404, 409, 422, 429, 500, 502, 503]))
    headers = [("content-type", draw(st.sampled_from(["application/json", "text/html", "application/octet-stream"])))]
    for name, values in (("retry-after", ["1", "-1", "abc", "1e309", "nan", "99999999999", ""]),
                         ("x-ratelimit-reset", ["0", "1e309", "-5", "x"]), ("idempotent-replayed", ["true", "x"]),
                         ("x-request-id", ["req_1", "\t" * 3, "r" * 500])):
        if draw(st.booleans()):
            headers.append((name, draw(st.sampled_from(values))))
    return status, headers, body


class OddApp:
    """An ASGI app that answers every request with the answer it is given (and reads the request first)."""

    def __init__(self) -> None:
        self.answer: tuple[int, list[tuple[str, str]], bytes] = (200, [], b"{}")
        self.requests = 0

    async def __call__(self, scope: MutableMapping[str, Any], receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
                       send: Callable[[MutableMapping[str, Any]], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        self.requests += 1
        status, headers, body = self.answer
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.encode(), v.encode()) for k, v in headers]})
        await send({"type": "http.response.body", "body": body})


def valid_arguments(op: Operation) -> dict[str, Any] | None:
    """Some arguments the operation's model accepts, found by trying plausible values (derived, not listed)."""
    candidates = ["25", "pm_card_visa", 10, "fund", "USD", "pi_test_1", "cs_test_1", "STARTER", "CARD", "credit",
                  True, "a@b.co", "x"]
    fields = op.args.model_fields
    required = [n for n, f in fields.items() if f.is_required()]
    optional: list[list[str]] = [[]] + [[n] for n, f in fields.items() if not f.is_required()]
    for extra in optional:
        for combo in itertools.product(candidates, repeat=len(required) + len(extra)):
            raw = dict(zip(required + extra, combo, strict=True))
            try:
                op.validate(raw)
            except Exception:
                continue
            return raw
    return None


ANSWERABLE = [(p, op, args) for p, op in OPERATIONS if (args := valid_arguments(op)) is not None]


def test_every_operation_gets_arguments_for_the_odd_answers() -> None:
    assert len(ANSWERABLE) == len(OPERATIONS), {op.name for _, op, _ in ANSWERABLE} ^ {op.name for _, op in OPERATIONS}


def _base_url(provider: str) -> str:
    return SANDBOX_ORIGIN + get_registry(provider).connection.sandbox_path


def _impossible(value: Any) -> bool:
    """Whether a result holds a number no amount can be (the client must refuse such an answer)."""
    if isinstance(value, BaseModel):
        return any(_impossible(v) for v in {**value.__dict__, **(value.__pydantic_extra__ or {})}.values())
    if isinstance(value, dict):
        return any(_impossible(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_impossible(v) for v in value)
    if isinstance(value, float):
        value = Decimal(repr(value))
    return isinstance(value, Decimal) and not (value.is_finite() and abs(value) < Decimal(10) ** 15)


def _check(op: Operation, answer: tuple[int, list[tuple[str, str]], bytes], result: Any,
           error: BaseException | None) -> None:
    if error is not None:
        assert isinstance(error, BillingError), f"{op.name} raised {type(error).__name__}: {error}"
        return
    assert not _impossible(result), f"{op.name} accepted an impossible number"
    if op.is_mutation:
        assert 200 <= answer[0] < 300


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), which=st.sampled_from(ANSWERABLE))
def test_odd_answers_to_any_operation_end_as_a_clean_result_or_a_billing_error(
        data: st.DataObject, which: tuple[str, Operation, dict[str, Any]]) -> None:
    provider, op, args = which
    answer = data.draw(odd_answers(op))
    app = OddApp()
    app.answer = answer
    client = SyncClient(base_url=_base_url(provider), token=get_registry(provider).connection.sandbox_token,
                        transport=SyncASGITransport(app), provider=provider, retry=QUICK)
    result, error = None, None
    try:
        result = client.call(op.name, args)
    except BaseException as exc:  # the property is about which exceptions leave
        error = exc
    finally:
        client.close()
    _check(op, answer, result, error)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), which=st.sampled_from(ANSWERABLE))
def test_async_odd_answers_end_as_a_clean_result_or_a_billing_error(
        data: st.DataObject, which: tuple[str, Operation, dict[str, Any]]) -> None:
    provider, op, args = which
    answer = data.draw(odd_answers(op))
    app = OddApp()
    app.answer = answer

    async def run() -> tuple[Any, BaseException | None]:
        client = AsyncClient(base_url=_base_url(provider), token=get_registry(provider).connection.sandbox_token,
                             transport=httpx.ASGITransport(app=app), provider=provider, retry=QUICK)
        try:
            return await client.call(op.name, args), None
        except BaseException as exc:
            return None, exc
        finally:
            await client.aclose()

    result, error = asyncio.run(run())
    _check(op, answer, result, error)


@pytest.mark.parametrize("token", ["1e309", "1" + "0" * 33, "NaN", '"NaN"', '"1e309"'])
def test_an_impossible_amount_in_a_charge_answer_is_an_unknown_outcome(token: str) -> None:
    app = OddApp()
    app.answer = (200, [("content-type", "application/json")],
                  f'{{"data": {{"transaction_id": "t1", "amount": {token}, "balance": {token}}}}}'.encode())
    client = ModelsLabClient(base_url=SANDBOX_BASE_URL, token=TOKEN, transport=SyncASGITransport(app), retry=QUICK)
    with pytest.raises(OutcomeUnknownError) as info:
        client.fund_wallet(Decimal("25"), "pm_card_visa", idempotency_key="odd-1")
    assert info.value.idempotency_key == "odd-1" and info.value.cause == "unreadable_response"
    with pytest.raises(BillingError):  # a read gets a typed error too, never the number
        client.get_wallet_balance()


# --- The sandbox's own fault injector: garbled answers to every money-moving call


async def test_garbled_charge_answers_from_the_fault_injector_are_unknown_outcomes() -> None:
    # Every answer to a money-moving call arrives as a 200 whose body is not JSON (the charge did happen).
    app = create_app(tokens=(TOKEN,), rate_limit=False, faults="garble=1", fault_seed=3)
    sync_client, async_client = sandbox_clients(app, token=TOKEN, retry=QUICK)
    with pytest.raises(OutcomeUnknownError):  # adding a card may make it the default: faulted too (it was added)
        sync_client.add_payment_method("pm_card_visa", idempotency_key="garbled-0")
    with pytest.raises(OutcomeUnknownError) as info:
        sync_client.fund_wallet(Decimal("25"), "pm_card_visa", idempotency_key="garbled-1")
    with pytest.raises(OutcomeUnknownError) as async_info:
        await async_client.fund_wallet(Decimal("30"), "pm_card_visa", idempotency_key="garbled-2")
    assert (info.value.cause, async_info.value.cause) == ("unreadable_response", "unreadable_response")
    # Reads are never garbled: both charges are in the ledger, once each.
    assert sync_client.get_wallet_balance().balance == Decimal("55.00")
    sync_client.close()
    await async_client.aclose()
