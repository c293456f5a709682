"""``BillingTool``: a ``StructuredTool`` whose raw arguments meet the card-data and secret guards first.

LangChain validates a tool's input before the tool's function runs, and reports it to callbacks and
tracers; a card number or a token in the arguments would already be on its way. So ``run``/``arun``
scan the raw input first and, if there is card data or a secret (``guardrails.secrets``: the
configured access token from ``known_secrets``, secret-looking keys such as ``sk_live_...``, values
under secret key names), answer with a refusal without passing the input on. Refusals name field
paths and kinds only. Validation errors are reported without echoing values.

Example:
    >>> from agent_billing.tools.tool import dumps_content
    >>> dumps_content({"ok": True})
    '{"ok":true}'
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import Callable, Iterable
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import StructuredTool, ToolException
from pydantic import ValidationError

from agent_billing import telemetry
from agent_billing.errors import CardDataRefusedError
from agent_billing.exchange import validation_error
from agent_billing.guardrails.card_data import refusal_message, scan_arguments
from agent_billing.guardrails.secrets import SECRET_REFUSAL_MESSAGE, find_secrets
from agent_billing.lanes import FLOW_LANE, run_in
from agent_billing.provider import HandOff
from agent_billing.tools.shaping import CURRENT_HANDOFF

TOOL_CALL_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("agent_billing_tool_call_id", default=None)
# True while a tool runs on raw input its scan found free of card data and secrets: the flow's audit need not
# scrub those arguments again (set by ``BillingTool.run``/``arun`` only; anything else is scrubbed).
INPUT_SCANNED: contextvars.ContextVar[bool] = contextvars.ContextVar("agent_billing_input_scanned", default=False)


def dumps_content(content: dict[str, Any]) -> str:
    """Compact JSON for a tool message.

    Example:
        >>> from decimal import Decimal
        >>> dumps_content({"ok": True, "balance": Decimal("12.50"), "message": "Zahlung über 12,50 $"})
        '{"ok":true,"balance":"12.50","message":"Zahlung über 12,50 $"}'
    """
    return json.dumps(content, separators=(",", ":"), ensure_ascii=False, default=str)


def card_refusal_content(paths: list[str], handoff: HandOff | None = None) -> dict[str, Any]:
    """The refusal an agent sees when its arguments carried card data (no digits, only field names).

    ``handoff``: the provider's hand-off, the only tool the refusal names (none when it has none).

    Example:
        >>> content = card_refusal_content(["payment_method_id"])
        >>> content["error"], content["fields"]
        ('card_data_not_allowed', ['payment_method_id'])
    """
    return {"ok": False, "error": "card_data_not_allowed", "fields": paths,
            "message": refusal_message(handoff.call() if handoff is not None else None)}


def secret_refusal_content(paths: list[str], kinds: list[str]) -> dict[str, Any]:
    """The refusal an agent sees when its arguments carried a secret (field paths and kinds, no value).

    Example:
        >>> content = secret_refusal_content(["note"], ["known_secret"])
        >>> content["error"], content["fields"], content["kinds"]
        ('secret_not_allowed', ['note'], ['known_secret'])
    """
    return {"ok": False, "error": "secret_not_allowed", "fields": paths, "kinds": kinds,
            "message": SECRET_REFUSAL_MESSAGE}


def _validation_message(exc: ValidationError) -> str:
    err = validation_error(exc, "tool")
    content = {"ok": False, "error": "validation_error", "message": err.message, "fields": err.details.get("errors", [])}
    telemetry.note_answer(content)  # telemetry hook
    return dumps_content(content)


class BillingTool(StructuredTool):
    """A billing tool: card-data and secret guards on raw input, then the guarded operation flow.

    ``known_secrets`` returns the exact secrets (the client's access token) that no argument may
    contain; it is called on every run, so a rotated token is seen.

    Example:
        >>> from agent_billing.tools.toolkit import BillingToolkit  # tools come from the toolkit
    """

    on_card_data: Callable[[list[str], Any], None] | None = None
    known_secrets: Callable[[], Iterable[str]] | None = None
    on_secret: Callable[[list[str], Any], None] | None = None
    handoff: HandOff | None = None  # the provider's hand-off: the one tool its refusals and advice name

    def _refuse_sensitive(self, tool_input: Any, tool_call_id: str | None) -> Any:
        """A refusal when the raw input holds card data or a secret (card data first), else None."""
        findings = self._findings(tool_input)
        return self._refuse(findings, tool_input, tool_call_id) if findings is not None else None

    def _findings(self, tool_input: Any) -> tuple[str, list[Any]] | None:
        """What the one scan of the raw input found: card data first, then secrets (None: nothing). No I/O."""
        cards = scan_arguments(tool_input)
        if cards:
            return "card", list(cards)
        secrets = find_secrets(tool_input, known=self.known_secrets() if self.known_secrets is not None else ())
        return ("secret", list(secrets)) if secrets else None

    def _refuse(self, findings: tuple[str, list[Any]], tool_input: Any, tool_call_id: str | None) -> Any:
        """Audit the refusal (this may wait on a store) and answer with it."""
        kind, found = findings
        paths = sorted({f.path or "(text)" for f in found})
        if kind == "card":
            if self.on_card_data is not None:
                self.on_card_data(paths, tool_input)
            return self._refusal(card_refusal_content(paths, self.handoff), tool_call_id)
        if self.on_secret is not None:
            self.on_secret(paths, tool_input)
        return self._refusal(secret_refusal_content(paths, sorted({f.kind for f in found})), tool_call_id)

    def _refusal(self, content: dict[str, Any], tool_call_id: str | None) -> Any:
        telemetry.note_answer(content)  # telemetry hook
        text = dumps_content(content)
        if tool_call_id is None:
            return text
        return ToolMessage(content=text, tool_call_id=tool_call_id, name=self.name, status="error")

    def run(self, tool_input: Any, *args: Any, tool_call_id: str | None = None, **kwargs: Any) -> Any:
        """Scan, then run as a StructuredTool with the tool-call id visible to the flow."""
        with telemetry.tool_call(self.name, tool_call_id, kwargs):  # telemetry hook: the execute_tool span
            return self._run_guarded(tool_input, *args, tool_call_id=tool_call_id, **kwargs)

    def _run_guarded(self, tool_input: Any, *args: Any, tool_call_id: str | None = None, **kwargs: Any) -> Any:
        refusal = self._refuse_sensitive(tool_input, tool_call_id)
        if refusal is not None:
            return refusal
        token, handoff = TOOL_CALL_ID.set(tool_call_id), CURRENT_HANDOFF.set(self.handoff)
        scanned = INPUT_SCANNED.set(True)
        try:
            return super().run(tool_input, *args, tool_call_id=tool_call_id, **kwargs)
        finally:
            INPUT_SCANNED.reset(scanned)
            CURRENT_HANDOFF.reset(handoff)
            TOOL_CALL_ID.reset(token)

    async def arun(self, tool_input: Any, *args: Any, tool_call_id: str | None = None, **kwargs: Any) -> Any:
        """Async form of ``run``."""
        with telemetry.tool_call(self.name, tool_call_id, kwargs):  # telemetry hook: the execute_tool span
            return await self._arun_guarded(tool_input, *args, tool_call_id=tool_call_id, **kwargs)

    async def _arun_guarded(self, tool_input: Any, *args: Any, tool_call_id: str | None = None, **kwargs: Any) -> Any:
        # The scan is computation, done here; only a refusal is audited, and an audit store may wait on a lock:
        # that goes off the event loop and off its default pool, in the flows' own lane.
        findings = self._findings(tool_input)
        if findings is not None:
            return await run_in(FLOW_LANE, self._refuse, findings, tool_input, tool_call_id)
        token, handoff = TOOL_CALL_ID.set(tool_call_id), CURRENT_HANDOFF.set(self.handoff)
        scanned = INPUT_SCANNED.set(True)
        try:
            return await super().arun(tool_input, *args, tool_call_id=tool_call_id, **kwargs)
        finally:
            INPUT_SCANNED.reset(scanned)
            CURRENT_HANDOFF.reset(handoff)
            TOOL_CALL_ID.reset(token)


def make_tool(
    *,
    name: str,
    description: str,
    args_schema: type[Any],
    run_sync: Callable[[dict[str, Any], str | None], tuple[dict[str, Any], bool, dict[str, Any]]],
    run_async: Callable[[dict[str, Any], str | None], Any],
    on_card_data: Callable[[list[str], Any], None] | None = None,
    known_secrets: Callable[[], Iterable[str]] | None = None,
    on_secret: Callable[[list[str], Any], None] | None = None,
    handoff: HandOff | None = None,
) -> BillingTool:
    """Build a ``BillingTool`` from a sync and an async runner returning (content, is_error, artifact).

    Example:
        >>> from pydantic import BaseModel
        >>> class EchoArgs(BaseModel):
        ...     text: str
        >>> def run(raw, tool_call_id):
        ...     return {"ok": True, "echo": raw["text"]}, False, {}
        >>> tool = make_tool(name="echo", description="Echo text.", args_schema=EchoArgs, run_sync=run, run_async=run)
        >>> tool.invoke({"text": "hi"}), json.loads(tool.invoke({"text": "4242 4242 4242 4242"}))["error"]
        ('{"ok":true,"echo":"hi"}', 'card_data_not_allowed')
        >>> tool = make_tool(name="echo", description="Echo text.", args_schema=EchoArgs, run_sync=run,
        ...                  run_async=run, known_secrets=lambda: ["tok_configured_123"])
        >>> json.loads(tool.invoke({"text": "use tok_configured_123"}))["error"]
        'secret_not_allowed'
    """

    def _finish(result: tuple[dict[str, Any], bool, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
        content, is_error, artifact = result
        telemetry.note_answer(content)  # telemetry hook
        if is_error:
            raise ToolException(dumps_content(content))
        return dumps_content(content), artifact

    def func(**kwargs: Any) -> tuple[str, dict[str, Any]]:
        raw = {k: v for k, v in kwargs.items() if v is not None}
        return _finish(run_sync(raw, TOOL_CALL_ID.get()))

    async def coroutine(**kwargs: Any) -> tuple[str, dict[str, Any]]:
        raw = {k: v for k, v in kwargs.items() if v is not None}
        result = run_async(raw, TOOL_CALL_ID.get())
        if asyncio.iscoroutine(result):
            result = await result
        return _finish(result)

    return BillingTool(
        name=name,
        description=description,
        args_schema=args_schema,
        func=func,
        coroutine=coroutine,
        response_format="content_and_artifact",
        handle_tool_error=True,
        handle_validation_error=_validation_message,
        on_card_data=on_card_data,
        known_secrets=known_secrets,
        on_secret=on_secret,
        handoff=handoff,
    )


__all__ = ["BillingTool", "CardDataRefusedError", "make_tool", "secret_refusal_content"]
