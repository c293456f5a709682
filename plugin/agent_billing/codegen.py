"""Generate ``client_methods.py``: the typed client methods, one per registry operation.

The registry is the only declaration of an operation; this turns it into real, typed, discoverable
methods (an IDE shows each operation's arguments, ``idempotency_key`` for a mutation, and its result type)
and a test fails when the generated file drifts from the registry.

Run ``python -m agent_billing.codegen`` after changing a declaration.

Example:
    >>> src = render_client_methods()
    >>> all(f"    def {op.name}(self" in src for op in get_registry())
    True
"""

from __future__ import annotations

import sys
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic.fields import FieldInfo

from agent_billing.registry import Operation, Registry, get_registry, provider_names


@dataclass(frozen=True)
class Step:
    """A prerequisite call in an example: ``<bind> = client.<method>(<args>)<pick>``.

    Example:
        >>> Step("save_card", '"tok_test"').render("client.")
        '_ = client.save_card("tok_test")'
        >>> Step("list_items", pick=".items[0].id", bind="item").render("client.")
        'item = client.list_items().items[0].id'
        >>> Step("list_items", pick=".items[0].id", bind="item").render("await aclient.")
        'item = (await aclient.list_items()).items[0].id'
    """

    method: str
    args: str = ""
    pick: str = ""
    bind: str | None = None

    def render(self, prefix: str) -> str:
        """The statement, calling through ``prefix`` (``client.`` or ``await aclient.``)."""
        call = f"{prefix}{self.method}({self.args})"
        if self.pick and prefix.startswith("await"):
            call = f"({call})"
        # A doctest prints an unbound expression's value: a prerequisite's result is kept quiet in ``_``.
        bind = self.bind or ("" if prefix.startswith("await") else "_")
        return (f"{bind} = " if bind else "") + call + self.pick


@dataclass(frozen=True)
class MethodExample:
    """How a generated method's docstring example calls it against a fresh sandbox, and what it shows.

    ``args`` is the call's argument source; ``shows`` what of the result is printed (``.amount``; empty:
    the result's type name); ``output`` what that prints, or the last line of the typed exception the
    sandbox answers with (``agent_billing.errors.ConflictError: ...``); ``setup`` the prerequisite calls.
    A provider declares one with each operation (``Operation.example``).

    Example:
        >>> MethodExample('"it_1"', ".id", "'it_1'").lines("get_item", asynchronous=False)
        ['>>> client.get_item("it_1").id', "'it_1'"]
    """

    args: str = ""
    shows: str = ""
    output: str = ""
    setup: tuple[Step, ...] = ()

    @property
    def raises(self) -> bool:
        """Whether the sandbox's real answer is a typed exception."""
        return self.output.startswith("agent_billing.errors.")

    def lines(self, name: str, *, asynchronous: bool) -> list[str]:
        """The doctest lines (``>>>``, ``...`` and the expected output)."""
        shows = self.shows if self.shows or self.raises else ""
        flags = "  # doctest: +ELLIPSIS" if "..." in self.output else ""
        if not asynchronous:
            out = [f">>> {step.render('client.')}" for step in self.setup]
            call = f"client.{name}({self.args})"
            out.append(f">>> {call}{shows}{flags}" if shows or self.raises else f">>> type({call}).__name__")
        elif not self.setup:
            call = f"asyncio.run(aclient.{name}({self.args}))"
            out = [">>> import asyncio",
                   f">>> {call}{shows}{flags}" if shows or self.raises else f">>> type({call}).__name__"]
        else:
            out = [">>> import asyncio", ">>> async def example():"]
            out += [f"...     {step.render('await aclient.')}" for step in self.setup]
            out.append(f"...     return await aclient.{name}({self.args})")
            out.append(f">>> asyncio.run(example()){shows}{flags}" if shows or self.raises else
                       ">>> type(asyncio.run(example())).__name__")
        if self.raises:
            out.append("Traceback (most recent call last):")
        out.append(self.output)
        return out


def examples_of(registry: Registry) -> Mapping[str, MethodExample]:
    """Each operation's example, as declared with it (``Operation.example``).

    An operation without one gets a plain call when it needs no arguments; one that needs arguments
    must declare its example.

    Example:
        >>> examples = examples_of(get_registry())
        >>> sorted(examples) == sorted(get_registry().operations), all(e.output for e in examples.values())
        (True, True)
    """
    out: dict[str, MethodExample] = {}
    for op in registry:
        example = op.example
        if isinstance(example, MethodExample):
            out[op.name] = example
        elif example is not None:
            raise TypeError(f"{op.name}: example= must be a codegen.MethodExample, not {type(example).__name__}")
        elif any(field.is_required() for field in op.args.model_fields.values()):
            raise ValueError(f"{op.name} needs arguments: declare its example (example=MethodExample(...))")
        else:
            out[op.name] = MethodExample(output=repr(op.result.__name__))
    return out


def client_classes(registry: Registry) -> tuple[type[Any], type[Any]]:
    """The provider's (sync, async) client classes: those of the ``client`` module beside its generated methods.

    Example:
        >>> [cls.PROVIDER == get_registry().provider for cls in client_classes(get_registry())]
        [True, True]
    """
    # Imported here: the client imports the generated methods, which codegen must be able to (re)write first.
    from agent_billing.client import provider_clients

    _typed(registry)
    return provider_clients(registry)


def typed_registries() -> list[Registry]:
    """The registries whose typed methods codegen writes: one per generated module.

    A registry that only reuses another's declarations under a new name (a deployer's moved paths,
    ``register_provider``) shares that module but is not what it is generated from: the owner is the
    provider its client class stands for (``PROVIDER``; None for the default provider).

    Example:
        >>> from agent_billing.registry import default_provider
        >>> default_provider() in [registry.provider for registry in typed_registries()]
        True
    """
    from agent_billing.registry import default_provider

    owners = []
    for name in provider_names():
        registry = get_registry(name)
        if registry.typed_methods is not None and (client_classes(registry)[0].PROVIDER or default_provider()) == name:
            owners.append(registry)
    return owners


def example_clients(module: str) -> tuple[Any, Any] | None:
    """A fresh in-process sandbox's (client, aclient) for the examples of generated module ``module`` (else None).

    The doctest fixture calls it for each generated example; the module's docstring shows the same build.

    Example:
        >>> client, aclient = example_clients(_typed(get_registry())[0])
        >>> type(client).PROVIDER == type(aclient).PROVIDER == get_registry().provider
        True
        >>> client.close()
    """
    registry = next((registry for registry in typed_registries() if _typed(registry)[0] == module), None)
    if registry is None:
        return None
    import httpx

    from agent_billing.inprocess import SANDBOX_ORIGIN, SyncASGITransport
    from agent_billing.sandbox import create_app

    sync_cls, async_cls = client_classes(registry)
    app, connection = create_app(), registry.connection
    base_url = SANDBOX_ORIGIN + connection.sandbox_path
    return (sync_cls(base_url=base_url, token=connection.sandbox_token, transport=SyncASGITransport(app)),
            async_cls(base_url=base_url, token=connection.sandbox_token, transport=httpx.ASGITransport(app=app)))


def _render_type(annotation: Any) -> str:
    """Python source for an argument's public type (money accepts Decimal, int or str)."""
    if annotation is type(None):
        return "None"
    if annotation is Decimal:
        return "Decimal | int | str"
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _render_type(get_args(annotation)[0])
    if origin is Literal:
        return "Literal[" + ", ".join(repr(a) for a in get_args(annotation)) + "]"
    if origin in (typing.Union, types.UnionType):
        parts: list[str] = []
        for arg in get_args(annotation):
            for piece in _render_type(arg).split(" | "):
                if piece not in parts:
                    parts.append(piece)
        return " | ".join(parts)
    if isinstance(annotation, type):
        return annotation.__name__
    raise TypeError(f"cannot render type {annotation!r}")


def _params(op: Operation) -> tuple[list[str], list[str]]:
    """(signature parts, names) for the operation's fields: required first, in declaration order."""
    fields: dict[str, FieldInfo] = op.args.model_fields
    required = [n for n, f in fields.items() if f.is_required()]
    optional = [n for n, f in fields.items() if not f.is_required()]
    parts = [f"{n}: {_render_type(fields[n].annotation)}" for n in required]
    for n in optional:
        default = fields[n].default
        type_src = _render_type(fields[n].annotation)
        if default is None and "None" not in type_src.split(" | "):
            type_src += " | None"
        parts.append(f"{n}: {type_src} = {default!r}")
    return parts, required + optional


def _method(op: Operation, example: MethodExample, asynchronous: bool) -> str:
    parts, names = _params(op)
    signature = ["self", *parts]
    required = [n for n in names if op.args.model_fields[n].is_required()]
    if not required and parts:
        # Only optional fields (update_billing_info): keyword-only, as the reference's **kwargs helper.
        signature.insert(1, "*")
    if op.is_mutation:
        signature += ["idempotency_key: str | None = None"] if "*" in signature else [
            "*", "idempotency_key: str | None = None"]
    result = op.result.__name__
    keyword = "async def" if asynchronous else "def"
    call = "await self.call" if asynchronous else "self.call"
    mapping = "{" + ", ".join(f'"{n}": {n}' for n in names) + "}"
    key = ", idempotency_key=idempotency_key" if op.is_mutation else ""
    doc = "".join(f"            {line}\n" for line in example.lines(op.name, asynchronous=asynchronous))
    extra = " Sent with an Idempotency-Key (yours, or one generated for this call)." if op.is_mutation else ""
    return (
        f"    {keyword} {op.name}({', '.join(signature)}) -> r.{result}:\n"
        f'        """{op.description}{extra}\n\n'
        f"        ``{op.method} {op.path}`` ({op.effect.value}).\n\n"
        f"        Example:\n"
        f"{doc}"
        f'        """\n'
        + (f"        return typing.cast(r.{result}, {call}({op.name!r}, {mapping}{key}))\n" if not names else
           f"        try:\n"
           f"            return typing.cast(r.{result}, {call}({op.name!r}, {mapping}{key}))\n"
           f"        except CardDataRefusedError:\n"
           f"            del {', '.join(names)}  # the refused digits must not stay reachable from the traceback\n"
           f"            raise\n")
    )


def _typed(registry: Registry) -> tuple[str, str, str]:
    if registry.typed_methods is None:
        raise ValueError(f"provider {registry.provider!r} declares no typed_methods")
    return registry.typed_methods


def target_of(registry: Registry) -> tuple[Path, str, str]:
    """(file, sync class, async class) of ``registry``'s generated methods (``Registry.typed_methods``).

    Example:
        >>> path, sync_name, async_name = target_of(get_registry())
        >>> path.name, sync_name.endswith("Operations"), async_name.startswith("Async")
        ('client_methods.py', True, True)
    """
    module, sync_name, async_name = _typed(registry)
    package_root = Path(__file__).resolve().parent
    path = package_root.joinpath(*module.split(".")[1:]).with_suffix(".py")
    return path, sync_name, async_name


def _class_doc(registry: Registry, name: str, client_name: str, kind: str) -> list[str]:
    variable = "client" if kind == "synchronous" else "aclient"
    return [
        f"class {name}:",
        f'    """The operations of the {registry.provider} provider\'s {kind} client (mixed into ``{client_name}``).',
        "",
        "    Example:",
        f"        >>> isinstance({variable}, {name}), type({variable}).__name__",
        f"        (True, {client_name!r})",
        '    """',
        "",
    ]


def render_client_methods(registry: Registry | None = None) -> str:
    """The source of ``registry``'s generated methods module (default: the default provider's).

    Example:
        >>> source = render_client_methods()
        >>> all(f"    async def {op.name}(self" in source for op in get_registry())
        True
    """
    registry = registry or get_registry()
    module_name, sync_name, async_name = _typed(registry)
    module = registry.operations[next(iter(registry.operations))].result.__module__
    sync_client, async_client = (cls.__name__ for cls in client_classes(registry))
    client_module = module_name.rpartition(".")[0] + ".client"
    examples = examples_of(registry)
    first = next(iter(registry))
    connection = registry.connection
    header = f'''"""Typed client methods of the {registry.provider} provider, one per operation.

GENERATED from the registry and the examples beside it by ``python -m agent_billing.codegen``: do not edit by hand.

Every method's example runs against a fresh in-process sandbox, with ``client`` and ``aclient`` built
as here (both on the same sandbox; ``asyncio.run`` drives the async one):

Example:
    >>> import httpx
    >>> from agent_billing.inprocess import SANDBOX_ORIGIN, SyncASGITransport
    >>> from agent_billing.sandbox import create_app
    >>> from {client_module} import {async_client}, {sync_client}
    >>> app = create_app()
    >>> client = {sync_client}(base_url=SANDBOX_ORIGIN + {connection.sandbox_path!r}, token={connection.sandbox_token!r},
    ...     transport=SyncASGITransport(app))
    >>> aclient = {async_client}(base_url=SANDBOX_ORIGIN + {connection.sandbox_path!r}, token={connection.sandbox_token!r},
    ...     transport=httpx.ASGITransport(app=app))
''' + "".join(f"    {line}\n" for line in examples[first.name].lines(first.name, asynchronous=False)) + '''"""
# ruff: noqa: E501

from __future__ import annotations

import typing
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

import {module} as r
from agent_billing.errors import CardDataRefusedError

'''.replace("{module}", module)
    sync_cls = [
        *_class_doc(registry, sync_name, sync_client, "synchronous"),
        "    def call(self, name: str, args: Mapping[str, Any] | BaseModel | None = None, *, "
        "idempotency_key: str | None = None) -> BaseModel:",
        "        raise NotImplementedError",
        "",
    ]
    async_cls = [
        *_class_doc(registry, async_name, async_client, "asynchronous"),
        "    async def call(self, name: str, args: Mapping[str, Any] | BaseModel | None = None, *, "
        "idempotency_key: str | None = None) -> BaseModel:",
        "        raise NotImplementedError",
        "",
    ]
    for op in registry:
        sync_cls.append(_method(op, examples[op.name], asynchronous=False))
        async_cls.append(_method(op, examples[op.name], asynchronous=True))
    body = "\n".join(sync_cls).rstrip() + "\n\n\n" + "\n".join(async_cls).rstrip() + "\n"
    unused = [] if "Literal[" in body else ["Literal"]
    if "Decimal | " not in body:  # money arguments (whose examples pass a Decimal)
        unused.append("Decimal")
    for name in unused:
        header = header.replace(f"from typing import Any, {name}\n", "from typing import Any\n").replace(
            f"from decimal import {name}\n", "")
    return header + "\n" + body


def main() -> int:
    """Write every provider's generated methods module; with ``--check`` only report drift (exit 1).

    Example:
        >>> from unittest import mock
        >>> with mock.patch.object(sys, "argv", ["codegen", "--check"]):  # only compare, write nothing
        ...     main()
        0
    """
    drift, check = 0, "--check" in sys.argv[1:]
    for name in [] if check else provider_names():
        registry = get_registry(name)
        if registry.typed_methods is not None and not target_of(registry)[0].exists():
            # A new provider's client module imports these classes, and rendering imports the client: start empty.
            target, sync_name, async_name = target_of(registry)
            target.write_text(f"class {sync_name}:\n    pass\n\n\nclass {async_name}:\n    pass\n")
    for registry in typed_registries():
        target = target_of(registry)[0]
        if check:
            if not target.exists() or target.read_text() != render_client_methods(registry):
                print(f"{target} is out of date: run python -m agent_billing.codegen", file=sys.stderr)
                drift = 1
            continue
        target.write_text(render_client_methods(registry))
        print(f"wrote {target}")
    return drift


if __name__ == "__main__":
    # Through the imported module, so declarations' MethodExample objects are this module's class (not __main__'s).
    from agent_billing.codegen import main as _main

    sys.exit(_main())
