"""Every text an agent reads names only its own provider's tools (issue 21).

For each provider and each toolkit configuration (every action preset, with and without an approver) the
test collects what its agent reads: system prompts in every variant and language, tool names, descriptions
and schemas, the card-data, secret and scope refusals, the failure advice for every error class, and the MCP
server's instructions. A text fails when it names a tool (or ``tool.action``) that only another provider
has. The vocabulary is derived from the providers' own toolkits, not kept by hand.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent_billing import errors
from agent_billing.audit import MemoryAuditLog
from agent_billing.inprocess import sandbox_clients
from agent_billing.mcp.server import instructions
from agent_billing.prompts import available_prompts, load_prompt
from agent_billing.provider import get_provider, provider_names
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit
from agent_billing.tools.actions import PRESETS
from agent_billing.tools.shaping import CURRENT_HANDOFF, next_step_for

PROVIDERS = sorted(provider_names())
PAN = "4242 4242 4242 4242"


def _toolkit(name: str, tmp_path: Path, **kwargs: Any) -> BillingToolkit:
    from agent_billing.guardrails.pending_outcomes import PendingOutcomes

    client = sandbox_clients(create_app(), provider=name)[0]
    return BillingToolkit(client=client, audit=MemoryAuditLog(),
                          pending_outcomes=PendingOutcomes(tmp_path / f"{name}.db"), **kwargs)


def _names(toolkit: BillingToolkit) -> tuple[set[str], set[str]]:
    """(tool names, ``tool.action`` names) a full toolkit of this provider offers."""
    tools = {tool.name for tool in toolkit.get_tools()} | set(toolkit.registry.groups())
    actions = {f"{op.group}.{op.action}" for op in toolkit.registry.operations.values() if op.group and op.action}
    actions |= {f"{c.group}.{c.action}" for c in toolkit.custom_actions or []}
    return tools, actions


@pytest.fixture(scope="module")
def vocabulary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[set[str], set[str]]]:
    path = tmp_path_factory.mktemp("vocabulary")
    return {name: _names(_toolkit(name, path)) for name in PROVIDERS}


def _foreign_patterns(name: str, vocabulary: dict[str, tuple[set[str], set[str]]]) -> list[re.Pattern[str]]:
    """Patterns of a tool call or tool name only another provider has.

    A plain word (``wallet``, ``plan``) counts only as a call (``wallet action=``, ``wallet.fund``, ``the
    wallet tool``); a name with an underscore (``payment_links``) counts anywhere.
    """
    own_tools, own_actions = vocabulary[name]
    patterns: list[re.Pattern[str]] = []
    for other, (tools, actions) in vocabulary.items():
        if other == name:
            continue
        for tool in sorted(tools - own_tools):
            word = re.escape(tool)
            if "_" in tool:
                patterns.append(re.compile(rf"(?<![\w.]){word}(?!\w)"))
            else:
                patterns.append(re.compile(rf"(?<![\w.]){word}(?: action=|\.\w| tool\b|`)"))
        for action in sorted(actions - own_actions):
            group, _, verb = action.partition(".")
            patterns.append(re.compile(rf"(?<![\w.]){re.escape(group)}(?:\.| action=){re.escape(verb)}(?!\w)"))
    return patterns


def _error_instances() -> Iterator[errors.BillingError]:
    for _, cls in sorted(inspect.getmembers(errors, inspect.isclass), key=lambda item: item[0]):
        if not issubclass(cls, errors.BillingError):
            continue
        try:
            error = cls("something failed")
        except TypeError:
            continue
        yield error
        if isinstance(error, errors.ConflictError):  # the codes that get their own advice
            handoffs = [get_provider(n).handoff for n in PROVIDERS]
            for code in {c for h in handoffs if h for c in (h.unpaid_code, h.expired_code) if c}:
                yield errors.ConflictError("something failed", code=code)


def _texts(name: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(where, text) for every text an agent of this provider reads."""
    for variant, language in available_prompts():
        yield f"prompt {variant}/{language}", load_prompt(variant, language, provider=name)  # type: ignore[arg-type]
    handoff = get_provider(name).handoff
    token = CURRENT_HANDOFF.set(handoff)  # as inside one of this provider's tools
    try:
        for error in _error_instances():
            advice = next_step_for(error) or ""
            yield f"advice {type(error).__name__} {error.code}", advice
            yield f"advice(gated) {type(error).__name__}", next_step_for(error, gated=True) or ""
    finally:
        CURRENT_HANDOFF.reset(token)
    for preset in PRESETS:
        for approval in (None, lambda request: True):
            toolkit = _toolkit(name, tmp_path, actions=preset, approval=approval)
            yield f"{preset} mcp instructions", instructions(toolkit)
            for tool in toolkit.get_tools():
                where = f"{preset} tool {tool.name}"
                yield f"{where} description", tool.description
                yield f"{where} schema", json.dumps(convert_to_openai_tool(tool))
                yield f"{where} card refusal", str(tool.invoke({"action": "x", "note": PAN}))
                yield f"{where} secret refusal", str(tool.invoke({"action": "x", "note": "sk_live_" + "a" * 24}))
                yield f"{where} unknown action", str(tool.invoke({"action": "no_such_action"}))


@pytest.mark.parametrize("name", PROVIDERS)
def test_every_text_names_only_the_providers_own_tools(
        name: str, vocabulary: dict[str, tuple[set[str], set[str]]], tmp_path: Path) -> None:
    patterns = _foreign_patterns(name, vocabulary)
    assert patterns, "the other providers have tools this one lacks: the check must have something to find"
    texts = list(_texts(name, tmp_path))
    assert len(texts) > 50
    offending = [(where, pattern.pattern) for where, text in texts for pattern in patterns if pattern.search(text)]
    assert not offending, f"{len(offending)} texts name another provider's tool: {offending[:10]}"


def test_the_check_sees_a_foreign_tool(vocabulary: dict[str, tuple[set[str], set[str]]]) -> None:
    """The patterns catch the finding's own sentence (a hand-off tool only another provider has)."""
    for name in PROVIDERS:
        for other in PROVIDERS:
            handoff = get_provider(other).handoff
            if other == name or handoff is None or handoff.group in vocabulary[name][0]:
                continue
            text = f"Hand off with a payment link ({handoff.call()})."
            assert any(p.search(text) for p in _foreign_patterns(name, vocabulary)), (name, other)
