"""The release workflow publishes with PyPI trusted publishing, only when a version tag is pushed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW: dict[Any, Any] = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())


def test_it_runs_on_version_tags_only() -> None:
    trigger = WORKFLOW[True]  # YAML 1.1 reads the key "on" as True
    assert set(trigger) == {"push"} and trigger["push"] == {"tags": ["v*"]}


def test_it_publishes_with_trusted_publishing_and_no_stored_token() -> None:
    publish = WORKFLOW["jobs"]["publish"]
    assert publish["permissions"] == {"id-token": "write"}
    assert WORKFLOW["permissions"] == {"contents": "read"}
    (step,) = [s for s in publish["steps"] if str(s.get("uses", "")).startswith("pypa/gh-action-pypi-publish@")]
    assert "with" not in step or not {"password", "user"} & set(step["with"])  # no API token
    assert publish["needs"] == "build" and publish["environment"]["name"] == "pypi"


def test_the_build_checks_the_tag_against_the_version() -> None:
    steps = WORKFLOW["jobs"]["build"]["steps"]
    assert any("GITHUB_REF_NAME" in str(s.get("run", "")) and "pyproject.toml" in str(s.get("run", "")) for s in steps)
    assert any("python -m build" in str(s.get("run", "")) for s in steps)
