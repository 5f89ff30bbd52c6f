"""Model versions in the store: ``name@vN`` linked to the run and snapshot they came from.

References: ``NAME@vN`` (a version), ``NAME@ALIAS`` (the version holding an alias now),
``NAME@latest`` or ``NAME`` (the newest version).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from .. import audit
from ..errors import InputError, NotFoundError

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "ModelVersion",
    "ModelRef",
    "parse_model_ref",
    "validate_model_name",
    "insert_version",
    "get_version",
    "list_versions",
    "resolve",
    "set_intended_use",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*\Z")
_VERSION = re.compile(r"v(\d+)\Z")
_COLUMNS = (
    "id, name, version, run_id, snapshot_ref, snapshot_hash, model_hash, task, target, "
    "mlflow_version, intended_use, author, created_at"
)


@dataclass
class ModelVersion:
    """One registered version of a named model."""

    id: int
    name: str
    version: int
    run_id: int
    snapshot_ref: str | None
    snapshot_hash: str | None
    model_hash: str | None
    task: str | None
    target: str | None
    mlflow_version: str | None
    intended_use: str | None
    author: str
    created_at: datetime
    #: aliases this version holds now (filled by the facade)
    aliases: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """How people name it: ``churn-model@v3``."""
        return f"{self.name}@v{self.version}"

    def __repr__(self) -> str:
        held = f" [{', '.join(self.aliases)}]" if self.aliases else ""
        return f"ModelVersion({self.ref}{held}, run {self.run_id}, {self.snapshot_ref})"


@dataclass(frozen=True)
class ModelRef:
    """A parsed model reference: a name and a version, an alias, or neither (latest)."""

    name: str
    version: int | None = None
    alias: str | None = None


def validate_model_name(name: str) -> str:
    """``name`` if it is a valid model name, else ``InputError``."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(
            f"invalid model name {name!r}", hint="letters, digits, '_', '.', '-'; no '@'"
        )
    return name


def parse_model_ref(ref: str) -> ModelRef:
    """Parse ``NAME@vN``, ``NAME@ALIAS``, ``NAME@latest`` or ``NAME``."""
    name, _, suffix = str(ref).strip().partition("@")
    validate_model_name(name)
    if not suffix or suffix == "latest":
        return ModelRef(name)
    match = _VERSION.match(suffix)
    if match:
        return ModelRef(name, version=int(match.group(1)))
    from .aliases import validate_alias

    return ModelRef(name, alias=validate_alias(suffix))


def _row(r: tuple) -> ModelVersion:
    return ModelVersion(*r)


def insert_version(
    con: duckdb.DuckDBPyConnection,
    name: str,
    run: object,
    mlflow_version: str | None,
    actor: str,
) -> ModelVersion:
    """Record the next version of ``name`` for a finished run (inside a write transaction)."""
    version = con.execute(
        "select coalesce(max(version), 0) + 1 from model_versions where name = ?", [name]
    ).fetchall()[0][0]
    now = datetime.now()
    values = [
        name, version, run.id, run.snapshot_ref, run.snapshot_hash, run.model_hash, run.task,
        run.target, mlflow_version, None, actor, now,
    ]  # fmt: skip
    con.execute(
        "insert into model_versions (name, version, run_id, snapshot_ref, snapshot_hash, "
        "model_hash, task, target, mlflow_version, intended_use, author, created_at) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        values,
    )
    details = {"run": run.id, "snapshot": run.snapshot_ref, "mlflow_version": mlflow_version}
    audit.append(con, actor, "model.registered", f"{name}@v{version}", details)
    return get_version(con, name, version)


def get_version(con: duckdb.DuckDBPyConnection, name: str, version: int) -> ModelVersion:
    """One version, or ``NotFoundError``."""
    rows = con.execute(
        f"select {_COLUMNS} from model_versions where name = ? and version = ?", [name, version]
    ).fetchall()
    if not rows:
        raise NotFoundError(f"no model version {name}@v{version}")
    return _row(rows[0])


def list_versions(con: duckdb.DuckDBPyConnection, name: str | None = None) -> list[ModelVersion]:
    """Every version (of one model), by name then newest first."""
    sql = f"select {_COLUMNS} from model_versions"
    params: list = []
    if name is not None:
        sql += " where name = ?"
        params.append(name)
    rows = con.execute(sql + " order by name, version desc", params).fetchall()
    return [_row(r) for r in rows]


def resolve(con: duckdb.DuckDBPyConnection, ref: str | ModelRef) -> ModelVersion:
    """The version a reference names now."""
    from .aliases import holder

    parsed = ref if isinstance(ref, ModelRef) else parse_model_ref(ref)
    if parsed.version is not None:
        return get_version(con, parsed.name, parsed.version)
    if parsed.alias is not None:
        version = holder(con, parsed.name, parsed.alias)
        if version is None:
            raise NotFoundError(f"no version of {parsed.name} holds alias {parsed.alias!r}")
        return get_version(con, parsed.name, version)
    latest = con.execute(
        "select max(version) from model_versions where name = ?", [parsed.name]
    ).fetchall()[0][0]
    if latest is None:
        raise NotFoundError(f"no model named {parsed.name!r}", hint="see `workbench models list`")
    return get_version(con, parsed.name, latest)


def set_intended_use(
    con: duckdb.DuckDBPyConnection, mv: ModelVersion, text: str, actor: str
) -> None:
    """Replace a version's intended-use text (inside a write transaction)."""
    con.execute("update model_versions set intended_use = ? where id = ?", [text, mv.id])
    audit.append(con, actor, "model.intended_use", mv.ref, {"text": text})
