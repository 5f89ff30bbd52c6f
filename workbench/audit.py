"""The audit log: every state change, appended with actor, time, details and a hash chain.

Each entry's hash covers its own fields and the previous entry's hash, so editing, inserting
or deleting an entry breaks the chain and ``verify`` finds where.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import duckdb

from .objects import hash_bytes

__all__ = ["AuditEntry", "append", "entries", "verify", "GENESIS"]

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """One recorded state change."""

    seq: int
    at: datetime
    actor: str
    action: str
    subject: str | None
    details: dict
    prev_hash: str
    hash: str


def _entry_hash(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str | None,
    details_json: str,
    prev: str,
) -> str:
    payload = json.dumps(
        [seq, at.isoformat(), actor, action, subject, details_json, prev], separators=(",", ":")
    )
    return hash_bytes(payload.encode())


def append(
    con: duckdb.DuckDBPyConnection,
    actor: str,
    action: str,
    subject: str | None = None,
    details: dict | None = None,
) -> int:
    """Append an entry inside the caller's write transaction; returns its sequence number."""
    last = con.execute("select seq, hash from audit_log order by seq desc limit 1").fetchone()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = datetime.now()
    details_json = json.dumps(details or {}, sort_keys=True, default=str)
    digest = _entry_hash(seq, at, actor, action, subject, details_json, prev)
    con.execute(
        "insert into audit_log values (?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, at, actor, action, subject, details_json, prev, digest],
    )
    return seq


def entries(con: duckdb.DuckDBPyConnection, since: datetime | None = None) -> list[AuditEntry]:
    """Entries in order, optionally only those at or after ``since``."""
    sql = "select seq, created_at, actor, action, subject, details_json, prev_hash, hash from audit_log"
    params: list = []
    if since is not None:
        sql += " where created_at >= ?"
        params.append(since)
    rows = con.execute(sql + " order by seq", params).fetchall()
    return [AuditEntry(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in rows]


def verify(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Problems in the chain (empty when intact), one readable line each."""
    problems = []
    prev = GENESIS
    expected_seq = 1
    rows = con.execute(
        "select seq, created_at, actor, action, subject, details_json, prev_hash, hash "
        "from audit_log order by seq"
    ).fetchall()
    for seq, at, actor, action, subject, details_json, prev_hash, digest in rows:
        if seq != expected_seq:
            problems.append(
                f"entry {seq}: expected sequence {expected_seq} (entry missing or inserted)"
            )
        if prev_hash != prev:
            problems.append(f"entry {seq}: does not follow the previous entry (chain broken)")
        if _entry_hash(seq, at, actor, action, subject, details_json, prev_hash) != digest:
            problems.append(f"entry {seq}: content does not match its hash (edited)")
        prev = digest
        expected_seq = seq + 1
    return problems
