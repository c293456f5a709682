"""MCP server for agent hosts: the billing tools and their guardrails over the Model Context Protocol.

``agent-billing mcp`` serves over stdio, ``agent-billing mcp --http --port PORT`` over streamable HTTP on
127.0.0.1, where every request needs ``Authorization: Bearer $AGENT_BILLING_MCP_TOKEN`` (unset: a token
generated for the run and printed once to stderr) and Host/Origin naming this server exactly. Beyond
loopback (``--host``) the server is an OAuth 2.1 resource server (``--oauth-issuer``, ``--oauth-resource``,
``--oauth-jwks-url``; ``mcp/oauth.py``) and keeps each token's tenant apart; without those it refuses to start.
Needs the ``mcp`` extra (``pip install 'agent-billing[mcp]'``): the ``mcp`` SDK's 2.x line, serving both
protocol revisions (2026-07-28 stateless, approvals by sealed multi-round-trip requests; 2025-11-25 sessions
with form and URL elicitation). Clients on the 1.x SDK, ``langchain-mcp-adapters`` among them, still connect.
The package imports the SDK only when a server class is asked for, so the CLI's options load without it.

Example:
    >>> from agent_billing.mcp import BillingMCPServer, ElicitationApprover
    >>> ElicitationApprover().describe()
    'mcp-elicitation'
"""

from __future__ import annotations

from typing import Any

__all__ = ["BillingMCPServer", "ElicitationApprover"]


def __getattr__(name: str) -> Any:
    if name == "BillingMCPServer":
        from agent_billing.mcp.server import BillingMCPServer

        return BillingMCPServer
    if name == "ElicitationApprover":
        from agent_billing.mcp.approver import ElicitationApprover

        return ElicitationApprover
    raise AttributeError(name)
