"""No card number and no secret in anything the instrumentation exports.

A session full of card numbers (separators, Unicode digits, split across fields, in a tool call id) and
secrets (every provider's key shapes, the toolkit's own token, in arguments, in the LangChain config's
thread id and metadata, in MCP ``_meta``) runs through the tools (sync and async) and the MCP server, with
charges approved, declined and refused. Then every exported span (name, attributes, events, links, status
description) and every metric point's attributes are searched: none carries a card number or a secret.
"""

from __future__ import annotations

import asyncio
import json
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
from tests.conftest import TOKEN
from tests.telemetry_helpers import Exported, exporting, mcp_call
from tests.tools.conftest import acall

from agent_billing.audit import MemoryAuditLog
from agent_billing.inprocess import sandbox_clients
from agent_billing.mcp.server import BillingMCPServer
from agent_billing.tools import BillingToolkit

PANS = ["4000056655665556", "4242424242424242", "378282246310005", "36227206271667", "5555555555554444"]
WRITTEN = [
    "4000 0566 5566 5556", "4242-4242-4242-4242", "3782 822463 10005", "3622|7206|2716|67", "5555.5555.5555.4444",
    "４２４２４２４２４２４２４２４２",  # fullwidth digits
    "٤٠٠٠٠٥٦٦٥٥٦٦٥٥٥٦",  # Arabic-Indic digits
]  # fmt: skip
SPLIT = [{"address_line1": "4000 0566", "address_line2": "5566 5556"},
         {"address_line1": "378282", "address_line2": "246310005"}]
SECRETS = [
    "sk_live_51HqLyjWDarjtT1zdp7dc", "sk_test_4eC39HqLyjWDarjtT1zdp7dc", "whsec_abcdefgh12345678",
    "seti_1AbcDEF_secret_XyZ987654321", "wg_live_AbCdEf0123456789", "tnx_live_9a3b3d3337e50801e966",
    "Bearer abcdefghijklmnop", "42|AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd", TOKEN,
]  # fmt: skip


@pytest.fixture
def exported() -> Iterator[Exported]:
    yield from exporting()


def digits_of(text: str) -> str:
    """The digits of ``text`` in ASCII, whatever script they were written in."""
    return "".join(str(unicodedata.digit(c)) for c in text if unicodedata.digit(c, None) is not None)


def exported_texts(exported: Exported) -> list[str]:
    """Every string the exporters received from the instrumentation, one per name, key or value."""
    texts: list[str] = []

    def add(attributes: Any) -> None:
        for key, value in dict(attributes or {}).items():
            texts.append(str(key))
            texts.extend(str(v) for v in (value if isinstance(value, (list, tuple)) else [value]))

    for span in exported.finished():
        texts.append(span.name)
        add(span.attributes)
        texts.append(span.status.description or "")
        for event in span.events:
            texts.append(event.name)
            add(event.attributes)
        for link in span.links:
            add(link.attributes)
    data = exported.reader.get_metrics_data()
    for resource in data.resource_metrics if data is not None else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                texts.append(metric.name)
                for point in metric.data.data_points:
                    add(point.attributes)
    return texts


def test_a_session_full_of_card_numbers_and_secrets_exports_none_of_them(exported: Exported,
                                                                          sandbox_app: Any) -> None:
    client, aclient = sandbox_clients(sandbox_app, token=TOKEN)
    client.add_payment_method("pm_card_visa", make_default=True)
    kit = BillingToolkit(client=client, async_client=aclient, audit=MemoryAuditLog(),
                         approval=lambda request: request.amount is not None and request.amount < 30)
    billing, wallet = kit.get_tool("billing"), kit.get_tool("wallet")
    poisoned = {"configurable": {"thread_id": f"thread {PANS[0]} {SECRETS[0]}"},
                "metadata": {"thread_id": SECRETS[1], "note": WRITTEN[0]}}
    for number, written in enumerate(WRITTEN):
        billing.invoke({"type": "tool_call", "name": "billing", "id": f"call_{PANS[1]}_{number}",
                        "args": {"action": "update_info", "address_line1": written}}, config=poisoned)
    for fields in SPLIT:
        billing.invoke({"type": "tool_call", "name": "billing", "id": "call_split",
                        "args": {"action": "update_info", **fields}})
    for secret in SECRETS:
        billing.invoke({"type": "tool_call", "name": "billing", "id": f"call {secret}",
                        "args": {"action": "update_info", "address_line2": f"key {secret}", "name": "Ada"}},
                       config={"configurable": {"thread_id": secret}, "run_id": None})
    for amount in ("25", "40", PANS[1]):  # approved, declined, refused (a card number as an amount)
        wallet.invoke({"type": "tool_call", "name": "wallet", "id": f"call_{PANS[2]}",
                       "args": {"action": "fund", "amount": amount}}, config=poisoned)

    async def concurrently() -> None:
        await asyncio.gather(*(acall(billing, f"call_{PANS[3]}", action="update_info", address_line1=w) for w in WRITTEN),
                             acall(wallet, SECRETS[4], action="fund", amount="20"))

    asyncio.run(concurrently())
    server = BillingMCPServer(BillingToolkit(async_client=aclient, audit=MemoryAuditLog()))
    meta = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": SECRETS[2],
            "baggage": f"card={PANS[4]}", "note": SECRETS[5]}
    for arguments in ({"action": "update_info", "address_line1": WRITTEN[4]},
                      {"action": "update_info", "address_line2": f"token={SECRETS[6]}"}):
        content, is_error = mcp_call(server, "billing", arguments, meta=meta)
        assert is_error and content["error"] in ("card_data_not_allowed", "secret_not_allowed")
    client.close()

    texts = exported_texts(exported)
    assert len(exported.named("execute_tool ")) >= 20 and len(exported.named("tools/call ")) == 2
    dump = json.dumps(texts, ensure_ascii=False)
    for secret in SECRETS:
        for piece in re.split(r"[ |]", secret):
            assert len(piece) < 8 or piece not in dump, (piece, [t for t in texts if piece in t])
    for text in texts:
        shown = digits_of(text)
        for pan in PANS:
            assert pan[:8] not in shown and pan[4:12] not in shown and pan[-8:] not in shown, (pan, text)
    # The facts are there all the same: outcomes, and what the guard refused and why.
    outcomes = {dict(s.attributes or {}).get("agent_billing.outcome") for s in exported.named("execute_tool ")}
    assert {"ok", "declined", "refused"} <= outcomes, outcomes
    assert exported.total("agent_billing.guard.refusals", **{"refusal.reason": "card_data_not_allowed"}) >= 10
    assert exported.total("agent_billing.guard.refusals", **{"refusal.reason": "secret_not_allowed"}) >= 9
