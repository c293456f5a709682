"""Issue 19 item 1: secrets a provider echoes reach no tool output, error, log line or audit record.

A tiny hostile provider (an ASGI wrapper around the real sandbox, served through
``agent_billing.inprocess``) answers the wallet balance with each secret shape and the configured
token in an error message, a request-id header, a 5xx body or a success field.
"""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest

from agent_billing.audit import JsonlAuditLog
from agent_billing.errors import BillingError
from agent_billing.inprocess import sandbox_clients
from agent_billing.retry import RetryPolicy
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit

SHAPES = [
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "Bearer abcDEF123456ghiJKL", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLiz",
    "seti_1NabcDEF12_secret_Xyz789abcDEF", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4",
    "wg_live_ab12CD34ef56GH78", "tnx_live_ZZ99yy88XX77ww66", "password=hunter2-Secret9",
]
# The client's own token: no recognisable shape at all.
TOKEN = "plainopaquevalue" + uuid.uuid4().hex[:12]
PLACES = ["message", "request_id", "server_error", "success_field"]
# The 500s are retried as usual (every retry's answer must be redacted too), without the real backoff's waits.
RETRY_AT_ONCE = RetryPolicy(base_delay=0.0, max_delay=0.0)


def hostile(secret: str, place: str) -> Any:
    sandbox = create_app(tokens=(TOKEN,), rate_limit=False)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/wallet/balance"):
            await sandbox(scope, receive, send)
            return
        headers = [(b"content-type", b"application/json")]
        status, body = 200, {"data": {"balance": "1.00", "currency": "USD"}, "meta": {"request_id": "req_1"}}
        if place == "message":
            status, body = 400, {"error": {"code": "bad_request", "message": f"invalid key {secret} given"}}
        elif place == "request_id":
            status, body = 404, {"error": {"code": "not_found", "message": "nothing"}}
            headers.append((b"x-request-id", f"req_{secret}".encode()))
        elif place == "server_error":
            status, body = 500, {"error": {"code": "internal", "message": f"trace: {secret}"}, "debug": secret}
        else:
            body["data"]["note"] = f"echo {secret}"  # type: ignore[index]
            body["meta"]["request_id"] = f"req {secret}"  # type: ignore[index]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})

    return app


def leaked(secret: str, text: str) -> bool:
    core = secret.split("=", 1)[-1].removeprefix("Bearer ")
    return core in text


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("secret", [*SHAPES, "TOKEN"])
async def test_echoed_secrets_reach_no_output(secret: str, place: str, tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    secret = TOKEN if secret == "TOKEN" else secret
    caplog.set_level(logging.DEBUG, logger="agent_billing")
    client, aclient = sandbox_clients(hostile(secret, place), token=TOKEN, retry=RETRY_AT_ONCE)
    seen: list[str] = []
    with JsonlAuditLog(tmp_path / "audit.jsonl") as audit:
        toolkit = BillingToolkit(client=client, async_client=aclient, audit=audit)
        tool = next(t for t in toolkit.get_tools() if t.name == "wallet")
        for run in ("sync", "async"):
            call = {"type": "tool_call", "name": "wallet", "args": {"action": "balance"}, "id": f"c_{run}"}
            message = tool.invoke(call) if run == "sync" else await tool.ainvoke(call)
            seen.append(str(message.content))
        # A direct client's typed result is for trusted code (like a client_secret): only its errors leave.
        try:
            client.get_wallet_balance()
        except BillingError as exc:
            seen += [str(exc), repr(exc), exc.message, json.dumps(exc.details, default=str), str(exc.request_id)]
        try:
            await aclient.get_wallet_balance()
        except BillingError as exc:
            seen += [str(exc), repr(exc.args), json.dumps(exc.details, default=str), str(exc.request_id)]
    seen.append((tmp_path / "audit.jsonl").read_text())
    seen += [record.getMessage() + (record.exc_text or "") for record in caplog.records]
    client.close()
    await aclient.aclose()
    assert seen[0] and seen[1]
    assert not [text for text in seen if leaked(secret, text)], place


def test_the_token_is_refused_as_an_argument_and_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Variants of the configured token (URL-encoded, base64 of user:token) are hidden in log lines."""
    import base64
    from urllib.parse import quote

    client, _ = sandbox_clients(create_app(tokens=(TOKEN,), rate_limit=False), token=TOKEN)
    caplog.set_level(logging.DEBUG, logger="agent_billing")
    basic = base64.b64encode(f":{TOKEN}".encode()).decode()
    logging.getLogger("agent_billing.client").warning("echo %s %s %s", quote(TOKEN), basic, f"Bearer {TOKEN}")
    text = caplog.records[-1].getMessage()
    assert TOKEN not in text and basic not in text and text.count("[redacted]") == 3
    client.close()


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("secret", [SHAPES[0], SHAPES[4], "TOKEN"])
def test_echoed_secrets_reach_no_mcp_result(secret: str, place: str) -> None:
    """The same echoes through a real MCP client session (memory transport) never reach the result."""
    from tests.mcp.mcp_helpers import memory_calls

    from agent_billing.mcp.server import BillingMCPServer

    secret = TOKEN if secret == "TOKEN" else secret
    client, aclient = sandbox_clients(hostile(secret, place), token=TOKEN, retry=RETRY_AT_ONCE)
    from agent_billing.audit import MemoryAuditLog

    toolkit = BillingToolkit(client=client, async_client=aclient, audit=MemoryAuditLog())
    [(content, _)] = memory_calls(BillingMCPServer(toolkit), [("wallet", {"action": "balance"})])
    client.close()
    assert content and not leaked(secret, json.dumps(content, ensure_ascii=False))
