"""What Wallgent's system prompts say that is Wallgent's own: WALLET or CARD billing, proration, cancel at period end.

The templates in ``prompts/`` hold what every provider shares; ``agent_billing.prompts.load_prompt``
fills them with these facts. A Wallgent plan is billed to the organisation's wallet or to the saved
card, and switching between them moves every later renewal (so it needs a yes); ``change_plan`` may
charge a prorated difference now; ``cancel`` takes effect at the end of the period; ``checkout`` and
``portal`` are the hand-off to a person. An unknown outcome is checked in the plan and the invoices.

Example:
    >>> FACTS.check_outcome["en"].startswith('`billing(action="get")`')
    True
"""

# Prompt prose: one sentence or list item a line, as in the prompts/*.md templates.
# ruff: noqa: E501

from __future__ import annotations

from agent_billing.prompts import PromptFacts

_AFTER = {
    "en": ("Cancelling ends the plan at the end of the billing period, not now; a plan "
           "change may charge a prorated difference now; switching between WALLET and CARD billing moves every later "
           "renewal. Say so before asking for the yes."),
    "zh": ("取消在当前计费周期结束时生效，而不是立即生效；更换套餐可能立即扣除按比例计算的差额；"
           "在 WALLET 与 CARD 计费之间切换会影响之后的每一次续费。征求同意之前先把这些说清楚。"),
}

FACTS = PromptFacts(
    account={
        "en": "its Wallgent plan and subscription, billed to the organisation's Wallgent wallet (WALLET) or to a saved "
              "card (CARD), the saved card, and invoices.",
        "zh": "其 Wallgent 套餐与订阅（从组织的 Wallgent 钱包（WALLET）或已保存的卡（CARD）计费）、已保存的卡，以及发票。",
    },
    check_outcome={
        "en": '`billing(action="get")` (plan, `billing_status`, billing method) and `invoices(action="list")`',
        "zh": '`billing(action="get")`（套餐、`billing_status`、计费方式）和 `invoices(action="list")`',
    },
    substitutes={"en": "a plan change in place of a subscription, a switch between WALLET and CARD billing",
                 "zh": "用更换套餐代替订阅、在 WALLET 与 CARD 计费之间切换"},
    rules={
        "en": (
            'A plan is paid by one billing method, WALLET or CARD; `billing(action="get")` says which, with the '
            'card\'s brand and last four. Switching (`payment_method(action="switch", payment_method=...)`) changes '
            "what every later renewal hits, so it needs a yes like a charge; so does saving a card "
            '(`payment_method(action="save")`), which under CARD billing becomes the card the renewals hit.',
            '`billing(action="change_plan", plan=...)` may charge the prorated difference now (an upgrade): say so, '
            "with the amount the approval names, before asking.",
            '`billing(action="cancel")` cancels at the end of the billing period, not now: say when the plan ends '
            '(`billing_period_end`). Removing the card (`payment_method(action="remove")`) needs a yes too.',
            '`billing(action="checkout", plan=...)` (a new subscription) and `billing(action="portal")` (the plan or '
            "card of an existing one) hand the person a hosted page: relay the `url` exactly, never act on the page "
            'yourself, and check with `billing(action="get")` afterwards.',
            "`APPROVAL_REQUIRED` means Wallgent's own policy wants a person to approve in the Wallgent dashboard: "
            "nothing moved. `INSUFFICIENT_FUNDS`: the wallet is short; offer the card or a checkout.",
        ),
        "zh": (
            '每个套餐只用一种计费方式：WALLET 或 CARD；`billing(action="get")` 会说明是哪一种，以及卡组织和末四位。'
            '切换（`payment_method(action="switch", payment_method=...)`）会改变之后每一次续费的扣款来源，因此和扣款一样需要对方同意；保存卡（`payment_method(action="save")`）也一样：在 CARD 计费下，它就是之后续费扣款的卡。',
            '`billing(action="change_plan", plan=...)` 可能立即扣除按比例计算的差额（升级时）：征求同意之前先说明这一点，以及审批中写明的金额。',
            '`billing(action="cancel")` 在计费周期结束时取消，而不是立即取消：说明套餐何时结束（`billing_period_end`）。'
            '删除卡（`payment_method(action="remove")`）同样需要对方同意。',
            '`billing(action="checkout", plan=...)`（新订阅）和 `billing(action="portal")`（已有订阅的套餐或卡）'
            '会给对方一个托管页面：原样转发其中的 `url`，绝不自己在页面上操作，之后用 `billing(action="get")` 核实。',
            "`APPROVAL_REQUIRED` 表示 Wallgent 自身的策略要求有人在 Wallgent 控制台中批准：没有动用任何资金。"
            "`INSUFFICIENT_FUNDS`：钱包余额不足；改为提供用卡支付或结账页面。",
        ),
    },
    tool_map={
        "en": (
            "`billing`: get (plan, billing_status, billing method, period, saved card, wallet balance), subscribe "
            "(STARTER or GROWTH, by WALLET or CARD), checkout (hosted page for a new subscription), change_plan (may "
            "charge a proration), cancel (at the period end), retry_payment (a failed renewal), portal (self-service "
            "page for an existing subscription).",
            "`payment_method`: switch (WALLET or CARD billing), setup_intent (its client secret is for trusted code), "
            "save (a confirmed pm_ id becomes the billing card), remove.",
            "`invoices`: list, get.",
            "`payment_path`: which payment path to take, and the next calls.",
        ),
        "zh": (
            "`billing`：get（套餐、billing_status、计费方式、周期、已保存的卡、钱包余额）、subscribe（STARTER 或 GROWTH，"
            "通过 WALLET 或 CARD）、checkout（新订阅的托管页面）、change_plan（可能按比例扣款）、cancel（周期结束时生效）、"
            "retry_payment（续费失败后重试）、portal（已有订阅的自助页面）。",
            "`payment_method`：switch（切换 WALLET 或 CARD 计费）、setup_intent（其 client secret 仅供可信代码使用）、"
            "save（把已确认的 pm_ ID 设为计费卡）、remove。",
            "`invoices`：list（列出发票）、get（查看一张发票）。",
            "`payment_path`：该走哪种付款方式，以及接下来的调用。",
        ),
    },
    chat={
        "en": f"""## Paying for a plan, or handing the person a page

1. Read the current plan, billing method and card with `billing(action="get")`. Agree on what the person wants: the plan (STARTER or GROWTH, at the price the tools give) and whether the wallet or the card pays. Wait for a clear yes before anything that charges.
2. If the person pays or manages it themselves: `billing(action="checkout", plan=...)` for a new subscription, `billing(action="portal")` for the plan or card of an existing one (or a failed renewal).
3. Send the `url` exactly as returned (never shortened, reformatted or retyped) and say what the page is for.
4. When the person says they are done, check with `billing(action="get")`: the plan is theirs when `billing_status` is ACTIVE. Report the plan and its status from the tool; if nothing changed, say so and offer the page again.
5. {_AFTER["en"]}""",
        "zh": f"""## 为套餐付款，或把页面交给对方

1. 用 `billing(action="get")` 读取当前的套餐、计费方式和卡。与对方确认需求：哪个套餐（STARTER 或 GROWTH，价格以工具给出的为准），以及由钱包还是卡付款。任何扣款之前都要等待对方明确同意。
2. 如果由对方自己付款或管理：新订阅用 `billing(action="checkout", plan=...)`，已有订阅的套餐或卡（或续费失败）用 `billing(action="portal")`。
3. 原样发送返回的 `url`（不缩短、不改格式、不重新输入），并说明页面的用途。
4. 对方说已完成后，用 `billing(action="get")` 核实：`billing_status` 为 ACTIVE 时套餐即已生效。按工具返回的结果告知套餐及其状态；如果没有变化，如实说明，并再次提供页面。
5. {_AFTER["zh"]}""",
    },
    voice={
        "en": f"""## Paying for a plan

1. Read the plan, billing method and card with `billing(action="get")`. Say the plan, the exact price and what pays it (the Wallgent wallet, or the card by brand and last four), then ask for a clear yes. Silence, "uh-huh" or "maybe" is not a yes.
2. With the yes, pay the way `payment_path` says. If the card is declined or needs 3-D Secure, do not retry: offer a hosted page.
3. A hosted page: `billing(action="checkout", plan=...)` for a new subscription, `billing(action="portal")` for an existing one. Never read its `url` aloud: offer to send it by text or email.
4. When the caller says they are done, check with `billing(action="get")` and tell them the plan and its status.
5. {_AFTER["en"]}""",
        "zh": f"""## 为套餐付款

1. 用 `billing(action="get")` 读取套餐、计费方式和卡。说明套餐、确切价格以及由什么付款（Wallgent 钱包，或说出卡组织和末四位的卡），然后请对方明确同意。沉默、“嗯”或“可能吧”都不算同意。
2. 得到同意后，按 `payment_path` 给出的方式付款。如果卡被拒或需要 3-D Secure，不要重试：改为提供托管页面。
3. 托管页面：新订阅用 `billing(action="checkout", plan=...)`，已有订阅用 `billing(action="portal")`。绝不朗读其中的 `url`：提出通过短信或邮件发送。
4. 对方说已完成后，用 `billing(action="get")` 核实，并告诉对方套餐及其状态。
5. {_AFTER["zh"]}""",
    },
    autonomous={
        "en": (
            'Before a renewal or a plan change, read `billing(action="get")`: the plan, `billing_status`, the billing '
            "method (WALLET or CARD) and the wallet balance. A PAST_DUE plan: ask "
            '`payment_path(purpose="retry_payment", payment_method=..., human_present=false)` and follow its steps '
            "within the mandate.",
            "Do not cancel, change the plan, switch between WALLET and CARD billing or remove the card unless your "
            "instructions say so explicitly: a switch moves every later renewal, and a plan change may charge a "
            "proration now.",
            "`APPROVAL_REQUIRED` (Wallgent's own policy wants a person in its dashboard) or `INSUFFICIENT_FUNDS` (the "
            "wallet is short): nothing moved; stop and report.",
        ),
        "zh": (
            '续费或更换套餐之前，先读取 `billing(action="get")`：套餐、`billing_status`、计费方式（WALLET 或 CARD）和钱包余额。'
            '套餐处于 PAST_DUE：调用 `payment_path(purpose="retry_payment", payment_method=..., human_present=false)`，'
            "并在授权范围内按其步骤执行。",
            "除非指令明确要求，否则不要取消、更换套餐、在 WALLET 与 CARD 计费之间切换或删除卡：切换会影响之后的每一次续费，更换套餐可能立即按比例扣款。",
            "`APPROVAL_REQUIRED`（Wallgent 自身的策略要求有人在其控制台中批准）或 `INSUFFICIENT_FUNDS`（钱包余额不足）：没有动用任何资金；停止并报告。",
        ),
    },
)

__all__ = ["FACTS"]
