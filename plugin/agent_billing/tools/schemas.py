"""Argument schemas of the tools, derived from the registry's argument models.

A group tool takes ``action`` plus the union of its operations' fields, all optional; the operation's
own model then validates exactly the fields of that action (so bounds, patterns and "extra fields
forbidden" are enforced per action, with a message naming what is wrong). The JSON schema the model
sees says what that validation enforces, as JSON Schema: type, ``enum``, ``minimum``/``maximum``,
``pattern``, lengths and ``required`` (an operation tool's required fields), nothing else. An optional
field is its plain type with no ``"default": null`` (absent means none); a group tool keeps a bound or
a description only where every action using the field agrees (the toolkit notes an action's own bound
in that action's line of the tool description).

Example:
    >>> model = group_args_model(example_registry, "wallet")  # made-up operations (conftest)
    >>> sorted(model.model_json_schema()["properties"])
    ['action', 'amount', 'payment_method_id']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler, create_model
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from agent_billing.registry import Operation, Registry

_KEEP = ("type", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
         "pattern", "description", "items")
# What must agree across a group's actions for the merged field to state it.
CONSTRAINTS = ("type", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
               "pattern")
# Constraints pydantic cannot place on a validated type (a Decimal or int behind a BeforeValidator) come out
# under their Python names; JSON Schema names them otherwise.
_PYTHON_BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}
_CHOICE = re.compile(r"^\^\(([A-Za-z0-9_]+(?:\|[A-Za-z0-9_]+)*)\)\$$")


def _is_decimal(annotation: Any) -> bool:
    if annotation is Decimal:
        return True
    return any(_is_decimal(a) for a in get_args(annotation))


def _number(value: Any) -> Any:
    if isinstance(value, (str, Decimal)):
        text = str(value)
        return float(text) if "." in text else int(text)
    return value


_DECLARED = {"pattern": "pattern", "min_length": "minLength", "max_length": "maxLength", "ge": "minimum",
             "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}


def _declared(annotation: Any, metadata: Iterable[Any]) -> dict[str, Any]:
    """Constraints declared on a field (or its ``Annotated`` type), also those pydantic leaves out of the
    JSON schema (a pattern behind a ``BeforeValidator``, for one)."""
    items, stack = list(metadata), [annotation]
    while stack:
        current = stack.pop()
        if get_origin(current) is Annotated:
            items += current.__metadata__
            stack.append(get_args(current)[0])
        elif get_origin(current) is not Literal:
            stack.extend(get_args(current))
    found: dict[str, Any] = {}
    for item in items:
        for attribute, key in _DECLARED.items():
            value = getattr(item, attribute, None)
            if value is not None and not isinstance(value, bool) and key not in found:
                found[key] = value
    return found


def _simplify(schema: dict[str, Any], defs: dict[str, Any], money: bool,
              declared: dict[str, Any] | None = None) -> dict[str, Any]:
    """Reduce one property's JSON schema to what the model needs: type, constraints, description."""
    if "$ref" in schema:
        schema = {**defs[schema["$ref"].split("/")[-1]], **{k: v for k, v in schema.items() if k != "$ref"}}
    branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
    if len(branches) == 1:  # optional: absent means none, so the plain type says it all
        schema = {**branches[0], **{k: v for k, v in schema.items() if k != "anyOf"}}
    schema = {_PYTHON_BOUNDS.get(k, k): v for k, v in schema.items()}
    out = {k: v for k, v in schema.items() if k in _KEEP}
    for key, value in (declared or {}).items():
        out.setdefault(key, value)
    if money:
        # Decimal shows as number-or-string; a plain number is clearer and shorter.
        out["type"] = "number"
    for bound in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if bound in out:
            out[bound] = _number(out[bound])
    choice = _CHOICE.match(out.get("pattern", ""))
    if choice:  # "^(chat|voice)$" is an enum
        out.pop("pattern")
        out["enum"] = choice.group(1).split("|")
    if "const" in schema:
        out["enum"] = [schema["const"]]
    if out.get("type") == "string" and all(isinstance(v, str) for v in out.get("enum", [0])):
        out.pop("type")  # an enum of strings says the type already
    return out


def field_schemas(ops: Iterable[Operation]) -> dict[str, dict[str, Any]]:
    """Merged simplified JSON schemas of the fields of ``ops`` (constraints kept only where all agree).

    Example:
        >>> field_schemas([example_registry.get("top_up")])["amount"]
        {'description': 'USD', 'minimum': 10, 'maximum': 10000, 'type': 'number'}
        >>> field_schemas([example_registry.get("top_up"), example_registry.get("pay_out")])["amount"]
        {'description': 'USD', 'maximum': 10000, 'type': 'number'}
    """
    return model_field_schemas(op.args for op in ops)


def model_field_schemas(models: Iterable[type[BaseModel]]) -> dict[str, dict[str, Any]]:
    """Merged simplified JSON schemas of the fields of pydantic ``models``.

    Example:
        >>> entries, code = example_registry.get("read_entries").args, example_registry.get("check_code").args
        >>> model_field_schemas([entries])["type"]  # an enum of strings needs no "type"
        {'enum': ['credit', 'debit']}
        >>> model_field_schemas([code])["code"]  # the pattern is enforced, so it is stated
        {'pattern': '^[A-Za-z0-9_-]{1,64}$', 'type': 'string'}
    """
    return merge_field_schemas(_own_schemas(model) for model in models)


def _own_schemas(model: type[BaseModel]) -> dict[str, dict[str, Any]]:
    full = model.model_json_schema(by_alias=False)  # tools speak the Python names; the wire speaks aliases
    defs = full.get("$defs", {})
    own = {}
    for name, prop in full.get("properties", {}).items():
        info = model.model_fields[name]
        own[name] = _simplify(prop, defs, _is_decimal(info.annotation), _declared(info.annotation, info.metadata))
    return own


def merge_field_schemas(parts: Iterable[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Merge the field schemas of several actions: a constraint or a description is kept only where every
    action that has the field agrees (an action without a description does not disagree).

    Example:
        >>> merge_field_schemas([{"amount": {"type": "number", "minimum": 10, "description": "USD"}},
        ...                      {"amount": {"type": "number", "exclusiveMinimum": 0}}])
        {'amount': {'type': 'number', 'description': 'USD'}}
        >>> merge_field_schemas([{"n": {"type": "integer", "description": "a"}}, {"n": {"type": "integer",
        ...                      "description": "b"}}])
        {'n': {'type': 'integer'}}
    """
    merged: dict[str, dict[str, Any]] = {}
    described: dict[str, set[str]] = {}
    for part in parts:
        for name, schema in part.items():
            if "description" in schema:
                described.setdefault(name, set()).add(schema["description"])
            if name not in merged:
                merged[name] = dict(schema)
                continue
            current = merged[name]
            for key in CONSTRAINTS:
                if current.get(key) != schema.get(key):
                    current.pop(key, None)
            if "description" not in current and "description" in schema:
                current["description"] = schema["description"]
    for name, texts in described.items():
        if len(texts) > 1:
            merged[name].pop("description")  # the actions say different things: none of them is true for all
    return merged


def bound_notes(own: dict[str, dict[str, Any]], merged: dict[str, dict[str, Any]]) -> str:
    """An action's own constraints that the merged group schema leaves out, in a few characters.

    Example:
        >>> bound_notes({"amount": {"type": "number", "minimum": 10}}, {"amount": {"type": "number"}})
        'amount>=10'
        >>> bound_notes({"amount": {"type": "number", "minimum": 10, "maximum": 100}}, {"amount": {"type": "number"}})
        'amount 10-100'
        >>> bound_notes({"amount": {"type": "number"}}, {"amount": {"type": "number"}})
        ''
    """
    signs = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
    notes = []
    for name, schema in own.items():
        theirs = merged.get(name, {})
        differ = [key for key in CONSTRAINTS if key in schema and theirs.get(key) != schema[key]]
        if "minimum" in differ and "maximum" in differ:
            notes.append(f"{name} {schema['minimum']}-{schema['maximum']}")
            differ = [key for key in differ if key not in ("minimum", "maximum")]
        for key in differ:
            value = schema[key]
            if key in signs:
                notes.append(f"{name}{signs[key]}{value}")
            elif key == "enum":
                notes.append(f"{name}: {'|'.join(map(str, value))}")
            elif key == "pattern":
                notes.append(f"{name} ~ {value}")
            elif key == "minLength":
                notes.append(f"{name} >= {value} chars")
            elif key == "maxLength":
                notes.append(f"{name} <= {value} chars")
            else:
                notes.append(f"{name}: {value}")
    return ", ".join(notes)


def _absent() -> None:
    return None


_CONFIG = ConfigDict(extra="forbid")


def _loose_field(schema: dict[str, Any], required: bool = False) -> Any:
    # The tool accepts anything here; the operation's model is the real check (see module docstring).
    # An optional field gets a default factory, not a default: LangChain rebuilds the tool-call model
    # from the field's default and metadata, and a plain `None` default would reach the model as
    # `"default": null`.
    kind = _shown_as(schema)
    return (kind, Field() if required else Field(default_factory=_absent))


def _shown_as(schema: dict[str, Any], values: tuple[Any, ...] | None = None) -> Any:
    """A type that accepts anything (or exactly ``values``) and whose JSON schema is exactly ``schema``.

    A plain class, not ``Annotated[..., WithJsonSchema]``: LangChain re-walks (and re-subscripts) every
    field's annotation on each call, which costs little for a class and much for an ``Annotated`` form.

    Example:
        >>> from pydantic import TypeAdapter
        >>> TypeAdapter(_shown_as({"type": "number"})).json_schema(), TypeAdapter(_shown_as({})).validate_python(3)
        ({'type': 'number'}, 3)
        >>> TypeAdapter(_shown_as({"enum": ["a"]}, ("a",))).validate_python("b")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for literal[...]
        ...
    """

    class Shown:
        allowed = values  # read by ``literal_values``

        @classmethod
        def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
            return core_schema.literal_schema(list(values)) if values is not None else core_schema.any_schema()

        @classmethod
        def __get_pydantic_json_schema__(cls, core: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
            return dict(schema)

    return Shown


def group_args_model(
    registry: Registry, group: str, *, extra_actions: Iterable[str] = (), extra_fields: dict[str, dict[str, Any]] | None = None,
    ops: Sequence[Operation] | None = None,
) -> type[BaseModel]:
    """The argument model of a group tool: ``action`` plus every field of the group's operations.

    ``ops`` narrows it to the operations the toolkit offers (least privilege): hidden actions and the
    fields only they use are left out.

    Example:
        >>> model = group_args_model(example_registry, "wallet")
        >>> model.__name__, literal_values(model.model_fields["action"].annotation)
        ('WalletArgs', ('fund', 'pay_out'))
        >>> narrow = group_args_model(example_registry, "wallet", ops=[example_registry.get("pay_out")])
        >>> literal_values(narrow.model_fields["action"].annotation), "payment_method_id" in narrow.model_fields
        (('pay_out',), False)
    """
    ops = registry.groups()[group] if ops is None else ops
    actions = [op.action for op in ops] + list(extra_actions)
    fields: dict[str, Any] = {
        "action": (_shown_as({"enum": actions}, tuple(actions)), Field()),
    }
    schemas = merge_field_schemas([*(_own_schemas(op.args) for op in ops), extra_fields or {}])
    for name, schema in schemas.items():
        fields[name] = _loose_field(schema)
    model: type[BaseModel] = create_model(
        f"{_camel(group)}Args", __config__=_CONFIG, **fields
    )
    return model


def operation_args_model(op: Operation, *, extra_fields: dict[str, dict[str, Any]] | None = None) -> type[BaseModel]:
    """The argument model of a one-operation tool (``granularity="operation"``).

    Example:
        >>> model = operation_args_model(example_registry.get("top_up"))
        >>> model.__name__, sorted(model.model_fields)
        ('TopUpArgs', ['amount', 'payment_method_id'])
    """
    return operation_args_model_from(op.args, name=op.name, extra_fields=extra_fields)


def operation_args_model_from(
    source: type[BaseModel], *, name: str | None = None, extra_fields: dict[str, dict[str, Any]] | None = None
) -> type[BaseModel]:
    """A loose tool schema with the (simplified) fields of ``source``; ``source`` stays the real check.

    Fields ``source`` requires are required here too.

    Example:
        >>> class Situation(BaseModel):
        ...     purpose: Literal["fund", "upgrade"] = "fund"
        >>> model = operation_args_model_from(Situation, name="payment_path")
        >>> model.__name__, model.model_json_schema()["properties"]["purpose"]["enum"]
        ('PaymentPathArgs', ['fund', 'upgrade'])
        >>> operation_args_model_from(example_registry.get("top_up").args).model_json_schema()["required"]
        ['amount']
    """
    schemas = model_field_schemas([source])
    for key, schema in (extra_fields or {}).items():
        schemas.setdefault(key, schema)
    fields = {key: _loose_field(schema, key in source.model_fields and source.model_fields[key].is_required())
              for key, schema in schemas.items()}
    model: type[BaseModel] = create_model(
        f"{_camel(name or source.__name__)}Args", __config__=_CONFIG, **fields
    )
    return model


def literal_values(annotation: Any) -> tuple[Any, ...]:
    """The values of a ``Literal`` annotation (empty for anything else).

    Example:
        >>> literal_values(Literal["fund", "upgrade"]), literal_values(int)
        (('fund', 'upgrade'), ())
    """
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    allowed = getattr(annotation, "allowed", None)  # a field shown as an enum (``_shown_as``)
    return tuple(allowed) if isinstance(allowed, tuple) else ()


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
