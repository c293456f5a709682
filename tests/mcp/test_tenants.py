"""Tenants never share guardrail state: two tokens (different subjects) on one billing account and one PostgreSQL
store, through the real OAuth-protected HTTP server and the official ``mcp`` client.

Each tenant's toolkit is made on its first request (``oauth_app``'s ``make_server``); the part of the subject
before ``:`` picks its approvals (``auto``: a mandate that approves by itself; ``ask``: the person is asked by
elicitation; ``confirm``: single-use confirmation tokens inside a mandate). A subject listed in ``LOSSES`` gets a
connection that loses that many ``wallet/fund`` responses after the sandbox committed them: an unknown outcome.
The HTTP tests read the sandbox ledger. The mandates' separation is in ``test_oauth.py``.
"""

from __future__ import annotations

import asyncio
import json
import unicodedata
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.client.test_resilience import AsyncDropResponses
from tests.mcp import test_oauth
from tests.mcp.mcp_helpers import LEGACY, MODES, STATELESS, LoopbackHttp, carded_sandbox, content_of, http_session, ledger
from tests.mcp.test_oauth import AuthServer, Late

from agent_billing.audit import MemoryAuditLog
from agent_billing.guardrails.mandate import Mandate
from agent_billing.guardrails.store import StateDirStore, open_store
from agent_billing.mcp import BillingMCPServer, ElicitationApprover
from agent_billing.mcp.oauth import OAuthSettings, Tenant, TenantStore, for_tenant, oauth_app
from agent_billing.providers.modelslab.client import AsyncModelsLabClient, ModelsLabClient
from agent_billing.retry import RetryPolicy
from agent_billing.sandbox.server import SandboxServer
from agent_billing.tools import BillingToolkit
from mcp import MCPError, types

auth, store_url = test_oauth.auth, test_oauth.store_url  # the OAuth tests' fixtures, for pytest
ACCOUNT = "sk_tenants_shared"  # one billing account; every tenant's toolkit acts on it
FULL = "wallet:read wallet:write billing:read"
LOSSES: dict[str, int] = {}  # subject -> fund responses its connection loses (set before its first call)
FUND = {"action": "fund", "amount": 20}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with carded_sandbox(ACCOUNT) as server:
        yield server


def _toolkit(tenant: Tenant, sandbox: SandboxServer, store: Any) -> BillingToolkit:
    kind = tenant.subject.split(":")[0]
    transport = AsyncDropResponses(httpx.AsyncHTTPTransport(), "/wallet/fund", drops=LOSSES.pop(tenant.subject, 0))
    client = AsyncModelsLabClient(base_url=sandbox.base_url, token=ACCOUNT, transport=transport,
                                  retry=RetryPolicy(max_retries=1, base_delay=0.01))
    mandate = {"auto": Mandate(max_per_24h=100, auto_approve=True), "ask": None, "confirm": Mandate(max_per_24h=100)}
    return BillingToolkit(async_client=client, approval="confirmation" if kind == "confirm" else ElicitationApprover(),
                          store=TenantStore(store, tenant), scopes=list(tenant.scopes), mandate=mandate[kind])


@pytest.fixture(scope="module")
def url(sandbox: SandboxServer, auth: AuthServer, store_url: str) -> Iterator[str]:
    late = Late()
    http = LoopbackHttp(late)
    settings = OAuthSettings(issuer=auth.issuer, resource=http.url, jwks_url=f"{auth.issuer}/jwks",
                             scopes_supported=tuple(FULL.split()))
    store = open_store(store_url)
    late.app = oauth_app(settings, lambda tenant: BillingMCPServer(_toolkit(tenant, sandbox, store),
                                                                   state_key="t" * 40))
    with http:
        yield http.url


def _ledger(sandbox: SandboxServer) -> tuple[Decimal, int]:
    return ledger(sandbox, ACCOUNT)


def _call(url: str, token: str, arguments: dict[str, Any], *, mode: str = LEGACY,
          answer: str | None = None) -> tuple[tuple[dict[str, Any], bool], int]:
    """One ``wallet`` call: (content, isError) and how many times the person was asked (``answer``: their answer;
    None: the client declares elicitation but nobody may be asked)."""
    asked: list[types.ElicitRequestParams] = []

    async def elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params)
        assert answer is not None, f"nobody should be asked: {params}"
        return types.ElicitResult(action=answer, content={})  # type: ignore[arg-type]

    async def run() -> tuple[dict[str, Any], bool]:
        async with http_session(url, token, elicit=elicit, mode=mode) as client:
            return content_of(await client.call_tool("wallet", arguments))

    return asyncio.run(run()), len(asked)


def _pair(auth: AuthServer, url: str, kind: str, test: str, scope: str = FULL) -> tuple[str, str]:
    """Tokens of alice and bob (subjects ``kind:name-test``) on the shared account."""
    return auth.issue(url, subject=f"{kind}:alice-{test}", scope=scope), \
        auth.issue(url, subject=f"{kind}:bob-{test}", scope=scope)


@pytest.mark.parametrize("mode", MODES)
def test_an_unknown_outcome_of_one_tenant_neither_blocks_nor_answers_the_other(
        url: str, auth: AuthServer, sandbox: SandboxServer, store_url: str, mode: str) -> None:
    alice, bob = _pair(auth, url, "auto", f"pending-{mode}")
    LOSSES[f"auto:alice-pending-{mode}"] = 2  # the first try and its one retry: both answers lost
    before, credits = _ledger(sandbox)
    (lost, lost_error), _ = _call(url, alice, FUND, mode=mode)
    assert lost_error and lost["error"] == "outcome_unknown", lost
    assert _ledger(sandbox) == (before + 20, credits + 1)  # it did go through; alice's store knows it is unsettled
    # Bob's identical call is his own: not refused, not answered with alice's pending outcome, charged anew.
    (theirs, theirs_error), _ = _call(url, bob, FUND, mode=mode)
    assert not theirs_error and theirs["ok"] is True and "note" not in theirs, theirs
    assert _ledger(sandbox) == (before + 40, credits + 2)
    # Alice's repeat replays her own request under its key: no second charge for her.
    (again, again_error), _ = _call(url, alice, FUND, mode=mode)
    assert not again_error and again["ok"] is True and "note" in again, again
    assert _ledger(sandbox) == (before + 40, credits + 2)
    # In the store: each tenant's audit chain holds its own story.
    store = open_store(store_url)
    decisions = {}
    for who in ("alice", "bob"):
        view = TenantStore(store, Tenant(auth.issuer, f"auto:{who}-pending-{mode}", "acct_shared", ()))
        decisions[who] = [json.loads(line)["decision"] for chain in view.audit_chains()
                          for line in view.audit_lines(chain)]
    assert decisions == {"alice": ["auto_approved", "unknown", "replayed", "succeeded"],
                         "bob": ["auto_approved", "succeeded"]}, decisions


def test_a_declined_request_of_one_tenant_is_not_the_others(url: str, auth: AuthServer,
                                                             sandbox: SandboxServer) -> None:
    alice, bob = _pair(auth, url, "ask", "declined")
    before, credits = _ledger(sandbox)
    (declined, declined_error), asked = _call(url, alice, FUND, answer="decline")
    assert declined_error and declined["error"] == "rejected" and asked == 1, declined
    (again, again_error), asked = _call(url, alice, FUND)  # remembered: refused without asking her again
    assert again_error and again["error"] == "rejected" and "already declined" in again["message"], again
    assert asked == 0
    (theirs, theirs_error), asked = _call(url, bob, FUND, answer="accept")  # bob is asked about his own call
    assert not theirs_error and theirs["ok"] is True and asked == 1, theirs
    assert _ledger(sandbox) == (before + 20, credits + 1)


@pytest.mark.parametrize("mode", MODES)
def test_a_yes_of_one_tenant_does_not_approve_the_others_identical_call(url: str, auth: AuthServer,
                                                                         sandbox: SandboxServer, mode: str) -> None:
    alice, bob = _pair(auth, url, "ask", f"approved-{mode}")
    before, credits = _ledger(sandbox)
    (approved, approved_error), asked = _call(url, alice, {**FUND, "amount": 15}, mode=mode, answer="accept")
    assert not approved_error and approved["ok"] is True and asked == 1, approved
    (theirs, theirs_error), asked = _call(url, bob, {**FUND, "amount": 15}, mode=mode, answer="decline")
    assert theirs_error and theirs["error"] == "rejected" and asked == 1, theirs  # bob himself was asked, and said no
    assert _ledger(sandbox) == (before + 15, credits + 1)


def test_a_request_state_of_one_tenant_cannot_be_redeemed_by_the_other(url: str, auth: AuthServer,
                                                                        sandbox: SandboxServer) -> None:
    """2026-07-28: bob presents alice's sealed ``requestState`` with a yes of his own; nothing moves. Alice's own
    answer still works afterwards: bob's attempt did not use it up."""
    alice, bob = _pair(auth, url, "ask", "rounds")
    before, credits = _ledger(sandbox)

    async def never(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        raise AssertionError("the test drives the rounds itself")

    async def answer(token: str, state: str) -> types.CallToolResult | MCPError:
        async with http_session(url, token, elicit=never, mode=STATELESS) as client:
            try:
                result = await client.session.call_tool(
                    "wallet", FUND, input_responses={"approval": types.ElicitResult(action="accept", content={})},  # type: ignore[arg-type]
                    request_state=state, allow_input_required=True)
            except MCPError as refused:
                return refused
            assert isinstance(result, types.CallToolResult), result
            return result

    async def ask(token: str) -> str:
        async with http_session(url, token, elicit=never, mode=STATELESS) as client:
            first = await client.session.call_tool("wallet", FUND, allow_input_required=True)
            assert isinstance(first, types.InputRequiredResult) and first.request_state, first
            return first.request_state

    state = asyncio.run(ask(alice))
    stolen = asyncio.run(answer(bob, state))  # sealed for alice's principal: the SDK's boundary refuses it
    assert isinstance(stolen, MCPError) and "Invalid or expired requestState" in str(stolen), stolen
    assert _ledger(sandbox) == (before, credits)
    own = asyncio.run(answer(alice, state))
    assert isinstance(own, types.CallToolResult), own
    content, is_error = content_of(own)
    assert not is_error and content["ok"] is True, content
    assert _ledger(sandbox) == (before + 20, credits + 1)


def test_a_confirmation_token_of_one_tenant_is_refused_for_the_other(url: str, auth: AuthServer,
                                                                      sandbox: SandboxServer) -> None:
    alice, bob = _pair(auth, url, "confirm", "tokens")
    before, credits = _ledger(sandbox)
    (issued, _), _ = _call(url, alice, FUND)
    assert issued["status"] == "confirmation_required" and issued["confirmation"].startswith("conf_"), issued
    (stolen, stolen_error), _ = _call(url, bob, {**FUND, "confirmation": issued["confirmation"]})
    assert stolen_error and stolen["error"] == "confirmation_invalid", stolen
    assert _ledger(sandbox) == (before, credits)
    # A presented token is spent whoever presents it (fail safe): alice's is gone; she asks anew and confirms.
    (burnt, burnt_error), _ = _call(url, alice, {**FUND, "confirmation": issued["confirmation"]})
    assert burnt_error and burnt["error"] == "confirmation_invalid", burnt
    (fresh, _), _ = _call(url, alice, FUND)
    (confirmed, confirmed_error), _ = _call(url, alice, {**FUND, "confirmation": fresh["confirmation"]})
    assert not confirmed_error and confirmed["ok"] is True, confirmed
    assert _ledger(sandbox) == (before + 20, credits + 1)


def test_a_narrower_token_of_the_same_person_gets_only_its_own_scopes(url: str, auth: AuthServer,
                                                                      sandbox: SandboxServer) -> None:
    """One person, two tokens: the read-only one must not act with the scopes of the one used before it, and a
    step-up to a wider token must take effect (the tenant's server is per scope set, its state per person)."""
    subject = "auto:carol-scopes"
    full, reader = (auth.issue(url, subject=subject, scope=scope) for scope in (FULL, "wallet:read"))
    before = _ledger(sandbox)
    (balance, balance_error), _ = _call(url, full, {"action": "balance"})
    assert not balance_error and balance["ok"] is True
    fund = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "wallet", "arguments": FUND}}
    headers = {**test_oauth.HEADERS, "Authorization": f"Bearer {reader}"}
    refused = httpx.post(url, json=fund, headers=headers, timeout=30)
    assert refused.status_code == 403 and 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    assert _ledger(sandbox) == before
    stepped = auth.issue(url, subject="auto:dave-scopes", scope="wallet:read")  # first read-only, then a step-up
    assert httpx.post(url, json=fund, headers={**headers, "Authorization": f"Bearer {stepped}"},
                      timeout=30).status_code == 403
    (funded, funded_error), _ = _call(url, auth.issue(url, subject="auto:dave-scopes", scope=FULL), FUND)
    assert not funded_error and funded["ok"] is True, funded
    assert _ledger(sandbox)[0] == before[0] + 20


# Identities that differ only by a separator, case, a look-alike letter, Unicode normalisation, or text that
# imitates the key's own encoding: each is a different tenant and must get state of its own.
LOOKALIKES = [("https://auth", "alice", "acct"), ("https://auth", "Alice", "acct"), ("https://auth", "alice", "Acct"),
              ("https://auth", "alic\u0435", "acct"), ("https://auth", "alice\u200b", "acct"),
              ("https://auth", unicodedata.normalize("NFD", "josé"), "acct"),
              ("https://auth", unicodedata.normalize("NFC", "josé"), "acct"),
              ("https://auth", "alice.acct", ""), ("https://auth", "alice", ".acct"),
              ("https://auth", 'alice", "acct', ""), ("https://auth", "alice", "acct\x00"),
              ("https://auth/", "alice", "acct"), ("https://auth", "alice:acct", "x"), ("https://auth:alice", "acct", "x")]


def test_look_alike_identities_never_share_state(store_url: str, sandbox: SandboxServer) -> None:
    tenants = [Tenant(issuer, subject, account, ()) for issuer, subject, account in LOOKALIKES]
    assert len({tenant.key for tenant in tenants}) == len(tenants)
    store = open_store(store_url)
    now = datetime.now(timezone.utc)
    for tenant in tenants:  # a cap of 15 each: had any two shared a budget, the second 10 would be refused
        spend = TenantStore(store, tenant).for_account("acct_1").spend
        assert spend.reserve("default", f"k-{tenant.key}", Decimal(10), limit=Decimal(15), now=now).granted, tenant
    # The guard's keys (pending scopes, approval ids, declined requests) name the tenant too.
    guards = set()
    for tenant in tenants:
        toolkit = BillingToolkit(async_client=AsyncModelsLabClient(base_url=sandbox.base_url, token=ACCOUNT),
                                 store=TenantStore(store, tenant), audit=MemoryAuditLog())
        guards.add(for_tenant(BillingMCPServer(toolkit), tenant).toolkit.guard.account)
    assert len(guards) == len(tenants)


def test_the_funding_lock_is_the_billing_accounts_not_the_tenants(sandbox: SandboxServer, store_url: str) -> None:
    """Two people on one billing account: alice's change of the default card waits for bob's charge on the default
    card (it holds the account's funding lock), as it would for her own. Keyed by tenant, it would not wait, and
    bob's charge, approved on one card, could go to another."""
    from tests.tools.test_bounded_waits import SlowCharge

    from agent_billing import Settings

    store = open_store(store_url)
    client = AsyncModelsLabClient(base_url=sandbox.base_url, token=ACCOUNT, settings=Settings(lock_timeout=0.2))
    with ModelsLabClient(base_url=sandbox.base_url, token=ACCOUNT) as sync:
        sync.add_payment_method("pm_card_mastercard", make_default=False)
        cards = sync.list_payment_methods().payment_methods
        default = next(card.id for card in cards if card.is_default)
        other = next(card.id for card in cards if not card.is_default)
    alice = Tenant("https://auth", "alice-lock", "acct", ("wallet:read", "wallet:write", "billing:read"))
    toolkit = BillingToolkit(async_client=client, approval=lambda request: True, store=TenantStore(store, alice),
                             audit=MemoryAuditLog())
    server = for_tenant(BillingMCPServer(toolkit), alice)
    with SlowCharge(client.account_id):  # bob's charge in flight, in his own tenant's flow
        result = asyncio.run(server.call("payment_methods", {"action": "set_default", "payment_method_id": other}))
    content, is_error = content_of(result)
    assert is_error and content["error"] == "store_unavailable" and content["store"] == "funding lock", content
    with ModelsLabClient(base_url=sandbox.base_url, token=ACCOUNT) as sync:
        assert next(card.id for card in sync.list_payment_methods().payment_methods if card.is_default) == default


@pytest.mark.parametrize("kind", ["state directory", "sqlite", "postgresql"])
def test_every_store_keeps_the_tenants_budgets_apart(kind: str, store_url: str, tmp_path: Path) -> None:
    """The default store (the state directory) keeps one spend file for all accounts: tenants must still not share
    a mandate's budget there (they did: bob's first 10 under a cap of 15 was refused after alice's)."""
    inner = {"state directory": lambda: StateDirStore(tmp_path), "sqlite": lambda: open_store(f"sqlite:///{tmp_path / 's.db'}"),
             "postgresql": lambda: open_store(store_url)}[kind]()
    now = datetime.now(timezone.utc)
    spends = [TenantStore(inner, Tenant("https://auth", f"{name}-{kind}", "acct", ())).for_account("acct_1").spend
              for name in ("alice", "bob")]
    for spend in spends:
        assert spend.reserve("default", f"k-{id(spend)}", Decimal(10), limit=Decimal(15), now=now).granted
    over = spends[0].reserve("default", "k-again", Decimal(10), limit=Decimal(15), now=now)  # alice's own cap holds
    assert not over.granted and "'default'" in (over.reason or ""), over
    assert [spend.spent("default", now=now) for spend in spends] == [Decimal(10), Decimal(10)]


def test_the_oauth_endpoint_checks_the_wire_headers_too(url: str, auth: AuthServer) -> None:
    """Behind OAuth (the scope check reads the body first) the SDK's header rung still runs: ``Mcp-Method`` and
    ``Mcp-Name`` must be there and agree with the body; lists carry ``ttlMs`` (asserted while recording)."""
    from tests.mcp.test_wire import _recorded, _replay

    headers, body = _recorded(url, auth.issue(url, subject="auto:erin-wire"))["tools/call"]
    assert _replay(url, headers, body).status_code == 200
    for changed in ({k: v for k, v in headers.items() if k != "mcp-name"}, {**headers, "mcp-method": "tools/list"},
                    {**headers, "mcp-name": "invoices"}):
        refused = _replay(url, changed, body)
        assert refused.status_code == 400, refused.text


def test_the_command_on_its_default_store_keeps_the_tenants_budgets_apart(auth: AuthServer, sandbox: SandboxServer,
                                                                         tmp_path: Path) -> None:
    """``agent-billing mcp --http --oauth-... --max-per-24h 30 --auto-approve`` with no store URL (the state
    directory): alice's 25 does not use up bob's 30 (before the fix bob was refused by alice's spend)."""
    import socket

    from tests.mcp.mcp_helpers import server_env, start_http_server, stop

    with socket.socket() as probe:  # a free port, so the resource URL (the tokens' audience) is known up front
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    resource = f"http://127.0.0.1:{port}/mcp"
    process, served = start_http_server(
        ["--port", str(port), "--max-per-24h", "30", "--auto-approve", "--oauth-issuer", auth.issuer,
         "--oauth-resource", resource, "--oauth-jwks-url", f"{auth.issuer}/jwks"],
        server_env(sandbox.base_url, ACCOUNT, tmp_path), tmp_path / "stderr.txt")
    try:
        before, credits = _ledger(sandbox)
        for name in ("alice", "bob"):
            (funded, funded_error), asked = _call(served, auth.issue(resource, subject=f"{name}-command"),
                                                  {**FUND, "amount": 25}, mode=STATELESS)
            assert not funded_error and funded["ok"] is True and asked == 0, (name, funded)
        (over, over_error), _ = _call(served, auth.issue(resource, subject="alice-command"), {**FUND, "amount": 10})
        assert over_error and "mandate" in over["message"].lower(), over  # alice's own cap still holds
        assert _ledger(sandbox) == (before + 50, credits + 2)
    finally:
        stop(process)
