"""ModelsLab's payment paths in calls: fund the wallet or subscribe to a plan id.

The decision procedure is the core's (``agent_billing.advisor.RULES``); this says what each path means
here. HEADLESS is ``wallet.fund`` or ``subscriptions.create`` on the default card or a pm_ id; SETUP
INTENT is ``payment_methods.setup_intent`` (its confirmation normally saves the card); HUMAN-ASSISTED
is the ``payment_links`` handoff and wait. ModelsLab's wallet is what a payment funds, not a way to
pay, so there is no balance path.

Example:
    >>> advice = advise(Situation(purpose="fund", amount="25", saved_default_card=True))
    >>> advice.path, advice.steps[-1]
    ('headless', 'wallet(action="fund", amount=25) (asks a person or a mandate first)')
    >>> advise(Situation(purpose="subscribe", plan_id=42, card_requires_3ds=True)).steps[0]
    'payment_links(action="handoff", purpose="subscribe", plan_id=42, channel="chat")'
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent_billing import advisor
from agent_billing.advisor import ASKS_FIRST, Advice, Call, Facts, PaymentPaths, Ref, Step, relay
from agent_billing.money import Money


class _Purpose(BaseModel):
    purpose: Literal["fund", "subscribe"] = Field("fund")
    amount: Money | None = Field(None, description="USD (fund)")
    plan_id: int | None = Field(None, description="subscribe")


class Situation(Facts, _Purpose):
    """The advisor's facts for ModelsLab: fund the wallet by ``amount`` or subscribe to ``plan_id``.

    Example:
        >>> Situation(purpose="subscribe", plan_id=42).human_present
        True
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="after")
    def _purpose_has_target(self) -> Situation:
        if self.purpose == "fund" and self.amount is None:
            raise ValueError("purpose 'fund' needs amount")
        if self.purpose == "subscribe" and self.plan_id is None:
            raise ValueError("purpose 'subscribe' needs plan_id")
        return self


def _target(s: Situation) -> dict[str, Any]:
    return {"amount": s.amount} if s.purpose == "fund" else {"plan_id": s.plan_id}


def charge(s: Situation, pm: str | Ref | None) -> list[Step]:
    """The headless charge: with ``pm`` (a pm_ id) or, without, after naming the saved default card.

    Example:
        >>> charge(Situation(purpose="subscribe", plan_id=10), "pm_x")[0].render()
        'subscriptions(action="create", plan_id=10, payment_method_id="pm_x") (asks a person or a mandate first)'
    """
    args = {**_target(s), **({"payment_method_id": pm} if pm else {})}
    pay = Call("wallet", "fund", args, ASKS_FIRST) if s.purpose == "fund" else \
        Call("subscriptions", "create", args, ASKS_FIRST)
    if pm:
        return [pay]
    return [Call("payment_methods", "list", note="to name the card (brand, last four)"), pay]


def save_card(s: Situation) -> list[Step]:
    """Setup intent, confirmed by the person or trusted code, then the charge on that card.

    Example:
        >>> [step if isinstance(step, str) else step.action for step in save_card(Situation(amount="25"))][:1]
        ['setup_intent']
    """
    card = Ref("that pm_ id")
    return [Call("payment_methods", "setup_intent"),
            "The person (hosted page) or trusted code confirms it with Stripe; never ask for card numbers.",
            # The confirmation usually saves the card already; attaching it again reads as a mistake.
            Call("payment_methods", "list", note="the confirmed card is normally there already"),
            Call("payment_methods", "add", {"payment_method_id": Ref("pm_ id from the confirmation")},
                 "only if it is not listed"),
            *charge(s, card)]


def hosted(s: Situation) -> list[Step]:
    """The payment-link handoff, the relay for the channel, and the wait.

    Example:
        >>> hosted(Situation(amount="25", channel="voice"))[1]
        'Say the amount and the expiry, offer to send the link by text or email; never read the URL aloud.'
    """
    return [Call("payment_links", "handoff", {"purpose": s.purpose, **_target(s), "channel": s.channel}),
            relay(s.channel, "payment_url"),
            Call("payment_links", "wait", {"session_id": Ref("session_id")}, "until paid, expired or timed out")]


IN_CALLS = {
    "en": (
        ('HEADLESS: `wallet(action="fund", amount=...)` or `subscriptions(action="create", plan_id=...)`, '
         "charging the default card, or the card passed as `payment_method_id` (a pm_ id from trusted code, "
         "never one you made up)."),
        ('SETUP INTENT: `payment_methods(action="setup_intent")`; the person or trusted code confirms it with '
         "Stripe, never you; the confirmation normally saves the card, so look for it with "
         '`payment_methods(action="list")` and only if it is missing `payment_methods(action="add", '
         "payment_method_id=...)`; then charge it as HEADLESS."),
        ('HUMAN-ASSISTED: `payment_links(action="handoff", purpose="fund", amount=...)` (or '
         '`purpose="subscribe", plan_id=...`), relay the link, then `payment_links(action="wait", '
         "session_id=...)` until it is paid, expired or the wait times out."),
    ),
    "zh": (
        ('直接扣款（HEADLESS）：`wallet(action="fund", amount=...)` 或 '
         '`subscriptions(action="create", plan_id=...)`，从默认卡扣款，或从 '
         "`payment_method_id` 指定的卡扣款（必须是可信代码提供的 pm_ ID，绝不能自己编造）。"),
        ('先保存卡（SETUP INTENT）：`payment_methods(action="setup_intent")`；由本人或可信代码在 '
         'Stripe 完成确认，绝不由你来做；确认后卡通常已保存，先用 `payment_methods(action="list")` 查找，'
         '只有找不到时才 `payment_methods(action="add", payment_method_id=...)`，'
         "再按直接扣款处理。"),
        ('人工协助（HUMAN-ASSISTED）：`payment_links(action="handoff", purpose="fund", '
         'amount=...)`（或 `purpose="subscribe", plan_id=...`），转发链接，然后 '
         '`payment_links(action="wait", session_id=...)`，直到已付款、链接过期或等待超时。'),
    ),
}

PATHS: PaymentPaths[Situation] = PaymentPaths(situation=Situation, charge=charge, hosted=hosted, save_card=save_card,
                                               in_calls=IN_CALLS)


def advise(situation: Situation) -> Advice:
    """The advisor's answer for ModelsLab (``agent_billing.advisor.advise`` with these paths).

    Example:
        >>> advise(Situation(purpose="fund", amount="25", human_present=False)).path
        'cannot_pay'
    """
    return advisor.advise(situation, PATHS)
