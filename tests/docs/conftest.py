"""Prints what ``test_readme_runs.py`` skipped (with why) and how long its fresh environments took."""

from __future__ import annotations

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    report = getattr(config, "agent_billing_readme_report", None)
    if report is None:
        return
    skipped, timings = report
    terminalreporter.section("README blocks in fresh environments")
    for line in skipped:
        terminalreporter.write_line(f"skipped {line}")
    for what, seconds in timings.items():
        label = what if what.startswith("run ") else f"venv {what}"
        terminalreporter.write_line(f"{seconds:7.1f} s  {label}")
    if timings:
        terminalreporter.write_line(f"{sum(timings.values()):7.1f} s  in all")
