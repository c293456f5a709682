"""Acme's operations, each declared once: a read, a write, a charge, a hand-off page and a
destructive one.

Example:
    >>> sorted(REGISTRY.operations), REGISTRY.get("buy_credits").amount_field
    (['buy_credits', 'close_account', 'create_checkout', 'get_account', 'rename_account'], 'amount')
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from agent_billing.conventions import Connection, WireConventions
from agent_billing.registry import Effect, Operation, Registry

BASE_PATH = "/acme-api"
BUNDLES = {"small": Decimal("5"), "large": Decimal("20")}  # Acme's price list: a bundle of N credits costs N USD


class NoArgs(BaseModel):
    """No arguments."""

    model_config = ConfigDict(extra="forbid")


class RenameArgs(BaseModel):
    """The account's new display name."""

    model_config = ConfigDict(extra="forbid")
    nickname: str


class BuyArgs(BaseModel):
    """Credits bought with a saved card (never card data)."""

    model_config = ConfigDict(extra="forbid")
    amount: Decimal
    currency: str = "usd"
    bundle: str
    saved_card: str


class CloseArgs(BaseModel):
    """Closing needs the reason said out loud."""

    model_config = ConfigDict(extra="forbid")
    farewell_reason: str


class CheckoutArgs(BaseModel):
    """The bundle a person will pay for on Acme's page."""

    model_config = ConfigDict(extra="forbid")
    bundle: str


class CheckoutPage(BaseModel):
    """A page where a person pays; the agent relays its address."""

    id: str
    checkout_url: str


class Account(BaseModel):
    """The account."""

    id: str
    nickname: str
    credit_balance: Decimal
    closed: bool = False


class Receipt(BaseModel):
    """One purchase."""

    id: str
    receipt_number: str
    amount: Decimal
    currency: str
    bundle: str


WIRE = WireConventions(envelope=False, amounts="string", error_body="detail",
                       error_classes={"acme_no_such_bundle": "InvalidRequestError",
                                      "acme_bad_key": "AuthenticationError"})
CONNECTION = Connection(default_base_url="https://api.acme.invalid" + BASE_PATH, sandbox_path="/acme" + BASE_PATH,
                        sandbox_token="acme_sandbox", token_variables=("ACME_API_KEY",),
                        base_url_variables=("ACME_BASE_URL",),
                        sandbox_app=f"{__package__}.sandbox:acme_sandbox", key_prefixes=("acme_",))

REGISTRY = Registry(provider="acme", base_path=BASE_PATH, wire=WIRE, connection=CONNECTION,
                    # What the chatbot and autonomous presets add to the reads: the page a person pays on, and
                    # the routine refill meant for use within a mandate (actions.py).
                    presets={"chatbot": ("credits.checkout",), "autonomous": ("credits.refill",)})
for op in (
    Operation(name="get_account", group="membership", action="get", method="GET", path="/account", args=NoArgs,
              result=Account, effect=Effect.READ, description="The Acme account: name and credit balance."),
    Operation(name="rename_account", group="membership", action="rename", method="POST", path="/account/nickname",
              args=RenameArgs, result=Account, effect=Effect.WRITE, description="Rename the Acme account."),
    Operation(name="buy_credits", group="credits", action="buy", method="POST", path="/credit-purchases",
              args=BuyArgs, result=Receipt, effect=Effect.CHARGE, amount_field="amount", plan_field="bundle",
              description="Buy an Acme credit bundle with a saved card; charges the card."),
    Operation(name="create_checkout", group="credits", action="checkout", method="POST", path="/checkout-pages",
              args=CheckoutArgs, result=CheckoutPage, effect=Effect.WRITE,
              description="A page where a person buys an Acme bundle themselves; relay checkout_url verbatim."),
    Operation(name="close_account", group="membership", action="close", method="POST", path="/account/closure",
              args=CloseArgs, result=Account, effect=Effect.DESTRUCTIVE, description="Close the Acme account."),
):
    REGISTRY.add(op)
# scope: the area of Acme's token scopes a group's operations need (``account:read``, ``credits:write``...;
# see scopes.py).
REGISTRY.describe_group("membership", "The Acme account.", scope="account")
REGISTRY.describe_group("credits", "Acme credits: buy a bundle, or hand the purchase to a person.", scope="credits")
