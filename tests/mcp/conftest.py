"""Fixtures of the MCP tests: the tool tests' toolkit factory (re-exported so pytest finds it here)."""

from __future__ import annotations

from tests.tools.conftest import clients, make_toolkit

__all__ = ["clients", "make_toolkit"]
