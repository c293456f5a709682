"""The core names no operation and no provider: everything particular to one lives in its provider package.

The core here is what every provider runs through: the registry, client, exchange and wire code, the
guardrails, the audit log, the tools (the flow, the toolkit, the middleware, the MCP server) and the
sandbox core (composition, server, store, idempotency, rate limits, test cards, faults). A string
literal in their code (docstrings are examples, and may name anything) that is an operation's name, or
names a provider, is a special case that belongs in a declaration.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from agent_billing.registry import get_registry, provider_names

PACKAGE = Path(__file__).resolve().parents[1] / "plugin" / "agent_billing"
CORE = ["registry.py", "client.py", "exchange.py", "conventions.py", "config.py", "errors.py", "wire.py", "money.py",
        "retry.py", "audit.py", "advisor.py", "webhooks.py", "prompts.py", "guardrails", "tools", "mcp"]
# Words that are operation names of some provider but also plain vocabulary of the core (a payment purpose).
VOCABULARY = {"subscribe"}
OPERATIONS = {name for provider in provider_names() for name in get_registry(provider).operations} - VOCABULARY
PROVIDER_WORDS = {*provider_names(), "modelslab", "wallgent", "tenex", "10ex"}


def core_files() -> list[Path]:
    files: list[Path] = []
    for entry in CORE:
        path = PACKAGE / entry
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


def named(source: str) -> list[tuple[int, str]]:
    """(line, literal) for every non-docstring string literal naming an operation or a provider."""
    tree = ast.parse(source)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            text = node.value
            if text in OPERATIONS or any(word in text.lower().split() or text.lower() == word
                                         for word in PROVIDER_WORDS):
                found.append((node.lineno, text))
    return found


def test_the_checker_finds_what_it_looks_for() -> None:
    source = 'x = "fund_wallet"\ny = "modelslab"\ndef f():\n    """fund_wallet in a docstring is fine."""\n'
    assert [text for _, text in named(source)] == ["fund_wallet", "modelslab"]


@pytest.mark.parametrize("path", core_files(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_core_module_names_no_operation_or_provider(path: Path) -> None:
    assert named(path.read_text(encoding="utf-8")) == []
