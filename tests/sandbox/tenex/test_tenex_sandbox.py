"""The 10ex sandbox on the wire: 10ex's error shapes, cursor pages, workspaces per key, and the sandbox-only endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agent_billing.inprocess import SyncASGITransport
from agent_billing.providers.tenex.sandbox import create_tenex_app

API = "http://sandbox/api/v1/payments"


@pytest.fixture
def clock() -> list[float]:
    return [1_815_000_000.0]


@pytest.fixture
def app(clock: list[float]) -> Any:
    return create_tenex_app(clock=lambda: clock[0])


@pytest.fixture
def http(app: Any) -> Iterator[httpx.Client]:
    with httpx.Client(transport=SyncASGITransport(app), base_url=API,
                      headers={"Authorization": "Bearer tnx_sandbox"}) as client:
        yield client


def test_authentication_errors_are_detail_and_code(app: Any) -> None:
    with httpx.Client(transport=SyncASGITransport(app), base_url=API) as anonymous:
        for headers in ({}, {"Authorization": "Bearer sk_test_1"}, {"Authorization": "Basic tnx_sandbox"},
                        {"Authorization": "Bearer tnx_"}):
            response = anonymous.get("/plans/current", headers=headers)
            assert response.status_code == 401
            assert response.json() == {"detail": "Not authenticated: send Authorization: Bearer tnx_...",
                                       "code": "not_authenticated"}


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=abc", "limit=-1", "cursor=nope", "agent_id=a%20b"])
def test_bad_queries_are_422_in_fastapi_shape(http: httpx.Client, query: str) -> None:
    response = http.get(f"/credit-ledger?{query}")
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"][0] == "query" and problem["loc"][1] == query.split("=")[0] and problem["msg"] and problem["type"]


def test_unknown_paths_and_methods(http: httpx.Client) -> None:
    assert http.get("/nothing-here").json() == {"detail": "Not Found", "code": "not_found"}
    response = http.post("/plans/current", json={})
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"


def test_pages_are_stable_and_complete(http: httpx.Client) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        body = http.get("/credit-ledger", params={"limit": 50, **({"cursor": cursor} if cursor else {})}).json()
        assert body["total"] == 121 and len(body["items"]) <= 50
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 121
    assert http.get("/credit-ledger").json()["items"][0]["id"] == seen[0]  # default limit 50, newest first


def test_workspaces_are_separate_per_key(app: Any, http: httpx.Client) -> None:
    other = {"Authorization": "Bearer tnx_other-team"}
    http.post("/sandbox/usage", headers=other, json={"agent_id": "agt_new", "credits": 5}).raise_for_status()
    assert http.get("/credits/usage", headers=other).json()["credits_used"] == "78505"
    assert http.get("/credits/usage").json()["credits_used"] == "78500"
    assert http.get("/credits/usage/agents/agt_new").status_code == 404
    assert http.get("/credits/usage/agents/agt_new", headers=other).json()["runs"] == 1


@pytest.mark.parametrize("body", [{}, {"agent_id": "agt_research"}, {"credits": 5}, {"agent_id": "agt_research", "credits": 0},
                                  {"agent_id": "agt_research", "credits": 1.5}, {"agent_id": "agt_research", "credits": "x"},
                                  {"agent_id": "agt research", "credits": 5}, {"agent_id": "a", "credits": 5, "extra": 1},
                                  {"agent_id": "a", "credits": True}, {"agent_id": "a", "credits": "0.00001"}])
def test_posted_usage_is_validated(http: httpx.Client, body: dict[str, Any]) -> None:
    response = http.post("/sandbox/usage", json=body)
    assert response.status_code == 422 and isinstance(response.json()["detail"], list)
    assert http.get("/credits/usage").json()["credits_used"] == "78500"


def test_renewal_starts_a_new_period(http: httpx.Client, clock: list[float]) -> None:
    clock[0] += 86_400
    renewed = http.post("/sandbox/renew").json()
    assert renewed["invoice"]["status"] == "paid"
    usage = http.get("/credits/usage").json()
    assert usage["credits_used"] == "0" and usage["state"] == "ok"
    assert http.get("/invoices").json()["items"][0]["id"] == renewed["invoice"]["id"]
    assert http.get("/credit-ledger?limit=1").json()["items"][0]["kind"] == "grant"


def test_the_portal_page_lives_an_hour(http: httpx.Client, clock: list[float]) -> None:
    session = http.post("/billing-portal/sessions", json={"return_url": "https://app.example/back"}).json()
    page = http.get(session["url"])
    assert page.status_code == 200 and "10ex billing portal" in page.text and "Team" in page.text
    clock[0] += 3601
    assert http.get(session["url"]).status_code == 404
    assert http.post("/billing-portal/sessions", json={"return_url": 3}).status_code == 422
