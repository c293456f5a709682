"""Spending mandates: the deployer's policy of what an agent may do with money, checked before any approval.

A mandate answers one question per tool call, purely (no I/O, no clock): is this call *inside* the
policy (it may go ahead, and may be auto-approved if the deployer said so), *outside* it (over a cap,
a plan not allowed, expired), or *forbidden* (an operation the mandate does not allow, or any change
under a read-only mandate). The limits are hard: the toolkit refuses a call outside the mandate even
when a person would say yes, unless the deployer chose ``beyond="ask"``, which lets a person approve
a call outside the limits (never a forbidden one).

A standing authorisation (an ``authorize`` effect: automatic recharges, a new default card that carries the
renewals) charges later without anyone asked, so a mandate approves it alone only when its worst case
fits: each charge within ``max_per_charge`` and everything it can charge in any 24 hours
(``worst_24h``) within ``max_per_24h``. Without a 24 h cap, or with no bound on the worst case, it is
asked (the verdict is ``inside`` with ``auto`` False), never auto-approved.

The rolling 24 h total comes from a :class:`~agent_billing.guardrails.spend_store.SpendStore`; the
mandate only compares it with its caps. Reserving the amount atomically is the store's job, so two
parallel calls cannot both squeeze under the cap.

Example:
    >>> from datetime import datetime, timezone
    >>> from decimal import Decimal
    >>> from agent_billing.registry import Effect
    >>> m = Mandate(max_per_charge="50", max_per_24h="100", auto_approve=True)
    >>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> m.evaluate(operation="top_up", effect=Effect.CHARGE, amount=Decimal("25"),
    ...            spent_24h=Decimal("80"), now=now).verdict
    'outside'
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from agent_billing.money import format_usd, to_decimal, wire_amount
from agent_billing.registry import Effect

if TYPE_CHECKING:
    from agent_billing.guardrails.authority import Judgement

Verdict = Literal["inside", "outside", "forbidden"]


def format_money(amount: Decimal, currency: str = "USD") -> str:
    """An amount for people and prompts: ``$1,234.50`` in dollars, ``1,234.50 EUR`` otherwise.

    Example:
        >>> format_money(Decimal("7.5")), format_money(Decimal("7.5"), "EUR")
        ('$7.50', '7.50 EUR')
    """
    if currency == "USD":
        return format_usd(amount)
    return f"{wire_amount(amount):,} {currency}"


def _cap(value: Any) -> Any:
    # Caps go through the same parser as tool arguments: no floats, no fractions of a cent.
    if value is None:
        return None
    amount = to_decimal(value)
    if amount <= 0:
        raise ValueError("a spending cap must be positive (leave it unset for no cap)")
    return wire_amount(amount)


def _plan_ids(value: Any) -> Any:
    # pydantic would read True as plan 1; a policy typo must not allow a real plan.
    if value is None or isinstance(value, (str, bytes)):
        return value
    items = list(value)
    if any(isinstance(item, bool) for item in items):
        raise ValueError("plan ids are integers or plan names, not true/false")
    # "10" from a config file means plan 10, not a plan named "10".
    return [int(item) if isinstance(item, str) and item.strip().isdigit() else item for item in items]


Cap = Annotated[Decimal | None, BeforeValidator(_cap)]
# Plan ids are integers for some providers (ModelsLab) and names for others (Wallgent's "STARTER").
PlanIds = Annotated[frozenset[Annotated[int, Field(ge=1)] | Annotated[str, Field(min_length=1, max_length=64)]] | None,
                    BeforeValidator(_plan_ids)]
# An expiry given in any zone, kept in UTC (so it compares and prints the same on every worker).
UtcExpiry = Annotated[AwareDatetime | None, AfterValidator(lambda value: value.astimezone(timezone.utc) if value else value)]
# A currency as ISO 4217 letters, whatever case or spaces the configuration wrote it in.
CurrencyCode = Annotated[str, BeforeValidator(lambda value: value.strip().upper() if isinstance(value, str) else value),
                         Field(pattern=r"^[A-Z]{3}$")]


_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "head": "Mandate {name}: ", "semi": "; ", "comma": ", ", "end": ".", "list": ", ",
        "read_only": "read-only (balances, lists and statuses; nothing that changes the account or moves money)",
        "per_charge": "up to {} per charge", "no_per_charge": "no per-charge limit",
        "per_day": "{} per 24 h", "no_per_day": "no 24 h limit",
        "until": "until {}", "no_expiry": "no expiry",
        "auto": "auto-approved inside these limits", "human": "a human approves each charge",
        "beyond_refuse": "nothing beyond these limits, even with a human's yes",
        "beyond_ask": "beyond these limits only with a human's yes",
        "any_op": "any operation", "no_op": "no operation allowed", "only": "only ",
        "any_plan": "any plan", "no_plan": "no plan", "plans": "plans ",
    },
    "zh": {
        "head": "支出授权 {name}：", "semi": "；", "comma": "，", "end": "。", "list": "、",
        "read_only": "只读（余额、列表与状态；不做任何更改账户或动用资金的操作）",
        "per_charge": "每笔最多 {}", "no_per_charge": "每笔不限额",
        "per_day": "24 小时内最多 {}", "no_per_day": "24 小时内不限额",
        "until": "有效期至 {}", "no_expiry": "无到期时间",
        "auto": "限额内自动批准", "human": "每笔扣款都需人工批准",
        "beyond_refuse": "超出限额一律拒绝，即使有人批准", "beyond_ask": "超出限额须经人工批准",
        "any_op": "任何操作", "no_op": "不允许任何操作", "only": "仅限 ",
        "any_plan": "任何套餐", "no_plan": "不允许任何套餐", "plans": "仅限套餐 ",
    },
}


class MandateDecision(BaseModel):
    """The outcome of :meth:`Mandate.evaluate`.

    ``forbidden``: never (no escalation). ``outside``: only with a human's approval. ``inside``: may go
    ahead (auto-approved if the mandate allows). ``reasons`` are short sentences to show the agent and the
    approver; empty when inside.

    Example:
        >>> MandateDecision(verdict="inside").reasons
        ()
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    verdict: Verdict
    reasons: tuple[str, ...] = ()
    auto: bool = Field(True, description="False: inside, but a person must approve (an unbounded authorisation)")
    note: str | None = Field(None, description="why a person must approve although it is inside")

    authorities: tuple[str, ...] = Field((), description="the spend authorities that cover it (their ids)")

    @classmethod
    def with_authorities(cls, decision: MandateDecision | None, judged: Judgement) -> MandateDecision:
        """``decision`` (the mandate's, None: no mandate) with what the spend authorities said: outside any of them
        (or none covering) is forbidden (their limits are hard); inside, it is auto-approved only if all agree.

        Example:
            >>> from agent_billing.guardrails.authority import Judgement
            >>> MandateDecision.with_authorities(None, Judgement(covered=True, auto=True)).verdict
            'inside'
            >>> MandateDecision.with_authorities(None, Judgement(covered=False, reasons=("none",))).reasons
            ('none',)
        """
        if judged.reasons:
            earlier = decision.reasons if decision is not None else ()
            return cls(verdict="forbidden", reasons=(*earlier, *judged.reasons))
        ids = tuple(status.authority.id for status in judged.statuses)
        note = None if judged.auto else "a spend authority that covers it asks a person for each charge"
        if decision is None:
            return cls(verdict="inside", auto=judged.auto, note=note, authorities=ids)
        return decision.model_copy(update={"auto": decision.auto and judged.auto, "note": decision.note or note,
                                           "authorities": ids})

    @property
    def inside(self) -> bool:
        """True when the call is inside the mandate.

        Example:
            >>> MandateDecision(verdict="inside").inside, MandateDecision(verdict="outside").inside
            (True, False)
        """
        return self.verdict == "inside"

    @property
    def message(self) -> str:
        """The reasons as one sentence-per-line text (empty when inside).

        Example:
            >>> print(MandateDecision(verdict="outside", reasons=("Over the cap.", "Expired.")).message)
            Over the cap.
            Expired.
        """
        return "\n".join(self.reasons)


class Mandate(BaseModel):
    """A deployer-defined spending policy.

    ``None`` means "no limit of this kind" for every optional field; an empty ``allowed_operations`` or
    ``allowed_plan_ids`` allows none. Caps apply to the effects that move money (charge, authorize,
    payout) and are in ``currency``. ``expires_at`` must be timezone-aware. ``auto_approve`` lets a call
    that is inside the mandate go ahead without a human; without it, a human still approves each one.
    ``beyond`` says what happens outside the limits: ``"refuse"`` (the default: hard limits, a person's yes
    does not lift them) or ``"ask"`` (a person may approve a call beyond them).

    Example:
        >>> from datetime import datetime, timezone
        >>> m = Mandate(max_per_charge="50", max_per_24h=100, allowed_plan_ids=[10, 42],
        ...             expires_at=datetime(2026, 12, 1, tzinfo=timezone.utc))
        >>> print(m.describe())  # doctest: +NORMALIZE_WHITESPACE
        Mandate 'default': any operation; up to $50.00 per charge, $100.00 per 24 h, plans 10 and 42,
        until 2026-12-01 UTC; a human approves each charge; nothing beyond these limits, even with a human's yes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field("default", min_length=1, max_length=100, pattern=r"^[\w.:@-]+$")
    allowed_operations: frozenset[Annotated[str, Field(min_length=1)]] | None = None
    read_only: bool = False
    max_per_charge: Cap = None
    max_per_24h: Cap = None
    allowed_plan_ids: PlanIds = None
    expires_at: UtcExpiry = None
    auto_approve: bool = False
    beyond: Literal["refuse", "ask"] = "refuse"
    currency: CurrencyCode = "USD"

    @classmethod
    def read_only_policy(cls, name: str = "default") -> Mandate:
        """A mandate that allows reading only: no writes, no charges, nothing destructive.

        Example:
            >>> print(Mandate.read_only_policy().describe())  # doctest: +NORMALIZE_WHITESPACE
            Mandate 'default': read-only (balances, lists and statuses; nothing that changes the account
            or moves money).
        """
        return cls(name=name, read_only=True)

    @property
    def has_caps(self) -> bool:
        """True when a per-charge or a 24 h cap is set.

        Example:
            >>> Mandate().has_caps, Mandate(max_per_24h="100").has_caps
            (False, True)
        """
        return self.max_per_charge is not None or self.max_per_24h is not None

    def may_auto_approve(self, decision: MandateDecision) -> bool:
        """Whether a call with this decision may go ahead without a human (inside, and auto-approve on).

        Example:
            >>> Mandate(auto_approve=True).may_auto_approve(MandateDecision(verdict="inside"))
            True
            >>> Mandate(auto_approve=True).may_auto_approve(MandateDecision(verdict="inside", auto=False))
            False
        """
        return self.auto_approve and decision.verdict == "inside" and decision.auto

    def _money(self, amount: Decimal) -> str:
        return format_money(amount, self.currency)

    def describe(self, language: Literal["en", "zh"] = "en") -> str:
        """A one-line summary for people and for the agent's prompt, in English or Simplified Chinese.

        Example:
            >>> print(Mandate(max_per_charge="20", auto_approve=True).describe())  # doctest: +NORMALIZE_WHITESPACE
            Mandate 'default': any operation; up to $20.00 per charge, no 24 h limit, any plan, no expiry;
            auto-approved inside these limits; nothing beyond these limits, even with a human's yes.
            >>> for part in Mandate(max_per_charge="20", allowed_plan_ids={10, 42}, beyond="ask").describe("zh").split("；"):
            ...     print(part)
            支出授权 'default'：任何操作
            每笔最多 $20.00，24 小时内不限额，仅限套餐 10、42，无到期时间
            每笔扣款都需人工批准
            超出限额须经人工批准。
        """
        t = _TEXT[language]
        head = t["head"].format(name=repr(self.name))
        ops = self._describe_operations(t)
        if self.read_only:
            return head + t["read_only"] + (f"{t['semi']}{ops}{t['end']}" if self.allowed_operations is not None
                                            else t["end"])
        limits = [
            t["per_charge"].format(self._money(self.max_per_charge)) if self.max_per_charge else t["no_per_charge"],
            t["per_day"].format(self._money(self.max_per_24h)) if self.max_per_24h else t["no_per_day"],
            self._describe_plans(t),
            t["until"].format(_format_time(self.expires_at)) if self.expires_at else t["no_expiry"],
        ]
        approval = t["auto"] if self.auto_approve else t["human"]
        beyond = t["beyond_ask"] if self.beyond == "ask" else t["beyond_refuse"]
        return f"{head}{ops}{t['semi']}{t['comma'].join(limits)}{t['semi']}{approval}{t['semi']}{beyond}{t['end']}"

    def _describe_operations(self, t: dict[str, str]) -> str:  # t: one language of _TEXT
        if self.allowed_operations is None:
            return t["any_op"]
        if not self.allowed_operations:
            return t["no_op"]
        return t["only"] + t["list"].join(sorted(self.allowed_operations))

    def _describe_plans(self, t: dict[str, str]) -> str:
        if self.allowed_plan_ids is None:
            return t["any_plan"]
        if not self.allowed_plan_ids:
            return t["no_plan"]
        ids = sorted(str(i) for i in self.allowed_plan_ids)
        if t is _TEXT["zh"]:
            return t["plans"] + t["list"].join(ids)
        return ("plan " if len(ids) == 1 else "plans ") + _join_and(ids)

    def evaluate(
        self,
        *,
        operation: str,
        effect: Effect,
        amount: Decimal | None,
        spent_24h: Decimal,
        now: datetime,
        plan: int | str | None = None,
        currency: str | None = None,
        worst_24h: Decimal | None = None,
    ) -> MandateDecision:
        """Decide whether one call is inside, outside or forbidden by this mandate (pure).

        ``amount`` is what the call moves (``None`` if unknown, e.g. a plan whose price the arguments do
        not say); ``spent_24h`` is what already counts in the rolling window (reserved and confirmed,
        *excluding* this call); ``currency`` is the amount's currency when the caller knows it. For an
        ``authorize`` effect, ``amount`` is its largest single charge and ``worst_24h`` the most it can
        charge in any 24 hours (None: no bound); ``plan`` the plan it buys (what ``allowed_plan_ids`` lists;
        None: none). Every applicable reason is listed, not just the first, so an approver sees the whole
        picture.

        Example:
            >>> from datetime import datetime, timezone
            >>> d = Mandate(read_only=True).evaluate(operation="top_up", effect=Effect.CHARGE,
            ...     amount=Decimal("10"), spent_24h=Decimal(0),
            ...     now=datetime(2026, 1, 1, tzinfo=timezone.utc))
            >>> d.verdict, d.reasons
            ('forbidden', ("Mandate 'default' is read-only; top_up is a charge.",))
        """
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        if amount is not None and amount < 0:
            raise ValueError("amount must not be negative")
        if spent_24h < 0:
            raise ValueError("spent_24h must not be negative")
        effect = Effect(effect)

        forbidden: list[str] = []
        if self.allowed_operations is not None and operation not in self.allowed_operations:
            forbidden.append(f"Mandate {self.name!r} does not allow {operation}.")
        if self.read_only and effect is not Effect.READ:
            forbidden.append(f"Mandate {self.name!r} is read-only; {operation} is {_article(effect)}.")
        if forbidden:
            return MandateDecision(verdict="forbidden", reasons=tuple(forbidden))
        # Reads and writes neither move money nor need approval, so limits and expiry don't concern them.
        if effect in (Effect.READ, Effect.WRITE):
            return MandateDecision(verdict="inside")

        outside: list[str] = []
        if self.expires_at is not None and now >= self.expires_at:
            outside.append(f"Mandate {self.name!r} expired at {_format_time(self.expires_at)}.")
        if plan is not None and self.allowed_plan_ids is not None and plan not in self.allowed_plan_ids:
            outside.append(f"Plan {plan} is not among the allowed plans ({self._describe_plans(_TEXT['en'])}).")
        if effect.moves_money:
            outside.extend(self._money_reasons(operation, effect, amount, spent_24h, currency, worst_24h))
        if outside:
            return MandateDecision(verdict="outside", reasons=tuple(outside))
        if effect is Effect.AUTHORIZE and (self.max_per_24h is None or worst_24h is None):
            return MandateDecision(verdict="inside", auto=False, note=self._unbounded(operation, worst_24h))
        return MandateDecision(verdict="inside")

    def _unbounded(self, operation: str, worst_24h: Decimal | None) -> str:
        if worst_24h is None:
            return (f"{operation} authorizes future automatic charges with no limit on how many in 24 h, so "
                    f"mandate {self.name!r} cannot approve it alone; a person must.")
        return (f"{operation} authorizes future automatic charges (up to {self._money(worst_24h)} in 24 h) and "
                f"mandate {self.name!r} has no 24 h limit to bound them; a person must approve.")

    def _money_reasons(
        self, operation: str, effect: Effect, amount: Decimal | None, spent_24h: Decimal, currency: str | None,
        worst_24h: Decimal | None = None,
    ) -> list[str]:
        if not self.has_caps:
            return []
        if currency is not None and currency.upper() != self.currency:
            return [f"{operation} is in {currency.upper()} but this mandate's limits are in {self.currency}."]
        if amount is None:
            # Fail closed: a cap we cannot check is a cap we cannot honour.
            return [f"The amount {operation} will charge is not known, so the mandate's limits cannot be checked."]
        reasons: list[str] = []
        if self.max_per_charge is not None and amount > self.max_per_charge:
            reasons.append(
                f"{self._money(amount)} is above the per-charge limit of {self._money(self.max_per_charge)}."
            )
        if self.max_per_24h is not None:
            # An authorisation counts everything it can charge in 24 h (its worst case), a charge its amount.
            counted = max(amount, worst_24h) if effect is Effect.AUTHORIZE and worst_24h is not None else amount
            if spent_24h + counted > self.max_per_24h:
                reasons.append(
                    f"{self._money(counted)} on top of {self._money(spent_24h)} already spent in the last 24 h "
                    f"is above the 24 h limit of {self._money(self.max_per_24h)}."
                )
            if effect is Effect.AUTHORIZE and worst_24h is None:
                # Auto-funding recharges later, server-side and without us, as often as usage drains the wallet.
                reasons.append(
                    f"{operation} authorizes future automatic charges, which the 24 h limit of "
                    f"{self._money(self.max_per_24h)} cannot bound."
                )
        return reasons


def _article(effect: Effect) -> str:
    word = {
        Effect.WRITE: "change to the account",
        Effect.CHARGE: "charge",
        Effect.AUTHORIZE: "authorization of future charges",
        Effect.PAYOUT: "payout",
        Effect.DESTRUCTIVE: "destructive change",
    }.get(effect, effect.value)
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def _format_time(value: datetime) -> str:
    value = value.astimezone(timezone.utc)
    if value.hour == value.minute == value.second == value.microsecond == 0:
        return f"{value:%Y-%m-%d} UTC"
    if value.second == value.microsecond == 0:
        return f"{value:%Y-%m-%d %H:%M} UTC"
    return f"{value:%Y-%m-%d %H:%M:%S} UTC"


def _join_and(items: Iterable[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"
