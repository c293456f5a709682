"""The MCP server: the toolkit's tools, with the toolkit's guardrails, for any MCP host.

Each MCP tool is one of ``BillingToolkit``'s tools (one per group, or per operation), with the JSON
schema a LangChain model receives for it and annotations derived from what it can do. A call runs the
LangChain tool itself, so the card-data and secret guards, validation, charge intent, mandate,
approvals, idempotency and audit all apply exactly as they do in LangChain. The server's toolkit asks
for approvals with form-mode elicitation (``approver.ElicitationApprover``).

A result that carries a payment page (the provider's hand-off, or any action whose result holds a
``payment_url``) goes to the person as a URL-mode elicitation when the client supports it: the page
collects card details, which the MCP specification allows only in URL mode. On the person's consent the
server waits for the payment as the provider's declared wait action does (``Provider.handoff``, when this
deployment offers it) and reports the outcome.

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
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from mcp.server.lowlevel.server import Server, request_ctx
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from agent_billing import __version__, telemetry
from agent_billing.mcp.annotations import tool_annotations
from agent_billing.mcp.approver import ElicitationApprover, client_modes
from agent_billing.mcp.http_guard import HttpGuard
from agent_billing.provider import get_provider
from agent_billing.tools import BillingToolkit
from agent_billing.tools.tool import dumps_content
from mcp import types

__all__ = ["BillingMCPServer", "ElicitationApprover"]

INSTRUCTIONS = (
    "Billing tools for this account. Money moves only with the person's approval (asked by this server through "
    "your client) or inside the deployer's mandate. Never ask for or pass card numbers: hand off to the person "
    "with a payment page instead."
)


def instructions(toolkit: BillingToolkit) -> str:
    """The server's instructions for ``toolkit``: its own tools, and its provider's own hand-off (if any).

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.inprocess import sandbox_clients
        >>> from agent_billing.audit import MemoryAuditLog
        >>> toolkit = BillingToolkit(async_client=sandbox_clients(create_app())[1], audit=MemoryAuditLog())
        >>> text = instructions(toolkit)
        >>> all(tool.name in text for tool in toolkit.get_tools())
        True
    """
    handoff = get_provider(toolkit.registry.provider).handoff
    names = [tool.name for tool in toolkit.get_tools()]
    text = INSTRUCTIONS.replace("this account.", f"this account ({', '.join(names)}).", 1)
    if handoff is not None and handoff.group in names:
        text = f"{text[:-1]} ({handoff.call()})."
    return text
# The SDK's own check matches these by prefix; ``HttpGuard`` in front matches host and port exactly.
LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
PROGRESS_SEND_TIMEOUT = 5.0  # seconds a waiting flow gives one progress notification before going on without it


class ProgressRelay:
    """Progress notifications for one ``tools/call`` that carried a ``progressToken``.

    Made on the event loop when the call starts, it may then be called from any thread: a tool's flow
    runs its own work in a worker thread (``tools/steps.py``), where there is no running loop, so the
    notification is handed to the loop that serves the request and waited for (bounded). Each one
    carries the next value of a per-call counter, so progress strictly increases, as the specification
    requires. After ``close()`` (the call ended or was cancelled) nothing more is sent.

    Example:
        >>> sent = []
        >>> async def send(value, message):
        ...     sent.append((value, message))
        >>> async def call():
        ...     relay = ProgressRelay(asyncio.get_running_loop(), send)
        ...     await asyncio.to_thread(relay, "first check")  # from a worker thread, as flows do
        ...     relay("second check")  # on the loop itself: scheduled, not waited for
        ...     await asyncio.sleep(0)
        ...     relay.close()
        ...     relay("too late")
        >>> asyncio.run(call())
        >>> sent
        [(1, 'first check'), (2, 'second check')]
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, send: Callable[[int, str], Coroutine[Any, Any, None]]) -> None:
        self._loop, self._send = loop, send
        self._lock = threading.Lock()
        self._count = 0
        self._closed = False
        self._tasks: set[asyncio.Future[None]] = set()

    def __call__(self, message: str) -> None:
        with self._lock:  # one at a time, in order: the values go out increasing
            if self._closed:
                return
            self._count += 1
            sending = self._sent(self._count, message)
            try:
                on_loop = asyncio.get_running_loop() is self._loop
            except RuntimeError:
                on_loop = False
            if on_loop:  # waiting here would block the loop that has to send it
                task = asyncio.ensure_future(sending)
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                return
            future = asyncio.run_coroutine_threadsafe(sending, self._loop)
            try:
                future.result(PROGRESS_SEND_TIMEOUT)
            except Exception:  # progress is advice: a slow or departed client never stops the flow
                future.cancel()

    async def _sent(self, value: int, message: str) -> None:
        # Checked again on the loop, where ``close()`` runs: nothing goes out after the call's result.
        if not self._closed:
            await self._send(value, message)

    def close(self) -> None:
        """Send nothing more (the call is over). Called on the loop; never waits for a sender's lock."""
        self._closed = True


_RELAY: ContextVar[ProgressRelay | None] = ContextVar("agent_billing_mcp_progress", default=None)


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
        self.server: Server[Any, Any] = Server(name, version=__version__, instructions=instructions(toolkit))
        self.server.list_tools()(self._list_tools)  # type: ignore[no-untyped-call]
        self.server.call_tool(validate_input=False)(self.call)
        if toolkit.progress is None:  # a wait's progress goes to the client that asked for it
            toolkit.progress = self.progress

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
        with telemetry.mcp_tool_call(name, request_ctx.get(None)) as served:  # telemetry hook: the SERVER span
            return served.result(await self._serve(name, arguments))

    async def _serve(self, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        tool = self._tools.get(name)
        if tool is None:
            return _result({"ok": False, "error": "unknown_tool", "message": f"No tool {name!r} here. Tools: "
                            f"{', '.join(self._tools)}."}, True)
        relay = _relay_for(request_ctx.get(None))
        token = _RELAY.set(relay)  # copied into the worker threads the flow runs in
        try:
            content, is_error = await self._run(name, arguments or {})
            page = None if is_error else _payment_page(content)
            if page is not None:
                content, is_error = await self._hand_over(content, *page)
        finally:
            _RELAY.reset(token)
            if relay is not None:
                relay.close()  # ended or cancelled: no progress after the result
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
        handoff = get_provider(self.toolkit.registry.provider).handoff
        group, action = (handoff.group, handoff.wait_action) if handoff is not None else (None, None)
        wait = next((c for c in self.toolkit.custom_actions or [] if c.group == group and c.action == action), None)
        if wait is None or group is None or action is None or not self.toolkit.allows(group, action):
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
        """Relay a wait's progress to the client, when the current call asked for progress notifications.

        Called from the flow's worker thread (or the loop); does nothing outside a call that sent a
        ``progressToken``.
        """
        relay = _RELAY.get()
        if relay is not None:
            relay(message)

    async def run_stdio(self) -> None:
        """Serve one client over stdin/stdout until it disconnects."""
        async with stdio_server() as (read, write):
            await self.server.run(read, write, self.server.create_initialization_options())

    def http_app(self, token: str) -> Starlette:
        """A Starlette app serving streamable HTTP at ``/mcp`` to requests that carry ``Authorization: Bearer
        <token>`` and are addressed to this loopback server exactly (``http_guard.HttpGuard``).

        Example:
            >>> from agent_billing.sandbox import create_app
            >>> from agent_billing.inprocess import sandbox_clients
            >>> from agent_billing.audit import MemoryAuditLog
            >>> toolkit = BillingToolkit(async_client=sandbox_clients(create_app())[1], audit=MemoryAuditLog())
            >>> app = BillingMCPServer(toolkit).http_app("t" * 32)
            >>> [route.path for route in app.routes], [m.cls.__name__ for m in app.user_middleware]
            (['/mcp'], ['HttpGuard'])
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

        return Starlette(routes=[Route("/mcp", endpoint=Endpoint())], lifespan=lifespan,
                         middleware=[Middleware(HttpGuard, token=token)])


def _relay_for(ctx: Any) -> ProgressRelay | None:
    """The progress relay of the request being served, when it asked for progress (on the event loop)."""
    token = ctx.meta.progressToken if ctx is not None and ctx.meta is not None else None
    if token is None:
        return None

    async def send(value: int, message: str) -> None:
        await ctx.session.send_progress_notification(token, value, message=message,
                                                     related_request_id=str(ctx.request_id))

    return ProgressRelay(asyncio.get_running_loop(), send)


def _result(content: dict[str, Any], is_error: bool) -> types.CallToolResult:
    # Text only: the artifact (secrets for host code) has no place in what a model reads.
    return types.CallToolResult(content=[types.TextContent(type="text", text=dumps_content(content))],
                                isError=is_error)
