"""The options of ``agent-billing mcp`` (no MCP SDK import: ``--help`` works without the extra).

Every option has an environment variable, so a host's MCP configuration can set them in ``env``; a
flag wins over its variable. The token and base URL come from the variables the provider declares, as for
the toolkit (``AGENT_BILLING_TOKEN`` and ``AGENT_BILLING_BASE_URL`` for the default provider; each other
provider's own, named by its ``Connection``, with ``--provider NAME``).

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> add_arguments(parser)
    >>> args = parser.parse_args(["--http", "--port", "0", "--actions", "chatbot"])
    >>> args.http, args.port, args.actions
    (True, 0, 'chatbot')
"""

from __future__ import annotations

import argparse

ENVIRONMENT = {
    "provider": "AGENT_BILLING_PROVIDER",
    "actions": "AGENT_BILLING_ACTIONS",
    "scopes": "AGENT_BILLING_SCOPES",
    "granularity": "AGENT_BILLING_GRANULARITY",
    "max_per_charge": "AGENT_BILLING_MAX_PER_CHARGE",
    "max_per_24h": "AGENT_BILLING_MAX_PER_24H",
    "auto_approve": "AGENT_BILLING_AUTO_APPROVE",
    "wait_timeout": "AGENT_BILLING_WAIT_TIMEOUT",
    # No flag: a flag would show the token in every process listing.
    "http_token": "AGENT_BILLING_MCP_TOKEN",
    "host": "AGENT_BILLING_MCP_HOST",
    "oauth_issuer": "AGENT_BILLING_OAUTH_ISSUER",
    "oauth_resource": "AGENT_BILLING_OAUTH_RESOURCE",
    "oauth_jwks_url": "AGENT_BILLING_OAUTH_JWKS_URL",
    "state_key": "AGENT_BILLING_MCP_STATE_KEY",
    "approval": "AGENT_BILLING_APPROVAL",
    "approval_base_url": "AGENT_BILLING_APPROVAL_BASE_URL",
    "approval_wait": "AGENT_BILLING_APPROVAL_WAIT",
}
APPROVALS = ("elicitation", "out-of-band")  # how a person is asked: in the MCP client, or on the approval page


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``mcp`` command's options to ``parser``.

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> add_arguments(parser)
        >>> parser.parse_args([]).port
        8765
    """
    parser.add_argument("--http", action="store_true",
                        help="serve streamable HTTP on 127.0.0.1 (default: stdio); every request needs "
                             f"'Authorization: Bearer ${ENVIRONMENT['http_token']}' (unset: a token is generated "
                             "and printed once to stderr)")
    parser.add_argument("--port", type=int, default=8765, help="HTTP port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--host", help=f"HTTP address to listen on (${ENVIRONMENT['host']}; default 127.0.0.1); "
                        "anything but loopback needs --oauth-issuer, --oauth-resource and --oauth-jwks-url")
    parser.add_argument("--oauth-issuer", help=f"remote HTTP: the authorization server whose tokens are accepted "
                        f"(${ENVIRONMENT['oauth_issuer']})")
    parser.add_argument("--oauth-resource", help=f"remote HTTP: this endpoint's public URL, the tokens' audience "
                        f"(${ENVIRONMENT['oauth_resource']})")
    parser.add_argument("--oauth-jwks-url", help=f"remote HTTP: the authorization server's JWKS "
                        f"(${ENVIRONMENT['oauth_jwks_url']})")
    parser.add_argument("--sandbox", action="store_true",
                        help="serve against an offline sandbox started on a loopback port (no token needed)")
    from agent_billing.registry import provider_names

    names = provider_names()
    parser.add_argument("--provider", choices=names, help=f"which billing API (${ENVIRONMENT['provider']}; default "
                        f"{names[0]}); its key and base URL come from that provider's own variables")
    parser.add_argument("--actions", help="allowed group.action names or globs, comma-separated, or a preset: "
                        f"read_only, chatbot, autonomous, full (${ENVIRONMENT['actions']}; default full)")
    parser.add_argument("--scopes", help=f"the token's scopes, comma-separated, e.g. wallet:read,billing:read "
                        f"(${ENVIRONMENT['scopes']}); actions outside them are hidden")
    parser.add_argument("--granularity", choices=("group", "operation"),
                        help=f"one tool per group or per operation (${ENVIRONMENT['granularity']}; default group)")
    parser.add_argument("--max-per-charge", metavar="USD", help=f"mandate: cap per charge (${ENVIRONMENT['max_per_charge']})")
    parser.add_argument("--max-per-24h", metavar="USD", help=f"mandate: cap per rolling 24 h (${ENVIRONMENT['max_per_24h']})")
    parser.add_argument("--auto-approve", action="store_true", default=None,
                        help=f"charges inside the mandate's caps need no person (${ENVIRONMENT['auto_approve']}=1); "
                             "needs a cap")
    parser.add_argument("--approval", choices=APPROVALS,
                        help=f"how the person is asked (${ENVIRONMENT['approval']}; default elicitation: a form in the "
                             "MCP client); out-of-band: a one-time approval page, shown by the client as a URL "
                             "elicitation, decided on the page")
    parser.add_argument("--approval-base-url", metavar="URL",
                        help=f"out-of-band: where the approval page is served over the same guardrail store "
                             f"(${ENVIRONMENT['approval_base_url']}; default: this server's /approvals with --http, "
                             "else the sandbox's with --sandbox)")
    parser.add_argument("--approval-wait", type=float, metavar="SECONDS",
                        help=f"out-of-band: how long one call waits for the decision on the page "
                             f"(${ENVIRONMENT['approval_wait']}; default 120)")
    parser.add_argument("--wait-timeout", type=float, metavar="SECONDS",
                        help=f"how long to wait for a person's payment (${ENVIRONMENT['wait_timeout']}; default 300)")
