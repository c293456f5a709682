"""Card networks (issuer prefixes and lengths) and the Luhn check, for the card-data guard.

A digit string is treated as a card number (PAN) when it has a length the network issues, starts
with one of the network's prefixes, and passes the Luhn (mod 10) check. The table lists the networks
in resolution order: the first entry whose prefix *and* length both match names the brand, so the
specific ranges (Discover's 622126-622925, UnionPay's 62) come before Maestro's broad 50/56-69
fallback, which also catches 13-15 digit numbers in those ranges.

Example:
    >>> brand_of("4242424242424242"), brand_of("378282246310005"), brand_of("6011111111111117")
    ('visa', 'amex', 'discover')
    >>> luhn_valid("4242424242424242"), luhn_valid("4242424242424241")
    (True, False)
    >>> card_brand("4242424242424241") is None  # Luhn fails
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

MIN_PAN_LENGTH = 13
MAX_PAN_LENGTH = 19


@dataclass(frozen=True)
class CardNetwork:
    """One card network: its brand id, issuer prefix ranges and the PAN lengths it issues.

    ``prefixes`` holds inclusive ranges of equal-length decimal prefixes, e.g. ``("2221", "2720")``.

    Example:
        >>> visa = CardNetwork("visa", (("4", "4"),), frozenset({13, 16, 19}))
        >>> visa.matches("4242424242424242"), visa.matches("5555555555554444")
        (True, False)
    """

    brand: str
    prefixes: tuple[tuple[str, str], ...]
    lengths: frozenset[int]

    def matches(self, digits: str) -> bool:
        """Whether ``digits`` (ASCII) has one of this network's lengths and prefixes.

        Example:
            >>> visa = next(network for network in NETWORKS if network.brand == "visa")
            >>> visa.matches("4242424242424242"), visa.matches("5555555555554444")
            (True, False)
        """
        if len(digits) not in self.lengths:
            return False
        for low, high in self.prefixes:
            head = digits[: len(low)]
            if low <= head <= high:  # equal-length decimal strings compare like numbers
                return True
        return False


def _lengths(low: int, high: int) -> frozenset[int]:
    return frozenset(range(low, high + 1))


NETWORKS: tuple[CardNetwork, ...] = (
    CardNetwork("amex", (("34", "34"), ("37", "37")), frozenset({15})),
    CardNetwork("diners", (("300", "305"), ("3095", "3095"), ("36", "36"), ("38", "39")), _lengths(14, 19)),
    CardNetwork("jcb", (("3528", "3589"),), _lengths(16, 19)),
    CardNetwork("visa", (("4", "4"),), frozenset({13, 16, 19})),
    CardNetwork("mastercard", (("51", "55"), ("2221", "2720")), frozenset({16})),
    # Mir is not in the product brief's list, but it is a major network with its own range.
    CardNetwork("mir", (("2200", "2204"),), _lengths(16, 19)),
    CardNetwork(
        "discover", (("6011", "6011"), ("622126", "622925"), ("644", "649"), ("65", "65")), _lengths(16, 19)
    ),
    CardNetwork("unionpay", (("62", "62"),), _lengths(16, 19)),
    # RuPay's own 81/82 ranges (its 60/65/508 ranges resolve to Discover or Maestro above/below).
    CardNetwork("rupay", (("81", "82"),), frozenset({16})),
    CardNetwork("maestro", (("50", "50"), ("56", "69")), _lengths(MIN_PAN_LENGTH, MAX_PAN_LENGTH)),
)

BRANDS: tuple[str, ...] = tuple(network.brand for network in NETWORKS)

# First digits that some network starts with: anything else cannot be a card number.
BRAND_FIRST_DIGITS = frozenset(low[0] for network in NETWORKS for low, _ in network.prefixes)

DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check over an ASCII digit string.

    Example:
        >>> luhn_valid("79927398713")
        True
    """
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        total += DOUBLED[value] if position & 1 else value
    return total % 10 == 0


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` pass the Luhn check.

    Example:
        >>> luhn_check_digit("424242424242424")
        '2'
    """
    total = 0
    for position, char in enumerate(reversed(payload)):
        value = ord(char) - 48
        total += value if position & 1 else DOUBLED[value]
    return str((10 - total % 10) % 10)


def _prefix_key(digits: str) -> str:
    # Every prefix range has at most 4 digits except Discover's 622126-622925.
    return digits[:6] if digits.startswith("622") else digits[:4]


@cache  # at most 10,000 four-digit and 1,000 "622..." keys
def _lengths_by_key(key: str) -> tuple[tuple[int, str], ...]:
    by_length: dict[int, str] = {}
    for network in NETWORKS:  # resolution order: the first network to claim a length keeps it
        if any(low <= key[: len(low)] <= high for low, high in network.prefixes):
            for length in network.lengths:
                by_length.setdefault(length, network.brand)
    return tuple(sorted(by_length.items()))


def card_lengths(digits: str) -> tuple[tuple[int, str], ...]:
    """The ``(length, brand)`` pairs a number starting with ``digits`` (ASCII, at least 6) can have.

    Example:
        >>> card_lengths("424242")
        ((13, 'visa'), (16, 'visa'), (19, 'visa'))
    """
    if not digits or digits[0] not in BRAND_FIRST_DIGITS:
        return ()
    return _lengths_by_key(_prefix_key(digits))


def brand_of(digits: str) -> str | None:
    """The network whose prefixes and lengths fit ``digits`` (ASCII), ignoring the Luhn check.

    Example:
        >>> brand_of("5555555555554444"), brand_of("4242424242424241"), brand_of("12345")
        ('mastercard', 'visa', None)
    """
    if not MIN_PAN_LENGTH <= len(digits) <= MAX_PAN_LENGTH:
        return None
    for length, brand in card_lengths(digits):
        if length == len(digits):
            return brand
    return None


def card_brand(digits: str) -> str | None:
    """The brand when ``digits`` (ASCII) is a plausible card number: network prefix, length and Luhn.

    Example:
        >>> card_brand("5555555555554444"), card_brand("5555555555554445")
        ('mastercard', None)
    """
    brand = brand_of(digits)
    if brand is None or not luhn_valid(digits):
        return None
    return brand
