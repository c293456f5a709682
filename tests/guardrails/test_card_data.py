"""The card-data guard: card numbers, security codes and expiry dates never pass a tool call.

These tests try to get card data past the guard (separators, scripts, invisible characters, numbers,
keys, nesting, numbers split across fields) and check that ordinary billing arguments pass.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import re
import sys
import traceback
import unicodedata
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from agent_billing.errors import CardDataRefusedError, InvalidRequestError
from agent_billing.guardrails import (
    REFUSAL_MESSAGE,
    CardFinding,
    find_card_numbers,
    redact,
    redact_text,
    refuse_card_data,
    scan_arguments,
)
from agent_billing.guardrails.card_networks import NETWORKS, brand_of, card_brand, luhn_check_digit, luhn_valid

from .strategies import (
    DIGIT_ZEROS,
    EVASIVE_SEPARATORS,
    NETWORK_SPECS,
    REAL_PHONE_NUMBERS,
    Pan,
    benign_scalars,
    billing_info,
    dates,
    embedded,
    evasive_formatted,
    evasive_split_fields,
    formatted,
    iban_from,
    ibans,
    in_script,
    nested,
    pans,
    phone_numbers,
    plus_prefixed,
    split_across_fields,
    tool_arguments,
    with_check_digit,
)

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

VISA = "4242424242424242"
MARKER = re.compile(r"\[[a-z]+ card ending [0-9]{4}\]|\[card number redacted\]")


def ascii_digits(text: str) -> str:
    """Every digit character (any script) as its ASCII digit; everything else unchanged."""
    return "".join(str(unicodedata.digit(ch)) if unicodedata.digit(ch, None) is not None else ch for ch in text)


def all_text(value: Any) -> str:
    """Every string, number and key inside a value, joined by newlines (field names like
    ``address_line1`` left out: their digit is not a card's)."""
    if isinstance(value, dict):
        return "\n".join(
            f"{'' if re.fullmatch(r'[A-Za-z_]+[0-9]?', str(k)) else all_text(k)}\n{all_text(v)}"
            for k, v in value.items()
        )
    if isinstance(value, (list, tuple, set, frozenset)):
        return "\n".join(all_text(v) for v in value)
    return "" if value is None or isinstance(value, bool) else str(value)


def assert_no_digits_left(output: Any) -> None:
    """After removing the masked markers (which show last four only), no digit may remain."""
    text = MARKER.sub("", ascii_digits(all_text(output)))
    leftover = [ch for ch in text if ch.isdecimal() or unicodedata.digit(ch, None) is not None]
    assert not leftover, f"digits survived redaction: {len(leftover)}"


def card_findings(value: Any) -> list[CardFinding]:
    return [f for f in scan_arguments(value) if f.kind == "card_number"]


def kinds(value: Any) -> set[str]:
    return {f.kind for f in scan_arguments(value)}


# --- networks, Luhn, brands --------------------------------------------------------------------

# Published test numbers (Stripe, network documentation) and a few built at range edges, per brand.
KNOWN_CARDS = [
    ("4242424242424242", "visa"),
    ("4000056655665556", "visa"),
    ("4222222222222", "visa"),  # 13 digits
    ("4000000000000000006", "visa"),  # 19 digits
    ("5555555555554444", "mastercard"),
    ("2223003122003222", "mastercard"),
    ("5200828282828210", "mastercard"),
    ("2720999999999996", "mastercard"),
    ("378282246310005", "amex"),
    ("371449635398431", "amex"),
    ("6011111111111117", "discover"),
    ("6011000990139424", "discover"),
    ("6441111111111117", "discover"),
    ("6221260000000000", "discover"),
    ("3566002020360505", "jcb"),
    ("3530111333300000", "jcb"),
    ("3056930009020004", "diners"),
    ("36227206271667", "diners"),  # 14 digits
    ("38520000023237", "diners"),
    ("6200000000000005", "unionpay"),
    ("6205500000000000004", "unionpay"),  # 19 digits
    ("6759649826438453", "maestro"),
    ("5018000000000009", "maestro"),
    ("6304000000000000", "maestro"),
    ("2200000000000004", "mir"),
    ("8171999927660000", "rupay"),
]


@pytest.mark.parametrize(("number", "brand"), KNOWN_CARDS)
def test_known_test_cards_are_found_with_brand_and_last4(number: str, brand: str) -> None:
    assert luhn_valid(number)
    assert card_brand(number) == brand
    assert [(f.kind, f.brand, f.last4, f.path) for f in find_card_numbers(number)] == [
        ("card_number", brand, number[-4:], "")
    ]


def test_luhn_and_check_digit() -> None:
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")
    assert luhn_check_digit("424242424242424") == "2"
    for payload in ("3782822463100", "601111111111111", "0", "9999999999999999"):
        assert luhn_valid(payload + luhn_check_digit(payload))


def test_network_lengths_follow_the_brief() -> None:
    lengths = {n.brand: n.lengths for n in NETWORKS}
    assert lengths["visa"] == {13, 16, 19}
    assert lengths["mastercard"] == {16}
    assert lengths["amex"] == {15}
    assert lengths["maestro"] == set(range(13, 20))
    assert brand_of("4" * 14) is None and brand_of("4" * 16) == "visa"  # Visa is never 14 digits
    assert brand_of("37" + "0" * 14) is None  # Amex is 15 digits only
    assert brand_of("51" + "1" * 13) is None  # Mastercard is 16 digits only, and 51 is no Maestro range
    assert brand_of("50" + "1" * 13) == "maestro"
    assert brand_of("1" * 16) is None and brand_of("0" * 16) is None and brand_of("7" * 16) is None


@PROPERTY
@given(pans())
def test_generated_numbers_have_the_generating_brand(pan: Pan) -> None:
    assert card_brand(pan.digits) == pan.brand


def test_strategy_table_covers_every_brief_network() -> None:
    assert set(NETWORK_SPECS) == {"visa", "mastercard", "amex", "discover", "jcb", "diners", "unionpay", "maestro"}
    assert set(NETWORK_SPECS) <= {n.brand for n in NETWORKS}


# --- how card numbers are written --------------------------------------------------------------

BRIEF_SEPARATORS = {
    "space": " ", "dash": "-", "dot": ".", "slash": "/", "underscore": "_", "nbsp": "\u00a0",
    "narrow nbsp": "\u202f", "thin space": "\u2009", "zwsp": "\u200b", "zwnj": "\u200c", "zwj": "\u200d",
    "word joiner": "\u2060", "bom": "\ufeff", "tab": "\t", "newline": "\n", "crlf": "\r\n",
    "en dash": "\u2013", "minus sign": "\u2212", "ideographic space": "\u3000", "soft hyphen": "\u00ad",
    "space-dash-space": " - ", "fullwidth hyphen": "\uff0d", "middle dot": "\u00b7", "bullet": "\u2022",
}  # fmt: skip


@pytest.mark.parametrize("sep", BRIEF_SEPARATORS.values(), ids=BRIEF_SEPARATORS.keys())
def test_every_separator_between_groups(sep: str) -> None:
    text = sep.join(["4242", "4242", "4242", "4242"])
    assert [(f.brand, f.last4) for f in find_card_numbers(text)] == [("visa", "4242")]
    amex = sep.join(["3782", "822463", "10005"])
    assert [(f.brand, f.last4) for f in find_card_numbers(amex)] == [("amex", "0005")]


def test_mixed_separators_and_no_separator() -> None:
    for text in ("4242-4242 4242.4242", "4242_4242/4242\u00a04242", "4242\t4242\n4242\u202f4242",
                 "4242424242424242", "42424242 42424242", "4 2 4 2 4 2 4 2 4 2 4 2 4 2 4 2"):  # fmt: skip
        assert [f.last4 for f in find_card_numbers(text)] == ["4242"], repr(text)


def test_every_dash_and_space_character_is_a_separator() -> None:
    chars = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) in ("Pd", "Zs")]
    missed = [hex(ord(c)) for c in chars if not find_card_numbers(c.join(["4242", "4242", "4242", "4242"]))]
    assert missed == []


def test_every_invisible_format_character_is_ignored() -> None:
    chars = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"]
    chars += ["\ufe0f", "\u20e3", "\u0301", "\u034f", "\u180b", "\U000e0100", "\x00", "\x7f"]
    missed = [hex(ord(c)) for c in chars if not find_card_numbers(c.join(VISA))]
    assert missed == []


SCRIPTS = {
    "fullwidth": 0xFF10, "arabic-indic": 0x660, "extended arabic-indic": 0x6F0, "devanagari": 0x966,
    "bengali": 0x9E6, "thai": 0xE50, "tamil": 0xBE6, "mathematical bold": 0x1D7CE,
}  # fmt: skip


@pytest.mark.parametrize("zero", SCRIPTS.values(), ids=SCRIPTS.keys())
def test_decimal_digits_of_other_scripts(zero: int) -> None:
    text = "".join(in_script(d, zero) for d in VISA)
    assert [(f.brand, f.last4) for f in find_card_numbers(text)] == [("visa", "4242")]
    assert [(f.brand, f.last4) for f in find_card_numbers(f"card: {text[:4]} {text[4:8]}-{text[8:]}")] == [
        ("visa", "4242")
    ]
    assert redact_text(text) == "[visa card ending 4242]"


def test_mixed_scripts_in_one_number() -> None:
    zeros = [0x30, 0xFF10, 0x660, 0x6F0, 0x966, 0x9E6]
    text = "".join(in_script(d, zeros[i % len(zeros)]) for i, d in enumerate("5555555555554444"))
    assert [(f.brand, f.last4) for f in find_card_numbers(text)] == [("mastercard", "4444")]


def test_every_digit_character_is_read() -> None:
    """Each character with a digit value (Nd, superscripts, circled...) inside an otherwise ASCII number."""
    chars = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.digit(chr(c), None) is not None]
    missed = []
    for ch in chars:
        payload = "4242424" + str(unicodedata.digit(ch)) + "4242424"
        pan = with_check_digit(payload)
        if not find_card_numbers(pan[:7] + ch + pan[8:]):
            missed.append(hex(ord(ch)))
    assert missed == []


@pytest.mark.parametrize(
    "text",
    [
        "my card is 4242-4242-4242-4242 thanks",
        "card:4242424242424242,exp",
        "card4242424242424242",
        "4242424242424242exp",
        "pay with <4242 4242 4242 4242>!",
        "«4242.4242.4242.4242»",
        '{"card": "4242 4242 4242 4242"}',
        "https://evil.example/?pan=4242424242424242&x=1",
        "line one\n4242\n4242\n4242\n4242\nline two",
        "4242 4242 4242 4242 12/27 123",
        "cvc 123 4242 4242 4242 4242",
        "+1 4242 4242 4242 4242",  # more than the 15 digits of a phone number
        "4242-4242-4242-4242-",
    ],
)
def test_card_number_inside_longer_text(text: str) -> None:
    assert [(f.brand, f.last4) for f in find_card_numbers(text)] == [("visa", "4242")]


def test_two_cards_in_one_run_are_both_found() -> None:
    found = find_card_numbers("4242 4242 4242 4242 5555 5555 5555 4444")
    assert [(f.brand, f.last4) for f in found] == [("visa", "4242"), ("mastercard", "4444")]


# --- evasion attempts --------------------------------------------------------------------------


def test_luhn_invalid_near_misses_pass() -> None:
    """Documented: a Luhn-invalid number is not a card number (typos, other ids)."""
    for text in ("4242424242424241", "4242 4242 4242 4243", "5555555555554445", "378282246310006"):
        assert find_card_numbers(text) == [], text


def test_twelve_and_twenty_digit_numbers_pass() -> None:
    """Documented: 12 digits and fewer, or one unbroken run of 20+ digits, are not card numbers."""
    twelve = with_check_digit("42424242424")
    twenty = with_check_digit("4242424242424242424")
    assert find_card_numbers(twelve) == [] and find_card_numbers(twenty) == []
    # But a card number followed by more digit groups is still found.
    assert [f.last4 for f in find_card_numbers("4242 4242 4242 4242 0000")] == ["4242"]


def test_digits_spelled_with_letters_are_out_of_scope() -> None:
    """Documented: O for 0, l/I for 1, spelled-out or encoded digits are obfuscation, out of scope."""
    assert find_card_numbers("4ll1 llll llll llll") == []
    assert find_card_numbers("5O5O 5O5O 5O5O 5O5O") == []
    assert find_card_numbers("four two four two four two four two") == []
    assert find_card_numbers("NDI0MjQyNDI0MjQyNDI0Mg==") == []  # base64


def test_card_number_in_a_key() -> None:
    found = card_findings({"notes": {VISA: "see key"}})
    assert [(f.path, f.last4) for f in found] == [("notes.<key>", "4242")]
    assert card_findings({"4242 4242 4242 4242": 1})


def test_card_number_split_into_a_list_of_groups() -> None:
    for value in (["4242", "4242", "4242", "4242"], [4242, 4242, 4242, 4242], {"groups": ("4242", "4242", "4242", "4242")}):
        assert [(f.brand, f.last4) for f in card_findings(value)] == [("visa", "4242")], value


def test_card_number_as_int_inside_a_list() -> None:
    assert [(f.path, f.last4) for f in card_findings({"items": [1, 2, int(VISA)]})] == [("items[2]", "4242")]
    assert card_findings([-int(VISA)])


def test_zero_width_joiners_between_every_digit() -> None:
    for joiner in ("\u200d", "\u200b", "\u2060", "\ufeff", "\u200b\u200c\u200d"):
        assert [f.last4 for f in find_card_numbers(joiner.join(VISA))] == ["4242"]
    assert redact_text("\u200d".join(VISA)) == "[visa card ending 4242]"


def test_fullwidth_and_arabic_indic_digits_in_arguments() -> None:
    fullwidth = "".join(in_script(d, 0xFF10) for d in VISA)
    arabic = "".join(in_script(d, 0x660) for d in "5555555555554444")
    assert [(f.path, f.brand) for f in scan_arguments({"note": fullwidth, "memo": arabic})] == [
        ("note", "visa"),
        ("memo", "mastercard"),
    ]


def test_keycaps_superscripts_circled_and_combining_marks() -> None:
    keycaps = "".join(f"{d}\ufe0f\u20e3" for d in VISA)
    assert redact_text(keycaps) == "[visa card ending 4242]"
    superscripts = VISA.translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
    assert find_card_numbers(superscripts)
    circled = "④②④②④②④②④②④②④②④②"
    assert find_card_numbers(circled)
    assert find_card_numbers("\u0332".join(VISA))  # combining low line under every digit
    assert find_card_numbers("\u202e" + VISA + "\u202c")  # bidi override around it


@pytest.mark.parametrize(
    "key",
    ["cvc", "CVC", "cvv", "CVV2", "cvc2", "csc", "cid", "cardCvc", "card_cvc", "card-cvc", "security-code",
     "security_code", "SecurityCode", "card_code", "cardCode", "card[cvc]", "cvvCode", "card_security_code"],
)  # fmt: skip
def test_security_code_keys_in_any_style(key: str) -> None:
    for value in ("123", 123, "", None, {"x": 1}):
        assert kinds({key: value}) == {"security_code"}, (key, value)
    assert kinds({"payment": {"details": [{key: "4821"}]}}) == {"security_code"}


@pytest.mark.parametrize(
    "key",
    ["exp", "exp_month", "expMonth", "EXP_YEAR", "exp-date", "expiry", "expiration", "expiration_date",
     "expiry_month", "card_exp", "card[exp_month]", "ccExpYear", "expirationYear"],
)  # fmt: skip
def test_expiry_keys_in_any_style(key: str) -> None:
    assert kinds({key: 12}) == {"expiry"}
    assert kinds({key: "12/27"}) == {"expiry"}


@pytest.mark.parametrize(
    "key", ["card_number", "cardNumber", "CARDNUMBER", "card-number", "pan", "PAN", "cc_number", "card[number]",
            "credit_card_number", "cardNo"]
)  # fmt: skip
def test_card_number_keys_whatever_the_value(key: str) -> None:
    assert kinds({key: "not a number"}) == {"card_number"}
    assert [(f.path, f.last4) for f in card_findings({key: VISA})] == [(key, "4242")]


def test_fields_inside_a_card_object() -> None:
    args = {"card": {"number": "x", "exp_month": 12, "exp_year": 2027, "cvc": "123", "name": "Ada"}}
    assert [(f.kind, f.path) for f in scan_arguments(args)] == [
        ("card_number", "card.number"),
        ("expiry", "card.exp_month"),
        ("expiry", "card.exp_year"),
        ("security_code", "card.cvc"),
    ]
    assert kinds({"payment_method_data": {"card": {"number": "1"}}}) == {"card_number"}
    assert kinds({"cards": [{"month": 1, "year": 2030}]}) == {"expiry"}
    # Outside a card object "number", "month" and "year" are ordinary fields.
    assert scan_arguments({"number": 12, "month": 5, "year": 2026, "code": "SAVE10"}) == []


def test_card_summary_fields_are_not_card_data() -> None:
    assert scan_arguments({"brand": "visa", "last4": "4242", "expires_at": "2026-06-01T00:00:00Z",
                           "payment_method_id": "pm_card_visa", "card_brand": "visa"}) == []  # fmt: skip


@pytest.mark.parametrize(
    "text",
    ["cvc 123", "CVV: 4821", "security code is 123", "cvv2=123", 'the "cvc": "987"', "card code 1234",
     "CVC number: 123", "cardCvc 555", "credit card cvv: 321", "card verification value 321"],
)  # fmt: skip
def test_security_code_after_a_keyword_in_text(text: str) -> None:
    assert kinds(text) == {"security_code"}
    assert "[redacted]" in redact_text(text)
    assert not any(ch.isdigit() for ch in redact_text(text).replace("cvv2", "").replace("CVV", ""))


@pytest.mark.parametrize(
    "text",
    ["exp 12/27", "expires 12/2027", "Exp: 05/29", "expiry date 1/30", "valid thru 12/27", "exp. 12-27",
     "EXPIRATION DATE: 12 / 2027", "cc exp 1227", '{"exp_month": 12, "exp_year": 2027}', "expires 2027-12"],
)  # fmt: skip
def test_expiry_after_a_keyword_in_text(text: str) -> None:
    assert kinds(text) == {"expiry"}
    assert not any(ch.isdigit() for ch in redact_text(text))


@pytest.mark.parametrize(
    "text",
    ["code 1234", "area code 415", "discount code 1234", "verification code 123456", "cvc12345",
     "expires 2026-06-01", "expires at 2026-06-01T00:00:00Z", "expires 12/27/2026", "expires in 30 days",
     "export 12/27", "the link expires 1230", "pm_1CvV330YqWqFm", "card number ending 4242", "card 1234"],
)  # fmt: skip
def test_keyword_lookalikes_pass(text: str) -> None:
    assert scan_arguments(text) == [], text


def test_card_expiry_and_code_in_one_message() -> None:
    text = "Card 4242 4242 4242 4242, exp 12/27, CVC 123"
    assert [f.kind for f in scan_arguments(text)] == ["card_number", "expiry", "security_code"]
    assert redact_text(text) == "Card [visa card ending 4242], exp [redacted], CVC [redacted]"


# --- numbers and structures --------------------------------------------------------------------


def test_numbers_in_json_values() -> None:
    assert card_findings({"note": int(VISA)})
    assert card_findings({"note": float(VISA)})
    assert card_findings({"note": Decimal(VISA)})
    assert card_findings({"note": Decimal("4242424242424242.00")})
    assert card_findings({"note": Decimal("4.242424242424242E+15")})
    assert card_findings(json.loads('{"a": [{"b": 4242424242424242}]}'))
    assert scan_arguments({"x": float("nan"), "y": float("inf"), "z": Decimal("NaN"), "big": 10**5000}) == []


class _Model(BaseModel):
    note: str


@dataclasses.dataclass
class _Record:
    items: list[Any]


def test_containers_and_objects() -> None:
    assert card_findings(("x", VISA))
    assert card_findings({VISA})
    assert card_findings(frozenset({"4242 4242 4242 4242"}))
    assert card_findings(VISA.encode())
    assert card_findings(_Model(note=VISA))
    assert card_findings(_Record(items=[{"n": VISA}]))


def test_arbitrary_depth_and_cycles() -> None:
    deep: Any = VISA
    for _ in range(5000):
        deep = {"a": [deep]}
    assert [f.last4 for f in card_findings(deep)] == ["4242"]
    redacted = redact(deep)
    for _ in range(5000):
        redacted = redacted["a"][0]
    assert redacted == "[visa card ending 4242]"
    cyclic: dict[str, Any] = {"note": "4242 4242 4242 4242"}
    cyclic["self"] = cyclic
    assert len(card_findings(cyclic)) == 1
    assert redact(cyclic) == {"note": "[visa card ending 4242]", "self": "[cycle]"}


def test_paths() -> None:
    args = {"items": [{"note": "x"}, {"note": "x"}, {"note": f"card {VISA}"}], "a": {"b": {"cvc": 1}}}
    assert [(f.kind, f.path) for f in scan_arguments(args)] == [
        ("card_number", "items[2].note"),
        ("security_code", "a.b.cvc"),
    ]
    assert [f.path for f in scan_arguments(VISA)] == [""]


# --- numbers split across fields ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "last4"),
    [
        ({"address_line1": "4242 4242", "address_line2": "4242 4242"}, "4242"),
        ({"a": "4242", "b": "4242", "c": "4242", "d": "4242"}, "4242"),
        ({"a": 4242, "b": 4242, "c": 4242, "d": 4242}, "4242"),
        ({"a": "42424242", "b": "42424242"}, "4242"),
        ({"a": "4242 4242 4242", "b": "4242"}, "4242"),
        ({"a": "4242", "b": "4242 4242 4242"}, "4242"),
        ({"line1": "4242-4242", "name": "Ada", "line2": "4242-4242"}, "4242"),
        ({"x": {"a": "4242 4242"}, "y": ["4242 4242"]}, "4242"),
        ({"groups": ["3782", "822463", "10005"]}, "0005"),
        ({"groups": [3782, 822463, 10005]}, "0005"),
        ({"a": "3782 822463", "b": "10005"}, "0005"),
        ({"a": "4000 0000", "b": "0000 0000", "c": "006"}, "0006"),
        ({"digits": list("4242424242424242")}, "4242"),
        ({"digits": [int(d) for d in "5555555555554444"]}, "4444"),
        ({"4242": "4242", "x": "4242 4242"}, "4242"),
        ({"amounts": [4242, 4242, 4242, 4242]}, "4242"),  # list items are never exempt
    ],
)
def test_split_across_fields_is_found(args: Any, last4: str) -> None:
    found = card_findings(args)
    assert [f.last4 for f in found] == [last4]
    assert "+" in found[0].path
    assert_no_digits_left(redact(args))


@pytest.mark.parametrize(
    "text",
    ["4242,4242,4242,4242", "[4242, 4242, 4242, 4242]", '["4242", "4242", "4242", "4242"]', "4242;4242;4242;4242",
     "3782 | 822463 | 10005", "4,2,4,2,4,2,4,2,4,2,4,2,4,2,4,2", "card 4242 4242, 4242 4242 thanks", "4242，4242，4242，4242"],
)  # fmt: skip
def test_lists_written_out_in_text(text: str) -> None:
    """A list in a string follows the split-field rule: the items must be a card's printed groups."""
    assert len(find_card_numbers(text)) == 1
    assert_no_digits_left(redact_text(text))


@pytest.mark.parametrize(
    "text", ["1,234,567,890,123,456", "amounts 25,00; 30,00; 45,50", "2026-0001, 2026-0002, 2026-0003",
             "12:30, 13:45, 14:00", "ids 12, 345, 6789, 1234, 56"]
)  # fmt: skip
def test_ordinary_lists_in_text_pass(text: str) -> None:
    assert find_card_numbers(text) == []


def test_split_path_names_the_fields() -> None:
    found = card_findings({"address_line1": "4242 4242", "address_line2": "4242 4242"})
    assert [(f.path, f.brand, f.last4) for f in found] == [("address_line1+address_line2", "visa", "4242")]


@pytest.mark.parametrize(
    "args",
    [
        {"amount": "25.00", "plan_id": 3, "limit": 50, "offset": 0, "created": 1715000000},
        {"amount": 5000, "plan_id": 1234, "offset": 4321, "limit": 150},
        {"amount": "5000", "plan_id": 4242, "subscription_id": 4242, "offset": 4242, "limit": 100},
        {"limit": 4242, "offset": 4242, "page": 4242, "count": 4242},
        {"auto_charge_amount": "5000", "charge_threshold": "1000"},
        {"created_after": 1715000000, "created_before": 1715086400000, "limit": 200},
        {"address_postal_code": "36104", "tax_id": "12-3456789", "phone": "3475552671"},
        {"phone": "347-555-2671", "address_postal_code": "10001"},
        {"start": "2026-01-15", "end": "2026-02-15"},
        {"start": "30/06/2026", "end": "15/07/2026", "note": "dates"},
        {"amount": "38.00", "timestamp": 1715000000},
        {"a": "4242", "b": "42"},  # too short
        {"a": "42", "b": "4242 4242 4242 42"},  # 2-digit first piece
        # (was {"a": "424", "b": "2424 2424 2424 2"}: issue 19 asks for 3 + 13 splits over two fields to be
        # refused, so that one is a card now; see test_split_3_plus_13_over_address_lines_is_refused)
        {"a": "424", "b": "2424 2424 24"},  # 3 + 10: 13 digits, the boundary at 3 is not a printed group
    ],
)
def test_ordinary_argument_sets_do_not_look_split(args: Any) -> None:
    assert scan_arguments(args) == [], args


def test_quantity_fields_are_not_split_pieces_but_still_scanned() -> None:
    """Amount, id, count and time fields are never joined with others, yet a whole card in one is found."""
    assert scan_arguments({"amount": 4242, "plan_id": 4242, "limit": 4242, "offset": 4242}) == []
    assert card_findings({"amount": VISA}) and card_findings({"plan_id": int(VISA)})


# --- benign values -----------------------------------------------------------------------------

BENIGN = [
    25, "25", "25.00", 10000, "10000", Decimal("49.99"), 49.99, "$1,234.56", "10 000,00 €",
    "pm_card_visa", "pm_1NxyzAbCdEf0123456789", "cs_test_a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ0123456789abcd",
    "pi_3NabcDEF1234567890", "seti_1NabcDEF12345678", "in_1NabcDEF12345678", "sub_1NabcDEF12345678",
    "cus_NabcDEF123456", "price_1NabcDEF12345678", 1715000000, "1715000000", 1715000000123, 1715000000.0,
    "2026-01-15", "2026-01-15T12:30:00Z", "2026-01-15T12:30:00.123456+02:00", "15/01/2026", "01/15/2026",
    "+1 (415) 555-2671", "+44 20 7946 0958", "+86 138 0013 8000", "+91 98765 43210", "+49 1512 3456789",
    "+4915123456789", "+62 812 3456 7890", "(415) 555-2671", "415-555-2671", "+33 6 12 34 56 78",
    "94105", "SW1A 1AA", "100-0001", "EU123456789", "DE123456789", "12-3456789", "GB123456789",
    "INV-2026-000123", "2026-0001", "550e8400-e29b-41d4-a716-446655440000", "0e582256-2857-4968-b2cd-bb4671886a37",
    "8bb2233335324623904f568b4316f0ad", "1723a53c3edf3552853374917508727c0f50514836eebd6f20579ae5a8df7f0b",
    "agent-fund-1715000000-1", "ORD-1234567890", "order #98765432", "ada.lovelace+billing@example.com",
    "https://example.com/orders/123456789?page=2", "https://checkout.stripe.com/c/pay/cs_test_a1B2c3",
    "DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32", "NL91ABNA0417164300",
    "192.168.100.200", "v1.2.3", "1600 Amphitheatre Pkwy", "Apt 4B", "Plan 3, 12 months",
]  # fmt: skip


@pytest.mark.parametrize("value", BENIGN, ids=[repr(v)[:40] for v in BENIGN])
def test_benign_values_pass(value: Any) -> None:
    assert scan_arguments(value) == []
    assert scan_arguments({"value": value}) == []
    assert redact(value) == value


@PROPERTY
@given(ibans(), st.sampled_from(["{}", "IBAN: {}.", "Pay to {} by Friday", "{}\nthanks"]))
def test_valid_ibans_pass(iban: str, template: str) -> None:
    """Judgment call: a valid IBAN is exempt (in groups of four, one in eight would look card-like)."""
    assert scan_arguments(template.format(iban)) == []
    assert scan_arguments({"bank_account": iban, "note": template.format(iban)}) == []


def test_iban_exemption_needs_a_valid_iban() -> None:
    assert find_card_numbers("DE00 4242 4242 4242 4242 00")  # wrong check digits: scanned as text
    assert find_card_numbers("XX89 4242 4242 4242 4242 00")  # no such country
    forged = iban_from("DE", "424242424242424200")
    assert find_card_numbers(forged) == []  # documented: a forged IBAN is deliberate obfuscation
    assert find_card_numbers(f"{forged} 4242 4242 4242 4242")  # only the IBAN itself is exempt


def test_phone_and_identifier_exemptions_are_narrow() -> None:
    assert find_card_numbers("+4242 4242 4242 4242")  # 16 digits: longer than any phone number
    assert find_card_numbers("+3782 822463 10005")  # a 4-digit first group is no country code
    assert find_card_numbers("+4242 4242 4242") == []  # 12 digits: too short for a card anyway
    assert find_card_numbers("card4242424242424242")  # a word glued on is not an identifier
    assert find_card_numbers("id-4242424242424242-x")  # letters around, but no other digits
    assert find_card_numbers("0e4242424242424242f1") == []  # documented: inside a hex-like identifier


def test_typical_tool_arguments_pass_and_are_not_changed() -> None:
    args = {"action": "fund", "amount": "25.00", "payment_method_id": "pm_card_visa"}
    assert scan_arguments(args) == []
    refuse_card_data(args)
    assert redact(args) == args and redact(args) is not args


@PROPERTY
@given(benign_scalars)
def test_generated_benign_scalars_pass(value: Any) -> None:
    assert scan_arguments(value) == []
    assert scan_arguments({"value": value, "other": value}) == []


@PROPERTY
@given(billing_info())
def test_generated_billing_info_passes(args: dict[str, Any]) -> None:
    assert scan_arguments(args) == []


@PROPERTY
@given(tool_arguments())
def test_generated_tool_arguments_pass(args: dict[str, Any]) -> None:
    assert scan_arguments(args) == []
    refuse_card_data(args)
    assert redact(args) == args


@PROPERTY
@given(st.lists(st.one_of(st.integers(10, 999), st.sampled_from(["25.00", "100", "2026-01-15", "1,000"])), max_size=12))
def test_lists_of_small_numbers_never_form_a_card(values: list[Any]) -> None:
    """Amounts, dates and 2-3 digit numbers cannot start a split card number (the first piece is 4 or 8)."""
    assert card_findings(values) == []


# --- properties: every encoding is found -------------------------------------------------------


@PROPERTY
@given(st.data())
def test_formatted_numbers_are_found(data: st.DataObject) -> None:
    pan = data.draw(pans())
    text = data.draw(formatted(pan))
    found = find_card_numbers(text)
    assert [(f.brand, f.last4) for f in found] == [(pan.brand, pan.last4)]
    assert [(f.kind, f.last4) for f in scan_arguments(text)] == [("card_number", pan.last4)]
    redacted = redact_text(text)
    assert redacted == f"[{pan.brand} card ending {pan.last4}]"


@PROPERTY
@given(st.data())
def test_numbers_embedded_in_text_are_found_and_redacted(data: st.DataObject) -> None:
    pan = data.draw(pans())
    text = data.draw(embedded(pan))
    assert [f.last4 for f in find_card_numbers(text)] == [pan.last4]
    assert_no_digits_left(redact_text(text))
    assert f"[{pan.brand} card ending {pan.last4}]" in redact_text(text)


@PROPERTY
@given(st.data())
def test_numbers_as_json_values_are_found(data: st.DataObject) -> None:
    pan = data.draw(pans())
    value = data.draw(st.sampled_from([int(pan.digits), str(int(pan.digits)), Decimal(pan.digits), -int(pan.digits)]))
    args = data.draw(nested(value))
    found = card_findings(args)
    assert [f.last4 for f in found if f.last4] == [pan.last4]
    assert_no_digits_left(redact(args))


@PROPERTY
@given(st.data())
def test_nested_text_and_keys_are_found(data: st.DataObject) -> None:
    pan = data.draw(pans())
    text = data.draw(embedded(pan))
    args = data.draw(nested(text if data.draw(st.booleans()) else {text: "value"}))
    assert pan.last4 in [f.last4 for f in card_findings(args)]
    assert_no_digits_left(redact(args))


@PROPERTY
@given(st.data())
def test_numbers_split_across_fields_are_found(data: st.DataObject) -> None:
    pan = data.draw(pans())
    args = data.draw(split_across_fields(pan))
    if data.draw(st.booleans()):
        args = data.draw(nested(args))
    found = [f for f in card_findings(args) if f.last4]  # wrapper keys may be card-number names
    assert [(f.brand, f.last4) for f in found] == [(pan.brand, pan.last4)]
    assert "+" in found[0].path or found[0].path.endswith("note")  # fields joined, or a list in a string
    assert_no_digits_left(redact(args))


@PROPERTY
@given(st.data())
def test_refusal_never_shows_a_digit(data: st.DataObject) -> None:
    pan = data.draw(pans())
    encoding = data.draw(
        st.one_of(embedded(pan), nested(int(pan.digits)), split_across_fields(pan), nested(data.draw(embedded(pan))))
    )
    args = {"amount": "25.00", "payload": encoding, "card": {"cvc": "123"}}
    with pytest.raises(CardDataRefusedError) as info:
        refuse_card_data(args)
    exc = info.value
    assert isinstance(exc, InvalidRequestError) and exc.code == "card_data_not_allowed"
    for message in (exc.message, str(exc)):
        remaining = message
        for finding in scan_arguments(args):
            remaining = remaining.replace(f"'{finding.path}'", "")
        assert not any(unicodedata.digit(ch, None) is not None for ch in remaining), remaining
        assert pan.last4 not in ascii_digits(remaining)
    assert all(set(f) == {"kind", "path"} for f in exc.details["findings"])


@PROPERTY
@given(st.data())
def test_luhn_invalid_variants_pass(data: st.DataObject) -> None:
    pan = data.draw(pans())
    wrong = pan.digits[:-1] + str((int(pan.digits[-1]) + data.draw(st.integers(1, 9))) % 10)
    zero = data.draw(st.sampled_from(DIGIT_ZEROS))
    assert find_card_numbers("".join(in_script(d, zero) for d in wrong)) == []
    invisible = data.draw(st.sampled_from(["\u200b", "\u200d", "\u2060", "\ufeff"]))
    assert find_card_numbers(invisible.join(wrong)) == []  # invisible joiners: still one number


# --- refusal and redaction ---------------------------------------------------------------------


def test_refusal_message_names_fields_kinds_and_alternatives() -> None:
    args = {"address_line1": "4242 4242", "address_line2": "4242 4242", "card": {"cvc": "123", "exp_month": 12}}
    with pytest.raises(CardDataRefusedError) as info:
        refuse_card_data(args)
    message = info.value.message
    assert message.startswith(REFUSAL_MESSAGE)
    assert "card number in 'address_line1+address_line2'" in message
    assert "security code in 'card.cvc'" in message
    assert "card expiry date in 'card.exp_month'" in message
    # The core refusal names no provider's tool or id shape; the provider's hand-off is named by the tool
    # that refuses (``refusal_message``), so an agent is never told to call a tool it does not have.
    for needed in ("payment page", "saved payment method", "trusted application code", "setup intent"):
        assert needed in message
    assert "action=" not in message and "pm_" not in message
    with pytest.raises(CardDataRefusedError) as named:
        refuse_card_data(args, handoff_call="pages action=open")
    assert "(call pages action=open)." in named.value.message
    stripped = message.replace("address_line1", "").replace("address_line2", "")
    assert not re.search(r"\d", stripped)
    assert not re.search(r"\d", str(info.value).replace("address_line1", "").replace("address_line2", ""))


def test_refusal_message_for_plain_text() -> None:
    with pytest.raises(CardDataRefusedError) as info:
        refuse_card_data("pay with 4242 4242 4242 4242")
    assert "card number in the text" in info.value.message
    assert "4242" not in str(info.value)


def test_refusal_with_a_digit_key_hides_the_key() -> None:
    with pytest.raises(CardDataRefusedError) as info:
        refuse_card_data({"4242": "4242", "x": "4242 4242"})
    assert "card number in '<key>+<key>+x'" in info.value.message
    assert "4242" not in info.value.message


def test_base_refusal_message_has_no_digits() -> None:
    assert not re.search(r"\d", REFUSAL_MESSAGE)


def test_masked_findings_show_brand_and_last4_only() -> None:
    finding = find_card_numbers("5555 5555 5555 4444")[0]
    assert finding == CardFinding("card_number", "", "mastercard", "4444")
    assert finding.masked() == "mastercard card number ending 4444"
    assert CardFinding("expiry", "exp", None, None).masked() == "card expiry date"
    assert "5555" not in repr(finding)


def test_redact_text() -> None:
    assert redact_text("my card is 4242-4242-4242-4242 thanks") == "my card is [visa card ending 4242] thanks"
    assert redact_text("cvc 123 and CVV: 4821") == "cvc [redacted] and CVV: [redacted]"
    assert redact_text("nothing here 25.00") == "nothing here 25.00"
    assert redact_text("a 4242 4242 4242 4242 b 378282246310005 c") == (
        "a [visa card ending 4242] b [amex card ending 0005] c"
    )


def test_redact_values() -> None:
    original = {
        "note": "card 4242 4242 4242 4242",
        "n": int(VISA),
        "cvc": 123,
        "card_number": {"any": "thing"},
        "card": {"exp_month": 12, "number": "x", "brand": "visa"},
        VISA: "key",
        "groups": ["4242", "4242", "4242", "4242"],
        "t": ("ok", 1),
        "amount": Decimal("25.00"),
    }
    snapshot = json.dumps(original, default=str)
    assert redact(original) == {
        "note": "card [visa card ending 4242]",
        "n": "[visa card ending 4242]",
        "cvc": "[redacted]",
        "card_number": "[redacted]",
        "card": {"exp_month": "[redacted]", "number": "[redacted]", "brand": "visa"},
        "[visa card ending 4242]": "key",
        "groups": ["[redacted]", "[redacted]", "[redacted]", "[redacted]"],
        "t": ("ok", 1),
        "amount": Decimal("25.00"),
    }
    assert json.dumps(original, default=str) == snapshot  # the input is not changed


def test_redact_keeps_colliding_keys_apart() -> None:
    out = redact({VISA: 1, "4242 4242 4242 4242": 2})
    assert sorted(out.values()) == [1, 2]


def test_findings_never_hold_more_than_last4() -> None:
    args = {"a": VISA, "b": ["5555", "5555", "5555", "4444"], "c": "３７８２ ８２２４６３ １０００５"}
    for finding in scan_arguments(args):
        assert set(dataclasses.asdict(finding)) == {"kind", "path", "brand", "last4"}
        shown = f"{finding.path}{finding.brand}{finding.last4}{finding.masked()}{finding!r}"
        assert not re.search(r"\d{5,}", ascii_digits(shown))


# --- evasive encodings: separators, groupings, "+" in front (issue 7, item 5) -------------------


@pytest.mark.parametrize("sep", [*EVASIVE_SEPARATORS, "\t" * 6, " " * 6, " " * 40, "\t \t \t \t"])
def test_evasive_separators_between_groups(sep: str) -> None:
    for groups, pan in ((["4242", "4242", "4242", "4242"], VISA), (["3782", "822463", "10005"], "378282246310005")):
        text = sep.join(groups)
        assert pan[-4:] in [f.last4 for f in find_card_numbers(text)], repr(text)
        assert kinds({"address_line1": text}) == {"card_number"}
        assert pan[-4:] in redact_text(text) and pan[:6] not in ascii_digits(redact_text(text))


@pytest.mark.parametrize("text", ["(4242) 4242 4242 4242", "(4242)(4242)(4242)(4242)", "[4242][4242][4242][4242]",
                                  "4242 (4242) 4242 (4242)", "card: (4242-4242-4242-4242)", "4242\t\t\t\t\t\t4242\t4242\t4242",
                                  "4242%204242%204242%204242", "4242&nbsp;4242&nbsp;4242&nbsp;4242",
                                  "%34%32%34%32%34%32%34%32%34%32%34%32%34%32%34%32", "4242 +4242 +4242 +4242"])
def test_evasive_encodings_in_text(text: str) -> None:
    assert [f.last4 for f in find_card_numbers(text)] == ["4242"]
    assert_no_digits_left(redact_text(text))


@pytest.mark.parametrize("sizes", [(3, 5, 8), (5, 6, 5), (8, 8), (6, 10), (4, 12), (12, 4), (7, 9)])
def test_other_groupings_split_across_text_fields(sizes: tuple[int, ...]) -> None:
    pieces, position = [], 0
    for size in sizes:
        pieces.append(VISA[position : position + size])
        position += size
    fields = dict(zip(["address_line1", "address_line2", "address_city"], pieces, strict=False))
    assert [(f.path, f.last4) for f in card_findings(fields)] == [("+".join(fields), "4242")]
    assert card_findings(pieces) and card_findings({"note": ", ".join(pieces)})
    assert_no_digits_left(redact(fields))


def test_free_groupings_need_text_pieces_and_sixteen_digits() -> None:
    """Judgment calls that keep ordinary values out: ints, 15 digits, small groups, more than three groups."""
    assert card_findings([424, 24242, 42424242]) == []  # ints: only printed groups
    assert card_findings({"address_postal_code": "34102", "phone": "2395551236"}) == []  # 15 digits
    assert card_findings({"a": "42", "b": "42424242", "c": "424242"}) == []  # a 2-digit group
    assert card_findings({"a": "424", "b": "242", "c": "424", "d": "2424242"}) == []  # four groups
    assert card_findings({"phone": "+1 (424) 242-4242", "zip": "424242"}) == []  # phone-like: no piece


@PROPERTY
@given(st.data())
def test_evasive_formats_are_found_refused_and_redacted(data: st.DataObject) -> None:
    pan = data.draw(pans())
    text = data.draw(evasive_formatted(pan))
    assert pan.last4 in [f.last4 for f in find_card_numbers(text)], repr(text)
    args = {"name": "Ada Lovelace", "address_line1": text}
    assert "card_number" in kinds(data.draw(nested(args)))
    with pytest.raises(CardDataRefusedError) as info:
        refuse_card_data(args)
    assert pan.digits not in ascii_digits(str(info.value)) and pan.last4 not in str(info.value)
    assert_no_digits_left(redact_text(text))


@PROPERTY
@given(st.data())
def test_evasive_groupings_split_across_fields_are_found(data: st.DataObject) -> None:
    pan = data.draw(pans().filter(lambda p: len(p.digits) == 16))
    fields = data.draw(evasive_split_fields(pan))
    found = [f for f in card_findings({"action": "update", **fields}) if f.last4]
    assert [(f.brand, f.last4) for f in found] == [(pan.brand, pan.last4)]
    assert_no_digits_left(redact(fields))


PLUS_FORMS: list[Callable[[str], str]] = [
    lambda d: f"+{d}", lambda d: f"+{d[:4]} {d[4:10]} {d[10:]}", lambda d: f"+{d[:2]} {d[2:]}",
    lambda d: f"+{d[:3]} {d[3:]}", lambda d: f"call +{d} now", lambda d: f"tel:+{d}", lambda d: f"+{d[:2]}-{d[2:6]}-{d[6:]}",
]  # fmt: skip


@PROPERTY
@given(plus_prefixed(), st.sampled_from(PLUS_FORMS))
def test_a_plus_before_an_amex_or_diners_number_does_not_make_it_a_phone_number(
    pan: Pan, form: Callable[[str], str]
) -> None:
    text = form(pan.digits)
    assert [(f.brand, f.last4) for f in find_card_numbers(text)] == [(pan.brand, pan.last4)], text
    assert kinds({"phone": text}) == {"card_number"}


@pytest.mark.parametrize("phone", REAL_PHONE_NUMBERS)
def test_real_phone_numbers_pass(phone: str) -> None:
    assert find_card_numbers(phone) == []
    assert scan_arguments({"phone": phone, "address_postal_code": "94105"}) == []
    assert scan_arguments(f"call {phone} or {phone}") == []


@PROPERTY
@given(phone_numbers(), phone_numbers())
def test_two_phone_numbers_in_a_row_are_not_joined(first: str, second: str) -> None:
    """Judgment call: only a "+" starts a new number inside a run, so phone numbers written without
    one need a word or comma between them (``+49 ... (201) 000-0000`` reads as one run)."""
    joined = f"{first} {second}" if second.startswith("+") else f"{first} / +1 {second}"
    for text in (f"{first}, {second}", f"{first} or {second}", joined, f"{first}; {second}"):
        assert find_card_numbers(text) == [], text


@PROPERTY
@given(ibans(), plus_prefixed())
def test_iban_and_phone_exemptions_do_not_hide_a_plus_prefixed_card(iban: str, pan: Pan) -> None:
    assert [f.last4 for f in find_card_numbers(f"IBAN {iban}, card +{pan.digits}")] == [pan.last4]
    assert find_card_numbers(f"IBAN {iban}, phone +49 1512 3456789") == []


# --- the refusal's traceback --------------------------------------------------------------------


def refusal_of(refuse: Callable[[Any], None], build: Callable[[], Any]) -> BaseException:
    try:
        refuse(build())
    except InvalidRequestError as exc:
        return exc
    raise AssertionError("not refused")


def frames_text(exc: BaseException) -> str:
    return "\n".join(repr(frame.f_locals) for frame, _ in traceback.walk_tb(exc.__traceback__))


@pytest.mark.parametrize("build", [
    lambda: {"note": "pay with 4000 0566 5566 5556 please"},
    lambda: {"address_line1": "40000566", "address_line2": "55665556"},
    lambda: ["4000", "0566", "5566", "5556"],
    lambda: "4000056655665556",
])  # fmt: skip
def test_refusal_traceback_frames_hold_no_card_digits(build: Callable[[], Any]) -> None:
    exc = refusal_of(refuse_card_data, build)
    assert isinstance(exc, CardDataRefusedError)
    assert exc.__cause__ is None and exc.__suppress_context__
    digits = re.sub(r"\D", "", frames_text(exc))
    assert "40000566" not in digits and "05665566" not in digits
    assert len(list(traceback.walk_tb(exc.__traceback__))) >= 2  # the frames were really looked at


# --- false positives on benign sets -------------------------------------------------------------

FP_SAMPLES = int(os.environ.get("FP_SAMPLES", "2000"))


def benign_sets(rng: random.Random) -> dict[str, Callable[[], Any]]:
    def d(n: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(n))

    def fours(count: int, sep: str) -> str:
        return sep.join(d(4) for _ in range(count))

    def usps() -> str:
        digits = "94" + d(20)
        return " ".join(digits[i : i + 4] for i in range(0, 22, 4))

    def address() -> dict[str, str]:
        return {"address_line1": f"{rng.randint(1, 9999)} Main St", "address_line2": f"Apt {rng.randint(1, 999)}",
                "address_postal_code": d(5), "phone": f"+1 {rng.randint(201, 989)} {d(3)} {d(4)}"}

    def note() -> str:
        when = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2026 {rng.randint(0, 23):02d}:{d(2)}"
        return f"{when} paid {rng.randint(1, 999)}.{d(2)} ref {d(6)}"

    return {
        "random 16-digit order ids": lambda: {"note": f"order {d(16)}"},
        "USPS-style tracking numbers (22 digits in fours)": lambda: {"note": usps()},
        "lists of 4-10 four-digit numbers (comma)": lambda: {"note": fours(rng.randint(4, 10), ", ")},
        "lists of 4-10 four-digit numbers (space)": lambda: {"note": fours(rng.randint(4, 10), " ")},
        "4-10 four-digit list items": lambda: [d(4) for _ in range(rng.randint(4, 10))],
        "5-digit postal code + bare 10-digit phone": lambda: {"address_postal_code": d(5), "phone": f"{rng.randint(2, 9)}{d(9)}"},
        "6-digit postal code + bare 10-digit phone": lambda: {"address_postal_code": d(6), "phone": f"{rng.randint(2, 9)}{d(9)}"},
        "E.164 phone numbers (up to 13 digits)": lambda: {"phone": f"+{rng.randint(1, 99)} {d(rng.randint(7, 11))}"},
        "addresses with a phone": address,
        "dates, times, amounts and refs": lambda: {"note": note()},
    }


# Upper bounds, a little above the figures in card_data's module doc (measured with 20,000 samples).
FP_BOUNDS = {
    "random 16-digit order ids": 0.06, "USPS-style tracking numbers (22 digits in fours)": 0.10,
    "lists of 4-10 four-digit numbers (comma)": 0.19, "lists of 4-10 four-digit numbers (space)": 0.19,
    "4-10 four-digit list items": 0.19, "5-digit postal code + bare 10-digit phone": 0.0,
    "6-digit postal code + bare 10-digit phone": 0.06, "E.164 phone numbers (up to 13 digits)": 0.0,
    "addresses with a phone": 0.0, "dates, times, amounts and refs": 0.0,
}  # fmt: skip


def test_false_positive_rates_on_benign_sets() -> None:
    """Run with ``FP_SAMPLES=20000 pytest -q -s tests/guardrails/test_card_data.py -k false_positive`` to
    print the figures quoted in the module doc."""
    rng = random.Random(7)
    for name, make in benign_sets(rng).items():
        hits = sum(any(f.kind == "card_number" for f in scan_arguments(make())) for _ in range(FP_SAMPLES))
        rate = hits / FP_SAMPLES
        print(f"{name}: {rate:.2%} ({hits}/{FP_SAMPLES})")
        assert rate <= FP_BOUNDS[name], name


@PROPERTY
@given(dates, st.sampled_from(["{:%Y-%m-%dT%H:%M:%S.%f%z}", "{:%Y-%m-%d %H:%M:%S.%f%z}", "{:%H:%M:%S.%f+00:00}",
                               "at {:%Y-%m-%d %H:%M:%S.%f +0200} ok"]))
def test_times_with_colons_and_offsets_pass(moment: Any, template: str) -> None:
    """Colons and "+" are separators now: a date-time's digits form one run, which must not read as a card."""
    assert find_card_numbers(template.format(moment)) == []
