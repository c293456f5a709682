"""A body the sandbox cannot read is a 400 ``validation_error`` in the envelope, never a 500, and moves nothing.

Regression of issue 7 item 7: a JSON body nested a few thousand levels deep raised ``RecursionError``
in the parser, which the pipeline turned into a 500 (and clients retry 500s).
"""

from __future__ import annotations

import pytest
from sandbox_helpers import Api, snapshot

from agent_billing.providers.modelslab.sandbox.ledger import Ledger

DEEP = 5000
BODIES: dict[str, bytes] = {
    "nested_arrays_5000": b'{"amount": ' + b"[" * DEEP + b"]" * DEEP + b"}",
    "nested_objects_5000": b'{"amount": 10, "x": ' + b'{"a":' * DEEP + b"1" + b"}" * DEEP + b"}",
    "nested_900": b'{"amount": ' + b"[" * 900 + b"]" * 900 + b"}",  # under the interpreter's limit
    "nested_100000": b"[" * 100_000 + b"]" * 100_000,
    "nan": b'{"amount": NaN, "payment_method_id": "pm_card_visa"}',
    "infinity": b'{"amount": Infinity, "payment_method_id": "pm_card_visa"}',
    "minus_infinity": b'{"amount": -Infinity}',
    "invalid_utf8": b'{"amount": 10, "payment_method_id": "pm_\xff\xfe"}',
    "lone_surrogate_bytes": b'{"amount": 10, "note": "\xed\xa0\x80"}',
    "escaped_lone_surrogate": b'{"amount": 10, "payment_method_id": "pm_\\ud800"}',
    "truncated": b'{"amount": 10, "payment_method_id": "pm_ca',
    "trailing_garbage": b'{"amount": 10} {"amount": 20}',
    "array": b'[{"amount": 10}]',
    "string": b'"amount=10"',
    "number": b"10",
    "null": b"null",
    "true": b"true",
    "form_encoded": b"amount=10&payment_method_id=pm_card_visa",
    "html": b"<html><body>fund</body></html>",
    "bom_then_json": b'\xef\xbb\xbf{"amount": 10}',
}


@pytest.mark.parametrize("name", sorted(BODIES))
async def test_unreadable_body_is_a_400_validation_error(api: Api, ledger: Ledger, name: str) -> None:
    before = snapshot(ledger)
    r = await api.call("POST", "/wallet/fund", content=BODIES[name], key=f"key-{name}",
                       headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text[:300]
    body = r.json()
    assert body["data"] is None
    assert body["error"]["code"] == "validation_error"
    assert body["meta"]["request_id"] == r.headers["x-request-id"]
    assert snapshot(ledger) == before


async def test_deeply_nested_body_on_every_body_operation(api: Api, ledger: Ledger) -> None:
    before = snapshot(ledger)
    deep = b"[" * DEEP + b"]" * DEEP
    for method, path in [("PUT", "/billing/info"), ("POST", "/subscriptions"), ("POST", "/wallet/coupons/redeem"),
                         ("PUT", "/subscriptions/1001"), ("POST", "/billing/payment-link")]:
        r = await api.call(method, path, content=deep, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (path, r.text[:300])
        assert r.json()["error"]["code"] == "validation_error"
    assert snapshot(ledger) == before


async def test_a_readable_body_after_a_bad_one_still_works(api: Api) -> None:
    r = await api.call("POST", "/wallet/fund", content=BODIES["nested_arrays_5000"])
    assert r.status_code == 400
    data = await api.ok("POST", "/wallet/fund", json={"amount": 10, "payment_method_id": "pm_card_visa"})
    assert data["balance"] == 10
