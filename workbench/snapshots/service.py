"""The snapshots service: versioned, content-addressed data snapshots.

Built with the workspace ``Context`` only; experiments, drift and the registry are built on it.
Each method is one unit of work: it opens the store, does its work in one transaction (SQL in
``repository``) and closes, so any number of processes can use the same workspace side by side.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError, IntegrityError
from ..progress import NULL_PROGRESS, Progress
from . import batches
from . import repository as repo
from .importer import AddResult, check_columns, import_file
from .reader import check_source_path, read_table
from .records import Snapshot
from .refs import validate_name

if TYPE_CHECKING:
    import polars as pl

    from ..context import Context
    from .contract import Contract, Violation
    from .diff import SnapshotDiff

__all__ = ["SnapshotService", "ImportRequest", "ValidationReport"]


@dataclass(frozen=True)
class ImportRequest:
    """What ``data add`` imports: a file, the name it versions, and the columns' roles."""

    path: Path | str
    name: str
    target: str | None = None
    time_column: str | None = None
    key: str | None = None
    message: str | None = None


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


class SnapshotService:
    """Import, look up, load, compare, export and validate snapshots."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # -- import ------------------------------------------------------------------------------

    def add(self, request: ImportRequest, progress: Progress = NULL_PROGRESS) -> AddResult:
        """Add a file as the next version of ``request.name`` (or recognise it as unchanged).

        An unchanged source file is recognised from the (path, size, mtime) cache without
        reading it; the acting user is resolved only when something will be recorded (it reads
        the settings, which bad settings refuse before anything is written). The whole add
        holds the object store's write lock, so ``gc`` never removes its object before it is
        recorded.
        """
        with self.ctx.objects.writing():
            return self._add(request, progress)

    def _add(self, request: ImportRequest, progress: Progress) -> AddResult:
        validate_name(request.name)
        path = check_source_path(Path(request.path))
        st = path.stat()
        with self.ctx.store.read() as con:
            cached = repo.cached_source(con, str(path), st.st_size, st.st_mtime_ns)
            if cached is not None and not self.ctx.objects.exists(cached.object_hash):
                cached = None
            existing = (
                repo.version_holding(con, request.name, cached.object_hash) if cached else None
            )
        if existing is not None:  # the fast path: nothing read, nothing written
            return AddResult(existing, False, f"unchanged: identical to {existing.ref}")
        author = self.ctx.actor
        if cached is None:
            content, source_hash = import_file(self.ctx.objects, path, progress)
            new = repo.NewSnapshot(
                request.name, content.object_hash, content.object_size, content.n_rows,
                content.schema, content.profile, request.target, request.time_column,
                request.key, str(path), source_hash, request.message, author,
            )  # fmt: skip
        else:
            new = repo.NewSnapshot(
                request.name, cached.object_hash, cached.object_size, cached.n_rows,
                cached.schema, cached.profile, request.target, request.time_column, request.key,
                str(path), cached.source_hash, request.message, author,
            )  # fmt: skip
        check_columns(new.schema, request.target, request.time_column, request.key)
        progress.check_cancelled()
        with self.ctx.store.write() as con:
            repo.remember_source(
                con, str(path), st.st_size, st.st_mtime_ns, new.source_hash or "", new.object_hash
            )
            same = repo.version_holding(con, request.name, new.object_hash)
            if same is not None:
                return AddResult(same, False, f"unchanged: identical to {same.ref}")
            snap = repo.insert_snapshot(con, new)
            self.ctx.audit(
                con, "snapshot.added", snap.ref,
                {"object": new.object_hash, "rows": new.n_rows, "source": str(path)},
                rows=[("snapshots", snap.id)], actor=author,
            )  # fmt: skip
        return AddResult(snap, True, f"added {snap.ref}")

    # -- lookups -----------------------------------------------------------------------------

    def get(self, ref: str) -> Snapshot:
        """The snapshot a reference names (``churn@v2``, ``churn``, a hash prefix)."""
        with self.ctx.store.read() as con:
            return repo.resolve(con, ref)

    def all(self, name: str | None = None) -> list[Snapshot]:
        """All snapshots, or one name's versions, newest first."""
        with self.ctx.store.read() as con:
            return repo.list_snapshots(con, name)

    def table(self) -> pl.DataFrame:
        """All snapshots as a Polars frame (fast for thousands of versions)."""
        with self.ctx.store.read() as con:
            return repo.snapshot_frame(con)

    def lineage(self, name_or_ref: str) -> list[Snapshot]:
        """A snapshot and its ancestors (the lineage chain), newest first."""
        with self.ctx.store.read() as con:
            return repo.lineage(con, repo.resolve(con, name_or_ref))

    def resolve(self, ref: str | Snapshot) -> Snapshot:
        """``ref`` itself when it is a Snapshot, else the snapshot it names."""
        return ref if isinstance(ref, Snapshot) else self.get(ref)

    # -- data --------------------------------------------------------------------------------

    def object_path(self, snap: Snapshot) -> Path:
        """Where a snapshot's Parquet object lives."""
        return self.ctx.objects.path(snap.object_hash)

    def scan(self, ref: str | Snapshot) -> pl.LazyFrame:
        """A lazy scan of a snapshot's data (IntegrityError when its object is gone)."""
        import polars as pl

        return pl.scan_parquet(self._present(self.resolve(ref)))

    def _present(self, snap: Snapshot) -> Path:
        """The snapshot's object path; one clear error when the file is missing."""
        path = self.object_path(snap)
        if not path.is_file():
            raise IntegrityError(
                f"{snap.ref}'s data ({snap.short_hash}) is missing from .workbench/objects",
                hint="run `workbench verify`; restore the file or pull it from a remote",
            )
        return path

    def load(self, ref: str | Snapshot) -> pl.DataFrame:
        """A snapshot's data as a Polars frame."""
        return self.scan(ref).collect()

    def diff(self, ref_a: str, ref_b: str, key: str | None = None) -> SnapshotDiff:
        """What changed from ``ref_a`` to ``ref_b``; rows too when a key is known."""
        from .diff import diff_snapshots

        a, b = self.get(ref_a), self.get(ref_b)
        return diff_snapshots(a, b, self.object_path(a), self.object_path(b), key)

    def export(self, ref: str, dest: Path | str, fmt: str | None = None) -> Path:
        """Write a snapshot's exact content to ``dest`` as Parquet (bytes as stored) or CSV."""
        dest = Path(dest)
        snap = self.get(ref)
        fmt = fmt or ("csv" if dest.suffix.lower() == ".csv" else "parquet")
        if fmt not in ("csv", "parquet"):
            raise InputError(f"unknown export format {fmt!r}", hint="use csv or parquet")
        if dest.is_dir():
            raise InputError(f"{dest} is a folder", hint="give a file name")
        if not dest.parent.is_dir():
            raise InputError(f"folder {dest.parent} does not exist")
        self._present(snap)
        if fmt == "parquet":
            self.ctx.objects.copy_to(snap.object_hash, dest)
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
        from .contract import infer_contract

        return infer_contract(self.get(ref))

    def validate(
        self, path: Path | str, against: str | None = None, contract_file: Path | str | None = None
    ) -> ValidationReport:
        """Check a file against a snapshot's inferred contract or a saved contract file."""
        if (against is None) == (contract_file is None):
            raise InputError("give either a snapshot reference or a contract file to check against")
        from .contract import Contract, check_contract

        if contract_file is not None:
            rules = Contract.load(Path(contract_file))
        else:
            assert against is not None
            rules = self.contract(against)
        df = read_table(check_source_path(Path(path)))
        violations = check_contract(df, rules)
        return ValidationReport(str(path), rules.source, df.height, violations)

    # -- named concepts ----------------------------------------------------------------------

    def production_batches(self) -> list[str]:
        """Names of the production batches (``prod-*`` snapshots), oldest period first."""
        return batches.production_batches(self.all())

    def unseen_labelled(self, target: str, trained_on: list[Snapshot]) -> list[Snapshot]:
        """Labelled snapshots none of ``trained_on`` contains, oldest first (latest version
        per name; see ``batches`` for the rule)."""
        candidates = batches.labelled_candidates(self.all(), target, trained_on)
        frames = [self.load(s) for s in trained_on]
        unseen = [
            s
            for s in candidates
            if not any(batches.overlaps(self.load(s), f, s.key_column) for f in frames)
        ]
        return list(reversed(unseen))
