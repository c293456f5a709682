"""Time and peak memory of ``agent-billing audit verify`` and ``audit export`` against the chain's length.

Run: python benchmarks/audit_verify.py [--sizes 10000 100000 1000000] [--old /work/main/plugin --old-sizes 10000 100000]
     [--sqlite] [--postgres URL --table-sizes 100000]

For each size a JSON Lines audit file of that many records is written (real keyed records, the
writer's format: a charge with a result, about 600 bytes a line), then each command runs in a fresh
subprocess that reports its wall time and the growth of its peak resident memory (``ru_maxrss`` after
the command minus before it, imports excluded). ``--old PATH`` also runs the same commands from
another checkout (``PYTHONPATH=PATH``, e.g. the code before streaming) on an unkeyed file of the same
records, which both versions can verify. ``--sqlite``/``--postgres`` also load the same records into
a store's audit table (one chain) and verify and export it by URL (PostgreSQL: a fresh schema, dropped after).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

PROBE = r"""
import json, os, resource, sys, time
command, path, keyfile = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    from agent_billing.audit_commands import export_command, verify_command
    new = True
except ImportError:  # an older checkout: the commands lived in the store module
    from agent_billing.guardrails.store import export_command, verify_command
    new = False
out = open(os.devnull, "w")
said = []
def write(line):
    out.write(line + "\n")
    if command == "verify":
        said.append(line[:120])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if command == "verify":
    status = verify_command(path, write=write, key_files=[keyfile]) if new else verify_command(path, write=write)
else:
    status = export_command(path, None, None, write=write)
elapsed = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"status": status, "seconds": elapsed, "peak_growth_mb": (after - before) / 1024, "said": said}))
"""


def write_log(path: Path, count: int, keyed: bool, key: str) -> None:
    """``count`` chained records as the writer makes them (one template event, varied per record)."""
    from agent_billing.audit import GENESIS_HASH, AuditEvent, AuditKeys, _canonical, _digest, chain_record

    keys = AuditKeys(key) if keyed else None
    event = AuditEvent(operation="fund_wallet", effect="charge", amount="25.00", decision="succeeded",
                       approver="mandate:default", idempotency_key="ab_fund_wallet_0", request_id="req_0",
                       mandate="default", intent_digest="d" * 64, arguments={"amount": "25.00",
                                                                             "payment_method_id": "pm_card_visa"},
                       result={"transaction_id": "tx_0", "new_balance": "125.00",
                               "payment": {"payment_intent_id": "pi_0", "status": "succeeded"}})
    template = json.loads(chain_record(event, 1, GENESIS_HASH, keys)[0])
    template.pop("hash")
    prev = GENESIS_HASH
    with path.open("w", encoding="utf-8") as handle:
        for seq in range(1, count + 1):
            record = dict(template, seq=seq, prev_hash=prev, request_id=f"req_{seq}",
                          idempotency_key=f"ab_fund_wallet_{seq}")
            body = _canonical(record)
            prev = _digest(body.encode(), keys.current if keys else None)
            handle.write(f'{body[:-1]},"hash":"{prev}"}}\n')


def load_table(path: Path, url: str) -> None:
    """The file's records as one chain of a store's audit table (``sqlite:///...`` or ``postgresql://...``)."""
    def rows() -> Iterator[tuple[str, int, str, str]]:
        with path.open(encoding="utf-8") as handle:
            for seq, line in enumerate(handle, 1):
                yield "acct", seq, line.rstrip("\n"), line[-66:-3]

    if url.startswith("sqlite"):
        from agent_billing.audit import SqliteAuditLog

        SqliteAuditLog(url[len("sqlite://"):]).close()  # creates the table
        with sqlite3.connect(url[len("sqlite://"):]) as lite:
            lite.executemany("INSERT INTO audit_log (chain, seq, line, hash) VALUES (?, ?, ?, ?)", rows())
        return
    import psycopg

    from agent_billing.guardrails.postgres import PostgresStore

    PostgresStore(url).schema_version()  # creates the tables
    with psycopg.connect(url) as conn, conn.cursor() as pg, pg.copy(
            "COPY ab_audit (chain, seq, line, hash) FROM STDIN") as copy:
        for row in rows():
            copy.write_row(row)


def probe(command: str, path: Path | str, keyfile: Path, pythonpath: str) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=pythonpath, AGENT_BILLING_AUDIT_KEY="")
    done = subprocess.run([sys.executable, "-c", PROBE, command, str(path), str(keyfile)], env=env,
                          capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--old", metavar="PLUGIN_DIR", help="another checkout's plugin directory to compare")
    parser.add_argument("--old-sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--sqlite", action="store_true", help="also a SQLite store's table (at --table-sizes)")
    parser.add_argument("--postgres", metavar="URL", help="also a PostgreSQL store's table (at --table-sizes)")
    parser.add_argument("--table-sizes", type=int, nargs="+", default=[100_000])
    args = parser.parse_args()
    here = str(Path(__file__).resolve().parents[1] / "plugin")
    key = "benchmark-audit-key-" + "b" * 40
    with tempfile.TemporaryDirectory() as folder:
        keyfile = Path(folder) / "bench.key"
        keyfile.write_text(key + "\n")
        print("| code | records | file MB | verify s | verify peak growth MB | export s | export peak growth MB |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        runs = [("streaming (keyed)", here, size, True) for size in args.sizes]
        if args.old:
            runs += [(label, where, size, False) for size in args.old_sizes
                     for label, where in (("streaming (unkeyed)", here), ("old (unkeyed)", args.old))]
        for label, where, size, keyed in runs:
            path = Path(folder) / f"audit-{size}-{keyed}.jsonl"
            if not path.exists():
                write_log(path, size, keyed, key)
            verify = probe("verify", path, keyfile, where)
            export = probe("export", path, keyfile, where)
            assert verify["status"] == 0 and (not verify["said"] or f"intact, {size} record(s)" in verify["said"][0]), verify
            report(label, size, path.stat().st_size, verify, export)
        for size in args.table_sizes if args.sqlite or args.postgres else ():
            path = Path(folder) / f"audit-{size}-True.jsonl"
            if not path.exists():
                write_log(path, size, True, key)
            targets = [("SQLite table (keyed)", f"sqlite:///{folder}/state-{size}.db")] if args.sqlite else []
            schema = f"bench_audit_{uuid.uuid4().hex[:8]}"
            if args.postgres:
                joiner = "&" if "?" in args.postgres else "?"
                targets.append(("PostgreSQL table (keyed)",
                                 f"{args.postgres}{joiner}options={quote(f'-csearch_path={schema}')}"))
                import psycopg

                with psycopg.connect(args.postgres, autocommit=True) as conn:
                    conn.execute(f'CREATE SCHEMA "{schema}"'.encode())
            try:
                for label, url in targets:
                    load_table(path, url)
                    verify = probe("verify", url, keyfile, here)
                    export = probe("export", url, keyfile, here)
                    assert verify["status"] == 0 and f"intact, {size} record(s)" in verify["said"][0], verify
                    report(label, size, path.stat().st_size, verify, export)
            finally:
                if args.postgres:
                    with psycopg.connect(args.postgres, autocommit=True) as conn:
                        conn.execute(f'DROP SCHEMA "{schema}" CASCADE'.encode())
    return 0


def report(label: str, size: int, nbytes: int, verify: dict[str, Any], export: dict[str, Any]) -> None:
    print(f"| {label} | {size:,} | {nbytes / 1e6:.0f} | {verify['seconds']:.2f} | {verify['peak_growth_mb']:.1f} | "
          f"{export['seconds']:.2f} | {export['peak_growth_mb']:.1f} |", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
