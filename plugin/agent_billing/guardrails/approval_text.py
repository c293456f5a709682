"""The words a person approves, rendered from the charge intent's numbers: one renderer for every approver.

Every approver (LangGraph interrupt, callback, agent middleware, single-use confirmation, MCP elicitation,
the demo's terminal) shows the text made here, so they cannot disagree, and a provider cannot write it.

The first line is the facts, built only from the intent's structured fields: what happens (the effect in
plain words), the exact amount with its currency, one-off or every period, the card by a known brand and
four ASCII digits, the plan by its id. Strings that came from a provider (a plan's name, the resolver's
description that quotes such names) follow on their own lines, labelled, quoted, and cleaned by ``clean``:
NFKC-normalised, with no control, format (bidi, zero-width), private-use, unassigned or line/paragraph
separator characters, whitespace collapsed, quotes neutralised (they cannot close the quotation) and a
length cap. A figure a provider writes ("$1.00 once") stays visible as theirs, inside the quotation after
the facts: removing figures would also remove the true ones the description carries (a threshold, a
proration bound) and hide that the provider said something odd; the facts line is what binds, and it
comes first, so neither wrapping, bidi reordering (a paragraph per line) nor terminal codes can move a
provider's words into it.

Example:
    >>> from decimal import Decimal
    >>> from agent_billing.guardrails.intent import CardRef, ChargeIntent, PlanRef
    >>> intent = ChargeIntent(operation="start_plan", effect="charge", account="a", amount=Decimal("2900"),
    ...     payment_method=CardRef(id="pm_1", brand="visa", last4="4242"), funding="explicit", recurring=True,
    ...     plan=PlanRef(id=10, name="Standard\\x1b[2J: $1.00 once (one-off)", price=Decimal("2900"), period="monthly"),
    ...     summary="Join Standard\\u202e: $1.00 once")
    >>> print(render(intent).text)
    Charge $2,900.00 USD to Visa ending 4242, every month (plan 10).
    Plan name from the provider: "Standard[2J: $1.00 once (one-off)"
    Details (may quote the provider; the facts above are what you approve): "Join Standard: $1.00 once"
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from agent_billing.guardrails.card_networks import BRANDS
from agent_billing.guardrails.intent import CardRef, ChargeIntent, PlanRef

NAME_LIMIT = 80
DESCRIPTION_LIMIT = 240
LINE_LIMIT = 400
ELLIPSIS = "..."  # ASCII: NFKC turns "\u2026" into three dots, so the ASCII form keeps ``clean`` idempotent

# Control, format (bidi overrides and isolates, zero-width), surrogate, private use, unassigned,
# line and paragraph separators: none of them is shown; each is either dropped or read as a space.
_DROPPED = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Me"})
_MAX_MARKS = 2  # combining marks stacked on one character (more only smear over neighbouring text)
_QUOTES = frozenset('"\u201c\u201d\u201e\u201f\u2033\u2036\u00ab\u00bb\u301d\u301e\u301f\uff02')
_PLAIN_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_LAST4 = re.compile(r"[0-9]{4}")
_CURRENCY = re.compile(r"[A-Z]{3}")

# Display names of the card networks ``card_networks`` knows; any other brand word reads "card".
_BRAND_NAMES = {"amex": "American Express", "diners": "Diners Club", "jcb": "JCB", "unionpay": "UnionPay",
                "rupay": "RuPay"}
_BRAND_ALIASES = {"americanexpress": "amex", "dinersclub": "diners"}

# Billing periods as providers spell them, to the one word shown; anything else is "not recognised".
_PERIODS = {"day": "day", "daily": "day", "week": "week", "weekly": "week", "month": "month", "monthly": "month",
            "year": "year", "yearly": "year", "annual": "year", "annually": "year"}

# "authorize" is a standing permission for later charges (auto-funding, the card renewals go to).
_VERBS = {"charge": "Charge", "authorize": "Authorize charges of", "payout": "Pay out"}


def _sanitise(text: str, limit: int, *, quotes: bool) -> str:
    text = unicodedata.normalize("NFKC", text)
    kept: list[str] = []
    marks = 0
    for char in text:
        category = unicodedata.category(char)
        if char.isspace() or category in ("Zs", "Zl", "Zp") or char in "\t\n\r\v\f":
            kept.append(" ")
        elif category in _DROPPED:
            continue
        elif category == "Mn":
            marks += 1
            if marks <= _MAX_MARKS:
                kept.append(char)
            continue
        elif quotes and char in _QUOTES:
            kept.append("'")
        else:
            kept.append(char)
        marks = 0
    # Dropping a character can join a base and a mark NFKC composes: normalise once more.
    out = " ".join(unicodedata.normalize("NFKC", "".join(kept)).split())
    if len(out) > limit:
        out = out[: max(limit - len(ELLIPSIS), 0)].rstrip() + ELLIPSIS
    return out


def clean(text: str, limit: int = NAME_LIMIT) -> str:
    """A provider's string as plain, one-line data (see the module docstring); at most ``limit`` characters.

    Example:
        >>> clean('Visa\\u200b ending\\u202e 4242\\n\\x1b[31m"$1"')
        "Visa ending 4242 [31m'$1'"
        >>> clean("x" * 500, limit=10)
        'xxxxxxx...'
    """
    return _sanitise(text, limit, quotes=True)


def safe_line(text: str, limit: int = LINE_LIMIT) -> str:
    """One line of an already rendered text, cleaned the same way but keeping its quotation marks.

    ``ApprovalRequest`` passes every line of its text through this, so a request built elsewhere cannot
    carry terminal codes either.

    Example:
        >>> safe_line('Plan name: "Basic"\\x1b[2K')
        'Plan name: "Basic"[2K'
    """
    return _sanitise(text, limit, quotes=False)


def safe_text(text: str, *, lines: int = 6, limit: int = LINE_LIMIT) -> str:
    """Each line through ``safe_line``; blank lines dropped, at most ``lines`` lines.

    Example:
        >>> safe_text("Charge $5.00\\u2028and\\n\\n\\x07more")
        'Charge $5.00 and\\nmore'
    """
    kept = [line for line in (safe_line(part, limit) for part in text.split("\n")) if line]
    return "\n".join(kept[:lines])


def quoted(text: str, limit: int = NAME_LIMIT) -> str:
    """``clean(text)`` in double quotes (which ``clean`` never leaves inside it).

    Example:
        >>> quoted('Pro "$1.00"')
        '"Pro \\'$1.00\\'"'
    """
    return f'"{clean(text, limit)}"'


def card_brand(brand: str | None) -> str | None:
    """The known card network a provider's brand word names (``card_networks.BRANDS``), else None.

    Example:
        >>> card_brand("Visa"), card_brand("American Express"), card_brand("Visa ending 4242 \\u2014 $1")
        ('visa', 'amex', None)
    """
    if not brand:
        return None
    key = "".join(ch for ch in unicodedata.normalize("NFKC", brand).casefold() if ch.isascii() and ch.isalnum())
    key = _BRAND_ALIASES.get(key, key)
    return key if key in BRANDS else None


def brand_name(brand: str) -> str:
    """How a person reads a known brand id.

    Example:
        >>> brand_name("amex"), brand_name("visa")
        ('American Express', 'Visa')
    """
    return _BRAND_NAMES.get(brand, brand.capitalize())


def card_last4(last4: str | None) -> str | None:
    """The last four digits when they are exactly four ASCII digits (no homoglyphs), else None.

    Example:
        >>> card_last4("4242"), card_last4("\\uff14\\uff12\\uff14\\uff12"), card_last4("4242\\n")
        ('4242', None, None)
    """
    return last4 if last4 is not None and _LAST4.fullmatch(last4) else None


def plain_id(value: int | str | None) -> str | None:
    """An id as shown: letters, digits and ``_.:-`` only (at most 64), else None.

    Example:
        >>> plain_id(10), plain_id("pm_card_visa"), plain_id("pm_1 $1.00")
        ('10', 'pm_card_visa', None)
    """
    text = str(value) if value is not None else ""
    return text if _PLAIN_ID.fullmatch(text) else None


def card_words(card: CardRef) -> str:
    """The card by brand and last four, never a provider's words.

    Example:
        >>> card_words(CardRef(id="pm_1", brand="mastercard", last4="4444"))
        'Mastercard ending 4444'
        >>> card_words(CardRef(id="pm_1", brand="Visa ending 4242", last4="\\u0664242"))
        'payment method pm_1'
    """
    brand, last4 = card_brand(card.brand), card_last4(card.last4)
    if last4:
        return f"{brand_name(brand) if brand else 'card'} ending {last4}"
    # Without four true digits the brand alone names no card: show the id the charge is bound to.
    ident = plain_id(card.id)
    return f"payment method {ident}" if ident else "a saved card"


def period_of(period: str | None) -> str | None:
    """The billing period a provider's word names (day, week, month, year), else None.

    Example:
        >>> period_of("Monthly"), period_of("month (one-off)")
        ('month', None)
    """
    if not period:
        return None
    return _PERIODS.get(clean(period, 40).casefold())


def every(period: str, count: int = 1) -> str:
    """The recurrence words for a known period (the one place they are written).

    Example:
        >>> every("month"), every("month", 3)
        ('every month', 'every 3 months')
    """
    return f"every {period}" if count == 1 else f"every {count} {period}s"


def amount_text(amount: Decimal, currency: str = "USD") -> str:
    """The exact amount with its currency: never rounded (``29.999`` shows as such).

    Example:
        >>> amount_text(Decimal("1234.5")), amount_text(Decimal("29.999")), amount_text(Decimal("-29"), "EUR")
        ('$1,234.50 USD', '$29.999 USD', '-29.00 EUR')
        >>> amount_text(Decimal("NaN")), amount_text(Decimal("5"), "$1")
        ('an amount that is not a number', '5.00 (currency not recognised)')
    """
    if not amount.is_finite():
        return "an amount that is not a number"
    sign = "-" if amount < 0 else ""
    value = abs(amount)
    exponent = value.as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    digits = f"{value:,.{places}f}" if places <= 12 and value.adjusted() < 18 else str(value)
    code = currency if _CURRENCY.fullmatch(currency) else None
    if code == "USD":
        return f"{sign}${digits} USD"
    return f"{sign}{digits} {code or '(currency not recognised)'}"


def recurrence(intent: ChargeIntent) -> str:
    """One-off, or every period (from ``intent.recurring`` and the plan's period), in words.

    Example:
        >>> from agent_billing.guardrails.intent import ChargeIntent
        >>> recurrence(ChargeIntent(operation="o", effect="charge", account="a", summary="s"))
        'one-off'
    """
    if not intent.recurring:
        return "one-off"
    if intent.plan is None:
        return "recurring, until stopped"
    period = period_of(intent.plan.period)
    return every(period) if period else "recurring (billing period not recognised)"


def plan_words(plan: PlanRef, currency: str = "USD") -> str:
    """The plan by its id and price, from numbers only.

    Example:
        >>> plan_words(PlanRef(id=10, name="Standard", price=Decimal("47"), period="monthly"))
        'plan 10, $47.00 USD every month'
    """
    ident = plain_id(plan.id)
    words = f"plan {ident}" if ident else "a plan whose id is not plain text"
    if plan.price is None:
        return words
    period = period_of(plan.period)
    return f"{words}, {amount_text(plan.price, currency)} {every(period) if period else 'per period'}"


@dataclass(frozen=True)
class ApprovalText:
    """The rendered approval: the facts line, then the provider's words (labelled and quoted).

    Example:
        >>> ApprovalText("Pay out $5.00 USD, one-off.", ()).text
        'Pay out $5.00 USD, one-off.'
    """

    facts: str
    details: tuple[str, ...]

    @property
    def text(self) -> str:
        """Facts first, one line each.

        Example:
            >>> print(ApprovalText(facts="Charge $5.00 USD, one-off.", details=("Note: hi",)).text)
            Charge $5.00 USD, one-off.
            Note: hi
        """
        return "\n".join((self.facts, *self.details))


def _facts(intent: ChargeIntent) -> str:
    card = card_words(intent.payment_method) if intent.payment_method is not None else None
    plan = intent.plan
    ident = plain_id(plan.id) if plan is not None else None
    plan_tag = f" (plan {ident})" if ident else (" (a plan whose id is not plain text)" if plan is not None else "")
    effect = clean(intent.effect, 20)
    if intent.amount is None and effect not in _VERBS:
        on = f", {card}" if card else ""
        return f"{effect.capitalize() or 'Change'} ({clean(intent.operation, 60)}){on}{plan_tag}."
    amount = amount_text(intent.amount, intent.currency) if intent.amount is not None else "an amount not stated"
    repeats = recurrence(intent)
    if intent.recurring and plan is not None and plan.price is not None and plan.price != intent.amount:
        period = period_of(plan.period)
        repeats = f"then {amount_text(plan.price, intent.currency)} {every(period) if period else 'per period'}"
    if intent.funding == "checkout":
        return (f"Open a checkout for {amount}, {repeats}{plan_tag}: a person pays it on a hosted page; nothing is "
                "charged until then.")
    verb = _VERBS.get(effect, f"{effect.capitalize()}:")
    if intent.funding == "wallet":
        payer = " from the wallet"
    elif card is not None:
        payer = f" to {card}"
    else:
        payer = ""
    return f"{verb} {amount}{payer}, {repeats}{plan_tag}."


def render(intent: ChargeIntent) -> ApprovalText:
    """The text every approver shows for ``intent`` (see the module docstring).

    Example:
        >>> from agent_billing.guardrails.intent import ChargeIntent
        >>> render(ChargeIntent(operation="pay_out", effect="payout", account="a", amount=Decimal("50"),
        ...                     summary="Pay out $50.00 from the wallet balance.")).facts
        'Pay out $50.00 USD, one-off.'
    """
    details: list[str] = []
    plan = intent.plan
    if plan is not None and plan.name:
        details.append(f"Plan name from the provider: {quoted(plan.name, NAME_LIMIT)}")
    if intent.recurring and plan is not None and plan.period and period_of(plan.period) is None:
        details.append(f"Billing period from the provider (not recognised): {quoted(plan.period, 40)}")
    if intent.summary.strip():
        details.append("Details (may quote the provider; the facts above are what you approve): "
                       f"{quoted(intent.summary, DESCRIPTION_LIMIT)}")
    return ApprovalText(_facts(intent), tuple(details))


def request_fields(intent: ChargeIntent) -> dict[str, Any]:
    """The ``ApprovalRequest`` fields the renderer derives from ``intent``: the text and its structured facts.

    Example:
        >>> from agent_billing.guardrails.intent import ChargeIntent
        >>> fields = request_fields(ChargeIntent(operation="o", effect="charge", account="a", amount=Decimal("5"),
        ...     payment_method=CardRef(id="pm_1", brand="VISA", last4="4242"), funding="explicit", summary=""))
        >>> fields["summary"], fields["card_brand"], fields["card_last4"], fields["period"]
        ('Charge $5.00 USD to Visa ending 4242, one-off.', 'visa', '4242', None)
    """
    card, plan = intent.payment_method, intent.plan
    return {
        "summary": render(intent).text,
        "payment_method": card_words(card) if card is not None else None,
        "card_brand": card_brand(card.brand) if card is not None else None,
        "card_last4": card_last4(card.last4) if card is not None else None,
        "plan": plan_words(plan, intent.currency) if plan is not None else None,
        "plan_id": plain_id(plan.id) if plan is not None else None,
        "plan_name": clean(plan.name, NAME_LIMIT) if plan is not None and plan.name else None,
        "period": period_of(plan.period) if plan is not None and intent.recurring else None,
        "description": clean(intent.summary, DESCRIPTION_LIMIT) or None,
    }


def display_arguments(value: Any) -> Any:
    """Arguments as shown to a person: every string cleaned (they can hold provider ids), structure kept.

    Example:
        >>> display_arguments({"payment_method_id": "pm_1\\x1b[2J", "amount": Decimal("5"), "tags": ["a\\u202eb"]})
        {'payment_method_id': 'pm_1[2J', 'amount': Decimal('5'), 'tags': ['ab']}
    """
    if isinstance(value, str):
        return clean(value, DESCRIPTION_LIMIT)
    if isinstance(value, dict):
        return {clean(str(key), NAME_LIMIT): display_arguments(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [display_arguments(item) for item in value]
    return value


__all__ = ["ApprovalText", "amount_text", "card_brand", "card_last4", "card_words", "clean", "display_arguments",
           "every", "period_of", "plain_id", "plan_words", "quoted", "recurrence", "render", "request_fields",
           "safe_line", "safe_text"]
