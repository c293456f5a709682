"""The card-data guard: raw card data (card numbers, security codes, expiry dates) never passes a tool call.

Every string, number and key of a tool call's raw arguments is scanned before validation and before
any request; :func:`refuse_card_data` raises :class:`~agent_billing.errors.CardDataRefusedError` on
a finding. Findings hold the brand and last four digits only; the refusal names fields and kinds and
no digit at all. :func:`redact` and :func:`redact_text` mask card data in anything shown or logged.

What counts as a card number
    A run of 13-19 digits that has a network's prefix and length (see ``card_networks``) and passes
    the Luhn check. Digits may be any Unicode decimal digits (``str.isdecimal``: ASCII, full-width,
    Arabic-Indic, Devanagari, Bengali... mixed freely) and the digit-valued symbols (superscripts,
    circled and parenthesised digits: ``unicodedata.digit``) and Chinese numerals written digit by
    digit (〇一二三四五六七八九, 零). Between digit groups may stand one to 64 characters that are
    neither letters nor digits, in any mix and any script (by shape, not by a list: spaces, tabs,
    dashes, dots, ``~ ' = # % ^ & ` " < ° … ، ।`` ...), except commas and semicolons, which end a run
    (lists and phone numbers; a list written out in text is joined by the printed-groups rule below).
    Groups may have any sizes (``424 24242 42424242``, ``42424242
    42424242``). Text is also scanned percent- and HTML-decoded (``4242%204242...``, ``&nbsp;``,
    ``%34%32...``; up to three rounds), and :func:`redact_text` then masks the decoded text.
    Invisible characters (zero-width space and joiners, word joiner, BOM, soft hyphen, bidi controls
    and other format characters, variation selectors and keycaps, combining marks, control
    characters) are ignored everywhere, even between every digit. Inside a longer run of groups
    (``4242 4242 4242 4242 12/27 123``) every stretch of whole consecutive groups with 13-19 digits
    is a candidate, so a card number with other numbers around it is still found. A number may
    touch punctuation or a word (``card:4242...,exp``, ``card4242...``).

    Not card numbers, by design (the documented near-misses): Luhn-invalid numbers; 12 digits or
    fewer; one unbroken run of 20 or more digits (no network issues those; windows inside long runs
    would flag ids); digits written as letters (``O`` for 0, ``l`` for 1), as words, reversed,
    base64 or otherwise encoded. Deliberate obfuscation is out of scope: the tools' schemas (no card
    field, unknown fields refused) are the second line of defence. Three exemptions keep common
    values out:

    * phone numbers: a ``+`` (before the text's digits, or after whitespace inside a run) followed
      by what reads as an E.164 number: 7 to 13 digits (15 for Austria, Germany, Finland, Sweden, 14
      for Luxembourg, Indonesia, China: the plans that go beyond 13), in one piece or with the 1-3
      digit country code as its own group (``+49 1512 3456789``, ``+4915123456789``, ``+1 415 555
      2671``). So a ``+`` does not hide a 15-digit Amex or 14-digit Diners number (``+378282246310005``,
      ``+3782 822463 10005``: no country has numbers that long, and no country code has 4 digits);
      a 13-digit Visa or Maestro number after a ``+`` still reads as a phone number. A ``+`` between
      groups without whitespace before it (``4242+4242+...``) is a separator, and one after whitespace
      starts a new number only when what follows reads as a phone number, so two phone numbers in a
      row stay apart while ``4242 +4242 +4242 +4242`` is found. Two phone numbers separated only by a
      space, the second without ``+``, read as one run;
    * times and ISO 8601 date-times (``12:30:00``, ``2026-01-22 03:30:00.123456+00:00``): a card
      number found wholly inside one is ignored;
    * identifiers: digits inside a longer token of ASCII letters, digits, ``-`` and ``_`` that also
      has letters *and* other digits around them (UUIDs, hex hashes, base62 ids such as
      ``0e582256-2857-4968-b2cd-...``); a word glued to a card number (``card4242...``) is no identifier;
    * other numbering schemes, by their own check digit (issue 19): a whole run of 13 digits that is
      a valid EAN-13 with an assigned GS1 prefix (German product codes start 400-440, a Visa
      prefix), and a whole run of 20-22 digits starting with 9 that passes the GS1/USPS mod-10
      (IMpb tracking numbers). Cost: a 13-digit Visa/Maestro number that also passes the GS1 check;
    * valid IBANs (registered country, that country's exact length, mod-97 check): written in
      groups of four, about one IBAN in eight would otherwise hold a Luhn-valid card-like stretch
      of groups. The cost: a card number could be hidden in a forged IBAN with computed check
      digits, a deliberate obfuscation like the ones above. IBAN-like strings that fail the check are
      scanned like any text.

Numbers split across fields
    Card numbers split over several values (``{"street": "4242 4242", "city":
    "4242 4242"}``, ``["4242", "4242", "4242", "4242"]``, ``[4242, 4242, 4242, 4242]``) are found by
    joining *fragments*, taken in traversal order (depth first, keys before their values, insertion
    order; other values in between do not break the sequence). A fragment is a key, a string that
    holds nothing but 1-12 digits and separators with no digit group over 8 digits and is not
    money-shaped (``25.50``), or an int of one digit or of 3-6 digits (one printed group). Floats,
    Decimals, booleans and scalar values under keys naming an amount, count, position, id or time
    (``amount``, ``quantity``, ``page``, ``limit``, ``offset``, ``created_after``... matched on the
    key's words) are not fragments, nor are strings that read as phone numbers (a leading ``+``,
    parentheses); list items always can be. Strings of up to 12 digits are fragments. Two or more
    consecutive fragments are a card number when together they have 13-19 digits, pass the brand and
    Luhn checks, and are shaped like a card's printed groups:

    * every piece has at least 3 digits, and every boundary (between pieces, and between groups
      inside a piece) falls 4, 8, 12 or 16 digits in, or, for 14- and 15-digit numbers (Amex 4-6-5,
      Diners 4-6-4), at 4 and 10 digits in (the boundary at 4 is then required); or
    * the pieces are strings that make a 16-digit number of two or three groups of 3+ digits in
      any sizes (3-5-8, 5-6-5, 8-8, 6-10 across ``street``, ``city``...); other
      lengths must be printed-shaped, so a 5-digit postal code next to a 10-digit phone number (15
      digits) is not a card; or
    * every piece is a single digit (a number spelled digit by digit).

    A number that runs from the end of one string value into the start of the next (``"Main St
    424"`` + ``"2 4242 4242 4242"``, a 3 + 13 split) is found by joining adjacent string values; see
    ``_joined_fields`` for the rules that keep postal codes, phone numbers and dates out.

    A list written out in a string (``[4242, 4242, 4242, 4242]``, ``"4242";"4242";...``, items
    joined by commas, semicolons or pipes) is treated the same way, item by item.

    So ordinary argument sets stay out: amounts with decimals, timestamps, ids and counts are not
    fragments, bare phone numbers and 9+ digit numbers are not fragments, small values cannot start
    a candidate (the first piece has 4 or 8 digits) nor sit inside one unaligned. What remains is
    several free-form 4- or 8-digit values in a row whose concatenation happens to be Luhn-valid
    with a card prefix.

Security codes and expiry dates
    Keys are compared case-insensitively with separators removed (``CVC``, ``cardCvc``,
    ``security-code``, ``card[exp_month]`` all match): cvc, cvv, cvv2, cvc2, csc, cid, cvn, cvd,
    security_code, card_code, card_number, cardnumber, pan, exp, exp_month, exp_year, expiry,
    expiration, exp_date, their ``card``/``cc``/``credit_card`` prefixed forms, and ``number``,
    ``month``, ``year``, ``code`` inside an object whose key contains ``card``. Any value under such a
    key is refused, whatever it is (``None`` included). ``expires_at``, ``last4`` and ``brand`` are
    not card data. In free text a keyword followed by a 3-4 digit code (``cvc 123``, ``CVV: 4821``,
    ``security code is 123``, ``card code 1234``) and an expiry keyword followed by a month and year
    (``exp 12/27``, ``expires 12/2027``, ``valid thru 1227``, ``"exp_month": 12``) are found. ``cid``
    counts only as a key (in prose it is usually something else), plain ``code 1234`` is not a card
    code, and a full date after ``expires`` (``expires 2026-06-01``) is not a card expiry.

Other false-positive choices
    Amounts, Stripe-style ids, timestamps (they start with 1, which no network uses), ISO dates,
    postal codes, tax ids, invoice numbers, e-mail addresses and URLs pass. Free text with several
    numbers separated only by separators can hold a Luhn-valid stretch with a card prefix: recall
    comes first, a refused call costs a retry while a missed card leaks it.

    ``benchmarks/card_guard.py`` measures recall per separator class and false positives on product
    codes, tracking numbers, IBANs, phone numbers and order ids (figures in ``benchmarks/RESULTS.md``).
    Measured false-positive rates before issue 19 (share of samples refused; 20,000 random samples per set, seed 7;
    ``FP_SAMPLES=20000 pytest -q -s tests/guardrails/test_card_data.py -k false_positive``):

    ==================================================  ======
    random 16-digit order ids                            3.9 %
    USPS-style tracking numbers (22 digits in fours)     7.8 %
    lists of 4-10 four-digit numbers (comma / space)    15.3 % / 15.1 %
    4-10 four-digit list items                          15.5 %
    6-digit postal code + bare 10-digit phone            4.2 %
    5-digit postal code + bare 10-digit phone            0 %
    E.164 phone numbers, addresses with a phone          0 %
    dates, times, amounts and references                 0 %
    ==================================================  ======

    The first four are inherent: about 41 % of 16-digit strings have a card prefix and one in ten
    of those passes Luhn, so a random 16-digit number *is* a plausible card number; lists and long
    grouped numbers hold several candidate stretches.

Cost
    Regular expressions are precompiled, keyword patterns sit behind cheap substring prefilters and
    use atomic gaps, candidates are checked with Luhn prefix sums (at most 7 lengths per group): the
    work is linear in the input. A typical 100 KB string scans in about 10 ms, a small argument dict
    in tens of microseconds. Nothing keeps, logs or returns more than brand and last four;
    :func:`refuse_card_data` raises from a frame that no longer holds the value (``from None``), so
    a traceback's frame locals hold no card digits.

Example:
    >>> from agent_billing.guardrails.card_data import find_card_numbers, redact_text, scan_arguments
    >>> [f.masked() for f in find_card_numbers("my card is 4242-4242-4242-4242 thanks")]
    ['visa card number ending 4242']
    >>> redact_text("card 4242 4242 4242 4242, cvc 123")
    'card [visa card ending 4242], cvc [redacted]'
    >>> [(f.kind, f.path) for f in scan_arguments({"street": "4242 4242", "city": "4242 4242"})]
    [('card_number', 'street+city')]
    >>> scan_arguments({"action": "fund", "amount": "25.00", "payment_method_id": "pm_card_visa"})
    []
"""

from __future__ import annotations

import dataclasses
import html
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from itertools import accumulate, pairwise
from typing import Any, Literal, NamedTuple
from urllib.parse import unquote

from agent_billing.errors import CardDataRefusedError
from agent_billing.guardrails.card_networks import (
    BRAND_FIRST_DIGITS,
    DOUBLED,
    MAX_PAN_LENGTH,
    MIN_PAN_LENGTH,
    card_brand,
    card_lengths,
)

__all__ = [
    "REFUSAL_MESSAGE",
    "CardFinding",
    "FindingKind",
    "find_card_numbers",
    "redact",
    "redact_text",
    "refusal_message",
    "refuse_card_data",
    "scan_arguments",
]

FindingKind = Literal["card_number", "security_code", "expiry"]

REFUSAL_MESSAGE = (
    "Refused: this tool call contains raw card data (a card number, security code or expiry date). "
    "Card details must never pass through an agent or a tool call, so nothing was sent; do not repeat, "
    "store or ask for them. Safe alternatives: hand off to the person with a payment page they complete "
    "themselves and relay its URL, or use the id of a saved payment method created by trusted application code "
    "or by a confirmed setup intent."
)


def refusal_message(handoff_call: str | None = None) -> str:
    """The card-data refusal, naming the provider's own hand-off call (``group action=...``) when it has one.

    Example:
        >>> refusal_message("pages action=open").endswith("(call pages action=open).")
        True
        >>> refusal_message() == REFUSAL_MESSAGE
        True
    """
    if handoff_call is None:
        return REFUSAL_MESSAGE
    return f"{REFUSAL_MESSAGE[:-1]} (call {handoff_call})."

REDACTED = "[redacted]"

_KIND_WORDS: dict[str, str] = {
    "card_number": "card number",
    "security_code": "security code",
    "expiry": "card expiry date",
}


@dataclass(frozen=True)
class CardFinding:
    """One piece of card data found: what, where, and at most the brand and last four digits.

    Example:
        >>> CardFinding("card_number", "note", "visa", "4242").masked()
        'visa card number ending 4242'
        >>> CardFinding("security_code", "cvc", None, None).masked()
        'security code'
    """

    kind: FindingKind
    path: str
    brand: str | None
    last4: str | None

    def masked(self) -> str:
        """A description that never shows more than brand and last four.

        Example:
            >>> CardFinding(kind="card_number", path="note", brand="visa", last4="4242").masked()
            'visa card number ending 4242'
        """
        words = _KIND_WORDS[self.kind]
        if self.kind == "card_number":
            if self.brand:
                words = f"{self.brand} {words}"
            if self.last4:
                words = f"{words} ending {self.last4}"
        return words


# --- character classes -------------------------------------------------------------------------
# Written out (generated from unicodedata, Unicode 14) because scanning all code points at import
# costs ~0.1 s; tests check them against the running interpreter's database.


def _ranges(pairs: tuple[tuple[int, int], ...]) -> str:
    return "".join(f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in pairs)


# Digit-valued characters that are not decimal digits (category No): superscripts, subscripts,
# circled, parenthesised and "digit full stop" forms, Ethiopic, Kharosthi, Rumi, Brahmi...
_OTHER_DIGITS = (
    (0xB2, 0xB3), (0xB9, 0xB9), (0x1369, 0x1371), (0x19DA, 0x19DA), (0x2070, 0x2070), (0x2074, 0x2079),
    (0x2080, 0x2089), (0x2460, 0x2468), (0x2474, 0x247C), (0x2488, 0x2490), (0x24EA, 0x24EA),
    (0x24F5, 0x24FD), (0x24FF, 0x24FF), (0x2776, 0x277E), (0x2780, 0x2788), (0x278A, 0x2792),
    (0x10A40, 0x10A43), (0x10E60, 0x10E68), (0x11052, 0x1105A), (0x1F100, 0x1F10A),
)  # fmt: skip

# Invisible characters, ignored between digits and separators: format characters (Cf, with the
# later Egyptian additions), C0/C1 controls that are not whitespace, combining marks (incl. the
# keycap U+20E3), variation selectors, Mongolian variation selectors and Hangul fillers.
_INVISIBLE = (
    (0x00, 0x08), (0x0E, 0x1B), (0x7F, 0x84), (0x86, 0x9F), (0xAD, 0xAD), (0x300, 0x36F),
    (0x600, 0x605), (0x61C, 0x61C), (0x6DD, 0x6DD), (0x70F, 0x70F), (0x890, 0x891), (0x8E2, 0x8E2),
    (0x115F, 0x1160), (0x180B, 0x180F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x200B, 0x200F),
    (0x202A, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F), (0x20D0, 0x20FF), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFE20, 0xFE2F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F), (0xE0100, 0xE01EF),
)  # fmt: skip

# Chinese numerals written digit by digit (四二四二..., 〇 and 零 for zero): letters to Unicode, digits here.
_CJK_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}

_D = rf"[\d{_ranges(_OTHER_DIGITS)}{''.join(_CJK_DIGITS)}]"
_I = f"[{_ranges(_INVISIBLE)}]"
# A separator is any character that is neither a letter nor a digit (nor invisible: those are
# skipped on their own), in any script: by shape, not by a list. Commas and semicolons (ASCII,
# full-width, ideographic) are the exception: they separate list items and phone numbers,
# so they end a run, and lists written out in text are joined by the printed-groups rule instead.
# The Arabic comma is a separator like any other: it is also Arabic's thousands separator.
_LIST_SEPARATOR_CHARS = ",;|\uff0c\u3001\uff1b"
_S = rf"(?:[^\w{_ranges(_INVISIBLE)},;\uff0c\u3001\uff1b]|_)"
_GROUP = rf"{_D}(?:{_I}*{_D})*"
# Long enough for padded columns and runs of tabs or spaces (a card padded with 6+ spaces); numbers
# further apart than this are separate runs.
_MAX_SEPARATORS_BETWEEN_GROUPS = 64
_GAP = rf"{_I}*(?:{_S}{_I}*){{1,{_MAX_SEPARATORS_BETWEEN_GROUPS}}}"

_GROUP_RE = re.compile(_GROUP)
_INVISIBLE_RE = re.compile(_I)
_INVISIBLE_RUN_RE = re.compile(f"{_I}*")
_ANY_DIGIT = re.compile(_D)
_RUN_RE = re.compile(rf"{_GROUP}(?:{_GAP}{_GROUP})*")
# A piece of a split number: only whitespace, dashes, dots and slashes around its digits ("#123" is a
# reference number, "(415)" an area code).
_FRAGMENT_EDGE = rf"(?:[\s\-./\u2010-\u2015\u2212]|{_I})*"
_FRAGMENT_RE = re.compile(rf"{_FRAGMENT_EDGE}(?P<run>{_GROUP}(?:{_GAP}{_GROUP})*){_FRAGMENT_EDGE}")
# A list written out in text: runs joined by commas, semicolons or pipes, perhaps quoted
# ("4242, 4242, 4242, 4242", '["4242", "4242", "4242", "4242"]').
_LIST_SEPARATOR_RE = re.compile(rf"{_I}*[\"']?\s{{0,2}}[{_LIST_SEPARATOR_CHARS}]\s{{0,2}}[\"']?{_I}*")
_MONEY_RE = re.compile(rf"\s*{_D}{{1,9}}[.,]{_D}{{1,2}}\s*")
_PLUS_SIGNS = frozenset("+\uff0b\ufe62\u207a\u208a")

_WORD_START = r"(?<![^\W_])"  # not preceded by a letter or digit (inside ids like pm_1CvV330...)
_WORD_END = r"(?![^\W_])"
_NO_LETTER_AFTER = r"(?![^\W\d_])"


def _gap_words(words: str, name: str) -> str:
    """Up to 6 non-word characters, optionally twice more a filler word and up to 6 more, e.g.
    ``": "``, ``" is "``, ``" date: "``. Each non-word stretch is matched atomically (a lookahead
    capture and a backreference, as Python 3.10 has no possessive quantifiers) to keep backtracking
    linear: it can neither start nor end with a letter or digit, so the longest stretch is the only one.
    """
    stretch = [rf"(?=(?P<{name}{i}>[\W_]{{0,6}}))(?P={name}{i})" for i in range(3)]
    word = rf"(?:{words})(?![^\W\d_])"
    return rf"{stretch[0]}(?:{word}{stretch[1]}(?:{word}{stretch[2]})?)?"


_CODE = rf"(?P<code>{_D}(?:{_I}*{_D}){{2,3}})(?!{_I}*{_D}){_WORD_END}"

# The leading lookaheads on the keywords' first letters let the engine skip most positions quickly.
_CARD_PREFIX = r"(?:(?:credit|debit|payment)[\s_-]*card|card|cc)[\s_-]*"
_CVC_RE = re.compile(
    "(?=[cCsSvVdDpP])"
    + _WORD_START
    + rf"(?:{_CARD_PREFIX})?(?:cvv2|cvc2|cvv|cvc|csc|cvn|cvd|cav2|security[\s_-]*code|verification[\s_-]*value"
    + r"|(?<=[dDcC])[\s_-]*(?:code|verification(?:[\s_-]*(?:code|value|number))?))"  # "card code", "cc verification"
    + _NO_LETTER_AFTER
    + _gap_words("is|was|number|num|no|code|value|of", "cvcgap")
    + _CODE,
    re.IGNORECASE,
)

_CARD_EXPIRY_WORDS = r"exp|expiry|expiration|valid[\s_-]*(?:thru|through)|good[\s_-]*thru"
_EXPIRY_RE = re.compile(
    "(?=[eEvVgGcCdDpP])"
    + _WORD_START
    + rf"(?:{_CARD_PREFIX})?(?P<kw>{_CARD_EXPIRY_WORDS}|expires|expiring|expire|expired)"
    + _NO_LETTER_AFTER
    + _gap_words("date|on|is|at|in|of|end|by", "expgap")
    # month/year (12/27, 12/2027, 2027-12) or a compact MMYY (1227), not part of a longer date
    + rf"(?P<value>(?P<a>{_D}(?:{_I}*{_D}){{0,3}}){_I}*\s{{0,2}}[/\-.]\s{{0,2}}{_I}*(?P<b>{_D}(?:{_I}*{_D}){{0,3}})"
    + rf"|(?P<c>{_D}(?:{_I}*{_D}){{3}}))"
    + rf"(?!{_I}*{_D}){_WORD_END}(?!{_I}*\s{{0,2}}[/\-.:]\s{{0,2}}{_I}*{_D})",
    re.IGNORECASE,
)
_COMPACT_EXPIRY_KEYWORD = re.compile(rf"(?:{_CARD_EXPIRY_WORDS})\Z", re.IGNORECASE)

# "exp_month": 12 and the like inside text (JSON, form bodies, logs).
_EXPIRY_FIELD_RE = re.compile(
    "(?=[cCeE])"
    + _WORD_START
    + r"(?:card[\s_-]*)?(?:exp|expiry|expiration)[\s_-]*(?:month|year|mm|yy|yyyy|date)"
    + _NO_LETTER_AFTER
    + rf"[\W_]{{0,5}}(?P<value>{_D}(?:{_I}*{_D}){{0,3}})(?!{_I}*{_D})",
    re.IGNORECASE,
)


def _digit_value(char: str) -> int | None:
    """The digit a character stands for: any Unicode digit (``unicodedata.digit``) or a Chinese numeral."""
    value = unicodedata.digit(char, None)
    return _CJK_DIGITS.get(char) if value is None else value


class _DigitMap(dict[int, "str | None"]):
    """``str.translate`` table: any digit character to its ASCII digit, anything else deleted."""

    def __missing__(self, code: int) -> str | None:
        value = _digit_value(chr(code))
        result = None if value is None else chr(48 + value)
        self[code] = result
        return result


_DIGITS = _DigitMap()


def _ascii_digits(text: str) -> str:
    if text.isascii() and text.isdigit():
        return text
    return text.translate(_DIGITS)


# --- spans in text -----------------------------------------------------------------------------


class _Span(NamedTuple):
    start: int
    end: int
    kind: FindingKind
    brand: str | None = None
    last4: str | None = None


class _RunMap(dict[int, "str | None"]):
    """``str.translate`` table for a run: digits to ASCII, separators to a space, invisibles deleted."""

    def __missing__(self, code: int) -> str | None:
        char = chr(code)
        value = _digit_value(char)
        result = chr(48 + value) if value is not None else (None if _INVISIBLE_RE.match(char) else " ")
        self[code] = result
        return result


_RUN_MAP = _RunMap()


def _group_positions(text: str, start: int, end: int) -> list[tuple[int, int]]:
    return [m.span() for m in _GROUP_RE.finditer(text, start, end)]


# The longest real phone numbers (country code and national number, in digits) by country code. E.164
# allows 15, but only these numbering plans go beyond 13: a "+" before more digits than the country
# uses is no phone number (+378282246310005 is an Amex card, San Marino numbers have at most 13).
_LONG_PHONE_PLANS = {"43": 15, "46": 15, "49": 15, "358": 15, "352": 14, "62": 14, "86": 14}
_PHONE_MAX_DIGITS = 13
_PHONE_MIN_DIGITS = 7
_PLUS = "".join(sorted(_PLUS_SIGNS))
# A "+" that starts a new number inside a run: after whitespace, right before the next group.
_PHONE_START_GAP_RE = re.compile(rf"[\s\S]*\s{_I}*[{_PLUS}]{_I}*")


def _reads_as_phone(groups: list[str]) -> bool:
    """Whether the digit groups after a "+" read as a phone number: 7 up to the country's maximum
    number of digits, in one piece or with the 1-3 digit country code as a group of its own
    (``+49 1512 3456789``, ``+4915123456789``; not ``+3782 822463 10005``)."""
    digits = "".join(groups)
    if len(groups) > 1 and len(groups[0]) > 3:
        return False
    longest = next((most for code, most in _LONG_PHONE_PLANS.items() if digits.startswith(code)), _PHONE_MAX_DIGITS)
    return _PHONE_MIN_DIGITS <= len(digits) <= longest


def _plus_led(text: str, start: int, positions: list[tuple[int, int]]) -> list[bool]:
    """For each group of a run: whether a "+" starts a number there (right before the run, or after
    whitespace inside it: ``... +44 20 ...``). Elsewhere a "+" is a separator (``4242+4242+...``)."""
    return [
        start > 0 and text[start - 1] in _PLUS_SIGNS
        if index == 0
        else _PHONE_START_GAP_RE.fullmatch(text, positions[index - 1][1], positions[index][0]) is not None
        for index in range(len(positions))
    ]


_LENGTHS: dict[str, tuple[tuple[int, str], ...]] = {}  # card_lengths by 4-digit (or "622" 6-digit) prefix


def _group_candidates(groups: list[str]) -> list[tuple[int, int, str, str]]:
    """``(first, last, brand, last4)`` for every stretch of whole consecutive groups (ASCII digit
    strings) that is a card number. Luhn sums come from prefix sums, so a candidate costs O(1) and
    the whole list O(groups): at most 7 lengths per starting group."""
    digits = "".join(groups)
    offsets = [0, *accumulate(map(len, groups))]
    end_group = {offset: index for index, offset in enumerate(offsets[1:])}
    values = [ord(c) - 48 for c in digits]
    # even_plain[k]: Luhn sum of digits[:k] with even positions plain and odd ones doubled.
    even_plain = [0, *accumulate([DOUBLED[v] if i & 1 else v for i, v in enumerate(values)])]
    odd_plain = [0, *accumulate([v if i & 1 else DOUBLED[v] for i, v in enumerate(values)])]
    limit = len(digits) - MIN_PAN_LENGTH
    found: list[tuple[int, int, str, str]] = []
    for index, first in enumerate(offsets):
        if first > limit:
            break
        if digits[first] not in BRAND_FIRST_DIGITS:
            continue
        key = digits[first : first + 6] if digits.startswith("622", first) else digits[first : first + 4]
        pairs = _LENGTHS.get(key)
        if pairs is None:
            pairs = _LENGTHS[key] = card_lengths(key)
        for length, brand in pairs:
            last = first + length
            stop = end_group.get(last)
            if stop is not None:
                # The rightmost digit is never doubled: pick the sums whose plain parity is its own.
                sums = odd_plain if last & 1 == 0 else even_plain
                if (sums[last] - sums[first]) % 10 == 0:
                    found.append((index, stop, brand, digits[last - 4 : last]))
    return found


def _gs1_check_valid(digits: str) -> bool:
    """The GS1 (EAN/UPC) mod-10 check: weights 3 and 1 from the right, the check digit included."""
    total = sum((3 if position & 1 else 1) * (ord(char) - 48) for position, char in enumerate(reversed(digits)))
    return total % 10 == 0


# GS1 company prefixes that no country or special use has (EAN-13's first three digits): unassigned
# blocks, so a number starting there is not a product code. Germany's is 400-440.
_GS1_UNASSIGNED = (range(140, 200), range(960, 977), range(985, 990))


def _other_check_digit(digits: str) -> bool:
    """Whether a whole run of digits is another numbering scheme's code, by its own check digit:
    an EAN-13 product code (13 digits, a GS1 prefix, the GS1 check) or a USPS tracking number
    (20-22 digits starting with 9 as IMpb and the older formats do, the same mod-10 check). A Luhn
    check is passed by one such code in ten, so these were the guard's commonest false alarms
    (German product codes start with 400-440, a Visa prefix). The cost: a 13-digit Visa or Maestro
    number written as one run that also passes the GS1 check (one in ten) is not found; 16-digit
    numbers, the common length, are not affected. A card inside a longer tracking-shaped run is
    likewise missed one time in ten, and only if that run starts with 9, which no card does."""
    length = len(digits)
    if length == 13:
        prefix = int(digits[:3])
        return not any(prefix in block for block in _GS1_UNASSIGNED) and _gs1_check_valid(digits)
    return 20 <= length <= 22 and digits[0] == "9" and _gs1_check_valid(digits)


def _card_spans_in_run(text: str, start: int, end: int) -> list[_Span]:
    """Card numbers among the groups of a run. Phone numbers stay out: a run ends before a "+" whose
    groups up to the next such "+" (or the end) read as a phone number, so ``+1 415 555 2671 +44 20
    7946 0958`` is two phone numbers; and a candidate that starts right after a "+" and reads as a
    phone number is one (``+49 1591 0000053 (201) 000-0000``). ``4242 +4242 +4242 +4242`` and ``+1 415
    555 2671 4242 4242 4242 4242`` are still scanned."""
    positions = _group_positions(text, start, end)
    groups = [text[a:b].translate(_RUN_MAP) for a, b in positions]
    if _other_check_digit("".join(groups)):
        return []
    plus = _plus_led(text, start, positions)
    scanned = len(groups)
    for index in reversed(range(len(groups))):  # right to left: what follows a "+" is final when looked at
        if plus[index] and _reads_as_phone(groups[index:scanned]):
            scanned = index
    if scanned == len(groups) == 1:  # the common case, without prefix sums
        digits = groups[0]
        brand = card_brand(digits) if MIN_PAN_LENGTH <= len(digits) <= MAX_PAN_LENGTH else None
        candidates = [] if brand is None else [(0, 0, brand, digits[-4:])]
    else:  # every stretch of whole groups with a card's prefix and length
        candidates = _group_candidates(groups[:scanned])
    return [
        _Span(positions[i][0], positions[j][1], "card_number", brand, last4)
        for i, j, brand, last4 in candidates
        if not (plus[i] and _reads_as_phone(groups[i : j + 1]))
    ]


_ID_CHAR_RE = re.compile(rf"[A-Za-z0-9_\-]|{_D}|{_I}")
_ASCII_LETTER_RE = re.compile(r"[A-Za-z]")
_ID_CONTEXT = 64  # characters looked at on each side


def _inside_identifier(text: str, start: int, end: int) -> bool:
    """Whether the digits at ``text[start:end]`` are part of a longer identifier.

    The identifier is the stretch of ASCII letters, digits, ``-`` and ``_`` around them (UUIDs,
    hashes, base62 ids: ``0e582256-2857-4968-b2cd-...``). It counts when the part outside the
    candidate has both a letter and a digit; a word glued to a card number (``card4242...``) does not.
    """
    left = start
    while left > 0 and start - left < _ID_CONTEXT and _ID_CHAR_RE.match(text, left - 1):
        left -= 1
    right = end
    while right < len(text) and right - end < _ID_CONTEXT and _ID_CHAR_RE.match(text, right):
        right += 1
    outside = text[left:start] + text[end:right]
    return bool(_ASCII_LETTER_RE.search(outside)) and bool(_ANY_DIGIT.search(outside))


# IBAN lengths by country (IBAN registry). A valid IBAN (registered country, its exact length,
# mod-97 check) is not scanned for card numbers: written in groups of four, about one IBAN in eight
# would otherwise hold a Luhn-valid card-like stretch of groups.
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25,
    "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
_IBAN_RE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])")


def _iban_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _IBAN_RE.finditer(text):
        length = _IBAN_LENGTHS.get(match.group()[:2])
        if length is None:
            continue
        count, end = 0, match.end()
        for index in range(match.start(), match.end()):  # the match may run into the next word
            count += text[index] != " "
            if count == length:
                end = index + 1
                break
        if count != length or (end < len(text) and text[end].isalnum()):
            continue
        compact = text[match.start() : end].replace(" ", "").upper()
        if int("".join(str(int(ch, 36)) for ch in compact[4:] + compact[:4])) % 97 == 1:
            spans.append((match.start(), end))
    return spans


def _list_spans(text: str, runs: list[tuple[int, int]]) -> list[_Span]:
    """Card numbers written as a list in text (``[4242, 4242, 4242, 4242]``, ``4242;4242;...``):
    consecutive runs joined by a list separator are joined like values split across fields, with the
    same printed-groups rule. Linear: each run is looked at once."""
    spans: list[_Span] = []
    chain: list[tuple[int, int]] = []
    for run in [*runs, (-1, -1)]:
        if chain and run[0] >= 0:
            gap = text[chain[-1][1] : run[0]]
            if gap in (",", ", ", ";", "|") or _LIST_SEPARATOR_RE.fullmatch(gap):
                chain.append(run)
                continue
        if len(chain) > 1 and chain[-1][1] - chain[0][0] >= MIN_PAN_LENGTH:
            fragments = []
            for index, (start, end) in enumerate(chain):
                fragment = _fragment(text[start:end])
                if fragment is not None:
                    fragments.append(_Fragment(index, "", fragment[0], fragment[1], True))
            for split in _splits(fragments):
                first, last = chain[split.pieces[0].ordinal], chain[split.pieces[-1].ordinal]
                spans.append(_Span(first[0], last[1], "card_number", split.brand, split.last4))
        chain = [run]
    return spans


# Times and ISO 8601 date-times (2026-01-22 03:30:00.123456+00:00): with colons and "+" as separators
# their digits form one run, in which a Luhn-valid stretch with a card prefix is not rare.
_DATETIME_RE = re.compile(
    r"(?<![0-9])(?:[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T|\s{1,2}))?[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,9})?)?"
    r"(?:\s?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?))?(?![0-9])"
)


def _card_spans(text: str) -> list[_Span]:
    spans: list[_Span] = []
    runs = [match.span() for match in _RUN_RE.finditer(text)]
    for start, end in runs:
        # Fewer characters than digits a card needs: cannot hold one (separators only add length).
        if end - start >= MIN_PAN_LENGTH:
            spans.extend(_card_spans_in_run(text, start, end))
    if len(runs) > 1 and any(char in text for char in _LIST_SEPARATOR_CHARS):
        spans.extend(_list_spans(text, runs))
    if spans and ":" in text:  # colons separate groups: times are no card numbers
        times = [m.span() for m in _DATETIME_RE.finditer(text)]
        spans = [span for span in spans if not any(a <= span.start and span.end <= b for a, b in times)]
    if not spans or not _ASCII_LETTER_RE.search(text):  # no letters: no identifier, no IBAN
        return spans
    ibans = _iban_spans(text)
    return [
        span
        for span in spans
        if not _inside_identifier(text, span.start, span.end)
        and not any(start <= span.start and span.end <= end for start, end in ibans)
    ]


def _valid_expiry(first: str, second: str) -> bool:
    if len(first) in (1, 2) and 1 <= int(first) <= 12:  # MM/YY, MM/YYYY
        return len(second) == 2 or (len(second) == 4 and 2000 <= int(second) <= 2099)
    return len(first) == 4 and 2000 <= int(first) <= 2099 and len(second) in (1, 2) and 1 <= int(second) <= 12


def _valid_compact_expiry(keyword: str, digits: str) -> bool:
    # "exp 1227": only after a card-specific keyword (not "expires"), month first.
    return 1 <= int(digits[:2]) <= 12 and bool(_COMPACT_EXPIRY_KEYWORD.match(keyword))


def _keyword_spans(text: str) -> list[_Span]:
    spans: list[_Span] = []
    lowered = text.lower()  # cheap prefilters: the keyword regexes try every position
    if "cv" in lowered or "cs" in lowered or "cav" in lowered or "code" in lowered or "verif" in lowered:
        for match in _CVC_RE.finditer(text):
            spans.append(_Span(match.start("code"), match.end("code"), "security_code"))
    if "ex" not in lowered and "thru" not in lowered and "through" not in lowered:
        return spans
    for match in _EXPIRY_RE.finditer(text):
        compact = match.group("c")
        if compact is not None:
            valid = _valid_compact_expiry(match.group("kw"), _ascii_digits(compact))
        else:
            valid = _valid_expiry(_ascii_digits(match.group("a")), _ascii_digits(match.group("b")))
        if valid:
            spans.append(_Span(match.start("value"), match.end("value"), "expiry"))
    for match in _EXPIRY_FIELD_RE.finditer(text):
        spans.append(_Span(match.start("value"), match.end("value"), "expiry"))
    return spans


def _select_cards(spans: list[_Span]) -> list[_Span]:
    """Non-overlapping card spans, earliest first, the longest of those starting at the same place."""
    chosen: list[_Span] = []
    end = -1
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if span.start >= end:
            chosen.append(span)
            end = span.end
    return chosen


# Percent-escapes (%20, %2D, %34...) and HTML character references (&nbsp;, &#32;): text is also
# scanned decoded, so "4242%204242%204242%204242" is found.
_ENCODED_RE = re.compile(r"%[0-9A-Fa-f]{2}|&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def _decoded(text: str) -> str | None:
    """``text`` with percent-escapes and HTML references decoded (three rounds at most: double
    encoding), or None when it has none."""
    if ("%" not in text and "&" not in text) or not _ENCODED_RE.search(text):
        return None
    decoded = text
    for _ in range(3):
        step = html.unescape(unquote(decoded, errors="replace"))
        if step == decoded:
            break
        decoded = step
    return decoded if decoded != text else None


def _text_findings(text: str, path: str, keywords: bool) -> list[CardFinding]:
    findings = _plain_text_findings(text, path, keywords)
    decoded = _decoded(text)
    if decoded is not None:
        shown = {(f.kind, f.last4) for f in findings}
        findings += [f for f in _plain_text_findings(decoded, path, keywords) if (f.kind, f.last4) not in shown]
    return findings


def _plain_text_findings(text: str, path: str, keywords: bool) -> list[CardFinding]:
    if not _ANY_DIGIT.search(text):
        return []
    findings = (
        [CardFinding("card_number", path, span.brand, span.last4) for span in _select_cards(_card_spans(text))]
        if len(text) >= MIN_PAN_LENGTH  # fewer characters than a card number has digits
        else []
    )
    if keywords:
        seen: set[str] = set()
        for span in sorted(_keyword_spans(text), key=lambda s: s.start):
            if span.kind not in seen:  # one finding per kind and field is enough to refuse
                seen.add(span.kind)
                findings.append(CardFinding(span.kind, path, None, None))
    return findings


def find_card_numbers(text: str) -> list[CardFinding]:
    """Card numbers in free text, as masked findings (brand and last four), in order of appearance.

    Example:
        >>> [f.last4 for f in find_card_numbers("card:4242424242424242,exp")]
        ['4242']
        >>> find_card_numbers("order 2026-0001, call +1 (415) 555-2671")
        []
    """
    return [f for f in _text_findings(text, "", keywords=False) if f.kind == "card_number"]


def _region_marker(spans: list[_Span]) -> str:
    cards = [s for s in spans if s.kind == "card_number"]
    if not cards:
        return REDACTED
    card = _select_cards(cards)[0]
    if card.end == max(s.end for s in cards):  # its last four are the region's last four digits
        return f"[{card.brand} card ending {card.last4}]"
    return "[card number redacted]"  # showing them would show digits from the middle of a number


def redact_text(text: str) -> str:
    """``text`` with each card number replaced by ``[brand card ending 1234]`` and each security code
    or expiry after its keyword replaced by ``[redacted]`` (the keyword stays).

    Example:
        >>> redact_text("CVV: 4821, exp 12/27")
        'CVV: [redacted], exp [redacted]'
    """
    decoded = _decoded(text)
    if decoded is not None and _text_findings(decoded, "", keywords=True):
        text = decoded  # card data that shows only decoded: the decoded text is what gets masked
    if not _ANY_DIGIT.search(text):
        return text
    spans = sorted(_card_spans(text) + _keyword_spans(text), key=lambda s: (s.start, s.end))
    if not spans:
        return text
    out: list[str] = []
    position = 0
    region: list[_Span] = []
    region_end = -1
    for span in [*spans, None]:
        if span is not None and region and span.start < region_end:
            region.append(span)
            region_end = max(region_end, span.end)
            continue
        if region:
            out.append(text[position : region[0].start])
            out.append(_region_marker(region))
            trailing = _INVISIBLE_RUN_RE.match(text, region_end)  # e.g. a keycap's U+FE0F U+20E3
            position = trailing.end() if trailing else region_end
        if span is not None:
            region = [span]
            region_end = span.end
    out.append(text[position:])
    return "".join(out)


# --- keys --------------------------------------------------------------------------------------

_KEY_JUNK = re.compile(r"[\W_]+")
_CARD_PREFIXES = ("card", "cc", "credit", "creditcard", "debitcard", "paymentcard", "bankcard")


def _with_prefixes(bare: tuple[str, ...], prefixed_only: tuple[str, ...] = ()) -> frozenset[str]:
    names = set(bare)
    for prefix in _CARD_PREFIXES:
        names.update(prefix + core for core in bare + prefixed_only)
    return frozenset(names)


_SECURITY_KEYS = _with_prefixes(
    ("cvc", "cvv", "cvv2", "cvc2", "csc", "cid", "cvn", "cvd", "cav2", "securitycode", "cvccode", "cvvcode",
     "cvcnumber", "cvvnumber", "cvcvalue", "securitynumber"),
    ("code", "verificationcode", "verificationvalue", "verificationnumber", "pin"),
)  # fmt: skip
_EXPIRY_KEYS = _with_prefixes(
    ("exp", "expmonth", "expyear", "expdate", "expmm", "expyy", "expyyyy", "expiry", "expirymonth",
     "expiryyear", "expirydate", "expiration", "expirationmonth", "expirationyear", "expirationdate"),
    ("expires", "month", "year", "validthru", "validthrough"),
)  # fmt: skip
_NUMBER_KEYS = _with_prefixes(
    ("pan", "primaryaccountnumber", "cardnumber", "cardnum", "cardno", "ccnumber", "ccnum", "ccno"),
    ("number", "num", "no", "nbr", "digits"),
) | {"track1", "track2", "trackdata", "magstripe"}
# Inside an object whose key mentions "card" ({"card": {"number": ..., "cvc": ..., "exp_month": ...}}).
_IN_CARD_KEYS: dict[str, FindingKind] = {
    "number": "card_number", "num": "card_number", "no": "card_number", "nbr": "card_number",
    "digits": "card_number", "code": "security_code", "verificationcode": "security_code",
    "verificationvalue": "security_code", "pin": "security_code", "month": "expiry", "year": "expiry",
    "expires": "expiry", "validthru": "expiry",
}  # fmt: skip
_KEY_SEGMENTS = re.compile(r"[\[\]]+|\.")


def _norm_key(key: str) -> str:
    return _KEY_JUNK.sub("", key.casefold())


@lru_cache(maxsize=4096)
def _key_kind(key: Any, in_card: bool) -> FindingKind | None:
    """The card-data kind a key names, if it names one."""
    if not isinstance(key, str) or len(key) > 200:
        return None
    normalized = _norm_key(key)
    if normalized in _SECURITY_KEYS:
        return "security_code"
    if normalized in _EXPIRY_KEYS:
        return "expiry"
    if normalized in _NUMBER_KEYS:
        return "card_number"
    segments = [_norm_key(s) for s in _KEY_SEGMENTS.split(key) if s.strip()]
    if len(segments) > 1:  # card[number], payment_method_data[card][cvc], card.exp_month
        inner_card = in_card or any("card" in s for s in segments[:-1])
        return _key_kind(segments[-1], inner_card)
    if in_card:
        return _IN_CARD_KEYS.get(normalized)
    return None


@lru_cache(maxsize=4096)
def _is_card_context(key: Any) -> bool:
    return isinstance(key, str) and len(key) <= 200 and "card" in _norm_key(key)


# Keys whose (scalar) values are amounts, counts, positions, ids or times are not pieces of a split
# card number: plan_id, limit, offset, created_after, auto_charge_amount... Matched on the key's words.
_QUANTITY_WORDS = frozenset({
    "amount", "amounts", "price", "total", "balance", "threshold", "fee", "cost", "limit", "offset", "page",
    "size", "count", "quantity", "qty", "index", "version", "time", "timestamp", "ts", "date", "created",
    "updated", "since", "until", "before", "after", "id", "ids", "at", "year", "month", "day",
})  # fmt: skip
_KEY_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


@lru_cache(maxsize=4096)
def _quantity_key(key: Any) -> bool:
    if not isinstance(key, str) or len(key) > 200:
        return False
    return any(word.lower() in _QUANTITY_WORDS for word in _KEY_WORDS.findall(key))


_SAFE_KEY = re.compile(r"[^\W\d][\w\-. \[\]]{0,63}")
_HIDDEN_KEY = "<key>"


@lru_cache(maxsize=4096)
def _path_key(key: Any) -> str:
    """A key as shown in a path: verbatim when it is a name, ``<key>`` when it could hold digits of a card."""
    if isinstance(key, str) and _SAFE_KEY.fullmatch(key) and sum(c.isdecimal() for c in key) <= 2:
        return key
    return _HIDDEN_KEY


def child_path_of(path: str, key: Any) -> str:
    """The path of ``key`` under ``path`` as refusals show it: keys that could hold digits show as ``<key>``.

    Example:
        >>> child_path_of("card", "cvc"), child_path_of("", "4242424242424242")
        ('card.cvc', '<key>')
    """
    name = _path_key(key)
    return f"{path}.{name}" if path else name


# --- traversal ---------------------------------------------------------------------------------


@dataclass
class _Node:
    value: Any
    path: str
    ordinal: int
    key_kind: FindingKind | None  # the value sits under a key that names card data
    is_key: bool = False
    quantity: bool = False  # the value sits under a key naming an amount, count, id or time


_OPEN, _LEAF, _KEY, _CLOSE, _CYCLE = "open", "leaf", "key", "close", "cycle"


def _as_container(value: Any) -> Any:
    """The mapping/sequence/set to descend into, or None for a leaf."""
    if isinstance(value, (str, bytes, bytearray, int, float, Decimal)) or value is None:
        return None
    if isinstance(value, (Mapping, list, tuple, set, frozenset)):
        return value
    dump = getattr(value, "model_dump", None)  # pydantic models
    if callable(dump) and not isinstance(value, type):
        try:
            dumped = dump()
        except Exception:
            return None
        return dumped if isinstance(dumped, Mapping) else None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return None


def _walk(root: Any) -> Iterator[tuple[str, _Node]]:
    """Depth-first, keys before their values, without recursion (any depth) and cycle-safe."""
    ordinal = 0
    on_path: set[int] = set()
    # (value, path, key_kind, in_card, is_key, quantity) to visit, or (id,) to close a container.
    stack: list[tuple[Any, ...]] = [(root, "", None, False, False, False)]
    while stack:
        item = stack.pop()
        if len(item) == 1:
            on_path.discard(item[0])
            yield _CLOSE, _Node(None, "", -1, None)
            continue
        value, path, key_kind, in_card, is_key, quantity = item
        node = _Node(value, path, ordinal, key_kind, is_key, quantity)  # quantity: only scalars use it
        ordinal += 1
        container = None if is_key else _as_container(value)
        if container is None:
            yield (_KEY if is_key else _LEAF), node
            continue
        if id(value) in on_path:
            yield _CYCLE, node
            continue
        node.value = container
        on_path.add(id(value))
        yield _OPEN, node
        stack.append((id(value),))
        children: list[tuple[Any, ...]] = []
        if isinstance(container, Mapping):
            for key, child in container.items():
                child_path = child_path_of(path, key)
                child_in_card = in_card or _is_card_context(key)
                children.append((key, child_path, None, in_card, True, False))
                children.append((child, child_path, _key_kind(key, in_card), child_in_card, False, _quantity_key(key)))
        else:
            for index, child in enumerate(container):
                children.append((child, f"{path}[{index}]", None, in_card, False, False))
        stack.extend(reversed(children))


def _leaf_text(value: Any) -> tuple[str, bool] | None:
    """The text to scan for a leaf, and whether keyword rules (cvc ..., exp ...) apply to it."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value, True
    if isinstance(value, int):
        # Fewer than 13 or more than 19 digits: no card number (and no str() of huge ints).
        return (str(value), False) if 10**12 <= abs(value) < 10**20 else None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer() and abs(value) < 1e20:
            return str(int(value)), False
        return repr(value), False
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= -40 and value.adjusted() <= 40:
            return format(value, "f"), False
        return str(value), False
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace"), True
    try:
        return str(value), True
    except Exception:
        return None


class _Fragment(NamedTuple):
    ordinal: int
    path: str
    digits: str
    groups: tuple[int, ...]  # digit count of each group inside the value
    text: bool  # a string (free groupings like 3-5-8 count only for strings, not for ints)


# A value that reads as a phone number (a leading "+", parentheses) is not a piece of a split card.
_PHONE_LIKE_RE = re.compile(rf"(?:\s|{_I})*[{_PLUS}]|[\s\S]*[()\uff08\uff09]")
_MAX_FRAGMENT_DIGITS = 12


def _fragment(value: Any) -> tuple[str, tuple[int, ...]] | None:
    """The digits and group sizes of a value that holds only a short group of digits, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        # An int piece is one printed group (3-6 digits: 4242, Amex's 822463) or a single digit.
        if 0 <= value <= 9 or 100 <= value < 10**6:
            digits = str(value)
            return digits, (len(digits),)
        return None
    if not isinstance(value, str) or len(value) > 200:
        return None
    if value.isascii() and value.isdigit():  # the common case, without regular expressions
        return (value, (len(value),)) if len(value) <= _MAX_FRAGMENT_DIGITS else None
    match = _FRAGMENT_RE.fullmatch(value)
    if match is None or _MONEY_RE.fullmatch(value) or _PHONE_LIKE_RE.match(value):
        return None
    groups = value[match.start("run") : match.end("run")].translate(_RUN_MAP).split()
    sizes = tuple(len(g) for g in groups)
    if sum(sizes) > _MAX_FRAGMENT_DIGITS:
        return None
    return "".join(groups), sizes


_PRINTED_BOUNDARIES = frozenset({4, 8, 12, 16})
_AMEX_DINERS_BOUNDARIES = frozenset({4, 10})


def _printed_shape(pieces: list[_Fragment]) -> bool:
    """Whether pieces of a split number sit where a card's printed groups break (see module doc)."""
    if all(len(p.digits) == 1 for p in pieces):
        return True
    if any(len(p.digits) < 3 for p in pieces):
        return False
    boundaries: set[int] = set()
    offset = 0
    for piece in pieces:
        for size in piece.groups:
            offset += size
            boundaries.add(offset)
    boundaries.discard(offset)
    if boundaries <= _PRINTED_BOUNDARIES:
        return True
    if offset in (14, 15) and 4 in boundaries and boundaries <= _AMEX_DINERS_BOUNDARIES:
        return True
    # Other groupings of a 16-digit number typed into text fields (3-5-8, 5-6-5, 8-8, 6-10): two or
    # three groups of 3+ digits. Only 16 digits, the common length: a 5-digit postal code next to a
    # 10-digit phone number (15) must not read as a card.
    sizes = [size for piece in pieces for size in piece.groups]
    return offset == 16 and all(piece.text for piece in pieces) and len(sizes) <= 3 and min(sizes) >= 3


class _Split(NamedTuple):
    pieces: tuple[_Fragment, ...]
    brand: str
    last4: str


def _splits(fragments: list[_Fragment]) -> list[_Split]:
    """Card numbers made of consecutive fragments (see the module doc), without overlaps."""
    candidates: list[tuple[int, int, str, str]] = []
    count = len(fragments)
    # Spelled digit by digit: a stretch of single-digit fragments is searched like a run of groups.
    i = 0
    while i < count:
        j = i
        while j < count and len(fragments[j].digits) == 1:
            j += 1
        if j - i >= MIN_PAN_LENGTH:
            for a, b, brand, last4 in _group_candidates([f.digits for f in fragments[i:j]]):
                candidates.append((i + a, i + b, brand, last4))
        i = max(j, i + 1)
    # Printed groups: the first boundary falls 4 or 8 digits in, so the first group has 4 or 8 digits;
    # a free grouping starts with a string of 3 or more.
    for i, first in enumerate(fragments):
        if first.digits[0] not in BRAND_FIRST_DIGITS:
            continue
        if first.groups[0] not in (4, 8) and not (first.text and first.groups[0] >= 3):
            continue
        digits = first.digits
        for j in range(i + 1, count):
            digits += fragments[j].digits
            if len(digits) > MAX_PAN_LENGTH:
                break
            if len(digits) >= MIN_PAN_LENGTH and _printed_shape(fragments[i : j + 1]):
                network = card_brand(digits)
                if network is not None:
                    candidates.append((i, j, network, digits[-4:]))
    found: list[_Split] = []
    end = -1
    for a, b, brand, last4 in sorted(candidates, key=lambda c: (c[0], -c[1])):
        if a > end:  # earliest first, the longest of those starting at the same fragment
            found.append(_Split(tuple(fragments[a : b + 1]), brand, last4))
            end = b
    return found


# The digits (and separators) a text ends or starts with: the part of a field that could continue
# a number begun in the field before it.
_TAIL_RE = re.compile(rf"{_GROUP}(?:{_GAP}{_GROUP})*(?:\s|{_I})*\Z")
_HEAD_RE = re.compile(rf"(?:\s|{_I})*{_GROUP}(?:{_GAP}{_GROUP})*")
_PRINTED_SPLITS = frozenset({4, 8, 12})


def _joined_fields(texts: list[_Node]) -> list[tuple[_Node, _Node, str, str]]:
    """Card numbers that run from the end of one string field into the start of the next
    (``"Flat 424"`` + ``"2424242424242 Main St"``): each adjacent pair of string values is joined,
    and only a number that straddles the join counts. A number of 16-19 digits counts wherever it is
    split; a shorter one only where a card's printed groups break (4, 8, 12 digits in; 4 or 10 for
    14-15 digits), so a 5-digit postal code next to a 10-digit phone number stays out. Each side gives
    3+ digits and every group but the last has 3+ (dates stay out; a group cut by the join counts
    whole). Only whitespace may stand between the digits and the join (``#123`` is a reference),
    and values that read as phone numbers (a leading ``+``, parentheses) are not joined."""
    found: list[tuple[_Node, _Node, str, str]] = []
    for first, second in pairwise(texts):
        a, b = first.value, second.value
        if len(a) > 100_000 or len(b) > 100_000 or _PHONE_LIKE_RE.match(a) or _PHONE_LIKE_RE.match(b):
            continue
        tail = _TAIL_RE.search(a)
        head = _HEAD_RE.match(b)
        if tail is None or head is None:
            continue
        if tail.start() > 0 and a[tail.start() - 1] in _PLUS_SIGNS:
            continue  # the first part is a phone number
        left = tail.group()
        joined = f"{left} {head.group()}"
        for span in _select_cards(_card_spans_in_run(joined, 0, len(joined))):
            if not span.start < len(left) < span.end:
                continue  # wholly inside one field: that field's own scan reports it
            before = joined[span.start : len(left)].translate(_RUN_MAP).split()
            after = joined[len(left) : span.end].translate(_RUN_MAP).split()
            # One printed group cut by the join ("424" + "2 4242 4242 4242") counts as one group.
            sizes = [len(g) for g in before[:-1]] + [len(before[-1]) + len(after[0])] + [len(g) for g in after[1:]]
            split = sum(len(g) for g in before)
            total = sum(sizes)
            if min(sizes[:-1], default=3) < 3 or split < 3 or total - split < 3:
                continue  # dates, times and the like: a card's groups (all but the last) have 3+ digits
            if total >= 16 or split in _PRINTED_SPLITS or (total in (14, 15) and split in (4, 10)):
                found.append((first, second, span.brand or "card", span.last4 or ""))
    return found


@dataclass
class _Scan:
    findings: list[CardFinding]
    split_ordinals: set[int]


def _scan(value: Any) -> _Scan:
    findings: list[CardFinding] = []
    seen: set[tuple[str, str]] = set()
    fragments: list[_Fragment] = []
    texts: list[_Node] = []

    def add(finding: CardFinding) -> None:
        if finding.kind == "card_number" and finding.last4 is not None:
            findings.append(finding)  # distinct card numbers in one field are all reported
        elif (finding.kind, finding.path) not in seen:
            findings.append(finding)
        seen.add((finding.kind, finding.path))

    for event, node in _walk(value):
        if event == _OPEN:
            if node.key_kind is not None:
                add(CardFinding(node.key_kind, node.path, None, None))
            continue
        if event not in (_LEAF, _KEY):
            continue
        leaf = _leaf_text(node.value)
        if leaf is not None:
            for finding in _text_findings(leaf[0], node.path, keywords=leaf[1]):
                add(finding)
        if node.key_kind is not None:
            add(CardFinding(node.key_kind, node.path, None, None))
        fragment = None if node.quantity else _fragment(node.value)
        if fragment is not None:
            fragments.append(_Fragment(node.ordinal, node.path, fragment[0], fragment[1], isinstance(node.value, str)))
        if event == _LEAF and isinstance(node.value, str) and not node.quantity and node.key_kind is None:
            texts.append(node)
    split_ordinals: set[int] = set()
    for split in _splits(fragments):
        path = "+".join(piece.path for piece in split.pieces)
        add(CardFinding("card_number", path, split.brand, split.last4))
        split_ordinals.update(piece.ordinal for piece in split.pieces)
    shown = {(f.path, f.last4) for f in findings}
    for first, second, brand, last4 in _joined_fields(texts):
        path = f"{first.path}+{second.path}"
        if first.ordinal in split_ordinals and second.ordinal in split_ordinals:
            continue  # already found as pieces of a split number
        if (path, last4) not in shown:
            add(CardFinding("card_number", path, brand, last4))
        split_ordinals.update((first.ordinal, second.ordinal))
    return _Scan(findings, split_ordinals)


def scan_arguments(value: Any) -> list[CardFinding]:
    """Every piece of card data in raw tool arguments: strings, numbers and keys at any depth.

    Accepts dicts, lists, tuples, sets, strings, ints, floats, Decimals, bytes, pydantic models and
    dataclasses (other objects are scanned as ``str(obj)``). Paths look like ``items[2].note``;
    ``a+b`` is a number split across fields ``a`` and ``b``; ``""`` is the value itself; a key that
    could hold digits shows as ``<key>``.

    Example:
        >>> [(f.kind, f.path) for f in scan_arguments({"card": {"cvc": "123"}, "note": 4242424242424242})]
        [('security_code', 'card.cvc'), ('card_number', 'note')]
    """
    return _scan(value).findings


def _describe(findings: list[CardFinding]) -> str:
    entries: list[str] = []
    for finding in findings:
        where = f"'{finding.path[:120]}'" if finding.path else "the text"
        entry = f"{_KIND_WORDS[finding.kind]} in {where}"
        if entry not in entries:
            entries.append(entry)
    shown = entries[:10]
    return "; ".join(shown) + ("; and more" if len(entries) > len(shown) else "")


def refuse_card_data(value: Any, handoff_call: str | None = None) -> None:
    """Raise :class:`~agent_billing.errors.CardDataRefusedError` if ``value`` holds card data.

    The message names the fields and kinds and the safe alternatives (``handoff_call``: the provider's own
    hand-off, see :func:`refusal_message`), never a digit of the card.

    Example:
        >>> refuse_card_data({"amount": "25.00", "payment_method_id": "pm_card_visa"})
        >>> try:
        ...     refuse_card_data({"note": "4242 4242 4242 4242"})
        ... except CardDataRefusedError as exc:
        ...     print(exc.message.split(". Found: ")[-1])
        card number in 'note'.
    """
    findings = scan_arguments(value)
    del value  # the traceback keeps this frame: it must not keep the card number
    if findings:
        raise _card_refusal(findings, handoff_call) from None


def _card_refusal(findings: list[CardFinding], handoff_call: str | None = None) -> CardDataRefusedError:
    message = f"{refusal_message(handoff_call)} Found: {_describe(findings)}."
    return CardDataRefusedError(message, details={"findings": [{"kind": f.kind, "path": f.path} for f in findings]})


# --- redaction ---------------------------------------------------------------------------------


def _redact_leaf(value: Any) -> Any:
    leaf = _leaf_text(value)
    if leaf is None:
        return value
    text, _ = leaf
    redacted = redact_text(text)
    if redacted == text:
        return value
    if isinstance(value, (bytes, bytearray)):
        return redacted.encode("utf-8")
    return redacted


def _finish(kind: type, items: list[Any]) -> Any:
    if kind is dict:
        out: dict[Any, Any] = {}
        for key, item in items:
            while key in out:  # two keys redacted to the same text
                key = f"{key}*"
            out[key] = item
        return out
    if kind is tuple:
        return tuple(items)
    if kind is set:
        return set(items)
    if kind is frozenset:
        return frozenset(items)
    return items


def _container_kind(value: Any) -> type:
    if isinstance(value, Mapping):
        return dict
    for kind in (tuple, frozenset, set):
        if isinstance(value, kind):
            return kind
    return list


def redact(value: Any) -> Any:
    """A deep copy of a JSON-like value with card data masked.

    Card numbers in strings and keys become ``[brand card ending 1234]``; an int, float or Decimal
    that is a card number becomes that string; pieces of a number split across fields become
    ``[redacted]``; any value under a card-data key (cvc, cvv, card_number, exp_month...) becomes
    ``[redacted]``. Mappings come back as dicts; values without card data are returned unchanged.

    Example:
        >>> redact({"note": "pay with 4242 4242 4242 4242", "cvc": 123, "n": [4242424242424242]})
        {'note': 'pay with [visa card ending 4242]', 'cvc': '[redacted]', 'n': ['[visa card ending 4242]']}
    """
    split_ordinals = _scan(value).split_ordinals
    # Each frame: [container kind, items, pending key, node]; the root frame collects the result.
    frames: list[list[Any]] = [[list, [], None, None]]
    for event, node in _walk(value):
        frame = frames[-1]
        if event == _OPEN:
            frames.append([_container_kind(node.value), [], None, node])
            continue
        if event == _CLOSE:
            kind, items, _, opened = frames.pop()
            result = REDACTED if opened.key_kind is not None else _finish(kind, items)
            parent = frames[-1]
            parent[1].append((parent[2], result) if parent[0] is dict else result)
            continue
        if event == _KEY:
            frame[2] = REDACTED if node.ordinal in split_ordinals else _redact_leaf(node.value)
            continue
        if event == _CYCLE or node.key_kind is not None or node.ordinal in split_ordinals:
            result = "[cycle]" if event == _CYCLE else REDACTED
        else:
            result = _redact_leaf(node.value)
        frame[1].append((frame[2], result) if frame[0] is dict else result)
    return frames[0][1][0]
