"""Wallgent's payment paths in calls: subscribe, change the plan, or retry a failed renewal.

The decision procedure is the core's (``agent_billing.advisor.RULES``); this says what each path means
for Wallgent, where it differs from a card-only provider:

- HEADLESS from the balance: WALLET billing with enough in the Wallgent wallet pays with no card at all
  (``billing.subscribe`` with ``payment_method="WALLET"``, or ``change_plan``/``retry_payment`` when the
  plan is billed to the wallet);
- HEADLESS by card: ``billing.subscribe`` with ``payment_method="CARD"`` and the card's pm_ id (the saved
  card's id is ``card_details.payment_method_id`` in ``billing.get``); a plan billed to the wallet is
  switched to the card first (``payment_method.switch``, which asks too: it moves every renewal);
- SETUP INTENT: ``payment_method.setup_intent``, confirmed with Stripe by the person or trusted code,
  then ``payment_method.save``: Wallgent does not save the confirmed card by itself;
- HUMAN-ASSISTED: ``billing.checkout`` (a new subscription) or ``billing.portal`` (plan and card of an
  existing one), whose ``url`` the person opens.

Example:
    >>> advise(Situation(plan="STARTER", wallet_covers=True)).steps
    ['billing(action="subscribe", plan="STARTER", payment_method="WALLET") (asks a person or a mandate first)']
    >>> advise(Situation(plan="GROWTH")).steps[0]
    'billing(action="checkout", plan="GROWTH")'
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent_billing import advisor
from agent_billing.advisor import ASKS_FIRST, Advice, Call, Facts, PaymentPaths, Ref, Step, relay
from agent_billing.providers.wallgent.arguments import BillingMethod, SelfServePlan

_CARD = Ref("card_details.payment_method_id")
_CONFIRMED = Ref("pm_ id from the confirmation")


class _Purpose(BaseModel):
    purpose: Literal["subscribe", "change_plan", "retry_payment"] = Field("subscribe")
    plan: SelfServePlan | None = Field(None, description="subscribe, change_plan")
    payment_method: BillingMethod | None = Field(None, description="to pay with (subscribe) or billed now")
    wallet_covers: bool = Field(False, description="wallet balance covers it")


class Situation(Facts, _Purpose):
    """The advisor's facts for Wallgent: what to pay (a plan, an upgrade, a failed renewal) and with what.

    ``payment_method``: for ``subscribe`` the method chosen (unset: the wallet if it covers the price,
    else a card); for ``change_plan`` and ``retry_payment`` the plan's current billing method, from
    ``billing(action="get")``.

    Example:
        >>> Situation(purpose="retry_payment", payment_method="CARD").plan is None
        True
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="after")
    def _purpose_has_target(self) -> Situation:
        if self.purpose == "retry_payment":
            if self.plan is not None:
                raise ValueError("purpose 'retry_payment' takes no plan")
        elif self.plan is None:
            raise ValueError(f"purpose '{self.purpose}' needs plan")
        if self.purpose != "subscribe" and self.payment_method is None:
            raise ValueError(f"purpose '{self.purpose}' needs payment_method: the current one, from billing get")
        return self


def _pay(s: Situation) -> Call:
    """The charge itself for a plan that is already paid (change or retry), on its current method."""
    if s.purpose == "change_plan":
        return Call("billing", "change_plan", {"plan": s.plan}, f"an upgrade charges the prorated difference {ASKS_FIRST}")
    return Call("billing", "retry_payment", note=ASKS_FIRST)


def balance(s: Situation) -> list[Step] | None:
    """From the Wallgent wallet, when it covers the price and the plan is (to be) billed to it.

    Example:
        >>> balance(Situation(purpose="change_plan", plan="GROWTH", payment_method="CARD", wallet_covers=True)) is None
        True
    """
    if not s.wallet_covers:
        return None
    if s.purpose == "subscribe":
        if s.payment_method == "CARD":
            return None
        return [Call("billing", "subscribe", {"plan": s.plan, "payment_method": "WALLET"}, ASKS_FIRST)]
    return [_pay(s)] if s.payment_method == "WALLET" else None


def _on_saved_card(s: Situation, name_it: bool) -> list[Step]:
    """Change or retry on the saved card, switching the plan's billing to it first if it is on the wallet."""
    steps: list[Step] = [Call("billing", "get", note="to name the card (brand, last four)")] if name_it else []
    if s.payment_method == "WALLET":
        steps.append(Call("payment_method", "switch", {"payment_method": "CARD"},
                          f"every later renewal hits the card too {ASKS_FIRST}"))
    return [*steps, _pay(s)]


def charge(s: Situation, pm: str | Ref | None) -> list[Step]:
    """By card: the pm_ id given, or (``None``) the saved card read from ``billing.get``.

    Example:
        >>> [c.render() for c in charge(Situation(plan="STARTER"), "pm_card_visa")]  # doctest: +NORMALIZE_WHITESPACE
        ['billing(action="subscribe", plan="STARTER", payment_method="CARD", stripe_payment_method_id="pm_card_visa")
          (asks a person or a mandate first)']
    """
    if s.purpose == "subscribe":
        card = pm or _CARD
        pay = Call("billing", "subscribe", {"plan": s.plan, "payment_method": "CARD", "stripe_payment_method_id": card},
                   ASKS_FIRST)
        if pm:
            return [pay]
        return [Call("billing", "get", note="to name the card (brand, last four) and read its card_details."
                                            "payment_method_id"), pay]
    if pm:
        return [Call("payment_method", "switch", {"payment_method": "CARD", "stripe_payment_method_id": pm},
                     f"every later renewal hits this card {ASKS_FIRST}"), _pay(s)]
    return _on_saved_card(s, name_it=True)


def save_card(s: Situation) -> list[Step]:
    """Setup intent, confirmed with Stripe, saved with ``payment_method.save``, then the charge on it.

    Example:
        >>> [step.action for step in save_card(Situation(plan="GROWTH")) if isinstance(step, Call)]
        ['setup_intent', 'save', 'subscribe']
    """
    steps: list[Step] = [
        Call("payment_method", "setup_intent", note="(its client_secret is for the person's Stripe page or trusted code)"),
        "The person (hosted page) or trusted code confirms it with Stripe; never ask for card numbers.",
        # Unlike a checkout, a confirmed setup intent is not the billing card until it is saved.
        Call("payment_method", "save", {"payment_method_id": _CONFIRMED}, "Wallgent does not save it by itself"),
    ]
    if s.purpose == "subscribe":
        return [*steps, *charge(s, _CONFIRMED)]
    return [*steps, *_on_saved_card(s, name_it=False)]


def hosted(s: Situation) -> list[Step]:
    """Checkout for a new subscription, the portal for an existing one; the person opens its ``url``.

    Example:
        >>> hosted(Situation(purpose="retry_payment", payment_method="CARD"))[0].render()
        'billing(action="portal")'
    """
    if s.purpose == "subscribe":
        return [Call("billing", "checkout", {"plan": s.plan}), relay(s.channel, "url"),
                Call("billing", "get", note="once the person says they paid: the plan is theirs when billing_status "
                                            "is ACTIVE")]
    steps: list[Step] = [Call("billing", "portal"), relay(s.channel, "url"),
                         Call("billing", "get", note="once the person is done there: check the plan and billing_status")]
    if s.purpose == "retry_payment":
        steps.append(Call("billing", "retry_payment", note=f"only if billing_status is still PAST_DUE {ASKS_FIRST}"))
    return steps


IN_CALLS = {
    "en": (
        ('HEADLESS from the wallet (no card): `billing(action="subscribe", plan=..., payment_method="WALLET")`; '
         '`billing(action="change_plan", plan=...)` and `billing(action="retry_payment")` charge the plan\'s '
         'billing method, the wallet when `billing(action="get")` says WALLET.'),
        ('HEADLESS by card: `billing(action="subscribe", plan=..., payment_method="CARD", '
         "stripe_payment_method_id=...)` with a pm_ id from trusted code or the saved card's "
         '`card_details.payment_method_id` from `billing(action="get")`, never one you made up. A plan billed '
         'to the wallet moves to the card with `payment_method(action="switch", payment_method="CARD")` first; '
         "that also needs a yes."),
        ('SETUP INTENT: `payment_method(action="setup_intent")`; the person or trusted code confirms it with '
         'Stripe, never you; then save it with `payment_method(action="save", payment_method_id=...)` '
         "(Wallgent does not save it by itself) and charge it as HEADLESS by card."),
        ('HUMAN-ASSISTED: `billing(action="checkout", plan=...)` for a new subscription, '
         '`billing(action="portal")` for the plan or card of an existing one; relay the `url`, then check '
         'with `billing(action="get")`.'),
    ),
    "zh": (
        ('从钱包直接扣款（HEADLESS，不用卡）：`billing(action="subscribe", plan=..., payment_method="WALLET")`；'
         '`billing(action="change_plan", plan=...)` 和 `billing(action="retry_payment")` '
         '从套餐当前的计费方式扣款，`billing(action="get")` 显示 WALLET 时即为钱包。'),
        ('用卡直接扣款（HEADLESS）：`billing(action="subscribe", plan=..., payment_method="CARD", '
         'stripe_payment_method_id=...)`，使用可信代码提供的 pm_ ID，或 `billing(action="get")` '
         "返回的已保存卡的 `card_details.payment_method_id`，绝不能自己编造。按钱包计费的套餐要先用 "
         '`payment_method(action="switch", payment_method="CARD")` 改为用卡，这一步同样需要对方同意。'),
        ('先保存卡（SETUP INTENT）：`payment_method(action="setup_intent")`；由本人或可信代码在 Stripe '
         '完成确认，绝不由你来做；然后用 `payment_method(action="save", payment_method_id=...)` '
         "保存（Wallgent 不会自动保存），再按用卡直接扣款处理。"),
        ('人工协助（HUMAN-ASSISTED）：新订阅用 `billing(action="checkout", plan=...)`，已有订阅的套餐或卡用 '
         '`billing(action="portal")`；转发其中的 `url`，之后用 `billing(action="get")` 核实。'),
    ),
}

PATHS: PaymentPaths[Situation] = PaymentPaths(situation=Situation, charge=charge, hosted=hosted, save_card=save_card,
                                               balance=balance, in_calls=IN_CALLS)


def advise(situation: Situation) -> Advice:
    """The advisor's answer for Wallgent (``agent_billing.advisor.advise`` with these paths).

    Example:
        >>> advise(Situation(purpose="retry_payment", payment_method="WALLET", wallet_covers=True)).steps
        ['billing(action="retry_payment") (asks a person or a mandate first)']
    """
    return advisor.advise(situation, PATHS)
