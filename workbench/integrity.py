"""Workspace integrity: re-hashing objects, collecting garbage, and the audit log.

Built with the ``Context`` alone: it reads every domain's object references through one naming
rule (see ``referenced_objects``) rather than importing the domains.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import audit
from .context import read_audit_key
from .display import esc, frame, heading
from .errors import InputError
from .objects import TempFile
from .progress import NULL_PROGRESS, Progress

if TYPE_CHECKING:
    import duckdb
    import polars as pl

    from .context import Context

__all__ = ["IntegrityService", "VerifyReport", "referenced_objects"]


@dataclass(frozen=True)
class VerifyReport:
    """Result of re-hashing every object (and a look at ``tmp/``)."""

    checked: int
    missing: list[str]
    damaged: list[str]
    #: temp files left by writes whose process is gone (``gc`` removes them)
    stale_temp: list[TempFile] = field(default_factory=list)
    #: problems of the audit chain and of the state it covers (see ``workbench.audit``)
    audit: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No recorded object is missing or damaged and the audit log holds (stale temp
        files are only waste)."""
        return not self.missing and not self.damaged and not self.audit

    @property
    def stale_bytes(self) -> int:
        """Bytes held by stale temp files."""
        return sum(t.size for t in self.stale_temp)

    def problems(self) -> list[tuple[str, str]]:
        """(kind, what) for every missing or damaged object, audit problem and stale file."""
        return (
            [("missing object", d) for d in self.missing]
            + [("damaged object", d) for d in self.damaged]
            + [("audit", p) for p in self.audit]
            + [("stale temp file", t.path.name) for t in self.stale_temp]
        )

    def to_polars(self) -> pl.DataFrame:
        """One row per problem found (none when everything holds)."""
        rows = [{"kind": k, "what": w} for k, w in self.problems()]
        return frame(rows, {"kind": "String", "what": "String"})

    def _repr_html_(self) -> str:
        mark = "✔" if self.ok else "✘"
        verdict = "intact" if self.ok else "PROBLEMS FOUND"
        out = heading(f"{mark} {self.checked:,} objects verified: {verdict}",
                      f"{len(self.missing)} missing", f"{len(self.damaged)} damaged",
                      "audit log intact" if not self.audit else f"{len(self.audit)} audit problems")  # fmt: skip
        found = self.problems()
        if found:
            out += "<ul>" + "".join(f"<li>{esc(k)}: {esc(w)}</li>" for k, w in found) + "</ul>"
        return out


def referenced_objects(con: duckdb.DuckDBPyConnection, exclude: tuple[str, ...] = ()) -> set[str]:
    """Digests of every object a live record points to: any ``*_hash`` column of any table.

    New features get ``gc`` and ``verify`` for free by naming their object columns
    ``..._hash`` (``source_hash`` is the hash of a user's file, not an object; the audit log's
    hashes are its chain). Rows of tables with a ``deleted`` flag count only while not deleted, so a
    soft-deleted run's model is reclaimed by ``gc``. Identifiers come from DuckDB's catalog,
    never from user text. ``exclude`` leaves tables out (a push leaves out local caches).
    """
    rows = con.execute(
        "select table_name, column_name from information_schema.columns "
        "where column_name like '%\\_hash' escape '\\' "
        "and table_name not in ('audit_log', 'source_cache') and column_name <> 'source_hash'"
    ).fetchall()
    deleted = {
        r[0]
        for r in con.execute(
            "select table_name from information_schema.columns where column_name = 'deleted'"
        ).fetchall()
    }
    refs: set[str] = set()
    for table, column in rows:
        if table in exclude:
            continue
        where = f'"{column}" is not null' + (" and not deleted" if table in deleted else "")
        values = con.execute(f'select "{column}" from "{table}" where {where}').fetchall()
        refs |= {v[0] for v in values if isinstance(v[0], str) and len(v[0]) == 64}
    return refs


class IntegrityService:
    """``verify``, ``gc`` and the audit log of one workspace."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def verify(self, progress: Progress = NULL_PROGRESS) -> VerifyReport:
        """Re-hash every object and check every recorded object exists."""
        objects = self.ctx.objects
        with self.ctx.store.read() as con:
            referenced = referenced_objects(con)
        digests = sorted(set(objects.digests()) | referenced)
        progress.start("verifying objects", total=len(digests))
        missing, damaged = [], []
        for digest in digests:
            progress.check_cancelled()
            state = objects.check(digest)
            if state == "missing":
                missing.append(digest)
            elif state == "damaged":
                damaged.append(digest)
            progress.advance()
        stale = [t for t in objects.temp_files() if t.stale]
        return VerifyReport(len(digests), missing, damaged, stale, self.audit_verify())

    def gc(self) -> list[str]:
        """Remove objects no record refers to, and temp files; returns removed digests.

        Holds the object store's collection lock from the scan to the last delete: writes in
        flight finish first (their objects are recorded by then), new ones wait.
        """
        objects = self.ctx.objects
        with objects.collecting():
            with self.ctx.store.read() as con:
                referenced = referenced_objects(con)
            removed = [d for d in objects.digests() if d not in referenced]
            for digest in removed:
                objects.remove(digest)
            shutil.rmtree(objects.tmp, ignore_errors=True)
            objects.tmp.mkdir(exist_ok=True)
        return removed

    # -- audit -------------------------------------------------------------------------------

    def audit_log(self, since: datetime | None = None) -> list[audit.AuditEntry]:
        """Recorded state changes, oldest first."""
        with self.ctx.store.read() as con:
            return audit.entries(con, since)

    def audit_verify(
        self, anchor: audit.Anchor | str | None = None, key_file: Path | str | None = None
    ) -> audit.AuditVerdict:
        """Problems in the audit chain and the governed state, and (given) an anchor the
        chain must still hold and the key its entries must be signed with; empty when intact.

        Without ``key_file``, the workspace's own ``[audit] key_file`` is used when set.
        """
        if isinstance(anchor, str):
            try:
                anchor = audit.Anchor.parse(anchor)
            except ValueError as exc:
                raise InputError(str(exc)) from None
        key = read_audit_key(Path(key_file), self.ctx.root) if key_file else self.ctx.audit_key
        with self.ctx.store.read() as con:
            return audit.verify(con, anchor, key)

    def audit_head(self) -> audit.Anchor | None:
        """The newest audit entry as an anchor to keep outside the workspace."""
        with self.ctx.store.read() as con:
            return audit.head(con)

    def record(self, action: str, subject: str | None = None, **details: Any) -> int:
        """Append an entry to the audit log (used by faces for their own notes)."""
        with self.ctx.store.write() as con:
            return self.ctx.audit(con, action, subject, details)
