"""The payment-path advisor: given the facts, which of the three paths, and the exact next calls.

The decision procedure is data (``RULES``), checked in order; the first that matches decides. It names
no provider and no operation: what a path means in calls (the tools, actions and arguments in order,
and the purposes a provider supports) is the provider's :class:`PaymentPaths` declaration, which its
registry holds as ``Registry.advisor``. The system prompts render the same rules (with the provider's
paths in calls) as their decision procedure, so the prompt and the tool cannot disagree.

Example:
    >>> class Demo(Facts):
    ...     purpose: Literal["pay"] = "pay"
    >>> demo = PaymentPaths(situation=Demo, charge=lambda s, pm: [Call("pay", "charge", {"card": pm})],
    ...                     hosted=lambda s: [Call("pay", "link"), relay(s.channel, "url")])
    >>> advise(Demo(saved_default_card=True), demo).steps
    ['pay(action="charge", card=None)']
    >>> advise(Demo(card_requires_3ds=True), demo).path
    'human_assisted'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

Path = Literal["headless", "setup_intent", "human_assisted", "cannot_pay"]
Channel = Literal["chat", "voice", "email", "none"]
# How a rule's path is carried out; the provider's declaration says what each means in calls.
Way = Literal["balance", "trusted_card", "saved_card", "save_card", "hosted", "stop"]
ASKS_FIRST = "(asks a person or a mandate first)"
TOOL_DESCRIPTION = "The payment path (headless, setup intent, human-assisted) and next calls for these facts."


class Facts(BaseModel):
    """The provider-neutral facts that decide the path; a provider's situation model adds its purposes.

    Example:
        >>> Facts().human_present, Facts(channel="voice").channel
        (True, 'voice')
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    trusted_payment_method_id: str | None = Field(None, description="from trusted code")
    saved_default_card: bool = False
    human_present: bool = Field(True, description="a person can pay")
    channel: Channel = "chat"
    wants_to_save_card: bool = False
    card_requires_3ds: bool = Field(False, description="last charge needs 3-D Secure")
    card_declined: bool = Field(False, description="last charge declined")


@dataclass(frozen=True)
class Ref:
    """An argument the agent takes from an earlier answer; shown as ``<what>``.

    Example:
        >>> str(Ref("page_url"))
        '<page_url>'
    """

    what: str

    def __str__(self) -> str:
        return f"<{self.what}>"


@dataclass(frozen=True)
class Call:
    """One tool call of a path: the tool, its action, the arguments, and what to do with it.

    Example:
        >>> Call("wallet", "fund", {"amount": Decimal("25"), "payment_method_id": Ref("pm_ id")}, ASKS_FIRST).render()
        'wallet(action="fund", amount=25, payment_method_id=<pm_ id>) (asks a person or a mandate first)'
    """

    tool: str
    action: str
    args: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""

    def render(self) -> str:
        """The call as the prompts write it (strings quoted, amounts plain, references in angle brackets)."""
        parts = [f'action="{self.action}"'] + [f"{k}={_value(v)}" for k, v in self.args.items()]
        text = f"{self.tool}({', '.join(parts)})"
        return f"{text} {self.note}" if self.note else text


def _value(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


Step = Call | str
S = TypeVar("S", bound=Facts)


@dataclass(frozen=True)
class PaymentPaths(Generic[S]):
    """A provider's payment paths in calls, declared in its package and held by its registry.

    ``situation``: the advisor tool's argument model (:class:`Facts` plus the provider's purposes and
    their targets). ``charge(s, pm)``: the headless charge with a ``pm_`` id (trusted code, or the card
    a setup intent saved) or, with ``None``, the saved default card. ``hosted(s)``: the human-assisted
    handoff. ``save_card(s)``: the setup-intent path through to the charge (None: the provider has
    none). ``balance(s)``: a headless payment from the account's own balance, no card involved, or None
    when the balance cannot pay this one. ``in_calls``: the paths in calls for the prompts, one line a
    path, by language.

    Example:
        >>> PaymentPaths(situation=Facts, charge=lambda s, pm: [], hosted=lambda s: []).save_card is None
        True
    """

    situation: type[S]
    charge: Callable[[S, str | Ref | None], list[Step]]
    hosted: Callable[[S], list[Step]]
    save_card: Callable[[S], list[Step]] | None = None
    balance: Callable[[S], list[Step] | None] | None = None
    in_calls: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def offers(self, way: Way) -> bool:
        """Whether the provider has this way of paying at all (a rule needing it is left out).

        Example:
            >>> PaymentPaths(situation=Facts, charge=lambda s, pm: [], hosted=lambda s: []).offers("balance")
            False
        """
        return {"balance": self.balance, "save_card": self.save_card}.get(way, True) is not None

    def steps(self, way: Way, situation: S) -> list[Step] | None:
        """The steps of ``way`` for ``situation`` (None: not possible here, so the next rule decides)."""
        if way == "balance":
            return self.balance(situation) if self.balance else None
        if way == "save_card":
            return self.save_card(situation) if self.save_card else None
        if way == "hosted":
            return self.hosted(situation)
        if way == "trusted_card":
            return self.charge(situation, situation.trusted_payment_method_id)
        return self.charge(situation, None)


def relay(channel: Channel, url_field: str) -> str:
    """How to hand the hosted page's URL (the answer's ``url_field``) to the person on ``channel``.

    Example:
        >>> relay("voice", "url").endswith("never read the URL aloud.")
        True
    """
    return {
        "voice": "Say the amount and the expiry, offer to send the link by text or email; never read the URL aloud.",
        "chat": f"Send {url_field} to the person exactly as given, with the amount and the expiry.",
        "email": f"Send {url_field} to the person exactly as given, with the amount and the expiry.",
        "none": f"Deliver {url_field} to the person through the host application.",
    }[channel]


class Advice(BaseModel):
    """The recommended path, why, and the next steps in order (``calls``: the tool calls among them).

    Example:
        >>> Advice(path="cannot_pay", rule="no_way", reason="r", steps=[]).path
        'cannot_pay'
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    path: Path
    rule: str
    reason: str
    steps: list[str]
    calls: list[Call] = Field(default_factory=list, exclude=True)


@dataclass(frozen=True)
class Rule:
    """One line of the decision procedure (``when_zh``/``reason_zh``: its Simplified Chinese text).

    Example:
        >>> rule = RULES[0]
        >>> rule.name, rule.path, rule.applies(Facts(card_requires_3ds=True))
        ('three_d_secure', 'human_assisted', True)
    """

    name: str
    when: str
    path: Path
    reason: str
    way: Way
    applies: Callable[[Facts], bool]
    when_zh: str
    reason_zh: str
    stop: str = ""  # what to do on a "stop" rule


def _failed(s: Facts) -> bool:
    return s.card_declined or s.card_requires_3ds


RULES: tuple[Rule, ...] = (
    Rule("three_d_secure", "the last charge needed 3-D Secure (requires_action) and a person can be reached", "human_assisted",
         "Only the cardholder can complete 3-D Secure; a hosted payment page lets them do it.", "hosted",
         lambda s: s.card_requires_3ds and s.human_present,
         when_zh="上一笔扣款需要 3-D Secure 验证（requires_action）且能联系到本人",
         reason_zh="只有持卡人本人能完成 3-D Secure，托管支付页面可以让其完成验证。"),
    Rule("declined", "the last charge was declined and a person can be reached", "human_assisted",
         "Do not retry a declined card; the person can pay with another card on a hosted page.", "hosted",
         lambda s: s.card_declined and s.human_present,
         when_zh="上一笔扣款被拒且能联系到本人",
         reason_zh="不要重试被拒的卡；对方可以在托管支付页面上改用另一张卡付款。"),
    Rule("stuck", "a charge failed (declined or 3-D Secure) and no person can be reached", "cannot_pay",
         "Nobody can authenticate or choose another card; stop and report.", "stop",
         lambda s: _failed(s) and not s.human_present,
         when_zh="扣款失败（被拒或需要 3-D Secure）且联系不到任何人",
         reason_zh="没有人能完成验证或换卡：停止并报告。",
         stop="Stop. Report the failure to the operator; do not retry the charge."),
    Rule("balance", "the account's own balance covers it and pays it without a card", "headless",
         "Paying from the account's balance involves no card data (after a yes or inside the mandate).", "balance",
         lambda s: True,
         when_zh="账户自身的余额足以支付且无需用卡",
         reason_zh="从账户余额付款不涉及卡数据（须先获得同意，或在授权范围之内）。"),
    Rule("trusted_payment_method", "trusted application code gave a pm_ id", "headless",
         "A payment method created by trusted code can be charged without handling card data.", "trusted_card",
         lambda s: s.trusted_payment_method_id is not None,
         when_zh="可信的应用代码提供了 pm_ ID",
         reason_zh="由可信代码创建的支付方式可以直接扣款，无需接触卡数据。"),
    Rule("saved_card", "the account has a saved default card", "headless",
         "The saved default card can be charged directly (after a yes or inside the mandate).", "saved_card",
         lambda s: s.saved_default_card,
         when_zh="账户已保存默认卡",
         reason_zh="可以直接从已保存的默认卡扣款（须先获得同意，或在授权范围之内）。"),
    Rule("save_card", "the person wants to save a card for later and is present", "setup_intent",
         "A setup intent saves a card without charging; the person or trusted code confirms it with Stripe.", "save_card",
         lambda s: s.wants_to_save_card and s.human_present,
         when_zh="对方在场并想保存一张卡以便日后付款",
         reason_zh="SetupIntent 只保存卡、不扣款；由本人或可信代码在 Stripe 完成确认。"),
    Rule("human_pays", "a person is present and no card is saved", "human_assisted",
         "The person pays on a hosted page; the agent never sees card data.", "hosted",
         lambda s: s.human_present,
         when_zh="有人在场且账户没有保存的卡",
         reason_zh="由本人在托管页面付款，代理全程接触不到卡数据。"),
    Rule("no_way", "no saved card, no trusted payment method and no person", "cannot_pay",
         "There is no safe way to pay: stop and report.", "stop",
         lambda s: True,
         when_zh="没有保存的卡、没有可信的支付方式，也没有人在场",
         reason_zh="没有安全的付款方式：停止并报告。",
         stop="Stop. Report to the operator that a payment method or a person is needed."),
)


def rules_of(paths: PaymentPaths[Any] | None) -> tuple[Rule, ...]:
    """The rules a provider's paths can follow (all of them for ``None``).

    Example:
        >>> len(rules_of(None)) - len(rules_of(PaymentPaths(situation=Facts, charge=lambda s, pm: [],
        ...                                                 hosted=lambda s: [])))
        2
    """
    return RULES if paths is None else tuple(r for r in RULES if r.way == "stop" or paths.offers(r.way))


def advise(situation: S, paths: PaymentPaths[S]) -> Advice:
    """The first matching rule's advice, in the calls of ``paths`` (the provider's declaration).

    A rule whose way the provider cannot take for this situation (no balance that pays it) is passed
    over, so the next rule decides.

    Example:
        >>> demo = PaymentPaths(situation=Facts, charge=lambda s, pm: [], hosted=lambda s: [])
        >>> advise(Facts(human_present=False), demo).steps
        ['Stop. Report to the operator that a payment method or a person is needed.']
    """
    for rule in rules_of(paths):
        if not rule.applies(situation):
            continue
        steps = [rule.stop] if rule.way == "stop" else paths.steps(rule.way, situation)
        if steps is None:
            continue
        return Advice(path=rule.path, rule=rule.name, reason=rule.reason,
                      steps=[s.render() if isinstance(s, Call) else s for s in steps],
                      calls=[s for s in steps if isinstance(s, Call)])
    raise AssertionError("the last rule always applies")  # pragma: no cover


_LABELS = {"headless": "HEADLESS", "setup_intent": "SETUP INTENT", "human_assisted": "HUMAN-ASSISTED",
           "cannot_pay": "STOP"}
_LABELS_ZH = {"headless": "直接扣款（HEADLESS）", "setup_intent": "先保存卡（SETUP INTENT）",
              "human_assisted": "人工协助（HUMAN-ASSISTED）", "cannot_pay": "停止（STOP）"}


def render_rules(language: Literal["en", "zh"] = "en", paths: PaymentPaths[Any] | None = None) -> str:
    """The rules (those ``paths`` can follow) as the numbered decision procedure, in English or Chinese.

    Example:
        >>> render_rules().splitlines()[0].startswith("1. If the last charge needed 3-D Secure")
        True
        >>> render_rules("zh").splitlines()[1].split("。")[0]
        '2. 若上一笔扣款被拒且能联系到本人：人工协助（HUMAN-ASSISTED）'
    """
    if language not in ("en", "zh"):
        raise ValueError(f"unknown language {language!r}; use 'en' or 'zh'")
    lines = []
    for i, rule in enumerate(rules_of(paths), 1):
        if language == "zh":
            lines.append(f"{i}. 若{rule.when_zh}：{_LABELS_ZH[rule.path]}。{rule.reason_zh}")
        else:
            lines.append(f"{i}. If {rule.when}: {_LABELS[rule.path]}. {rule.reason}")
    return "\n".join(lines)


def render_in_calls(paths: PaymentPaths[Any], language: Literal["en", "zh"] = "en") -> str:
    """The provider's paths in calls as the prompts list them.

    Example:
        >>> demo = PaymentPaths(situation=Facts, charge=lambda s, pm: [], hosted=lambda s: [],
        ...                     in_calls={"en": ["HEADLESS: `pay(action='charge')`"]})
        >>> render_in_calls(demo)
        "- HEADLESS: `pay(action='charge')`"
    """
    if language not in paths.in_calls:
        raise ValueError(f"the payment paths have no {language!r} text; they have {', '.join(paths.in_calls)}")
    return "\n".join(f"- {line}" for line in paths.in_calls[language])


__all__ = ["ASKS_FIRST", "RULES", "Advice", "Call", "Facts", "PaymentPaths", "Ref", "Rule", "advise", "relay",
           "render_in_calls", "render_rules", "rules_of"]
