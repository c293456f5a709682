"""What a tool result means, in one sentence: for the transcript, and for the scripted agent's reply.

Tool results are JSON objects with ``"ok": true|false``; a failure names its ``"error"`` code. The
scripted agent must never claim more than the result says, so its words are chosen here from the
result, never written in advance: a success sentence is used only when ``ok`` is true.

Example:
    >>> reply({"ok": False, "error": "rejected"}, done="Your wallet has been topped up.", what="the $25.00 top-up")
    'The $25.00 top-up was not approved, so nothing was charged.'
    >>> summary({"ok": True, "operation": "top_up", "result": {"message": "Wallet funded with $25.00."}})
    'Wallet funded with $25.00.'
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from agent_billing.guardrails.approval_text import safe_line
from agent_billing.money import format_usd

# What each failure means for the person, said without claiming anything the result does not say.
# "{what}" is the action in the agent's words ("the $25.00 top-up").
_REPLIES: dict[str, str] = {
    "rejected": "{What} was not approved, so nothing was charged.",
    "refused": "I could not do {what}: a safety rule refused it ({message}), so nothing was charged.",
    "card_data_not_allowed": "I can't take card numbers here, so I did not use them and nothing was charged.",
    "secret_not_allowed": "I can't take secrets here, so I did not use them and nothing was done.",
    "outcome_unknown": "I don't know yet whether {what} went through: the connection failed before an answer "
                       "came. I will check your transactions before trying anything else.",
    "intent_changed": "What you approved changed before it ran, so nothing was charged. Shall I ask you again?",
    "payment_declined": "Your bank declined the card{decline}, so nothing was charged.",
    "validation_error": "I could not do {what}: the request was not valid ({message}). Nothing was done.",
    "expired": "The payment link expired before it was paid, so nothing was charged.",
    "pending": "I have not seen your payment yet; the link stays open until it expires.",
}
_SUMMARIES: dict[str, str] = {
    "rejected": "not approved: nothing charged",
    "refused": "refused by a guardrail: nothing moved ({message})",
    "card_data_not_allowed": "refused: card data in the arguments (nothing echoed, nothing sent)",
    "secret_not_allowed": "refused: a secret in the arguments (nothing echoed, nothing sent)",
    "outcome_unknown": "outcome unknown: it may or may not have gone through; check transactions",
    "intent_changed": "not run: what the person approved changed; nothing charged",
    "payment_declined": "declined by the bank{decline}: nothing charged",
}


def failure(content: dict[str, Any]) -> str | None:
    """The failure code of a tool result (its ``error``, or a non-success ``status``), None on success.

    Example:
        >>> failure({"ok": True}), failure({"ok": False, "status": "confirmation_required"}), failure({})
        (None, 'confirmation_required', 'unknown')
    """
    if content.get("ok") is True:
        return None
    return str(content.get("error") or content.get("status") or "unknown")


def first_sentence(text: str, limit: int = 160) -> str:
    """The first sentence of ``text``, cut at a word boundary if still longer than ``limit``.

    Example:
        >>> first_sentence("Your card was declined. No money moved.")
        'Your card was declined.'
        >>> first_sentence("word " * 50, limit=12)
        'word word...'
    """
    match = re.match(r"(.+?[.!?])(\s|$)", text.strip(), re.DOTALL)
    sentence = (match.group(1) if match else text.strip()).replace("\n", " ")
    if len(sentence) <= limit:
        return sentence
    return sentence[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "..."


# A URL, without the punctuation that ends its sentence.
_URL = re.compile(r"https?://\S+?(?=[.,;:!?)]*(?:\s|$))")


def spoken(text: str, limit: int = 2) -> str:
    """What a voice host says aloud: at most ``limit`` short sentences, every URL replaced by "the link I texted
    you" (a link is sent by text message, never read out).

    Example:
        >>> spoken("Pay here: https://pay.example/x. It expires at noon. Anything else?")
        'Pay here: the link I texted you. It expires at noon.'
    """
    text = _URL.sub("the link I texted you", text)
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    return " ".join(first_sentence(part, limit=140) for part in sentences[:limit])


def _fill(template: str, content: dict[str, Any], what: str) -> str:
    found = re.search(r"decline code: (\w+)", str(content.get("message", "")))
    decline = content.get("decline_code") or (found.group(1) if found else None)
    message = first_sentence(str(content.get("message") or "no reason given")).rstrip(".")
    return template.format(what=what, What=what[:1].upper() + what[1:], message=message,
                           decline=f" ({decline})" if decline else "")


def reply(content: dict[str, Any], *, done: str, what: str) -> str:
    """The scripted agent's words after an action: ``done`` only if the result says it succeeded.

    ``what`` names the action ("the subscription"); unknown failure codes are reported as they are.

    Example:
        >>> reply({"ok": True}, done="You are subscribed.", what="the subscription")
        'You are subscribed.'
        >>> reply({"ok": False, "error": "payment_declined", "decline_code": "generic_decline"}, done="", what="it")
        'Your bank declined the card (generic_decline), so nothing was charged.'
        >>> reply({"ok": False, "error": "outcome_unknown"}, done="", what="the top-up")[:45]
        "I don't know yet whether the top-up went thro"
        >>> reply({"ok": False, "error": "rate_limited", "message": "Slow down. Retry in 3 s."}, done="", what="it")
        'That did not go through: the billing service answered rate_limited (Slow down).'
        >>> reply({"ok": False, "status": "confirmation_required", "summary": "Charge $5.00"}, done="", what="it")
        'Please confirm: Charge $5.00. Shall I go ahead?'
    """
    code = failure(content)
    if code is None:
        return done
    if code == "confirmation_required":
        # The facts line only (the rendered text's first line): what the person approves, from the intent.
        facts = safe_line(str(content.get("summary") or what).split("\n")[0]).rstrip(".")
        return f"Please confirm: {facts}. Shall I go ahead?"
    template = _REPLIES.get(code, "That did not go through: the billing service answered {code} ({message}).")
    return _fill(template.replace("{code}", code), content, what)


def summary(content: dict[str, Any]) -> str:
    """One sentence saying what a tool result means (the transcript's line; ``--verbose`` shows the JSON).

    Example:
        >>> summary({"ok": False, "operation": "top_up", "error": "payment_declined", "decline_code": "do_not_honor"})
        'declined by the bank (do_not_honor): nothing charged'
        >>> summary({"ok": True, "path": "human_assisted", "reason": "The person pays on a hosted page."})
        'advice: human_assisted. The person pays on a hosted page.'
        >>> summary({"ok": True, "operation": "list_prices", "result": {"price_tiers": [1, 2, 3]}})
        'price tiers: 3'
    """
    code = failure(content)
    if code is not None:
        if code in _SUMMARIES:
            return _fill(_SUMMARIES[code], content, "")
        return f"{code}: {first_sentence(str(content.get('message') or 'no message'))}"
    if "path" in content:
        return f"advice: {content['path']}. {first_sentence(str(content.get('reason', '')))}"
    if content.get("operation") == "handoff":
        return f"payment link created for {content.get('purpose')}, expires {content.get('expires_at')}"
    result = content.get("result")
    if isinstance(result, dict):
        if result.get("message"):
            return first_sentence(str(result["message"]))
        lists = [(key, value) for key, value in result.items() if isinstance(value, list)]
        if len(lists) == 1:
            key, items = lists[0]
            return f"{key.replace('_', ' ')}: {len(items)}"
        ids = [(key, value) for key, value in result.items() if key.endswith("_id") and isinstance(value, str)]
        if ids:
            status = f" (status {result['status']})" if result.get("status") else ""
            return f"{content.get('operation', 'done')}: {ids[0][1]}{status}"
        if "balance" in result:
            return f"balance {format_usd(Decimal(str(result['balance'])))}"
    return f"{content.get('operation', 'done')}: ok"
