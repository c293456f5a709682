"""What 10ex's system prompts say: a read-only account, the credit caps before a run, the portal for any change.

10ex's API only reads (no operation moves money and there are no payment paths), so the templates'
spending policy, payment rules and unknown-outcome checks are left out, and these facts say what the
agent can do instead: check ``usage.can_start_run`` before a run (go, warn or refuse, with the
numbers), and answer any request to subscribe, upgrade, downgrade, change or cancel with
``subscription.change_request``, the billing-portal hand-off, relayed exactly, with the reason.

Example:
    >>> "can_start_run" in FACTS.rules["en"][0]
    True
"""

# Prompt prose: one sentence or list item a line, as in the prompts/*.md templates.
# ruff: noqa: E501

from __future__ import annotations

from agent_billing.prompts import PromptFacts

_RUN = {
    "en": 'Before a long or expensive run, call `usage(action="can_start_run", estimated_credits=...)` (with '
          "`agent_id` for one agent's share) and act on its `decision`:",
    "zh": '开始耗时或昂贵的运行之前，调用 `usage(action="can_start_run", estimated_credits=...)`'
          "（需要某个代理的份额时带上 `agent_id`），并按其 `decision` 行事：",
}
_DECISIONS = {
    "en": "`go`: start it; `warn`: the run would reach the soft cap, where 10ex warns but still runs it: tell the "
          "person, with the numbers, before starting; `refuse`: the run would reach the hard cap, where 10ex refuses "
          "new runs: do not start it, and say the numbers (credits used, the estimate, both caps).",
    "zh": "`go`：开始运行；`warn`：运行会达到软上限，10ex 会发出警告但仍会运行：开始之前把这一点连同数字告诉对方；"
          "`refuse`：运行会达到硬上限，10ex 会拒绝新的运行：不要开始，并说明数字（已用额度、预估、两个上限）。",
}
_WHY = {
    "en": "say why, from its `why`: 10ex allows that change only in its billing portal, by an admin who is logged in "
          "to 10ex, and nothing has been changed. Do not retry or look for another way: no tool can make the change. "
          'After the admin has acted, `subscription(action="get")` and `plan(action="get")` show the new plan.',
    "zh": "并根据其 `why` 说明原因：10ex 只允许已登录 10ex 的管理员在其账单门户中做这种变更，目前什么都没有改变。"
          "不要重试，也不要另找办法：没有任何工具能做这种变更。管理员操作之后，"
          '`subscription(action="get")` 和 `plan(action="get")` 会显示新的套餐。',
}
_CHANGE = {
    "en": "For any request to subscribe, upgrade, downgrade, change the plan, cancel or resume, call "
          '`subscription(action="change_request", change=..., channel={channel})`.',
    "zh": '对于订阅、升级、降级、更换套餐、取消或恢复的任何请求，调用 `subscription(action="change_request", change=..., '
          'channel={channel})`。',
}
_RELAY = {
    "chat": {"en": "Send its `messages.chat` as it is, the portal URL exactly as given, and",
             "zh": "原样发送其中的 `messages.chat`（门户网址与返回的完全一致），"},
    "voice": {"en": "Say its `messages.voice`: never read the URL aloud; offer to send the link as a message; and",
              "zh": "说出其中的 `messages.voice`：绝不朗读网址，提出以消息形式发送链接；"},
}


def _section(language: str, channel: str) -> str:
    heading = {"en": "## Runs, credit caps and plan changes", "zh": "## 运行、额度上限与套餐变更"}[language]
    change = _CHANGE[language].format(channel=f'"{channel}"')
    return (f"{heading}\n\n- {_RUN[language]} {_DECISIONS[language]}\n- {change} {_RELAY[channel][language]} "
            f"{_WHY[language]}")


FACTS = PromptFacts(
    account={
        "en": "its 10ex subscription (plan name, status, renewal date), the plan's included credits and its soft and "
              "hard credit caps, this period's credit usage per workspace and per agent, invoices and the credit "
              "ledger. You can read all of it and open the billing portal for an admin, but you cannot change "
              "anything: 10ex keeps subscribing, upgrading, downgrading and cancelling in its billing portal, and "
              "nothing you do moves money.",
        "zh": "其 10ex 订阅（套餐名称、状态、续订日期）、套餐包含的额度及其软上限和硬上限、本周期按工作区和按代理统计的额度用量、"
              "发票以及额度账本。你可以读取这一切，并为管理员打开账单门户，但不能做任何更改：10ex 把订阅、升级、降级和取消都留在"
              "其账单门户中，你做的任何事都不会动用资金。",
    },
    rules={
        "en": (f"{_RUN['en']} {_DECISIONS['en']}", f"{_CHANGE['en'].format(channel='...')} In a chat send its "
               "`messages.chat` (the portal URL exactly as given); in a call say its `messages.voice` and offer to "
               f"send the link, never reading the URL aloud; and {_WHY['en']}"),
        "zh": (f"{_RUN['zh']}{_DECISIONS['zh']}", f"{_CHANGE['zh'].format(channel='...')}在聊天中发送其中的 "
               "`messages.chat`（门户网址与返回的完全一致）；在通话中说出其中的 `messages.voice` 并提出发送链接，"
               f"绝不朗读网址；{_WHY['zh']}"),
    },
    tool_map={
        "en": (
            "`subscription`: get (plan name, status, renewal date); change_request (also upgrade, downgrade, "
            "change_plan, cancel, resume, subscribe): the billing-portal hand-off, which changes nothing; portal (a "
            "portal session for an admin).",
            "`plan`: get (included credits, soft cap, hard cap).",
            "`usage`: get (this period, with each agent's share), agent (one agent), can_start_run (go, warn or "
            "refuse for a run's estimated credits).",
            "`invoices`: list (one cursor page; follow `next_cursor`), get.",
            "`ledger`: list (the credit ledger, one cursor page; optionally one agent's).",
        ),
        "zh": (
            "`subscription`：get（套餐名称、状态、续订日期）；change_request（以及 upgrade、downgrade、change_plan、cancel、"
            "resume、subscribe）：账单门户的转交，不做任何更改；portal（为管理员打开门户会话）。",
            "`plan`：get（包含的额度、软上限、硬上限）。",
            "`usage`：get（本周期用量及各代理的份额）、agent（单个代理）、can_start_run（按一次运行的预估额度给出 go、warn 或 refuse）。",
            "`invoices`：list（一页游标分页；沿 `next_cursor` 继续）、get。",
            "`ledger`：list（额度账本，一页游标分页；可只看某个代理）。",
        ),
    },
    chat={language: _section(language, "chat") for language in ("en", "zh")},
    voice={language: _section(language, "voice") for language in ("en", "zh")},
    autonomous={
        "en": (
            'Before each run, call `usage(action="can_start_run", estimated_credits=...)`: `go`, start it; `warn`, '
            "start it and say in your report that the soft cap is reached, with the numbers; `refuse`, do not start "
            "it: stop and report the numbers.",
            "You cannot change the plan. If more credits are needed, call "
            '`subscription(action="change_request", change="upgrade", channel="none")` and put its portal URL '
            "(exactly as given) and its `why` in your report: an admin logged in to 10ex raises the plan in the "
            "billing portal.",
        ),
        "zh": (
            '每次运行之前，调用 `usage(action="can_start_run", estimated_credits=...)`：`go`，开始运行；`warn`，'
            "开始运行，并在报告中连同数字说明已达到软上限；`refuse`，不要开始：停止并报告这些数字。",
            "你不能更改套餐。如果需要更多额度，调用 "
            '`subscription(action="change_request", change="upgrade", channel="none")`，并把其中的门户网址'
            "（与返回的完全一致）和 `why` 写进报告：由已登录 10ex 的管理员在账单门户中升级套餐。",
        ),
    },
)

__all__ = ["FACTS"]
