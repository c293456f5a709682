"""The operations of 10ex's payments API (``/api/v1/payments``), read-only by design, each declared once.

10ex lets programmatic clients read the plan, credit usage, invoices and the credit ledger, and open a
billing-portal session; creating, changing and cancelling a subscription happen only in 10ex's UI. So
this registry declares no subscription mutation: an agent asked to upgrade, change or cancel gets the
portal handoff (``agent_billing.providers.tenex.actions``).

Wire: bare snake_case JSON objects, errors ``{"detail", "code"}`` and 422 ``{"detail": [{loc, msg,
type}]}``; lists are cursor pages ``?limit=`` (default 50, max 200) ``&cursor=`` answered with
``{items, next_cursor, total?}``. Keys: ``tnx_...`` workspace keys in ``TENEX_API_KEY``; base URL in
``TENEX_BASE_URL`` (default ``https://api.10ex.ai/api/v1/payments``).

Assumed paths. 10ex documents the module's base path and its resources (subscriptions, plans, billing
portal sessions, invoices, credit ledgers, credit usage) but not the concrete paths. These are derived
from those resource names and are assumptions:

==========================  ======  ===================================
operation                   method  path (under ``/api/v1/payments``)
==========================  ======  ===================================
get_subscription            GET     ``/subscriptions/current``
get_plan                    GET     ``/plans/current``
get_usage                   GET     ``/credits/usage``
get_agent_usage             GET     ``/credits/usage/agents/{agent_id}``
list_invoices               GET     ``/invoices``
get_invoice                 GET     ``/invoices/{invoice_id}``
list_ledger                 GET     ``/credit-ledger``
create_portal_session       POST    ``/billing-portal/sessions``
==========================  ======  ===================================

A deployer whose 10ex answers elsewhere overrides any of them without code: the environment variable
``TENEX_PATHS`` holds a JSON object of operation name to path (``{"get_usage": "/usage/current"}``),
read when the registry is first asked for (``REGISTRY``, not at import); in code, ``build_registry(paths=...)`` does the same. An
override must start with ``/`` and keep the default's ``{placeholders}``, and the portal session (the one
POST) must stay a path naming ``portal``; anything else is refused at load time, so a typo cannot silently
send requests to the wrong place.

Example:
    >>> build_registry().get("list_ledger").path, len(build_registry())
    ('/credit-ledger', 8)
    >>> build_registry({"get_usage": "/usage/current"}).get("get_usage").path
    '/usage/current'
    >>> [op.name for op in build_registry() if op.is_mutation]
    ['create_portal_session']
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

from pydantic import BaseModel

from agent_billing.codegen import MethodExample, Step
from agent_billing.conventions import Connection, Pagination, WebhookFormat, WireConventions
from agent_billing.providers.tenex import arguments as a
from agent_billing.providers.tenex import results as r
from agent_billing.registry import Effect, Registry

PROVIDER = "tenex"
BASE_PATH = "/api/v1/payments"
DEFAULT_BASE_URL = "https://api.10ex.ai" + BASE_PATH
PATHS_VARIABLE = "TENEX_PATHS"

WIRE = WireConventions(
    envelope=False,
    amounts="string",
    error_body="detail",
    paging_keys=("next_cursor",),
    pagination=Pagination(next_field="next_cursor"),  # ?cursor= answered with {items, next_cursor}
    error_classes={
        "not_authenticated": "AuthenticationError", "invalid_api_key": "AuthenticationError",
        "permission_denied": "PermissionDeniedError", "not_found": "NotFoundError",
        "validation_error": "InvalidRequestError", "rate_limited": "RateLimitedError",
    },
)

# Documented: the header, the payload {id, type, company_id, occurred_at, data}, 5 retries after 1, 2, 4, 8 and
# 16 s, and the events subscription.updated and invoice.paid. The two cap events are our assumption (10ex
# warns at the soft cap and refuses at the hard cap, but names no event for either).
WEBHOOK = WebhookFormat(header="X-10ex-Signature", timestamp_field="occurred_at", type_field="type", id_field="id",
                        retry_delays=(1.0, 2.0, 4.0, 8.0, 16.0), aliases=("10ex",),
                        events=("subscription.updated", "invoice.paid", "usage.soft_cap_reached",
                                "usage.hard_cap_reached"))

CONNECTION = Connection(default_base_url=DEFAULT_BASE_URL, sandbox_path="/tenex" + BASE_PATH,
                        sandbox_token="tnx_sandbox", token_variables=("TENEX_API_KEY",),
                        sandbox_app="agent_billing.providers.tenex.sandbox:tenex_sandbox",
                        base_url_variables=("TENEX_BASE_URL",), key_prefixes=("tnx_",), webhook=WEBHOOK,
                        setting_variables=(PATHS_VARIABLE,))

R, W = Effect.READ, Effect.WRITE

# (name, group, action, method, default path, args, result, effect, description, typed method's example):
# the whole API surface.
DECLARATIONS: tuple[tuple[str, str, str, str, str, type[BaseModel], type[BaseModel], Effect, str, MethodExample], ...] = (
    ("get_subscription", "subscription", "get", "GET", "/subscriptions/current", a.NoArgs, r.Subscription, R,
     "Current subscription: plan name, status and renewal date.",
     MethodExample(shows=".plan", output="'Team'")),
    ("get_plan", "plan", "get", "GET", "/plans/current", a.NoArgs, r.Plan, R,
     "The plan: included credits per period, the soft cap (warnings) and the hard cap (new runs refused).",
     MethodExample(shows=".soft_cap", output="Decimal('80000')")),
    ("get_usage", "usage", "get", "GET", "/credits/usage", a.NoArgs, r.Usage, R,
     "Credits used this period by the workspace against the caps, with each agent's share.",
     MethodExample(shows=".credits_used", output="Decimal('78500')")),
    ("get_agent_usage", "usage", "agent", "GET", "/credits/usage/agents/{agent_id}", a.AgentArgs, r.AgentUsage, R,
     "One agent's credits used this period.",
     MethodExample('"agt_research"', ".runs", "40")),
    ("list_invoices", "invoices", "list", "GET", "/invoices", a.PageArgs, r.InvoicePage, R,
     "Invoices, newest first, one cursor page at a time (limit, cursor=next_cursor).",
     MethodExample("limit=4", ".items[0].status", "'paid'")),
    ("get_invoice", "invoices", "get", "GET", "/invoices/{invoice_id}", a.InvoiceArgs, r.Invoice, R,
     "One invoice with its status and total.",
     MethodExample("invoice_id", ".total", "Decimal('499.00')",
                                    setup=(Step("list_invoices", pick=".items[0].id", bind="invoice_id"),))),
    ("list_ledger", "ledger", "list", "GET", "/credit-ledger", a.LedgerPageArgs, r.LedgerPage, R,
     "Credit ledger entries (grants and run debits), newest first, one cursor page at a time; agent_id filters.",
     MethodExample('agent_id="agt_support"', ".total", "40")),
    ("create_portal_session", "subscription", "portal", "POST", "/billing-portal/sessions", a.PortalArgs,
     r.PortalSession, W, "Billing-portal URL for a logged-in admin (plan, card, address); relay it verbatim.",
     MethodExample('return_url="https://app.example/billing"', ".url[:37]",
                                              "'http://sandbox.local/tenex/portal/bps'")),
)

GROUPS = {
    "subscription": "10ex subscription (read-only: upgrades, changes and cancellations happen in the billing "
                    "portal, which these actions hand off to).",
    "plan": "10ex plan: included credits and the soft and hard credit caps.",
    "usage": "10ex credit usage this period, and whether a run fits under the caps.",
    "invoices": "10ex invoices.",
    "ledger": "10ex credit ledger.",
}
_PLACEHOLDER = re.compile(r"{(\w+)}")


def paths_from_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The path overrides in ``TENEX_PATHS`` (a JSON object of operation name to path), or none.

    Example:
        >>> paths_from_env({"TENEX_PATHS": '{"get_plan": "/plan"}'})
        {'get_plan': '/plan'}
        >>> paths_from_env({})
        {}
    """
    raw = (os.environ if environ is None else environ).get(PATHS_VARIABLE, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"{PATHS_VARIABLE} is not a JSON object of operation name to path ({exc})") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError(f"{PATHS_VARIABLE} must be a JSON object of operation name to path")
    return value


def _checked(paths: Mapping[str, str]) -> dict[str, str]:
    defaults = {d[0]: d[4] for d in DECLARATIONS}
    posts = {d[0] for d in DECLARATIONS if d[3] != "GET"}
    unknown = sorted(set(paths) - set(defaults))
    if unknown:
        raise ValueError(f"path overrides name unknown operations {unknown}; known: {', '.join(defaults)}")
    for name, path in paths.items():
        if not re.fullmatch(r"/[A-Za-z0-9_./{}-]*", path) or ".." in path:
            raise ValueError(f"path override for {name}: {path!r} must start with '/' and hold only URL path characters")
        if sorted(_PLACEHOLDER.findall(path)) != sorted(_PLACEHOLDER.findall(defaults[name])):
            raise ValueError(f"path override for {name}: {path!r} must keep the placeholders of {defaults[name]!r}")
        # A read stays a GET wherever it points; the one POST must not be aimed at a subscription mutation.
        if name in posts and "portal" not in path.lower():
            raise ValueError(f"path override for {name}: {path!r} must be a billing-portal path (name 'portal')")
    return dict(paths)


def build_registry(paths: Mapping[str, str] | None = None, *, provider: str = PROVIDER) -> Registry:
    """The 10ex registry, with any default path replaced by ``paths`` (operation name -> path).

    Example:
        >>> build_registry({"get_invoice": "/billing/invoices/{invoice_id}"}).get("get_invoice").path
        '/billing/invoices/{invoice_id}'
        >>> build_registry({"get_invoice": "/invoices/latest"})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ValueError: path override for get_invoice: '/invoices/latest' must keep the placeholders of ...
    """
    overrides = _checked(paths or {})
    registry = Registry(provider=provider, base_path=BASE_PATH, wire=WIRE, connection=CONNECTION, typed_methods=("agent_billing.providers.tenex.client_methods", "TenexOperations", "AsyncTenexOperations"))
    for name, group, action, method, path, args, result, effect, description, example in DECLARATIONS:
        registry.declare(name, group, action, method, overrides.get(name, path), args, result, effect, description,
                         example=example)
    for group, text in GROUPS.items():
        registry.describe_group(group, text)
    return registry


# Built on first access (module ``__getattr__``), so ``TENEX_PATHS`` is read when the registry is asked for,
# never as a side effect of importing this module.
REGISTRY: Registry


def __getattr__(name: str) -> Registry:
    if name != "REGISTRY":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    registry = globals()["REGISTRY"] = build_registry(paths_from_env())
    return registry
