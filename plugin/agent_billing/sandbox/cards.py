"""Test cards and test payment methods, and what each one does when charged.

These mirror Stripe's documented test numbers and ``pm_card_*`` / ``tok_*`` shortcuts, so code written
against Stripe's test mode behaves the same here. The sandbox never stores a card number: a payment
method keeps brand, last4, expiry and the *name* of its behaviour.

==========================  ===================  =========================================================
number                      magic pm id          behaviour when charged
==========================  ===================  =========================================================
4242424242424242            pm_card_visa         succeeds (visa)
4000056655665556            pm_card_visa_debit   succeeds (visa debit)
5555555555554444            pm_card_mastercard   succeeds (mastercard)
378282246310005             pm_card_amex         succeeds (amex)
6011111111111117            pm_card_discover     succeeds (discover)
4000000000000002            pm_card_chargeDeclined                       402 ``generic_decline``
4000000000009995            pm_card_chargeDeclinedInsufficientFunds      402 ``insufficient_funds``
4000000000009987            pm_card_chargeDeclinedLostCard               402 ``lost_card``
4000000000009979            pm_card_chargeDeclinedStolenCard             402 ``stolen_card``
4000000000000069            pm_card_chargeDeclinedExpiredCard            402 ``expired_card``
4000000000000127            pm_card_chargeDeclinedIncorrectCvc           402 ``incorrect_cvc``
4000000000000119            pm_card_chargeDeclinedProcessingError        402 ``processing_error``
4000000000000341            pm_card_chargeCustomerFail                   saves fine; charges 402 ``generic_decline``
4000002760003184            pm_card_authenticationRequired               202 ``requires_action`` (3-D Secure)
4000000000003220            pm_card_threeDSecure2Required                202 ``requires_action`` (3-D Secure 2)
==========================  ===================  =========================================================

Any other Luhn-valid number succeeds with the brand its prefix says. Saving a card never charges it;
only confirming a SetupIntent with a generic-decline, lost or stolen card fails (as Stripe's card check
would).

Example:
    >>> card_for_number("4000000000009995").behaviour.decline_code
    'insufficient_funds'
    >>> MAGIC_PAYMENT_METHODS["pm_card_visa"].last4
    '4242'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SUCCEED, DECLINE, AUTHENTICATE = "succeed", "decline", "authenticate"


@dataclass(frozen=True)
class Behaviour:
    """What happens when a card is charged.

    ``outcome`` is ``succeed``, ``decline`` or ``authenticate`` (3-D Secure needed). A decline has
    Stripe's error ``code`` (``card_declined``, ``expired_card``...), a ``decline_code`` and message.

    Example:
        >>> b = BEHAVIOURS["insufficient_funds"]
        >>> b.outcome, b.code, b.decline_code
        ('decline', 'card_declined', 'insufficient_funds')
    """

    name: str
    outcome: str
    code: str | None = None
    decline_code: str | None = None
    message: str | None = None
    declines_setup: bool = False


BEHAVIOURS: dict[str, Behaviour] = {
    b.name: b
    for b in (
        Behaviour("succeed", SUCCEED),
        Behaviour("generic_decline", DECLINE, "card_declined", "generic_decline", "Your card was declined.",
                  declines_setup=True),
        Behaviour("insufficient_funds", DECLINE, "card_declined", "insufficient_funds",
                  "Your card has insufficient funds."),
        Behaviour("lost_card", DECLINE, "card_declined", "lost_card", "Your card was declined.", declines_setup=True),
        Behaviour("stolen_card", DECLINE, "card_declined", "stolen_card", "Your card was declined.",
                  declines_setup=True),
        Behaviour("expired_card", DECLINE, "expired_card", "expired_card", "Your card has expired."),
        Behaviour("incorrect_cvc", DECLINE, "incorrect_cvc", "incorrect_cvc",
                  "Your card's security code is incorrect."),
        Behaviour("processing_error", DECLINE, "processing_error", "processing_error",
                  "An error occurred while processing your card. Try again in a little bit."),
        Behaviour("customer_fail", DECLINE, "card_declined", "generic_decline", "Your card was declined."),
        Behaviour("authenticate", AUTHENTICATE),
    )
}


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


def _card(number: str, brand: str, behaviour: str, funding: str = "credit") -> tuple[str, TestCard]:
    return number, TestCard(brand, number[-4:], BEHAVIOURS[behaviour], funding)


TEST_CARDS: dict[str, TestCard] = dict(
    [
        _card("4242424242424242", "visa", "succeed"),
        _card("4000056655665556", "visa", "succeed", "debit"),
        _card("5555555555554444", "mastercard", "succeed"),
        _card("2223003122003222", "mastercard", "succeed"),
        _card("5200828282828210", "mastercard", "succeed", "debit"),
        _card("378282246310005", "amex", "succeed"),
        _card("6011111111111117", "discover", "succeed"),
        _card("4000000000000002", "visa", "generic_decline"),
        _card("4000000000009995", "visa", "insufficient_funds"),
        _card("4000000000009987", "visa", "lost_card"),
        _card("4000000000009979", "visa", "stolen_card"),
        _card("4000000000000069", "visa", "expired_card"),
        _card("4000000000000127", "visa", "incorrect_cvc"),
        _card("4000000000000119", "visa", "processing_error"),
        _card("4000000000000341", "visa", "customer_fail"),
        _card("4000002760003184", "visa", "authenticate"),
        _card("4000000000003220", "visa", "authenticate"),
    ]
)

# Stripe's shortcut names; ``pm_card_<name>`` and ``tok_<name>`` both work.
_MAGIC_NAMES: dict[str, str] = {
    "visa": "4242424242424242",
    "visa_debit": "4000056655665556",
    "mastercard": "5555555555554444",
    "mastercard_debit": "5200828282828210",
    "amex": "378282246310005",
    "discover": "6011111111111117",
    "chargeDeclined": "4000000000000002",
    "chargeDeclinedInsufficientFunds": "4000000000009995",
    "chargeDeclinedLostCard": "4000000000009987",
    "chargeDeclinedStolenCard": "4000000000009979",
    "chargeDeclinedExpiredCard": "4000000000000069",
    "chargeDeclinedIncorrectCvc": "4000000000000127",
    "chargeDeclinedProcessingError": "4000000000000119",
    "chargeCustomerFail": "4000000000000341",
    "authenticationRequired": "4000002760003184",
    "threeDSecure2Required": "4000000000003220",
}
MAGIC_PAYMENT_METHODS: dict[str, TestCard] = {f"pm_card_{k}": TEST_CARDS[v] for k, v in _MAGIC_NAMES.items()}
MAGIC_TOKENS: dict[str, TestCard] = {f"tok_{k}": TEST_CARDS[v] for k, v in _MAGIC_NAMES.items()}

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
