"""OpenTelemetry traces and metrics of tool calls, redacted at the source.

The library depends on the OpenTelemetry **API** only (``pip install 'agent-billing[otel]'``), imported
lazily, on the first tool call: without it (or with ``AGENT_BILLING_OTEL=off``, or ``configure(enabled=False)``)
every hook below is a check of one flag. The application chooses the SDK and the exporters; until it sets a
provider the API's spans and instruments are no-ops.

What is traced (names from the OpenTelemetry GenAI, MCP and HTTP conventions, the rest under ``agent_billing.*``):

- one ``execute_tool {tool}`` span per tool call (``gen_ai.operation.name = execute_tool``, ``gen_ai.tool.name``,
  ``gen_ai.tool.call.id``), with the billing facts: provider, operation, effect, amount and currency, intent
  digest, approver kind, decision, mandate, idempotency replay, and the ``agent_billing.outcome``: ``ok``,
  ``declined`` (the person said no, or the provider declined a gated call), ``refused`` (a guard stopped it before
  anything was sent), ``intent_changed``, ``outcome_unknown``, ``nothing_sent`` (the toolkit's own state failed
  before sending), ``approval_required`` (a confirmation was issued; nothing sent yet) or ``failed`` (an ungated
  call the provider answered with an error, or could not be reached). A call that is not ``ok`` has span status
  ERROR and ``error.type`` (the answer's error code);
- child spans for the guard's steps that take time: ``agent_billing.intent_resolution``,
  ``agent_billing.approval_wait``, ``agent_billing.store_reservation``; one CLIENT span per provider HTTP request
  (``http.request.method``, ``url.full`` with query values redacted, ``server.address``,
  ``http.response.status_code``);
- the MCP server's SERVER span per ``tools/call`` (``mcp.method.name``), continuing the caller's trace from
  ``params._meta`` (``traceparent``, ``tracestate``) with the configured propagator.

Metrics: ``gen_ai.execute_tool.duration`` and ``mcp.server.operation.duration`` (seconds),
``agent_billing.approvals`` (``agent_billing.approval.result``: asked, approved, declined, expired: a
confirmation presented that was expired, used or wrong), ``agent_billing.money.moved`` (per account, currency,
operation; the ``Decimal`` amount becomes a float only here), ``agent_billing.outcomes.unknown_open`` (an
up-down counter: +1 when a sent request's outcome becomes unknown, -1 when its replay settles it, in this
process), ``agent_billing.guard.refusals`` (by ``agent_billing.refusal.reason``, an error code),
``agent_billing.provider.errors`` and ``agent_billing.provider.rate_limits``.

Redaction: attributes are built only from structured facts the library already holds (names from the
declarations, codes, amounts, digests, ids), never from tool arguments or messages; every string that does
not come from the declarations also passes the library's one outgoing redaction (card data, configured and
secret-looking values) and is capped in length; ids from the model or the application (tool call, run,
thread) also lose any run of 13 or more digits. Span status descriptions carry error codes only.

Correlation: the LangChain run id (``run_id`` of the call's config, else its callbacks' parent run), the
thread id (``configurable.thread_id``) and the tool call id are on the span and in every audit record of
the call (``AuditEvent.correlation``, with the trace and span ids when a span records), with or without
OpenTelemetry.

Example:
    >>> with tool_call("wallet", "call_1", {"config": {"configurable": {"thread_id": "t-1"}}}):
    ...     correlation()["thread_id"], correlation()["tool_call_id"]
    ('t-1', 'call_1')
    >>> correlation() is None
    True
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from agent_billing.guardrails.redaction import redact_outgoing_text
from agent_billing.guardrails.secrets import REDACTED

if TYPE_CHECKING:
    from agent_billing.guardrails.intent import ChargeIntent
    from agent_billing.registry import Effect, Operation

_T = TypeVar("_T")
SCOPE = "agent_billing"
NS = "agent_billing."
INTENT_RESOLUTION = NS + "intent_resolution"
APPROVAL_WAIT = NS + "approval_wait"
STORE_RESERVATION = NS + "store_reservation"
_MAX_TEXT = 200
_OFF = ("0", "off", "false", "no")


@dataclass
class _Instruments:
    """The API's modules and this library's tracer and instruments (made once per configuration)."""

    trace: Any
    context: Any
    propagate: Any
    tracer: Any
    tool_duration: Any
    mcp_duration: Any
    approvals: Any
    money: Any
    unknown_open: Any
    refusals: Any
    provider_errors: Any
    rate_limits: Any


@dataclass
class _Settings:
    enabled: bool | None = None  # None: not decided yet (the environment and the API's presence decide once)
    tracer_provider: Any = None
    meter_provider: Any = None
    otel: _Instruments | None = None


_SETTINGS = _Settings()


def configure(*, enabled: bool = True, tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Turn the instrumentation on or off, with these providers (None: the API's global ones).

    An application that sets the global providers needs nothing else; this is for turning it off, or for
    providers that are not global (tests, several pipelines in one process).

    Example:
        >>> configure(enabled=False); enabled()
        False
        >>> configure(); enabled() == _api_installed()
        True
    """
    _SETTINGS.enabled = None if enabled else False
    _SETTINGS.tracer_provider, _SETTINGS.meter_provider, _SETTINGS.otel = tracer_provider, meter_provider, None


def enabled() -> bool:
    """Whether hooks do anything: the API is installed and nothing turned them off.

    Example:
        >>> isinstance(enabled(), bool)
        True
    """
    if _SETTINGS.enabled is None:
        _SETTINGS.enabled = os.environ.get("AGENT_BILLING_OTEL", "").strip().lower() not in _OFF and _api_installed()
    return _SETTINGS.enabled


def _api_installed() -> bool:
    try:
        import opentelemetry.trace  # noqa: F401
    except ImportError:
        return False
    return True


def _otel() -> _Instruments | None:
    if not enabled():
        return None
    if _SETTINGS.otel is None:
        from opentelemetry import context, metrics, propagate, trace

        from agent_billing import __version__

        tracer = trace.get_tracer(SCOPE, __version__, tracer_provider=_SETTINGS.tracer_provider)
        meter = metrics.get_meter(SCOPE, __version__, meter_provider=_SETTINGS.meter_provider)
        _SETTINGS.otel = _Instruments(
            trace=trace, context=context, propagate=propagate, tracer=tracer,
            tool_duration=meter.create_histogram("gen_ai.execute_tool.duration", unit="s",
                                                 description="Duration of tool calls"),
            mcp_duration=meter.create_histogram("mcp.server.operation.duration", unit="s",
                                                description="Duration of MCP requests served"),
            approvals=meter.create_counter(NS + "approvals", unit="{approval}",
                                           description="Approvals asked, approved, declined and expired"),
            money=meter.create_counter(NS + "money.moved", unit="{amount}",
                                       description="Money moved by succeeded calls, in the currency's units"),
            unknown_open=meter.create_up_down_counter(NS + "outcomes.unknown_open", unit="{call}",
                                                      description="Sent requests whose outcome is not known yet"),
            refusals=meter.create_counter(NS + "guard.refusals", unit="{call}",
                                          description="Calls a guard refused before anything was sent"),
            provider_errors=meter.create_counter(NS + "provider.errors", unit="{request}",
                                                 description="Provider requests that failed or answered an error"),
            rate_limits=meter.create_counter(NS + "provider.rate_limits", unit="{request}",
                                             description="Provider requests answered 429"),
        )
    return _SETTINGS.otel


def safe(value: object) -> str:
    """A string fit for an attribute: redacted like every outgoing text, and short.

    Example:
        >>> safe("thread 4242 4242 4242 4242 sk_live_abcdefghijklmnop")
        'thread [visa card ending 4242] [redacted]'
    """
    return redact_outgoing_text(str(value), REDACTED)[:_MAX_TEXT]


# Card-number length of digits, however separated: the library's card check leaves digits inside identifiers
# alone (ids carry digits), but a correlation id is free text from the model or the application.
_LONG_DIGITS = re.compile(r"\d(?:[^\w]?_?\d){12,}")


def safe_id(value: object) -> str:
    """An id fit for an attribute and the audit record: ``safe``, and no run of 13 or more digits.

    Example:
        >>> safe_id("call_4242424242424242_0"), safe_id("toolu_01A09q90qw90lq917835lq9")
        ('call_[redacted]', 'toolu_01A09q90qw90lq917835lq9')
    """
    return _LONG_DIGITS.sub(REDACTED, safe(value))


# --- one tool call


@dataclass
class _Call:
    """What is known of the running tool call: its ids, its span, its billing facts, its answer."""

    tool: str
    ids: dict[str, str]
    span: Any = None
    token: object = None
    started: float = 0.0
    phases: list[Any] = field(default_factory=list)  # open child spans: the innermost is the HTTP spans' parent
    facts: dict[str, Any] = field(default_factory=dict)
    decisions: list[str] = field(default_factory=list)
    requests: int = 0
    content: Mapping[str, Any] | None = None
    metrics: dict[str, str] = field(default_factory=dict)

    def parent(self, otel: _Instruments) -> Any:
        innermost = self.phases[-1] if self.phases else self.span
        return otel.trace.set_span_in_context(innermost) if innermost is not None else None


_CALL: contextvars.ContextVar[_Call | None] = contextvars.ContextVar("agent_billing_telemetry_call", default=None)


def _correlation_ids(tool_call_id: str | None, run: Mapping[str, Any]) -> dict[str, str]:
    """run id, thread id and tool call id from the tool's run arguments (``config``, ``run_id``, callbacks)."""
    config = run.get("config") or {}
    configurable = config.get("configurable") or {}
    metadata = config.get("metadata") or {}
    run_id = run.get("run_id") or config.get("run_id") or getattr(config.get("callbacks"), "parent_run_id", None)
    ids = {"tool_call_id": tool_call_id, "run_id": run_id,
           "thread_id": configurable.get("thread_id") or metadata.get("thread_id")}
    return {k: safe_id(v) for k, v in ids.items() if v is not None}


@contextlib.contextmanager
def tool_call(tool: str, tool_call_id: str | None, run: Mapping[str, Any]) -> Iterator[None]:
    """The hook around a tool's run: the ``execute_tool`` span and the call's correlation ids.

    ``run``: the keyword arguments LangChain passed to the tool's ``run`` (``config``, ``run_id``...).

    Example:
        >>> with tool_call("wallet", None, {"run_id": "r-1"}):
        ...     correlation()
        {'run_id': 'r-1'}
    """
    call = _Call(tool, _correlation_ids(tool_call_id, run), started=time.perf_counter())
    otel = _otel()
    if otel is not None:
        attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": safe(tool),
                      "gen_ai.tool.type": "function"}
        if "tool_call_id" in call.ids:
            attributes["gen_ai.tool.call.id"] = call.ids["tool_call_id"]
        attributes.update({NS + k: v for k, v in call.ids.items() if k != "tool_call_id"})
        span = otel.tracer.start_span(f"execute_tool {attributes['gen_ai.tool.name']}", attributes=attributes)
        call.span = span if span.is_recording() else None
        call.token = otel.context.attach(otel.trace.set_span_in_context(span))
    token = _CALL.set(call)
    failure: BaseException | None = None
    try:
        yield
    except BaseException as exc:
        failure = exc
        raise
    finally:
        _CALL.reset(token)
        if otel is not None:
            _end_call(otel, call, failure)


def correlation() -> dict[str, str] | None:
    """The running tool call's ids (run, thread, tool call; trace and span when a span records), else None.

    Example:
        >>> correlation() is None
        True
    """
    call = _CALL.get()
    if call is None:
        return None
    ids = dict(call.ids)
    if call.span is not None:
        context = call.span.get_span_context()
        ids.update(trace_id=f"{context.trace_id:032x}", span_id=f"{context.span_id:016x}")
    return ids


def note_answer(content: Mapping[str, Any]) -> None:
    """The hook on a tool's answer (its content, before it is serialised).

    Example:
        >>> note_answer({"ok": True})  # outside a tool call: nothing
    """
    call = _CALL.get()
    if call is not None:
        call.content = content


def outcome_of(content: Mapping[str, Any] | None, decisions: list[str], requests: int) -> str:
    """The call's outcome from its answer, the audit decisions taken and the requests sent.

    Example:
        >>> outcome_of({"ok": True}, [], 1), outcome_of({"ok": False, "error": "rejected"}, ["rejected"], 0)
        ('ok', 'declined')
        >>> outcome_of({"ok": False, "error": "card_data_not_allowed"}, ["refused"], 0)
        'refused'
        >>> outcome_of({"ok": False, "error": "outcome_unknown", "sent": True}, ["approved", "unknown"], 1)
        'outcome_unknown'
    """
    if content is None:
        return "failed"
    if content.get("ok") is True:
        return "ok"
    if content.get("status") == "confirmation_required":
        return "approval_required"
    if content.get("error") == "intent_changed" or "changed" in decisions:
        return "intent_changed"
    if content.get("sent") is True or content.get("error") == "outcome_unknown" or "unknown" in decisions:
        return "outcome_unknown"
    if content.get("sent") is False or content.get("error") == "nothing_sent":
        return "nothing_sent"
    if decisions[-1:] == ["rejected"] or "failed" in decisions:
        return "declined"
    return "failed" if requests else "refused"


def _control_flow(exc: BaseException) -> bool:
    """A generator closed, or LangGraph's interrupt (a question to the person): not a failure."""
    from agent_billing.tools.steps import bubbles

    return isinstance(exc, GeneratorExit) or bubbles(exc)


def _end_call(otel: _Instruments, call: _Call, failure: BaseException | None) -> None:
    if failure is not None and _control_flow(failure):
        outcome = "approval_required"  # interrupted to ask the person: the call runs again with the answer
    else:
        outcome = outcome_of(call.content, call.decisions, call.requests)
    error = None if outcome in ("ok", "approval_required") else _error_type(call.content, failure, outcome)
    attributes = {"gen_ai.tool.name": safe(call.tool), "gen_ai.operation.name": "execute_tool", NS + "outcome": outcome}
    if error is not None:
        attributes["error.type"] = error
    otel.tool_duration.record(time.perf_counter() - call.started, {**attributes, **call.metrics})
    if outcome == "refused":
        otel.refusals.add(1, {NS + "refusal.reason": error or "refused", **call.metrics})
    if call.content is not None and call.content.get("error") == "confirmation_invalid":
        otel.approvals.add(1, {NS + "approval.result": "expired", **call.metrics})
    try:
        span = call.span
        if span is not None:
            span.set_attributes({**call.facts, **attributes})
            if error is not None:
                span.set_status(otel.trace.Status(otel.trace.StatusCode.ERROR, error))
            for phase in call.phases:  # a flow closed mid-way: its open steps end with the call
                phase.end()
            span.end()
    finally:
        otel.context.detach(call.token)


def _error_type(content: Mapping[str, Any] | None, failure: BaseException | None, outcome: str) -> str:
    if content is not None and isinstance(content.get("error"), str):
        return safe(content["error"])
    return type(failure).__name__ if failure is not None else outcome


# --- the guard's steps


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    """The hook around a guard step that takes time: a child span of the tool call's span.

    Safe across a flow's ``yield``: the span is not made current (a flow resumes in other threads); the
    provider requests sent inside it take it as their parent. An approval wait counts as an approval asked.

    Example:
        >>> with phase(STORE_RESERVATION):
        ...     pass
    """
    otel = _otel()
    call = _CALL.get()
    if otel is None or call is None:
        yield
        return
    if name == APPROVAL_WAIT:
        otel.approvals.add(1, {NS + "approval.result": "asked", **call.metrics})
    if call.span is None:
        yield
        return
    span = otel.tracer.start_span(name, context=call.parent(otel))
    call.phases.append(span)
    try:
        yield
    except BaseException as exc:
        if not _control_flow(exc):
            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(otel.trace.Status(otel.trace.StatusCode.ERROR, type(exc).__name__))
        raise
    finally:
        if span in call.phases:
            call.phases.remove(span)
            span.end()


_DECISION_RESULT = {"requested": "asked", "approved": "approved", "auto_approved": "approved", "rejected": "declined"}


def note_decision(guard: Any, op: Operation, effect: Effect, decision: str, *, amount: Decimal | None = None,
                  approver: str | None = None, key: str | None = None, intent: ChargeIntent | None = None) -> None:
    """The hook on every audited decision of the guard (``Guard.record``): billing facts and their metrics.

    Example:
        >>> from agent_billing.registry import get_registry
        >>> op = next(iter(get_registry().operations.values()))
        >>> note_decision(None, op, op.effect, "refused")  # outside a tool call, without a provider: nothing
    """
    otel = _otel()
    if otel is None:
        return
    call = _CALL.get()
    kind = _approver_kind(guard, approver)
    currency = intent.currency if intent is not None else None
    base = {NS + "provider": _provider_of(op), NS + "operation": op.name, NS + "effect": str(effect.value)}
    result = _DECISION_RESULT.get(decision)
    if result is not None:
        otel.approvals.add(1, {**base, NS + "approval.result": result, **({NS + "approver.kind": kind} if kind else {})})
    if decision == "succeeded" and amount is not None and effect.moves_money:
        otel.money.add(float(amount), {**base, NS + "account": safe(getattr(guard, "account", "")),
                                       NS + "currency": safe(currency or "unknown")})
    replay = call is not None and "replayed" in call.decisions
    if decision == "unknown" and not replay:
        otel.unknown_open.add(1, base)
    elif decision in ("succeeded", "failed") and replay:
        otel.unknown_open.add(-1, base)
    if call is not None:
        call.decisions.append(decision)
        call.metrics.update({NS + "provider": base[NS + "provider"]})
        if call.span is not None:  # the attributes only for a span that records them
            mandate = getattr(getattr(guard, "mandate", None), "name", None)
            call.facts.update(base, **{NS + "decision": decision})
            for name, value in (("amount", amount), ("currency", currency), ("intent.digest", intent and intent.digest),
                                ("approver.kind", kind), ("mandate.id", mandate), ("idempotency.key", key),
                                ("account", getattr(guard, "account", None))):
                if value is not None:
                    call.facts[NS + name] = safe(value)
            if decision == "replayed":
                call.facts[NS + "idempotency.replay"] = True


def _approver_kind(guard: Any, approver: str | None) -> str | None:
    """mandate (a mandate approved alone), else the configured approver's kind (its class, less "Approver")."""
    if approver is None:
        return None
    if approver.startswith("mandate:"):
        return "mandate"
    configured = getattr(guard, "approver", None)
    return type(configured).__name__.removesuffix("Approver").lower() if configured is not None else "none"


_PROVIDER_OF: dict[int, str] = {}


def _provider_of(op: Operation) -> str:
    """The provider whose registry declares ``op`` (looked up once per operation)."""
    found = _PROVIDER_OF.get(id(op))
    if found is None:
        from agent_billing.registry import get_registry, provider_names

        found = next((name for name in provider_names() if get_registry(name).operations.get(op.name) is op),
                     "unknown")
        _PROVIDER_OF[id(op)] = found
    return found


# --- provider requests


def request_started() -> int:
    """The hook before a provider request is sent: its start time (0 when off).

    Example:
        >>> configure(enabled=False); request_started(); configure()
        0
    """
    return time.time_ns() if enabled() else 0


def request_ended(started: int, request: Any, outcome: Any, provider: str, op: Operation) -> None:
    """The hook after a provider request: its CLIENT span (``started`` to now) and error/rate-limit metrics.

    ``outcome``: the ``httpx.Response``, or the exception the transport raised.

    Example:
        >>> request_ended(0, None, None, "example", None)  # not started: nothing
    """
    otel = _otel() if started else None
    if otel is None:
        return
    call = _CALL.get()
    status = getattr(outcome, "status_code", None)
    error = None
    if isinstance(outcome, BaseException):
        error = type(outcome).__name__
    elif status is None or status >= 400:
        error = str(status)
    base = {NS + "provider": provider, NS + "operation": op.name}
    if error is not None:
        otel.provider_errors.add(1, {**base, "error.type": error,
                                     **({"http.response.status_code": status} if status else {})})
    if status == 429:
        otel.rate_limits.add(1, base)
    replayed = status is not None and str(outcome.headers.get("Idempotent-Replayed", "")).lower() == "true"
    if call is not None:
        call.requests += 1
        call.facts.update(base)
        call.metrics.update({NS + "provider": base[NS + "provider"]})
        if replayed:
            call.facts[NS + "idempotency.replay"] = True
        if call.span is None:
            return  # the call's span does not record: neither would its child
        parent = call.parent(otel)
    else:
        parent = None  # outside a tool call: the application's current span, if any
    url = urlsplit(str(request.url))
    attributes: dict[str, Any] = {
        "http.request.method": request.method, "url.full": _url(url), "url.template": safe(op.path),
        "server.address": safe(url.hostname or ""), **base,
    }
    if url.port is not None:
        attributes["server.port"] = url.port
    if status is not None:
        attributes["http.response.status_code"] = status
        request_id = outcome.headers.get("X-Request-Id")
        if request_id:
            attributes[NS + "request_id"] = safe(request_id)
    if replayed:
        attributes[NS + "idempotency.replayed"] = True
    if error is not None:
        attributes["error.type"] = error
    span = otel.tracer.start_span(f"{request.method} {attributes['url.template']}", context=parent,
                                  kind=otel.trace.SpanKind.CLIENT, attributes=attributes, start_time=started)
    if error is not None:
        span.set_status(otel.trace.Status(otel.trace.StatusCode.ERROR, error))
    span.end()


def _url(url: Any) -> str:
    """The request's URL without credentials and with every query value redacted (ids only in the path)."""
    host = url.hostname or ""
    netloc = f"{host}:{url.port}" if url.port is not None else host
    query = urlencode([(k, "REDACTED") for k, _ in parse_qsl(url.query, keep_blank_values=True)])
    return safe(urlunsplit((url.scheme, netloc, url.path, query, "")))


# --- the MCP server


class _Served:
    """The MCP call being served: ``result`` notes its ``CallToolResult``."""

    def __init__(self, span: Any) -> None:
        self.span: Any = span
        self.error: str | None = None

    def result(self, result: _T) -> _T:
        """Note ``result`` (a ``CallToolResult``: ``isError`` marks the span) and return it."""
        if getattr(result, "is_error", False):
            self.error = "tool_error"
        return result


def _meta_carrier(request: Any) -> dict[str, str]:
    """The string entries of a request's ``_meta`` (where W3C trace context travels): the SDK's parsed ``meta``,
    else the raw params' ``_meta``."""
    raw: Any = getattr(request, "meta", None)
    if not isinstance(raw, Mapping):
        params = getattr(request, "params", None)
        raw = params.get("_meta") if isinstance(params, Mapping) else None
    return {k: v for k, v in (raw or {}).items() if isinstance(k, str) and isinstance(v, str)}


@contextlib.contextmanager
def mcp_tool_call(tool: str, request: Any) -> Iterator[_Served]:
    """The hook around an MCP ``tools/call``: a SERVER span whose parent is the caller's ``params._meta`` context.

    ``request``: the SDK's request context (``request_ctx``), or None outside a served request.

    Example:
        >>> with mcp_tool_call("wallet", None) as served:
        ...     served.result(None)
    """
    otel = _otel()
    served = _Served(None)
    if otel is None:
        yield served
        return
    carrier = _meta_carrier(request)
    ambient = otel.trace.get_current_span().get_span_context()
    attributes: dict[str, Any] = {"mcp.method.name": "tools/call", "gen_ai.tool.name": safe(tool),
                                  "gen_ai.operation.name": "execute_tool"}
    if request is not None:
        attributes["jsonrpc.request.id"] = safe(getattr(request, "request_id", None))
        attributes["network.transport"] = "tcp" if getattr(request, "request", None) is not None else "pipe"
        version = getattr(request, "protocol_version", None)
        if version is not None:
            attributes["mcp.protocol.version"] = safe(version)
    span = otel.tracer.start_span(f"tools/call {attributes['gen_ai.tool.name']}",
                                  context=otel.propagate.extract(carrier), kind=otel.trace.SpanKind.SERVER,
                                  attributes=attributes,
                                  links=[otel.trace.Link(ambient)] if ambient.is_valid else None)
    served.span = span
    token = otel.context.attach(otel.trace.set_span_in_context(span))
    started = time.perf_counter()
    try:
        yield served
    except BaseException as exc:
        served.error = type(exc).__name__
        raise
    finally:
        otel.context.detach(token)
        measured = {"mcp.method.name": "tools/call", "gen_ai.tool.name": attributes["gen_ai.tool.name"]}
        if served.error is not None:
            measured["error.type"] = served.error
            span.set_attribute("error.type", served.error)
            span.set_status(otel.trace.Status(otel.trace.StatusCode.ERROR, served.error))
        otel.mcp_duration.record(time.perf_counter() - started, measured)
        span.end()


__all__ = ["configure", "correlation", "enabled", "mcp_tool_call", "note_answer", "note_decision", "outcome_of",
           "phase", "request_ended", "request_started", "safe", "safe_id", "tool_call"]
