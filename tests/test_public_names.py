"""``agent_billing``'s public names: one list for the core, the providers' typed clients from their declarations."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import agent_billing
from agent_billing.provider import get_provider, provider_names


def _type_checking_imports() -> set[str]:
    """The names the package's ``if TYPE_CHECKING:`` block imports (what type checkers see)."""
    tree = ast.parse(Path(agent_billing.__file__).read_text())
    block = next(node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    return {alias.asname or alias.name for node in ast.walk(block) if isinstance(node, ast.ImportFrom)
            for alias in node.names}


def test_every_providers_typed_clients_are_exported() -> None:
    for name in provider_names():
        for client in get_provider(name).clients or ():
            assert client in agent_billing.__all__, (name, client)
            assert getattr(agent_billing, client).__module__ == f"{get_provider(name).package}.client"


def test_every_public_name_resolves_and_type_checkers_see_the_same_names() -> None:
    public = set(agent_billing.__all__) - {"__version__"}
    for name in public:
        assert getattr(agent_billing, name) is not None
    # Type checkers read the static block; it must name exactly what run time exports (built-in providers).
    assert _type_checking_imports() == public
    assert set(dir(agent_billing)) >= public


def test_unknown_names_are_attribute_errors() -> None:
    module = importlib.import_module("agent_billing")
    for name in ("NoSuchClient", "__wrapped__"):
        try:
            getattr(module, name)
        except AttributeError:
            continue
        raise AssertionError(f"{name} resolved")
