"""The MCP server beyond loopback: an OAuth 2.1 resource server with one guardrail state per tenant.

Every request needs an access token from the deployer's authorization server: a JWT whose signature checks
against the server's JWKS, whose issuer (``iss``) is that server, whose audience (``aud``, RFC 8707) is this
MCP endpoint, and which has not expired. Without one: ``401`` and ``WWW-Authenticate`` pointing at this
resource's protected-resource metadata (RFC 9728, served at ``/.well-known/oauth-protected-resource/mcp``).

A token is a tenant: its issuer and subject, and its ``account`` claim (the billing account it may act on).
Each tenant gets its own toolkit (``make_toolkit(tenant, store)``), whose guardrail state lives in the
deployment's store under the tenant's key, so tenants never share mandates, approvals or pending outcomes;
and whose actions are those its token's scopes allow (least privilege). A call to an action the scopes do
not cover is answered ``403`` with ``WWW-Authenticate: Bearer error="insufficient_scope", scope="..."``
(the scope to ask for in a step-up), before any tool runs.

Example:
    >>> tenant = Tenant(issuer="https://auth.example", subject="alice", account="acct_9", scopes=("wallet:read",))
    >>> tenant.key
    'tenant_e5bf23fbc418227d6bd6'
    >>> from agent_billing.guardrails.store import open_store
    >>> TenantStore(open_store("sqlite:///tmp/x/state.db"), tenant).name
    'sqlite:///tmp/x/state.db (tenant_e5bf23fbc418227d6bd6)'
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import jwt
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.routes import build_resource_metadata_url, create_protected_resource_routes
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from agent_billing.guardrails.store import AccountState, Store, _AccountSpend
from agent_billing.mcp.http_guard import PRINCIPAL_KEY
from agent_billing.provider import get_provider

__all__ = ["JwtVerifier", "OAuthSettings", "Tenant", "TenantStore", "oauth_app"]

ALGORITHMS = ["RS256", "ES256", "EdDSA"]  # asymmetric only: a shared secret would let the resource mint tokens
ACCOUNT_CLAIM = "account"
# A JSON-RPC request body larger than this is refused (413) before it is buffered whole.
MAX_BODY = 4 * 1024 * 1024


@dataclass(frozen=True)
class OAuthSettings:
    """Where tokens come from and whom they must be for.

    ``resource`` is this MCP endpoint's URL exactly as clients use it (the tokens' audience).

    Example:
        >>> OAuthSettings(issuer="https://auth.example", resource="https://billing.example/mcp",
        ...               jwks_url="https://auth.example/jwks").metadata_url
        'https://billing.example/.well-known/oauth-protected-resource/mcp'
    """

    issuer: str
    resource: str
    jwks_url: str
    scopes_supported: tuple[str, ...] = ()
    # Tenant servers kept running at once; the least recently used idle one is stopped beyond this (bounded
    # memory: every new subject or scope set would otherwise add a server for the life of the process).
    max_servers: int = 256

    @property
    def metadata_url(self) -> str:
        """The RFC 9728 metadata URL for ``resource``."""
        return str(build_resource_metadata_url(AnyHttpUrl(self.resource)))


@dataclass(frozen=True)
class Tenant:
    """Who a valid token speaks for: issuer and subject, the billing account, the granted scopes."""

    issuer: str
    subject: str
    account: str
    scopes: tuple[str, ...]

    @property
    def key(self) -> str:
        """A stable, non-secret name for this tenant's guardrail state (issuer, subject and account)."""
        material = json.dumps([self.issuer, self.subject, self.account])
        return "tenant_" + hashlib.sha256(material.encode()).hexdigest()[:20]


class TenantStore:
    """A deployment's store seen by one tenant: every account's state is kept under the tenant's key.

    Example:
        >>> import tempfile, pathlib
        >>> from agent_billing.guardrails.store import open_store
        >>> inner = open_store(f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'state.db'}")
        >>> a, b = (TenantStore(inner, Tenant("i", name, "acct", ())) for name in ("alice", "bob"))
        >>> a.for_account("acct_1").audit.chain == b.for_account("acct_1").audit.chain
        False
    """

    def __init__(self, inner: Store, tenant: Tenant) -> None:
        self.inner, self.tenant = inner, tenant
        self.name = f"{inner.name} ({tenant.key})"

    def for_account(self, account: str) -> AccountState:
        """The tenant's own state for ``account``.

        Spend is kept under the tenant's name here, not left to the inner store: the state directory's store
        keeps one spend file for every account, where tenants would otherwise share one mandate's budget.
        """
        name = f"{account}.{self.tenant.key}"
        state = self.inner.for_account(name)
        return AccountState(spend=lambda: _AccountSpend(state.spend, name), pending=lambda: state.pending,
                            confirmations=lambda: state.confirmations, approvals=lambda: state.approvals,
                            declined=lambda: state.declined, audit=lambda: state.audit,
                            authorities=lambda: state.authorities)

    def audit_chains(self) -> list[str]:
        """The tenant's audit chains."""
        return [chain for chain in self.inner.audit_chains() if chain.endswith(f".{self.tenant.key}")]

    def audit_lines(self, chain: str) -> list[str]:
        """One of the tenant's chains."""
        if not chain.endswith(f".{self.tenant.key}"):
            raise ValueError("not this tenant's audit chain")
        return self.inner.audit_lines(chain)


class JwtVerifier:
    """The SDK's ``TokenVerifier``: a JWT access token, checked for signature (JWKS), issuer, audience and expiry.

    Example:
        >>> verifier = JwtVerifier(OAuthSettings("https://auth.example", "https://billing.example/mcp",
        ...                                      "https://auth.example/jwks"))
        >>> asyncio.run(verifier.verify_token("not-a-jwt")) is None
        True
    """

    def __init__(self, settings: OAuthSettings) -> None:
        self.settings = settings
        self._jwks = jwt.PyJWKClient(settings.jwks_url, cache_keys=True, lifespan=300)

    async def verify_token(self, token: str) -> AccessToken | None:
        """The token's claims as an ``AccessToken``, or None when anything about it is wrong."""
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") not in ALGORITHMS:
                return None
            key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
            claims: dict[str, Any] = jwt.decode(
                token, key.key, algorithms=ALGORITHMS, audience=self.settings.resource, issuer=self.settings.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]})
        except (jwt.PyJWTError, ValueError):
            return None
        scope = claims.get("scope", "")
        if not isinstance(scope, str) or not isinstance(claims.get(ACCOUNT_CLAIM), str) or not claims[ACCOUNT_CLAIM]:
            return None  # a token for no particular account acts on none
        return AccessToken(token=token, client_id=str(claims.get("client_id") or claims.get("azp") or ""),
                           scopes=scope.split(), expires_at=int(claims["exp"]), resource=self.settings.resource,
                           subject=str(claims["sub"]), claims=claims)


def tenant_of(token: AccessToken) -> Tenant:
    """The tenant a verified token speaks for."""
    claims = token.claims or {}
    return Tenant(issuer=str(claims.get("iss")), subject=str(token.subject), account=str(claims[ACCOUNT_CLAIM]),
                  scopes=tuple(token.scopes))


def for_tenant(server: Any, tenant: Tenant) -> Any:
    """``server`` with its guard keyed by the tenant too: approval ids, declined requests, pending-outcome scopes and
    charge intents then name the tenant, so two people on one billing account never meet in the guardrail state.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.inprocess import sandbox_clients
        >>> from agent_billing.audit import MemoryAuditLog
        >>> from agent_billing.mcp.server import BillingMCPServer
        >>> from agent_billing.tools import BillingToolkit
        >>> client = sandbox_clients(create_app())[1]
        >>> a, b = (for_tenant(BillingMCPServer(BillingToolkit(async_client=client, audit=MemoryAuditLog())),
        ...                    Tenant("i", name, "acct", ())) for name in ("alice", "bob"))
        >>> a.toolkit.guard.account == b.toolkit.guard.account, a.toolkit.guard.account.startswith(client.account_id)
        (False, True)
    """
    guard = server.toolkit.guard
    if not guard.account.endswith(f".{tenant.key}"):
        guard.account = f"{guard.account}.{tenant.key}"
    return server


async def _challenge(send: Send, status: int, error: str, settings: OAuthSettings, scope: str | None = None) -> None:
    parts = [f'error="{error}"', f'resource_metadata="{settings.metadata_url}"']
    if scope:
        parts.insert(1, f'scope="{scope}"')
    body = json.dumps({"error": error, **({"scope": scope} if scope else {})}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"www-authenticate", ("Bearer " + ", ".join(parts)).encode())]})
    await send({"type": "http.response.body", "body": body})


def missing_scope(toolkit: Any, body: bytes) -> str | None:
    """The scopes a ``tools/call`` in ``body`` needs and the toolkit's token lacks (space-separated), if any.

    Only for an action that exists and that the token's scopes, not the deployer's allowlist, keep out.
    """
    try:
        message = json.loads(body)
        params = message.get("params") or {} if isinstance(message, dict) and message.get("method") == "tools/call" \
            else None
    except ValueError:
        return None
    if not isinstance(params, dict):
        return None
    group, arguments = params.get("name"), params.get("arguments") or {}
    action = arguments.get("action") if isinstance(arguments, dict) else None
    registry = toolkit.registry
    if not isinstance(group, str) or not isinstance(action, str) or toolkit.allows(group, action):
        return None
    table = get_provider(registry.provider).part("scopes")
    if table is None or f"{group}.{action}" not in _names(toolkit):
        return None
    needed = table.action_scopes(f"{group}.{action}", registry.operations)
    return " ".join(sorted(needed)) if needed else None


def _names(toolkit: Any) -> set[str]:
    from agent_billing.tools.actions import action_names

    return set(action_names(toolkit.registry, toolkit.custom_actions or []))


@dataclass
class _Served:
    """One tenant's running server: its session manager, the event that stops it, the requests in flight."""

    server: Any
    manager: StreamableHTTPSessionManager
    stop: anyio.Event = field(default_factory=anyio.Event)
    busy: int = 0


class _Tenants:
    """The MCP endpoint: each verified request goes to its tenant's server for its token's scopes (made on first
    use, kept running; at most ``settings.max_servers`` at once, the least recently used idle one stopped first).
    """

    def __init__(self, settings: OAuthSettings, make_server: Callable[[Tenant], Any]) -> None:
        self.settings, self.make_server = settings, make_server
        self._served: OrderedDict[str, _Served] = OrderedDict()
        self._lock = anyio.Lock()
        self._group: Any = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with anyio.create_task_group() as group:
            self._group = group
            try:
                yield
            finally:
                for served in self._served.values():
                    served.stop.set()  # each tenant's server winds down; the group then ends
                self._served.clear()

    def _evict(self) -> None:
        # Only idle servers: stopping one cancels its in-flight calls, and a charge must not be cut mid-way.
        # A 2025-11-25 client of a stopped server gets 404 for its session and starts a new one (the spec's way).
        for key in [key for key, served in self._served.items() if served.busy == 0]:
            if len(self._served) < self.settings.max_servers:
                return
            self._served.pop(key).stop.set()

    async def _enter(self, tenant: Tenant) -> _Served:
        # One server per tenant and scope set: a server's tools and scope checks are its token's scopes, so a
        # narrower token of the same person must not reach a server made for a wider one (nor a step-up stay
        # on the narrow one). The guardrail state is the tenant's either way (its key, not the scopes).
        key = f"{tenant.key} {' '.join(sorted(set(tenant.scopes)))}"
        async with self._lock:
            served = self._served.get(key)
            if served is None:
                self._evict()
                server = for_tenant(self.make_server(tenant), tenant)
                served = _Served(server, StreamableHTTPSessionManager(app=server.server))
                running = served

                async def serve(*, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
                    async with running.manager.run():
                        task_status.started()
                        await running.stop.wait()

                await self._group.start(serve)
                self._served[key] = served
            self._served.move_to_end(key)
            served.busy += 1
            return served

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        if not isinstance(user, AuthenticatedUser):
            await _challenge(send, 401, "invalid_token", self.settings)
            return
        body, receive = await _buffered(receive)
        if body is None:
            await _too_large(send)
            return
        tenant = tenant_of(user.access_token)
        served = await self._enter(tenant)
        try:
            needed = missing_scope(served.server.toolkit, body)
            if needed is not None:
                await _challenge(send, 403, "insufficient_scope", self.settings, needed)
                return
            await served.manager.handle_request({**scope, PRINCIPAL_KEY: tenant.key}, receive, send)
        finally:
            served.busy -= 1

    def running_servers(self) -> int:
        """How many tenant servers run now (for tests and health checks)."""
        return len(self._served)


async def _too_large(send: Send) -> None:
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body",
                "body": json.dumps({"error": f"request body over {MAX_BODY} bytes"}).encode()})


async def _buffered(receive: Receive) -> tuple[bytes | None, Receive]:
    """The request body (None when over ``MAX_BODY``), and a ``receive`` that replays it to the app behind."""
    chunks, more, size = [], True, 0
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None, receive
        chunks.append(chunk)
        more = message.get("more_body", False)
    body, sent = b"".join(chunks), False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


def oauth_app(settings: OAuthSettings, make_server: Callable[[Tenant], Any]) -> Starlette:
    """The Starlette app of a remote deployment: metadata, token checks, and one MCP server per tenant at ``/mcp``.

    ``make_server(tenant)`` builds the tenant's ``BillingMCPServer`` (its toolkit's ``scopes`` the tenant's, its
    ``store`` a ``TenantStore``).
    """
    tenants = _Tenants(settings, make_server)
    token_verifier = JwtVerifier(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with tenants.running():
            yield

    routes = [Route("/mcp", endpoint=tenants),
              *create_protected_resource_routes(AnyHttpUrl(settings.resource), [AnyHttpUrl(settings.issuer)],
                                                list(settings.scopes_supported) or None)]
    app = Starlette(routes=routes, lifespan=lifespan,
                    middleware=[Middleware(AuthenticationMiddleware, backend=BearerAuthBackend(token_verifier))])
    app.state.tenants = tenants  # running_servers() for health checks
    return app
