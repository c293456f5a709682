"""Providers: one sub-package per billing API, and the one list of them that the rest of the package reads.

A provider package exposes ``PROVIDER`` (an ``agent_billing.provider.Provider``) from its ``__init__``.
The core never imports a provider: ``agent_billing.provider.get_provider`` finds the built-ins through
``PROVIDERS`` below and installed ones through the ``agent_billing.providers`` entry-point group, the
same way (a reference ``"module:attribute"``).

Example:
    >>> DEFAULT in PROVIDERS
    True
"""

from __future__ import annotations

# name -> "module:attribute" of its Provider; the first is the default provider.
PROVIDERS: dict[str, str] = {
    "modelslab": "agent_billing.providers.modelslab:PROVIDER",
    "wallgent": "agent_billing.providers.wallgent:PROVIDER",
    "tenex": "agent_billing.providers.tenex:PROVIDER",
}
DEFAULT = next(iter(PROVIDERS))
