"""``create_app``: one ASGI application serving the sandbox of every provider, fully built at construction.

The core names no provider: each provider's ``Connection.sandbox_app`` names the function that builds
its sandbox (``"package.module:function"``, imported only when an app is built). That function takes
keyword arguments and returns a :class:`ProviderSandbox`: an ASGI app and where it is mounted (``""``:
at the root; no two providers at one place). ``create_app`` hands each builder the options its
signature names: the shared ones (``db_path``, ``rate_limit``, ``clock``) and those only it declares
(each provider's own test keys, say); an option no builder takes is a ``TypeError``.

Example:
    >>> app = create_app()
    >>> [route.path for route in app.routes][-1]  # the default provider at the root, after the others
    ''
    >>> len(app.routes) == len(app.state.providers) + 1 >= 3  # and the approval page, at /approvals
    True
    >>> create_app(colour="blue")
    Traceback (most recent call last):
    TypeError: create_app() got an unexpected keyword argument 'colour'
"""

from __future__ import annotations

import importlib
import inspect
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from agent_billing.approval_page import approval_app
from agent_billing.openapi import openapi_document
from agent_billing.registry import Registry, get_registry, provider_names
from agent_billing.sandbox.rate_limit import RateLimits
from agent_billing.sandbox.units import Clock


@dataclass(frozen=True)
class ProviderSandbox:
    """One provider's sandbox, as its builder returns it.

    ``app`` serves the provider's routes under ``mount`` (``""``: at the root). ``state`` is put on the
    composed app's ``app.state`` (what tests and the server reach). ``banner`` gives the lines
    ``agent-billing sandbox`` prints for it, given the root URL; ``check_invariants`` raises when its
    books are inconsistent; ``close`` releases its store.

    Example:
        >>> part = ProviderSandbox(app=Starlette(), mount="/example", state={"example": 1})
        >>> part.banner("http://127.0.0.1:8787"), part.check_invariants(), part.close()
        ([], None, None)
    """

    app: ASGIApp
    mount: str = ""
    state: Mapping[str, Any] = field(default_factory=dict)
    banner: Callable[[str], list[str]] = lambda root: []
    check_invariants: Callable[[], None] = lambda: None
    close: Callable[[], None] = lambda: None


Builder = Callable[..., ProviderSandbox]


def sandbox_builders() -> dict[str, Builder]:
    """Each provider sandbox builder (``Connection.sandbox_app``), by its ``"module:function"`` reference.

    A builder that several registries share (a provider declared again with moved paths) counts once.

    Example:
        >>> builders = sandbox_builders()
        >>> len(builders) <= len(provider_names()), all(callable(b) for b in builders.values())
        (True, True)
    """
    builders: dict[str, Builder] = {}
    for name in provider_names():
        reference = get_registry(name).connection.sandbox_app
        if reference and reference not in builders:
            module, _, function = reference.partition(":")
            builders[reference] = getattr(importlib.import_module(module), function)
    return builders


def openapi_route(registry: Registry) -> Route:
    """``GET <base path>/openapi.json``: the OpenAPI 3.1 document of the registry (no token needed).

    Example:
        >>> route = openapi_route(get_registry())
        >>> route.path == get_registry().base_path + "/openapi.json", sorted(route.methods or ())
        (True, ['GET', 'HEAD'])
    """
    built: list[bytes] = []  # on first request (~50 ms), not in every create_app; the registry is fixed

    async def document(request: Request) -> Response:
        if not built:
            built.append(json.dumps(openapi_document(registry)).encode())
        return Response(built[0], media_type="application/json", headers={"Cache-Control": "no-cache"})

    return Route(registry.base_path + "/openapi.json", document, methods=["GET"])


def route_order(path: str) -> list[tuple[int, str]]:
    """A sort key that puts literal path segments before ``{parameters}``, so literal paths win.

    Example:
        >>> sorted(["/subscriptions/{id}", "/subscriptions/plans"], key=route_order)
        ['/subscriptions/plans', '/subscriptions/{id}']
    """
    return [(1 if seg.startswith("{") else 0, seg) for seg in path.strip("/").split("/")]


def _accepted(builder: Builder) -> set[str]:
    return {p.name for p in inspect.signature(builder).parameters.values() if p.kind is p.KEYWORD_ONLY}


def _listed(builder: Builder) -> set[str]:
    # Options whose default is a collection (tokens, keys): one string would be iterated letter by letter.
    return {p.name for p in inspect.signature(builder).parameters.values()
            if isinstance(p.default, (tuple, list, set, frozenset, dict))}


def create_app(
    *,
    db_path: str = ":memory:",
    rate_limit: bool | RateLimits = True,
    clock: Clock = time.time,
    approvals: Any = None,
    **options: Any,
) -> Starlette:
    """Build the sandbox ASGI app (ready at once: no lifespan needed, so ``httpx.ASGITransport`` works).

    ``db_path`` is a SQLite file (kept across restarts; each provider keeps its own file beside it) or
    ``":memory:"``. ``rate_limit`` is ``True`` for the documented limits, ``False`` for none, or a
    :class:`RateLimits`. ``clock`` returns Unix seconds and drives rate windows, checkout expiry,
    subscription periods and idempotency retention. ``approvals`` is the guardrail store (object, URL or
    ``ApprovalRequests``; None: ``$AGENT_BILLING_STORE_URL`` or the state directory, opened on first use) whose
    out-of-band approval page is served under ``/approvals/``. Every other option goes to the provider sandboxes
    that declare it (each provider's ``sandbox`` package documents its own: test keys, fault injection...).

    The providers' state is on ``app.state`` (``app.state.sandbox`` is the default provider's);
    ``app.state.providers`` lists every :class:`ProviderSandbox`.

    Example:
        >>> app = create_app(rate_limit=False)
        >>> [part.mount for part in app.state.providers][0]  # the default provider's, at the root
        ''
        >>> for part in app.state.providers:
        ...     part.check_invariants()
    """
    shared: dict[str, Any] = {"db_path": db_path, "rate_limit": rate_limit, "clock": clock}
    builders = sandbox_builders()
    accepted = {reference: _accepted(builder) for reference, builder in builders.items()}
    unknown = [key for key in options if not any(key in names for names in accepted.values())]
    if unknown:
        raise TypeError(f"create_app() got an unexpected keyword argument {unknown[0]!r}")
    listed = set().union(*map(_listed, builders.values()))
    strings = [key for key, value in options.items() if key in listed and isinstance(value, (str, bytes))]
    if strings:
        raise TypeError(f"create_app() option {strings[0]!r} takes a list, not one string (write {strings[0]}=[...])")
    parts: list[ProviderSandbox] = []
    given = {**shared, **options}
    for reference, builder in builders.items():
        parts.append(builder(**{key: value for key, value in given.items() if key in accepted[reference]}))
    mounts = [part.mount for part in parts]
    if len(set(mounts)) < len(mounts):
        raise RuntimeError(f"two provider sandboxes are mounted at one place: {mounts}")
    roots = [part for part in parts if not part.mount]
    # Prefixed mounts first: the root sandbox matches every path, its own 404s included.
    routes: list[BaseRoute] = [Mount("/approvals", app=approval_app(approvals, clock=clock))]
    routes += [Mount(part.mount, app=part.app) for part in parts if part.mount]
    routes += [Mount("", app=part.app) for part in roots]
    app = Starlette(routes=routes)
    for part in parts:
        for key, value in part.state.items():
            setattr(app.state, key, value)
    app.state.providers = parts
    return app
