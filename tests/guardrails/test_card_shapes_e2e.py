"""Issue 19 item 2: card numbers with any separator, split 3 + 13 over two address lines, or in Chinese
numerals, are refused end to end through ``billing update_info`` and never echoed or stored."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.guardrails.strategies import pans, with_check_digit

from agent_billing.audit import MemoryAuditLog
from agent_billing.guardrails.card_data import find_card_numbers, scan_arguments
from agent_billing.inprocess import sandbox_clients
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit

TOKEN = "sk_sandbox_shapes"
SEPARATORS = ["~", "'", "=", "#", "%", "^", "&", "`", '"', "<", "\u00b0", "\u2026", "\u060c", "\u0964"]
CJK = "〇一二三四五六七八九"


def numbers(seed: int, count: int = 300) -> list[str]:
    rng = random.Random(seed)
    return [with_check_digit("4" + "".join(rng.choice("0123456789") for _ in range(14))) for _ in range(count)]


@pytest.fixture
def billing() -> Any:
    client, aclient = sandbox_clients(create_app(tokens=(TOKEN,), rate_limit=False), token=TOKEN)
    toolkit = BillingToolkit(client=client, async_client=aclient, audit=MemoryAuditLog())
    tool = next(t for t in toolkit.get_tools() if t.name == "billing")

    def run(**args: Any) -> str:
        message = tool.invoke({"type": "tool_call", "name": "billing", "args": {"action": "update_info", **args},
                               "id": "c1"})
        return str(message.content)

    yield run, client
    client.close()


@pytest.mark.parametrize("sep", SEPARATORS)
def test_300_numbers_per_separator_are_refused_never_echoed_or_stored(sep: str, billing: Any) -> None:
    run, client = billing
    for pan in numbers(ord(sep)):
        printed = sep.join(pan[i : i + 4] for i in range(0, 16, 4))
        content = run(address_line2=f"Ref {printed}")
        assert json.loads(content)["ok"] is False, printed
        assert pan[:12] not in content and printed not in content and pan[4:8] not in content.replace(pan[-4:], "")
    stored = json.dumps(client.get_billing_info().model_dump(mode="json"))
    assert "Ref" not in stored


def test_split_3_plus_13_over_two_address_lines_is_refused(billing: Any) -> None:
    run, client = billing
    for pan in numbers(313, 100):
        for rest in (pan[3:], f"{pan[3]} {pan[4:8]} {pan[8:12]} {pan[12:]}"):
            content = run(address_line1=f"12 Main St {pan[:3]}", address_line2=f"{rest} Rear")
            assert json.loads(content)["ok"] is False and pan[3:] not in content
    assert "Main St" not in json.dumps(client.get_billing_info().model_dump(mode="json"))


def test_chinese_numerals_are_refused(billing: Any) -> None:
    run, _ = billing
    for pan in numbers(86, 50):
        written = "".join(CJK[int(d)] for d in pan)
        content = run(address_line1=f"卡号 {written}")
        assert json.loads(content)["ok"] is False and written not in content


def test_product_codes_and_tracking_numbers_pass() -> None:
    """German EAN-13 (GS1 check digit) and a USPS IMpb number are other numbering schemes, not cards."""
    assert find_card_numbers("EAN 4006381333931") == []
    impb = "940011189922385642370"
    check = (10 - sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(impb))) % 10) % 10
    assert find_card_numbers(f"Tracking {impb}{check}") == []


@given(pans(), st.sampled_from([*SEPARATORS, " ", "\xa0", "*", "!", "?", "§", "¤", "→"]), st.integers(1, 3))
def test_any_non_alphanumeric_run_separates_groups(pan: Any, sep: str, width: int) -> None:
    digits = pan.digits
    printed = (sep * width).join(digits[i : i + 4] for i in range(0, len(digits), 4))
    assert [f.last4 for f in scan_arguments({"note": f"x {printed} y"}) if f.kind == "card_number"] == [pan.last4]


@given(pans())
def test_16_digits_split_over_two_text_fields(pan: Any) -> None:
    digits = pan.digits
    if len(digits) != 16:
        return
    for cut in (3, 4, 8, 12, 13):  # printed-group boundaries, and the 3 + 13 split of issue 19
        found = scan_arguments({"line1": f"Flat {digits[:cut]}", "line2": f"{digits[cut:]} Rear"})
        # One part may be a card-shaped number on its own too (a 13-digit Maestro): also refused.
        assert pan.last4 in [f.last4 for f in found if f.kind == "card_number" and "+" in f.path], cut
