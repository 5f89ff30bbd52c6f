"""``Workspace``: the one door to the workbench for the CLI, the TUI and notebooks.

Each method is one unit of work: it opens the store, does its work in a transaction and closes,
so any number of processes can use the same workspace side by side.
"""

from __future__ import annotations

import functools
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from . import audit
from .drift.facade import DriftMixin
from .errors import InputError
from .experiments.facade import ExperimentsMixin
from .locate import WORKBENCH_DIR, find_workspace
from .objects import ObjectStore
from .progress import NULL_PROGRESS, Progress
from .registry.facade import RegistryMixin
from .snapshots import catalog, importer
from .snapshots.catalog import Snapshot
from .snapshots.importer import AddResult
from .snapshots.reader import check_source_path, read_table
from .store import Store

if TYPE_CHECKING:
    import polars as pl

    from .config import Settings
    from .snapshots.contract import Contract, Violation
    from .snapshots.diff import SnapshotDiff

__all__ = ["Workspace", "VerifyReport", "ValidationReport", "find_workspace", "WORKBENCH_DIR"]


@dataclass(frozen=True)
class VerifyReport:
    """Result of re-hashing every object."""

    checked: int
    missing: list[str]
    damaged: list[str]

    @property
    def ok(self) -> bool:
        return not self.missing and not self.damaged


@dataclass(frozen=True)
class ValidationReport:
    """Result of checking a file against a contract."""

    path: str
    contract_source: str | None
    rows: int
    violations: list[Violation]

    @property
    def ok(self) -> bool:
        return not self.violations


class Workspace(RegistryMixin, ExperimentsMixin, DriftMixin):
    """A project's workbench: snapshots (and later runs, models, drift) in one place."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.dir = self.root / WORKBENCH_DIR
        # Settings (pydantic, ~0.2 s of import) load on first use: the store asks for its lock
        # timeout only when another process holds the lock, so an unchanged `data add` or a
        # `data list` never pays for them.
        self.store = Store(
            self.dir / "meta.duckdb", lock_timeout=lambda: self.settings.lock_timeout
        )
        self.objects = ObjectStore(self.dir / "objects", self.dir / "tmp")

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def init(cls, path: Path | str = ".") -> Workspace:
        """Create a workspace in ``path`` (idempotent) and open it."""
        root = Path(path).expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise InputError(f"{root} is not a folder")
        wdir = root / WORKBENCH_DIR
        for sub in ("objects", "tmp", "mlflow", "predictions"):
            (wdir / sub).mkdir(parents=True, exist_ok=True)
        from .config import default_settings_text
        from .settings_file import SETTINGS_FILE

        settings = wdir / SETTINGS_FILE
        if not settings.exists():
            settings.write_text(default_settings_text(), encoding="utf-8")
        ws = cls(root)
        ws.store.migrate()
        return ws

    @classmethod
    def open(cls, path: Path | str | None = None) -> Workspace:
        """Open the workspace at ``path``, from ``WORKBENCH_WORKSPACE``, or found walking up."""
        return cls(find_workspace(path))

    @functools.cached_property
    def settings(self) -> Settings:
        """The workspace's settings (``workbench.toml`` and ``WORKBENCH_*`` variables)."""
        from .config import load_settings

        return load_settings(self.dir)

    @property
    def actor(self) -> str:
        """Who is acting (settings or the OS user).

        Until the settings are loaded, read without validating the rest of them (pydantic's
        import is ~0.1 s of every recorded change); a value that is not a string goes through
        the full settings, which refuse it with one clear line. Once they are loaded, taken
        from them, so the actor and the roles always come from the same reading.
        """
        if "settings" in self.__dict__:
            return self.settings.actor_name
        from .settings_file import os_user, read_settings

        actor = read_settings(self.dir).get("actor")
        if actor is None or isinstance(actor, str):
            return actor or os_user()
        return self.settings.actor_name

    def change_token(self) -> int:
        """Changes whenever any process writes to this workspace (cheap: one stat)."""
        return self.store.change_token()

    # -- snapshots ---------------------------------------------------------------------------

    def add_snapshot(
        self,
        path: Path | str,
        name: str,
        *,
        target: str | None = None,
        time_column: str | None = None,
        key: str | None = None,
        message: str | None = None,
        progress: Progress = NULL_PROGRESS,
    ) -> AddResult:
        """Import a CSV or Parquet file as the next version of ``name``."""
        return importer.add_snapshot(
            self.store, self.objects, path, name, author=lambda: self.actor, target=target,
            time_column=time_column, key=key, message=message, progress=progress,
        )  # fmt: skip

    def snapshot(self, ref: str) -> Snapshot:
        """The snapshot a reference names (``churn@v2``, ``churn``, a hash prefix)."""
        with self.store.read() as con:
            return catalog.resolve(con, ref)

    def snapshots(self, name: str | None = None) -> list[Snapshot]:
        """All snapshots, or one name's versions, newest first."""
        with self.store.read() as con:
            return catalog.list_snapshots(con, name)

    def snapshot_table(self) -> pl.DataFrame:
        """All snapshots as a Polars frame (fast for thousands of versions)."""
        with self.store.read() as con:
            return catalog.snapshot_frame(con)

    def log(self, name_or_ref: str) -> list[Snapshot]:
        """A snapshot and its ancestors (the lineage chain), newest first."""
        with self.store.read() as con:
            return catalog.lineage(con, catalog.resolve(con, name_or_ref))

    def object_path(self, snap: Snapshot) -> Path:
        """Where a snapshot's Parquet object lives."""
        return self.objects.path(snap.object_hash)

    def scan(self, ref: str | Snapshot) -> pl.LazyFrame:
        """A lazy scan of a snapshot's data."""
        import polars as pl

        snap = ref if isinstance(ref, Snapshot) else self.snapshot(ref)
        return pl.scan_parquet(self.object_path(snap))

    def load(self, ref: str | Snapshot) -> pl.DataFrame:
        """A snapshot's data as a Polars frame."""
        return self.scan(ref).collect()

    def diff(self, ref_a: str, ref_b: str, key: str | None = None) -> SnapshotDiff:
        """What changed from ``ref_a`` to ``ref_b``; rows too when a key is known."""
        from .snapshots import diff

        a, b = self.snapshot(ref_a), self.snapshot(ref_b)
        return diff.diff_snapshots(a, b, self.object_path(a), self.object_path(b), key)

    def export(self, ref: str, dest: Path | str, fmt: str | None = None) -> Path:
        """Write a snapshot's exact content to ``dest`` as Parquet (bytes as stored) or CSV."""
        dest = Path(dest)
        snap = self.snapshot(ref)
        fmt = fmt or ("csv" if dest.suffix.lower() == ".csv" else "parquet")
        if fmt not in ("csv", "parquet"):
            raise InputError(f"unknown export format {fmt!r}", hint="use csv or parquet")
        if dest.is_dir():
            raise InputError(f"{dest} is a folder", hint="give a file name")
        if not dest.parent.is_dir():
            raise InputError(f"folder {dest.parent} does not exist")
        if fmt == "parquet":
            self.objects.copy_to(snap.object_hash, dest)
        else:
            part = dest.with_name(f".{dest.name}.part")
            try:
                self.load(snap).write_csv(part)
                os.replace(part, dest)
            finally:
                part.unlink(missing_ok=True)
        return dest

    # -- contracts ---------------------------------------------------------------------------

    def contract(self, ref: str) -> Contract:
        """The contract inferred from a snapshot (types, nulls, ranges, categories)."""
        from .snapshots.contract import infer_contract

        return infer_contract(self.snapshot(ref))

    def validate(
        self, path: Path | str, against: str | None = None, contract_file: Path | str | None = None
    ) -> ValidationReport:
        """Check a file against a snapshot's inferred contract or a saved contract file."""
        if (against is None) == (contract_file is None):
            raise InputError("give either a snapshot reference or a contract file to check against")
        from .snapshots.contract import Contract, check_contract

        rules = Contract.load(Path(contract_file)) if contract_file else self.contract(against)
        df = read_table(check_source_path(Path(path)))
        violations = check_contract(df, rules)
        return ValidationReport(str(path), rules.source, df.height, violations)

    # -- integrity ---------------------------------------------------------------------------

    def verify(self, progress: Progress = NULL_PROGRESS) -> VerifyReport:
        """Re-hash every object and check every recorded object exists."""
        with self.store.read() as con:
            referenced = _referenced_objects(con)
        digests = sorted(set(self.objects.digests()) | referenced)
        progress.start("verifying objects", total=len(digests))
        missing, damaged = [], []
        for digest in digests:
            progress.check_cancelled()
            state = self.objects.check(digest)
            if state == "missing":
                missing.append(digest)
            elif state == "damaged":
                damaged.append(digest)
            progress.advance()
        return VerifyReport(len(digests), missing, damaged)

    def gc(self) -> list[str]:
        """Remove objects no record refers to, and stale temp files; returns removed digests."""
        with self.store.read() as con:
            referenced = _referenced_objects(con)
        removed = [d for d in self.objects.digests() if d not in referenced]
        for digest in removed:
            self.objects.remove(digest)
        shutil.rmtree(self.objects.tmp, ignore_errors=True)
        self.objects.tmp.mkdir(exist_ok=True)
        return removed

    # -- audit -------------------------------------------------------------------------------

    def audit_log(self, since: datetime | None = None) -> list[audit.AuditEntry]:
        """Recorded state changes, oldest first."""
        with self.store.read() as con:
            return audit.entries(con, since)

    def audit_verify(self) -> list[str]:
        """Problems in the audit chain; empty when intact."""
        with self.store.read() as con:
            return audit.verify(con)

    def record(self, action: str, subject: str | None = None, **details) -> int:
        """Append an entry to the audit log (used by faces for their own notes)."""
        with self.store.write() as con:
            return audit.append(con, self.actor, action, subject, details)


def _referenced_objects(con) -> set[str]:
    """Digests of every object a live record points to: any ``*_hash`` column of any table.

    New features get ``gc`` and ``verify`` for free by naming their object columns
    ``..._hash`` (``source_hash`` is the hash of a user's file, not an object; the audit log's
    hashes are its chain). Rows of tables with a ``deleted`` flag count only while not deleted, so a
    soft-deleted run's model is reclaimed by ``gc``. Identifiers come from DuckDB's catalog,
    never from user text.
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
        where = f'"{column}" is not null' + (" and not deleted" if table in deleted else "")
        values = con.execute(f'select "{column}" from "{table}" where {where}').fetchall()
        refs |= {v[0] for v in values if isinstance(v[0], str) and len(v[0]) == 64}
    return refs
