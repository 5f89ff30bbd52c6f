"""Where the prediction log lives on disk, how its files are named, and which of them count.

```
<project>/.workbench/predictions/
  .compact.lock                                  flock(2) held by the one running compaction
  <model>/v<version>/<YYYY-MM-DD>/               one folder per model version and UTC day
    seg-<tmin>-<tmax>-<pid>-<token>-<fp>.parquet   written by a writer's flush
    cmp-<tmin>-<tmax>-<pid>-<token>-<fp>.parquet   written by compaction
    .<name>.<random>.tmp                           being written; never read
```

``tmin``/``tmax`` bound the rows' times (UTC, ``YYYYmmddTHHMMSSffffff``), so a reader prunes
files by time from their names alone; ``pid`` and a random ``token`` make names unique across
processes and restarts; ``fp`` fingerprints the file's schema, so a reader groups files with
equal schemas without opening them. Files are immutable once they have their final name.

A compacted file lists in its Parquet key-value metadata (``workbench.replaces``) every file
it supersedes, transitively. A file is *live* unless a present compacted file lists it; the
superseded files stay on disk for a grace period (a reader that listed them just before keeps
reading them) and a later compaction deletes them. Renaming the compacted file into place is
the single atomic step that swaps the old rows for the new ones, for readers and after a crash.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, WorkspaceNotFound
from ..locate import WORKBENCH_DIR
from ..objects import fsync_dir

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "PREDICTIONS_DIR",
    "INPUT_PREFIX",
    "REPLACES_KEY",
    "FIXED_COLUMNS",
    "SegmentFile",
    "FolderListing",
    "predictions_dir",
    "version_dir",
    "check_model",
    "check_version",
    "format_time",
    "segment_name",
    "fingerprint",
    "list_folder",
    "day_folders",
    "live_files",
    "replaced_by",
    "write_atomic",
    "write_temporary",
    "publish",
]

PREDICTIONS_DIR = "predictions"
#: inputs are stored as top-level typed columns named ``in_<feature>``: no feature name can
#: collide with a fixed column, and a reader projects single features without the others
INPUT_PREFIX = "in_"
REPLACES_KEY = "workbench.replaces"
FIXED_COLUMNS = (
    "request_id",
    "time",
    "model",
    "version",
    "role",
    "route",
    "entity_key",
    "predicted_label",
    "score",
    "value",
    "latency_ms",
)

# The registry's rule for model names (not imported: workbench.registry loads DuckDB, which a
# scoring process's writer does not need); they become folder names, so nothing else passes.
_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}\Z")
_NAME = re.compile(
    r"(?P<kind>seg|cmp)-(?P<tmin>\d{8}T\d{12})-(?P<tmax>\d{8}T\d{12})"
    r"-(?P<pid>\d+)-(?P<token>[0-9a-f]+)-(?P<fp>[0-9a-f]{8})\.parquet\Z"
)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def predictions_dir(workspace: str | os.PathLike[str]) -> Path:
    """The log's folder for a project folder (or its ``.workbench`` folder)."""
    path = Path(workspace).expanduser()
    meta = path if path.name == WORKBENCH_DIR else path / WORKBENCH_DIR
    if not meta.is_dir():
        raise WorkspaceNotFound(f"no workspace at {path}", hint="run `workbench init` there")
    return meta / PREDICTIONS_DIR


def check_model(model: str) -> str:
    """``model`` if it is a valid model name (it becomes a folder name), else ``InputError``."""
    if not isinstance(model, str) or not _MODEL.match(model):
        raise InputError(
            f"invalid model name {model!r}", hint="letters, digits, '_', '.', '-'; no '@'"
        )
    return model


def check_version(version: int) -> int:
    """``version`` if it is a model version number, else ``InputError``."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise InputError(f"invalid model version {version!r}", hint="a whole number, e.g. 3")
    return version


def version_dir(root: Path, model: str, version: int) -> Path:
    """The folder holding one model version's days."""
    return root / check_model(model) / f"v{check_version(version)}"


def format_time(micros: int) -> str:
    """Microseconds since the epoch as the sortable UTC stamp used in file names."""
    return (_EPOCH + timedelta(microseconds=micros)).strftime("%Y%m%dT%H%M%S%f")


def day_of(micros: int) -> str:
    """The UTC day folder name (``YYYY-MM-DD``) of a time in microseconds since the epoch."""
    return (_EPOCH + timedelta(microseconds=micros)).strftime("%Y-%m-%d")


def segment_name(kind: str, tmin: str, tmax: str, fingerprint: str) -> str:
    """A new file name, unique across processes: time range (``format_time``), pid, random
    token, schema fingerprint."""
    return f"{kind}-{tmin}-{tmax}-{os.getpid()}-{uuid.uuid4().hex[:12]}-{fingerprint}.parquet"


def fingerprint(schema: Mapping[str, Any]) -> str:
    """Eight hex digits naming a schema (column names and types, in order)."""
    text = "|".join(f"{name}:{dtype}" for name, dtype in schema.items())
    return hashlib.blake2b(text.encode(), digest_size=4).hexdigest()


@dataclass(frozen=True)
class SegmentFile:
    """One finished Parquet file of the log, described by its name and ``stat``."""

    path: Path
    kind: str  # "seg" (a writer's flush) or "cmp" (a compaction's output)
    tmin: str
    tmax: str
    fingerprint: str
    size: int
    mtime: float

    @property
    def name(self) -> str:
        """The file name (unique in the whole log)."""
        return self.path.name


@dataclass(frozen=True)
class FolderListing:
    """What one day folder holds: live files, superseded files, temporary files."""

    live: list[SegmentFile]
    #: superseded file -> when its first present replacement appeared (mtime)
    superseded: dict[SegmentFile, float]
    temporary: list[tuple[Path, float]]


def list_folder(folder: Path) -> FolderListing:
    """One consistent-enough look at a day folder (a single ``scandir``)."""
    files: list[SegmentFile] = []
    temporary: list[tuple[Path, float]] = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return FolderListing([], {}, [])
    for entry in entries:
        if entry.name.endswith(".tmp"):
            temporary.append((Path(entry.path), _mtime(entry)))
            continue
        match = _NAME.match(entry.name)
        if match is None:
            continue
        try:
            st = entry.stat()
        except FileNotFoundError:  # deleted by a compaction since the scandir
            continue
        files.append(
            SegmentFile(
                Path(entry.path),
                match["kind"],
                match["tmin"],
                match["tmax"],
                match["fp"],
                st.st_size,
                st.st_mtime,
            )
        )
    files.sort(key=lambda f: (f.tmin, f.name))
    replaced_at: dict[str, float] = {}
    present = {f.name for f in files}
    for f in files:
        if f.kind == "cmp":
            replaced = replaced_by(f.path)
            if replaced is None:  # gone since the scandir: its own replacement covers it
                present.discard(f.name)
                continue
            for name in replaced:
                replaced_at[name] = min(replaced_at.get(name, f.mtime), f.mtime)
    live = [f for f in files if f.name in present and f.name not in replaced_at]
    superseded = {f: replaced_at[f.name] for f in files if f.name in replaced_at}
    return FolderListing(live, superseded, temporary)


def _mtime(entry: os.DirEntry[str]) -> float:
    try:
        return entry.stat().st_mtime
    except FileNotFoundError:
        return 0.0


@lru_cache(maxsize=4096)
def _replaced_names(path: str) -> frozenset[str]:
    # Compacted files never change once named, so their list is cached by path.
    import polars as pl

    text = pl.read_parquet_metadata(path).get(REPLACES_KEY, "")
    return frozenset(n for n in text.split("\n") if n)


def replaced_by(path: Path) -> frozenset[str] | None:
    """The names a compacted file supersedes, or None when it has just been deleted."""
    try:
        return _replaced_names(str(path))
    except Exception:
        if path.exists():
            raise
        return None


def day_folders(
    root: Path,
    model: str | None = None,
    version: int | None = None,
    first_day: str | None = None,
    last_day: str | None = None,
) -> Iterator[Path]:
    """Day folders of the log, optionally of one model (version) and within a day range."""
    models = [check_model(model)] if model is not None else _subdirs(root)
    for m in models:
        if version is not None:
            versions = [f"v{check_version(version)}"]
        else:
            versions = [v for v in _subdirs(root / m) if v[:1] == "v" and v[1:].isdigit()]
        for v in versions:
            for day in _subdirs(root / m / v):
                if not _DAY.match(day):
                    continue
                if (first_day and day < first_day) or (last_day and day > last_day):
                    continue
                yield root / m / v / day


def _subdirs(path: Path) -> list[str]:
    try:
        return sorted(e.name for e in os.scandir(path) if e.is_dir() and e.name[:1] != ".")
    except FileNotFoundError:
        return []


def live_files(
    root: Path,
    model: str | None = None,
    version: int | None = None,
    since_us: int | None = None,
    until_us: int | None = None,
) -> list[SegmentFile]:
    """Live files that may hold rows of one model (version) in ``[since, until)``."""
    first = day_of(since_us) if since_us is not None else None
    last = day_of(until_us) if until_us is not None else None
    lo = format_time(since_us) if since_us is not None else None
    hi = format_time(until_us) if until_us is not None else None
    out: list[SegmentFile] = []
    for folder in day_folders(root, model, version, first, last):
        for f in list_folder(folder).live:
            # A superseding file's range covers its inputs', so pruning never splits a swap.
            if (lo is not None and f.tmax < lo) or (hi is not None and f.tmin >= hi):
                continue
            out.append(f)
    return out


def ensure_dir(path: Path, root: Path) -> None:
    """Create ``path`` (under ``root``) and make every new folder entry durable."""
    if path.is_dir():
        return
    missing = []
    p = path
    while not p.is_dir() and p != root.parent:
        missing.append(p)
        p = p.parent
    for p in reversed(missing):
        try:
            p.mkdir()
        except FileExistsError:  # another writer made it meanwhile
            continue
        fsync_dir(p.parent)


def write_atomic(
    frame: pl.DataFrame, folder: Path, name: str, metadata: dict[str, str] | None = None
) -> Path:
    """Write ``frame`` as ``folder/name``: temporary name, fsync, rename, fsync the folder.

    A crash at any moment leaves either no file or the whole file under its final name.
    """
    tmp = write_temporary(frame, folder, name, metadata)
    try:
        return publish(tmp, folder, name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_temporary(
    frame: pl.DataFrame,
    folder: Path,
    name: str,
    metadata: dict[str, str] | None = None,
    compression: str = "zstd",
) -> Path:
    """Write ``frame`` under a temporary name in ``folder`` (never read), fsynced."""
    tmp = folder / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with open(tmp, "wb") as fh:
            frame.write_parquet(
                fh,
                compression=compression,  # type: ignore[arg-type]
                statistics=True,
                metadata=metadata,
            )
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def publish(tmp: Path, folder: Path, name: str) -> Path:
    """Give a temporary file its final name (the atomic step) and make that durable."""
    # Names are unique (pid + random token), so the rename never replaces a file.
    os.rename(tmp, folder / name)
    fsync_dir(folder)
    return folder / name


def check_time(value: datetime | None, what: str) -> int | None:
    """An aware datetime as microseconds since the epoch (None stays None)."""
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InputError(
            f"{what} must be a datetime with a time zone, got {value!r}",
            hint="e.g. datetime(2026, 11, 27, tzinfo=timezone.utc)",
        )
    return (value - _EPOCH) // timedelta(microseconds=1)
