"""The MCP server: the toolkit's tools, with the toolkit's guardrails, for any MCP host.

Each MCP tool is one of ``BillingToolkit``'s tools (one per group, or per operation), with the JSON
schema a LangChain model receives for it and annotations derived from what it can do. A call runs the
LangChain tool itself, so the card-data and secret guards, validation, charge intent, mandate,
approvals, idempotency and audit all apply exactly as they do in LangChain. The server's toolkit asks
for approvals with form-mode elicitation (``approver.ElicitationApprover``).

A result that carries a payment page (a payment-link handoff, ``fund_via_human``, an
``ensure_funded`` that needs the person, a subscription checkout) goes to the person as a URL-mode
elicitation when the client supports it: the page collects card details, which the MCP specification
allows only in URL mode. On the person's consent the server waits for the payment as the ``wait``
action does (if this deployment offers ``payment_links.wait``) and reports the outcome.

The tool input is not validated against the schema by the SDK: the tool validates it itself, after
the card-data guard, so a card number sent in a wrongly typed field is never echoed in an error.

Example:
    >>> from agent_billing.sandbox import create_app
    >>> from agent_billing.inprocess import sandbox_clients
    >>> from agent_billing.audit import MemoryAuditLog
    >>> from agent_billing.tools import BillingToolkit
    >>> toolkit = BillingToolkit(async_client=sandbox_clients(create_app())[1], approval=ElicitationApprover(),
    ...                          audit=MemoryAuditLog())
    >>> server = BillingMCPServer(toolkit)
    >>> [(tool.name, tool.annotations.readOnlyHint) for tool in server.tool_definitions()][3:5]
    [('wallet', False), ('coupons', False)]
    >>> result = asyncio.run(server.call("wallet", {"action": "balance"}))
    >>> result.isError, result.content[0].text
    (False, '{"ok":true,"operation":"get_wallet_balance","result":{"balance":"0.00","currency":"USD"}}')
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from mcp.server.lowlevel.server import Server, request_ctx
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from agent_billing import __version__
from agent_billing.mcp.annotations import tool_annotations
from agent_billing.mcp.approver import ElicitationApprover, client_modes
from agent_billing.tools import BillingToolkit
from agent_billing.tools.tool import dumps_content
from mcp import types

__all__ = ["BillingMCPServer", "ElicitationApprover"]

INSTRUCTIONS = (
    "Billing tools for this account: wallet, saved cards, invoices, subscriptions and payment links. Money moves "
    "only with the person's approval (asked by this server through your client) or inside the deployer's "
    "mandate. Never ask for or pass card numbers: hand off with a payment link instead."
)
LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]


def _payment_page(content: dict[str, Any]) -> tuple[str, str, str | None] | None:
    """(url, checkout session id, purpose) of a payment page in a successful result, if there is one."""
    for place in (content, content.get("result")):
        if not isinstance(place, dict) or not isinstance(place.get("session_id"), str):
            continue
        if isinstance(place.get("payment_url"), str):
            return place["payment_url"], place["session_id"], place.get("purpose") or content.get("purpose")
        if isinstance(place.get("checkout_url"), str):
            return place["checkout_url"], place["session_id"], "subscribe"
    return None


class BillingMCPServer:
    """An MCP server (``mcp`` SDK, low-level ``Server``) serving a ``BillingToolkit``'s tools.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.inprocess import sandbox_clients
        >>> from agent_billing.audit import MemoryAuditLog
        >>> reader = BillingToolkit(async_client=sandbox_clients(create_app())[1], actions="read_only",
        ...                         audit=MemoryAuditLog())
        >>> [tool.name for tool in BillingMCPServer(reader).tool_definitions()][-2:]
        ['subscriptions', 'payment_path']
    """

    def __init__(self, toolkit: BillingToolkit, *, name: str = "agent-billing") -> None:
        self.toolkit = toolkit
        self._tools = {tool.name: tool for tool in toolkit.get_tools()}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.server: Server[Any, Any] = Server(name, version=__version__, instructions=INSTRUCTIONS)
        self.server.list_tools()(self._list_tools)  # type: ignore[no-untyped-call]
        self.server.call_tool(validate_input=False)(self.call)

    def tool_definitions(self) -> list[types.Tool]:
        """The MCP tool list: same names, descriptions and input schemas as the LangChain tools, plus annotations."""
        definitions = []
        for name, tool in self._tools.items():
            function = convert_to_openai_tool(tool)["function"]
            hints = tool_annotations(self.toolkit, name)
            definitions.append(types.Tool(name=name, title=hints.title, description=function["description"],
                                          inputSchema=function["parameters"], annotations=hints))
        return definitions

    async def _list_tools(self) -> list[types.Tool]:
        return self.tool_definitions()

    async def call(self, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        """Run one tool call through the toolkit's tool, then hand a payment page over if it made one."""
        tool = self._tools.get(name)
        if tool is None:
            return _result({"ok": False, "error": "unknown_tool", "message": f"No tool {name!r} here. Tools: "
                            f"{', '.join(self._tools)}."}, True)
        content, is_error = await self._run(name, arguments or {})
        page = None if is_error else _payment_page(content)
        if page is not None:
            content, is_error = await self._hand_over(content, *page)
        return _result(content, is_error)

    async def _run(self, name: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        # A fresh tool-call id per MCP call: approvals and idempotency keys are scoped to it, and MCP
        # request ids repeat across sessions.
        message = await self._tools[name].ainvoke({"type": "tool_call", "name": name, "args": arguments,
                                                   "id": f"mcp_{uuid.uuid4().hex}"})
        assert isinstance(message, ToolMessage)
        try:
            content = json.loads(str(message.content))
        except ValueError:
            content = {"ok": False, "error": "tool_error", "message": str(message.content)}
        return content, message.status == "error"

    async def _hand_over(self, content: dict[str, Any], url: str, session_id: str,
                         purpose: str | None) -> tuple[dict[str, Any], bool]:
        """Send the payment page by URL elicitation, then wait for the payment (when the client can take it)."""
        ctx = request_ctx.get(None)
        if ctx is None or not client_modes(ctx.session)[1]:
            return content, False  # the agent relays the link itself, as in any other host
        amount = f" {content['amount']} USD" if content.get("amount") else ""
        expiry = f" The link expires at {content['expires_at']}." if content.get("expires_at") else ""
        try:
            answer = await ctx.session.elicit_url(
                f"Open this secure payment page to pay{amount}. Your card details go to the payment page only, "
                f"never to the agent.{expiry}", url, session_id, related_request_id=ctx.request_id)
        except Exception as exc:  # the client could not show it: the agent still has the link to relay
            content["delivery"] = f"not shown by the MCP client ({type(exc).__name__}): relay payment_url yourself"
            return content, False
        if answer.action != "accept":
            return {**content, "ok": False, "error": "person_declined", "status": "declined",
                    "message": "The person did not open the payment page; nothing was paid.",
                    "next_step": "Ask what they would like to do instead; do not send the link again unless they "
                                 "ask."}, True
        wait = next((c for c in self.toolkit.custom_actions or [] if c.group == "payment_links" and c.action == "wait"),
                    None)
        if wait is None or not self.toolkit.allows("payment_links", "wait"):
            content.update(delivery="url_elicitation", next_step="The person has the payment page. Waiting is not "
                           "offered here: ask them to say when they have paid.")
            return content, False
        raw = {"session_id": session_id, **({"purpose": purpose} if purpose else {})}
        outcome = await self.toolkit.arun_flow(wait.flow(self.toolkit, raw, None))
        waited = {**outcome.content, "payment_url": url, "delivery": "url_elicitation"}
        if waited.get("status") == "paid":
            await ctx.session.send_elicit_complete(session_id, related_request_id=ctx.request_id)
        return waited, outcome.is_error

    def progress(self, message: str) -> None:
        """Relay a wait's progress to the client, when the current request asked for progress notifications."""
        ctx = request_ctx.get(None)
        token = ctx.meta.progressToken if ctx is not None and ctx.meta is not None else None
        if ctx is None or token is None:
            return
        task = asyncio.get_running_loop().create_task(
            ctx.session.send_progress_notification(token, len(self._tasks) + 1, message=message,
                                                   related_request_id=str(ctx.request_id)))
        self._tasks.add(task)  # keep a reference until it is sent
        task.add_done_callback(self._tasks.discard)

    async def run_stdio(self) -> None:
        """Serve one client over stdin/stdout until it disconnects."""
        async with stdio_server() as (read, write):
            await self.server.run(read, write, self.server.create_initialization_options())

    def http_app(self) -> Starlette:
        """A Starlette app serving streamable HTTP at ``/mcp``, refusing any Host or Origin but loopback.

        Example:
            >>> from agent_billing.sandbox import create_app
            >>> from agent_billing.inprocess import sandbox_clients
            >>> from agent_billing.audit import MemoryAuditLog
            >>> toolkit = BillingToolkit(async_client=sandbox_clients(create_app())[1], audit=MemoryAuditLog())
            >>> [route.path for route in BillingMCPServer(toolkit).http_app().routes]
            ['/mcp']
        """
        security = TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=LOOPBACK_HOSTS,
                                             allowed_origins=LOOPBACK_ORIGINS)
        manager = StreamableHTTPSessionManager(app=self.server, security_settings=security)

        class Endpoint:
            async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
                await manager.handle_request(scope, receive, send)

        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            async with manager.run():
                yield

        return Starlette(routes=[Route("/mcp", endpoint=Endpoint())], lifespan=lifespan)


def _result(content: dict[str, Any], is_error: bool) -> types.CallToolResult:
    # Text only: the artifact (secrets for host code) has no place in what a model reads.
    return types.CallToolResult(content=[types.TextContent(type="text", text=dumps_content(content))],
                                isError=is_error)
