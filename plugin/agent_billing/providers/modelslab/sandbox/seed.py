"""The sandbox's initial state: the plan catalogue, the coupons and what a new account starts with.

Every account (one per access token) starts with:

- wallet balance **$0.00**, no ledger entries;
- no saved payment methods, no default card;
- no subscriptions, no invoices;
- empty billing info (all ten fields ``null``);
- auto-funding off.

Reseller accounts (``reseller_tokens``) start the same; only they may ``POST /wallet/withdraw``.

Plan catalogue (``GET /subscriptions/plans``; monthly periods are 30 days, yearly 365):

====  ===================  ==========  =======  =====  =========  ==============  ==========  =====
id    name                 category    period   type   price USD  api_call_limit  rate_limit  trial
====  ===================  ==========  =======  =====  =========  ==============  ==========  =====
5     Basic                normal      monthly  api    27.00      13000           10          -
10    Standard             normal      monthly  api    47.00      50000           30          -
11    Premium              normal      monthly  api    147.00     250000          60          -
12    Standard Yearly      normal      yearly   api    470.00     600000          30          -
20    Extra Concurrency    addon       monthly  addon  20.00      0               30          -
21    Priority Queue       addon       monthly  addon  49.00      0               0           -
30    Enterprise           enterprise  monthly  api    999.00     5000000         300         -
42    Imagen Pro           imagen      monthly  app    19.00      5000            20          -
43    Imagen Starter       imagen      monthly  app    9.00       1000            10          7 days
====  ===================  ==========  =======  =====  =========  ==============  ==========  =====

An account holds at most one live (not canceled) subscription per plan ``type`` (``api``, ``app``),
and any number of different add-ons. ``PUT /subscriptions/{id}`` moves within the same type.

Coupons (``GET /wallet/coupons/validate``, ``POST /wallet/coupons/redeem``), each redeemable once per
account:

- ``WELCOME50``: without a purchase, a **$5.00** credit; with ``purchase_amount`` and
  ``payment_method_id``, charges the purchase and credits it plus a **50 % bonus capped at $50.00**.
- ``BONUS20``: purchase only (at least $25.00): a **20 % bonus capped at $100.00**.
- ``FREE10``: credit only: **$10.00**, no purchase allowed.
- ``SUMMER2024``: a $15.00 credit that expired on 2024-09-01 (always invalid).

Example:
    >>> [p.id for p in PLANS if p.category == "imagen"]
    [42, 43]
    >>> COUPONS["WELCOME50"].credit_cents, COUPONS["WELCOME50"].bonus_percent
    (500, 50)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent_billing.providers.modelslab.sandbox.records import Plan

BASE_PATH = "/api/agents/v1"


PLANS: tuple[Plan, ...] = (
    Plan(5, "Basic", "normal", "monthly", "api", 2700, 13000, 10,
             ("13,000 API calls per month", "Image and video generation APIs", "Email support")),
    Plan(10, "Standard", "normal", "monthly", "api", 4700, 50000, 30,
             ("50,000 API calls per month", "All image, video and audio models", "Model training (LoRA)",
              "Priority email support")),
    Plan(11, "Premium", "normal", "monthly", "api", 14700, 250000, 60,
             ("250,000 API calls per month", "All models including premium checkpoints", "Dedicated rate limits",
              "Chat support")),
    Plan(12, "Standard Yearly", "normal", "yearly", "api", 47000, 600000, 30,
             ("600,000 API calls per year", "All image, video and audio models", "Two months free")),
    Plan(20, "Extra Concurrency", "addon", "monthly", "addon", 2000, 0, 30,
             ("+30 requests per minute on top of your plan",)),
    Plan(21, "Priority Queue", "addon", "monthly", "addon", 4900, 0, 0,
             ("Jobs skip the shared queue", "Lower cold-start latency")),
    Plan(30, "Enterprise", "enterprise", "monthly", "api", 99900, 5000000, 300,
             ("5,000,000 API calls per month", "Dedicated GPUs", "SLA and invoicing", "Account manager")),
    Plan(42, "Imagen Pro", "imagen", "monthly", "app", 1900, 5000, 20,
             ("5,000 Imagen generations per month", "Commercial licence", "No watermark")),
    Plan(43, "Imagen Starter", "imagen", "monthly", "app", 900, 1000, 10,
             ("1,000 Imagen generations per month", "7-day free trial"), trial_days=7),
)

PERIOD_SECONDS: dict[str, int] = {"monthly": 30 * 86400, "yearly": 365 * 86400}


@dataclass(frozen=True)
class CouponSeed:
    """A coupon: a fixed credit, a purchase bonus, or either (amounts in cents, bonus in percent).

    Example:
        >>> COUPONS["BONUS20"].bonus_percent, COUPONS["BONUS20"].min_purchase_cents
        (20, 2500)
    """

    code: str
    kind: str  # "credit", "bonus" or "credit_or_bonus"
    description: str
    credit_cents: int | None = None
    bonus_percent: int | None = None
    max_bonus_cents: int | None = None
    min_purchase_cents: int | None = None
    expires_at: float | None = None  # Unix seconds; None never expires


COUPONS: dict[str, CouponSeed] = {
    c.code: c
    for c in (
        CouponSeed("WELCOME50", "credit_or_bonus",
                   "Welcome offer: $5.00 free credit, or a 50% bonus (up to $50.00) on a top-up.",
                   credit_cents=500, bonus_percent=50, max_bonus_cents=5000),
        CouponSeed("BONUS20", "bonus", "20% bonus credit (up to $100.00) on a top-up of $25.00 or more.",
                   bonus_percent=20, max_bonus_cents=10000, min_purchase_cents=2500),
        CouponSeed("FREE10", "credit", "$10.00 of free credit.", credit_cents=1000),
        CouponSeed("SUMMER2024", "credit", "Summer 2024 promotion: $15.00 credit.", credit_cents=1500,
                   expires_at=1725148800.0),  # 2024-09-01T00:00:00Z
    )
}


def pay_as_you_go() -> dict[str, Any]:
    """The ``pay_as_you_go`` block of the plan catalogue, as the API documents it.

    Example:
        >>> terms = pay_as_you_go()
        >>> terms["minimum_topup_usd"], terms["fund_endpoint"]
        (Decimal('10.00'), 'POST /api/agents/v1/wallet/fund')
    """
    from decimal import Decimal

    return {
        "available": True,
        "description": "Fund your wallet and pay per API call; no subscription needed. "
        "Top up at least $10.00 at a time, or let auto-payments recharge it.",
        "minimum_topup_usd": Decimal("10.00"),
        "currency": "USD",
        "auto_payments": {
            "supported": True,
            "description": "Recharge the wallet from your default card whenever the balance falls "
            "below a threshold you choose.",
            "configure_endpoint": f"PUT {BASE_PATH}/wallet/auto-funding",
            "disable_endpoint": f"DELETE {BASE_PATH}/wallet/auto-funding",
        },
        "fund_endpoint": f"POST {BASE_PATH}/wallet/fund",
    }
