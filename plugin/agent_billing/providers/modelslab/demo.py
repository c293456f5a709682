"""ModelsLab's demo scenes: what the scripted agent of ``agent-billing demo`` does against this sandbox.

The core runner (:mod:`agent_billing.demo.runner`) plays any provider's scenes, found as this package's
``demo`` part: ``SCENES`` (played in order), ``ledger`` (the closing line that says what the account holds)
and ``pay`` (how the simulated person pays a hand-off's page on this sandbox).

Scenes: (1) headless top-up with a payment method from trusted code, (2) setup intent, then a
subscription, (3) human-assisted top-up, waiting while the person pays, (4) a declined card handed off
to a payment link, (5) a card number typed into the chat, refused.

Example:
    >>> [scene.__name__ for scene in SCENES][:2]
    ['scene_headless', 'scene_setup_intent']
"""

from __future__ import annotations

from typing import Any

import httpx
from rich.console import Console

from agent_billing.card_tokenization import CardTokenizer
from agent_billing.demo.narration import failure
from agent_billing.demo.runner import Scene, Terminal, agrees, answer, continue_if, relay
from agent_billing.demo.scripted_model import last_tool_result, tool_call
from agent_billing.money import format_usd
from agent_billing.providers.modelslab.client import ModelsLabClient
from agent_billing.tools import BillingToolkit


def pay(root_url: str, handoff: dict[str, Any]) -> tuple[int, int]:
    """The person opens the hand-off's page and pays it on the sandbox: the two HTTP statuses.

    Example:
        >>> from agent_billing.sandbox import SandboxServer
        >>> with SandboxServer(tokens=("sk_pay",)) as server, ModelsLabClient(base_url=server.base_url,
        ...                                                                   token="sk_pay") as client:
        ...     link = client.create_payment_link("fund", 40)
        ...     pay(server.root_url, {"payment_url": link.payment_url, "session_id": link.session_id})
        ...     _ = client.confirm_wallet_checkout(link.session_id)
        ...     client.get_wallet_balance().balance
        (200, 200)
        Decimal('40.00')
    """
    page = httpx.get(handoff["payment_url"], timeout=10)
    paid = httpx.post(f"{root_url}/sandbox/checkout/{handoff['session_id']}/complete", timeout=10)
    return page.status_code, paid.status_code


def ledger(client: ModelsLabClient) -> str:
    """What the account holds at the end: the wallet's balance and the subscriptions.

    Example:
        >>> from agent_billing.sandbox import SandboxServer
        >>> with SandboxServer(tokens=("sk_l",)) as server, ModelsLabClient(base_url=server.base_url,
        ...                                                                 token="sk_l") as client:
        ...     ledger(client)
        'wallet balance $0.00; subscriptions: none'
    """
    balance = client.get_wallet_balance().balance
    subscriptions = client.list_subscriptions().subscriptions
    return (f"wallet balance {format_usd(balance)}; subscriptions: "
            + (", ".join(f"plan {s.plan_id} {s.status}" for s in subscriptions) or "none"))


def scene_headless(console: Console, toolkit: BillingToolkit, terminal: Terminal, client: ModelsLabClient) -> bool:
    """Scene 1: trusted code tokenizes a test card and the agent tops up headless; True if the ledger agrees.

    Example:
        >>> from agent_billing.demo.runner import rehearse
        >>> agreed, transcript = rehearse(scene_headless)
        >>> agreed, "wallet <- Wallet funded with $25.00 from Visa ending 4242." in transcript
        (True, True)
    """
    console.rule("1. Headless: trusted code holds a payment method, the agent tops up")
    card = CardTokenizer.for_sandbox(client).create_payment_method("4242424242424242", 12, 2030, "123")
    console.print(f"[dim]trusted code tokenized a test card with the stripe SDK: {card.brand} ending {card.last4} "
                  f"-> {card.id} (the agent only ever sees this id)[/dim]")
    before = client.get_wallet_balance().balance
    scene = Scene.scripted("headless", toolkit, terminal, [
        tool_call("payment_path", purpose="fund", amount=25, trusted_payment_method_id=card.id),
        tool_call("wallet", action="fund", amount=25, payment_method_id=card.id),
    ], final=answer("Your wallet has been topped up by $25.00.", what="the $25.00 top-up"))
    result = scene.say(f"Please add $25 to my wallet. Our checkout service created payment method {card.id}.")
    return agrees(result, before, client.get_wallet_balance().balance, 25)


def scene_setup_intent(console: Console, toolkit: BillingToolkit, terminal: Terminal, client: ModelsLabClient) -> bool:
    """Scene 2: a setup intent saves a card, then the agent subscribes with it; True if the ledger agrees.

    Example:
        >>> from agent_billing.demo.runner import rehearse
        >>> agreed, transcript = rehearse(scene_setup_intent)
        >>> agreed, "You are subscribed to the Standard plan." in transcript
        (True, True)
    """
    console.rule("2. Setup intent: save a card, then subscribe")
    scene = Scene.scripted("setup-intent", toolkit, terminal, [
        tool_call("payment_path", purpose="subscribe", plan_id=10, wants_to_save_card=True),
        tool_call("payment_methods", action="setup_intent"),
    ], final=answer("I started saving your card; please confirm it on the secure form.", what="saving your card"))
    result = scene.say("Save my card for later and put me on the Standard plan (id 10).")
    seti = last_tool_result(result["messages"]).get("result", {}).get("setup_intent_id")
    if seti is None:
        return False
    pm_id = CardTokenizer.for_sandbox(client).confirm_setup_intent(str(seti), "5555555555554444", 11, 2031, "321")
    console.print(f"[dim]the person confirmed {seti} on a secure form (stripe SDK, trusted code) -> {pm_id}; "
                  "confirming saved the card on the account[/dim]")
    scene = Scene.scripted("setup-intent-2", toolkit, terminal, [
        tool_call("payment_methods", action="list"),
        tool_call("subscriptions", action="plans"),
        tool_call("subscriptions", action="create", plan_id=10, payment_method_id=pm_id),
    ], final=answer("You are subscribed to the Standard plan.", what="the Standard subscription"))
    result = scene.say("Done, the card is saved. Go ahead with the subscription.")
    active = any(s.plan_id == 10 and s.status == "active" for s in client.list_subscriptions().subscriptions)
    return active == (failure(last_tool_result(result["messages"])) is None)


def scene_human(console: Console, toolkit: BillingToolkit, terminal: Terminal, client: ModelsLabClient) -> bool:
    """Scene 3: the person pays a top-up on a hosted page while the agent waits; True if the ledger agrees.

    Example:
        >>> from agent_billing.demo.runner import rehearse
        >>> agreed, transcript = rehearse(scene_human)
        >>> agreed, "Thanks, your $40.00 payment arrived." in transcript
        (True, True)
    """
    console.rule("3. Human-assisted: the person pays on a hosted page, the agent waits")
    before = client.get_wallet_balance().balance
    scene = Scene.scripted("human", toolkit, terminal, [
        tool_call("payment_path", purpose="fund", amount=40, channel="chat"),
        tool_call("wallet", action="fund_via_human", amount=40, channel="chat"),
    ], final=answer("Thanks, your $40.00 payment arrived.", what="the $40.00 payment"))
    result = scene.say("I'd rather pay myself. Add $40.")
    return agrees(result, before, client.get_wallet_balance().balance, 40)


def scene_declined(console: Console, toolkit: BillingToolkit, terminal: Terminal, client: ModelsLabClient) -> bool:
    """Scene 4: a declined card is not retried, a payment link is sent instead; True if the ledger agrees.

    Example:
        >>> from agent_billing.demo.runner import rehearse
        >>> agreed, transcript = rehearse(scene_declined, auto_yes=False)
        >>> agreed, "not approved: no terminal to ask" in transcript
        (True, True)
    """
    console.rule("4. Declined card: no retry, a payment link instead")
    before = client.get_wallet_balance().balance
    scene = Scene.scripted("declined", toolkit, terminal, [
        tool_call("wallet", action="fund", amount=30, payment_method_id="pm_card_chargeDeclined"),
        continue_if("payment_declined", tool_call("payment_path", purpose="fund", amount=30, card_declined=True),
                    done="Your wallet has been topped up by $30.00.", what="the $30.00 top-up"),
        tool_call("payment_links", action="handoff", purpose="fund", amount=30, channel="chat"),
    ], final=answer(relay("Your bank declined that card, so nothing was charged."), what="the payment link"))
    result = scene.say("Top up $30 with my old card (pm_card_chargeDeclined).")
    # Nobody pays this link in the demo: whatever the approval, the wallet must not move.
    return client.get_wallet_balance().balance == before and bool(result["messages"])


def scene_card_number(console: Console, toolkit: BillingToolkit, terminal: Terminal, client: ModelsLabClient) -> bool:
    """Scene 5: a card number typed into the chat is refused, never repeated; True if it went as designed.

    Example:
        >>> from agent_billing.demo.runner import rehearse
        >>> agreed, transcript = rehearse(scene_card_number)
        >>> agreed, "I can't take card numbers here" in transcript
        (True, True)
    """
    console.rule("5. A card number in the chat: refused, never repeated")
    scene = Scene.scripted("card-number", toolkit, terminal, [
        tool_call("payment_methods", action="add", payment_method_id="4242 4242 4242 4242"),
        continue_if("card_data_not_allowed",
                    tool_call("payment_links", action="handoff", purpose="fund", amount=20, channel="chat"),
                    done="Your card is saved.", what="saving the card"),
    ], final=answer(relay("I can't take card numbers here, so I did not use it."), what="the payment link"))
    result = scene.say("Just use my card 4242 4242 4242 4242, exp 12/30, cvc 123, and add $20.")
    tool_results = [str(m.content) for m in result["messages"] if m.type == "tool"]
    refused = any("card_data_not_allowed" in content for content in tool_results)
    leaked = any("4242 4242" in content for content in tool_results)
    return refused and not leaked


SCENES = (scene_headless, scene_setup_intent, scene_human, scene_declined, scene_card_number)
