"""An OpenAPI 3.1 document derived from an operation registry.

Everything comes from the declarations (``agent_billing.registry``): one path item per distinct path,
one operation per ``Operation`` (``operationId`` is its name, its group is the tag), path and query
parameters and JSON request bodies from the argument model (pydantic's JSON schema, so the bounds and
patterns are the ones the API validates with), and the ``{data, error, meta}`` envelope around the
result model. Error responses carry the same envelope with ``data: null``; every operation lists the
statuses the API can answer it with. Requests authenticate with a bearer token (or ``X-Agent-Token``).

The sandbox serves this document at ``<base path>/openapi.json``; ``agent-billing openapi`` prints it.

Example:
    >>> from decimal import Decimal
    >>> from pydantic import BaseModel, Field
    >>> from agent_billing.registry import Effect, Registry
    >>> class TopUp(BaseModel):
    ...     amount: Decimal = Field(ge=10, le=100)
    >>> class Balance(BaseModel):
    ...     balance: Decimal
    >>> registry = Registry(provider="example", base_path="/v1")
    >>> _ = registry.declare("top_up", "account", "top_up", "POST", "/top-up", TopUp, Balance, Effect.CHARGE, "Add.")
    >>> doc = openapi_document(registry)
    >>> doc["openapi"], doc["servers"][0]["url"]
    ('3.1.0', '/v1')
    >>> top_up = doc["paths"]["/top-up"]["post"]
    >>> top_up["operationId"], sorted(top_up["responses"])[:4]
    ('top_up', ['200', '202', '400', '401'])
    >>> body = top_up["requestBody"]["content"]["application/json"]["schema"]
    >>> sorted(body["properties"]["amount"]["anyOf"][0].items())
    [('maximum', 100.0), ('minimum', 10.0), ('type', 'number')]
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from agent_billing.conventions import WireConventions
from agent_billing.registry import Effect, Operation, Registry

OPENAPI_VERSION = "3.1.0"
REF = "#/components/schemas/{model}"
# A decimal amount written as text ("25", "25.00"); JSON numbers are preferred.
DECIMAL_TEXT = r"^[0-9]{1,7}(\.[0-9]{1,2})?$"

# Statuses and the error codes the API answers with; which apply to an operation is decided by
# ``_error_statuses`` from its method, effect and path.
ERRORS: dict[str, tuple[str, tuple[str, ...]]] = {
    "400": ("Invalid request (the body, a parameter or the Idempotency-Key), card data, or not enough balance.",
            ("validation_error", "card_data_not_allowed", "insufficient_balance")),
    "401": ("Missing or unknown access token.", ("unauthenticated",)),
    "402": ("The card was declined; details.decline_code says why.", ("payment_declined",)),
    "403": ("The account may not do this (withdrawals are for reseller accounts).", ("forbidden",)),
    "404": ("No such object (invoice, subscription, payment, checkout session or coupon).", ("not_found",)),
    "409": ("The object's state does not allow this, the checkout is not paid or expired, or the "
            "Idempotency-Key was used with another request.",
            ("invalid_state", "checkout_not_paid", "checkout_expired", "idempotency_error")),
    "413": ("The request body is too large.", ("payload_too_large",)),
    "429": ("Rate limited: retry after the Retry-After header's seconds.", ("rate_limited",)),
    "500": ("Server error; nothing was changed.", ("server_error",)),
}


def _number(raw: Any) -> int | float:
    value = Decimal(str(raw))
    return int(value) if value == value.to_integral_value() else float(value)


_BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


def _clean(node: Any) -> Any:
    """Make pydantic's schema valid OpenAPI 3.1: numeric bounds on Money, no docstring examples."""
    if isinstance(node, list):
        return [_clean(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _clean(value) for key, value in node.items()}
    # A bound on a type behind a BeforeValidator (Money, the ids) is written as an unknown key
    # ({"ge": "10"}, {"ge": 1}); turn it into the JSON Schema keyword on the numeric schema.
    bounds = {_BOUNDS[k]: _number(out.pop(k)) for k in list(out) if k in _BOUNDS and not isinstance(out[k], dict)}
    if bounds:
        if out.get("type") in ("integer", "number"):
            out.update(bounds)
        for branch in out.get("anyOf", []):
            if branch.get("type") in ("integer", "number"):
                branch.update(bounds)
            elif branch.get("type") == "string":
                branch["pattern"] = DECIMAL_TEXT
    if "properties" in out and isinstance(out.get("description"), str):
        # A model's description is its docstring: keep the first paragraph, not the doctest.
        out["description"] = out["description"].split("\n\n")[0].strip()
    return out


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query or path parameter cannot be null: drop the null branch and the null default."""
    schema = {k: v for k, v in schema.items() if not (k == "default" and v is None)}
    branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
    if "anyOf" in schema and len(branches) == 1:
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        return {**branches[0], **rest}
    if "anyOf" in schema:
        schema["anyOf"] = branches
    return schema


def _schemas(registry: Registry) -> tuple[dict[str, Any], dict[tuple[Any, str], dict[str, Any]]]:
    models: list[tuple[type[BaseModel], Any]] = []
    for op in registry:
        for entry in ((op.args, "validation"), (op.result, "validation")):
            if entry not in models:
                models.append(entry)
    refs, top = models_json_schema(models, ref_template=REF)
    components = _clean(top.get("$defs", {}))
    resolved: dict[tuple[Any, str], dict[str, Any]] = {
        key: components[ref["$ref"].rsplit("/", 1)[1]] for key, ref in refs.items()}
    return components, resolved


def _error_statuses(op: Operation) -> list[str]:
    statuses = ["400", "401", "404"]
    if op.effect.moves_money or op.effect_for is not None:
        statuses.append("402")
    if op.effect is Effect.PAYOUT:
        statuses.append("403")
    if op.is_mutation:
        statuses.append("409")
    if op.has_body:
        statuses.append("413")
    return [*statuses, "429", "500"]


def _wire_names(op: Operation) -> dict[str, str]:
    """Each path parameter's name in the schema: its alias where the provider declares one (a camelCase
    wire name for a snake_case field in the path), since pydantic's schema is written by alias."""
    fields = op.args.model_fields
    return {name: fields[name].alias or name for name in op.path_params}


def _parameters(op: Operation, args_schema: dict[str, Any]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    properties: dict[str, Any] = args_schema.get("properties", {})
    required = set(args_schema.get("required", []))
    wire = _wire_names(op)
    for name in op.path_params:
        params.append({"name": name, "in": "path", "required": True,
                       "schema": _without_null(properties[wire[name]])})
    if not op.has_body:
        for name, schema in properties.items():
            if name not in wire.values():
                params.append({"name": name, "in": "query", "required": name in required,
                               "schema": _without_null(schema)})
    if op.is_mutation:
        params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                       "description": "Replays the first response of a retried mutation (kept 24 hours).",
                       "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"}})
    return params


def _request_body(op: Operation, args_schema: dict[str, Any]) -> dict[str, Any] | None:
    if not op.has_body:
        return None
    schema = copy.deepcopy(args_schema)
    wire = set(_wire_names(op).values())
    for name in wire:
        schema.get("properties", {}).pop(name, None)
    required = [name for name in schema.get("required", []) if name not in wire]
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)
    return {"required": bool(required), "content": {"application/json": {"schema": schema}}}


def _envelope(data: dict[str, Any], wire: WireConventions) -> dict[str, Any]:
    if not wire.envelope:  # the provider answers with the object itself
        return data
    return {"type": "object", "required": ["data", "error", "meta"],
            "properties": {"data": data, "error": {"type": "null"}, "meta": {"$ref": REF.format(model="Meta")}}}


def _operation(op: Operation, args_schema: dict[str, Any], result_ref: dict[str, Any],
               wire: WireConventions, limiter: str = "") -> dict[str, Any]:
    success = {"description": "Done.", "headers": {"X-Request-Id": {"$ref": "#/components/headers/RequestId"}},
               "content": {"application/json": {"schema": _envelope(result_ref, wire)}}}
    responses: dict[str, Any] = {"200": success}
    if op.effect.moves_money or op.effect_for is not None:
        responses["202"] = {**success, "description": "The card needs 3-D Secure: data.payment says what to do."}
    for status in _error_statuses(op):
        responses[status] = {"$ref": f"#/components/responses/Error{status}"}
    out: dict[str, Any] = {"operationId": op.name, "tags": [op.group], "summary": op.description,
                           "description": f"Effect: {op.effect.value}." + (f" Rate limiter: {limiter}." if limiter else ""),
                           "parameters": _parameters(op, args_schema), "responses": responses}
    body = _request_body(op, args_schema)
    if body is not None:
        out["requestBody"] = body
    return out


def _error_body(wire: WireConventions) -> dict[str, Any]:
    """The error response's body as the provider writes it (see ``WireConventions``)."""
    error = {"$ref": REF.format(model="Error")}
    if wire.envelope:
        return {"type": "object", "required": ["data", "error", "meta"],
                "properties": {"data": {"type": "null"}, "error": error, "meta": {"$ref": REF.format(model="Meta")}}}
    if wire.error_body == "detail":  # FastAPI's {"detail": "...", "code": ...} or 422's list of problems
        return {"type": "object", "required": ["detail"],
                "properties": {"detail": {"anyOf": [{"type": "string"}, {"type": "array"}]}, "code": {"type": "string"}}}
    return {"type": "object", "required": ["error"], "properties": {"error": error}}


def _error_components(wire: WireConventions) -> tuple[dict[str, Any], dict[str, Any]]:
    # The envelope API's codes (a declared code list picks out classes there, it is not every code); the
    # provider's own declared codes otherwise.
    envelope_codes = sorted({code for _, codes in ERRORS.values() for code in codes})
    all_codes = envelope_codes if wire.envelope or not wire.error_classes else sorted(wire.error_classes)
    schemas = {
        "Meta": {"type": "object", "required": ["request_id"],
                 "properties": {"request_id": {"type": "string", "pattern": "^req_[A-Za-z0-9]+$"}}},
        "Error": {"type": "object", "required": ["code", "message", "details"] if wire.envelope else ["code", "message"],
                  "properties": {"code": {"type": "string", "description": "One of: " + ", ".join(all_codes)},
                                 "message": {"type": "string"}, "details": {"type": "object"}}},
        "ErrorEnvelope": _error_body(wire),
    }
    responses = {
        f"Error{status}": {
            "description": f"{text} Codes: {', '.join(codes)}." if all_codes is envelope_codes else text,
            "headers": {"X-Request-Id": {"$ref": "#/components/headers/RequestId"}},
            "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorEnvelope")}}},
        }
        for status, (text, codes) in ERRORS.items()
    }
    return schemas, responses


def openapi_document(registry: Registry, *, title: str | None = None, version: str = "1") -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``registry`` (a plain dict, ready for ``json.dumps``).

    Example:
        >>> doc = openapi_document(example_registry)  # a made-up provider's (the doctest set-up)
        >>> item = doc["paths"]["/items/{item_id}"]["get"]
        >>> [(p["name"], p["in"], p["required"]) for p in item["parameters"]]
        [('item_id', 'path', True)]
        >>> doc["components"]["securitySchemes"]["bearer"]
        {'type': 'http', 'scheme': 'bearer'}
    """
    components, resolved = _schemas(registry)
    paths: dict[str, dict[str, Any]] = {}
    for op in registry:
        args_schema = resolved[(op.args, "validation")]
        result_ref = {"$ref": REF.format(model=op.result.__name__)}
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, args_schema, result_ref, registry.wire,
                                                              registry.rate_class(op))
    error_schemas, error_responses = _error_components(registry.wire)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title or f"{registry.provider} billing API", "version": version,
                 "description": "Derived from the agent-billing operation registry. Every response is the "
                                "envelope {data, error, meta}."},
        "servers": [{"url": registry.base_path}],
        "security": [{"bearer": []}, {"agentToken": []}],
        "tags": [{"name": group, "description": registry.group_descriptions.get(group, "")}
                 for group in registry.groups()],
        "paths": paths,
        "components": {
            "schemas": {**components, **error_schemas},
            "responses": error_responses,
            "headers": {"RequestId": {"description": "The request id (also in meta.request_id).",
                                      "schema": {"type": "string"}}},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "agentToken": {"type": "apiKey", "in": "header", "name": "X-Agent-Token"}},
        },
    }
