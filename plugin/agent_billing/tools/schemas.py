"""Argument schemas of the tools, derived from the registry's argument models.

A group tool takes ``action`` plus the union of its operations' fields, all optional; the operation's
own model then validates exactly the fields of that action (so bounds, patterns and "extra fields
forbidden" are enforced per action, with a message naming what is wrong). The JSON schema the model
sees is trimmed to type, enum, bounds and description: patterns and titles cost tokens and say
nothing the error message will not.

Example:
    >>> from agent_billing.registry import get_registry
    >>> model = group_args_model(get_registry(), "wallet")
    >>> sorted(model.model_json_schema()["properties"])[:3]
    ['action', 'amount', 'auto_charge_amount']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model

from agent_billing.registry import Operation, Registry

_KEEP = ("type", "enum", "minimum", "maximum", "exclusiveMinimum", "description", "items")


def _is_decimal(annotation: Any) -> bool:
    if annotation is Decimal:
        return True
    return any(_is_decimal(a) for a in get_args(annotation))


def _simplify(schema: dict[str, Any], defs: dict[str, Any], money: bool) -> dict[str, Any]:
    """Reduce one property's JSON schema to what helps a model fill it in."""
    if "$ref" in schema:
        schema = {**defs[schema["$ref"].split("/")[-1]], **{k: v for k, v in schema.items() if k != "$ref"}}
    branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
    if len(branches) == 1:
        schema = {**branches[0], **{k: v for k, v in schema.items() if k != "anyOf"}}
    out = {k: v for k, v in schema.items() if k in _KEEP}
    if money:
        # Decimal shows as number-or-string; a plain number is clearer and shorter.
        out["type"] = "number"
        for bound in ("minimum", "maximum", "exclusiveMinimum"):
            if isinstance(out.get(bound), str):
                out[bound] = float(out[bound]) if "." in out[bound] else int(out[bound])
    if "const" in schema:
        out["enum"] = [schema["const"]]
    return out


def field_schemas(ops: Iterable[Operation]) -> dict[str, dict[str, Any]]:
    """Merged simplified JSON schemas of the fields of ``ops`` (bounds kept only where all agree).

    Example:
        >>> from agent_billing.registry import get_registry
        >>> field_schemas([get_registry().get("fund_wallet")])["amount"]
        {'description': 'USD, 10 to 10000', 'type': 'number'}
    """
    return model_field_schemas(op.args for op in ops)


def model_field_schemas(models: Iterable[type[BaseModel]]) -> dict[str, dict[str, Any]]:
    """Merged simplified JSON schemas of the fields of pydantic ``models``.

    Example:
        >>> from agent_billing.providers.modelslab.arguments import TransactionsArgs
        >>> model_field_schemas([TransactionsArgs])["type"]
        {'enum': ['credit', 'debit'], 'type': 'string'}
    """
    merged: dict[str, dict[str, Any]] = {}
    for model in models:
        full = model.model_json_schema(by_alias=False)  # tools speak the Python names; the wire speaks aliases
        defs = full.get("$defs", {})
        for name, prop in full.get("properties", {}).items():
            info = model.model_fields[name]
            schema = _simplify(prop, defs, _is_decimal(info.annotation))
            if name not in merged:
                merged[name] = schema
                continue
            current = merged[name]
            for key in ("minimum", "maximum", "exclusiveMinimum", "enum"):
                if current.get(key) != schema.get(key):
                    current.pop(key, None)
            if "description" not in current and "description" in schema:
                current["description"] = schema["description"]
    return merged


def _drop_defaults(schema: dict[str, Any]) -> None:
    # Every optional field defaults to "absent"; saying `"default": null` seventy times costs ~1,000 characters.
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


_CONFIG = ConfigDict(extra="forbid", json_schema_extra=_drop_defaults)


def _loose_field(schema: dict[str, Any]) -> Any:
    # The tool accepts anything here; the operation's model is the real check (see module docstring).
    return (Annotated[Any, WithJsonSchema(schema)], Field(None))


def group_args_model(
    registry: Registry, group: str, *, extra_actions: Iterable[str] = (), extra_fields: dict[str, dict[str, Any]] | None = None,
    ops: Sequence[Operation] | None = None,
) -> type[BaseModel]:
    """The argument model of a group tool: ``action`` plus every field of the group's operations.

    ``ops`` narrows it to the operations the toolkit offers (least privilege): hidden actions and the
    fields only they use are left out.

    Example:
        >>> from agent_billing.registry import get_registry
        >>> model = group_args_model(get_registry(), "coupons")
        >>> model.__name__, literal_values(model.model_fields["action"].annotation)
        ('CouponsArgs', ('validate', 'redeem'))
        >>> narrow = group_args_model(get_registry(), "coupons", ops=[get_registry().get("validate_coupon")])
        >>> literal_values(narrow.model_fields["action"].annotation), "payment_method_id" in narrow.model_fields
        (('validate',), False)
    """
    ops = registry.groups()[group] if ops is None else ops
    actions = [op.action for op in ops] + list(extra_actions)
    fields: dict[str, Any] = {
        "action": (Literal[tuple(actions)], Field()),
    }
    schemas = field_schemas(ops)
    for name, schema in (extra_fields or {}).items():
        schemas.setdefault(name, schema)
    for name, schema in schemas.items():
        fields[name] = _loose_field(schema)
    model: type[BaseModel] = create_model(
        f"{_camel(group)}Args", __config__=_CONFIG, **fields
    )
    return model


def operation_args_model(op: Operation, *, extra_fields: dict[str, dict[str, Any]] | None = None) -> type[BaseModel]:
    """The argument model of a one-operation tool (``granularity="operation"``).

    Example:
        >>> from agent_billing.registry import get_registry
        >>> model = operation_args_model(get_registry().get("fund_wallet"))
        >>> model.__name__, sorted(model.model_fields)
        ('FundWalletArgs', ['amount', 'payment_method_id'])
    """
    return operation_args_model_from(op.args, name=op.name, extra_fields=extra_fields)


def operation_args_model_from(
    source: type[BaseModel], *, name: str | None = None, extra_fields: dict[str, dict[str, Any]] | None = None
) -> type[BaseModel]:
    """A loose tool schema with the (simplified) fields of ``source``; ``source`` stays the real check.

    Example:
        >>> from agent_billing.advisor import Situation
        >>> model = operation_args_model_from(Situation, name="payment_path")
        >>> model.__name__, model.model_json_schema()["properties"]["purpose"]["enum"]
        ('PaymentPathArgs', ['fund', 'subscribe'])
    """
    schemas = model_field_schemas([source])
    for key, schema in (extra_fields or {}).items():
        schemas.setdefault(key, schema)
    fields = {key: _loose_field(schema) for key, schema in schemas.items()}
    model: type[BaseModel] = create_model(
        f"{_camel(name or source.__name__)}Args", __config__=_CONFIG, **fields
    )
    return model


def literal_values(annotation: Any) -> tuple[Any, ...]:
    """The values of a ``Literal`` annotation (empty for anything else).

    Example:
        >>> literal_values(Literal["fund", "subscribe"]), literal_values(int)
        (('fund', 'subscribe'), ())
    """
    return get_args(annotation) if get_origin(annotation) is Literal else ()


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
