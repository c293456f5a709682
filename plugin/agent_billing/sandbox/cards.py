"""Test cards and test payment methods, and what each one does when charged.

These are the card processor's published test numbers and its ``pm_card_*`` / ``tok_*`` shortcuts
(Stripe's test mode), so code written against the processor's test mode behaves the same here. They are
neutral test-card vocabulary, not any provider's declaration: every provider sandbox that bills cards
through the processor takes the same cards. What an outcome looks like on a provider's API (its status,
error code and the field carrying the decline reason) is that provider's, in its own sandbox. The sandbox
never stores a card number: a payment method keeps brand, last4, expiry and the *name* of its behaviour.

==========================  ===================  ===================================================
number                      shortcut             outcome when charged (the processor's decline reason)
==========================  ===================  ===================================================
4242424242424242            visa                 succeeds (visa)
4000056655665556            visa_debit           succeeds (visa debit)
5555555555554444            mastercard           succeeds (mastercard)
378282246310005             amex                 succeeds (amex)
6011111111111117            discover             succeeds (discover)
4000000000000002            chargeDeclined                       declined (generic)
4000000000009995            chargeDeclinedInsufficientFunds      declined (insufficient funds)
4000000000009987            chargeDeclinedLostCard               declined (lost card)
4000000000009979            chargeDeclinedStolenCard             declined (stolen card)
4000000000000069            chargeDeclinedExpiredCard            declined (expired card)
4000000000000127            chargeDeclinedIncorrectCvc           declined (incorrect security code)
4000000000000119            chargeDeclinedProcessingError        declined (processing error)
4000000000000341            chargeCustomerFail                   saves fine; charges are declined (generic)
4000002760003184            authenticationRequired               needs 3-D Secure
4000000000003220            threeDSecure2Required                needs 3-D Secure 2
==========================  ===================  ===================================================

Any other Luhn-valid number succeeds with the brand its prefix says. Saving a card never charges it;
only confirming a SetupIntent with a generic-decline, lost or stolen card fails (as the processor's card
check would).

Example:
    >>> card_for_number("4000000000009987").behaviour.decline_code
    'lost_card'
    >>> MAGIC_METHODS["pm_card_visa"].last4, MAGIC_TOKENS["tok_amex"].brand
    ('4242', 'amex')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SUCCEED, DECLINE, AUTHENTICATE = "succeed", "decline", "authenticate"


@dataclass(frozen=True)
class Behaviour:
    """What happens when a card is charged.

    ``outcome`` is ``succeed``, ``decline`` or ``authenticate`` (3-D Secure needed). A decline has the
    processor's error ``code`` (``card_declined``, ``expired_card``...), a ``decline_code`` and message.

    Example:
        >>> b = BEHAVIOURS["lost_card"]
        >>> b.outcome, b.code, b.decline_code
        ('decline', 'card_declined', 'lost_card')
    """

    name: str
    outcome: str
    code: str | None = None
    decline_code: str | None = None
    message: str | None = None
    declines_setup: bool = False


@dataclass(frozen=True)
class TestCard:
    """A card as the sandbox knows it: never the number, only what may be stored and shown.

    Example:
        >>> card = TEST_CARDS["5555555555554444"]
        >>> card.brand, card.last4, card.funding, card.behaviour.outcome
        ('mastercard', '4444', 'credit', 'succeed')
    """

    brand: str
    last4: str
    behaviour: Behaviour
    funding: str = "credit"
    country: str = "US"


_SUCCEEDS = Behaviour("succeed", SUCCEED)
_AUTHENTICATES = Behaviour("authenticate", AUTHENTICATE)
_DECLINED = "Your card was declined."


def _declines(reason: str, message: str = _DECLINED, *, code: str = "card_declined", setup: bool = False,
              name: str | None = None) -> Behaviour:
    return Behaviour(name or reason, DECLINE, code, reason, message, declines_setup=setup)


# The one table: (number, brand, behaviour, funding, shortcut name or None). Everything below derives from it.
_TABLE: tuple[tuple[str, str, Behaviour, str, str | None], ...] = (
    ("4242424242424242", "visa", _SUCCEEDS, "credit", "visa"),
    ("4000056655665556", "visa", _SUCCEEDS, "debit", "visa_debit"),
    ("5555555555554444", "mastercard", _SUCCEEDS, "credit", "mastercard"),
    ("2223003122003222", "mastercard", _SUCCEEDS, "credit", None),
    ("5200828282828210", "mastercard", _SUCCEEDS, "debit", "mastercard_debit"),
    ("378282246310005", "amex", _SUCCEEDS, "credit", "amex"),
    ("6011111111111117", "discover", _SUCCEEDS, "credit", "discover"),
    ("4000000000000002", "visa", _declines("generic_decline", setup=True), "credit", "chargeDeclined"),
    ("4000000000009995", "visa", _declines("insufficient_funds", "Your card has insufficient funds."), "credit",
     "chargeDeclinedInsufficientFunds"),
    ("4000000000009987", "visa", _declines("lost_card", setup=True), "credit", "chargeDeclinedLostCard"),
    ("4000000000009979", "visa", _declines("stolen_card", setup=True), "credit", "chargeDeclinedStolenCard"),
    ("4000000000000069", "visa", _declines("expired_card", "Your card has expired.", code="expired_card"), "credit",
     "chargeDeclinedExpiredCard"),
    ("4000000000000127", "visa", _declines("incorrect_cvc", "Your card's security code is incorrect.",
                                           code="incorrect_cvc"), "credit", "chargeDeclinedIncorrectCvc"),
    ("4000000000000119", "visa", _declines("processing_error", "An error occurred while processing your card. "
                                           "Try again in a little bit.", code="processing_error"), "credit",
     "chargeDeclinedProcessingError"),
    ("4000000000000341", "visa", _declines("generic_decline", name="customer_fail"), "credit", "chargeCustomerFail"),
    ("4000002760003184", "visa", _AUTHENTICATES, "credit", "authenticationRequired"),
    ("4000000000003220", "visa", _AUTHENTICATES, "credit", "threeDSecure2Required"),
)

# Behaviours by name (the name is what a stored payment method keeps).
BEHAVIOURS: dict[str, Behaviour] = {row[2].name: row[2] for row in _TABLE}
TEST_CARDS: dict[str, TestCard] = {number: TestCard(brand, number[-4:], behaviour, funding)
                                   for number, brand, behaviour, funding, _ in _TABLE}
# The processor's shortcut names; ``pm_card_<name>`` and ``tok_<name>`` both work.
MAGIC_METHODS: dict[str, TestCard] = {f"pm_card_{name}": TEST_CARDS[number]
                                      for number, *_, name in _TABLE if name is not None}
MAGIC_TOKENS: dict[str, TestCard] = {f"tok_{name}": TEST_CARDS[number] for number, *_, name in _TABLE if name is not None}

# Test payment methods offered on the hosted checkout page (the "human" picks one).
CHECKOUT_CHOICES: tuple[tuple[str, str], ...] = (
    ("pm_card_visa", "Visa ending 4242 (succeeds)"),
    ("pm_card_mastercard", "Mastercard ending 4444 (succeeds)"),
    ("pm_card_chargeDeclined", "Visa ending 0002 (declined)"),
    ("pm_card_chargeDeclinedInsufficientFunds", "Visa ending 9995 (insufficient funds)"),
)


class CardError(Exception):
    """A card that Stripe would refuse at tokenization: ``code``, ``message``, ``param``.

    Example:
        >>> try:
        ...     check_card("4242424242424241", 12, 2099, "123", now_year=2026, now_month=1)
        ... except CardError as e:
        ...     print(e.code, e.param)
        incorrect_number number
    """

    def __init__(self, code: str, message: str, param: str, *, kind: str = "card_error") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.kind = kind


def luhn_ok(number: str) -> bool:
    """Whether ``number`` (digits only) passes the Luhn check.

    Example:
        >>> luhn_ok("4242424242424242"), luhn_ok("4242424242424241")
        (True, False)
    """
    total = 0
    for i, ch in enumerate(reversed(number)):
        digit = int(ch)
        if i % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def brand_of(number: str) -> str:
    """The card brand a number's prefix says (``unknown`` when none matches).

    Example:
        >>> brand_of("378282246310005")
        'amex'
    """
    if number.startswith("4"):
        return "visa"
    two, four, six = int(number[:2]), int(number[:4]), int(number[:6])
    if 51 <= two <= 55 or 222100 <= six <= 272099:
        return "mastercard"
    if two in (34, 37):
        return "amex"
    if number.startswith(("6011", "65")) or 644 <= int(number[:3]) <= 649:
        return "discover"
    if 3528 <= four <= 3589:
        return "jcb"
    if two in (36, 38, 39) or 300 <= int(number[:3]) <= 305:
        return "diners"
    if two == 62:
        return "unionpay"
    return "unknown"


def card_for_number(number: str) -> TestCard:
    """The test card for ``number``: a listed test number, or a generic card that succeeds.

    Example:
        >>> card_for_number("4000002760003184").behaviour.outcome
        'authenticate'
        >>> card_for_number("4111111111111111").brand, card_for_number("4111111111111111").behaviour.name
        ('visa', 'succeed')
    """
    known = TEST_CARDS.get(number)
    if known is not None:
        return known
    return TestCard(brand_of(number), number[-4:], BEHAVIOURS["succeed"])


_DIGITS = re.compile(r"^[0-9]{12,19}$")


def _as_int(value: object, param: str, code: str, message: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise CardError(code, message, param) from None


def check_card(
    number: object, exp_month: object, exp_year: object, cvc: object, *, now_year: int, now_month: int
) -> tuple[TestCard, int, int]:
    """Validate card fields as Stripe does at tokenization; return the card and its expiry.

    Raises :class:`CardError` with Stripe's codes: ``incorrect_number``, ``invalid_expiry_month``,
    ``invalid_expiry_year``, ``expired_card``, ``invalid_cvc``; a missing field is an
    ``invalid_request_error`` with code ``parameter_missing``.

    Example:
        >>> card, month, year = check_card("4242 4242 4242 4242", "12", "29", "123", now_year=2026, now_month=1)
        >>> card.brand, card.last4, month, year
        ('visa', '4242', 12, 2029)
    """
    for value, param in ((number, "number"), (exp_month, "exp_month"), (exp_year, "exp_year")):
        if value is None or str(value).strip() == "":
            raise CardError("parameter_missing", f"Missing required param: card[{param}].", f"card[{param}]",
                            kind="invalid_request_error")
    digits = re.sub(r"[ -]", "", str(number))
    if not _DIGITS.match(digits) or not luhn_ok(digits):
        raise CardError("incorrect_number", "Your card number is incorrect.", "number")
    month = _as_int(exp_month, "exp_month", "invalid_expiry_month", "Your card's expiration month is invalid.")
    year = _as_int(exp_year, "exp_year", "invalid_expiry_year", "Your card's expiration year is invalid.")
    if year < 100:
        year += 2000
    if not 1 <= month <= 12:
        raise CardError("invalid_expiry_month", "Your card's expiration month is invalid.", "exp_month")
    if year < now_year or year > now_year + 50:
        raise CardError("invalid_expiry_year", "Your card's expiration year is invalid.", "exp_year")
    if year == now_year and month < now_month:
        raise CardError("expired_card", "Your card has expired.", "exp_month")
    card = card_for_number(digits)
    if cvc is not None and str(cvc).strip() != "":
        want = 4 if card.brand == "amex" else 3
        text = str(cvc).strip()
        if not (text.isdigit() and len(text) in (3, 4) and (len(text) == want or card.brand == "unknown")):
            raise CardError("invalid_cvc", "Your card's security code is invalid.", "cvc")
    return card, month, year
