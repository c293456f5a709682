"""The agent-billing command: an offline sandbox, a scripted demo and a chat with a real model.

Example:
    $ agent-billing sandbox --port 8787
    $ agent-billing demo --yes
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence

from agent_billing import __version__

DEFAULT_SANDBOX_TOKEN = "sk_sandbox_demo"
# Which optional modules each extra brings; a command that needs one says which extra to install.
EXTRAS: dict[str, tuple[str, ...]] = {
    "sandbox": ("starlette", "uvicorn"),
    "demo": ("starlette", "uvicorn", "rich"),
    "langchain": ("langchain",),
    "mcp": ("mcp",),
    "receipts": ("cryptography",),
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or half-removed install counts as missing
        return False


def missing_extra(*extras: str, installed: Callable[[str], bool] = _installed) -> str | None:
    """A one-line install hint for the first of ``extras`` whose modules are not installed, else None.

    Example:
        >>> missing_extra("sandbox") is None  # installed in the test environment
        True
        >>> missing_extra("sandbox", "demo", installed=lambda module: module != "rich")[:71]
        "this command needs the 'demo' extra: pip install 'agent-billing[demo]' "
    """
    for extra in extras:
        if not all(installed(module) for module in EXTRAS[extra]):
            return f"this command needs the {extra!r} extra: {install_hint(extra)}"
    return None


def install_hint(extra: str) -> str:
    """How to install ``extra``: from a checkout, since the package is not yet on PyPI.

    Example:
        >>> install_hint("sandbox")
        "pip install 'agent-billing[sandbox]' (not yet on PyPI: in a checkout, pip install -e '.[sandbox]')"
    """
    return f"pip install 'agent-billing[{extra}]' (not yet on PyPI: in a checkout, pip install -e '.[{extra}]')"


def error_message(exc: BaseException) -> str:
    """The library's own message of ``exc`` on one line: for a pydantic validation error, what each
    validator said (not pydantic's "1 validation error for ..." header), else the whole text.

    Example:
        >>> from agent_billing import BillingToolkit
        >>> try:
        ...     BillingToolkit(actions="read_only")
        ... except ValueError as exc:
        ...     error_message(exc)
        'BillingToolkit needs client= and/or async_client= (or use BillingToolkit.from_env())'
        >>> error_message(LookupError("no such\\n  thing"))
        'no such thing'
    """
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        parts = []
        for problem in exc.errors():
            message = problem["msg"].removeprefix("Value error, ")
            where = ".".join(str(part) for part in problem.get("loc", ()))
            parts.append(f"{where}: {message}" if where else message)
        return "; ".join(parts)
    return " ".join(str(exc).split()) or type(exc).__name__


def _sandbox(args: argparse.Namespace) -> int:
    from agent_billing.sandbox.server import serve

    return serve(
        host=args.host,
        port=args.port,
        tokens=getattr(args, "token", None) or [DEFAULT_SANDBOX_TOKEN],
        reseller_tokens=args.reseller_token or [],
        db_path=args.db,
        rate_limit=not args.no_rate_limit,
        log_requests=args.log,
        faults=args.faults,
        fault_seed=args.fault_seed,
    )


def _openapi(args: argparse.Namespace) -> int:
    import json

    from agent_billing.openapi import openapi_document
    from agent_billing.registry import get_registry

    try:
        registry = get_registry(args.provider)
    except KeyError as err:
        print(f"agent-billing openapi: {err.args[0]}", file=sys.stderr)
        return 2
    print(json.dumps(openapi_document(registry), indent=2))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from agent_billing.demo.runner import demo_part, run_demo
    from agent_billing.provider import get_provider, provider_names

    try:
        demo_part(args.provider)
    except LookupError as err:
        # Only providers whose package has a ``demo`` part have scenes; name them so the fix is one word.
        with_scenes = [name for name in provider_names() if get_provider(name).part("demo") is not None]
        print(f"agent-billing demo: {err.args[0]}; providers with a demo: {', '.join(with_scenes) or 'none'}",
              file=sys.stderr)
        return 2
    return run_demo(auto_yes=args.yes, verbose=args.verbose, provider=args.provider)


def _mcp(args: argparse.Namespace) -> int:
    from agent_billing.mcp.command import run

    return run(args)


def _chat(args: argparse.Namespace) -> int:
    from agent_billing.demo.chat import run_chat

    return run_chat(model=args.model, use_sandbox=not args.live, provider=args.provider)


def _audit(args: argparse.Namespace) -> int:
    from datetime import datetime

    from agent_billing.audit_commands import export_command, verify_command

    target = args.store or args.file
    try:
        if args.audit_command == "verify":
            return verify_command(target, key_files=args.key_file or (), heads=args.head or (),
                                  require_key=args.require_key)
        since = datetime.fromisoformat(args.since).astimezone() if args.since else None
        until = datetime.fromisoformat(args.until).astimezone() if args.until else None
        return export_command(target, since, until)
    except (OSError, ValueError, RuntimeError) as err:  # a missing file, a bad date, an unreachable store
        print(f"agent-billing audit {args.audit_command}: {err}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``agent-billing`` command.

    Example:
        >>> args = build_parser().parse_args(["sandbox", "--port", "0"])
        >>> args.command, args.host, args.port
        ('sandbox', '127.0.0.1', 0)
    """
    from agent_billing.registry import default_provider, provider_names  # names only; no provider is imported

    parser = argparse.ArgumentParser(prog="agent-billing", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"agent-billing {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    defaults = argparse.ArgumentDefaultsHelpFormatter

    sandbox = sub.add_parser("sandbox", help="run the offline sandbox control plane on loopback", formatter_class=defaults,
                             description="Run the offline sandbox control plane on loopback (needs the 'sandbox' extra).")
    sandbox.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    sandbox.add_argument("--port", type=int, default=8787, help="port (0 picks a free one)")
    # SUPPRESS: no attribute unless given, so the help shows the real default once (not also "None").
    sandbox.add_argument("--token", action="append", default=argparse.SUPPRESS,
                         help=f"access token of a sandbox account, repeatable (default: {DEFAULT_SANDBOX_TOKEN})")
    sandbox.add_argument("--reseller-token", action="append", help="token of a reseller account (may pay out)")
    sandbox.add_argument("--db", default=":memory:", help="SQLite ledger file (':memory:' keeps nothing)")
    sandbox.add_argument("--no-rate-limit", action="store_true", help="turn the rate limiters off (load tests)")
    sandbox.add_argument("--log", action="store_true", help="print each request the agent makes, with its status")
    sandbox.add_argument("--faults", metavar="SPEC", help="inject faults into money-moving requests, e.g. "
                         "'drop_after_commit=0.1,garble=0.05' (kinds: drop_after_commit, error_before_commit, delay, "
                         "reset, rate_limit, garble)")
    sandbox.add_argument("--fault-seed", type=int, metavar="N", help="seed of the fault draws (same seed, same faults)")
    sandbox.set_defaults(func=_sandbox, extras=("sandbox",))

    openapi = sub.add_parser("openapi", help="print the OpenAPI 3.1 document of the billing API",
                             formatter_class=defaults)
    openapi.add_argument("--provider", default=default_provider(),
                         help=f"provider whose operations to describe: {', '.join(provider_names())}")
    openapi.set_defaults(func=_openapi, extras=())

    demo = sub.add_parser("demo", help="run a scripted agent through the three payment paths, offline",
                          formatter_class=defaults,
                          description="A scripted agent walks the three payment paths against the embedded sandbox "
                                      "(offline, no keys; needs the 'demo' extra).")
    demo.add_argument("--yes", action="store_true", help="approve every request automatically (no terminal needed)")
    demo.add_argument("--verbose", action="store_true", help="show each tool result's raw JSON, not a summary")
    demo.add_argument("--provider", default=default_provider(), choices=provider_names(),
                      help="provider whose scenes play (its package's demo part)")
    demo.set_defaults(func=_demo, extras=("demo",))

    chat = sub.add_parser("chat", help="chat with an agent that holds the billing tools (real chat model)",
                          formatter_class=defaults,
                          description="Chat with a real model that holds the billing tools, against the sandbox "
                                      "(needs the 'demo' and 'langchain' extras and the provider's package and key).")
    chat.add_argument("--model", required=True, help="PROVIDER:MODEL for langchain's init_chat_model")
    chat.add_argument("--live", action="store_true", help="use the real API from the environment, not the sandbox")
    chat.add_argument("--provider", default=default_provider(), choices=provider_names(),
                      help="billing provider whose tools the agent holds")
    chat.set_defaults(func=_chat, extras=("demo", "langchain"))

    from agent_billing.mcp.options import add_arguments  # argparse only; the MCP SDK loads when serving

    mcp = sub.add_parser("mcp", help="serve the billing tools to MCP hosts (stdio, or --http on loopback)",
                         description="Serve the billing tools, with their guardrails, to MCP hosts; approvals are "
                                     "asked through the client (needs the 'mcp' extra).")
    add_arguments(mcp)
    mcp.set_defaults(func=_mcp, extras=("mcp",))

    audit = sub.add_parser("audit", help="verify or export the tamper-evident audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    for name, text in (("verify", "walk each audit chain and report the first record changed, removed or inserted"),
                       ("export", "write the records of a period as JSON lines (for a dispute)")):
        command = audit_sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        command.add_argument("file", nargs="?", help="a JSON Lines audit file (default: the configured store)")
        command.add_argument("--store", metavar="URL", help="a store URL (default: $AGENT_BILLING_STORE_URL)")
        if name == "verify":
            command.add_argument("--key-file", action="append", metavar="PATH",
                                 help="a file of audit keys (one a line), repeatable; also read: "
                                      "$AGENT_BILLING_AUDIT_KEY and the writer's audit.key")
            command.add_argument("--head", action="append", metavar="[CHAIN=]HASH",
                                 help="a head noted earlier: fail if it is not in the chain (records cut from "
                                      "its end), repeatable")
            command.add_argument("--require-key", action="store_true",
                                 help="fail on unkeyed records (older logs, or rewritten without the key)")
        if name == "export":
            command.add_argument("--since", metavar="ISO_TIME", help="first moment included (local time if no zone)")
            command.add_argument("--until", metavar="ISO_TIME", help="first moment excluded")
    audit.set_defaults(func=_audit, extras=())

    from agent_billing.receipt_commands import add_parser as add_receipt_commands  # argparse only until run

    add_receipt_commands(sub)

    from agent_billing.mandates_cli import add_parser as add_mandates  # spend authorities (its own module)

    add_mandates(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``agent-billing`` console script.

    Example (``main(["demo", "--yes"])`` runs the demo the same way, in a few seconds):
        >>> main(["openapi"])  # doctest: +ELLIPSIS
        {
          "openapi": "3.1.0",
        ...
        0
    """
    args = build_parser().parse_args(argv)
    hint = missing_extra(*args.extras)
    if hint is not None:
        print(f"agent-billing {args.command}: {hint}", file=sys.stderr)
        return 2
    try:
        result: int = args.func(args)
    except KeyboardInterrupt:
        # Ctrl-C at a prompt (an approval, the chat): stop without a traceback; nothing asked was approved.
        print(f"\nagent-billing {args.command}: interrupted (nothing more was approved)", file=sys.stderr)
        return 130
    except EOFError:
        # Ctrl-D (end of input) at a prompt: the same, as a normal end.
        print(f"\nagent-billing {args.command}: end of input (nothing more was approved)", file=sys.stderr)
        return 0
    except BrokenPipeError:
        # The reader left (``agent-billing openapi | head``): not an error of ours, and no traceback. Point
        # stdout at /dev/null so the interpreter's final flush does not raise again (Python's documented fix).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell reports for a command ended by SIGPIPE
    return result


if __name__ == "__main__":
    sys.exit(main())
