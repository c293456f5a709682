"""What ModelsLab's system prompts say that is ModelsLab's own: a wallet that payments fund, its tools, its rules.

The templates in ``prompts/`` hold what every provider shares; ``agent_billing.prompts.load_prompt``
fills them with these facts. ModelsLab's wallet is topped up by card or payment link
(``wallet.ensure_funded`` before a large job), auto-funding authorises future charges, and a
withdrawal pays money out.

Example:
    >>> FACTS.check_outcome["en"].startswith('`wallet(action="transactions")`')
    True
"""

# Prompt prose: one sentence or list item a line, as in the prompts/*.md templates.
# ruff: noqa: E501

from __future__ import annotations

from agent_billing.prompts import PromptFacts

FACTS = PromptFacts(
    account={
        "en": "wallet balance and top-ups, saved cards, subscriptions, invoices and coupons.",
        "zh": "钱包余额与充值、已保存的卡、订阅、发票和优惠券。",
    },
    check_outcome={
        "en": '`wallet(action="transactions")` or `wallet(action="payment_status", payment_intent_id=...)`',
        "zh": '`wallet(action="transactions")` 或 `wallet(action="payment_status", payment_intent_id=...)`',
    },
    substitutes={"en": "a one-off subscription charge, a bonus coupon", "zh": "一次性订阅扣款、赠金优惠券"},
    rules={
        "en": (
            'Before a large job, make sure the balance covers it: `wallet(action="ensure_funded", job_cost=...)` '
            "tops up when short (after a yes) or returns a payment link to relay. Tell the person how much is "
            "missing first.",
            "Auto-funding authorises future charges without asking again, and a withdrawal pays money out "
            "(reseller accounts only): say so before asking.",
        ),
        "zh": (
            '执行大型任务前，先确认余额够用：`wallet(action="ensure_funded", job_cost=...)` '
            "会在余额不足时充值（须先获得同意），或返回一个需要转发的付款链接。事先告诉对方还差多少。",
            "开启自动充值意味着授权日后无需再次询问即可扣款；提现会把钱转出（仅限经销商账户）。请求同意之前先把这些说清楚。",
        ),
    },
    tool_map={
        "en": (
            "`billing`: overview (balance, cards, subscriptions at a glance), get_info and update_info (billing "
            "profile), stripe_config (for trusted code only).",
            "`payment_methods`: list saved cards, add a pm_ id, set_default, remove, setup_intent.",
            "`invoices`: list, get, pdf (download links).",
            "`wallet`: balance, transactions, fund, payment_status, enable_auto_funding, disable_auto_funding, "
            "withdraw; ensure_funded compares the balance with a job's cost and, when short, tops up or hands off a "
            "payment link; fund_via_human sends a payment link and waits for it to be paid.",
            "`coupons`: validate first, then redeem; redeeming a bonus coupon with a purchase_amount is a charge.",
            "`subscriptions`: plans, list, status, create, update (change plan), pause, resume, reset_cycle, "
            "fix_payment (retry a past-due payment), charge_amount (one-off charge).",
            "`payment_links`: handoff (link plus a ready-to-relay message), wait, create, confirm_fund, "
            "confirm_subscribe.",
            "`payment_path`: which payment path to take, and the next calls.",
        ),
        "zh": (
            "`billing`：overview（余额、卡、订阅一览）、get_info 与 update_info（账单资料）、stripe_config（仅供可信代码使用）。",
            "`payment_methods`：list 列出已保存的卡、add 添加 pm_ ID、set_default、remove、setup_intent。",
            "`invoices`：list、get、pdf（下载链接）。",
            "`wallet`：balance、transactions、fund、payment_status、enable_auto_funding、disable_auto_funding、"
            "withdraw；ensure_funded 将余额与任务费用比较，不足时充值或转交付款链接；fund_via_human 发送付款链接并等待付款完成。",
            "`coupons`：先 validate，再 redeem；兑换附带 purchase_amount 的赠金优惠券属于扣款。",
            "`subscriptions`：plans、list、status、create、update（更换套餐）、pause、resume、reset_cycle、"
            "fix_payment（重试逾期付款）、charge_amount（一次性扣款）。",
            "`payment_links`：handoff（链接加一段可直接转发的消息）、wait、create、confirm_fund、confirm_subscribe。",
            "`payment_path`：该走哪种付款方式，以及接下来的调用。",
        ),
    },
    chat={
        "en": """## Taking a payment with a link

1. Agree on what the person wants and state the exact amount, or the plan and its price from `subscriptions(action="plans")`. Wait for a clear yes.
2. Call `payment_links(action="handoff", purpose="fund", amount=..., channel="chat")`, or `purpose="subscribe", plan_id=...`.
3. Send the handoff's chat message. If you write your own, it must contain the link exactly as returned (never shortened, reformatted or retyped), the amount and when the link expires.
4. Call `payment_links(action="wait", session_id=...)`. If the person says they have paid, or pastes a session id (cs_...) from the success page, call it again with that `session_id` and `person_says_paid=true`: the wait confirms a paid checkout.
5. Report the outcome from the tool: the new balance, or the subscription and its status. Expired: offer a new link. Still unpaid when the wait ends: say so, keep the session id and check again when the person says they paid.""",
        "zh": """## 通过链接收款

1. 与对方确认需求，并说明确切金额，或套餐及其价格（来自 `subscriptions(action="plans")`）。等待对方明确同意。
2. 调用 `payment_links(action="handoff", purpose="fund", amount=..., channel="chat")`，或 `purpose="subscribe", plan_id=...`。
3. 发送 handoff 返回的聊天消息。如果自己组织消息，必须包含与返回结果完全一致的链接（不缩短、不改格式、不重新输入）、金额以及链接的过期时间。
4. 调用 `payment_links(action="wait", session_id=...)`。如果对方说已付款，或从成功页面粘贴了会话 ID（cs_...），带上该 `session_id` 和 `person_says_paid=true` 再次调用：wait 会确认已付款的结账。
5. 按工具返回的结果告知对方：新的余额，或订阅及其状态。链接已过期：提供新链接。等待结束时仍未付款：如实说明，保留会话 ID，等对方说已付款时再核查。""",
    },
    voice={
        "en": """## Taking a payment

1. Say the exact amount and what it is for, then ask for a clear yes. Silence, "uh-huh" or "maybe" is not a yes.
2. With a saved card: charge it once you have the yes. If it is declined or needs 3-D Secure, do not retry: offer a link.
3. With a link: `payment_links(action="handoff", purpose="fund", amount=..., channel="voice")` (or `purpose="subscribe", plan_id=...`). Say its voice message, the amount and the expiry; the link itself goes by text or email.
4. `payment_links(action="wait", session_id=...)` while the caller pays. Tell them when it is done and what changed.""",
        "zh": """## 收款流程

1. 说明确切金额和用途，然后请对方明确同意。沉默、“嗯”或“可能吧”都不算同意。
2. 使用已保存的卡：得到同意后扣款。如果被拒或需要 3-D Secure，不要重试：改为提供链接。
3. 使用链接：`payment_links(action="handoff", purpose="fund", amount=..., channel="voice")`（或 `purpose="subscribe", plan_id=...`）。说出其中的语音消息、金额和过期时间；链接本身通过短信或邮件发送。
4. 对方付款期间调用 `payment_links(action="wait", session_id=...)`。完成后告诉对方，并说明有哪些变化。""",
    },
    autonomous={
        "en": (
            'Before a large job, call `wallet(action="ensure_funded", job_cost=..., channel="none")`: it tops up from '
            "the saved default card when the balance is short, within the mandate. If it answers "
            "`needs_human_payment` or `cannot_pay`, nobody can pay: stop and report.",
            "Do not enable auto-funding, withdraw, change plans or remove cards unless your instructions say so "
            "explicitly. Auto-funding authorises future charges that no 24 h limit can bound.",
        ),
        "zh": (
            '执行大型任务前，调用 `wallet(action="ensure_funded", job_cost=..., channel="none")`：余额不足时，'
            "它会在授权范围内从已保存的默认卡充值。如果返回 `needs_human_payment` 或 `cannot_pay`，说明没有人能付款：停止并报告。",
            "除非指令明确要求，否则不要开启自动充值、提现、更换套餐或删除卡。自动充值会授权日后的扣款，任何 24 小时限额都无法约束它。",
        ),
    },
)

__all__ = ["FACTS"]
