"""Recall and false-positive rates of the card-data guard on seeded corpora (issue 19).

Run: python benchmarks/card_guard.py [--samples N] [--seed S]

Every sample is scanned as tool arguments (``scan_arguments``); a sample counts as refused when a card
number is found. Recall corpora hold Luhn-valid numbers of every network (16 digits, Amex 15) printed
in groups with one separator class each, split 3 + 13 over two address lines, or written in Chinese
numerals. False-positive corpora hold values that are not cards: EAN-13 product codes (German
prefixes 400-440 and other GS1 prefixes), UPC-A codes, USPS tracking numbers (IMpb, 22 and 20 digits),
IBANs, E.164 phone numbers and order ids. Two splits are drawn from two seeds (``dev`` = ``--seed``,
``held-out`` = ``--seed + 1``); the guard was tuned on neither (the unit tests draw their own).

Only the public ``scan_arguments`` is used, so the same script measures an older checkout:
``PYTHONPATH=/work/main/plugin python benchmarks/card_guard.py``.
"""

from __future__ import annotations

import argparse
import random
import string
from collections.abc import Callable
from typing import Any

from agent_billing.guardrails.card_data import scan_arguments

SEPARATORS = {
    "space": " ", "dash": "-", "tilde": "~", "apostrophe": "'", "equals": "=", "hash": "#", "percent": "%",
    "caret": "^", "ampersand": "&", "backtick": "`", "quote": '"', "less-than": "<", "degree": "\u00b0",
    "ellipsis": "\u2026", "arabic comma": "\u060c", "danda": "\u0964",
}  # fmt: skip
CJK = "〇一二三四五六七八九"
PREFIXES = {"visa": ["4"], "mastercard": ["51", "52", "53", "54", "55", "2221", "2720"],
            "amex": ["34", "37"], "discover": ["6011", "65"], "jcb": ["3528", "3589"], "unionpay": ["62"]}
GERMAN_GS1 = range(400, 441)
OTHER_GS1 = [*range(0, 140), *range(300, 380), *range(450, 500), *range(500, 510), *range(690, 700),
             *range(760, 770), *range(800, 840), *range(870, 880), *range(930, 940)]
IBAN_LENGTHS = {"DE": 22, "GB": 22, "FR": 27, "NL": 18, "ES": 24, "IT": 27, "CH": 21, "AT": 20, "BE": 16}


def luhn_complete(payload: str) -> str:
    total = 0
    for position, char in enumerate(reversed(payload)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return payload + str((10 - total % 10) % 10)


def gs1_complete(payload: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(payload)))
    return payload + str((10 - total % 10) % 10)


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def pan(rng: random.Random) -> str:
    brand = rng.choice(sorted(PREFIXES))
    prefix = rng.choice(PREFIXES[brand])
    length = 15 if brand == "amex" else 16
    return luhn_complete(prefix + digits(rng, length - 1 - len(prefix)))


def grouped(number: str, sep: str) -> str:
    sizes = [4, 6, 5] if len(number) == 15 else [4, 4, 4, 4]
    parts, at = [], 0
    for size in sizes:
        parts.append(number[at : at + size])
        at += size
    return sep.join(parts)


# --- recall corpora: each returns tool arguments holding one card number ---------------------------------------


def separated(sep: str) -> Callable[[random.Random], dict[str, Any]]:
    return lambda rng: {"address_line2": f"Ref {grouped(pan(rng), sep)}"}


def split_3_13(rng: random.Random) -> dict[str, Any]:
    number = pan(rng)
    if len(number) != 16:
        number = luhn_complete("4" + digits(rng, 14))
    head, rest = number[:3], number[3:]
    rest = rng.choice([rest, f"{rest[:1]} {rest[1:5]} {rest[5:9]} {rest[9:]}", f"{rest[:5]}-{rest[5:]}"])
    street = rng.choice(["Main St", "Hauptstr.", "Rue de la Paix", "Elm Avenue"])
    return {"address_line1": f"{rng.randint(1, 99)} {street} {head}", "address_line2": f"{rest} Rear"}


def chinese(rng: random.Random) -> dict[str, Any]:
    written = "".join(CJK[int(d)] for d in pan(rng))
    if rng.random() < 0.5:
        written = " ".join(written[i : i + 4] for i in range(0, len(written), 4))
    return {"note": f"卡号 {written}"}


# --- false-positive corpora: tool arguments that hold no card ----------------------------------------------------


def ean13(prefixes: Any) -> Callable[[random.Random], dict[str, Any]]:
    def make(rng: random.Random) -> dict[str, Any]:
        code = gs1_complete(f"{rng.choice(prefixes):03d}" + digits(rng, 9))
        shown = rng.choice([code, f"{code[0]} {code[1:7]} {code[7:]}"])
        return {"note": f"EAN {shown}"}
    return make


def upc_a(rng: random.Random) -> dict[str, Any]:
    code = gs1_complete(digits(rng, 11))
    shown = rng.choice([code, f"{code[0]} {code[1:6]} {code[6:11]} {code[11]}"])
    return {"note": f"UPC {shown}, qty {rng.randint(1, 9)}"}


def usps(rng: random.Random) -> dict[str, Any]:
    length = rng.choice([22, 22, 20])
    code = gs1_complete(rng.choice(["9400", "9205", "9361", "9300", "9270"]) + digits(rng, length - 5))
    shown = rng.choice([code, " ".join(code[i : i + 4] for i in range(0, len(code), 4))])
    return {"note": f"Tracking {shown}"}


def iban(rng: random.Random) -> dict[str, Any]:
    country = rng.choice(sorted(IBAN_LENGTHS))
    bban = digits(rng, IBAN_LENGTHS[country] - 4)
    numeric = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    code = f"{country}{98 - numeric % 97:02d}{bban}"
    return {"note": "IBAN " + " ".join(code[i : i + 4] for i in range(0, len(code), 4))}


def phone(rng: random.Random) -> dict[str, Any]:
    country, size = rng.choice([("1", 10), ("44", 10), ("49", 11), ("33", 9), ("86", 11), ("91", 10)])
    national = digits(rng, size)
    shown = rng.choice([f"+{country}{national}", f"+{country} {national[:3]} {national[3:6]} {national[6:]}"])
    return {"phone": shown}


def order_id(rng: random.Random) -> dict[str, Any]:
    letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(3))
    shown = rng.choice([f"{letters}-{digits(rng, 8)}-{digits(rng, 8)}", f"{letters}{digits(rng, 6)}{letters}{digits(rng, 10)}",
                        f"ORD-{digits(rng, 4)}-{letters}-{digits(rng, 12)}"])
    return {"order": shown}


def random_16(rng: random.Random) -> dict[str, Any]:
    return {"note": f"order {digits(rng, 16)}"}


RECALL: dict[str, Callable[[random.Random], dict[str, Any]]] = {
    **{f"4-4-4-4, {name} {sep!r}": separated(sep) for name, sep in SEPARATORS.items()},
    "3 + 13 over two address lines": split_3_13,
    "Chinese numerals": chinese,
}
FALSE_POSITIVE: dict[str, Callable[[random.Random], dict[str, Any]]] = {
    "EAN-13, German prefixes 400-440": ean13(GERMAN_GS1),
    "EAN-13, other GS1 prefixes": ean13(OTHER_GS1),
    "UPC-A": upc_a,
    "USPS tracking numbers (IMpb 22, 20 digits)": usps,
    "IBANs (grouped in fours)": iban,
    "E.164 phone numbers": phone,
    "order ids with letters": order_id,
    "random 16-digit order numbers (inherent)": random_16,
}


def refused(args: dict[str, Any]) -> bool:
    return any(f.kind == "card_number" for f in scan_arguments(args))


def rate(name: str, make: Callable[[random.Random], dict[str, Any]], seed: int, samples: int) -> float:
    rng = random.Random(f"{seed}:{name}")
    return 100 * sum(refused(make(rng)) for _ in range(samples)) / samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=300, help="per corpus and split")
    parser.add_argument("--seed", type=int, default=19)
    options = parser.parse_args()
    seeds = {"dev": options.seed, "held-out": options.seed + 1}
    for title, corpora in (("recall (share refused)", RECALL), ("false positives (share refused)", FALSE_POSITIVE)):
        print(f"\n| {title} | " + " | ".join(seeds) + " |")
        print("|---|" + "---:|" * len(seeds))
        for name, make in corpora.items():
            figures = [f"{rate(name, make, seed, options.samples):.1f} %" for seed in seeds.values()]
            print(f"| {name} | " + " | ".join(figures) + " |")


if __name__ == "__main__":
    main()
