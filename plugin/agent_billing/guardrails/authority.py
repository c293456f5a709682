"""Spend authority that travels: mandates scoped to an agent and/or a task, kept and enforced in the guardrail store.

A :class:`SpendAuthority` is a deployer's standing "yes" for an agent (``agent``) or a task (``task``, a
LangGraph thread or a run), shaped after AP2's open payment mandate: an amount range per charge, a budget
over its lifetime and per rolling period, recurrence limits (how many charges, how long between two), the
operations, plans, payment instruments and payees it allows, and an expiry. It lives in the guardrail store
(SQLite or PostgreSQL), so every worker of every host enforces one budget: a charge is checked against every
authority that applies to it and reserved in ONE transaction that holds those authorities' rows, so two
workers can never both squeeze under the same limit.

Which authorities apply: those of the account that are not revoked, whose ``agent`` is unset or the
calling agent's, and whose ``task`` is unset or the calling task's. Every one of them must allow the
charge (limits add up: an agent's budget and its task's budget both hold). A toolkit with an ``agent``
refuses any money-moving call no authority covers. The agent id comes from the toolkit's configuration only
(whoever invokes a tool cannot switch budgets); the task is ``configurable["task_id"]``, else
``configurable["thread_id"]`` of the LangChain ``RunnableConfig`` the tool runs under (see ``current_task``).

A task's authority ends with its task: :meth:`AuthorityStore.end_task` revokes every authority of a task, and
:meth:`AuthorityStore.for_task` does so when its block ends.

Example:
    >>> from datetime import datetime, timezone
    >>> from decimal import Decimal
    >>> from agent_billing.registry import Effect
    >>> store = AuthorityStore.sqlite(None, account="acct")  # a private in-memory database
    >>> a = store.create(SpendAuthority(agent="ops-bot", budget="30", max_amount="20"))
    >>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> call = SpendCall(operation="top_up", effect=Effect.CHARGE, amount=Decimal("20"), agent="ops-bot")
    >>> store.claim(call, "k1", now=now).granted, store.claim(call, "k2", now=now).granted
    (True, False)
    >>> store.inspect(a.id, now=now).spent
    Decimal('20.00')
"""

from __future__ import annotations

import builtins
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent_billing.guardrails.intent import CardRef
from agent_billing.guardrails.mandate import Cap, CurrencyCode, PlanIds, UtcExpiry, format_money
from agent_billing.guardrails.spend_store import (
    BUCKETS,
    SWEEP_BATCH,
    SWEEP_GRACE,
    WindowPlan,
    _created,
    _from_cents,
    _to_cents,
    _to_micros,
    total_params,
    total_sql,
)
from agent_billing.guardrails.sqlite_state import connect, translated
from agent_billing.registry import Effect

Approval = Literal["auto", "ask"]
_NAME = r"^[\w.:@/-]+$"


class Instrument(BaseModel):
    """A payment instrument an authority allows: by payment method id, or by brand and last four.

    Example:
        >>> Instrument(brand="Visa", last4="4242").matches(CardRef(id="pm_9", brand="visa", last4="4242"))
        True
        >>> Instrument(id="pm_1").matches(CardRef(id="pm_2")), Instrument(id="pm_1").text
        (False, 'payment method pm_1')
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str | None = Field(None, min_length=1, max_length=200)
    brand: str | None = Field(None, min_length=1, max_length=40)
    last4: str | None = Field(None, pattern=r"^\d{4}$")

    @model_validator(mode="after")
    def _named(self) -> Instrument:
        if self.id is None and (self.brand is None or self.last4 is None):
            raise ValueError("an instrument is a payment method id, or a brand and last four")
        return self

    def matches(self, card: CardRef | None) -> bool:
        """Whether ``card`` is this instrument (a card whose brand or last four is unknown never matches one
        named by brand and last four: fail closed)."""
        if card is None:
            return False
        if self.id is not None and card.id != self.id:
            return False
        if self.brand is not None and (card.brand or "").lower() != self.brand.lower():
            return False
        return self.last4 is None or card.last4 == self.last4

    @property
    def text(self) -> str:
        """As a person reads it (never more than brand and last four of a card)."""
        if self.last4 is not None:
            return CardRef(id=self.id or "", brand=self.brand, last4=self.last4).text
        return f"payment method {self.id}"


class SpendAuthority(BaseModel):
    """One spend authority (see the module docstring). ``None`` means no limit of that kind; an empty allow-list
    allows nothing. Amounts are in ``currency``. ``approval="auto"``: a charge inside it goes ahead without a
    person; ``"ask"``: a person still approves each one (the limits hold either way, even with their yes).

    Example:
        >>> a = SpendAuthority(name="travel", agent="bot-1", max_amount="50", budget="200",
        ...                    period_budget="100", period=timedelta(days=1), max_charges=10)
        >>> print(a.describe())  # doctest: +NORMALIZE_WHITESPACE
        Spend authority 'travel' for agent bot-1: up to $50.00 per charge; $200.00 in all; $100.00 per 1 day;
        at most 10 charges; no expiry; auto-approved inside these limits.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=lambda: "sa_" + secrets.token_hex(8), pattern=_NAME, max_length=100)
    name: str = Field("default", min_length=1, max_length=100, pattern=_NAME)
    agent: str | None = Field(None, min_length=1, max_length=200)
    task: str | None = Field(None, min_length=1, max_length=200)
    currency: CurrencyCode = "USD"
    min_amount: Cap = None
    max_amount: Cap = None
    budget: Cap = None
    period_budget: Cap = None
    period: timedelta | None = None
    max_charges: Annotated[int, Field(ge=1)] | None = None
    min_interval: timedelta | None = None
    allowed_operations: frozenset[Annotated[str, Field(min_length=1)]] | None = None
    allowed_plan_ids: PlanIds = None
    allowed_instruments: tuple[Instrument, ...] | None = None
    allowed_payees: frozenset[Annotated[str, Field(min_length=1)]] | None = None
    expires_at: UtcExpiry = None
    approval: Approval = "auto"

    @field_validator("period", "min_interval")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("must be a positive duration")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SpendAuthority:
        if (self.period_budget is None) != (self.period is None):
            raise ValueError("period_budget and period go together (a budget per rolling period)")
        if self.min_amount is not None and self.max_amount is not None and self.min_amount > self.max_amount:
            raise ValueError("min_amount is above max_amount")
        return self

    def applies_to(self, agent: str | None, task: str | None) -> bool:
        """Whether this authority covers calls of this agent in this task.

        Example:
            >>> a = SpendAuthority(agent="a", task="t")
            >>> a.applies_to("a", "t"), a.applies_to("a", "other"), a.applies_to("a", None)
            (True, False, False)
        """
        return (self.agent is None or self.agent == agent) and \
            (self.task is None or self.task == task)

    def _money(self, amount: Decimal) -> str:
        return format_money(amount, self.currency)

    def describe(self) -> str:
        """One line for people and the agent's prompt."""
        scope = [f"agent {self.agent}"] if self.agent else []
        scope += [f"task {self.task}"] if self.task else []
        parts: list[str] = []
        if self.allowed_operations is not None:
            parts.append("only " + ", ".join(sorted(self.allowed_operations)) if self.allowed_operations
                         else "no operation")
        low, high = self.min_amount, self.max_amount
        if low is not None or high is not None:
            parts.append(f"{self._money(low)} to {self._money(high)} per charge" if low is not None and high is not None
                         else f"at least {self._money(low)} per charge" if low is not None
                         else f"up to {self._money(high)} per charge" if high is not None else "")
        if self.budget is not None:
            parts.append(f"{self._money(self.budget)} in all")
        if self.period_budget is not None and self.period is not None:
            parts.append(f"{self._money(self.period_budget)} per {_span(self.period)}")
        if self.max_charges is not None:
            parts.append(f"at most {self.max_charges} charge{'s' if self.max_charges != 1 else ''}")
        if self.min_interval is not None:
            parts.append(f"at least {_span(self.min_interval)} apart")
        if self.allowed_plan_ids is not None:
            parts.append("plans " + ", ".join(sorted(map(str, self.allowed_plan_ids))) if self.allowed_plan_ids
                         else "no plan")
        if self.allowed_instruments is not None:
            parts.append("paid with " + ", ".join(i.text for i in self.allowed_instruments)
                         if self.allowed_instruments else "no payment instrument")
        if self.allowed_payees is not None:
            parts.append("to " + ", ".join(sorted(self.allowed_payees)) if self.allowed_payees else "to no payee")
        parts.append(f"until {self.expires_at:%Y-%m-%d %H:%M} UTC" if self.expires_at else "no expiry")
        parts.append("auto-approved inside these limits" if self.approval == "auto"
                     else "a person approves each charge inside these limits")
        who = f" for {' in '.join(scope)}" if scope else ""
        return f"Spend authority {self.name!r}{who}: " + "; ".join(parts) + "."

    def evaluate(self, call: SpendCall, usage: Usage, now: datetime) -> list[str]:
        """Why ``call`` is outside this authority given its ``usage`` (empty: inside). Pure; every reason listed.

        Example:
            >>> a = SpendAuthority(name="x", max_charges=1, allowed_instruments=[Instrument(brand="visa", last4="4242")])
            >>> call = SpendCall(operation="top_up", effect=Effect.CHARGE, amount=Decimal("5"),
            ...                  instrument=CardRef(id="pm_2", brand="mastercard", last4="4444"))
            >>> for reason in a.evaluate(call, Usage(charges=1), datetime(2026, 1, 1, tzinfo=timezone.utc)):
            ...     print(reason)
            Spend authority 'x' does not allow paying with Mastercard ending 4444 (allowed: Visa ending 4242).
            Spend authority 'x' allows at most 1 charge, and 1 has been made.
        """
        me = f"spend authority {self.name!r}"
        reasons: list[str] = []
        if usage.revoked_at is not None:
            reasons.append(f"{me} was revoked at {usage.revoked_at:%Y-%m-%d %H:%M:%S} UTC.")
        if self.expires_at is not None and now >= self.expires_at:
            reasons.append(f"{me} expired at {self.expires_at:%Y-%m-%d %H:%M:%S} UTC.")
        if self.allowed_operations is not None and call.operation not in self.allowed_operations:
            reasons.append(f"{me} does not allow {call.operation}.")
        if call.plan is not None and self.allowed_plan_ids is not None and call.plan not in self.allowed_plan_ids:
            reasons.append(f"{me} does not allow plan {call.plan}.")
        if self.allowed_instruments is not None and call.effect is not Effect.PAYOUT and \
                not any(i.matches(call.instrument) for i in self.allowed_instruments):
            paid = call.instrument.text if call.instrument is not None else "an unnamed payment method"
            allowed = ", ".join(i.text for i in self.allowed_instruments) or "none"
            reasons.append(f"{me} does not allow paying with {paid} (allowed: {allowed}).")
        if self.allowed_payees is not None and call.payee not in self.allowed_payees:
            reasons.append(f"{me} does not allow paying {call.payee or 'an unnamed payee'}.")
        if self.max_charges is not None and usage.charges >= self.max_charges:
            reasons.append(f"{me} allows at most {self.max_charges} charge{'s' if self.max_charges != 1 else ''}, "
                           f"and {usage.charges} {'has' if usage.charges == 1 else 'have'} been made.")
        if self.min_interval is not None and usage.last_charge_at is not None and \
                now < usage.last_charge_at + self.min_interval:
            reasons.append(f"{me} allows one charge every {_span(self.min_interval)}; the last was at "
                           f"{usage.last_charge_at:%Y-%m-%d %H:%M:%S} UTC.")
        reasons += self._money_reasons(call, usage)
        return [reason[0].upper() + reason[1:] for reason in reasons]

    def _money_reasons(self, call: SpendCall, usage: Usage) -> list[str]:
        me = f"spend authority {self.name!r}"
        limited = (self.min_amount, self.max_amount, self.budget, self.period_budget)
        if all(limit is None for limit in limited):
            return []
        if call.currency.upper() != self.currency:
            return [f"{call.operation} is in {call.currency.upper()} but the limits of {me} are in {self.currency}."]
        if call.amount is None:
            return [f"The amount {call.operation} will charge is not known, so the limits of {me} cannot be checked."]
        amount, reasons = call.amount, []
        if self.min_amount is not None and amount < self.min_amount:
            reasons.append(f"{self._money(amount)} is below the minimum of {self._money(self.min_amount)} per charge of {me}.")
        if self.max_amount is not None and amount > self.max_amount:
            reasons.append(f"{self._money(amount)} is above the limit of {self._money(self.max_amount)} per charge of {me}.")
        if self.budget is not None and usage.spent + amount > self.budget:
            reasons.append(f"{self._money(amount)} on top of {self._money(usage.spent)} already spent is above the budget of "
                           f"{self._money(self.budget)} of {me}.")
        if self.period_budget is not None and self.period is not None and \
                usage.spent_in_period + amount > self.period_budget:
            reasons.append(f"{self._money(amount)} on top of {self._money(usage.spent_in_period)} spent in the last "
                           f"{_span(self.period)} is above the limit of {self._money(self.period_budget)} per "
                           f"{_span(self.period)} of {me}.")
        return reasons


@dataclass(frozen=True)
class SpendCall:
    """The facts of one proposed money-moving call that an authority judges.

    Example:
        >>> SpendCall(operation="top_up", effect=Effect.CHARGE, amount=Decimal("5")).currency
        'USD'
    """

    operation: str
    effect: Effect
    amount: Decimal | None
    currency: str = "USD"
    plan: int | str | None = None
    instrument: CardRef | None = None
    payee: str | None = None
    agent: str | None = None
    task: str | None = None


@dataclass(frozen=True)
class Usage:
    """What an authority has used: its lifetime spend and charges (reserved or confirmed), the last charge's
    time, the spend in its rolling period, and when it was revoked (None: it stands).

    Example:
        >>> Usage().spent
        Decimal('0.00')
    """

    spent: Decimal = Decimal("0.00")
    charges: int = 0
    last_charge_at: datetime | None = None
    spent_in_period: Decimal = Decimal("0.00")
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class AuthorityStatus:
    """An authority with its usage (what ``show`` and ``check_spend`` report).

    Example:
        >>> AuthorityStatus(SpendAuthority(budget="10"), Usage()).remaining
        Decimal('10.00')
    """

    authority: SpendAuthority
    usage: Usage

    @property
    def spent(self) -> Decimal:
        """Lifetime spend (reserved or confirmed)."""
        return self.usage.spent

    @property
    def remaining(self) -> Decimal | None:
        """What is left of the lifetime budget (None: no budget)."""
        budget = self.authority.budget
        return None if budget is None else max(budget - self.usage.spent, Decimal(0))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the authority's fields and its usage."""
        usage = self.usage
        return {**self.authority.model_dump(mode="json", exclude_none=True),
                "spent": str(usage.spent), "charges": usage.charges,
                "spent_in_period": str(usage.spent_in_period) if self.authority.period else None,
                "remaining": str(self.remaining) if self.remaining is not None else None,
                "last_charge_at": usage.last_charge_at.isoformat() if usage.last_charge_at else None,
                "revoked_at": usage.revoked_at.isoformat() if usage.revoked_at else None,
                "description": self.authority.describe()}


@dataclass(frozen=True)
class Claim:
    """The answer to :meth:`AuthorityStore.claim`: granted (the amount now counts against every authority in
    ``authorities``), or refused with ``reasons``. ``existing``: this key had been claimed already (a re-run).

    Example:
        >>> Claim(True, ("sa_1",)).granted
        True
    """

    granted: bool
    authorities: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    existing: bool = False


@dataclass(frozen=True)
class Judgement:
    """What the applicable authorities say about a call, without reserving (``check``): ``covered`` False when
    none applies; ``reasons`` why it is outside (empty: inside); ``auto`` whether all say yes without a person.

    Example:
        >>> Judgement(covered=False).inside
        False
    """

    covered: bool
    reasons: tuple[str, ...] = ()
    auto: bool = False
    statuses: tuple[AuthorityStatus, ...] = field(default=())

    @property
    def inside(self) -> bool:
        """Covered and inside every applicable authority."""
        return self.covered and not self.reasons


class AuthorityNotFoundError(KeyError):
    """No authority with this id in this account.

    Example:
        >>> str(AuthorityNotFoundError("sa_1"))
        "'no spend authority sa_1 in this account'"
    """

    def __init__(self, authority_id: str) -> None:
        super().__init__(f"no spend authority {authority_id} in this account")


# --- storage: one schema and one set of statements for SQLite and PostgreSQL

# Additive (schema v4 in PostgreSQL; created if missing in SQLite). BIGINT is INTEGER to SQLite.
AUTHORITY_SCHEMA = """
CREATE TABLE IF NOT EXISTS ab_authorities (
    account TEXT NOT NULL,
    id TEXT NOT NULL,
    agent TEXT,
    task TEXT,
    body TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    revoked_us BIGINT,
    spent_cents BIGINT NOT NULL DEFAULT 0 CHECK (spent_cents >= 0),
    charges BIGINT NOT NULL DEFAULT 0 CHECK (charges >= 0),
    PRIMARY KEY (account, id)
);
CREATE INDEX IF NOT EXISTS ab_authorities_by_task ON ab_authorities (account, task);
CREATE TABLE IF NOT EXISTS ab_authority_charges (
    account TEXT NOT NULL,
    key TEXT NOT NULL,
    authority_id TEXT NOT NULL,
    amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0),
    status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'released')),
    created_us BIGINT NOT NULL,
    PRIMARY KEY (account, key, authority_id)
);
CREATE INDEX IF NOT EXISTS ab_authority_charges_by_time ON ab_authority_charges (account, authority_id, created_us);
"""

# A rolling period's total from running totals, as the mandate's 24 h window (see ``spend_store``): day, hour,
# minute and second buckets per authority, kept by triggers on ab_authority_charges in the transaction that
# writes the charge (whoever writes it), only for authorities with a period. A total reads at most the period's
# whole days plus 23 + 59 + 59 bucket rows and one second's charges, however many charges the period holds.
PERIOD_BUCKETS: tuple[int, ...] = (86_400_000_000, *BUCKETS)

# Additive (schema v6 in PostgreSQL; created with its triggers when missing in SQLite). ``end_us``: when the
# bucket ends; it is swept once it is older than its authority's period (plus SWEEP_GRACE).
PERIOD_BUCKETS_SCHEMA = """
CREATE TABLE ab_authority_buckets (
    account TEXT NOT NULL,
    authority_id TEXT NOT NULL,
    level SMALLINT NOT NULL,
    bucket BIGINT NOT NULL,
    cents BIGINT NOT NULL,
    end_us BIGINT NOT NULL,
    PRIMARY KEY (account, authority_id, level, bucket)
);
CREATE INDEX ab_authority_buckets_by_end ON ab_authority_buckets (account, authority_id, end_us)
"""

_LEVELS = "(" + " UNION ALL ".join(f"SELECT {level} AS level, {width} AS width"
                                   for level, width in enumerate(PERIOD_BUCKETS)) + ") AS l"
# SQL: the charge row moved to another amount or time (a released key claimed again).
CHANGED = "NEW.amount_cents <> OLD.amount_cents OR NEW.created_us <> OLD.created_us"
# SQL: an authority ``a`` has a rolling period (each backend reads its JSON body its own way).
SQLITE_HAS_PERIOD = "json_extract(a.body, '$.period') IS NOT NULL"


def bucket_add(has_period: str) -> str:
    """SQL adding the charge ``NEW`` to its authority's buckets, if that authority has a period."""
    return ("INSERT INTO ab_authority_buckets (account, authority_id, level, bucket, cents, end_us) SELECT "
            "NEW.account, NEW.authority_id, l.level, NEW.created_us / l.width, NEW.amount_cents, "
            f"(NEW.created_us / l.width + 1) * l.width FROM ab_authorities a, {_LEVELS} WHERE a.account = "
            f"NEW.account AND a.id = NEW.authority_id AND {has_period} ON CONFLICT (account, authority_id, level, "
            "bucket) DO UPDATE SET cents = ab_authority_buckets.cents + excluded.cents")


# SQL taking the charge ``OLD`` out of its authority's buckets (those already swept are in no period any more).
BUCKET_SUBTRACT = ("UPDATE ab_authority_buckets SET cents = cents - OLD.amount_cents WHERE account = OLD.account "
                   "AND authority_id = OLD.authority_id AND (level, bucket) IN (SELECT l.level, OLD.created_us / "
                   f"l.width FROM {_LEVELS})")


def bucket_backfill(has_period: str) -> str:
    """SQL filling the buckets from the charges already there (the migration)."""
    return ("INSERT INTO ab_authority_buckets (account, authority_id, level, bucket, cents, end_us) SELECT c.account, "
            "c.authority_id, l.level, c.created_us / l.width, SUM(c.amount_cents), (c.created_us / l.width + 1) * "
            f"l.width FROM ab_authority_charges c JOIN ab_authorities a ON a.account = c.account AND a.id = "
            f"c.authority_id, {_LEVELS} WHERE c.status <> 'released' AND {has_period} GROUP BY c.account, "
            "c.authority_id, l.level, l.width, c.created_us / l.width")


def sqlite_buckets() -> list[str]:
    """The buckets table, its triggers and the backfill, for SQLite: separate statements, run in one transaction
    (``executescript`` would commit in between)."""
    add = bucket_add(SQLITE_HAS_PERIOD)
    return [
        *PERIOD_BUCKETS_SCHEMA.split(";"),
        f"CREATE TRIGGER ab_authority_counted AFTER INSERT ON ab_authority_charges WHEN NEW.status <> 'released' "
        f"BEGIN {add}; END",
        "CREATE TRIGGER ab_authority_uncounted AFTER UPDATE ON ab_authority_charges WHEN OLD.status <> 'released' AND "
        f"(NEW.status = 'released' OR {CHANGED}) BEGIN {BUCKET_SUBTRACT}; END",
        "CREATE TRIGGER ab_authority_recounted AFTER UPDATE ON ab_authority_charges WHEN NEW.status <> 'released' AND "
        f"(OLD.status = 'released' OR {CHANGED}) BEGIN {add}; END",
        bucket_backfill(SQLITE_HAS_PERIOD),
    ]


def add_period_buckets(conn: sqlite3.Connection) -> None:
    """Give an authority file made before the buckets its bucket tables and triggers, filled from its charges.

    Called inside a write transaction, so two processes opening an older file add them once.

    Example:
        >>> conn = sqlite3.connect(":memory:")
        >>> conn.executescript(AUTHORITY_SCHEMA) and None
        >>> add_period_buckets(conn); add_period_buckets(conn)  # the second finds them there
        >>> conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'ab_authority_buckets'").fetchone()
        (1,)
    """
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'ab_authority_buckets'").fetchone() is None:
        for statement in sqlite_buckets():
            conn.execute(statement)


_SCOPE = "account = ? AND authority_id = ?"
# The newest charge not released: down the time index from its end (a MAX with the status filter would read them all).
_LAST = (f"SELECT (SELECT created_us FROM ab_authority_charges WHERE {_SCOPE} AND status <> 'released' "
         "ORDER BY created_us DESC LIMIT 1)")
_LAST_AND_PERIOD = (f"{_LAST}, ({total_sql('ab_authority_buckets', 'ab_authority_charges', _SCOPE, '?', len(PERIOD_BUCKETS))})")
# At most SWEEP_BATCH of one authority's buckets that no period reaches any more, through the end_us index.
_SWEEP = (f"DELETE FROM ab_authority_buckets WHERE {_SCOPE} AND (level, bucket) IN (SELECT level, bucket FROM "
          f"ab_authority_buckets WHERE {_SCOPE} AND end_us <= ? ORDER BY end_us LIMIT ?)")

Run = Callable[[str, Sequence[object]], list[tuple[Any, ...]]]


class Backend(Protocol):
    """Where an :class:`AuthorityStore` keeps its rows: a transaction yielding a statement runner (statements use
    ``?`` placeholders; the backend translates), and the clause that locks the rows a select reads.

    Example:
        >>> SqliteBackend(None).lock
        ''
    """

    name: str
    lock: str

    def transaction(self) -> Any:
        """A context manager: one transaction, yielding a :data:`Run`; committed when the block ends."""
        ...


class SqliteBackend:
    """Authority rows in a SQLite file (``None``: a private in-memory database). ``BEGIN IMMEDIATE`` takes the
    write lock before reading, so the check and the reservation cannot interleave with another writer's.

    Example:
        >>> SqliteBackend(None).name
        'memory'
    """

    lock = ""

    def __init__(self, path: str | Path | None, *, timeout: float | None = None, schema: str = AUTHORITY_SCHEMA,
                 upgrade: Callable[[sqlite3.Connection], None] | None = add_period_buckets) -> None:
        self.name = str(path) if path is not None else "memory"
        self._path, self._timeout = path, timeout
        # The tables this backend keeps (other stores reuse the backend for theirs), and what an older file of
        # them needs at open (run under the write lock; None: nothing).
        self._schema, self._upgrade = schema, upgrade
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        with self._lock, translated(self.name):
            self._connection()  # now, so a bad path fails here rather than at the first charge

    def _connection(self) -> sqlite3.Connection:
        # With the lock held. A connection inherited through fork() is not the child's to use (a memory one is).
        if self._conn is not None and (self._pid == os.getpid() or self._path is None):
            return self._conn
        conn = connect(self._path, timeout=self._timeout)
        try:
            conn.executescript(self._schema)
            if self._upgrade is not None:
                conn.execute("BEGIN IMMEDIATE")
                self._upgrade(conn)
                conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()
            raise
        self._conn, self._pid = conn, os.getpid()
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Run]:
        """One ``BEGIN IMMEDIATE`` transaction (any ``sqlite3`` failure: ``StoreUnavailableError``)."""
        with self._lock, translated(self.name):
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield lambda sql, params: conn.execute(sql, tuple(params)).fetchall()
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close the database (a later use reopens a file)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._conn = None


_COLUMNS = "id, body, revoked_us, spent_cents, charges"


class AuthorityStore:
    """The spend authorities of one account, in a backend: create, list, inspect, revoke, and claim (check and
    reserve in one transaction), confirm and release, like the spend store's reservations.

    Example:
        >>> store = AuthorityStore.sqlite(None, account="acct")
        >>> a = store.create(SpendAuthority(task="thread-7", budget="5"))
        >>> [s.authority.task for s in store.list()], store.end_task("thread-7")
        (['thread-7'], 1)
    """

    def __init__(self, backend: Backend, account: str) -> None:
        self.backend, self.account = backend, account

    @classmethod
    def sqlite(cls, path: str | Path | None, *, account: str, timeout: float | None = None) -> AuthorityStore:
        """Authorities in a SQLite file (None: in memory, for tests and one-process agents)."""
        return cls(SqliteBackend(path, timeout=timeout), account)

    @property
    def name(self) -> str:
        """The store's name (for messages)."""
        return self.backend.name

    # --- the library API a host uses

    def create(self, authority: SpendAuthority, *, now: datetime | None = None) -> SpendAuthority:
        """Keep ``authority`` (its id must be new in this account); returns it."""
        created = _to_micros(now or datetime.now(timezone.utc))
        with self.backend.transaction() as run:
            if run("SELECT 1 FROM ab_authorities WHERE account = ? AND id = ?", (self.account, authority.id)):
                raise ValueError(f"a spend authority with id {authority.id} exists already; revoke it or pick another id")
            run("INSERT INTO ab_authorities (account, id, agent, task, body, created_us) VALUES (?, ?, ?, ?, ?, ?)",
                (self.account, authority.id, authority.agent, authority.task,
                 authority.model_dump_json(exclude_none=True), created))
        return authority

    def list(self, *, include_revoked: bool = False, now: datetime | None = None) -> list[AuthorityStatus]:
        """Every authority of the account with its usage, oldest first (revoked ones only when asked)."""
        when = now or datetime.now(timezone.utc)
        with self.backend.transaction() as run:
            rows = run(f"SELECT {_COLUMNS} FROM ab_authorities WHERE account = ? ORDER BY created_us, id",
                       (self.account,))
            statuses = [self._status(run, row, when) for row in rows]
        return [s for s in statuses if include_revoked or s.usage.revoked_at is None]

    def inspect(self, authority_id: str, *, now: datetime | None = None) -> AuthorityStatus:
        """One authority and its spend (``AuthorityNotFoundError`` if unknown)."""
        with self.backend.transaction() as run:
            rows = run(f"SELECT {_COLUMNS} FROM ab_authorities WHERE account = ? AND id = ?", (self.account, authority_id))
            if not rows:
                raise AuthorityNotFoundError(authority_id)
            return self._status(run, rows[0], now or datetime.now(timezone.utc))

    def revoke(self, authority_id: str, *, now: datetime | None = None) -> bool:
        """Revoke one authority (from now on it allows nothing); False if it was revoked already."""
        with self.backend.transaction() as run:
            if not run("SELECT 1 FROM ab_authorities WHERE account = ? AND id = ?", (self.account, authority_id)):
                raise AuthorityNotFoundError(authority_id)
            done = run("UPDATE ab_authorities SET revoked_us = ? WHERE account = ? AND id = ? AND revoked_us IS NULL "
                       "RETURNING id", (_to_micros(now or datetime.now(timezone.utc)), self.account, authority_id))
        return bool(done)

    def end_task(self, task: str, *, now: datetime | None = None) -> int:
        """The task is over: revoke every authority scoped to it; how many were revoked."""
        with self.backend.transaction() as run:
            done = run("UPDATE ab_authorities SET revoked_us = ? WHERE account = ? AND task = ? AND revoked_us IS NULL "
                       "RETURNING id", (_to_micros(now or datetime.now(timezone.utc)), self.account, task))
        return len(done)

    @contextmanager
    def for_task(self, task: str, **limits: Any) -> Iterator[SpendAuthority]:
        """An authority for one task, revoked when the block ends (however it ends).

        Example:
            >>> store = AuthorityStore.sqlite(None, account="acct")
            >>> with store.for_task("thread-1", budget="20") as a:
            ...     store.inspect(a.id).usage.revoked_at is None
            True
            >>> store.inspect(a.id).usage.revoked_at is not None
            True
        """
        authority = self.create(SpendAuthority(task=task, **limits))
        try:
            yield authority
        finally:
            self.end_task(task)

    # --- what the toolkit calls

    def check(self, call: SpendCall, *, now: datetime) -> Judgement:
        """What the applicable authorities say about ``call`` now, reserving nothing (reads only)."""
        with self.backend.transaction() as run:
            statuses = [self._status(run, row, now) for row in self._applicable(run, call, lock=False)]
        return _judge(call, statuses, now)

    def claim(self, call: SpendCall, key: str, *, now: datetime) -> Claim:
        """Check ``call`` against every applicable authority and reserve its amount under ``key`` in all of them,
        in one transaction holding their rows. Claiming a key again is idempotent (a LangGraph re-run)."""
        if not key:
            raise ValueError("a claim needs a non-empty key")
        cents = _to_cents(call.amount) if call.amount is not None else 0
        created = _created(now)
        with self.backend.transaction() as run:
            rows = self._applicable(run, call, lock=True)  # first: a re-run of this key waits for the first run
            earlier = run("SELECT authority_id FROM ab_authority_charges WHERE account = ? AND key = ? "
                          "AND status <> 'released'", (self.account, key))
            if earlier:
                return Claim(True, tuple(sorted(str(r[0]) for r in earlier)), existing=True)
            statuses = [self._status(run, row, now) for row in rows]
            judged = _judge(call, statuses, now)
            if not judged.inside:
                return Claim(False, reasons=judged.reasons or (_uncovered(call),))
            ids = tuple(s.authority.id for s in statuses)
            for authority_id in ids:
                run("INSERT INTO ab_authority_charges (account, key, authority_id, amount_cents, status, created_us) "
                    "VALUES (?, ?, ?, ?, 'pending', ?) ON CONFLICT (account, key, authority_id) DO UPDATE SET "
                    "amount_cents = excluded.amount_cents, status = 'pending', created_us = excluded.created_us",
                    (self.account, key, authority_id, cents, created))
                run("UPDATE ab_authorities SET spent_cents = spent_cents + ?, charges = charges + 1 WHERE account = ? "
                    "AND id = ?", (cents, self.account, authority_id))
            for status in statuses:  # under its row lock, so two sweepers of one authority never meet
                if status.authority.period is not None and _new_second(status.usage.last_charge_at, created):
                    cutoff = created - (status.authority.period + SWEEP_GRACE) // _MICROSECOND
                    run(_SWEEP, (self.account, status.authority.id) * 2 + (cutoff, SWEEP_BATCH))
        return Claim(True, ids)

    def confirm(self, key: str) -> None:
        """The charge went through: its claims stay as spend (after a release too: the money moved)."""
        with self.backend.transaction() as run:
            self._lock_charged(run, key)
            back = run("UPDATE ab_authority_charges SET status = 'confirmed' WHERE account = ? AND key = ? AND "
                       "status = 'released' RETURNING authority_id, amount_cents", (self.account, key))
            self._count(run, back, +1)
            run("UPDATE ab_authority_charges SET status = 'confirmed' WHERE account = ? AND key = ?", (self.account, key))

    def release(self, key: str) -> None:
        """The charge failed or was refused: its pending claims stop counting (confirmed ones never do)."""
        with self.backend.transaction() as run:
            self._lock_charged(run, key)
            gone = run("UPDATE ab_authority_charges SET status = 'released' WHERE account = ? AND key = ? AND "
                       "status = 'pending' RETURNING authority_id, amount_cents", (self.account, key))
            self._count(run, gone, -1)

    def close(self) -> None:
        """Close the backend, if it has anything to close."""
        close = getattr(self.backend, "close", None)
        if close is not None:
            close()

    # --- the parts

    def _lock_charged(self, run: Run, key: str) -> None:
        # The authorities first, in id order, as a claim takes them: the charge rows and their buckets are then
        # always reached under the authority's lock, so a release and a claim never wait on each other in a ring.
        ids = sorted({str(r[0]) for r in run("SELECT authority_id FROM ab_authority_charges WHERE account = ? AND "
                                            "key = ?", (self.account, key))})
        if ids and self.backend.lock:
            run(f"SELECT id FROM ab_authorities WHERE account = ? AND id IN ({', '.join('?' * len(ids))}) ORDER BY id"
                + self.backend.lock, (self.account, *ids))

    def _count(self, run: Run, rows: Iterable[tuple[Any, ...]], sign: int) -> None:
        for authority_id, cents in rows:
            run("UPDATE ab_authorities SET spent_cents = spent_cents + ?, charges = charges + ? WHERE account = ? "
                "AND id = ?", (sign * int(cents), sign, self.account, str(authority_id)))

    def _applicable(self, run: Run, call: SpendCall, *, lock: bool) -> builtins.list[tuple[Any, ...]]:
        # Ordered by id, so two claims lock overlapping rows in the same order and never deadlock.
        return run(f"SELECT {_COLUMNS} FROM ab_authorities WHERE account = ? AND revoked_us IS NULL AND "
                   "(agent IS NULL OR agent = ?) AND (task IS NULL OR task = ?) ORDER BY id"
                   + (self.backend.lock if lock else ""), (self.account, call.agent, call.task))

    def _status(self, run: Run, row: tuple[Any, ...], now: datetime) -> AuthorityStatus:
        authority = SpendAuthority.model_validate_json(str(row[1]))
        scope = (self.account, authority.id)
        if authority.period is None:
            last, in_period = run(_LAST, scope)[0][0], 0
        else:  # one statement: the last charge and the period's total from its buckets
            plan = WindowPlan.starting(_to_micros(now - authority.period), PERIOD_BUCKETS)
            last, in_period = run(_LAST_AND_PERIOD, (*scope, *total_params(scope, plan)))[0]
        usage = Usage(spent=_from_cents(int(row[3])), charges=int(row[4]),
                      last_charge_at=_from_micros(last) if last is not None else None,
                      spent_in_period=_from_cents(int(in_period)),
                      revoked_at=_from_micros(row[2]) if row[2] is not None else None)
        return AuthorityStatus(authority, usage)


def _judge(call: SpendCall, statuses: Sequence[AuthorityStatus], now: datetime) -> Judgement:
    if not statuses:
        return Judgement(covered=False, reasons=(_uncovered(call),))
    reasons = tuple(reason for s in statuses for reason in s.authority.evaluate(call, s.usage, now))
    auto = all(s.authority.approval == "auto" for s in statuses)
    return Judgement(covered=True, reasons=reasons, auto=auto, statuses=tuple(statuses))


def _uncovered(call: SpendCall) -> str:
    who = f"agent {call.agent}" if call.agent else "this agent"
    task = f" in task {call.task}" if call.task else ""
    return f"No spend authority covers {call.operation} for {who}{task}; a host must create one."


def _from_micros(value: Any) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=int(value))


_MICROSECOND = timedelta(microseconds=1)


def _new_second(last: datetime | None, created: int) -> bool:
    # A charge that moves the authority's newest charge into a later second sweeps: about once a second, each time
    # up to SWEEP_BATCH buckets against the few a second adds, so the table stays bounded, while a burst of charges
    # within one second (or workers whose clocks run behind) pays for no sweep.
    return last is None or created // BUCKETS[-1] > _to_micros(last) // BUCKETS[-1]


def _span(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0 and seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if unit == 'day' and count != 1 else ''}"
    return f"{seconds} s"


def current_task() -> str | None:
    """The task a tool call runs in: ``configurable["task_id"]``, else ``configurable["thread_id"]`` of the
    LangChain ``RunnableConfig`` it was invoked with (None outside one, or without either).

    Example:
        >>> current_task() is None
        True
    """
    try:
        from langchain_core.runnables.config import var_child_runnable_config
    except ImportError:
        return None
    config = var_child_runnable_config.get() or {}
    configurable = config.get("configurable") or {}
    task = configurable.get("task_id") or configurable.get("thread_id")
    return str(task) if task else None


def dumps(statuses: Iterable[AuthorityStatus]) -> str:
    """JSON of several authorities with their usage (for the CLI's ``list``).

    Example:
        >>> json.loads(dumps([]))
        []
    """
    return json.dumps([s.as_dict() for s in statuses], indent=2)


__all__ = ["AUTHORITY_SCHEMA", "PERIOD_BUCKETS", "PERIOD_BUCKETS_SCHEMA",
           "AuthorityNotFoundError", "AuthorityStatus", "AuthorityStore", "Backend", "Claim",
           "Instrument", "Judgement", "SpendAuthority", "SpendCall", "SqliteBackend", "Usage", "current_task"]
