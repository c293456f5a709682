"""Generated parts of the skills: endpoint tables from the operation registry, payment-path rules from the advisor.

The root ``SKILL.md`` lists all operations; each ``skills/<group>/SKILL.md`` (folder = tool group with
``_`` written as ``-``) lists its group's. A table sits between two markers and nothing else in the
file is touched::

    <!-- BEGIN GENERATED: endpoints -->
    ...
    <!-- END GENERATED: endpoints -->

A file may also carry a ``payment-path-rules`` block: the advisor's decision procedure,
:func:`agent_billing.advisor.render_rules` for the file's provider, word for word.

Run ``python -m agent_billing.skill_docs`` to rewrite them, ``--check`` to only list stale files
(exit status 1 if any).

Example:
    >>> render_endpoint_table("coupons").splitlines()[2]
    '| action | endpoint | effect | needs approval | description |'
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from agent_billing.advisor import render_rules
from agent_billing.registry import Effect, Operation, Registry, default_provider, get_registry, provider_names

BEGIN = "<!-- BEGIN GENERATED: endpoints -->"
END = "<!-- END GENERATED: endpoints -->"
RULES_BLOCK = "payment-path-rules"
_BLOCK = re.compile(r"<!-- BEGIN GENERATED: ([\w-]+) -->\n?(.*?)<!-- END GENERATED: \1 -->", re.DOTALL)
_GATED = (Effect.CHARGE, Effect.AUTHORIZE, Effect.PAYOUT, Effect.DESTRUCTIVE)


def needs_approval(op: Operation) -> str:
    """``"yes"``, ``"no"``, or ``"if it charges"`` for operations whose effect depends on the arguments.

    Example:
        >>> from pydantic import BaseModel
        >>> from agent_billing.registry import Effect, Operation
        >>> def declared(effect: Effect, **extra: object) -> Operation:
        ...     return Operation("x", "g", "a", "POST", "/x", BaseModel, BaseModel, effect, "X.", **extra)
        >>> [needs_approval(declared(Effect.CHARGE)), needs_approval(declared(Effect.READ)),
        ...  needs_approval(declared(Effect.WRITE, effect_for=lambda args: Effect.CHARGE))]
        ['yes', 'no', 'if it charges']
    """
    if op.effect in _GATED:
        return "yes"
    return "if it charges" if op.effect_for is not None else "no"


def _effect(op: Operation) -> str:
    if op.effect_for is None:
        return op.effect.value
    return f"{op.effect.value}; charge with {op.amount_field}" if op.amount_field else f"{op.effect.value}; varies"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_endpoint_table(group: str | None = None, *, provider: str | None = None) -> str:
    """The Markdown endpoint table of one tool group, or of every operation when ``group`` is None.

    A group's table: action, endpoint (method and path), effect, needs approval, description. The full
    table: tool, action, method, path, effect. Paths are relative to the registry's base path.

    Example:
        >>> print(render_endpoint_table("invoices").splitlines()[4])
        | `list` | `GET /billing/invoices` | read | no | All invoices. |
    """
    registry = get_registry(provider)
    if group is None:
        lines = [f"All {len(registry)} operations; paths are under `{registry.base_path}`.", "",
                 "| tool | action | method | path | effect |", "|---|---|---|---|---|"]
        lines += [f"| `{op.group}` | `{op.action}` | {op.method} | `{op.path}` | {_effect(op)} |" for op in registry]
        return "\n".join(lines)
    ops = _group_ops(registry, group)
    lines = [f"Paths are under `{registry.base_path}`.", "",
             "| action | endpoint | effect | needs approval | description |", "|---|---|---|---|---|"]
    lines += [f"| `{op.action}` | `{op.method} {op.path}` | {_effect(op)} | {needs_approval(op)} | "
              f"{_cell(op.description)} |" for op in ops]
    return "\n".join(lines)


def _group_ops(registry: Registry, group: str) -> list[Operation]:
    groups = registry.groups()
    if group not in groups:
        raise KeyError(f"unknown tool group {group!r}; groups: {', '.join(groups)}")
    return groups[group]


def skill_files(root: Path, *, provider: str | None = None) -> list[tuple[Path, str | None]]:
    """The skill files with generated tables under ``root``, each with its group (None: the root file).

    ``root/SKILL.md`` and every ``root/skills/<group>/SKILL.md`` whose folder names a registry group
    must carry the markers; another skill folder may, only if it does not (an unknown group is an error).

    Example:
        >>> from agent_billing.resources import data_path
        >>> [g for _, g in skill_files(data_path())][:2]
        [None, 'billing']
    """
    groups = get_registry(provider).groups()
    found: list[tuple[Path, str | None]] = [(root / "SKILL.md", None)]
    for path in sorted((root / "skills").glob("*/SKILL.md")):
        group = path.parent.name.replace("-", "_")
        if group in groups:
            found.append((path, group))
        elif path.parent.name not in provider_names() and BEGIN in path.read_text(encoding="utf-8"):
            raise ValueError(f"{path}: has an endpoint table but {path.parent.name!r} is not a tool group")
    return found


def _rewrite(text: str, group: str | None, path: Path, provider: str | None) -> str:
    names = [m.group(1) for m in _BLOCK.finditer(text)]
    if names.count("endpoints") != 1:
        raise ValueError(f"{path}: expected one {BEGIN} ... {END} block, found {names.count('endpoints')}")
    unknown = sorted(set(names) - {"endpoints", RULES_BLOCK})
    if unknown:
        raise ValueError(f"{path}: unknown generated block(s) {', '.join(unknown)}")

    def render(match: re.Match[str]) -> str:
        name = match.group(1)
        body = render_endpoint_table(group, provider=provider) if name == "endpoints" else \
            render_rules("en", get_registry(provider).advisor)  # the rules this provider's paths can follow
        return f"<!-- BEGIN GENERATED: {name} -->\n{body}\n<!-- END GENERATED: {name} -->"

    return _BLOCK.sub(render, text)


def sync_skills(root: Path, check: bool = False, *, provider: str | None = None) -> list[Path]:
    """Rewrite the generated blocks under ``root``; return the files that changed (``check``: would change).

    Raises ``ValueError`` when a file that must carry a table has no markers (or more than one block).

    Example:
        >>> from agent_billing.resources import data_path
        >>> sync_skills(data_path(), check=True)
        []
    """
    changed: list[Path] = []
    targets = [(path, group, provider) for path, group in skill_files(root, provider=provider)]
    # A skill folder named after another provider (skills/<provider>/) carries that provider's full table.
    targets += [(root / "skills" / name / "SKILL.md", None, name) for name in provider_names()
                if name != (provider or default_provider()) and (root / "skills" / name / "SKILL.md").exists()]
    for path, group, owner in targets:
        text = path.read_text(encoding="utf-8")
        new = _rewrite(text, group, path, owner)
        if new != text:
            changed.append(path)
            if not check:
                path.write_text(new, encoding="utf-8")
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m agent_billing.skill_docs [--check] [--root DIR]``; exit status 1 when --check finds drift.

    Example:
        >>> main(["--check"])
        generated blocks are in sync
        0
    """
    from agent_billing.resources import data_path

    parser = argparse.ArgumentParser(prog="python -m agent_billing.skill_docs",
                                     description="Regenerate (or --check) the generated blocks of the skills.")
    parser.add_argument("--check", action="store_true", help="only list the files whose tables are stale")
    parser.add_argument("--root", type=Path, default=None, help="folder holding SKILL.md and skills/")
    args = parser.parse_args(argv)
    root = args.root if args.root is not None else data_path()
    changed = sync_skills(root, check=args.check)
    verb = "stale" if args.check else "updated"
    for path in changed:
        print(f"{verb}: {path}")
    if not changed:
        print("generated blocks are in sync")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
