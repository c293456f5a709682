"""``agent-billing mandates create|list|show|revoke|export|import``: spend authorities from the command line.

They are kept in the guardrail store (``--store URL``, default ``$AGENT_BILLING_STORE_URL``, unset: the state
directory) under the account a toolkit acts on (``--account``; default: the account of the token in the
environment, the same ``BillingClient.account_id`` the toolkit uses). Output is JSON, so it pipes.

Example:
    >>> import tempfile, pathlib, json
    >>> url = f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'state.db'}"
    >>> out = []
    >>> run_command(["create", "--store", url, "--account", "acct", "--agent", "bot", "--budget", "50",
    ...              "--max-amount", "20"], write=out.append)
    0
    >>> created = json.loads(out[-1])
    >>> created["agent"], created["budget"], created["spent"]
    ('bot', '50.00', '0.00')
    >>> run_command(["revoke", created["id"], "--store", url, "--account", "acct"], write=out.append)
    0
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from agent_billing.guardrails.authority import AuthorityNotFoundError, AuthorityStore, Instrument, SpendAuthority
from agent_billing.guardrails.portable import export_authority, import_authority
from agent_billing.guardrails.store import StoreUnavailableError, open_store

_DURATION = TypeAdapter(timedelta)


def _duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``7d`` or ISO 8601 (``PT1H``)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text and text[-1] in units and text[:-1].isdigit():
        return timedelta(seconds=int(text[:-1]) * units[text[-1]])
    try:
        return _DURATION.validate_python(text)
    except ValidationError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (use 90s, 15m, 2h, 7d or PT1H)") from None


def _instrument(text: str) -> Instrument:
    """``pm_123`` (a payment method id) or ``visa:4242`` (brand and last four)."""
    try:
        if ":" in text:
            brand, last4 = text.rsplit(":", 1)
            return Instrument(brand=brand, last4=last4)
        return Instrument(id=text)
    except ValidationError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an instrument (pm_... or brand:last4)") from None


def _plan(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def add_parser(sub: Any) -> None:
    """Register ``mandates`` on the ``agent-billing`` command's subparsers.

    Example:
        >>> parser = argparse.ArgumentParser(); add_parser(parser.add_subparsers(dest="command"))
        >>> parser.parse_args(["mandates", "list", "--account", "a"]).mandates_command
        'list'
    """
    mandates = sub.add_parser("mandates", help="create, list, show, revoke, export or import spend authorities",
                              description="Spend authorities per agent and task, kept in the guardrail store.")
    build(mandates)
    mandates.set_defaults(func=lambda args: _run(args, print), extras=())


def build(parser: argparse.ArgumentParser) -> None:
    """The ``mandates`` subcommands on ``parser``."""
    commands = parser.add_subparsers(dest="mandates_command", required=True)

    def command(name: str, text: str) -> argparse.ArgumentParser:
        made: argparse.ArgumentParser = commands.add_parser(name, help=text, description=text[0].upper() + text[1:])
        made.add_argument("--store", metavar="URL", help="store URL (default: $AGENT_BILLING_STORE_URL, else the "
                                                         "state directory)")
        made.add_argument("--account", help="account id (default: the account of the token in the environment)")
        return made

    create = command("create", "create a spend authority")
    create.add_argument("--id", help="its id (default: a new one)")
    create.add_argument("--name", default="default")
    create.add_argument("--agent", help="only for this agent (the toolkit's agent=)")
    create.add_argument("--task", help="only in this task (RunnableConfig task_id or thread_id)")
    create.add_argument("--currency", default="USD")
    create.add_argument("--min-amount", help="smallest charge")
    create.add_argument("--max-amount", help="largest charge")
    create.add_argument("--budget", help="most it may spend in all")
    create.add_argument("--period-budget", help="most it may spend per rolling --period")
    create.add_argument("--period", type=_duration, help="the rolling period (e.g. 24h, 30d)")
    create.add_argument("--max-charges", type=int, help="how many charges in all")
    create.add_argument("--min-interval", type=_duration, help="least time between two charges (e.g. 1h)")
    create.add_argument("--operation", action="append", help="an allowed operation, repeatable (default: any)")
    create.add_argument("--plan", action="append", type=_plan, help="an allowed plan id, repeatable (default: any)")
    create.add_argument("--instrument", action="append", type=_instrument,
                        help="an allowed payment method: pm_... or brand:last4, repeatable (default: any)")
    create.add_argument("--payee", action="append", help="an allowed payee, repeatable (default: any)")
    create.add_argument("--expires", type=datetime.fromisoformat, help="ISO time it ends (with a zone)")
    create.add_argument("--approval", choices=("auto", "ask"), default="auto",
                        help="auto: no person inside the limits; ask: a person approves each charge")
    listing = command("list", "list spend authorities with their spend")
    listing.add_argument("--all", action="store_true", help="revoked ones too")
    for name, text in (("show", "one spend authority and its spend"), ("revoke", "revoke a spend authority"),
                       ("export", "print a spend authority as portable JSON (AP2-shaped)")):
        command(name, text).add_argument("id")
    imported = command("import", "import a portable JSON mandate (a file, or - for standard input)")
    imported.add_argument("file")


def run_command(argv: Sequence[str], *, write: Callable[[str], object] = print) -> int:
    """Parse and run one ``mandates`` command (for tests and embedding); the exit status."""
    parser = argparse.ArgumentParser(prog="agent-billing mandates")
    build(parser)
    return _run(parser.parse_args(list(argv)), write)


def _run(args: argparse.Namespace, write: Callable[[str], object]) -> int:
    try:
        store = _authorities(args)
        return _COMMANDS[args.mandates_command](store, args, write)
    except AuthorityNotFoundError as exc:
        print(f"agent-billing mandates {args.mandates_command}: {exc.args[0]}", file=sys.stderr)
        return 1
    except (ValueError, OSError, StoreUnavailableError) as exc:
        print(f"agent-billing mandates {args.mandates_command}: {exc}", file=sys.stderr)
        return 2


def _authorities(args: argparse.Namespace) -> AuthorityStore:
    account = args.account or _account_from_env()
    authorities: AuthorityStore = open_store(args.store).for_account(account).authorities
    return authorities


def _account_from_env() -> str:
    from agent_billing.client import provider_clients
    from agent_billing.registry import get_registry

    try:
        client = provider_clients(get_registry())[0].from_env()
    except Exception as exc:
        raise ValueError(f"give --account (the toolkit's account: toolkit.guard.account), or set the token in the "
                         f"environment ({exc})") from None
    account: str = client.account_id
    return account


def _create(store: AuthorityStore, args: argparse.Namespace, write: Callable[[str], object]) -> int:
    fields = {"id": args.id, "name": args.name, "agent": args.agent, "task": args.task, "currency": args.currency,
              "min_amount": args.min_amount, "max_amount": args.max_amount, "budget": args.budget,
              "period_budget": args.period_budget, "period": args.period, "max_charges": args.max_charges,
              "min_interval": args.min_interval, "allowed_operations": args.operation, "allowed_plan_ids": args.plan,
              "allowed_instruments": args.instrument, "allowed_payees": args.payee, "expires_at": args.expires,
              "approval": args.approval}
    try:
        authority = SpendAuthority.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        raise ValueError("; ".join(f"{'.'.join(map(str, e['loc'])) or 'mandate'}: {e['msg']}"
                                   for e in exc.errors())) from None
    store.create(authority)
    write(json.dumps(store.inspect(authority.id).as_dict(), indent=2))
    return 0


def _list(store: AuthorityStore, args: argparse.Namespace, write: Callable[[str], object]) -> int:
    write(json.dumps([s.as_dict() for s in store.list(include_revoked=args.all)], indent=2))
    return 0


def _show(store: AuthorityStore, args: argparse.Namespace, write: Callable[[str], object]) -> int:
    write(json.dumps(store.inspect(args.id).as_dict(), indent=2))
    return 0


def _revoke(store: AuthorityStore, args: argparse.Namespace, write: Callable[[str], object]) -> int:
    revoked = store.revoke(args.id)
    write(json.dumps({"id": args.id, "revoked": True, "already": not revoked}))
    return 0


def _export(store: AuthorityStore, args: argparse.Namespace, write: Callable[[str], object]) -> int:
    write(json.dumps(export_authority(store.inspect(args.id).authority), indent=2))
    return 0


def _import(store: AuthorityStore, args: argparse.Namespace, write: Callable[[str], object]) -> int:
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    authority = store.create(import_authority(doc))
    write(json.dumps(store.inspect(authority.id).as_dict(), indent=2))
    return 0


_COMMANDS: dict[str, Callable[[AuthorityStore, argparse.Namespace, Callable[[str], object]], int]] = {
    "create": _create, "list": _list, "show": _show, "revoke": _revoke, "export": _export, "import": _import,
}

__all__ = ["add_parser", "build", "run_command"]
