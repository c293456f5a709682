"""What Acme's system prompts say (``agent_billing.prompts.PromptFacts``), in English and Chinese.

Example:
    >>> "buy_credits" in FACTS.tool_map["en"][1] or "credits" in FACTS.tool_map["en"][1]
    True
"""

from __future__ import annotations

from agent_billing.prompts import PromptFacts

FACTS = PromptFacts(
    account={"en": "The Acme account holds credits, bought in bundles with a saved card.",
             "zh": "Acme 账户持有额度，用已保存的卡按套餐购买。"},
    rules={"en": ["Buy a bundle only at its listed price (small: 5 USD, large: 20 USD)."],
           "zh": ["只按标价购买套餐（small：5 美元，large：20 美元）。"]},
    tool_map={"en": ["`membership`: read, rename or close the account.",
                     "`credits`: buy a bundle (`buy`) or give a person a page to pay (`checkout`)."],
              "zh": ["`membership`：查看、改名或关闭账户。", "`credits`：购买套餐（`buy`）或给对方付款页面（`checkout`）。"]},
    chat={"en": "## Paying\nA person pays on the page from `credits action=checkout`; relay its link verbatim.",
          "zh": "## 付款\n对方在 `credits action=checkout` 给出的页面上付款；原样转达链接。"},
    voice={"en": "## Paying\nSay that a payment link was sent; never read card details aloud.",
           "zh": "## 付款\n告诉对方付款链接已发送；不要读出卡信息。"},
    autonomous={"en": ["Check the credit balance with `membership action=get` before buying."],
                "zh": ["购买前用 `membership action=get` 查看额度余额。"]},
    check_outcome={"en": "`membership action=get` (the credit balance) tells whether a purchase went through.",
                   "zh": "`membership action=get`（额度余额）可判断购买是否完成。"},
    substitutes={"en": "a checkout page for a purchase the person refused", "zh": "对方拒绝的购买的付款页面"},
)
