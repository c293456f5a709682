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

APPROVALS_PATH = "/approvals"  # where this process serves the out-of-band approval page

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


def approver_from(args: argparse.Namespace, environ: Mapping[str, str], approvals_at: str | None = None,
                  fallback: Any = None) -> Any:
    """The server's approver: form elicitation (default), or out-of-band through the approval page.

    ``approvals_at``: where this process serves the page (its HTTP transport, or its sandbox), used when no
    ``--approval-base-url`` is given; ``fallback``: the notifier for clients without URL elicitation.

    Example:
        >>> ns = argparse.Namespace(approval="out-of-band", approval_base_url=None, approval_wait=None)
        >>> approver_from(ns, {}, "http://127.0.0.1:8765/approvals").base_url
        'http://127.0.0.1:8765/approvals'
        >>> approver_from(ns, {})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: --approval out-of-band needs --approval-base-url URL ...
    """
    from agent_billing.mcp.approver import ElicitationApprover
    from agent_billing.mcp.options import APPROVALS

    kind = option(args, "approval", environ) or APPROVALS[0]
    if kind not in APPROVALS:
        raise ValueError(f"${ENVIRONMENT['approval']} must be one of {', '.join(APPROVALS)}, not {kind!r}")
    if kind == APPROVALS[0]:
        return ElicitationApprover()
    from agent_billing.mcp.out_of_band import WAIT_SECONDS, UrlElicitationApprover

    base = option(args, "approval_base_url", environ) or approvals_at
    if base is None:
        raise ValueError("--approval out-of-band needs --approval-base-url URL (where your web app mounts "
                         "agent_billing.approval_page.approval_app over the same guardrail store), or --http (this "
                         "server serves the page at /approvals), or --sandbox")
    wait = option(args, "approval_wait", environ)
    return UrlElicitationApprover(base_url=base, fallback=fallback,
                                  wait=float(wait) if wait is not None else WAIT_SECONDS)


def build_toolkit(args: argparse.Namespace, environ: Mapping[str, str], client: Any, approvals_at: str | None = None,
                  fallback: Any = None) -> Any:
    """The server's toolkit: its approver (``approver_from``), the mandate, the allowed actions and scopes.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.inprocess import sandbox_clients
        >>> parser = argparse.ArgumentParser()
        >>> add_arguments(parser)
        >>> toolkit = build_toolkit(parser.parse_args(["--actions", "read_only"]), {}, sandbox_clients(create_app())[1])
        >>> toolkit.allows("wallet", "fund"), toolkit.guard.approver.describe()
        (False, 'mcp-elicitation')
    """
    from agent_billing.tools import BillingToolkit

    extra: dict[str, Any] = {}
    wait = option(args, "wait_timeout", environ)
    if wait is not None:
        extra["wait_timeout"] = float(wait)
    approver = approver_from(args, environ, approvals_at, fallback)
    return BillingToolkit(async_client=client, approval=approver, mandate=mandate_from(args, environ),
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
        # Where this process serves the approval page: its HTTP transport (the port is fixed once bound), else
        # its sandbox. In a sandbox demo a client without URL elicitation gets the link on stderr.
        approvals_at, fallback = (f"http://127.0.0.1:{args.port}{APPROVALS_PATH}" if args.http else None), None
        if args.sandbox:
            from agent_billing.guardrails.out_of_band import ConsoleNotifier
            from agent_billing.sandbox.server import SandboxServer

            sandbox = SandboxServer().start()
            connection = registry.connection
            client = client_class(base_url=sandbox.root_url + connection.sandbox_path, token=connection.sandbox_token,
                                  provider=registry.provider)
            _notice(f"serving {registry.provider} against the offline sandbox at {sandbox.root_url} "
                    "(no real money moves)")
            approvals_at = approvals_at or sandbox.root_url + APPROVALS_PATH
            fallback = ConsoleNotifier(write=_notice)
        else:
            client = client_class.from_env(provider=registry.provider)
        toolkit = build_toolkit(args, environ, client, approvals_at, fallback)
    except Exception as err:  # configuration: one line that says what to fix
        from agent_billing.cli import error_message  # the library's message, not pydantic's header

        _notice(error_message(err))
        if sandbox is not None:
            sandbox.stop()
        return 2
    server = BillingMCPServer(toolkit, state_key=environ.get(ENVIRONMENT["state_key"]) or None)
    try:
        if args.http:
            return _serve_http(server, args, environ)
        asyncio.run(server.run_stdio())
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        if sandbox is not None:
            sandbox.stop()


def oauth_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> Any:
    """The remote deployment's OAuth settings (``oauth.OAuthSettings``), or None when none is configured.

    Example:
        >>> ns = argparse.Namespace(oauth_issuer=None, oauth_resource=None, oauth_jwks_url=None)
        >>> oauth_settings(ns, {}) is None
        True
        >>> oauth_settings(argparse.Namespace(oauth_issuer="https://a", oauth_resource=None, oauth_jwks_url=None), {})
        Traceback (most recent call last):
        ...
        ValueError: remote HTTP needs all of --oauth-issuer, --oauth-resource and --oauth-jwks-url
    """
    values = [option(args, name, environ) for name in ("oauth_issuer", "oauth_resource", "oauth_jwks_url")]
    if not any(values):
        return None
    if not all(values):
        raise ValueError("remote HTTP needs all of --oauth-issuer, --oauth-resource and --oauth-jwks-url")
    from agent_billing.mcp.oauth import OAuthSettings

    return OAuthSettings(issuer=values[0], resource=values[1], jwks_url=values[2])


def _serve_http(server: Any, args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    import uvicorn

    from agent_billing.mcp.http_guard import LOOPBACK_NAMES, TOKEN_VARIABLE, bearer_token

    host, port = option(args, "host", environ) or "127.0.0.1", args.port
    try:
        settings = oauth_settings(args, environ)
        if settings is None and host not in LOOPBACK_NAMES:
            # Beyond loopback anyone who reaches the port could act on the account: authorization is not optional.
            raise ValueError(f"refusing to listen on {host} without authorization: serve on 127.0.0.1, or set "
                             "--oauth-issuer, --oauth-resource and --oauth-jwks-url (an OAuth 2.1 resource server)")
        if settings is not None and _page_here(args, environ):
            raise ValueError("remote HTTP with --approval out-of-band needs --approval-base-url: the approval page "
                             "must be served where the person's browser reaches it (mount "
                             "agent_billing.approval_page.approval_app over the same guardrail store)")
        token, generated = bearer_token(environ) if settings is None else ("", False)
    except ValueError as err:
        _notice(str(err))
        return 2
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except OSError as err:
        sock.close()
        _notice(f"cannot listen on {host}:{port}: {err.strerror or err}")
        return 1
    if settings is not None:
        app = _oauth_app(server, settings)
        _notice(f"streamable HTTP at http://{host}:{sock.getsockname()[1]}/mcp (OAuth 2.1 resource server for "
                f"{settings.resource}; tokens from {settings.issuer})")
    else:
        if generated:  # the one place the token is ever shown: the deployer's own terminal, once
            _notice(f"no ${TOKEN_VARIABLE} set; this run's bearer token (send 'Authorization: Bearer <token>'): "
                    f"{token}")
        _notice(f"streamable HTTP at http://127.0.0.1:{sock.getsockname()[1]}/mcp (loopback only; bearer token "
                f"{'generated above' if generated else 'from $' + TOKEN_VARIABLE} required)")
        app = server.http_app(token, approvals=_served_approvals(server, args, environ, sock.getsockname()[1]))
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
    return 0


def _page_here(args: argparse.Namespace, environ: Mapping[str, str]) -> bool:
    """Whether this HTTP server serves the approval page itself (out-of-band, no base URL of the deployer's)."""
    return option(args, "approval", environ) == "out-of-band" and not option(args, "approval_base_url", environ)


def _served_approvals(server: Any, args: argparse.Namespace, environ: Mapping[str, str], port: int) -> Any:
    """The store whose approval page this HTTP server serves at /approvals (None: it serves none); the
    approver's links then point at the bound port."""
    if not _page_here(args, environ):
        return None
    approver = server.toolkit.guard.approver
    approver.base_url = f"http://127.0.0.1:{port}{APPROVALS_PATH}"
    return approver.store


def _oauth_app(server: Any, settings: Any) -> Any:
    """Per tenant: the same provider client and settings, the tenant's scopes, state under the tenant's key."""
    from agent_billing.guardrails.store import open_store
    from agent_billing.mcp.oauth import Tenant, TenantStore, oauth_app
    from agent_billing.mcp.server import BillingMCPServer

    base = server.toolkit
    store = open_store(base.store)

    def make_server(tenant: Tenant) -> Any:
        scopes = list(tenant.scopes) if base.scopes is None else [s for s in base.scopes if s in tenant.scopes]
        toolkit = base.model_copy(update={"store": TenantStore(store, tenant), "scopes": scopes, "progress": None})
        toolkit.model_post_init(None)  # its own guard, stores and tools
        return BillingMCPServer(toolkit, state_key=server.state_key)

    return oauth_app(settings, make_server)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m agent_billing.mcp``: parse the options and serve.

    Example:
        >>> main(["--sandbox", "--actions", "wallet.fnud"])  # an unknown action: refused before serving
        2
    """
    parser = argparse.ArgumentParser(prog="agent-billing mcp", description="Serve the billing tools to MCP hosts.")
    add_arguments(parser)
    return run(parser.parse_args(argv))
