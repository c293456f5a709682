"""Fault injection: each kind happens, is reproducible with a seed, and keeps its commit promise.

In process the connection faults surface as httpx transport errors; over loopback they are real
resets, closed connections and late responses. After each, the ledger says whether the work ran.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from sandbox_helpers import API, TOKEN, FakeClock, count, make_app
from starlette.applications import Starlette

from agent_billing.sandbox import SandboxServer
from agent_billing.sandbox.faults import (
    KINDS,
    FaultInjector,
    InjectedDisconnect,
    InjectedReset,
    InjectedTimeout,
    parse_faults,
)

AUTH = {"Authorization": f"Bearer {TOKEN}"}
FUND = {"amount": 10, "payment_method_id": "pm_card_visa"}
CREDITS = "SELECT COUNT(*) FROM wallet_entries WHERE amount_cents > 0"


def _app(kind: str, *, seed: int = 1, **kw: object) -> Starlette:
    return make_app(FakeClock(), faults={kind: 1.0}, fault_seed=seed, **kw)


@pytest.fixture
def app_factory() -> Iterator[list[Starlette]]:
    apps: list[Starlette] = []
    yield apps
    for app in apps:
        app.state.sandbox.ledger.check_invariants()
        app.state.sandbox.close()


def _credits(app: Starlette) -> int:
    return count(app.state.sandbox.ledger, CREDITS)


def _fund(http: httpx.Client, key: str = "k1") -> httpx.Response:
    return http.post(API + "/wallet/fund", json=FUND, headers={**AUTH, "Idempotency-Key": key})


def _inprocess(app: Starlette) -> httpx.Client:
    from agent_billing.inprocess import SyncASGITransport

    return httpx.Client(transport=SyncASGITransport(app), base_url="http://sandbox.test")


def test_spec_parsing_and_the_default_is_off() -> None:
    assert parse_faults("drop_after_commit=0.1, garble=0.05") == {"drop_after_commit": 0.1, "garble": 0.05}
    for bad in ("reset", "reset=2", "reset=x", "boom=0.1", "reset=0.6,delay=0.6"):
        with pytest.raises(ValueError):
            parse_faults(bad)
    app = make_app(FakeClock())
    assert app.state.faults is None
    with _inprocess(app) as http:
        assert _fund(http).status_code == 200
    app.state.sandbox.close()


def test_the_same_seed_gives_the_same_faults() -> None:
    spec = {kind: 0.1 for kind in KINDS}
    first, second, other = (FaultInjector(spec, seed=s) for s in (42, 42, 43))
    draws = [first.draw() for _ in range(300)]
    assert draws == [second.draw() for _ in range(300)]
    assert draws != [other.draw() for _ in range(300)]
    assert set(draws) == {*KINDS, None}  # every kind happens at 10 % over 300 draws
    assert 0.25 < draws.count(None) / 300 < 0.55


def test_a_seeded_mix_against_the_app_is_reproducible(app_factory: list[Starlette]) -> None:
    def run(seed: int) -> tuple[list[str], list[tuple[str, str | None]]]:
        app = make_app(FakeClock(), faults={"error_before_commit": 0.3, "rate_limit": 0.3, "garble": 0.2},
                       fault_seed=seed)
        app_factory.append(app)
        seen = []
        with _inprocess(app) as http:
            for i in range(30):
                r = _fund(http, key=f"k{i}")
                seen.append(f"{r.status_code}:{r.content[:1]!r}")
                http.get(API + "/wallet/balance", headers=AUTH)  # reads draw nothing
        return seen, list(app.state.faults.history)

    assert run(5) == run(5)
    assert run(5) != run(6)
    assert {op for op, _ in run(5)[1]} == {"fund_wallet"}


@pytest.mark.parametrize(("kind", "error", "committed"), [
    ("reset", InjectedReset, False),
    ("drop_after_commit", InjectedDisconnect, True),
    ("delay", InjectedTimeout, True),
])
def test_connection_faults_in_process(app_factory: list[Starlette], kind: str, error: type[Exception],
                                      committed: bool) -> None:
    app = _app(kind)
    app_factory.append(app)
    with _inprocess(app) as http:
        with pytest.raises(httpx.TransportError) as raised:
            _fund(http)
        assert isinstance(raised.value, error)
        assert _credits(app) == (1 if committed else 0)
        if committed:  # the retry with the same key replays: still one credit (its draw is a fault too)
            with pytest.raises(error):
                _fund(http)
            assert _credits(app) == 1
    assert app.state.faults.counts[kind] >= 1


def test_error_before_commit_is_a_500_and_moves_nothing(app_factory: list[Starlette]) -> None:
    app = _app("error_before_commit")
    app_factory.append(app)
    with _inprocess(app) as http:
        r = _fund(http)
        assert r.status_code == 500
        assert r.json()["error"]["code"] == "server_error" and r.json()["data"] is None
        assert _credits(app) == 0
        assert http.get(API + "/wallet/balance", headers=AUTH).json()["data"]["balance"] == 0


def test_rate_limit_is_a_429_with_retry_after_and_moves_nothing(app_factory: list[Starlette]) -> None:
    app = _app("rate_limit")
    app_factory.append(app)
    with _inprocess(app) as http:
        r = _fund(http)
        assert r.status_code == 429 and r.headers["retry-after"] == "1"
        assert r.json()["error"]["code"] == "rate_limited"
    assert _credits(app) == 0


def test_garble_is_a_200_with_unreadable_json_after_commit(app_factory: list[Starlette]) -> None:
    app = _app("garble")
    app_factory.append(app)
    with _inprocess(app) as http:
        r = _fund(http)
        assert r.status_code == 200
        with pytest.raises(ValueError):
            json.loads(r.content)
        assert _credits(app) == 1
        # An error answer is not turned into a 200: nothing was committed, and it says so.
        r = http.post(API + "/wallet/fund", json={"amount": 10, "payment_method_id": "pm_card_chargeDeclined"},
                      headers=AUTH)
        assert r.status_code == 402 and r.json()["error"]["code"] == "payment_declined"
    assert _credits(app) == 1


def test_reads_and_other_writes_are_never_faulted(app_factory: list[Starlette]) -> None:
    app = make_app(FakeClock(), faults={"error_before_commit": 1.0}, fault_seed=1)
    app_factory.append(app)
    with _inprocess(app) as http:
        assert http.get(API + "/wallet/balance", headers=AUTH).status_code == 200
        r = http.put(API + "/billing/info", json={"name": "Acme"}, headers=AUTH)
        assert r.status_code == 200
        # (Adding a card is not among them: it may make the card the default, a standing authorisation.)
        r = http.post(API + "/billing/setup-intent", headers=AUTH)
        assert r.status_code == 200
    assert sum(app.state.faults.counts.values()) == 0


# --- over loopback: real sockets


def _server(kind: str, **kw: object) -> SandboxServer:
    return SandboxServer(tokens=(TOKEN,), rate_limit=False, faults={kind: 1.0}, fault_seed=3, **kw)


def _loopback_credits(server: SandboxServer) -> int:
    return count(server.ledger, CREDITS)


def test_reset_over_loopback_is_a_real_reset_and_moves_nothing() -> None:
    with _server("reset") as server, httpx.Client(base_url=server.root_url, timeout=5) as http:
        with pytest.raises(httpx.TransportError) as raised:
            _fund(http)
        # ECONNRESET on the read, or, when the RST lands while httpx is still writing the body, httpx
        # swallows the write error and reports the closed connection instead.
        assert isinstance(raised.value, (httpx.ReadError, httpx.RemoteProtocolError))
        assert _loopback_credits(server) == 0
        assert http.get(API + "/wallet/balance", headers=AUTH).status_code == 200  # a new connection works
        server.check_invariants()


def test_drop_after_commit_over_loopback_closes_without_a_response() -> None:
    with _server("drop_after_commit") as server, httpx.Client(base_url=server.root_url, timeout=5) as http:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending"):
            _fund(http)
        assert _loopback_credits(server) == 1
        server.check_invariants()


def test_delay_over_loopback_times_the_client_out_after_commit() -> None:
    # The one real wait in this module: a real client timeout needs real time (0.2 s, held 2 s).
    with _server("delay", fault_delay_seconds=2.0) as server, \
            httpx.Client(base_url=server.root_url, timeout=0.2) as http:
        with pytest.raises(httpx.ReadTimeout):
            _fund(http)
        assert _loopback_credits(server) == 1
        server.check_invariants()


def test_garble_and_error_over_loopback() -> None:
    with _server("garble") as server, httpx.Client(base_url=server.root_url, timeout=5) as http:
        r = _fund(http)
        assert r.status_code == 200
        with pytest.raises(ValueError):
            json.loads(r.content)
        assert _loopback_credits(server) == 1
    with _server("error_before_commit") as server, httpx.Client(base_url=server.root_url, timeout=5) as http:
        assert _fund(http).status_code == 500
        assert _loopback_credits(server) == 0
