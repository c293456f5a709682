"""``agent-billing receipts keygen|verify|list``: make a signing key pair, check a receipt offline, list receipts.

Example:
    >>> import argparse, tempfile
    >>> parser = argparse.ArgumentParser(prog="agent-billing")
    >>> add_parser(parser.add_subparsers(dest="command"))
    >>> out = tempfile.mkdtemp() + "/receipts.pem"
    >>> args = parser.parse_args(["receipts", "keygen", "--out", out])
    >>> args.func(args)  # doctest: +ELLIPSIS
    private key: .../receipts.pem (mode 0600: keep it secret; set AGENT_BILLING_RECEIPT_KEY to its path)
    public key:  .../receipts.pem.pub (give it to whoever verifies receipts)
    0
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agent_billing.receipts import RECEIPT_KEY_ENV, ReceiptBook, verify_receipt, write_key_pair


def add_parser(sub: Any) -> None:
    """Add the ``receipts`` command group to the ``agent-billing`` sub-command parsers ``sub``."""
    receipts = sub.add_parser("receipts", help="make a receipt signing key, verify a signed receipt offline, list them",
                              description="Signed receipts of executed money moves (needs the 'receipts' extra).")
    commands = receipts.add_subparsers(dest="receipts_command", required=True)
    keygen = commands.add_parser("keygen", help="make an Ed25519 key pair: PATH (private, 0600) and PATH.pub")
    keygen.add_argument("--out", required=True, metavar="PATH", help="where to write the private key (never overwritten)")
    verify = commands.add_parser("verify", help="check one receipt's signature with the public key, offline")
    verify.add_argument("file", help="a receipt (JSON)")
    verify.add_argument("--public-key", required=True, metavar="PEM", help="the public key file (PATH.pub of keygen)")
    listing = commands.add_parser("list", help="print an account's receipts as JSON lines")
    listing.add_argument("--dir", metavar="DIR", help="the receipts directory (default: <state dir>/receipts)")
    listing.add_argument("--account", default="default", help="the account whose receipts to print")
    receipts.set_defaults(func=run, extras=("receipts",))


def run(args: argparse.Namespace) -> int:
    """Run one ``receipts`` command: 0 done (or valid), 1 an invalid receipt, 2 unusable input."""
    name = f"agent-billing receipts {args.receipts_command}"
    try:
        if args.receipts_command == "keygen":
            private, public = write_key_pair(args.out)
            print(f"private key: {private} (mode 0600: keep it secret; set {RECEIPT_KEY_ENV} to its path)")
            print(f"public key:  {public} (give it to whoever verifies receipts)")
            return 0
        if args.receipts_command == "verify":
            receipt = json.loads(Path(args.file).read_text(encoding="utf-8"))
            if not isinstance(receipt, dict):
                raise ValueError(f"{args.file} is not a receipt (a JSON object)")
            checked = verify_receipt(receipt, Path(args.public_key).read_bytes())
            if not checked.ok:
                print(f"{name}: INVALID: {checked.reason}", file=sys.stderr)
                return 1
            outcome = receipt.get("outcome") or {}
            print(f"valid: receipt {receipt.get('id')} of {receipt.get('operation')} "
                  f"({outcome.get('amount')} {outcome.get('currency')}), signed by key {receipt['signature']['kid']}")
            return 0
        from agent_billing.guardrails.spend_store import state_dir

        book = ReceiptBook(None, Path(args.dir) if args.dir else state_dir() / "receipts", account=args.account)
        for receipt in book.receipts():
            print(json.dumps(receipt, sort_keys=True, ensure_ascii=False))
        return 0
    except FileExistsError as err:
        print(f"{name}: {err.filename} exists; it is never overwritten (choose another --out)", file=sys.stderr)
    except (OSError, ValueError) as err:  # a missing file, not JSON, not a key
        print(f"{name}: {err}", file=sys.stderr)
    return 2

