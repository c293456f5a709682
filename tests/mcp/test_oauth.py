"""The remote deployment: an OAuth 2.1 resource server, tenants kept apart, least privilege from token scopes.

A small authorization server runs here on loopback (a test RSA key, its JWKS at ``/jwks``); the tests mint
its access tokens. The MCP server (``oauth.oauth_app``) runs behind real HTTP; the official ``mcp`` client
and raw requests talk to it. Guardrail state is on PostgreSQL, where two tenants of one billing account
keep separate mandates.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from tests.mcp.mcp_helpers import LEGACY, STATELESS, LoopbackHttp, carded_sandbox, content_of, http_session
from tests.store.conftest import fresh_schema

from agent_billing.client import AsyncBillingClient, BillingClient
from agent_billing.guardrails.mandate import Mandate
from agent_billing.guardrails.store import open_store
from agent_billing.mcp import BillingMCPServer, ElicitationApprover
from agent_billing.mcp.oauth import OAuthSettings, Tenant, TenantStore, oauth_app
from agent_billing.sandbox.server import SandboxServer
from agent_billing.tools import BillingToolkit
from mcp import types

ACCOUNT = "sk_oauth_shared"  # one billing account, two people with their own tokens
HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}


class AuthServer:
    """The test authorization server: serves its JWKS and metadata; ``issue`` signs access tokens with its key."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwks = {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}
        self.http = LoopbackHttp(Starlette(routes=[
            Route("/jwks", lambda request: JSONResponse(jwks)),
            Route("/.well-known/oauth-authorization-server",
                  lambda request: JSONResponse({"issuer": self.issuer, "jwks_uri": f"{self.issuer}/jwks",
                                                "scopes_supported": ["wallet:read", "wallet:write"]}))]))
        self.issuer = f"http://127.0.0.1:{self.http.port}"

    def issue(self, audience: str, subject: str = "alice", scope: str = "wallet:read wallet:write billing:read",
              account: str | None = "acct_shared", expires_in: int = 300, key: Any = None, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.issuer, "sub": subject, "aud": audience, "iat": now, "exp": now + expires_in,
                "scope": scope, "client_id": "host", **({"account": account} if account else {}), **claims}
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": self.kid})


class Late:
    """An ASGI app made once the port is known (the tokens' audience is the server's own URL)."""

    app: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with carded_sandbox(ACCOUNT) as server:
        yield server


@pytest.fixture(scope="module")
def auth() -> Iterator[AuthServer]:
    server = AuthServer()
    with server.http:
        yield server


@pytest.fixture(scope="module")
def store_url() -> Iterator[str]:
    with fresh_schema() as url:
        yield url


@contextmanager
def _serving(sandbox: SandboxServer, auth: AuthServer, store_url: str,
             max_servers: int = 256) -> Iterator[tuple[str, OAuthSettings, Any]]:
    late = Late()
    http = LoopbackHttp(late)
    settings = OAuthSettings(issuer=auth.issuer, resource=http.url, jwks_url=f"{auth.issuer}/jwks",
                             scopes_supported=("wallet:read", "wallet:write", "billing:read"), max_servers=max_servers)
    store = open_store(store_url)

    def make_server(tenant: Tenant) -> BillingMCPServer:
        toolkit = BillingToolkit(async_client=AsyncBillingClient(base_url=sandbox.base_url, token=ACCOUNT),
                                 approval=ElicitationApprover(), store=TenantStore(store, tenant),
                                 scopes=list(tenant.scopes), mandate=Mandate(max_per_24h=30, auto_approve=True))
        return BillingMCPServer(toolkit, state_key="s" * 40)

    late.app = oauth_app(settings, make_server)
    with http:
        yield http.url, settings, late.app


@pytest.fixture(scope="module")
def served(sandbox: SandboxServer, auth: AuthServer, store_url: str) -> Iterator[tuple[str, OAuthSettings]]:
    with _serving(sandbox, auth, store_url) as (url, settings, _):
        yield url, settings


def _balance(sandbox: SandboxServer) -> Decimal:
    with BillingClient(base_url=sandbox.base_url, token=ACCOUNT) as client:
        return client.get_wallet_balance().balance


def _post(url: str, token: str | None, body: dict[str, Any] = INITIALIZE) -> httpx.Response:
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(url, json=body, headers={**HEADERS, **auth}, timeout=30)


def test_without_a_valid_token_401_points_at_the_metadata(served: tuple[str, OAuthSettings], auth: AuthServer) -> None:
    url, settings = served
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for token in (None, "junk", auth.issue("https://other.example/mcp"), auth.issue(url, expires_in=-60),
                  auth.issue(url, key=other_key), auth.issue(url, iss="https://evil.example"),
                  auth.issue(url, account=None)):
        refused = _post(url, token)
        assert refused.status_code == 401, (token, refused.text)
        challenge = refused.headers["www-authenticate"]
        assert challenge.startswith("Bearer ") and 'resource_metadata="' in challenge, challenge
    metadata = httpx.get(settings.metadata_url, timeout=30).json()
    assert metadata["resource"] == url and [s.rstrip("/") for s in metadata["authorization_servers"]] == [auth.issuer]
    assert _post(url, auth.issue(url)).status_code == 200


def test_a_token_lacking_the_scope_gets_insufficient_scope(served: tuple[str, OAuthSettings], auth: AuthServer,
                                                           sandbox: SandboxServer) -> None:
    url, _ = served
    before = _balance(sandbox)
    reader = auth.issue(url, subject="reader", scope="wallet:read")
    fund = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "wallet", "arguments": {"action": "fund", "amount": 5}}}
    refused = _post(url, reader, fund)
    assert refused.status_code == 403, refused.text
    challenge = refused.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="wallet:write"' in challenge, challenge

    async def listed() -> list[str]:
        async with http_session(url, reader) as client:
            balance, _ = content_of(await client.call_tool("wallet", {"action": "balance"}))
            assert balance["ok"] is True
            tools = await client.list_tools()
            wallet = next(tool for tool in tools.tools if tool.name == "wallet")
            return list(wallet.input_schema["properties"]["action"].get("enum") or [])

    assert "fund" not in asyncio.run(listed())  # least privilege: the reader is not even offered it
    assert _balance(sandbox) == before


@pytest.mark.parametrize("mode", [LEGACY, STATELESS])
def test_two_tenants_never_share_a_mandate(served: tuple[str, OAuthSettings], auth: AuthServer,
                                           sandbox: SandboxServer, mode: str) -> None:
    """Each person's 30/24h mandate is their own: alice's spend does not use up bob's (state on PostgreSQL)."""
    url, _ = served
    before = _balance(sandbox)
    alice, bob = (auth.issue(url, subject=f"{name}-{mode}") for name in ("alice", "bob"))

    async def fund(token: str, amount: int) -> tuple[dict[str, Any], bool]:
        async def never(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
            raise AssertionError("inside the mandate: nobody is asked")

        async with http_session(url, token, elicit=never, mode=mode) as client:
            return content_of(await client.call_tool("wallet", {"action": "fund", "amount": amount}))

    first, first_error = asyncio.run(fund(alice, 25))
    assert not first_error and first["ok"] is True, first
    over, over_error = asyncio.run(fund(alice, 10))  # 35 > 30 for alice
    assert over_error and "mandate" in over["message"].lower(), over
    theirs, theirs_error = asyncio.run(fund(bob, 25))  # bob's own 30
    assert not theirs_error and theirs["ok"] is True, theirs
    assert _balance(sandbox) == before + 50


def test_the_tenants_state_is_kept_under_their_own_keys(store_url: str) -> None:
    store = open_store(store_url)
    alice, bob = (TenantStore(store, Tenant("https://auth", name, "acct", ())) for name in ("alice", "bob"))
    assert alice.for_account("acct_1").audit.chain != bob.for_account("acct_1").audit.chain


def test_a_non_loopback_bind_without_authorization_is_refused(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from agent_billing.mcp.command import main

    assert main(["--http", "--host", "0.0.0.0", "--port", "0", "--sandbox"]) == 2
    err = capsys.readouterr().err
    assert "--oauth-issuer" in err and "0.0.0.0" in err


def test_the_command_serves_as_a_resource_server(auth: AuthServer, tmp_path: Path) -> None:
    """``agent-billing mcp --http --oauth-...``: per-tenant toolkits from the command's own settings."""
    import socket

    from tests.mcp.mcp_helpers import server_env, start_http_server, stop

    with socket.socket() as probe:  # a free port, so the resource URL (the tokens' audience) is known up front
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    resource = f"http://127.0.0.1:{port}/mcp"
    env = server_env("", "", tmp_path, AGENT_BILLING_STORE_URL=f"sqlite:///{tmp_path / 'state.db'}")
    for name in ("AGENT_BILLING_BASE_URL", "AGENT_BILLING_TOKEN"):
        env.pop(name, None)
    process, url = start_http_server(["--sandbox", "--port", str(port), "--oauth-issuer", auth.issuer,
                                      "--oauth-resource", resource, "--oauth-jwks-url", f"{auth.issuer}/jwks"],
                                     env, tmp_path / "stderr.txt")
    try:
        assert url == resource and _post(url, None).status_code == 401
        reader = auth.issue(resource, scope="wallet:read")
        fund = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "wallet", "arguments": {"action": "fund", "amount": 5}}}
        assert _post(url, reader, fund).status_code == 403

        async def balance() -> dict[str, Any]:
            async with http_session(url, reader, mode=STATELESS) as client:
                return content_of(await client.call_tool("wallet", {"action": "balance"}))[0]

        assert asyncio.run(balance())["ok"] is True
    finally:
        stop(process)


def test_tenant_servers_are_bounded_and_a_stopped_ones_state_survives(sandbox: SandboxServer, auth: AuthServer,
                                                                     store_url: str) -> None:
    """Beyond ``max_servers`` the least recently used idle server stops; a tenant who comes back gets a new one
    whose guardrail state is still theirs (the 30/24h mandate remembers their 25)."""
    before = _balance(sandbox)
    with _serving(sandbox, auth, store_url, max_servers=2) as (url, _, app):
        tokens = {name: auth.issue(url, subject=f"{name}-bounded") for name in ("carol", "dave", "erin")}

        async def fund(token: str, amount: int) -> tuple[dict[str, Any], bool]:
            async with http_session(url, token, mode=STATELESS) as client:
                return content_of(await client.call_tool("wallet", {"action": "fund", "amount": amount}))

        first, first_error = asyncio.run(fund(tokens["carol"], 25))
        assert not first_error and first["ok"] is True, first
        for name in ("dave", "erin"):
            result, _ = asyncio.run(fund(tokens[name], 10))
            assert result["ok"] is True, result
            assert app.state.tenants.running_servers() <= 2
        # carol's server was the least recently used: stopped. Her next call gets a new one, with her spend.
        over, over_error = asyncio.run(fund(tokens["carol"], 10))  # 35 > 30 for carol
        assert over_error and "mandate" in over["message"].lower(), over
        assert app.state.tenants.running_servers() == 2
    assert _balance(sandbox) == before + 45


def test_a_body_over_the_limit_is_refused_before_it_is_buffered(served: tuple[str, OAuthSettings],
                                                               auth: AuthServer) -> None:
    from agent_billing.mcp.oauth import MAX_BODY

    url, _ = served
    token = auth.issue(url, subject="mallory-big")
    response = httpx.post(url, content=b" " * (MAX_BODY + 1), timeout=60,
                          headers={**HEADERS, "Authorization": f"Bearer {token}"})
    assert response.status_code == 413
    assert _post(url, token).status_code == 200  # the same tenant, a normal request: served
