"""Install the test-only provider as a distribution: a real ``*.dist-info`` with ``entry_points.txt`` on sys.path.

``importlib.metadata.entry_points(group="agent_billing.providers")`` then finds it exactly as it finds a
pip-installed provider, and ``agent_billing.provider.get_provider("acme")`` loads it the same way as a
built-in. The directory is made in a temp directory when the fixture runs (not at collection), for one test module at
a time: afterwards the distribution leaves sys.path and the provider is forgotten, so a later module that
iterates over every provider sees only the built-ins, as it would without this package.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_billing import provider
from agent_billing.provider import ENTRY_POINT_GROUP

DISTRIBUTION = "agent_billing_acme"
REFERENCE = "tests.providers.acme_provider:PROVIDER"


@contextlib.contextmanager
def installed(site: Path | None = None) -> Iterator[str]:
    """The test-only provider's distribution on sys.path (in ``site``, or a temporary directory) while inside."""
    with contextlib.ExitStack() as stack:
        if site is None:
            site = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        info = site / f"{DISTRIBUTION}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {DISTRIBUTION}\nVersion: 1.0\n", encoding="utf-8")
        (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nacme = {REFERENCE}\n", encoding="utf-8")
        sys.path.append(str(site))
        importlib.invalidate_caches()
        try:
            yield "acme"
        finally:
            sys.path.remove(str(site))
            importlib.invalidate_caches()
            provider.unregister("acme")


@pytest.fixture(scope="module", autouse=True)
def acme_installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The provider name, with its distribution on sys.path for the test module."""
    with installed(tmp_path_factory.mktemp("site-packages")) as name:
        yield name
