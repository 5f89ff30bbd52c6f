"""The metadata bundle: a workspace's DuckDB tables as Parquet, in one tar with a manifest.

A bundle holds every table of the store (the audit log included) except the local ones
(``LOCAL_TABLES``: caches that name local files or that each machine rebuilds, and the schema
version, which the reader's own migrations set). Each table is one zstd Parquet file written
by DuckDB from one read transaction, so the bundle is one consistent state; the manifest
records the schema version, every column's type (runs grow metric and param columns), each
table's row count, the sequences' last values and the audit log's head.

Reading a bundle builds a **new** database file: the reader's migrations create the schema,
columns the bundle has beyond it are added (names and types checked against strict patterns:
a bundle comes from elsewhere and nothing from it is formatted into SQL unchecked), rows are
inserted by column name, sequences are moved past the last ids, and the audit chain and every
governed row are verified before the file may replace anything.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import audit
from ..errors import IntegrityError, WorkbenchError
from ..store import SCHEMA_VERSION, Store

if TYPE_CHECKING:
    import duckdb

__all__ = ["Manifest", "LOCAL_TABLES", "export_bundle", "read_bundle", "build_store"]

FORMAT = 1
#: tables that never travel: the source-file cache names local paths, reference statistics
#: are a cache each machine rebuilds, the schema version comes from the reader's migrations,
#: and the notification outbox is this machine's delivery work (a clone must not send the
#: origin's pending messages again)
LOCAL_TABLES = ("source_cache", "drift_reference_stats", "schema_version", "outbox",
                "outbox_attempts")  # fmt: skip
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_TYPE = re.compile(
    r"^(BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT"
    r"|FLOAT|DOUBLE|DECIMAL\(\d{1,2},\d{1,2}\)|VARCHAR|BLOB|DATE|TIME|TIMESTAMP"
    r"|TIMESTAMP WITH TIME ZONE|TIMESTAMP_NS|TIMESTAMP_MS|TIMESTAMP_S|INTERVAL|UUID|JSON)"
    r"(\[\])?$"
)


@dataclass
class Manifest:
    """What a bundle holds."""

    schema_version: int
    #: the audit log's newest entry, ``SEQ:HASH`` (None: an empty log)
    audit_head: str | None
    #: table -> {"rows": n, "columns": [[name, type], ...]}
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: sequence -> its last value
    sequences: dict[str, int] = field(default_factory=dict)
    format: int = FORMAT

    def to_json(self) -> bytes:
        """Canonical JSON bytes."""
        data = {
            "format": self.format,
            "schema_version": self.schema_version,
            "audit_head": self.audit_head,
            "tables": self.tables,
            "sequences": self.sequences,
        }
        return json.dumps(data, sort_keys=True, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Parse and check a manifest (one clear error when it is not one)."""
        try:
            raw = json.loads(data)
            manifest = cls(
                schema_version=int(raw["schema_version"]),
                audit_head=raw.get("audit_head"),
                tables=dict(raw["tables"]),
                sequences={str(k): int(v) for k, v in raw.get("sequences", {}).items()},
                format=int(raw.get("format", 0)),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise IntegrityError(f"the metadata bundle's manifest is damaged: {exc}") from None
        if manifest.format != FORMAT:
            raise WorkbenchError(
                f"the metadata bundle has format {manifest.format}; this workbench reads {FORMAT}",
                hint="upgrade the workbench package",
            )
        return manifest


def _tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.tables "
        "where table_schema = 'main' and table_type = 'BASE TABLE' order by table_name"
    ).fetchall()
    return [r[0] for r in rows]


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[list[str]]:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'main' and table_name = ? order by ordinal_position",
        [table],
    ).fetchall()
    return [[r[0], r[1]] for r in rows]


def export_bundle(con: duckdb.DuckDBPyConnection, dest: Path) -> Manifest:
    """Write every travelling table of the store open on ``con`` (one transaction, one
    state) and the manifest as ``dest`` (a tar)."""
    folder = dest.with_suffix(".d")
    folder.mkdir()
    head = audit.head(con)
    manifest = Manifest(SCHEMA_VERSION, str(head) if head else None)
    for table in _tables(con):
        if table in LOCAL_TABLES:
            continue
        # names come from DuckDB's catalog, never from user text
        relation = con.sql(f'select * from "{table}"')
        relation.write_parquet(str(folder / f"{table}.parquet"), compression="zstd")
        rows = con.execute(f'select count(*) from "{table}"').fetchall()[0][0]
        manifest.tables[table] = {"rows": int(rows), "columns": _columns(con, table)}
    for name, last in con.execute(
        "select sequence_name, last_value from duckdb_sequences() where schema_name = 'main'"
    ).fetchall():
        if last is not None:
            manifest.sequences[name] = int(last)
    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, "manifest.json", manifest.to_json())
        for table in sorted(manifest.tables):
            _add(tar, f"tables/{table}.parquet", (folder / f"{table}.parquet").read_bytes())
    for part in folder.iterdir():
        part.unlink()
    folder.rmdir()
    return manifest


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    info.mtime = 0  # the same state gives the same bytes
    tar.addfile(info, io.BytesIO(data))


def read_bundle(path: Path, folder: Path) -> Manifest:
    """Unpack a bundle into ``folder`` (only the names a bundle may hold) and read its
    manifest."""
    folder.mkdir(exist_ok=True)
    (folder / "tables").mkdir(exist_ok=True)
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:") as tar:
            for member in tar:
                name = member.name
                table = name.removeprefix("tables/").removesuffix(".parquet")
                allowed = name == "manifest.json" or (
                    name.startswith("tables/") and name.endswith(".parquet") and _IDENT.match(table)
                )
                if not member.isfile() or not allowed:
                    raise IntegrityError(f"the metadata bundle holds an unexpected entry {name!r}")
                handle = tar.extractfile(member)
                assert handle is not None
                found[name] = handle.read()
    except tarfile.TarError as exc:
        raise IntegrityError(f"the metadata bundle is damaged: {exc}") from None
    if "manifest.json" not in found:
        raise IntegrityError("the metadata bundle has no manifest")
    manifest = Manifest.from_json(found.pop("manifest.json"))
    for name, data in found.items():
        (folder / name).write_bytes(data)
    for table in manifest.tables:
        if not _IDENT.match(table) or not (folder / "tables" / f"{table}.parquet").is_file():
            raise IntegrityError(f"the metadata bundle lacks table {table!r}")
    return manifest


def build_store(folder: Path, manifest: Manifest, dest: Path) -> None:
    """Build a new database at ``dest`` from an unpacked bundle, and verify it.

    Raises ``WorkbenchError`` when the bundle comes from a newer workbench and
    ``IntegrityError`` when its audit log or state does not verify.
    """
    if manifest.schema_version > SCHEMA_VERSION:
        raise WorkbenchError(
            f"the remote was pushed by a newer workbench (schema {manifest.schema_version}, "
            f"this one has {SCHEMA_VERSION})",
            hint="upgrade the workbench package",
        )
    store = Store(dest)
    store.migrate()
    with store.write() as con:
        known = set(_tables(con))
        for table, info in manifest.tables.items():
            if table not in known:
                raise WorkbenchError(
                    f"the metadata bundle has a table {table!r} this workbench does not know",
                    hint="upgrade the workbench package",
                )
            _add_columns(con, table, info.get("columns", []))
            path = folder / "tables" / f"{table}.parquet"
            con.execute(f'insert into "{table}" by name select * from read_parquet(?)', [str(path)])
            got = con.execute(f'select count(*) from "{table}"').fetchall()[0][0]
            if got != int(info.get("rows", -1)):
                raise IntegrityError(
                    f"the metadata bundle's table {table} has {got} rows, its manifest says "
                    f"{info.get('rows')}"
                )
        sequences = {
            r[0] for r in con.execute("select sequence_name from duckdb_sequences()").fetchall()
        }
        for name, last in manifest.sequences.items():
            if name in sequences and last > 0:
                con.execute("select max(nextval(?)) from range(?)", [name, last])
        problems = audit.verify(con)
    if problems:
        raise IntegrityError(
            f"the pulled audit log does not verify ({len(problems)} problems; first: "
            f"{problems[0]})",
            hint="nothing was changed here; run `workbench audit verify` where it was pushed",
        )


def _add_columns(con: duckdb.DuckDBPyConnection, table: str, columns: list) -> None:
    """Add the bundle's columns the new table lacks (runs' metric and param slots)."""
    have = {name for name, _ in _columns(con, table)}
    for entry in columns:
        name, kind = str(entry[0]), str(entry[1]).upper()
        if name in have:
            continue
        if not _IDENT.match(name) or not _TYPE.match(kind):
            raise IntegrityError(
                f"the metadata bundle's column {table}.{name} ({kind}) is not one this "
                "workbench writes"
            )
        con.execute(f'alter table "{table}" add column "{name}" {kind}')
