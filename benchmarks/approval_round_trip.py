"""An out-of-band approval's round trip against a callback approval of the same charge, measured in the same run.

Run: python benchmarks/approval_round_trip.py [--rounds 7] [--calls 30] [--stores sqlite,postgres]

Each variant makes the same guarded charge (fund $10 from a named card on the in-process sandbox, through
``BillingToolkit``'s ``wallet`` tool, no mandate, so a person is asked every time):

- **callback**: ``CallbackApprover`` answering yes at once (the floor: the toolkit's own guarded path);
- **oob-store**: ``OutOfBandApprover``: create the durable request, notify (a list append), the person's
  decision recorded through the store's compare-and-set (what the page does, without HTTP), read back and spent;
- **oob-page**: the same, the person deciding through the real approval page (GET the page, POST the form) over
  httpx's in-process ASGI transport.

The approver's sleep is where the person acts, so no time is spent waiting: what is measured is the overhead.
Calls are interleaved (one call of each variant in turn, in a rotating order, ``--calls`` times per round); each
round's ratio (and added milliseconds) is of that round's medians; the report gives the median over rounds and
the ratio's spread (min-max over rounds).
Stores: ``sqlite`` (one file in a temporary directory), ``postgres`` (``$AGENT_BILLING_TEST_POSTGRES_URL``, a
fresh schema dropped afterwards).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from agent_billing.approval_page import approval_app
from agent_billing.audit import MemoryAuditLog
from agent_billing.guardrails.approval_requests import Evidence
from agent_billing.guardrails.out_of_band import ApprovalLink, OutOfBandApprover, requests_in
from agent_billing.inprocess import SyncASGITransport, sandbox_clients
from agent_billing.sandbox import create_app
from agent_billing.tools import BillingToolkit

ARGS = {"action": "fund", "amount": 10, "payment_method_id": "pm_card_visa"}
BASE = "https://pay.example/approvals"


@contextmanager
def store_url(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as root:
            yield f"sqlite:///{root}/state.db"
        return
    import psycopg

    server = os.environ["AGENT_BILLING_TEST_POSTGRES_URL"]
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"'.encode())
    try:
        joiner = "&" if "?" in server else "?"
        yield f"{server}{joiner}options={quote(f'-csearch_path={schema}')}"
    finally:
        from agent_billing.guardrails.store import open_store

        opened = open_store(f"{server}{joiner}options={quote(f'-csearch_path={schema}')}")
        opened.close()  # type: ignore[attr-defined]
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE'.encode())


def variants(url: str) -> dict[str, Callable[[], Any]]:
    """One charge per call of each variant, all on one sandbox and one store."""
    client, _ = sandbox_clients(create_app(rate_limit=False, tokens=("sk_sandbox_bench",)), token="sk_sandbox_bench")
    client.add_payment_method("pm_card_visa")
    requests = requests_in(url)
    inbox: list[ApprovalLink] = []

    def by_store(seconds: float) -> None:
        requests.decide(inbox[-1].url.rsplit("/", 1)[1], approved=True, evidence=Evidence(method="benchmark"),
                        now=datetime.now(timezone.utc))

    web = Starlette(routes=[Mount("/approvals", app=approval_app(url))])
    phone = httpx.Client(transport=SyncASGITransport(web), base_url="https://pay.example")

    def by_page(seconds: float) -> None:
        page = phone.get(inbox[-1].url)
        found = re.search(r'name="form" value="([^"]+)"', page.text)
        assert found is not None
        phone.post(inbox[-1].url, data={"decision": "approve", "form": found.group(1)})

    def tool(approval: Any) -> Callable[[], Any]:
        wallet = BillingToolkit(client=client, approval=approval, store=url, audit=MemoryAuditLog()).get_tool("wallet")

        def charge() -> Any:
            answer = wallet.invoke({"type": "tool_call", "name": "wallet", "args": ARGS,
                                    "id": f"call_{uuid.uuid4().hex[:12]}"})
            assert '"ok":true' in str(answer.content), answer.content
            return answer

        return charge

    oob = {"notifier": inbox.append, "base_url": BASE, "wait": 60}
    return {"callback": tool(lambda request: True),
            "oob-store": tool(OutOfBandApprover(**oob, sleep=by_store)),
            "oob-page": tool(OutOfBandApprover(**oob, sleep=by_page))}


def measure(kind: str, rounds: int, calls: int) -> None:
    with store_url(kind) as url:
        runs = variants(url)
        for run in runs.values():  # warm up (imports, schema, first connections)
            run()
        names = list(runs)
        medians: dict[str, list[float]] = {name: [] for name in names}
        for index in range(rounds):
            times: dict[str, list[float]] = {name: [] for name in names}
            for call in range(calls):  # one call of each variant in turn, in a rotating order: drift hits all alike
                shift = (index + call) % len(names)
                for name in names[shift:] + names[:shift]:
                    start = time.perf_counter()
                    runs[name]()
                    times[name].append(time.perf_counter() - start)
            for name in names:
                medians[name].append(statistics.median(times[name]))
        base = medians["callback"]
        print(f"store={kind} rounds={rounds} calls={calls}")
        for name in names:
            ratios = [m / b for m, b in zip(medians[name], base, strict=True)]
            added = [(m - b) * 1000 for m, b in zip(medians[name], base, strict=True)]
            print(f"  {name:10s} median {statistics.median(medians[name]) * 1000:7.2f} ms   "
                  f"x{statistics.median(ratios):.2f} of callback (spread {min(ratios):.2f}-{max(ratios):.2f}), "
                  f"{statistics.median(added):+.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--stores", default="sqlite,postgres")
    options = parser.parse_args()
    for kind in options.stores.split(","):
        if kind == "postgres" and not os.environ.get("AGENT_BILLING_TEST_POSTGRES_URL"):
            print("store=postgres skipped: set AGENT_BILLING_TEST_POSTGRES_URL")
            continue
        measure(kind, options.rounds, options.calls)


if __name__ == "__main__":
    main()
