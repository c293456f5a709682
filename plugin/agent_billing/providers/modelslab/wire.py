"""How ModelsLab's API looks on the wire: the ``{data, error, meta}`` envelope, its error codes and 3-D Secure.

The codes that decide the exception class over the HTTP status (a 400 ``card_data_not_allowed`` is a
refusal of card data, not a plain invalid request); every other code goes by status.

Example:
    >>> from agent_billing.errors import error_from_envelope
    >>> type(error_from_envelope(400, {"code": "card_data_not_allowed"}, None,
    ...                          classes=WIRE.error_classes)).__name__
    'CardDataRefusedError'
"""

from __future__ import annotations

from agent_billing.conventions import ActionRequired, WireConventions

WIRE = WireConventions(
    error_classes={
        "validation_error": "InvalidRequestError",
        "card_data_not_allowed": "CardDataRefusedError",
        "payment_declined": "PaymentDeclinedError",
        "idempotency_error": "IdempotencyConflictError",
        "requires_action": "ActionRequiredError",
        "unauthenticated": "AuthenticationError",
        "insufficient_scope": "InsufficientScopeError",
    },
    # A charge the card's bank wants 3-D Secure for answers 2xx with the payment awaiting the cardholder.
    action_required=ActionRequired(container="payment", value="requires_action",
                                   details=("payment_intent_id", "client_secret"),
                                   message="The card needs 3-D Secure authentication by a person."),
    # A decline names the failed payment intent (``err.payment_intent_id``), as the 3-D Secure shape does.
    error_attributes={"PaymentDeclinedError": ("payment_intent_id",)},
)
