"""``agent_billing``'s public names: one list for the core, the providers' typed clients from their declarations."""

from __future__ import annotations

import ast
import importlib
import warnings
from pathlib import Path

import pytest

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


def test_every_public_name_resolves_and_type_checkers_see_the_core_names() -> None:
    public = set(agent_billing.__all__) - {"__version__"}
    for name in public:
        assert getattr(agent_billing, name) is not None
    # Type checkers read the static block: exactly the core's one list (run time adds the providers' typed
    # clients, which the core cannot spell; a type checker imports those from their provider's package).
    core = {name for names in agent_billing._PUBLIC.values() for name in names}
    assert _type_checking_imports() == core
    clients = {client for name in provider_names() for client in get_provider(name).clients or ()}
    # The deprecated aliases still resolve (tested below) but are not advertised, so listing the names warns for none.
    assert public == (core - set(agent_billing._DEPRECATED)) | clients
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        assert all(getattr(agent_billing, name) is not None for name in dir(agent_billing) if not name.startswith("__"))
    assert set(dir(agent_billing)) >= public


@pytest.mark.parametrize("module", ["agent_billing", "agent_billing.client"])
@pytest.mark.parametrize(("old", "index"), [("BillingClient", 0), ("AsyncBillingClient", 1)])
def test_the_deprecated_aliases_warn_and_name_the_default_providers_client(module: str, old: str, index: int) -> None:
    expected = get_provider().clients
    assert expected is not None
    with pytest.warns(DeprecationWarning, match=f"{old} is deprecated: use {expected[index]} ") as caught:
        cls = getattr(importlib.import_module(module), old)
    assert cls.__name__ == expected[index] and cls.__module__ == f"{get_provider().package}.client"
    assert caught[0].filename == __file__  # the warning points at the code that used the old name
    # Each use warns again (the root does not cache the alias away).
    with pytest.warns(DeprecationWarning):
        getattr(importlib.import_module(module), old)


def test_unknown_names_are_attribute_errors() -> None:
    module = importlib.import_module("agent_billing")
    for name in ("NoSuchClient", "__wrapped__"):
        try:
            getattr(module, name)
        except AttributeError:
            continue
        raise AssertionError(f"{name} resolved")


def test_the_library_itself_uses_no_deprecated_alias() -> None:
    """Importing every module of the package (a fresh interpreter) warns for none of the library's own aliases:
    a user who turns DeprecationWarning into errors must be able to import everything we ship."""
    import subprocess
    import sys

    script = (
        "import importlib, pkgutil, warnings\n"
        "warnings.simplefilter('error', DeprecationWarning)\n"
        "import agent_billing\n"
        "skip = ('conftest', '__main__')\n"
        "for info in pkgutil.walk_packages(agent_billing.__path__, 'agent_billing.'):\n"
        "    if info.name.rsplit('.', 1)[-1] in skip:\n"
        "        continue\n"
        "    try:\n"
        "        importlib.import_module(info.name)\n"
        "    except ModuleNotFoundError:\n"
        "        pass  # an optional extra that is not installed here\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-2000:]
