"""Card numbers and secrets in a model's tool arguments are refused before anything reaches the provider.

Each test sends ``billing update_info`` through a toolkit bound to the in-process sandbox, with a card
number in an evasive encoding or a secret in an argument, and checks three things: the call is refused
(``card_data_not_allowed`` / ``secret_not_allowed``), the stored billing profile is unchanged, and the
refusal shows neither the digits nor the secret.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from tests.conftest import TOKEN
from tests.guardrails.strategies import evasive_formatted, evasive_split_fields, pans, plus_prefixed
from tests.tools.conftest import MakeToolkit, acall, call

from agent_billing.client import BillingClient
from agent_billing.tools.tool import BillingTool, make_tool

VISA = "4000056655665556"
EVASIVE_CARDS = [
    "4000:0566:5566:5556", "4000+0566+5566+5556", "4000|0566|5566|5556", "4000*0566*5566*5556",
    "(4000)(0566)(5566)(5556)", "4000\t\t\t\t\t\t0566\t5566\t5556", "4000      0566      5566      5556",
    "4000%200566%205566%205556", "400 00566 55665556", "40000 566556 65556", "40000566 55665556",
    "400005 6655665556", "4000 +0566 +5566 +5556", "+378282246310005", "+3782 822463 10005", "+36227206271667",
]  # fmt: skip
SPLIT_CARDS = [
    {"address_line1": "400", "address_line2": "00566", "address_city": "55665556"},
    {"address_line1": "40000", "address_line2": "566556", "address_city": "65556"},
    {"address_line1": "40000566", "address_line2": "55665556"},
    {"address_line1": "400005", "address_line2": "6655665556"},
]
SECRETS = [
    "sk_live_51HqLyjWDarjtT1zdp7dc", "sk_test_4eC39HqLyjWDarjtT1zdp7dc", "whsec_abcdefgh12345678",
    "seti_1AbcDEF_secret_XyZ987654321", "wg_live_AbCdEf0123456789", "tnx_live_9a3b3d3337e50801e966",
    "Bearer abcdefghijklmnop", "42|AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd",
]  # fmt: skip


def profile(client: BillingClient) -> dict[str, Any]:
    return client.get_billing_info().model_dump(mode="json")


def digits_of(text: str) -> str:
    return re.sub(r"\D", "", text)


def assert_refused(content: dict[str, Any], message: ToolMessage, error: str) -> None:
    assert content["ok"] is False and content["error"] == error, content
    assert message.status == "error"


@pytest.fixture
def billing(make_toolkit: MakeToolkit) -> BaseTool:
    return make_toolkit().get_tool("billing")


@pytest.fixture
def client(clients: tuple[BillingClient, Any]) -> BillingClient:
    return clients[0]


def test_an_ordinary_update_reaches_the_sandbox(billing: BaseTool, client: BillingClient) -> None:
    """The control: without card data or secrets the same call changes the profile."""
    content, _ = call(billing, action="update_info", address_line1="1 Main St", address_city="Berlin")
    assert content["ok"], content
    assert profile(client)["address_line1"] == "1 Main St"


@pytest.mark.parametrize("text", EVASIVE_CARDS)
@pytest.mark.parametrize("field", ["address_line1", "name"])
def test_evasive_card_encodings_are_refused_and_never_stored(billing: BaseTool, client: BillingClient,
                                                             text: str, field: str) -> None:
    before = profile(client)
    content, message = call(billing, action="update_info", **{field: text})
    assert_refused(content, message, "card_data_not_allowed")
    assert content["fields"] == [field]
    assert profile(client) == before
    shown = digits_of(str(message.content))
    for number in (VISA, "378282246310005", "36227206271667"):
        assert number[:8] not in shown and number[-8:] not in shown


@pytest.mark.parametrize("fields", SPLIT_CARDS)
async def test_card_split_across_fields_in_other_groupings_is_refused(billing: BaseTool, client: BillingClient,
                                                                      fields: dict[str, str]) -> None:
    before = profile(client)
    content, message = await acall(billing, action="update_info", **fields)
    assert_refused(content, message, "card_data_not_allowed")
    assert content["fields"] == ["+".join(fields)]
    assert profile(client) == before
    assert "5556" not in str(message.content) and "0566" not in str(message.content)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_generated_evasive_encodings_are_refused(billing: BaseTool, client: BillingClient, data: st.DataObject) -> None:
    pan = data.draw(st.one_of(pans(), plus_prefixed()))
    if data.draw(st.booleans()) or len(pan.digits) != 16:
        text = data.draw(evasive_formatted(pan))
        if not text.startswith(("(", "[")) and data.draw(st.booleans()) and pan.brand in ("amex", "diners"):
            text = "+" + text
        fields = {"address_line1": text}
    else:
        fields = data.draw(evasive_split_fields(pan))
    before = profile(client)
    content, message = call(billing, action="update_info", **fields)
    assert_refused(content, message, "card_data_not_allowed")
    assert profile(client) == before
    assert pan.digits[:8] not in digits_of(str(message.content)) and pan.last4 not in str(message.content)


@pytest.mark.parametrize("secret", SECRETS)
def test_secret_looking_values_are_refused_and_never_stored(billing: BaseTool, client: BillingClient,
                                                            secret: str) -> None:
    before = profile(client)
    content, message = call(billing, action="update_info", address_line2=f"key {secret}", name="Ada")
    assert_refused(content, message, "secret_not_allowed")
    assert content["fields"] == ["address_line2"] and content["kinds"] == ["secret_value"]
    assert profile(client) == before
    assert secret not in str(message.content) and secret[-8:] not in str(message.content)


def forwarding_tool(billing: BaseTool, token: str) -> BillingTool:
    """A tool with the toolkit's billing schema that forwards to it, knowing the configured token."""

    def run(raw: dict[str, Any], call_id: str | None) -> tuple[dict[str, Any], bool, dict[str, Any]]:
        content = json.loads(str(billing.invoke(raw)))
        return content, not content.get("ok", False), {}

    schema: Any = billing.args_schema
    return make_tool(name="billing", description=billing.description, args_schema=schema, run_sync=run,
                     run_async=run, known_secrets=lambda: [token])


@pytest.mark.parametrize("hide", [
    lambda t: t,
    lambda t: f"my token is {t}, thanks",
    lambda t: "\u200b".join(t),
    lambda t: "".join(f"%{ord(c):02X}" for c in t),
])  # fmt: skip
async def test_the_configured_token_is_refused_anywhere(billing: BaseTool, client: BillingClient, hide: Any) -> None:
    tool = forwarding_tool(billing, TOKEN)
    before = profile(client)
    for content, message in (call(tool, action="update_info", address_city=hide(TOKEN)),
                             await acall(tool, action="update_info", address_city=hide(TOKEN))):
        assert_refused(content, message, "secret_not_allowed")
        assert content["fields"] == ["address_city"] and content["kinds"] == ["known_secret"]
        assert TOKEN not in str(message.content)
    assert profile(client) == before
    ok, _ = call(tool, action="update_info", address_city="Hamburg")  # the control: the tool does forward
    assert ok["ok"], ok
    assert profile(client)["address_city"] == "Hamburg"


def test_without_known_secrets_the_same_value_is_not_a_secret(billing: BaseTool) -> None:
    """Judgment call: a token with no recognisable shape is a secret only because it is configured."""
    content, _ = call(billing, action="update_info", address_city="Zq8xLmN3pR7tVb2Wk9YcHs4D")
    assert content["ok"], content


def test_the_toolkit_refuses_its_own_token_in_any_argument() -> None:
    """A token with no secret-looking shape: only the toolkit knows it is the key. Refused, audited, not stored."""
    from agent_billing.audit import MemoryAuditLog
    from agent_billing.inprocess import sandbox_clients
    from agent_billing.sandbox import create_app
    from agent_billing.tools import BillingToolkit

    plain = "acmeorgkey42"
    client, aclient = sandbox_clients(create_app(tokens=(plain,), rate_limit=False), token=plain)
    audit = MemoryAuditLog()
    billing = BillingToolkit(client=client, async_client=aclient, audit=audit).get_tool("billing")
    message = billing.invoke({"type": "tool_call", "name": "billing", "id": "call_tok",
                              "args": {"action": "update_info", "name": f"ref {plain}"}})
    assert '"secret_not_allowed"' in str(message.content) and plain not in str(message.content)
    assert client.get_billing_info().name is None
    assert [e.decision for e in audit.events] == ["refused"] and "secret" in (audit.events[0].reason or "")
    client.close()
