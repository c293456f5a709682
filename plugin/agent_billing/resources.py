"""Where the pack's data files are: prompts, skills and the root ``SKILL.md``.

A wheel carries them inside the package, under ``agent_billing/_data/`` (pyproject's ``force-include``);
a source checkout keeps them at the repository root. :func:`data_path` looks in that order.

Example:
    >>> data_path("prompts", "system.en.md").name
    'system.en.md'
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
PACKAGED_ROOT = _PACKAGE / "_data"
# plugin/agent_billing/resources.py -> the repository root is two levels above the package.
SOURCE_ROOT = _PACKAGE.parent.parent


def data_path(*parts: str) -> Path:
    """The path of a data file or folder: the packaged copy if there is one, else the source checkout's.

    With no ``parts``, the data root itself. Raises ``FileNotFoundError`` naming both places when neither
    has it.

    Example:
        >>> (data_path("skills", "wallet", "SKILL.md").parent.name, data_path("SKILL.md").is_file())
        ('wallet', True)
    """
    for root in (PACKAGED_ROOT, SOURCE_ROOT):
        candidate = root.joinpath(*parts)
        if root.is_dir() and candidate.exists():
            return candidate
    where = "/".join(parts) or "."
    raise FileNotFoundError(f"agent-billing data file {where!r} is neither in {PACKAGED_ROOT} nor in {SOURCE_ROOT}")


__all__ = ["data_path"]
