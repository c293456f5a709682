"""Install the test-only provider as a distribution: a real ``*.dist-info`` with ``entry_points.txt`` on sys.path.

``importlib.metadata.entry_points(group="agent_billing.providers")`` then finds it exactly as it finds a
pip-installed provider, and ``agent_billing.provider.get_provider("acme")`` loads it the same way as a
built-in. The directory is made in a temp directory when the fixture runs (not at collection), for one test module at
a time: afterwards the distribution leaves sys.path and the provider is forgotten, so a later module that
iterates over every provider sees only the built-ins, as it would without this package.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator

import pytest

from agent_billing import provider, registry
from agent_billing.provider import ENTRY_POINT_GROUP

DISTRIBUTION = "agent_billing_acme"
REFERENCE = "tests.providers.acme_provider:PROVIDER"


@pytest.fixture(scope="module", autouse=True)
def acme_installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The provider name, with its distribution on sys.path for the test module."""
    site = tmp_path_factory.mktemp("site-packages")
    info = site / f"{DISTRIBUTION}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {DISTRIBUTION}\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nacme = {REFERENCE}\n", encoding="utf-8")
    sys.path.append(str(site))
    importlib.invalidate_caches()
    yield "acme"
    sys.path.remove(str(site))
    importlib.invalidate_caches()
    # No public way to forget a provider yet (agent_billing.provider has register but no unregister).
    provider._PROVIDERS.pop("acme", None)
    registry._LOADED.pop("acme", None)
