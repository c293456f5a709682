"""The Agent Skills: frontmatter per the agentskills.io rules, one skill per tool group, generated tables in sync."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent_billing.advisor import render_rules
from agent_billing.registry import get_registry, provider_names
from agent_billing.skill_docs import BEGIN, END, needs_approval, render_endpoint_table, sync_skills

ROOT = Path(__file__).resolve().parents[2]
SKILLS = ROOT / "skills"
REGISTRY = get_registry()
ALLOWED_KEYS = {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}
NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def split_skill(path: Path) -> tuple[dict[str, Any], str]:
    """(frontmatter, body) of a SKILL.md; the file must open with a '---' fenced YAML block."""
    text = path.read_text(encoding="utf-8")
    match = re.match(r"\A---\n(.*?)\n---\n(.*)\Z", text, re.DOTALL)
    assert match, f"{path}: no YAML frontmatter"
    meta = yaml.safe_load(match.group(1))
    assert isinstance(meta, dict), f"{path}: frontmatter is not a mapping"
    return meta, match.group(2)


def frontmatter_problems(meta: dict[str, Any], folder: str) -> list[str]:
    """Every way ``meta`` breaks the Agent Skills frontmatter rules for a skill in ``folder``."""
    problems = [f"unknown key {key!r}" for key in sorted(set(meta) - ALLOWED_KEYS)]
    name = meta.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 64 or not NAME.match(name):
        problems.append(f"bad name {name!r}")
    elif name != folder:
        problems.append(f"name {name!r} is not the folder name {folder!r}")
    description = meta.get("description")
    if not isinstance(description, str) or not description.strip() or len(description) > 1024:
        problems.append("description must be 1-1024 characters")
    if "license" in meta and not isinstance(meta["license"], str):
        problems.append("license must be a string")
    compatibility = meta.get("compatibility")
    if "compatibility" in meta and (not isinstance(compatibility, str) or not 1 <= len(compatibility) <= 500):
        problems.append("compatibility must be 1-500 characters")
    metadata = meta.get("metadata")
    if "metadata" in meta and (not isinstance(metadata, dict)
                               or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        problems.append("metadata must map strings to strings")
    if "allowed-tools" in meta and not isinstance(meta["allowed-tools"], str):
        problems.append("allowed-tools must be a space-delimited string")
    return problems


def skill_folders() -> list[Path]:
    return sorted(p for p in SKILLS.iterdir() if p.is_dir())


GOOD = {"name": "wallet", "description": "Does things. Use when needed."}


@pytest.mark.parametrize("change", [
    {"name": "Wallet"}, {"name": "-wallet"}, {"name": "wallet-"}, {"name": "wal--let"}, {"name": "w" * 65},
    {"name": "wallets"}, {"name": ""}, {"description": ""}, {"description": "x" * 1025},
    {"compatibility": "x" * 501}, {"metadata": {"version": 1}}, {"allowed-tools": ["wallet"]}, {"tags": "x"},
])
def test_the_frontmatter_check_rejects_what_the_spec_forbids(change: dict[str, Any]) -> None:
    assert frontmatter_problems(GOOD, "wallet") == []
    assert frontmatter_problems({**GOOD, **change}, "wallet")


@pytest.mark.parametrize("folder", skill_folders(), ids=lambda p: p.name)
def test_skill_frontmatter_and_body(folder: Path) -> None:
    meta, body = split_skill(folder / "SKILL.md")
    assert frontmatter_problems(meta, folder.name) == []
    assert len(body.splitlines()) < 500
    if folder.name in provider_names():  # another provider's skill (skills/wallgent/)
        assert meta["metadata"]["provider"] == folder.name
        return
    group = folder.name.replace("-", "_")
    assert group in REGISTRY.groups(), f"skill {folder.name} is not a tool group"
    assert meta["metadata"]["tool"] == group


def test_root_skill() -> None:
    meta, body = split_skill(ROOT / "SKILL.md")
    assert frontmatter_problems(meta, "agent-billing") == []
    assert len(body.splitlines()) < 500
    for needed in ("AGENT_BILLING_TOKEN", "AGENT_BILLING_BASE_URL", "agent-billing sandbox",
                   'BillingToolkit.from_env(approval="interrupt", mandate=mandate)'):
        assert needed in body


def test_every_tool_group_has_a_skill() -> None:
    for group in REGISTRY.groups():
        assert (SKILLS / group.replace("_", "-") / "SKILL.md").is_file(), group


def test_linked_files_exist() -> None:
    for path in [ROOT / "SKILL.md", *SKILLS.glob("*/SKILL.md")]:
        links = re.findall(r"\]\(([^)#\s]+\.md)\)", path.read_text(encoding="utf-8"))
        for link in links:
            assert (path.parent / link).is_file(), f"{path}: broken link {link}"


def test_generated_blocks_are_in_sync() -> None:
    assert sync_skills(ROOT, check=True) == []


def test_group_tables_cover_exactly_the_group() -> None:
    for group, ops in REGISTRY.groups().items():
        table = render_endpoint_table(group)
        rows = [line for line in table.splitlines() if line.startswith("| `")]
        assert [row.split("`")[1] for row in rows] == [op.action for op in ops]
        for row, op in zip(rows, ops, strict=True):
            assert f"`{op.method} {op.path}`" in row and f"| {needs_approval(op)} |" in row
    assert sum(line.startswith("| `") for line in render_endpoint_table(None).splitlines()) == len(REGISTRY) == 34


def test_needs_approval_follows_effects() -> None:
    assert needs_approval(REGISTRY.get("fund_wallet")) == "yes"
    assert needs_approval(REGISTRY.get("remove_payment_method")) == "yes"
    assert needs_approval(REGISTRY.get("enable_auto_funding")) == "yes"
    assert needs_approval(REGISTRY.get("withdraw")) == "yes"
    assert needs_approval(REGISTRY.get("redeem_coupon")) == "if it charges"
    assert needs_approval(REGISTRY.get("create_payment_link")) == "no"


@pytest.fixture
def copy_of_skills(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "SKILL.md", tmp_path / "SKILL.md")
    shutil.copytree(SKILLS, tmp_path / "skills")
    return tmp_path


def test_a_drifted_table_is_reported_then_fixed(copy_of_skills: Path) -> None:
    wallet = copy_of_skills / "skills" / "wallet" / "SKILL.md"
    original = wallet.read_text(encoding="utf-8")
    drifted = original.replace("`POST /wallet/fund`", "`POST /wallet/top-up`")
    assert drifted != original
    wallet.write_text(drifted, encoding="utf-8")

    assert sync_skills(copy_of_skills, check=True) == [wallet]
    assert wallet.read_text(encoding="utf-8") == drifted  # check only reports
    assert sync_skills(copy_of_skills) == [wallet]
    assert wallet.read_text(encoding="utf-8") == original
    assert sync_skills(copy_of_skills, check=True) == []


def test_drifted_rules_in_the_root_skill_are_reported(copy_of_skills: Path) -> None:
    root = copy_of_skills / "SKILL.md"
    text = root.read_text(encoding="utf-8")
    first_rule = render_rules("en").splitlines()[0]
    assert first_rule in text
    root.write_text(text.replace(first_rule, "1. Always retry the card."), encoding="utf-8")
    assert sync_skills(copy_of_skills, check=True) == [root]


def test_a_skill_without_its_table_is_an_error(copy_of_skills: Path) -> None:
    coupons = copy_of_skills / "skills" / "coupons" / "SKILL.md"
    text = coupons.read_text(encoding="utf-8")
    coupons.write_text(text.replace(BEGIN, "").replace(END, ""), encoding="utf-8")
    with pytest.raises(ValueError, match="expected one"):
        sync_skills(copy_of_skills, check=True)


def test_an_unknown_skill_with_a_table_is_an_error(copy_of_skills: Path) -> None:
    extra = copy_of_skills / "skills" / "refunds"
    extra.mkdir()
    (extra / "SKILL.md").write_text(f"---\nname: refunds\ndescription: x\n---\n{BEGIN}\n{END}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a tool group"):
        sync_skills(copy_of_skills, check=True)


def test_the_command_line_check(copy_of_skills: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from agent_billing.skill_docs import main

    assert main(["--check", "--root", str(copy_of_skills)]) == 0
    invoices = copy_of_skills / "skills" / "invoices" / "SKILL.md"
    invoices.write_text(invoices.read_text(encoding="utf-8").replace("All invoices.", "Some."), encoding="utf-8")
    assert main(["--check", "--root", str(copy_of_skills)]) == 1
    assert str(invoices) in capsys.readouterr().out
    assert main(["--root", str(copy_of_skills)]) == 0
    assert main(["--check", "--root", str(copy_of_skills)]) == 0
