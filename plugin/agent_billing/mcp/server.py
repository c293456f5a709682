"""The MCP server: the toolkit's tools, with the toolkit's guardrails, for any MCP host.

Each MCP tool is one of ``BillingToolkit``'s tools (one per group, or per operation), with the JSON
schema a LangChain model receives for it and annotations derived from what it can do. A call runs the
LangChain tool itself, so the card-data and secret guards, validation, charge intent, mandate,
approvals, idempotency and audit all apply exactly as they do in LangChain. The server's toolkit asks
for approvals with form-mode elicitation (``approver.ElicitationApprover``).

A result that carries a payment page (the provider's hand-off, or any action whose result holds one of the
page fields its ``HandOff`` declares) goes to the person as a URL-mode elicitation when the client supports it:
the page collects card details, which the MCP specification allows only in URL mode. On the person's consent the
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
    >>> [(tool.name, tool.annotations.read_only_hint) for tool in server.tool_definitions()][3:5]
    [('wallet', False), ('coupons', False)]
    >>> result = asyncio.run(server.call("wallet", {"action": "balance"}))
    >>> result.is_error, result.content[0].text
    (False, '{"ok":true,"operation":"get_wallet_balance","result":{"balance":"0.00","currency":"USD"}}')
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.request_state import RequestStateBoundary, RequestStateSecurity
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.jsonrpc_dispatcher import progress_token_from_params
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from agent_billing import __version__, telemetry
from agent_billing.guardrails.store import open_store
from agent_billing.mcp.annotations import tool_annotations
from agent_billing.mcp.approver import (
    CONFIRM_SCHEMA,
    CURRENT_CALL,
    CURRENT_ROUND,
    ElicitationApprover,
    InputRound,
    approval_message,
    client_modes,
    stateless,
)
from agent_billing.mcp.http_guard import PRINCIPAL_KEY, HttpGuard
from agent_billing.mcp.out_of_band import DELIVERY, UrlElicitationApprover, url_message
from agent_billing.mcp.rounds import ApprovalRounds
from agent_billing.provider import HandOff, get_provider
from agent_billing.tools import BillingToolkit
from agent_billing.tools.tool import dumps_content
from mcp import types

__all__ = ["BillingMCPServer", "ElicitationApprover"]

INSTRUCTIONS = (
    "Billing tools for this account. Money moves only with the person's approval (asked by this server through "
    "your client) or inside the deployer's mandate. Never ask for or pass card numbers: hand off to the person "
    "with a payment page instead."
)
APPROVAL_INPUT = "approval"  # the key of the approval form among a round's input requests
PAGE_INPUT = "payment_page"  # the key of a payment page (URL mode) among a round's input requests
LIST_TTL_MS = 300_000  # the tool list changes only with the server's configuration; per principal (private)
STATE_TTL = 600.0  # seconds a sealed requestState lives; the single-use token inside expires sooner (rounds.py)
LOCAL_PRINCIPAL = "local"  # stdio and in-process clients: whoever holds the pipe is the host
# W3C trace context (https://www.w3.org/TR/trace-context/): version 00, trace id, parent id, flags.
_TRACEPARENT = re.compile(r"00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}")
TRACE_KEYS = ("traceparent", "tracestate", "baggage")


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


def _payment_page(content: dict[str, Any], handoff: HandOff | None) -> tuple[str, str, str | None] | None:
    """(url, page id, purpose) of a payment page in a successful result, by the fields the provider's hand-off
    declares, if there is one."""
    if handoff is None or handoff.page_id_field is None:
        return None
    for place in (content, content.get("result")):
        if not isinstance(place, dict) or not isinstance(place.get(handoff.page_id_field), str):
            continue
        for field, purpose in handoff.page_fields:
            if isinstance(place.get(field), str):
                return (place[field], place[handoff.page_id_field],
                        purpose or place.get("purpose") or content.get("purpose"))
    return None


class BillingMCPServer:
    """An MCP server (``mcp`` SDK 2.x, low-level ``Server``) serving a ``BillingToolkit``'s tools.

    One code base for both protocol revisions: a 2025-11-25 client (``initialize``, a session) is asked for
    approvals by elicitation there and then; a 2026-07-28 client (stateless) by a multi-round-trip request
    whose ``requestState`` is sealed under ``state_key`` (shared by every worker of one deployment; unset:
    a key for this process only) and redeemable once (``mcp/rounds.py``). ``principal`` names who is
    calling (default: what the HTTP guard recorded, else ``local``); round states are bound to it.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.inprocess import sandbox_clients
        >>> from agent_billing.audit import MemoryAuditLog
        >>> reader = BillingToolkit(async_client=sandbox_clients(create_app())[1], actions="read_only",
        ...                         audit=MemoryAuditLog())
        >>> [tool.name for tool in BillingMCPServer(reader).tool_definitions()][-2:]
        ['subscriptions', 'payment_path']
    """

    def __init__(self, toolkit: BillingToolkit, *, name: str = "agent-billing", state_key: str | bytes | None = None,
                 principal: Callable[[ServerRequestContext[Any, Any]], str] | None = None) -> None:
        self.toolkit, self.state_key = toolkit, state_key
        self.principal = principal or principal_of
        self._tools = {tool.name: tool for tool in toolkit.get_tools()}
        self.server: Server[Any] = Server(
            name, version=__version__, instructions=instructions(toolkit), on_list_tools=self._list_tools,
            on_call_tool=self._on_call_tool)
        security = RequestStateSecurity(keys=[state_key], ttl=STATE_TTL, bind_principal=self.principal) \
            if state_key is not None else RequestStateSecurity.ephemeral(ttl=STATE_TTL)
        security.bind_principal = self.principal
        self.server.middleware.append(RequestStateBoundary(security, default_audience=name))
        if toolkit.progress is None:  # a wait's progress goes to the client that asked for it
            toolkit.progress = self.progress
        approver = toolkit.guard.approver
        if isinstance(approver, UrlElicitationApprover) and approver.progress is None:  # and the approval page's
            approver.progress = self.progress

    @cached_property
    def rounds(self) -> ApprovalRounds:
        """Round states of stateless approvals, single-use in the toolkit's guardrail store (opened on first use)."""
        guard = self.toolkit.guard
        store = open_store(self.toolkit.store).for_account(guard.account).confirmations
        return ApprovalRounds(store, lambda: datetime.fromtimestamp(guard.clock(), tz=timezone.utc))

    def tool_definitions(self) -> list[types.Tool]:
        """The MCP tool list: same names, descriptions and input schemas as the LangChain tools, plus annotations."""
        definitions = []
        for name, tool in self._tools.items():
            function = convert_to_openai_tool(tool)["function"]
            hints = tool_annotations(self.toolkit, name)
            definitions.append(types.Tool(name=name, title=hints.title, description=function["description"],
                                          input_schema=function["parameters"], annotations=hints))
        return definitions

    async def _list_tools(self, ctx: ServerRequestContext[Any, Any],
                          params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self.tool_definitions(), ttl_ms=LIST_TTL_MS, cache_scope="private")

    async def _on_call_tool(self, ctx: ServerRequestContext[Any, Any],
                            params: types.CallToolRequestParams) -> types.CallToolResult | types.InputRequiredResult:
        token = CURRENT_CALL.set(ctx)  # copied into the worker threads the flow runs in
        try:
            with telemetry.mcp_tool_call(params.name, ctx) as served:  # telemetry hook: the SERVER span
                if stateless(ctx):
                    return served.result(await self._round(ctx, params))
                return served.result(await self.call(params.name, params.arguments, trace=trace_context(ctx.params)))
        finally:
            CURRENT_CALL.reset(token)

    async def _round(self, ctx: ServerRequestContext[Any, Any],
                     params: types.CallToolRequestParams) -> types.CallToolResult | types.InputRequiredResult:
        """One round of a stateless call: redeem the answer it brings, run, and ask what is still unanswered."""
        principal, round_, call_id = self.principal(ctx), InputRound(), None
        page = _page_state(params.request_state)
        if page is not None:  # the person's answer about a payment page: wait for it, never make another
            answer = _elicit_result((params.input_responses or {}).get(PAGE_INPUT))
            content, is_error = await self._after_page(page, answer, None)
            return _result(content, is_error)
        if params.request_state is not None:  # already unsealed and checked by the SDK's boundary
            state = self.rounds.redeem(params.request_state, principal)
            answer = _elicit_result((params.input_responses or {}).get(APPROVAL_INPUT))
            if state is None or answer is None:
                return _result({"ok": False, "error": "approval_state_invalid", "message": (
                    "This approval answer is not valid: already used, expired, for someone else or incomplete. "
                    "Nothing was charged."), "next_step": "Call again without requestState to ask the person anew."},
                    True)
            round_.answers[state.binding] = answer
            if state.request:  # an out-of-band approval: the page's record decides, the answer only says "opened"
                round_.approvals[state.binding] = state.request
            # The answered round's tool-call id follows from its single-use token: same call, same idempotency key.
            call_id = f"mcp_{hashlib.sha256(state.token.encode()).hexdigest()[:32]}"
        token = CURRENT_ROUND.set(round_)
        try:
            result = await self.call(params.name, params.arguments, call_id=call_id, trace=trace_context(ctx.params))
        finally:
            CURRENT_ROUND.reset(token)
        if round_.page is not None and not round_.asked:  # the link was made: the person opens it (URL mode)
            url_request = types.ElicitRequest(params=types.ElicitRequestURLParams(
                message=_page_message(round_.page["content"]), url=round_.page["url"], elicitation_id=round_.page["id"]))
            return types.InputRequiredResult(input_requests={PAGE_INPUT: url_request},
                                             request_state=json.dumps({"page": round_.page}))
        if round_.links:  # an out-of-band approval: the person opens its page (URL mode) and decides there
            request, link = round_.links[0]
            url_request = types.ElicitRequest(params=types.ElicitRequestURLParams(  # no elicitationId in this revision
                message=url_message(link), url=link.url))
            return types.InputRequiredResult(input_requests={APPROVAL_INPUT: url_request},
                                             request_state=self.rounds.issue(request, principal, link.request_id))
        if not round_.asked:
            return result
        # Nothing moved in this round (the approver said "could not ask"); the person is asked in its result.
        request = round_.asked[0]
        form = types.ElicitRequest(params=types.ElicitRequestFormParams(
            message=approval_message(request), requested_schema=CONFIRM_SCHEMA))
        return types.InputRequiredResult(input_requests={APPROVAL_INPUT: form},
                                         request_state=self.rounds.issue(request, principal))

    async def call(self, name: str, arguments: Mapping[str, Any] | None, *, call_id: str | None = None,
                   trace: dict[str, str] | None = None) -> types.CallToolResult:
        """Run one tool call through the toolkit's tool, then hand a payment page over if it made one.

        ``trace`` (W3C trace context from the request's ``_meta``) reaches the flow as the LangChain run's
        ``metadata["trace_context"]``, where tracing picks it up.
        """
        tool = self._tools.get(name)
        if tool is None:
            return _result({"ok": False, "error": "unknown_tool", "message": f"No tool {name!r} here. Tools: "
                            f"{', '.join(self._tools)}."}, True)
        relay = _relay_for(CURRENT_CALL.get())
        token = _RELAY.set(relay)  # copied into the worker threads the flow runs in
        deliveries: list[str] = []
        delivery = DELIVERY.set(deliveries)  # how an out-of-band approval link went out, if one did
        try:
            content, is_error = await self._run(name, dict(arguments or {}), call_id, trace)
            if deliveries:
                content["approval_delivery"] = deliveries[-1]
            page = None if is_error else _payment_page(content, get_provider(self.toolkit.registry.provider).handoff)
            if page is not None:
                content, is_error = await self._hand_over(content, *page)
        finally:
            DELIVERY.reset(delivery)
            _RELAY.reset(token)
            if relay is not None:
                relay.close()  # ended or cancelled: no progress after the result
        return _result(content, is_error)

    async def _run(self, name: str, arguments: dict[str, Any], call_id: str | None,
                   trace: dict[str, str] | None) -> tuple[dict[str, Any], bool]:
        # A fresh tool-call id per MCP call: approvals and idempotency keys are scoped to it, and MCP
        # request ids repeat across sessions.
        config: Any = {"metadata": {"trace_context": trace}} if trace else None
        message = await self._tools[name].ainvoke({"type": "tool_call", "name": name, "args": arguments,
                                                   "id": call_id or f"mcp_{uuid.uuid4().hex}"}, config)
        assert isinstance(message, ToolMessage)
        try:
            content = json.loads(str(message.content))
        except ValueError:
            content = {"ok": False, "error": "tool_error", "message": str(message.content)}
        return content, message.status == "error"

    async def _hand_over(self, content: dict[str, Any], url: str, page_id: str,
                         purpose: str | None) -> tuple[dict[str, Any], bool]:
        """Send the payment page by URL elicitation, then wait for the payment (when the client can take it)."""
        ctx = CURRENT_CALL.get()
        if ctx is None or not client_modes(ctx.session)[1]:
            return content, False  # the agent relays the link itself, as in any other host
        page = {"content": content, "url": url, "id": page_id, "purpose": purpose}
        round_ = CURRENT_ROUND.get()
        if stateless(ctx):  # no session to ask through: the round's result asks (``_round``)
            if round_ is not None:
                round_.page = page
            return content, False
        try:
            answer = await ctx.session.elicit_url(_page_message(content), url, page_id,
                                                  related_request_id=ctx.request_id)
        except Exception as exc:  # the client could not show it: the agent still has the link to relay
            content["delivery"] = f"not shown by the MCP client ({type(exc).__name__}): relay the page's link yourself"
            return content, False
        return await self._after_page(page, answer, ctx)

    async def _after_page(self, page: dict[str, Any], answer: types.ElicitResult | None,
                          ctx: Any) -> tuple[dict[str, Any], bool]:
        """The person's answer about the payment page (None: none came): declined, or wait for the payment."""
        content, url, purpose = dict(page["content"]), page["url"], page.get("purpose")
        if answer is None or answer.action != "accept":
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
        assert handoff is not None and handoff.page_id_field is not None  # a page was found by its fields
        raw = {handoff.page_id_field: page["id"], **({"purpose": purpose} if purpose else {})}
        outcome = await self.toolkit.arun_flow(wait.flow(self.toolkit, raw, None))
        waited = {**outcome.content, handoff.page_fields[0][0]: url, "delivery": "url_elicitation"}
        if waited.get("status") == "paid" and ctx is not None:  # a session's client may retry what waited on it
            await ctx.session.send_elicit_complete(page["id"], related_request_id=ctx.request_id)
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

    def http_app(self, token: str, approvals: Any = None) -> Starlette:
        """A Starlette app serving streamable HTTP at ``/mcp`` to requests that carry ``Authorization: Bearer
        <token>`` and are addressed to this loopback server exactly (``http_guard.HttpGuard``).

        ``approvals``: a store (or ``ApprovalRequests``) whose out-of-band approval page is served at
        ``/approvals`` too, outside the bearer guard: the person's browser has no token, the link's own
        unguessable token and the page's checks guard it (``agent_billing.approval_page``).

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

        routes, guard = [Route("/mcp", endpoint=Endpoint())], [Middleware(HttpGuard, token=token)]
        if approvals is None:
            return Starlette(routes=routes, lifespan=lifespan, middleware=guard)
        from agent_billing.approval_page import approval_app

        guarded = Starlette(routes=routes, middleware=guard)
        return Starlette(routes=[Mount("/approvals", app=approval_app(approvals)), Mount("/", app=guarded)],
                         lifespan=lifespan)


def principal_of(ctx: ServerRequestContext[Any, Any] | None) -> str:
    """Who is calling: what the HTTP guard recorded on the request (``http_guard.PRINCIPAL_KEY``), else the host
    that owns the pipe (stdio, in-process).

    Example:
        >>> principal_of(None)
        'local'
    """
    request = getattr(ctx, "request", None)
    scope = getattr(request, "scope", None)
    recorded = scope.get(PRINCIPAL_KEY) if isinstance(scope, dict) else None
    return recorded if isinstance(recorded, str) and recorded else LOCAL_PRINCIPAL


def trace_context(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    """The W3C trace context a request carries in ``_meta`` (reserved keys), when its ``traceparent`` is valid.

    A malformed ``traceparent`` is dropped with its companions (the specification says to start a new trace).

    Example:
        >>> trace_context({"_meta": {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01", "tracestate": "k=v"}})
        {'traceparent': '00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb-01', 'tracestate': 'k=v'}
        >>> trace_context({"_meta": {"traceparent": "00-" + "0" * 32 + "-" + "b" * 16 + "-01"}}) is None
        True
    """
    meta = (params or {}).get("_meta")
    if not isinstance(meta, Mapping):
        return None
    parent = meta.get("traceparent")
    if not isinstance(parent, str) or not _TRACEPARENT.fullmatch(parent):
        return None
    return {key: meta[key] for key in TRACE_KEYS if isinstance(meta.get(key), str) and len(meta[key]) <= 8192}


def _page_message(content: Mapping[str, Any]) -> str:
    """What the person reads before opening a payment page (the page, never the agent, takes card details)."""
    amount = f" {content['amount']} USD" if content.get("amount") else ""
    expiry = f" The link expires at {content['expires_at']}." if content.get("expires_at") else ""
    return (f"Open this secure payment page to pay{amount}. Your card details go to the payment page only, never to "
            f"the agent.{expiry}")


def _page_state(text: str | None) -> dict[str, Any] | None:
    """The payment page a round's (unsealed) state names, if it is a page state."""
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return None
    page = data.get("page") if isinstance(data, dict) else None
    ok = isinstance(page, dict) and isinstance(page.get("content"), dict) and all(
        isinstance(page.get(key), str) for key in ("url", "id"))
    return page if ok else None


def _elicit_result(value: Any) -> types.ElicitResult | None:
    """A round's answer to the approval form as an ``ElicitResult``; None when it is missing or not one."""
    if isinstance(value, types.ElicitResult):
        return value
    try:
        raw = value.model_dump(by_alias=True, exclude_none=True) if hasattr(value, "model_dump") else value
        return types.ElicitResult.model_validate(raw) if isinstance(raw, dict) and "action" in raw else None
    except ValueError:
        return None


def _relay_for(ctx: Any) -> ProgressRelay | None:
    """The progress relay of the request being served, when it asked for progress (on the event loop)."""
    if ctx is None or progress_token_from_params(ctx.params) is None:
        return None

    async def send(value: int, message: str) -> None:
        await ctx.session.report_progress(value, message=message)

    return ProgressRelay(asyncio.get_running_loop(), send)


def _result(content: dict[str, Any], is_error: bool) -> types.CallToolResult:
    # Text only: the artifact (secrets for host code) has no place in what a model reads.
    return types.CallToolResult(content=[types.TextContent(type="text", text=dumps_content(content))],
                                is_error=is_error)
