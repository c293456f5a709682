"""Doctest set-up for the generated typed client methods (``python -m agent_billing.codegen``).

Each example in a generated ``client_methods`` module runs against a fresh in-process sandbox: this
hands it ``client`` and ``aclient`` of that module's provider, built as the module's docstring shows.
It lives at the root because the examples are collected from ``plugin/agent_billing`` as well as
``tests`` (``--doctest-modules``), and outside the package so it is not shipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _generated_example_clients(request: pytest.FixtureRequest, doctest_namespace: dict[str, Any]) -> Iterator[None]:
    dtest = getattr(request.node, "dtest", None)  # set on doctest items only
    module = dtest.globs.get("__name__") if dtest is not None else None
    clients = None
    if isinstance(module, str) and module.endswith("client_methods"):
        from agent_billing.codegen import example_clients

        clients = example_clients(module)
    if clients is None:
        yield
        return
    client, aclient = clients
    doctest_namespace.update(client=client, aclient=aclient)
    try:
        yield
    finally:
        # The namespace outlives the test: nothing of this sandbox may leak into another example.
        del doctest_namespace["client"], doctest_namespace["aclient"]
        client.close()
