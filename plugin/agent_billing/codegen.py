"""Generate ``client_methods.py``: the typed client methods, one per registry operation.

The registry is the only declaration of an operation; this turns it into real, typed, discoverable
methods (an IDE shows ``fund_wallet(amount, payment_method_id=None, *, idempotency_key=None) -> Charge``)
and a test fails when the generated file drifts from the registry.

Run ``python -m agent_billing.codegen`` after changing a declaration.

Example:
    >>> src = render_client_methods()
    >>> "def fund_wallet(" in src
    True
"""

from __future__ import annotations

import sys
import types
import typing
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic.fields import FieldInfo

from agent_billing.registry import Operation, Registry, get_registry, provider_names

TARGET = Path(__file__).with_name("client_methods.py")  # the default provider's

# Sample values for the docstring examples, by field name.
_EXAMPLES: dict[str, str] = {
    "amount": 'Decimal("25.00")',
    "auto_charge_amount": 'Decimal("25.00")',
    "charge_threshold": 'Decimal("5.00")',
    "payment_method_id": '"pm_card_visa"',
    "plan_id": "10",
    "new_plan_id": "42",
    "subscription_id": "1",
    "invoice_id": '"in_123"',
    "session_id": '"cs_test_123"',
    "payment_intent_id": '"pi_123"',
    "coupon_code": '"WELCOME50"',
    "purpose": '"fund"',
    "name": '"Acme Corp"',
    "plan": '"STARTER"',
    "payment_method": '"WALLET"',
    "stripe_payment_method_id": '"pm_card_visa"',
    "page": "1",
    "limit": "20",
}


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


def _example(op: Operation, names: list[str], prefix: str) -> str:
    fields = op.args.model_fields
    args = [_EXAMPLES.get(n, "...") for n in names if fields[n].is_required()]
    if op.name == "create_payment_link":
        args.append(f"amount={_EXAMPLES['amount']}")
    elif not args:
        args = [f"{n}={_EXAMPLES[n]}" for n in names if n in _EXAMPLES][:1]
    return f"{prefix}client.{op.name}({', '.join(args)})"


def _method(op: Operation, asynchronous: bool) -> str:
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
    example = _example(op, names, "await " if asynchronous else "")
    extra = " Sent with an Idempotency-Key (yours, or one generated for this call)." if op.is_mutation else ""
    return (
        f"    {keyword} {op.name}({', '.join(signature)}) -> r.{result}:\n"
        f'        """{op.description}{extra}\n\n'
        f"        ``{op.method} {op.path}`` ({op.effect.value}).\n\n"
        f"        Example:\n"
        f"            >>> {example}  # doctest: +SKIP\n"
        f'        """\n'
        + (f"        return typing.cast(r.{result}, {call}({op.name!r}, {mapping}{key}))\n" if not names else
           f"        try:\n"
           f"            return typing.cast(r.{result}, {call}({op.name!r}, {mapping}{key}))\n"
           f"        except CardDataRefusedError:\n"
           f"            del {', '.join(names)}  # the refused digits must not stay reachable from the traceback\n"
           f"            raise\n")
    )


def _sample_read(registry: Registry) -> Operation:
    """The first read that takes no arguments: what the generated class examples call."""
    return next(op for op in registry if not op.is_mutation and not any(
        field.is_required() for field in op.args.model_fields.values()))


def target_of(registry: Registry) -> tuple[Path, str, str]:
    """(file, sync class, async class) of ``registry``'s generated methods (``Registry.typed_methods``).

    Example:
        >>> path, sync_name, async_name = target_of(get_registry())
        >>> path.name, sync_name, async_name
        ('client_methods.py', 'SyncOperations', 'AsyncOperations')
    """
    if registry.typed_methods is None:
        raise ValueError(f"provider {registry.provider!r} declares no typed_methods")
    module, sync_name, async_name = registry.typed_methods
    package_root = Path(__file__).resolve().parent
    path = package_root.joinpath(*module.split(".")[1:]).with_suffix(".py")
    return path, sync_name, async_name


def render_client_methods(registry: Registry | None = None) -> str:
    """The source of ``registry``'s generated methods module (default: the default provider's).

    Example:
        >>> source = render_client_methods()
        >>> "    async def get_wallet_balance(self) -> r.WalletBalance:" in source
        True
    """
    registry = registry or get_registry()
    _, sync_name, async_name = target_of(registry)
    assert registry.typed_methods is not None
    module_name = registry.typed_methods[0]
    module = registry.operations[next(iter(registry.operations))].result.__module__
    sample = _sample_read(registry)
    header = f'''"""Typed client methods of the {registry.provider} provider, one per operation.

GENERATED from the registry by ``python -m agent_billing.codegen``: do not edit by hand.

Example:
    >>> from {module_name} import {sync_name}
    >>> "{sample.name}" in dir({sync_name})
    True
"""
# ruff: noqa: E501

from __future__ import annotations

import typing
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

import {module} as r
from agent_billing.errors import CardDataRefusedError

'''
    sync_cls = [
        f"class {sync_name}:",
        f'    """The operations of the {registry.provider} provider\'s synchronous client (mixed into its client class).',
        "",
        "    Example:",
        "        >>> from agent_billing.sandbox import create_app",
        "        >>> from agent_billing.inprocess import sandbox_clients",
        f"        >>> client, _ = sandbox_clients(create_app(), provider={registry.provider!r})",
        f"        >>> type(client.call({sample.name!r})).__name__",
        f"        {sample.result.__name__!r}",
        '    """',
        "",
        "    def call(self, name: str, args: Mapping[str, Any] | BaseModel | None = None, *, "
        "idempotency_key: str | None = None) -> BaseModel:",
        "        raise NotImplementedError",
        "",
    ]
    async_cls = [
        f"class {async_name}:",
        f'    """The operations of the {registry.provider} provider\'s asynchronous client (mixed into its client class).',
        "",
        "    Example:",
        "        >>> import asyncio",
        "        >>> from agent_billing.sandbox import create_app",
        "        >>> from agent_billing.inprocess import sandbox_clients",
        f"        >>> _, aclient = sandbox_clients(create_app(), provider={registry.provider!r})",
        f"        >>> type(asyncio.run(aclient.call({sample.name!r}))).__name__",
        f"        {sample.result.__name__!r}",
        '    """',
        "",
        "    async def call(self, name: str, args: Mapping[str, Any] | BaseModel | None = None, *, "
        "idempotency_key: str | None = None) -> BaseModel:",
        "        raise NotImplementedError",
        "",
    ]
    for op in registry:
        sync_cls.append(_method(op, asynchronous=False))
        async_cls.append(_method(op, asynchronous=True))
    body = "\n".join(sync_cls).rstrip() + "\n\n\n" + "\n".join(async_cls).rstrip() + "\n"
    unused = [] if "Literal[" in body else ["Literal"]
    if "Decimal" not in body:
        unused.append("Decimal")
    for name in unused:
        header = header.replace(f", {name}", "").replace(f"from decimal import {name}\n", "")
    return header + "\n" + body


def main() -> int:
    """Write every provider's generated methods module; with ``--check`` only report drift (exit 1).

    Example:
        >>> from unittest import mock
        >>> with mock.patch.object(sys, "argv", ["codegen", "--check"]):  # only compare, write nothing
        ...     main()
        0
    """
    drift = 0
    for name in provider_names():
        registry = get_registry(name)
        if registry.typed_methods is None:
            continue
        target, _, _ = target_of(registry)
        source = render_client_methods(registry)
        if "--check" in sys.argv[1:]:
            if (target.read_text() if target.exists() else "") != source:
                print(f"{target} is out of date: run python -m agent_billing.codegen", file=sys.stderr)
                drift = 1
            continue
        target.write_text(source)
        print(f"wrote {target}")
    return drift


if __name__ == "__main__":
    sys.exit(main())
