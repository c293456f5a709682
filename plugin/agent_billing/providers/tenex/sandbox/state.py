"""The 10ex sandbox's state: workspaces (one per ``tnx_`` key), their plan, agents, credit ledger and invoices.

Every workspace is seeded the same way, so tests and demos start from a known place: the Team plan
(100,000 credits included; soft cap 80,000; hard cap 100,000), three agents, 78,500 credits used this
period (1,500 short of the soft cap) as a grant and 120 run debits in the ledger, and six paid monthly
invoices. Credits are ``Decimal``; nothing here ever moves money (10ex's API is read-only): the
``sandbox_*`` methods stand for what happens elsewhere (agent runs, an admin in the portal, a renewal).

Example:
    >>> state = TenexState(clock=lambda: 1_815_000_000.0)
    >>> ws = state.workspace("tnx_sandbox")
    >>> state.usage(ws)["credits_used"], len(ws.ledger), len(ws.invoices)
    ('78500', 121, 6)
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from agent_billing.sandbox.units import Clock, iso, new_id
from agent_billing.webhooks import WebhookSender

PERIOD_SECONDS = 30 * 86_400
SEED_DEBITS = 120
SEED_USED = Decimal(78_500)


@dataclass(frozen=True)
class PlanSpec:
    """A 10ex plan of the sandbox catalogue.

    Example:
        >>> PLANS["Team"].soft_cap
        Decimal('80000')
    """

    id: str
    name: str
    included_credits: Decimal
    soft_cap: Decimal
    hard_cap: Decimal
    price: str

    def view(self) -> dict[str, Any]:
        """The plan as ``GET /plans/current`` answers."""
        return {"id": self.id, "name": self.name, "included_credits": _c(self.included_credits),
                "soft_cap": _c(self.soft_cap), "hard_cap": _c(self.hard_cap), "price": self.price, "currency": "usd",
                "interval": "month"}


PLANS: dict[str, PlanSpec] = {
    "Starter": PlanSpec("plan_starter", "Starter", Decimal(20_000), Decimal(16_000), Decimal(20_000), "99.00"),
    "Team": PlanSpec("plan_team", "Team", Decimal(100_000), Decimal(80_000), Decimal(100_000), "499.00"),
    "Business": PlanSpec("plan_business", "Business", Decimal(500_000), Decimal(400_000), Decimal(500_000), "1999.00"),
}
AGENTS = (("agt_research", "Research agent"), ("agt_support", "Support agent"), ("agt_codegen", "Codegen agent"))


def _c(value: Decimal) -> str:
    # Credits travel as decimal strings, like amounts: exact, and whole numbers without a trailing ".0".
    return format(value, "f")


class TenexError(Exception):
    """A refusal as 10ex sends it: ``{"detail": "...", "code": "..."}``, or 422 ``{"detail": [{loc, msg, type}]}``.

    Example:
        >>> TenexError(404, "not_found", "No such invoice.").body()
        {'detail': 'No such invoice.', 'code': 'not_found'}
        >>> invalid(("query", "limit"), "Input should be less than or equal to 200", "less_than_equal").status
        422
    """

    def __init__(self, status: int, code: str | None, detail: str | list[dict[str, Any]]) -> None:
        super().__init__(detail if isinstance(detail, str) else "validation error")
        self.status, self.code, self.detail = status, code, detail

    def body(self) -> dict[str, Any]:
        """The JSON body of the response (a 422 carries only ``detail``, as FastAPI sends it)."""
        return {"detail": self.detail} if isinstance(self.detail, list) else {"detail": self.detail, "code": self.code}


def invalid(loc: Sequence[str], msg: str, kind: str) -> TenexError:
    """A 422 about one input, in FastAPI's shape.

    Example:
        >>> invalid(("body", "credits"), "Field required", "missing").body()
        {'detail': [{'loc': ['body', 'credits'], 'msg': 'Field required', 'type': 'missing'}]}
    """
    return TenexError(422, None, [{"loc": list(loc), "msg": msg, "type": kind}])


@dataclass
class Workspace:
    """One sandbox workspace (company): its subscription, agents, ledger (oldest first) and invoices.

    Example:
        >>> ws = TenexState(clock=lambda: 0.0).workspace("tnx_a")
        >>> ws.plan.name, ws.status, ws.company_id.startswith("cmp_")
        ('Team', 'active', True)
    """

    company_id: str
    subscription_id: str
    plan: PlanSpec
    status: str
    period_start: float
    agents: dict[str, str]
    ledger: list[dict[str, Any]] = field(default_factory=list)
    invoices: list[dict[str, Any]] = field(default_factory=list)
    cancel_at_period_end: bool = False
    portal_sessions: dict[str, float] = field(default_factory=dict)

    @property
    def period_end(self) -> float:
        """When the current period ends (and the subscription renews)."""
        return self.period_start + PERIOD_SECONDS

    def used(self, agent_id: str | None = None) -> Decimal:
        """Credits debited in the current period (by one agent, or the whole workspace)."""
        return sum((-e["_credits"] for e in self.ledger if e["kind"] == "debit" and e["_at"] >= self.period_start
                    and (agent_id is None or e["agent_id"] == agent_id)), Decimal(0))


def encode_cursor(offset: int) -> str:
    """An opaque cursor for the item at ``offset`` of a newest-first list.

    Example:
        >>> decode_cursor(encode_cursor(50))
        50
    """
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The offset in a cursor this sandbox issued (422 for anything else).

    Example:
        >>> decode_cursor("bogus")
        Traceback (most recent call last):
        agent_billing.providers.tenex.sandbox.state.TenexError: validation error
    """
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, number = text.partition(":")
        if kind != "o" or not number.isdigit() or len(number) > 9:
            raise ValueError(cursor)
        return int(number)
    except ValueError:
        raise invalid(("query", "cursor"), "Invalid cursor: pass next_cursor from the previous page", "value_error") from None


def page(items: Sequence[dict[str, Any]], limit: int, cursor: str | None) -> dict[str, Any]:
    """One cursor page of newest-first ``items``: ``{items, next_cursor, total}``.

    Example:
        >>> first = page([{"n": i} for i in range(5)], 2, None)
        >>> [i["n"] for i in first["items"]], page([{"n": i} for i in range(5)], 2, first["next_cursor"])["items"]
        ([0, 1], [{'n': 2}, {'n': 3}])
    """
    start = decode_cursor(cursor) if cursor else 0
    chunk = list(items[start:start + limit])
    more = start + limit < len(items)
    return {"items": chunk, "next_cursor": encode_cursor(start + limit) if more else None, "total": len(items)}


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if not k.startswith("_")}


class TenexState:
    """All workspaces of one 10ex sandbox, behind one lock; ``webhooks`` delivers its signed events.

    ``clock`` returns Unix seconds. Any ``tnx_`` key is a workspace, seeded on first use.

    Example:
        >>> state = TenexState(clock=lambda: 1_815_000_000.0)
        >>> state.subscription(state.workspace("tnx_sandbox"))["plan"]
        'Team'
    """

    def __init__(self, *, clock: Clock, webhook_sleep: Callable[[float], Any] | None = None) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self._workspaces: dict[str, Workspace] = {}
        self.webhooks = WebhookSender("10ex", clock=clock, sleep=webhook_sleep or time.sleep)

    # --- workspaces and the seed

    def workspaces(self) -> list[Workspace]:
        """Every workspace created so far."""
        with self.lock:
            return list(self._workspaces.values())

    def workspace(self, key: str) -> Workspace:
        """The workspace of a ``tnx_`` key (created and seeded on first use; keys are kept only as digests)."""
        digest = hashlib.sha256(key.encode()).hexdigest()
        with self.lock:
            if digest not in self._workspaces:
                self._workspaces[digest] = self._seed("cmp_" + digest[:16])
            return self._workspaces[digest]

    def _seed(self, company_id: str) -> Workspace:
        now = self.clock()
        start = now - 20 * 86_400
        ws = Workspace(company_id=company_id, subscription_id=new_id("sub_", 14), plan=PLANS["Team"], status="active",
                       period_start=start, agents=dict(AGENTS))
        for month in range(6, 0, -1):
            begin = start - month * PERIOD_SECONDS
            ws.invoices.append(self._invoice(ws, begin, at=begin + PERIOD_SECONDS))
        self._grant(ws, at=start)
        amounts = [Decimal(600 + (i * 37) % 100) for i in range(SEED_DEBITS - 1)]
        amounts.append(SEED_USED - sum(amounts, Decimal(0)))
        step = (now - start) / (SEED_DEBITS + 1)
        for i, credits in enumerate(amounts):
            agent_id = AGENTS[i % len(AGENTS)][0]
            self._debit(ws, agent_id, credits, at=start + (i + 1) * step, description="agent run")
        return ws

    def _invoice(self, ws: Workspace, begin: float, *, at: float) -> dict[str, Any]:
        number = f"10EX-{len(ws.invoices) + 1:04d}"
        return {"id": new_id("in_", 14), "number": number, "status": "paid", "total": ws.plan.price, "currency": "usd",
                "created_at": iso(at), "period_start": iso(begin), "period_end": iso(begin + PERIOD_SECONDS),
                "plan": ws.plan.name, "hosted_invoice_url": None}

    def _balance(self, ws: Workspace) -> Decimal:
        return ws.ledger[-1]["_balance"] if ws.ledger else Decimal(0)

    def _grant(self, ws: Workspace, *, at: float) -> None:
        credits = ws.plan.included_credits
        balance = credits  # a period's grant replaces what was left: included credits do not roll over
        ws.ledger.append({"id": new_id("cle_", 14), "kind": "grant", "credits": _c(credits), "agent_id": None,
                          "run_id": None, "description": f"{ws.plan.name} plan: included credits for the period",
                          "balance_after": _c(balance), "occurred_at": iso(at), "_credits": credits,
                          "_balance": balance, "_at": at})

    def _debit(self, ws: Workspace, agent_id: str, credits: Decimal, *, at: float, description: str,
               run_id: str | None = None) -> dict[str, Any]:
        balance = self._balance(ws) - credits
        entry = {"id": new_id("cle_", 14), "kind": "debit", "credits": _c(-credits), "agent_id": agent_id,
                 "run_id": run_id or new_id("run_", 14), "description": description, "balance_after": _c(balance),
                 "occurred_at": iso(at), "_credits": -credits, "_balance": balance, "_at": at}
        ws.ledger.append(entry)
        return entry

    # --- the reads of the API

    def subscription(self, ws: Workspace) -> dict[str, Any]:
        """``GET /subscriptions/current``."""
        return {"id": ws.subscription_id, "plan": ws.plan.name, "plan_id": ws.plan.id, "status": ws.status,
                "renews_at": None if ws.cancel_at_period_end or ws.status == "canceled" else iso(ws.period_end),
                "current_period_start": iso(ws.period_start), "current_period_end": iso(ws.period_end),
                "cancel_at_period_end": ws.cancel_at_period_end}

    def plan(self, ws: Workspace) -> dict[str, Any]:
        """``GET /plans/current``."""
        return ws.plan.view()

    def agent_usage(self, ws: Workspace, agent_id: str) -> dict[str, Any]:
        """``GET /credits/usage/agents/{agent_id}`` (404 ``not_found`` for an agent the workspace lacks)."""
        if agent_id not in ws.agents:
            raise TenexError(404, "not_found", f"Agent {agent_id} not found in this workspace.")
        runs = sum(1 for e in ws.ledger if e["kind"] == "debit" and e["agent_id"] == agent_id
                   and e["_at"] >= ws.period_start)
        return {"agent_id": agent_id, "name": ws.agents[agent_id], "credits_used": _c(ws.used(agent_id)), "runs": runs,
                "period_start": iso(ws.period_start), "period_end": iso(ws.period_end)}

    def usage(self, ws: Workspace) -> dict[str, Any]:
        """``GET /credits/usage``: the workspace against the caps, and every agent's share."""
        used = ws.used()
        state = "blocked" if used >= ws.plan.hard_cap else "warning" if used >= ws.plan.soft_cap else "ok"
        return {"period_start": iso(ws.period_start), "period_end": iso(ws.period_end), "credits_used": _c(used),
                "included_credits": _c(ws.plan.included_credits), "soft_cap": _c(ws.plan.soft_cap),
                "hard_cap": _c(ws.plan.hard_cap), "state": state,
                "agents": [self.agent_usage(ws, agent_id) for agent_id in ws.agents]}

    def invoices(self, ws: Workspace, limit: int, cursor: str | None) -> dict[str, Any]:
        """``GET /invoices``: newest first."""
        return page(ws.invoices[::-1], limit, cursor)

    def invoice(self, ws: Workspace, invoice_id: str) -> dict[str, Any]:
        """``GET /invoices/{invoice_id}``."""
        for inv in ws.invoices:
            if inv["id"] == invoice_id:
                return inv
        raise TenexError(404, "not_found", f"Invoice {invoice_id} not found.")

    def ledger(self, ws: Workspace, limit: int, cursor: str | None, agent_id: str | None) -> dict[str, Any]:
        """``GET /credit-ledger``: newest first, optionally one agent's entries."""
        entries = [e for e in ws.ledger[::-1] if agent_id is None or e["agent_id"] == agent_id]
        result = page(entries, limit, cursor)
        result["items"] = [_public(e) for e in result["items"]]
        return result

    def portal_session(self, ws: Workspace, root: str) -> dict[str, Any]:
        """``POST /billing-portal/sessions``: a URL for a logged-in admin (valid for an hour); changes nothing else."""
        session_id = new_id("bps_", 20)
        ws.portal_sessions[session_id] = self.clock() + 3600
        return {"id": session_id, "url": f"{root}/portal/{session_id}", "expires_at": iso(self.clock() + 3600)}

    # --- what happens outside the API (sandbox-only), and the events it sends

    def emit(self, ws: Workspace, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """Send a signed event ``{id, type, company_id, occurred_at, data}`` to the registered URL (if any)."""
        event = {"id": new_id("evt_", 20), "type": kind, "company_id": ws.company_id, "occurred_at": iso(self.clock()),
                 "data": data}
        self.webhooks.emit(event)
        return event

    def post_usage(self, ws: Workspace, agent_id: str, credits: Decimal, description: str | None) -> dict[str, Any]:
        """Record an agent run's credits; refused (402 ``hard_cap_reached``) once usage is at the hard cap.

        Crossing the soft or the hard cap sends ``usage.soft_cap_reached`` / ``usage.hard_cap_reached``.
        """
        before = ws.used()
        if before >= ws.plan.hard_cap:
            raise TenexError(402, "hard_cap_reached", f"The workspace has used {_c(before)} credits, at or over the "
                             f"hard cap of {_c(ws.plan.hard_cap)}: new runs are refused until the next period or a "
                             "plan change in the billing portal.")
        ws.agents.setdefault(agent_id, agent_id)
        entry = self._debit(ws, agent_id, credits, at=self.clock(), description=description or "agent run")
        after = ws.used()
        for cap, kind in ((ws.plan.soft_cap, "usage.soft_cap_reached"), (ws.plan.hard_cap, "usage.hard_cap_reached")):
            if before < cap <= after:
                self.emit(ws, kind, {"credits_used": _c(after), "cap": _c(cap), "soft_cap": _c(ws.plan.soft_cap),
                                     "hard_cap": _c(ws.plan.hard_cap), "agent_id": agent_id})
        return {"entry": _public(entry), "usage": self.usage(ws)}

    def change_subscription(self, ws: Workspace, plan: str | None, status: str | None,
                            cancel_at_period_end: bool | None) -> dict[str, Any]:
        """What an admin does in the portal: change the plan, the status or cancel at period end; sends
        ``subscription.updated``."""
        if plan is not None:
            ws.plan = PLANS[plan]
        if status is not None:
            ws.status = status
        if cancel_at_period_end is not None:
            ws.cancel_at_period_end = cancel_at_period_end
        view = self.subscription(ws)
        self.emit(ws, "subscription.updated", view)
        return view

    def renew(self, ws: Workspace) -> dict[str, Any]:
        """End the period now: a paid invoice for it (``invoice.paid``), a new period and a new grant of credits."""
        now = self.clock()  # the sandbox renews now rather than waiting out the period
        invoice = self._invoice(ws, ws.period_start, at=now)
        invoice["period_end"] = iso(now)
        ws.invoices.append(invoice)
        ws.period_start = now
        self._grant(ws, at=ws.period_start)
        self.emit(ws, "invoice.paid", invoice)
        return {"invoice": invoice, "subscription": self.subscription(ws)}
