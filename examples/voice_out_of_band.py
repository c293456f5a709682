"""A voice assistant whose approvals go out of band: the link by text message, the yes on the caller's phone.

Nobody on a phone call can click a button in the chat, and a "yes" heard over a noisy line is weak evidence.
Here the toolkit's approver is ``OutOfBandApprover``: a charge makes a one-time approval link, the notifier
sends it by text message (``TextMessageNotifier`` over an SMS gateway; here ``FakeSmsGateway`` keeps the texts),
and the assistant SAYS so ("I've sent a link to your phone to approve the $25 charge"). The caller opens the
link, reads the facts on the approval page and taps Approve or Decline there. The graph waits in a LangGraph
interrupt; each later turn of the caller is only a cue to look again: the decision is what the page recorded
in the guardrail store for exactly this charge, never what was said.

Run it against the sandbox, which serves the approval page at ``/approvals`` over the same state directory
(``pip install -e '.[demo]'`` in a checkout)::

    agent-billing sandbox &
    AGENT_BILLING_BASE_URL=http://127.0.0.1:8787/api/agents/v1 AGENT_BILLING_TOKEN=sk_sandbox_demo \\
        python examples/voice_out_of_band.py

The "SMS" is printed: open its link in a browser and approve, then press Enter for the caller's next turn.
``--help`` prints the options and charges nothing; ``--model openai:gpt-4.1-mini`` uses a real model.
"""

from __future__ import annotations

import argparse
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from agent_billing import BillingToolkit
from agent_billing.demo.agent import build_agent
from agent_billing.demo.narration import reply, spoken
from agent_billing.demo.scripted_model import ScriptedChatModel, last_tool_result, tool_call
from agent_billing.guardrails.out_of_band import ApprovalLink, OutOfBandApprover

LINK_KIND = "agent_billing_out_of_band_approval"  # the interrupt value of an out-of-band approval
@dataclass
class FakeSmsGateway:
    """Stands in for an SMS provider's API (Twilio, Vonage, SNS...): ``send`` keeps the text instead.

    Example:
        >>> gateway = FakeSmsGateway()
        >>> gateway.send("+15550100", "hello")
        'sms_1'
        >>> gateway.texts
        [('+15550100', 'hello')]
    """

    texts: list[tuple[str, str]] = field(default_factory=list)

    def send(self, to: str, body: str) -> str:
        """Send ``body`` to the phone number ``to``; the message id."""
        self.texts.append((to, body))
        return f"sms_{len(self.texts)}"


class TextMessageNotifier:
    """The deployer's notifier: the approval link by text message to the caller's phone.

    It remembers which approval requests it texted (ids only, never the link's token), so the assistant says
    "I've sent a link" only after the gateway took the text. A gateway that raises makes the approval fail:
    nothing is charged, and the link is closed.

    Example:
        >>> from datetime import datetime, timezone
        >>> from agent_billing.guardrails.approval import ApprovalRequest
        >>> gateway = FakeSmsGateway()
        >>> notify = TextMessageNotifier(gateway, "+15550100")
        >>> notify(ApprovalLink(url="https://pay.example/approvals/T", request=ApprovalRequest(operation="buy",
        ...     effect="charge", summary="Charge $25.00 USD."), expires_at=datetime(2026, 12, 5, tzinfo=timezone.utc),
        ...     request_id="apr_1"))
        >>> notify.sent, gateway.texts[0][1].splitlines()[0]
        ({'apr_1'}, 'Approve? Charge $25.00 USD.')
    """

    def __init__(self, gateway: FakeSmsGateway | Any, phone: str) -> None:
        self.gateway, self.phone = gateway, phone
        self.sent: set[str] = set()

    def __call__(self, link: ApprovalLink) -> None:
        self.gateway.send(self.phone, link.text)
        self.sent.add(link.request_id)


def spoken_amount(request: dict[str, Any]) -> str:
    """The charge as said aloud: "$25", "$12.50", "$29 every month", "40 EUR".

    Example:
        >>> spoken_amount({"amount": "25.00", "currency": "USD"}), spoken_amount({"amount": "12.5"})
        ('$25', '$12.50')
        >>> spoken_amount({"amount": "29", "currency": "USD", "recurring": True, "period": "month"})
        '$29 every month'
    """
    amount = Decimal(str(request.get("amount") or 0))
    number = f"{amount:.0f}" if amount == amount.to_integral_value() else f"{amount:.2f}"
    currency = str(request.get("currency") or "USD")
    said = f"${number}" if currency == "USD" else f"{number} {currency}"
    return f"{said} every {request['period']}" if request.get("recurring") and request.get("period") else said


def scripted_model() -> BaseChatModel:
    """A stand-in model: one $25.00 top-up with the test card, then a reply from the result."""
    return ScriptedChatModel(turns=[
        tool_call("wallet", action="fund", amount=25, payment_method_id="pm_card_visa"),
    ], final=lambda messages: AIMessage(content=reply(last_tool_result(messages), what="the $25.00 top-up",
                                                      done="Done, twenty-five dollars added.")))


class OutOfBandVoiceHost:
    """One call: ``hear(text)`` returns what to say. An approval is asked by text message, decided on the phone.

    ``toolkit`` must use an ``OutOfBandApprover`` with ``wait="interrupt"`` and ``notifier`` (its texts are how
    the host knows a link went out).

    Example:
        >>> from agent_billing.inprocess import sandbox_clients
        >>> from agent_billing.sandbox import create_app
        >>> notifier = TextMessageNotifier(FakeSmsGateway(), "+15550100")
        >>> approver = OutOfBandApprover(notifier=notifier, base_url="https://pay.example/approvals", wait="interrupt")
        >>> toolkit = BillingToolkit(async_client=sandbox_clients(create_app())[1], approval=approver,
        ...                          store=f"sqlite:///{tmp_dir / 'state.db'}")
        >>> OutOfBandVoiceHost(toolkit, notifier).pending is None
        True
    """

    def __init__(self, toolkit: BillingToolkit, notifier: TextMessageNotifier, model: BaseChatModel | None = None):
        self.graph = build_agent(model or scripted_model(), toolkit.get_tools(), InMemorySaver(),
                                 system_prompt=toolkit.system_prompt("voice"))
        self.notifier = notifier
        self.config = {"configurable": {"thread_id": uuid.uuid4().hex}}
        self.pending: Any = None
        self._announced: set[str] = set()

    def hear(self, text: str) -> str:
        """The caller said ``text``; the next spoken turn. While a link is out, any turn only looks again."""
        if self.pending is not None:  # the resume value is ignored: the page's recorded decision decides
            payload: Any = Command(resume={self.pending.id: "look again"})
        else:
            payload = {"messages": [("user", text)]}
        state = self.graph.invoke(payload, self.config)
        interrupts = state.get("__interrupt__") or []
        self.pending = interrupts[0] if interrupts else None
        if self.pending is None:
            return spoken(state["messages"][-1].text)
        value = self.pending.value
        if not isinstance(value, dict) or value.get("kind") != LINK_KIND:
            return "I need an approval I can't ask for on this call, so nothing was charged."
        request_id = str(value["approval_request_id"])
        charge = spoken_amount(value.get("request") or {})
        if request_id in self.notifier.sent and request_id not in self._announced:
            self._announced.add(request_id)
            return (f"I've sent a link to your phone to approve the {charge} charge. Tap approve or decline there, "
                    "then tell me.")
        return f"The {charge} charge is still waiting for you: open the link I texted you and tap approve or decline."


def main(argv: Sequence[str] | None = None, *, read: Callable[[str], str] = input) -> int:
    """A call against the API configured in the environment (for example the sandbox), the caller on stdin.

    The arguments are read before anything else, so ``--help`` only prints the help: nothing is charged.
    """
    parser = argparse.ArgumentParser(
        description="A voice call against the API in the environment (AGENT_BILLING_BASE_URL, AGENT_BILLING_TOKEN): "
                    "the caller asks for a $25.00 top-up and approves it on the link texted to them.")
    parser.add_argument("--model", help="PROVIDER:MODEL for init_chat_model (default: a scripted model, no key)")
    parser.add_argument("--phone", default="+15550100", help="the caller's phone number (the fake gateway prints)")
    parser.add_argument("--approval-base-url", default=None,
                        help="where the approval page is served over the same state directory (default: the "
                             "sandbox's, at the origin of AGENT_BILLING_BASE_URL)")
    args = parser.parse_args(argv)
    if args.approval_base_url is None:
        api = urlsplit(os.environ.get("AGENT_BILLING_BASE_URL") or "http://127.0.0.1:8787")
        args.approval_base_url = f"{api.scheme}://{api.netloc}/approvals"  # the sandbox serves its page there
    model: BaseChatModel | None = None
    if args.model:
        from langchain.chat_models import init_chat_model

        model = init_chat_model(args.model)

    class PrintingGateway(FakeSmsGateway):
        def send(self, to: str, body: str) -> str:
            print(f"SMS to {to}: {body}")
            return super().send(to, body)

    notifier = TextMessageNotifier(PrintingGateway(), args.phone)
    approver = OutOfBandApprover(notifier=notifier, base_url=args.approval_base_url, wait="interrupt")
    host = OutOfBandVoiceHost(BillingToolkit.from_env(approval=approver), notifier, model=model)
    said = "Please add twenty-five dollars with my card."
    while said:
        print(f"caller: {said}\nagent:  {host.hear(said)}")
        if host.pending is None:
            return 0
        try:
            said = read("caller (after tapping the link; empty to hang up): ").strip()
        except EOFError:
            said = ""
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
