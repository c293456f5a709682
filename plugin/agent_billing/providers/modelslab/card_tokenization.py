"""Card tokenization for TRUSTED APPLICATION CODE, with the official ``stripe`` SDK. Never an agent tool.

Card numbers must never pass through a language model: a prompt, a tool call or a transcript is
logged, traced, cached and replayed in places no card data may go, and a model can be talked into
repeating what it saw. So this module is deliberately outside the tool surface (the toolkit does not
expose it and its tools refuse card data). Use it in your own checkout code, a PCI-scoped service, or
tests against the sandbox: it turns card details into a ``pm_...`` id with the publishable key that
``GET /billing/stripe-config`` returns, and the agent only ever sees that id (brand and last four).

Example:
    >>> from agent_billing.providers.modelslab.card_tokenization import TokenizedCard
    >>> TokenizedCard(id="pm_1", brand="visa", last4="4242")
    TokenizedCard(id='pm_1', brand='visa', last4='4242')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from agent_billing.errors import PaymentDeclinedError
from agent_billing.providers.modelslab.client import ModelsLabClient

_API_SUFFIX = "/api/agents/v1"


@dataclass(frozen=True)
class TokenizedCard:
    """A payment method created from card details: the id, brand and last four only.

    Example:
        >>> card = TokenizedCard(id="pm_1", brand="visa", last4="4242")
        >>> f"{card.brand} ending {card.last4}"
        'visa ending 4242'
    """

    id: str
    brand: str | None
    last4: str | None


def _secret(value: str | int | SecretStr) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


class CardTokenizer:
    """Creates Stripe payment methods and confirms setup intents for a billing account.

    ``stripe_api_base`` points the SDK elsewhere than ``https://api.stripe.com`` (the sandbox root);
    ``CardTokenizer.for_sandbox(client)`` derives it from a sandbox client's base URL.

    Example (trusted code and a Stripe test card: the digits go only to the sandbox's Stripe emulation):
        >>> from agent_billing.sandbox import SandboxServer
        >>> with SandboxServer(tokens=("sk_a",)) as server:
        ...     with ModelsLabClient(base_url=server.base_url, token="sk_a") as client:
        ...         card = CardTokenizer.for_sandbox(client).save_card("4242424242424242", 12, 2030, "123")
        >>> card.id.startswith("pm_"), card.brand, card.last4  # all an agent may ever see of it
        (True, 'visa', '4242')
    """

    def __init__(self, client: ModelsLabClient, *, stripe_api_base: str | None = None) -> None:
        self._client = client
        self._api_base = stripe_api_base

    @classmethod
    def for_sandbox(cls, client: ModelsLabClient) -> CardTokenizer:
        """A tokenizer whose Stripe calls go to the sandbox that ``client`` talks to."""
        base = client.base_url
        root = base[: -len(_API_SUFFIX)] if base.endswith(_API_SUFFIX) else base
        return cls(client, stripe_api_base=root)

    def _stripe(self) -> Any:
        import stripe

        key = self._client.get_stripe_config().publishable_key
        addresses = {"api": self._api_base} if self._api_base else None
        return stripe.StripeClient(key, base_addresses=addresses, max_network_retries=2)  # type: ignore[arg-type]

    @staticmethod
    def _card(number: str | SecretStr, exp_month: int, exp_year: int, cvc: str | SecretStr) -> dict[str, Any]:
        return {"number": _secret(number), "exp_month": exp_month, "exp_year": exp_year, "cvc": _secret(cvc)}

    def create_payment_method(
        self, number: str | SecretStr, exp_month: int, exp_year: int, cvc: str | SecretStr
    ) -> TokenizedCard:
        """Tokenize a card with Stripe (the headless path); raises ``PaymentDeclinedError`` on card errors."""
        import stripe

        try:
            method = self._stripe().v1.payment_methods.create(
                params={"type": "card", "card": self._card(number, exp_month, exp_year, cvc)})
        except stripe.CardError as exc:
            raise PaymentDeclinedError(exc.user_message or "card rejected by Stripe",
                                       code="card_error", details={"decline_code": exc.code}) from None
        return TokenizedCard(id=method.id, brand=method.card.brand, last4=method.card.last4)

    def confirm_setup_intent(
        self, setup_intent_id: str, number: str | SecretStr, exp_month: int, exp_year: int, cvc: str | SecretStr,
        *, client_secret: str | None = None,
    ) -> str:
        """Confirm a setup intent with card details; returns the saved ``pm_...`` id."""
        import stripe

        params: dict[str, Any] = {"payment_method_data": {"type": "card",
                                                          "card": self._card(number, exp_month, exp_year, cvc)}}
        if client_secret:
            params["client_secret"] = client_secret
        try:
            intent = self._stripe().v1.setup_intents.confirm(setup_intent_id, params=params)
        except stripe.CardError as exc:
            raise PaymentDeclinedError(exc.user_message or "card rejected by Stripe",
                                       code="card_error", details={"decline_code": exc.code}) from None
        if intent.status != "succeeded":
            raise PaymentDeclinedError(f"setup intent is {intent.status}: the cardholder must authenticate",
                                       code="requires_action", details={"setup_intent_id": setup_intent_id})
        payment_method = intent.payment_method
        return str(payment_method if isinstance(payment_method, str) else payment_method.id)

    def save_card(
        self, number: str | SecretStr, exp_month: int, exp_year: int, cvc: str | SecretStr, *, make_default: bool = True
    ) -> TokenizedCard:
        """The setup-intent path end to end: create, confirm with Stripe, attach to the account."""
        setup = self._client.create_setup_intent()
        pm_id = self.confirm_setup_intent(setup.setup_intent_id, number, exp_month, exp_year, cvc,
                                          client_secret=setup.client_secret)
        attached = self._client.add_payment_method(pm_id, make_default=make_default)
        card = attached.payment_method
        return TokenizedCard(id=pm_id, brand=card.brand if card else None, last4=card.last4 if card else None)
