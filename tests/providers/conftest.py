"""The test-only provider (``acme_provider``) installed through the ``agent_billing.providers`` entry point."""

from __future__ import annotations

from tests.providers.install import acme_installed

__all__ = ["acme_installed"]
