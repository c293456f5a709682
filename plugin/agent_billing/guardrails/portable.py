"""Spend authorities as portable JSON, shaped after AP2's open payment mandate (see ``docs/mandates.md``).

The document names its constraints as AP2 v0.2 does where they mean the same thing (``amount_range``,
``budget``, ``agent_recurrence``, ``allowed_payees``, ``allowed_payment_instruments``); what AP2 has no name
for (the agent and task it is scoped to, a budget per rolling period, allowed operations and plans, whether a
person still approves) sits in the ``agent_billing`` extension object. ``version`` is this format's version.

Import fails closed: a constraint this library cannot enforce (``allowed_pisps``, ``execution_date``, an AP2
field it does not know, a newer ``version``) is refused with its name, never silently dropped, because a
mandate imported without one of its limits would allow more than its author signed off.

Example:
    >>> from decimal import Decimal
    >>> a = SpendAuthority(id="sa_1", agent="bot", max_amount="20", budget="100", max_charges=5)
    >>> doc = export_authority(a)
    >>> doc["constraints"]["amount_range"], doc["constraints"]["budget"]
    ({'max': '20.00', 'currency': 'USD'}, {'max': '100.00', 'currency': 'USD'})
    >>> import_authority(doc) == a
    True
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError

from agent_billing.guardrails.authority import SpendAuthority

FORMAT = "agent-billing.open-payment-mandate"
VERSION = 1
AP2_VERSION = "0.2"
# AP2 constraints with no counterpart here: importing a mandate that sets one is refused.
UNSUPPORTED = ("allowed_pisps", "execution_date", "reference")
_DURATION = TypeAdapter(timedelta)


def _money(value: Any, currency: str) -> dict[str, str] | None:
    return None if value is None else {"max": str(value), "currency": currency}


def export_authority(authority: SpendAuthority) -> dict[str, Any]:
    """The portable document of one authority (JSON-ready: amounts as strings, durations in ISO 8601).

    Example:
        >>> export_authority(SpendAuthority(id="sa_2", min_interval=timedelta(hours=1)))["constraints"]
        {'agent_recurrence': {'frequency': 'PT1H'}}
    """
    a, currency = authority, authority.currency
    constraints: dict[str, Any] = {}
    if a.min_amount is not None or a.max_amount is not None:
        constraints["amount_range"] = {k: str(v) for k, v in (("min", a.min_amount), ("max", a.max_amount))
                                       if v is not None} | {"currency": currency}
    if a.budget is not None:
        constraints["budget"] = _money(a.budget, currency)
    recurrence = {k: v for k, v in (("frequency", _DURATION.dump_python(a.min_interval, mode="json")
                                     if a.min_interval is not None else None),
                                    ("max_occurrences", a.max_charges)) if v is not None}
    if recurrence:
        constraints["agent_recurrence"] = recurrence
    if a.allowed_payees is not None:
        constraints["allowed_payees"] = sorted(a.allowed_payees)
    if a.allowed_instruments is not None:
        constraints["allowed_payment_instruments"] = [i.model_dump(exclude_none=True) for i in a.allowed_instruments]
    extension: dict[str, Any] = {"name": a.name, "approval": a.approval}
    for key, value in (("agent", a.agent), ("task", a.task)):
        if value is not None:
            extension[key] = value
    if a.period_budget is not None and a.period is not None:
        extension["period_budget"] = {**(_money(a.period_budget, currency) or {}),
                                      "period": _DURATION.dump_python(a.period, mode="json")}
    if a.allowed_operations is not None:
        extension["allowed_operations"] = sorted(a.allowed_operations)
    if a.allowed_plan_ids is not None:
        extension["allowed_plans"] = sorted(a.allowed_plan_ids, key=str)
    doc: dict[str, Any] = {"format": FORMAT, "version": VERSION, "ap2_version": AP2_VERSION, "type": "open",
                           "id": a.id, "constraints": constraints, "agent_billing": extension}
    if a.expires_at is not None:
        doc["expires_at"] = a.expires_at.isoformat()
    return doc


def import_authority(doc: Any) -> SpendAuthority:
    """The authority a portable document describes (``ValueError`` naming what cannot be honoured).

    Example:
        >>> import_authority({"format": FORMAT, "version": 1, "type": "open", "id": "sa_3",
        ...                   "constraints": {"allowed_pisps": ["x"]}})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: this mandate sets allowed_pisps, which agent-billing cannot enforce; ...
    """
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"not a portable mandate: expected \"format\": \"{FORMAT}\"")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= VERSION:
        raise ValueError(f"mandate format version {version!r} is not one this agent-billing reads (1 to {VERSION}); "
                         "upgrade agent-billing")
    if doc.get("type", "open") != "open":
        raise ValueError("only open mandates (standing limits) can be imported; a closed mandate binds one charge")
    _known(doc, {"format", "version", "ap2_version", "type", "id", "constraints", "agent_billing", "expires_at"},
           "the document")
    constraints = doc.get("constraints") or {}
    extension = doc.get("agent_billing") or {}
    if not isinstance(constraints, dict) or not isinstance(extension, dict):
        raise ValueError("constraints and agent_billing must be JSON objects")
    for name in UNSUPPORTED:
        if name in constraints:
            raise ValueError(f"this mandate sets {name}, which agent-billing cannot enforce; importing it without "
                             "that limit would allow more than its author did. Remove it at the source, knowingly.")
    _known(constraints, {"amount_range", "budget", "agent_recurrence", "allowed_payees",
                         "allowed_payment_instruments"}, "constraints")
    _known(extension, {"name", "approval", "agent", "task", "period_budget", "allowed_operations", "allowed_plans"},
           "agent_billing")
    fields: dict[str, Any] = {"id": doc.get("id"), "expires_at": doc.get("expires_at")}
    currencies: set[str] = set()
    amount_range = _object(constraints, "amount_range", {"min", "max", "currency"})
    fields["min_amount"], fields["max_amount"] = amount_range.get("min"), amount_range.get("max")
    budget = _object(constraints, "budget", {"max", "currency"})
    fields["budget"] = budget.get("max")
    period = _object(extension, "period_budget", {"max", "currency", "period"})
    fields["period_budget"], fields["period"] = period.get("max"), period.get("period")
    for part in (amount_range, budget, period):
        if "currency" in part:
            currencies.add(str(part["currency"]).upper())
    if len(currencies) > 1:
        raise ValueError(f"the limits are in several currencies ({', '.join(sorted(currencies))}); one is supported")
    recurrence = _object(constraints, "agent_recurrence", {"frequency", "max_occurrences"})
    fields["min_interval"], fields["max_charges"] = recurrence.get("frequency"), recurrence.get("max_occurrences")
    fields["allowed_payees"] = constraints.get("allowed_payees")
    fields["allowed_instruments"] = constraints.get("allowed_payment_instruments")
    fields["allowed_plan_ids"] = extension.get("allowed_plans")
    for key in ("name", "approval", "agent", "task", "allowed_operations"):
        fields[key] = extension.get(key)
    if currencies:
        fields["currency"] = currencies.pop()
    try:
        return SpendAuthority.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'mandate'}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"the mandate is not valid: {problems}") from None


def _object(parent: dict[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
    value = parent.get(key) or {}
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be a JSON object")
    _known(value, allowed, key)
    return value


def _known(obj: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise ValueError(f"{where} has {', '.join(unknown)}, which agent-billing does not know and so cannot enforce; "
                         "refusing the import rather than dropping a limit")


__all__ = ["AP2_VERSION", "FORMAT", "UNSUPPORTED", "VERSION", "export_authority", "import_authority"]
