"""The ``agent-billing`` command: ``sandbox``, ``demo`` and ``chat``.

Example:
    $ agent-billing sandbox --port 8787 --token sk_sandbox_demo
    $ agent-billing demo --yes
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _sandbox(args: argparse.Namespace) -> int:
    from agent_billing.sandbox.server import serve

    return serve(
        host=args.host,
        port=args.port,
        tokens=args.token or ["sk_sandbox_demo"],
        reseller_tokens=args.reseller_token or [],
        db_path=args.db,
        rate_limit=not args.no_rate_limit,
    )


def _demo(args: argparse.Namespace) -> int:
    from agent_billing.demo.runner import run_demo

    return run_demo(auto_yes=args.yes)


def _chat(args: argparse.Namespace) -> int:
    from agent_billing.demo.chat import run_chat

    return run_chat(model=args.model, use_sandbox=not args.live)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``agent-billing`` command.

    Example:
        >>> args = build_parser().parse_args(["sandbox", "--port", "0"])
        >>> args.command, args.host, args.port
        ('sandbox', '127.0.0.1', 0)
    """
    parser = argparse.ArgumentParser(prog="agent-billing", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)

    sandbox = sub.add_parser("sandbox", help="run the offline sandbox control plane on loopback")
    sandbox.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=8787, help="port (0 picks a free one)")
    sandbox.add_argument("--token", action="append", help="access token of a sandbox account (repeatable)")
    sandbox.add_argument("--reseller-token", action="append", help="token of a reseller account (may withdraw)")
    sandbox.add_argument("--db", default=":memory:", help="SQLite ledger file (default: in memory)")
    sandbox.add_argument("--no-rate-limit", action="store_true", help="turn the rate limiters off (load tests)")
    sandbox.set_defaults(func=_sandbox)

    demo = sub.add_parser("demo", help="run a scripted agent through the three payment paths, offline")
    demo.add_argument("--yes", action="store_true", help="approve every request automatically (no terminal needed)")
    demo.set_defaults(func=_demo)

    chat = sub.add_parser("chat", help="chat with an agent that holds the billing tools (real chat model)")
    chat.add_argument("--model", required=True, help="PROVIDER:MODEL for langchain's init_chat_model")
    chat.add_argument("--live", action="store_true", help="use the real API from the environment, not the sandbox")
    chat.set_defaults(func=_chat)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``agent-billing`` console script.

    Example:
        >>> main(["demo", "--yes"])  # runs the offline demo on a loopback sandbox  # doctest: +SKIP
        0
    """
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
