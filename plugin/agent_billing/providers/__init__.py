"""Providers: one sub-package per billing API, and the one list of them that the rest of the package reads.

A provider package exposes ``REGISTRY`` (its operation declarations) from its ``operations`` module. The
core never imports a provider: ``agent_billing.registry.get_registry`` finds them through ``PROVIDERS``
below (and through the ``agent_billing.providers`` entry-point group, for providers installed as
separate distributions), so adding a provider is adding a package and a line here.

Example:
    >>> DEFAULT in PROVIDERS
    True
"""

from __future__ import annotations

# name -> module that defines ``REGISTRY``; the first is the default provider.
PROVIDERS: dict[str, str] = {
    "modelslab": "agent_billing.providers.modelslab.operations",
    "wallgent": "agent_billing.providers.wallgent.operations",
    "tenex": "agent_billing.providers.tenex.operations",
}
DEFAULT = next(iter(PROVIDERS))
