"""No docstring example in the package is skipped: an example marked ``# doctest: +SKIP`` never runs.

The project standard asks for examples that run (pytest collects them with ``--doctest-modules``); a
skipped one can drift from the code unnoticed. Nothing is allowed to be skipped.
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "plugin" / "agent_billing"
# The directive as doctest reads it: a comment on any source line of an example, SKIP among its options.
SKIP_DIRECTIVE = re.compile(r"#\s*doctest:[^\n'\"]*[+]SKIP\b")


def skipped_examples(source: str) -> list[int]:
    """The 1-based numbers of the lines of ``source`` that skip a docstring example."""
    return [number for number, line in enumerate(source.splitlines(), start=1) if SKIP_DIRECTIVE.search(line)]


def test_the_detector_sees_what_doctest_skips() -> None:
    docstring = '''
    >>> 1 + 1
    2
    >>> print("later")  # doctest: +ELLIPSIS, +SKIP
    >>> 3  # doctest:+SKIP
    >>> 4  # doctest: +ELLIPSIS
    4
    '''
    examples = doctest.DocTestParser().get_examples(docstring)
    skipped = [example.lineno + 1 for example in examples if example.options.get(doctest.SKIP)]
    assert skipped == [4, 5]
    assert skipped_examples(docstring) == skipped


def test_no_example_in_the_package_is_skipped() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 50, PACKAGE  # the package was found, not an empty directory
    found = [f"{path.relative_to(PACKAGE.parent)}:{line}"
             for path in modules for line in skipped_examples(path.read_text(encoding="utf-8"))]
    assert found == [], "docstring examples skipped whole; make them run instead:\n" + "\n".join(found)
