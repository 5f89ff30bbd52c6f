"""The audit log: every state change, appended with actor, OS account, time, details, the
digests of the state rows it wrote, and a hash chain.

What it catches, and how:

* **Edited, inserted or deleted entries** break the chain: each entry's hash covers its own
  fields and the previous entry's hash.
* **State changed outside the workbench** (an ``insert into alias_moves`` that made a model
  champion, an edited run): every entry that changes a governed table records the digest of
  each row it wrote (``state``), and ``verify`` recomputes every governed row and compares it
  with the digest its newest entry recorded. A row no entry wrote, a row that differs, and an
  audited row that is gone are each reported.
* **The newest entries deleted, or the whole chain recomputed after an edit**: an anchor
  (``head()``: sequence number and hash) kept outside the workspace must still be in the
  chain (``verify(anchor=...)``); with a key kept outside the workspace, each entry also
  carries an HMAC of its hash, which nobody without the key can recompute.

Governed tables are the records people rely on: snapshots, runs, model versions, alias moves,
decisions, drift reports, label imports, alerts, alert silences and deployment settings (the
canary share). Caches that the workbench can rebuild (``source_cache``,
``drift_reference_stats``, ``run_keys``) are not governed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import duckdb

from .display import Schema, Tabular, esc, frame, heading
from .objects import hash_bytes

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "AuditEntry",
    "AuditVerdict",
    "Anchor",
    "GOVERNED",
    "GENESIS",
    "append",
    "entries",
    "verify",
    "head",
    "row_digest",
    "sign",
]

GENESIS = "0" * 64
#: tables whose every row is written by an audited change (see the module doc)
GOVERNED = (
    "snapshots", "runs", "model_versions", "alias_moves", "decisions", "drift_reports",
    "label_imports", "alerts", "alert_silences", "deployment_settings",
)  # fmt: skip

_COLUMNS = (
    "seq, created_at, actor, action, subject, details_json, prev_hash, hash, os_account, "
    "state_json, mac"
)
_baselined: set[str] = set()
_baseline_lock = threading.Lock()


@dataclass(frozen=True)
class AuditEntry(Tabular):
    """One recorded state change (one row of ``to_polars()``: the OS account beside the
    actor, the details as JSON text, whether it is signed)."""

    _SCHEMA: ClassVar[Schema] = {
        "seq": "Int64", "at": "Datetime", "actor": "String", "os_account": "String",
        "action": "String", "subject": "String", "details": "String", "rows_written": "Int64",
        "signed": "Boolean", "hash": "String",
    }  # fmt: skip
    _NOUN: ClassVar[str] = "audit entries"
    _TAIL: ClassVar[bool] = True

    seq: int
    at: datetime
    actor: str
    action: str
    subject: str | None
    details: dict
    prev_hash: str
    hash: str
    #: the operating-system account of the process that wrote it (None: older entries)
    os_account: str | None = None
    #: ``table/id`` -> digest of each governed row this change wrote
    state: dict[str, str] | None = None
    #: HMAC-SHA256 of ``hash`` under the workspace's audit key (None: unsigned)
    mac: str | None = None

    def _row(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "at": self.at, "actor": self.actor, "os_account": self.os_account,
            "action": self.action, "subject": self.subject,
            "details": json.dumps(self.details, sort_keys=True, default=str),
            "rows_written": len(self.state or {}), "signed": self.mac is not None,
            "hash": self.hash[:12],
        }  # fmt: skip


class AuditVerdict(list[str]):
    """What ``verify`` found: a list of problems, one readable line each (empty when intact),
    with the number of entries checked and the chain's head, as the faces report them."""

    def __init__(self, problems: Iterable[str] = (), entries: int = 0,
                 head: Anchor | None = None) -> None:  # fmt: skip
        super().__init__(problems)
        self.entries = entries
        self.head = head

    @property
    def ok(self) -> bool:
        """The chain and the state it covers hold."""
        return not self

    def summary(self) -> str:
        """One line: intact with the entry count, or broken with the problem count."""
        if self.ok:
            return f"audit chain intact ({self.entries:,} entries verified)"
        return f"audit chain broken: {len(self)} problem(s) in {self.entries:,} entries"

    def to_polars(self) -> pl.DataFrame:
        """One row per problem (none when intact)."""
        return frame([{"problem": p} for p in self], {"problem": "String"})

    def _repr_html_(self) -> str:
        head = f"head {self.head}" if self.head else "empty log"
        mark = "✔" if self.ok else "✘"
        out = heading(f"{mark} {self.summary()}", head)
        if not self.ok:
            out += "<ul>" + "".join(f"<li>{esc(p)}</li>" for p in self) + "</ul>"
        return out


@dataclass(frozen=True)
class Anchor:
    """A point of the chain kept elsewhere: ``SEQ:HASH``."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """``SEQ:HASH`` (as ``workbench audit anchor`` prints it); ValueError otherwise."""
        seq, _, digest = text.strip().partition(":")
        if (
            not seq.isdigit()
            or len(digest) != 64
            or any(c not in "0123456789abcdef" for c in digest)
        ):
            raise ValueError(f"not an audit anchor: {text.strip()!r} (expected SEQ:HASH)")
        return cls(int(seq), digest)


def _entry_hash(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str | None,
    details_json: str,
    prev: str,
    os_account: str | None = None,
    state_json: str | None = None,
) -> str:
    fields: list[Any] = [seq, at.isoformat(), actor, action, subject, details_json, prev]
    if os_account is not None or state_json is not None:  # entries written before both existed
        fields += [os_account, state_json]
    payload = json.dumps(fields, separators=(",", ":"))
    return hash_bytes(payload.encode())


def sign(key: bytes, digest: str) -> str:
    """The HMAC-SHA256 of an entry's hash under ``key`` (hex)."""
    return hmac.new(key, digest.encode(), hashlib.sha256).hexdigest()


def row_digest(con: duckdb.DuckDBPyConnection, table: str, row_id: int) -> str | None:
    """Digest of one governed row (its non-null values by column name), None if it is gone.

    Null values are left out so that a column added later (``ALTER TABLE ... ADD COLUMN``,
    as runs gain metric columns) does not change the digest of older rows.
    """
    if table not in GOVERNED:
        raise ValueError(f"not a governed table: {table}")
    return _all_digests(con, table, [row_id]).get(f"{table}/{row_id}")


def _digest(names: Sequence[str], row: Sequence[Any]) -> str:
    values = {n: v for n, v in zip(names, row, strict=True) if v is not None}
    return hash_bytes(json.dumps(values, sort_keys=True, default=str).encode())


def _all_digests(
    con: duckdb.DuckDBPyConnection, table: str, ids: list[int] | None = None
) -> dict[str, str]:
    """``table/id`` -> digest for every row of a governed table (or the rows ``ids``)."""
    if ids is None:
        result = con.execute(f'select * from "{table}"')
    else:
        result = con.execute(f'select * from "{table}" where list_contains(?, id)', [ids])
    names = [d[0] for d in result.description or ()]
    at = names.index("id")
    return {f"{table}/{row[at]}": _digest(names, row) for row in result.fetchall()}


def _ensure_baseline(
    con: duckdb.DuckDBPyConnection,
    actor: str,
    os_account: str | None,
    key: bytes | None,
    writing: set[str],
) -> None:
    """Once per workspace: cover the governed rows written before the log recorded state.

    A workspace made before state digests existed has rows no entry wrote; the first audited
    change after the upgrade records all of them in one ``audit.baseline`` entry.
    """
    marker = str(con.execute("select current_database()").fetchall()[0][0])
    path = con.execute("select path from duckdb_databases() where database_name = ?", [marker])
    ident = str(path.fetchall()[0][0] or marker)
    with _baseline_lock:
        if ident in _baselined:
            return
        covered = con.execute(
            "select count(*) from audit_log where state_json is not null"
        ).fetchall()[0][0]
        if not covered:
            state: dict[str, str] = {}
            for table in GOVERNED:
                state.update(_all_digests(con, table))
            for where in writing:  # the entry being appended covers its own rows
                state.pop(where, None)
            if state:
                _write(con, actor, "audit.baseline", None, {"rows": len(state)}, state,
                       os_account, key)  # fmt: skip
        _baselined.add(ident)


def _write(
    con: duckdb.DuckDBPyConnection,
    actor: str,
    action: str,
    subject: str | None,
    details: dict | None,
    state: dict[str, str] | None,
    os_account: str | None,
    key: bytes | None,
) -> int:
    last = con.execute("select seq, hash from audit_log order by seq desc limit 1").fetchall()
    seq, prev = (last[0][0] + 1, last[0][1]) if last else (1, GENESIS)
    at = datetime.now()
    details_json = json.dumps(details or {}, sort_keys=True, default=str)
    state_json = json.dumps(state or {}, sort_keys=True)
    account = os_account or ""
    digest = _entry_hash(seq, at, actor, action, subject, details_json, prev, account, state_json)
    mac = sign(key, digest) if key else None
    con.execute(
        f"insert into audit_log ({_COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, at, actor, action, subject, details_json, prev, digest, account, state_json, mac],
    )
    return int(seq)


def append(
    con: duckdb.DuckDBPyConnection,
    actor: str,
    action: str,
    subject: str | None = None,
    details: dict | None = None,
    *,
    rows: Iterable[tuple[str, int]] = (),
    os_account: str | None = None,
    key: bytes | None = None,
) -> int:
    """Append an entry inside the caller's write transaction; returns its sequence number.

    ``rows`` names the governed rows (table, id) this change wrote, in their final state for
    this transaction; ``key`` signs the entry (see the module doc).
    """
    by_table: dict[str, list[int]] = {}
    for table, row_id in rows:
        if table not in GOVERNED:
            raise ValueError(f"not a governed table: {table}")
        by_table.setdefault(table, []).append(int(row_id))
    writing = {f"{t}/{i}" for t, ids in by_table.items() for i in ids}
    _ensure_baseline(con, actor, os_account, key, writing)
    state: dict[str, str] = {}
    for table, ids in by_table.items():
        state.update(_all_digests(con, table, ids))
    return _write(con, actor, action, subject, details, state, os_account, key)


def _entry(r: tuple) -> AuditEntry:
    state = json.loads(r[9]) if r[9] is not None else None
    return AuditEntry(
        r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7], r[8], state, r[10]
    )


def entries(con: duckdb.DuckDBPyConnection, since: datetime | None = None) -> list[AuditEntry]:
    """Entries in order, optionally only those at or after ``since``."""
    sql = f"select {_COLUMNS} from audit_log"
    params: list = []
    if since is not None:
        sql += " where created_at >= ?"
        params.append(since)
    rows = con.execute(sql + " order by seq", params).fetchall()
    return [_entry(r) for r in rows]


def head(con: duckdb.DuckDBPyConnection) -> Anchor | None:
    """The newest entry as an anchor (None for an empty log)."""
    rows = con.execute("select seq, hash from audit_log order by seq desc limit 1").fetchall()
    return Anchor(int(rows[0][0]), str(rows[0][1])) if rows else None


def _chain_problems(rows: list[tuple]) -> list[str]:
    problems = []
    prev = GENESIS
    expected_seq = 1
    for seq, at, actor, action, subject, details_json, prev_hash, digest, account, state, _ in rows:
        if seq != expected_seq:
            problems.append(
                f"entry {seq}: expected sequence {expected_seq} (entry missing or inserted)"
            )
        if prev_hash != prev:
            problems.append(f"entry {seq}: does not follow the previous entry (chain broken)")
        computed = _entry_hash(
            seq, at, actor, action, subject, details_json, prev_hash, account, state
        )
        if computed != digest:
            problems.append(f"entry {seq}: content does not match its hash (edited)")
        prev = digest
        expected_seq = seq + 1
    return problems


def _state_problems(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> list[str]:
    audited: dict[str, tuple[str, int]] = {}
    for row in rows:
        if row[9]:
            for where, digest in json.loads(row[9]).items():
                audited[where] = (digest, row[0])
    if not audited and not any(r[9] is not None for r in rows):
        return []  # a log from before state digests, not yet baselined: nothing to compare
    problems = []
    current: dict[str, str] = {}
    for table in GOVERNED:
        current.update(_all_digests(con, table))
    for where, digest in sorted(current.items(), key=lambda kv: _order(kv[0])):
        table, _, row_id = where.partition("/")
        if where not in audited:
            problems.append(
                f"{table} row {row_id}: no audit entry wrote it (changed outside the workbench)"
            )
        elif audited[where][0] != digest:
            problems.append(
                f"{table} row {row_id}: differs from what entry {audited[where][1]} recorded "
                "(edited outside the workbench)"
            )
    for where, (_, seq) in sorted(audited.items(), key=lambda kv: _order(kv[0])):
        if where not in current:
            table, _, row_id = where.partition("/")
            problems.append(
                f"{table} row {row_id}: recorded by entry {seq} but gone "
                "(deleted outside the workbench)"
            )
    return problems


def _order(where: str) -> tuple[int, int]:
    table, _, row_id = where.partition("/")
    return GOVERNED.index(table), int(row_id) if row_id.isdigit() else 0


def _mac_problems(rows: list[tuple], key: bytes) -> list[str]:
    signed_from = next((r[0] for r in rows if r[10]), None)
    if signed_from is None:
        return ["no entry is signed with an audit key (was the key ever set for this workspace?)"]
    problems = []
    for row in rows:
        seq, digest, mac = row[0], row[7], row[10]
        if seq < signed_from:
            continue
        if not mac:
            problems.append(f"entry {seq}: not signed, though entries from {signed_from} on are")
        elif not hmac.compare_digest(mac, sign(key, digest)):
            problems.append(
                f"entry {seq}: its signature does not match (recomputed without the key)"
            )
    return problems


def verify(
    con: duckdb.DuckDBPyConnection, anchor: Anchor | None = None, key: bytes | None = None
) -> AuditVerdict:
    """Problems in the chain, the governed state, the anchor and the signatures (empty when
    intact), one readable line each, with the entry count and the head."""
    rows = con.execute(f"select {_COLUMNS} from audit_log order by seq").fetchall()
    problems = _chain_problems(rows) + _state_problems(con, rows)
    newest = Anchor(int(rows[-1][0]), str(rows[-1][7])) if rows else None
    if anchor is not None:
        found = next((r for r in rows if r[0] == anchor.seq), None)
        if found is None:
            problems.append(
                f"anchor {anchor.seq}: the log has no entry {anchor.seq} any more "
                f"(it ends at {rows[-1][0] if rows else 0}: newest entries deleted)"
            )
        elif found[7] != anchor.hash:
            problems.append(
                f"anchor {anchor.seq}: entry {anchor.seq} has another hash now (rewritten)"
            )
    if key is not None:
        problems += _mac_problems(rows, key)
    return AuditVerdict(problems, len(rows), newest)
