"""Reading the audit trail back: ``agent-billing audit verify`` and ``agent-billing audit export``.

Both stream: records are read in batches (a file in chunks, a table by ``seq`` ranges) and never all
held at once, so memory stays flat however long the chain is.

A target is a JSON Lines file path, a store URL (``sqlite:///...``, ``postgresql://...``), or None for
the configured store (``$AGENT_BILLING_STORE_URL``, else the state directory's ``audit.jsonl``).

Keys for ``verify``: the files given (``--key-file``), ``$AGENT_BILLING_AUDIT_KEY``, and the key file
the writer uses if it is readable here (``audit.key`` beside the log file or SQLite database, or in the
state directory for PostgreSQL). The keys are never printed; only their ids.

Example:
    >>> # audited_store: a SQLite store whose account "acct" holds one record (agent_billing/conftest.py)
    >>> out = []
    >>> verify_command(audited_store, write=out.append), out[0].startswith("acct: intact, 1 record(s)")
    (0, True)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from agent_billing.audit import (
    AUDIT_KEY_ENV,
    AUDIT_KEY_FILE,
    AuditKeys,
    ChainReport,
    FileLines,
    SqliteAuditLog,
    load_keys,
    verify_chain,
)
from agent_billing.guardrails.store import SqliteStore, StateDirStore, Store, open_store

_PAGE = 2000  # records per query when reading a chain from a table


@dataclass
class AuditSource:
    """One audit chain to read: its name, its records (streamed), and where its writer keeps the key.

    ``file`` is set for a JSON Lines log (whose torn tails and head side file ``verify`` also checks).

    Example:
        >>> AuditSource("acct", lambda: iter(()), Path("audit.key")).file is None
        True
    """

    name: str
    lines: Callable[[], Iterable[str | bytes]]
    key_file: Path
    file: Path | None = None


def audit_sources(target: str | None) -> list[AuditSource]:
    """The audit chains of a file path, a store URL, or (None) the configured store.

    Example:
        >>> [(source.name, len(list(source.lines()))) for source in audit_sources(audited_store)]
        [('acct', 1)]
    """
    if target is not None and "://" not in target:
        path = Path(target)
        if not path.is_file():
            raise FileNotFoundError(f"no audit file {target}")
        return [_file_source(target, path)]
    store = open_store(target)
    return _store_sources(store)


def _file_source(name: str, path: Path) -> AuditSource:
    return AuditSource(name, lambda: FileLines(path), path.parent / AUDIT_KEY_FILE, path)


def _store_sources(store: Store) -> list[AuditSource]:
    if isinstance(store, StateDirStore):
        path = store.root / "audit.jsonl"
        return [_file_source("audit.jsonl", path)] if path.exists() else []
    if isinstance(store, SqliteStore):
        log = SqliteAuditLog(store.path)
        return [AuditSource(chain, partial(log.iter_lines, chain), store.path.parent / AUDIT_KEY_FILE)
                for chain in log.chains()]
    from agent_billing.guardrails.spend_store import state_dir

    read: Callable[[str], Iterable[str]] = _postgres_pages(store) or store.audit_lines
    return [AuditSource(chain, partial(read, chain), state_dir() / AUDIT_KEY_FILE) for chain in store.audit_chains()]


def _postgres_pages(store: Store) -> Callable[[str], Iterator[str]] | None:
    """A chain's records read from PostgreSQL by ``seq`` ranges, when ``store`` is the PostgreSQL store."""
    try:
        from agent_billing.guardrails.postgres import PostgresStore
    except ImportError:  # no psycopg: not a PostgreSQL store either
        return None
    if not isinstance(store, PostgresStore):
        return None

    def pages(chain: str) -> Iterator[str]:
        last = 0
        while True:
            with store.cursor() as cur:
                rows = cur.execute("SELECT seq, line FROM ab_audit WHERE chain = %s AND seq > %s ORDER BY seq LIMIT %s",
                                   (chain, last, _PAGE)).fetchall()
            if not rows:
                return
            for _, line in rows:
                yield str(line)
            last = int(rows[-1][0])

    return pages


def audit_chains_of(target: str | None) -> dict[str, list[str]]:
    """The audit chains (name -> records) of a target, loaded whole (for tests and small logs; the
    commands stream with :func:`audit_sources`).

    Example:
        >>> {name: len(lines) for name, lines in audit_chains_of(audited_store).items()}
        {'acct': 1}
    """
    return {source.name: [line if isinstance(line, str) else line.decode("utf-8", errors="replace")
                          for line in source.lines()] for source in audit_sources(target)}


def verification_keys(source: AuditSource, key_files: Sequence[str | os.PathLike[str]] = ()) -> AuditKeys | None:
    """The keys to verify ``source`` with: the given files, ``$AGENT_BILLING_AUDIT_KEY``, the writer's key file.

    Example:
        >>> folder = tmp_dir  # a fresh directory (agent_billing/conftest.py)
        >>> _ = (folder / "old.key").write_text("o" * 32)
        >>> source = AuditSource("x", lambda: iter(()), folder / "audit.key")
        >>> verification_keys(source, [folder / "old.key"]).ids == AuditKeys("o" * 32).ids
        True
    """
    found: AuditKeys | None = None
    for path in key_files:
        keys = AuditKeys.read(Path(path))
        found = keys if found is None else found + keys
    writer = load_keys(source.key_file, create=False) if source.key_file.exists() or os.environ.get(AUDIT_KEY_ENV) \
        else None
    if writer is not None:
        found = writer if found is None else found + writer
    return found


def parse_heads(values: Sequence[str], chains: Sequence[str]) -> dict[str, str]:
    """``[CHAIN=]HASH`` values as chain -> expected head; a bare hash needs exactly one chain.

    Example:
        >>> parse_heads(["acct=" + "a" * 64], ["acct", "other"])
        {'acct': 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}
        >>> parse_heads(["b" * 64], ["acct", "other"])
        Traceback (most recent call last):
        ...
        ValueError: --head without a chain name, but there are 2 chains: use --head CHAIN=HASH
    """
    heads: dict[str, str] = {}
    for value in values:
        chain, _, digest = value.rpartition("=")
        if not chain:
            if len(chains) != 1:
                raise ValueError(f"--head without a chain name, but there are {len(chains)} chains: "
                                 "use --head CHAIN=HASH")
            chain = chains[0]
        if chain not in chains:
            raise ValueError(f"--head names the chain {chain!r}, which is not in the log")
        heads[chain] = digest.strip().lower()
    return heads


def _noted_head(path: Path) -> tuple[int, str] | None:
    """The (seq, hash) the writer noted in ``<file>.head`` after its last record, if any."""
    try:
        parts = path.with_name(path.name + ".head").read_bytes().split(b"\n", 1)[0].split(b" ")
    except OSError:
        return None
    if len(parts) != 2 or not parts[0].isdigit():
        return None
    return int(parts[0]), parts[1].decode("ascii", errors="replace")


def _file_findings(path: Path, report: ChainReport, unterminated: int) -> tuple[list[str], list[str]]:
    """(problems, notes) about a log file beyond its chain: torn tails, side files, the noted head."""
    problems: list[str] = []
    notes: list[str] = []
    if report.torn_lines or unterminated:
        notes.append(f"torn tail: {report.torn_lines} line(s) and {report.torn_bytes + unterminated} byte(s) after "
                     "the last whole record (an unfinished write or garbage; the next write moves it aside)")
    side_files = {side.name: side.stat().st_size for side in path.parent.iterdir()
                  if side.name.startswith(path.name + ".torn-")}
    for seq, note in report.torn_notes:
        name, size = str(note.get("kept_in")), note.get("bytes")
        if side_files.get(name) != size:
            problems.append(f"record seq {seq} says {size} torn byte(s) were kept in {name}, but that file is "
                            + ("missing" if name not in side_files else f"{side_files[name]} byte(s)"))
    if side_files:
        notes.append("kept aside: " + ", ".join(f"{name} ({size} bytes)" for name, size in sorted(side_files.items())))
    noted = _noted_head(path)
    if report.ok and noted is not None and noted[0] > report.last_seq:
        problems.append(f"the writer's last record was seq {noted[0]} ({path.name}.head), but the file ends at seq "
                        f"{report.last_seq}: record(s) were cut from its end")
    return problems, notes


def verify_command(target: str | None, write: Callable[[str], object] = print, *,
                   key_files: Sequence[str | os.PathLike[str]] = (), heads: Sequence[str] = (),
                   require_key: bool = False) -> int:
    """Verify every chain of ``target``; print one line per chain.

    Exit status: 0 when every chain is intact and every record was checked, 1 when one is broken
    (changed, removed, inserted, reordered, cut from the end given ``heads``, unkeyed under
    ``require_key``), 2 when keyed records could not be checked for want of their key.

    Example:
        >>> empty = tmp_dir / "audit.jsonl"
        >>> _ = empty.write_text("")
        >>> verify_command(str(empty), write=lambda line: None)
        0
    """
    sources = audit_sources(target)
    expected = parse_heads(heads, [source.name for source in sources])
    status = 0
    for source in sources:
        keys = verification_keys(source, key_files)
        lines = source.lines()
        report = verify_chain(lines, keys, head=expected.get(source.name), require_key=require_key)
        problems: list[str] = []
        notes: list[str] = []
        if source.file is not None:
            problems, notes = _file_findings(source.file, report, getattr(lines, "unterminated", 0))
        if (not report.ok and report.position is not None) or problems:
            status = 1
            where = f"BROKEN at record {report.position}: {report.problem}" if not report.ok else \
                "BROKEN: " + "; ".join(problems)
            write(f"{source.name}: {where}")
            continue
        if report.unchecked:
            status = max(status, 2)
            write(f"{source.name}: NOT CHECKED: {report.unchecked} keyed record(s) under key id(s) "
                  f"{', '.join(report.missing_keys)} and that key was not given (--key-file or ${AUDIT_KEY_ENV}); "
                  f"their order and links hold, their content is unverified")
            continue
        write(f"{source.name}: intact, {report.records} record(s), head {report.last_hash}"
              + "".join(f"; {part}" for part in _summary(report, keys, expected.get(source.name)) + notes))
    return status


def _summary(report: ChainReport, keys: AuditKeys | None, head: str | None) -> list[str]:
    parts: list[str] = []
    if report.keyed:
        parts.append(f"{report.keyed} keyed (HMAC-SHA256; checked with key id(s) "
                     f"{', '.join(keys.ids) if keys else ''})")
    if report.unkeyed:
        parts.append(f"{report.unkeyed} unkeyed (older records, plain SHA-256: proves they were not changed "
                     "by accident, not that nobody rewrote them)")
    if head is not None:
        parts.append(f"expected head found at record {report.head_at}")
    return parts


def _timestamp(record: Mapping[str, Any]) -> datetime | None:
    stamp = record.get("timestamp")
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None


def export_command(target: str | None, since: datetime | None, until: datetime | None,
                   write: Callable[[str], object] = print) -> int:
    """Write the records (chained JSON lines, as stored) whose timestamp is in ``[since, until)``, streamed.

    Lines that are not records (a torn tail) are left out: ``verify`` reports them.

    Example:
        >>> out = []
        >>> export_command(audited_store, None, None, write=out.append), len(out)
        (0, 1)
    """
    for source in audit_sources(target):
        for raw in source.lines():
            try:
                line = raw if isinstance(raw, str) else raw.decode("utf-8")
                record = json.loads(line)
            except ValueError:
                continue
            stamp = _timestamp(record) if isinstance(record, dict) else None
            if stamp is None:
                continue
            if (since is None or stamp >= since) and (until is None or stamp < until):
                write(line)
    return 0
