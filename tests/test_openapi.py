"""The OpenAPI document: derived from the registry, served by the sandbox, and fuzzed with schemathesis.

The fuzz run is bounded (``FUZZ_EXAMPLES`` per operation, in-process ASGI): no 5xx, and every response
conforms to the document (status, content type, headers, body). A longer run:
``AGENT_BILLING_FUZZ_EXAMPLES=500 pytest -q -p no:cacheprovider tests/test_openapi.py -k fuzz``.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis import checks
from schemathesis.core.failures import FailureGroup

from agent_billing.cli import main
from agent_billing.openapi import openapi_document
from agent_billing.registry import get_registry, provider_names
from agent_billing.sandbox import create_app

TOKEN = "sk_sandbox_fuzz"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DOC_PATH = "/api/agents/v1/openapi.json"
FUZZ_EXAMPLES = int(os.environ.get("AGENT_BILLING_FUZZ_EXAMPLES", "20"))
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_headers_conformance, checks.response_schema_conformance]

# One app for the whole run, so state builds up as it would for a real client (rate limits off: the
# fuzzer sends far more than a window allows, and 429 is not what is being tested here).
FUZZ_APP = create_app(tokens=(TOKEN,), reseller_tokens=("sk_sandbox_fuzz_reseller",), rate_limit=False)
schema = schemathesis.openapi.from_asgi(DOC_PATH, FUZZ_APP)


def _resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_every_operation_is_in_the_document_once() -> None:
    registry = get_registry()
    doc = openapi_document(registry)
    seen = {(method.upper(), path): item["operationId"]
            for path, methods in doc["paths"].items() for method, item in methods.items()}
    assert seen == {(op.method, op.path): op.name for op in registry}
    assert doc["openapi"] == "3.1.0"
    assert doc["servers"] == [{"url": registry.base_path}]


def test_request_constraints_are_the_argument_models() -> None:
    doc = openapi_document(get_registry())
    fund = doc["paths"]["/wallet/fund"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert fund["required"] == ["amount"] and fund["additionalProperties"] is False
    assert {"type": "number", "minimum": 10, "maximum": 10000} in fund["properties"]["amount"]["anyOf"]
    pm = fund["properties"]["payment_method_id"]["anyOf"][0]
    assert pm["pattern"] == "^pm_[A-Za-z0-9_]{1,200}$"
    charge = doc["paths"]["/subscriptions/charge-amount"]["post"]["requestBody"]["content"]["application/json"]
    assert charge["schema"]["properties"]["amount"]["anyOf"][0]["minimum"] == 5
    # A path parameter is a parameter, not a body field.
    update = doc["paths"]["/subscriptions/{subscription_id}"]["put"]
    assert [p["name"] for p in update["parameters"] if p["in"] == "path"] == ["subscription_id"]
    body = update["requestBody"]["content"]["application/json"]["schema"]
    assert "subscription_id" not in body["properties"] and body["required"] == ["new_plan_id"]
    limit = next(p for p in doc["paths"]["/wallet/transactions"]["get"]["parameters"] if p["name"] == "limit")
    assert (limit["in"], limit["schema"]["minimum"], limit["schema"]["maximum"]) == ("query", 1, 200)
    assert '"ge"' not in json.dumps(doc) and '"le"' not in json.dumps(doc)


def test_responses_are_the_envelope_with_the_result_shape() -> None:
    doc = openapi_document(get_registry())
    fund = doc["paths"]["/wallet/fund"]["post"]["responses"]
    ok = fund["200"]["content"]["application/json"]["schema"]
    assert ok["required"] == ["data", "error", "meta"] and ok["properties"]["data"] == {"$ref": "#/components/schemas/Charge"}
    assert {"200", "202", "400", "401", "402", "409", "429", "500"} <= set(fund)
    error = _resolve(doc, fund["402"])["content"]["application/json"]["schema"]
    assert _resolve(doc, error)["properties"]["data"] == {"type": "null"}
    balance = doc["paths"]["/wallet/balance"]["get"]["responses"]
    assert "402" not in balance and "409" not in balance  # a read neither charges nor takes a key
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}


async def test_sandbox_serves_the_document_without_a_token() -> None:
    app = create_app(tokens=(TOKEN,))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test") as http:
        r = await http.get(DOC_PATH)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == json.loads(json.dumps(openapi_document(get_registry())))


def test_cli_prints_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["openapi"]) == 0
    assert json.loads(capsys.readouterr().out)["paths"]["/wallet/fund"]["post"]["operationId"] == "fund_wallet"
    assert main(["openapi", "--provider", "nope"]) == 2
    assert "unknown provider" in capsys.readouterr().err


@pytest.mark.parametrize("provider", provider_names())
def test_cli_prints_a_valid_document_for_every_provider(provider: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``agent-billing openapi --provider X`` for each registered provider (Wallgent's aliased path
    parameters crashed it), validated by openapi-spec-validator, one operation per declaration."""
    assert main(["openapi", "--provider", provider]) == 0
    doc = json.loads(capsys.readouterr().out)
    validate(doc)
    registry = get_registry(provider)
    seen = {(method.upper(), path): item["operationId"]
            for path, methods in doc["paths"].items() for method, item in methods.items()}
    assert seen == {(op.method, op.path): op.name for op in registry}
    for op in registry:  # every {placeholder} of a path is declared as a path parameter, by its name in the path
        item = doc["paths"][op.path][op.method.lower()]
        assert [p["name"] for p in item["parameters"] if p["in"] == "path"] == list(op.path_params)
        ok = _resolve(doc, item["responses"]["200"])["content"]["application/json"]["schema"]
        # The success body is the provider's own shape: the envelope only where its wire has one.
        assert ("data" in ok.get("properties", {})) is registry.wire.envelope


def test_openapi_help_lists_the_providers(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["openapi", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for provider in provider_names():
        assert provider in out


def test_a_wallgent_path_parameter_is_not_also_a_query_parameter() -> None:
    doc = openapi_document(get_registry("wallgent"))
    params = doc["paths"]["/billing/invoices/{invoice_id}"]["get"]["parameters"]
    assert [(p["name"], p["in"]) for p in params] == [("invoice_id", "path")]
    validate(json.loads(json.dumps(doc)))


def test_cli_output_piped_into_a_reader_that_leaves_is_no_traceback() -> None:
    """``agent-billing openapi | head -1``: the reader closes the pipe early; we exit quietly."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "from agent_billing.cli import main; raise SystemExit(main(['openapi']))"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader leaves after one line
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141 and first.strip() == b"{"
    assert b"Traceback" not in err and b"BrokenPipeError" not in err, err


def test_conformance_check_catches_a_wrong_document() -> None:
    # The fuzz test below is only as good as its checks: a document that promises a field the
    # sandbox never sends must make them fail.
    doc = copy.deepcopy(json.loads(json.dumps(openapi_document(get_registry()))))
    doc["components"]["schemas"]["WalletBalance"]["required"] = ["balance", "never_sent"]
    broken = schemathesis.openapi.from_dict(doc)
    broken.app = create_app(tokens=(TOKEN,), rate_limit=False)
    operation = broken["/wallet/balance"]["GET"]
    case = operation.Case()
    response = case.call(headers=AUTH)
    assert response.status_code == 200
    with pytest.raises(FailureGroup, match="violates schema"):
        case.validate_response(response, checks=CHECKS)


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_fuzz_sandbox_against_its_document(case: schemathesis.Case) -> None:
    response = case.call(headers=AUTH)
    case.validate_response(response, checks=CHECKS)


def test_fuzz_run_leaves_the_ledger_consistent() -> None:
    FUZZ_APP.state.sandbox.ledger.check_invariants()
