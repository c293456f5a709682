"""``agent-billing mcp``: build the toolkit from the environment and flags, then serve it over stdio or HTTP.

Over stdio nothing but the protocol goes to stdout: notices go to stderr. Over HTTP the server binds
127.0.0.1 only and serves only requests that carry the bearer token (``$AGENT_BILLING_MCP_TOKEN``, or
one generated and printed once to stderr) and name this server exactly in Host and Origin
(``http_guard``).

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> add_arguments(parser)
    >>> mandate = mandate_from(parser.parse_args(["--auto-approve"]), {"AGENT_BILLING_MAX_PER_CHARGE": "25"})
    >>> mandate.max_per_charge, mandate.max_per_24h, mandate.auto_approve
    (Decimal('25.00'), None, True)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from agent_billing.guardrails.mandate import Mandate
from agent_billing.mcp.options import ENVIRONMENT, add_arguments

_TRUE = {"1", "true", "yes", "on"}


def option(args: argparse.Namespace, name: str, environ: Mapping[str, str]) -> Any:
    """A flag's value, else its environment variable's (None when neither is set).

    Example:
        >>> option(argparse.Namespace(actions=None), "actions", {"AGENT_BILLING_ACTIONS": "read_only"})
        'read_only'
    """
    value = getattr(args, name, None)
    return value if value is not None else environ.get(ENVIRONMENT[name]) or None


def _names(value: str | None) -> list[str] | None:
    return [part.strip() for part in value.split(",") if part.strip()] if value else None


def mandate_from(args: argparse.Namespace, environ: Mapping[str, str]) -> Mandate | None:
    """The deployer's mandate from flags and environment; None when no cap and no auto-approval is set.

    Auto-approval without a cap would let the agent spend without limit: refused.

    Example:
        >>> mandate_from(argparse.Namespace(max_per_charge=None, max_per_24h=None, auto_approve=None), {}) is None
        True
        >>> mandate_from(argparse.Namespace(max_per_charge=None, max_per_24h=None, auto_approve=True), {})
        Traceback (most recent call last):
        ...
        ValueError: --auto-approve needs a cap: add --max-per-charge and/or --max-per-24h
    """
    per_charge, per_day = option(args, "max_per_charge", environ), option(args, "max_per_24h", environ)
    auto = option(args, "auto_approve", environ)
    auto_approve = auto is True or (isinstance(auto, str) and auto.strip().lower() in _TRUE)
    if per_charge is None and per_day is None:
        if auto_approve:
            raise ValueError("--auto-approve needs a cap: add --max-per-charge and/or --max-per-24h")
        return None
    return Mandate(name="mcp", max_per_charge=per_charge, max_per_24h=per_day, auto_approve=auto_approve)


def build_toolkit(args: argparse.Namespace, environ: Mapping[str, str], client: Any) -> Any:
    """The server's toolkit: elicitation approvals, the mandate, the allowed actions and scopes.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.inprocess import sandbox_clients
        >>> parser = argparse.ArgumentParser()
        >>> add_arguments(parser)
        >>> toolkit = build_toolkit(parser.parse_args(["--actions", "read_only"]), {}, sandbox_clients(create_app())[1])
        >>> toolkit.allows("wallet", "fund"), toolkit.guard.approver.describe()
        (False, 'mcp-elicitation')
    """
    from agent_billing.mcp.approver import ElicitationApprover
    from agent_billing.tools import BillingToolkit

    extra: dict[str, Any] = {}
    wait = option(args, "wait_timeout", environ)
    if wait is not None:
        extra["wait_timeout"] = float(wait)
    return BillingToolkit(async_client=client, approval=ElicitationApprover(), mandate=mandate_from(args, environ),
                          actions=_names(option(args, "actions", environ)),
                          scopes=_names(option(args, "scopes", environ)),
                          granularity=option(args, "granularity", environ) or "group", **extra)


def _notice(text: str) -> None:
    print(f"agent-billing mcp: {text}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> int:
    """Serve until the client disconnects (stdio) or the process is stopped (HTTP); the exit code.

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> add_arguments(parser)
        >>> run(parser.parse_args(["--sandbox", "--auto-approve"]))  # a configuration error: one line on stderr
        2
    """
    from agent_billing.client import provider_clients
    from agent_billing.mcp.server import BillingMCPServer
    from agent_billing.registry import get_registry

    environ = os.environ if environ is None else environ
    sandbox = None
    try:
        registry = get_registry(option(args, "provider", environ))
        client_class = provider_clients(registry)[1]  # the provider's typed async client
        if args.sandbox:
            from agent_billing.sandbox.server import SandboxServer

            sandbox = SandboxServer().start()
            connection = registry.connection
            client = client_class(base_url=sandbox.root_url + connection.sandbox_path, token=connection.sandbox_token,
                                  provider=registry.provider)
            _notice(f"serving {registry.provider} against the offline sandbox at {sandbox.root_url} "
                    "(no real money moves)")
        else:
            client = client_class.from_env(provider=registry.provider)
        toolkit = build_toolkit(args, environ, client)
    except Exception as err:  # configuration: one line that says what to fix
        from agent_billing.cli import error_message  # the library's message, not pydantic's header

        _notice(error_message(err))
        if sandbox is not None:
            sandbox.stop()
        return 2
    server = BillingMCPServer(toolkit)
    try:
        if args.http:
            return _serve_http(server, args.port, environ)
        asyncio.run(server.run_stdio())
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        if sandbox is not None:
            sandbox.stop()


def _serve_http(server: Any, port: int, environ: Mapping[str, str]) -> int:
    import uvicorn

    from agent_billing.mcp.http_guard import TOKEN_VARIABLE, bearer_token

    try:
        token, generated = bearer_token(environ)
    except ValueError as err:
        _notice(str(err))
        return 2
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))  # loopback only: the server acts on the account without further auth
        sock.listen(128)
    except OSError as err:
        sock.close()
        _notice(f"cannot listen on 127.0.0.1:{port}: {err.strerror or err}")
        return 1
    if generated:  # the one place the token is ever shown: the deployer's own terminal, once
        _notice(f"no ${TOKEN_VARIABLE} set; this run's bearer token (send 'Authorization: Bearer <token>'): {token}")
    _notice(f"streamable HTTP at http://127.0.0.1:{sock.getsockname()[1]}/mcp (loopback only; bearer token "
            f"{'generated above' if generated else 'from $' + TOKEN_VARIABLE} required)")
    config = uvicorn.Config(server.http_app(token), log_level="warning", access_log=False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m agent_billing.mcp``: parse the options and serve.

    Example:
        >>> main(["--sandbox", "--actions", "wallet.fnud"])  # an unknown action: refused before serving
        2
    """
    parser = argparse.ArgumentParser(prog="agent-billing mcp", description="Serve the billing tools to MCP hosts.")
    add_arguments(parser)
    return run(parser.parse_args(argv))
