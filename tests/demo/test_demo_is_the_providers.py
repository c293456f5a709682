"""The demo's scenes are the provider's: the core runner plays any provider's ``demo`` part, and says so
clearly when a provider has none."""

from __future__ import annotations

import io
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from tests.providers.install import acme_installed

from agent_billing.demo.runner import Scene, Terminal, demo_part, rehearse, run_demo
from agent_billing.demo.scripted_model import tool_call
from agent_billing.provider import get_provider
from agent_billing.tools import BillingToolkit

__all__ = ["acme_installed"]  # the fixture installs the test-only provider for this module

PART = "tests.providers.acme_provider.demo"


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_BILLING_STATE_DIR", str(tmp_path / "state"))


def scene_rename(console: Console, toolkit: BillingToolkit, terminal: Terminal, client: Any) -> bool:
    """The scripted agent renames the test provider's account through its own tool; True if the ledger agrees."""
    console.rule("1. Rename")
    scene = Scene.scripted("rename", toolkit, terminal, [tool_call("membership", action="rename", nickname="Ada's")],
                           final="Renamed.")
    scene.say("Call my account Ada's.")
    return bool(client.call("get_account").nickname == "Ada's")


@pytest.fixture
def acme_demo() -> Iterator[types.ModuleType]:
    """A demo part for the test-only provider, found the way the runner finds any provider's."""
    part = types.ModuleType(PART)
    part.SCENES = (scene_rename,)  # type: ignore[attr-defined]
    part.ledger = lambda client: f"account name {client.call('get_account').nickname}"  # type: ignore[attr-defined]
    part.pay = lambda root, handoff: (200, 200)  # type: ignore[attr-defined]
    sys.modules[PART] = part
    try:
        yield part
    finally:
        del sys.modules[PART]


def test_the_runner_plays_another_providers_scenes(acme_demo: types.ModuleType) -> None:
    assert demo_part("acme") is acme_demo
    buffer = io.StringIO()
    code = run_demo(auto_yes=True, console=Console(file=buffer, width=100, color_system=None), interactive=False,
                    poll_interval=(0.0, 0.0), provider="acme")
    text = buffer.getvalue()
    assert code == 0, text
    assert "1. Rename" in text and "account name Ada's" in text and "demo complete" in text
    # Only the test provider's scenes and words: none of the default provider's.
    assert "Headless" not in text and "wallet balance" not in text


def test_one_scene_rehearses_on_its_providers_stage(acme_demo: types.ModuleType) -> None:
    agreed, transcript = rehearse(scene_rename, provider="acme")
    assert agreed and "membership(action='rename'" in transcript


def test_a_provider_without_scenes_is_named() -> None:
    assert get_provider("acme").part("demo") is None
    with pytest.raises(LookupError, match="provider 'acme' has no demo scenes"):
        run_demo(auto_yes=True, console=Console(quiet=True), provider="acme")
