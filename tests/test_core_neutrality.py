"""The core names no provider and no operation: checked on the syntax tree of every core module.

Core is every module of ``plugin/agent_billing`` outside ``providers/`` (sandbox core, CLI, in-process
helpers, demo and MCP server included; nothing skipped). The forbidden words are derived from the
providers' own declarations (every provider ``provider_names()`` finds, the test-only one included), never
kept by hand:

- provider names, titles and package names (matched inside any identifier or string word);
- operation names, declared error codes and key prefixes (any provider);
- compound group names, custom-action names, path segments (``credit-purchases``) and argument/result
  field names and aliases (``payment_method_id``, ``checkoutUrl``) that occur in exactly one provider's
  declarations. A plain English word (``plan``, ``wallet``, ``type``, ``status``) is billing vocabulary the
  core may use, whichever provider also names a group, an action or a field with it; shared vocabulary
  such as ``amount`` or ``id`` is fine too.

The library's own documented error codes (each ``agent_billing.errors`` class's ``default_code``, such as
``validation_error``) are the core's vocabulary even where a provider declares the same code.

Every string constant (docstrings and f-string parts included) is split into words; every identifier
(names, attributes, function/class/argument names, import names and aliases) is a word. A hit is reported
as ``file:line:word``.
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pytest
from pydantic import BaseModel
from tests.providers.install import acme_installed

from agent_billing import errors
from agent_billing.provider import get_provider, provider_names

PACKAGE = Path(__file__).resolve().parents[1] / "plugin" / "agent_billing"
__all__ = ["acme_installed"]  # the fixture installs the test-only provider for this module
WORD = re.compile(r"[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*")


@dataclass(frozen=True)
class Vocabulary:
    """What the core may not say: ``names`` match inside a word, ``words`` match a whole word,
    ``prefixes`` the start of a word."""

    names: frozenset[str]
    words: frozenset[str]
    prefixes: frozenset[str]

    def hits(self, word: str) -> bool:
        low = word.lower()
        squashed = low.replace("_", "").replace("-", "")
        parts = low.strip("_").split("_")
        # An identifier that contains a compound word (``_fund_wallet_intent``) says it too.
        runs = {"_".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1)}
        return (low in self.words or not runs.isdisjoint(self.compounds) or any(name in squashed for name in self.names)
                or any(low.startswith(prefix) for prefix in self.prefixes))

    @cached_property
    def compounds(self) -> frozenset[str]:
        return frozenset(word for word in self.words if "_" in word.strip("_"))


def _fields(model: type[BaseModel]) -> Iterator[str]:
    for name, info in model.model_fields.items():
        yield name
        for alias in (info.alias, info.validation_alias, info.serialization_alias):
            if isinstance(alias, str):
                yield alias


def _compound(word: str) -> bool:
    return "_" in word.strip("_") or "-" in word.strip("-") or word != word.lower()


def _core_codes() -> set[str]:
    """The library's own documented error codes (core vocabulary, whichever provider declares them too)."""
    def walk(cls: type[errors.BillingError]) -> Iterator[type[errors.BillingError]]:
        yield cls
        for sub in cls.__subclasses__():
            yield from walk(sub)
    return {cls.default_code for cls in walk(errors.BillingError)}


def _declared(name: str) -> tuple[set[str], set[str], set[str], set[str]]:
    """(names, words of this provider only, shared-rule words, prefixes) declared by one provider."""
    provider = get_provider(name)
    registry = provider.registry
    names = {provider.name, provider.title, provider.package.rsplit(".", 1)[-1]}
    always = set(registry.operations) | {code for code in registry.wire.error_classes if code.lower() not in _core_codes()}
    specific = set(registry.group_descriptions)
    for op in registry.operations.values():
        specific.add(op.group)
        specific.update(s for s in op.path.split("/") if "{" not in s)
        specific.update((*_fields(op.args), *_fields(op.result)))
    actions = getattr(provider.part("actions"), "ACTIONS", None) or []
    for action in actions:
        specific.update((action.group, action.action))
    # A plain English word (plan, type, status) is vocabulary; a compound one is the provider's.
    specific = {word for word in specific if _compound(word)}
    prefixes = {prefix for prefix in registry.connection.key_prefixes if len(prefix) > 2}
    return ({n.lower().replace("_", "") for n in names if n}, {w.lower() for w in always},
            {w.lower() for w in specific}, {p.lower() for p in prefixes})


def vocabulary() -> Vocabulary:
    """The forbidden vocabulary of every provider found now."""
    names: set[str] = set()
    words: set[str] = set()
    prefixes: set[str] = set()
    counts: Counter[str] = Counter()
    for name in provider_names():
        n, always, specific, p = _declared(name)
        names |= n
        words |= always
        prefixes |= p
        counts.update(specific)
    words |= {word for word, count in counts.items() if count == 1}
    return Vocabulary(frozenset(names), frozenset(w for w in words if len(w) > 2), frozenset(prefixes))


def _words(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for offset, text in enumerate(node.value.splitlines() or [""]):
                for word in WORD.findall(text):
                    yield line + offset, word
        elif isinstance(node, ast.Name):
            yield line, node.id
        elif isinstance(node, ast.Attribute):
            yield line, node.attr
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield line, node.name
        elif isinstance(node, ast.arg):
            yield line, node.arg
        elif isinstance(node, ast.keyword) and node.arg:
            yield line, node.arg
        elif isinstance(node, ast.alias):
            for part in (node.name.split(".") + ([node.asname] if node.asname else [])):
                yield line, part
        elif isinstance(node, ast.ImportFrom) and node.module:
            for part in node.module.split("."):
                yield line, part


def check(source: str, filename: str, words: Vocabulary) -> list[str]:
    """``file:line:word`` for every provider word in ``source``."""
    tree = ast.parse(source, filename)
    return sorted({f"{filename}:{line}:{word}" for line, word in _words(tree) if words.hits(word)},
                  key=lambda hit: (int(hit.split(":")[1]), hit))


def core_files() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if "providers" not in path.relative_to(PACKAGE).parts)


def test_the_vocabulary_is_derived_from_every_provider() -> None:
    words = vocabulary()
    for name in provider_names():
        provider = get_provider(name)
        assert words.hits(provider.name) and words.hits(provider.title)
        assert all(words.hits(op) for op in provider.registry.operations)
    assert "acme" in provider_names()  # the test-only provider is part of the derivation
    assert not words.hits("amount") and not words.hits("currency") and not words.hits("id")
    # Plain English is billing vocabulary; the library's own error codes are the core's.
    assert not words.hits("plan") and not words.hits("wallet") and not words.hits("validation_error")
    assert words.hits("payment_links") and words.hits("fund_wallet_intent")


def test_the_checker_fails_when_a_provider_word_is_put_back(tmp_path: Path) -> None:
    words = vocabulary()
    operation = next(iter(get_provider("acme").registry.operations))
    source = (PACKAGE / "money.py").read_text(encoding="utf-8")
    clean = check(source, "money.py", words)
    for inserted in (f'\nX = "{operation}"\n', f'\ndef f():\n    """Call {operation} now."""\n',
                     f'\nY = f"{{1}} /{operation}"\n', f'\n{operation}_count = 1\n',
                     '\nimport agent_billing.providers.acme_billing as a\n', '\nclass AcmeClient: ...\n'):
        copy = tmp_path / "money.py"
        copy.write_text(source + inserted, encoding="utf-8")
        found = check(copy.read_text(encoding="utf-8"), "money.py", words)
        assert len(found) > len(clean), inserted


# The modules not yet neutral and how many provider words each still holds (issue 21 is moving them into
# their providers). A count may only go down: a module that gains a word, or a new module with one, fails;
# a module that drops to fewer words than recorded fails too, so the record is lowered as the work lands.
# ``python -m tests.test_core_neutrality`` prints the current counts.
DEBT = Path(__file__).with_name("core_neutrality_debt.json")


def current_counts() -> dict[str, int]:
    words = vocabulary()
    counts = {path.relative_to(PACKAGE).as_posix(): len(check(path.read_text(encoding="utf-8"),
                                                               path.relative_to(PACKAGE).as_posix(), words))
              for path in core_files()}
    return {name: count for name, count in sorted(counts.items()) if count}


@pytest.mark.parametrize("path", core_files(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_core_module_names_no_more_provider_words_than_recorded(path: Path) -> None:
    name = path.relative_to(PACKAGE).as_posix()
    allowed = json.loads(DEBT.read_text(encoding="utf-8")).get(name, 0)
    hits = check(path.read_text(encoding="utf-8"), name, vocabulary())
    assert len(hits) <= allowed, f"{len(hits)} provider words, {allowed} recorded:\n" + "\n".join(hits)
    assert len(hits) == allowed, f"{name} now holds {len(hits)} provider words: lower its record to {len(hits)}"


if __name__ == "__main__":
    from tests.providers.install import installed

    with installed():
        print(json.dumps(current_counts(), indent=1))
