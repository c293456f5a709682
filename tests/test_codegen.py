"""The generated typed client methods: up to date for every provider, and every docstring example runs.

The examples themselves run as doctests (``--doctest-modules``, with ``client`` and ``aclient`` from the
root ``conftest.py``); these tests make sure none is skipped and that the declarations cannot drift."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from agent_billing.codegen import (
    MethodExample,
    Step,
    client_classes,
    example_clients,
    examples_of,
    main,
    render_client_methods,
    target_of,
    typed_registries,
)
from agent_billing.provider import get_provider, provider_names
from agent_billing.providers.tenex import arguments as tenex_args
from agent_billing.providers.tenex import results as tenex_results
from agent_billing.providers.tenex.operations import build_registry
from agent_billing.registry import Effect, Operation, Registry, get_registry, register_provider

TYPED = [registry.provider for registry in typed_registries()]


def test_every_shipped_provider_has_typed_methods() -> None:
    assert {"modelslab", "wallgent", "tenex"} <= set(TYPED)


@pytest.mark.parametrize("provider", TYPED)
def test_the_generated_module_is_up_to_date(provider: str) -> None:
    registry = get_registry(provider)
    path, _, _ = target_of(registry)
    assert path.read_text() == render_client_methods(registry), "run: python -m agent_billing.codegen"


def test_codegen_check_mode_reports_no_drift() -> None:
    result = subprocess.run([sys.executable, "-m", "agent_billing.codegen", "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("provider", TYPED)
def test_every_generated_method_has_an_example_that_runs(provider: str) -> None:
    registry = get_registry(provider)
    source = target_of(registry)[0].read_text()
    assert "+SKIP" not in source and "doctest: +SKIP" not in render_client_methods(registry)
    tree = ast.parse(source)
    methods = [node for cls in tree.body if isinstance(cls, ast.ClassDef) for node in cls.body
               if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name != "call"]
    assert len(methods) == 2 * len(registry)
    for method in methods:
        doc = ast.get_docstring(method) or ""
        calls = [line for line in doc.splitlines() if f".{method.name}(" in line and line.lstrip().startswith((">>>", "..."))]
        assert calls, f"{method.name}: the example never calls the method"
        if isinstance(method, ast.AsyncFunctionDef):
            assert "aclient." in calls[-1] and "asyncio.run(" in doc, method.name
        else:
            assert "client." in calls[-1] and "aclient" not in doc, method.name


@pytest.mark.parametrize("provider", TYPED)
def test_the_examples_run_on_the_client_class_the_module_docstring_builds(provider: str) -> None:
    registry = get_registry(provider)
    module = registry.typed_methods[0] if registry.typed_methods else ""
    sync_cls, async_cls = client_classes(registry)
    source = target_of(registry)[0].read_text()
    assert f"import {async_cls.__name__}, {sync_cls.__name__}" in source
    clients = example_clients(module)
    assert clients is not None
    client, aclient = clients
    try:
        assert type(client) is sync_cls and type(aclient) is async_cls
        assert client.registry.provider == provider and client.base_url.endswith(registry.connection.sandbox_path)
    finally:
        client.close()


def test_a_registry_reusing_a_providers_declarations_does_not_own_its_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployer's moved paths (another name, the same typed module) must not count as drift or win the examples."""
    register_provider("tenex_codegen_moved", lambda: build_registry({"get_usage": "/usage/current"},
                                                                    provider="tenex_codegen_moved"))
    assert get_registry("tenex_codegen_moved").typed_methods == get_registry("tenex").typed_methods
    assert [registry.provider for registry in typed_registries()] == TYPED
    clients = example_clients("agent_billing.providers.tenex.client_methods")
    assert clients is not None and clients[0].registry.provider == "tenex"
    clients[0].close()
    monkeypatch.setattr(sys, "argv", ["codegen", "--check"])
    assert main() == 0


def test_a_module_that_is_not_generated_gets_no_clients() -> None:
    assert example_clients("agent_billing.client") is None


def test_an_operation_with_arguments_and_no_declared_example_is_refused() -> None:
    registry = build_registry(provider="tenex_codegen_probe")
    registry.add(Operation(name="get_agent_budget", group="usage", action="budget", method="GET",
                           path="/credits/budgets/{agent_id}", args=tenex_args.AgentArgs, result=tenex_results.AgentUsage,
                           effect=Effect.READ, description="One agent's budget."))
    with pytest.raises(ValueError, match="get_agent_budget needs arguments: declare its example"):
        examples_of(registry)


@pytest.mark.parametrize("provider", provider_names())
def test_every_example_is_in_its_declaration_and_no_list_beside_them(provider: str) -> None:
    # Examples keyed by operation name in a module beside the declarations could drift from them (an example
    # of a renamed operation); every provider now declares each one with its operation, and nothing reads such
    # a module any more, so one left behind would be silently ignored: there must be none.
    assert get_provider(provider).part("examples") is None
    registry = get_registry(provider)
    if registry.typed_methods:
        examples = examples_of(registry)
        assert all(examples[op.name] is op.example for op in registry if op.example is not None)


def test_the_example_is_read_from_the_declaration() -> None:
    registry = build_registry(provider="tenex_codegen_probe")
    declared = registry.get("get_invoice").example
    assert isinstance(declared, MethodExample) and examples_of(registry)["get_invoice"] is declared
    odd = Registry(provider="tenex_codegen_probe", base_path=registry.base_path)
    odd.declare("get_plan", "plan", "get", "GET", "/plans/current", tenex_args.NoArgs, tenex_results.Plan,
                Effect.READ, "The plan.", example="client.get_plan()")
    with pytest.raises(TypeError, match=r"must be a codegen\.MethodExample"):
        examples_of(odd)


def test_example_lines_sync_async_and_errors() -> None:
    example = MethodExample("invoice_id", ".total", "Decimal('499.00')",
                            setup=(Step("list_invoices", pick=".items[0].id", bind="invoice_id"),))
    assert example.lines("get_invoice", asynchronous=False) == [
        ">>> invoice_id = client.list_invoices().items[0].id", ">>> client.get_invoice(invoice_id).total",
        "Decimal('499.00')"]
    assert example.lines("get_invoice", asynchronous=True) == [
        ">>> import asyncio", ">>> async def example():",
        "...     invoice_id = (await aclient.list_invoices()).items[0].id",
        "...     return await aclient.get_invoice(invoice_id)", ">>> asyncio.run(example()).total", "Decimal('499.00')"]
    refused = MethodExample("subscription_id", output="agent_billing.errors.ConflictError: Cannot fix ...")
    assert refused.raises and refused.lines("fix_payment", asynchronous=False) == [
        ">>> client.fix_payment(subscription_id)  # doctest: +ELLIPSIS", "Traceback (most recent call last):",
        "agent_billing.errors.ConflictError: Cannot fix ..."]
    plain = MethodExample(output="'Plan'")
    assert plain.lines("get_plan", asynchronous=True) == [
        ">>> import asyncio", ">>> type(asyncio.run(aclient.get_plan())).__name__", "'Plan'"]
