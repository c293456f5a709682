"""The payment-path advisor: given the facts, which of the three paths, and the exact next calls.

The rules are data (``RULES``), checked in order; the first that matches decides. The system prompts
render the same rules as their decision procedure and the handoff tool follows them after a decline
or a 3-D Secure requirement, so the prompt, the tool and this function cannot disagree.

Example:
    >>> advise(Situation(purpose="fund", amount="25", saved_default_card=True)).path
    'headless'
    >>> advise(Situation(purpose="fund", amount="25", card_requires_3ds=True)).path
    'human_assisted'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent_billing.money import Money, format_usd

Path = Literal["headless", "setup_intent", "human_assisted", "cannot_pay"]
Channel = Literal["chat", "voice", "email", "none"]


class Situation(BaseModel):
    """The facts that decide the payment path.

    Example:
        >>> Situation(purpose="subscribe", plan_id=42).human_present
        True
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    purpose: Literal["fund", "subscribe"] = Field("fund")
    amount: Money | None = Field(None, description="USD (fund)")
    plan_id: int | None = Field(None, description="subscribe")
    trusted_payment_method_id: str | None = Field(None, description="from trusted code")
    saved_default_card: bool = False
    human_present: bool = Field(True, description="a person can pay")
    channel: Channel = "chat"
    wants_to_save_card: bool = False
    card_requires_3ds: bool = Field(False, description="last charge needs 3-D Secure")
    card_declined: bool = Field(False, description="last charge declined")

    @model_validator(mode="after")
    def _purpose_has_target(self) -> Situation:
        if self.purpose == "fund" and self.amount is None:
            raise ValueError("purpose 'fund' needs amount")
        if self.purpose == "subscribe" and self.plan_id is None:
            raise ValueError("purpose 'subscribe' needs plan_id")
        return self


class Advice(BaseModel):
    """The recommended path, why, and the next calls in order.

    Example:
        >>> Advice(path="cannot_pay", rule="no_way", reason="r", steps=[]).path
        'cannot_pay'
    """

    path: Path
    rule: str
    reason: str
    steps: list[str]


def _target(s: Situation) -> str:
    return f'amount={s.amount}' if s.purpose == "fund" else f"plan_id={s.plan_id}"


def _link_steps(s: Situation) -> list[str]:
    relay = {
        "voice": "Say the amount and the expiry, offer to send the link by text or email; never read the URL aloud.",
        "chat": "Send payment_url to the person exactly as given, with the amount and the expiry.",
        "email": "Send payment_url to the person exactly as given, with the amount and the expiry.",
        "none": "Deliver payment_url to the person through the host application.",
    }[s.channel]
    return [
        f'payment_links(action="handoff", purpose="{s.purpose}", {_target(s)}, channel="{s.channel}")',
        relay,
        'payment_links(action="wait", session_id=<session_id>) until paid, expired or timed out',
    ]


def _charge_step(s: Situation, pm: str | None) -> str:
    pm_arg = f', payment_method_id="{pm}"' if pm else ""
    if s.purpose == "fund":
        return f"wallet(action=\"fund\", amount={s.amount}{pm_arg})  (asks a person or a mandate first)"
    return f"subscriptions(action=\"create\", plan_id={s.plan_id}{pm_arg})  (asks a person or a mandate first)"


@dataclass(frozen=True)
class Rule:
    """One line of the decision procedure (``when_zh``/``reason_zh``: its Simplified Chinese text).

    Example:
        >>> rule = RULES[0]
        >>> rule.name, rule.path, rule.applies(Situation(purpose="fund", amount="25", card_requires_3ds=True))
        ('three_d_secure', 'human_assisted', True)
    """

    name: str
    when: str
    path: Path
    reason: str
    applies: Callable[[Situation], bool]
    steps: Callable[[Situation], list[str]]
    when_zh: str
    reason_zh: str


RULES: tuple[Rule, ...] = (
    Rule("three_d_secure", "the last charge needed 3-D Secure (requires_action) and a person can be reached", "human_assisted",
         "Only the cardholder can complete 3-D Secure; a hosted payment page lets them do it.",
         lambda s: s.card_requires_3ds and s.human_present, _link_steps,
         when_zh="上一笔扣款需要 3-D Secure 验证（requires_action）且能联系到本人",
         reason_zh="只有持卡人本人能完成 3-D Secure，托管支付页面可以让其完成验证。"),
    Rule("declined", "the last charge was declined and a person can be reached", "human_assisted",
         "Do not retry a declined card; the person can pay with another card on a hosted page.",
         lambda s: s.card_declined and s.human_present, _link_steps,
         when_zh="上一笔扣款被拒且能联系到本人",
         reason_zh="不要重试被拒的卡；对方可以在托管支付页面上改用另一张卡付款。"),
    Rule("stuck", "a charge failed (declined or 3-D Secure) and no person can be reached", "cannot_pay",
         "Nobody can authenticate or choose another card; stop and report.",
         lambda s: (s.card_declined or s.card_requires_3ds) and not s.human_present,
         lambda s: ["Stop. Report the failure to the operator; do not retry the charge."],
         when_zh="扣款失败（被拒或需要 3-D Secure）且联系不到任何人",
         reason_zh="没有人能完成验证或换卡：停止并报告。"),
    Rule("trusted_payment_method", "trusted application code gave a pm_ id", "headless",
         "A payment method created by trusted code can be charged without handling card data.",
         lambda s: s.trusted_payment_method_id is not None,
         lambda s: [_charge_step(s, s.trusted_payment_method_id)],
         when_zh="可信的应用代码提供了 pm_ ID",
         reason_zh="由可信代码创建的支付方式可以直接扣款，无需接触卡数据。"),
    Rule("saved_card", "the account has a saved default card", "headless",
         "The saved default card can be charged directly (after a yes or inside the mandate).",
         lambda s: s.saved_default_card,
         lambda s: ['payment_methods(action="list") to name the card (brand, last four)', _charge_step(s, None)],
         when_zh="账户已保存默认卡",
         reason_zh="可以直接从已保存的默认卡扣款（须先获得同意，或在授权范围之内）。"),
    Rule("save_card", "the person wants to save a card for later and is present", "setup_intent",
         "A setup intent saves a card without charging; the person or trusted code confirms it with Stripe.",
         lambda s: s.wants_to_save_card and s.human_present,
         lambda s: ['payment_methods(action="setup_intent")',
                    "The person (hosted page) or trusted code confirms it with Stripe; never ask for card numbers.",
                    # The confirmation usually saves the card already; attaching it again reads as a mistake.
                    'payment_methods(action="list"): the confirmed card is normally there already; '
                    'only if it is not, payment_methods(action="add", payment_method_id=<pm_ id from the confirmation>)',
                    _charge_step(s, "<that pm_ id>")],
         when_zh="对方在场并想保存一张卡以便日后付款",
         reason_zh="SetupIntent 只保存卡、不扣款；由本人或可信代码在 Stripe 完成确认。"),
    Rule("human_pays", "a person is present and no card is saved", "human_assisted",
         "The person pays on a hosted page; the agent never sees card data.",
         lambda s: s.human_present, _link_steps,
         when_zh="有人在场且账户没有保存的卡",
         reason_zh="由本人在托管页面付款，代理全程接触不到卡数据。"),
    Rule("no_way", "no saved card, no trusted payment method and no person", "cannot_pay",
         "There is no safe way to pay: stop and report.",
         lambda s: True,
         lambda s: ["Stop. Report to the operator that a payment method or a person is needed."],
         when_zh="没有保存的卡、没有可信的支付方式，也没有人在场",
         reason_zh="没有安全的付款方式：停止并报告。"),
)


def advise(situation: Situation) -> Advice:
    """The first matching rule's advice.

    Example:
        >>> advise(Situation(purpose="fund", amount="25", human_present=False)).path
        'cannot_pay'
    """
    for rule in RULES:
        if rule.applies(situation):
            return Advice(path=rule.path, rule=rule.name, reason=rule.reason, steps=rule.steps(situation))
    raise AssertionError("the last rule always applies")  # pragma: no cover


_LABELS = {"headless": "HEADLESS", "setup_intent": "SETUP INTENT", "human_assisted": "HUMAN-ASSISTED",
           "cannot_pay": "STOP"}
_LABELS_ZH = {"headless": "直接扣款（HEADLESS）", "setup_intent": "先保存卡（SETUP INTENT）",
              "human_assisted": "人工协助（HUMAN-ASSISTED）", "cannot_pay": "停止（STOP）"}


def render_rules(language: Literal["en", "zh"] = "en") -> str:
    """The rules as the numbered decision procedure the prompts embed, in English or Simplified Chinese.

    Example:
        >>> render_rules().splitlines()[0].startswith("1. If the last charge needed 3-D Secure")
        True
        >>> render_rules("zh").splitlines()[1].split("。")[0]
        '2. 若上一笔扣款被拒且能联系到本人：人工协助（HUMAN-ASSISTED）'
    """
    if language not in ("en", "zh"):
        raise ValueError(f"unknown language {language!r}; use 'en' or 'zh'")
    lines = []
    for i, rule in enumerate(RULES, 1):
        if language == "zh":
            lines.append(f"{i}. 若{rule.when_zh}：{_LABELS_ZH[rule.path]}。{rule.reason_zh}")
        else:
            lines.append(f"{i}. If {rule.when}: {_LABELS[rule.path]}. {rule.reason}")
    return "\n".join(lines)


def describe_amount(situation: Situation) -> str:
    """'$25.00' or 'plan 42' for messages.

    Example:
        >>> describe_amount(Situation(purpose="fund", amount="25")), describe_amount(Situation(purpose="subscribe", plan_id=42))
        ('$25.00', 'plan 42')
    """
    return format_usd(situation.amount) if situation.amount is not None else f"plan {situation.plan_id}"


__all__ = ["RULES", "Advice", "Rule", "Situation", "advise", "render_rules"]
