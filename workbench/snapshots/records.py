"""Snapshot records: the ``Snapshot`` type that every layer above the store passes around."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from ..display import Schema, Tabular, frame, heading, html_table
from ..errors import NotFoundError
from .profile import ColumnProfile

if TYPE_CHECKING:
    import polars as pl

__all__ = ["Snapshot"]


@dataclass(frozen=True)
class Snapshot(Tabular):
    """One immutable version of a named dataset.

    In a notebook it shows its column profile; ``to_polars()`` is that profile, one row per
    column (the data itself is ``Workspace.load``). In a list, it is one row.
    """

    _SCHEMA: ClassVar[Schema] = {
        "ref": "String", "name": "String", "version": "Int64", "n_rows": "Int64",
        "n_columns": "Int64", "target": "String", "key": "String", "time_column": "String",
        "parent_id": "Int64", "hash": "String", "message": "String", "author": "String",
        "created_at": "Datetime",
    }  # fmt: skip
    _NOUN: ClassVar[str] = "snapshots"

    id: int
    name: str
    version: int
    parent_id: int | None
    object_hash: str
    object_size: int
    n_rows: int
    n_columns: int
    schema: dict[str, str]
    profile_data: list[dict] = field(repr=False)
    target: str | None
    time_column: str | None
    key_column: str | None
    source_path: str | None
    source_hash: str | None
    message: str | None
    author: str
    created_at: datetime

    @property
    def ref(self) -> str:
        """The human reference, ``name@vN``."""
        return f"{self.name}@v{self.version}"

    @property
    def short_hash(self) -> str:
        """First 12 hex digits of the content hash."""
        return self.object_hash[:12]

    @property
    def profile(self) -> list[ColumnProfile]:
        """Per-column profiles."""
        return [ColumnProfile.from_dict(d) for d in self.profile_data]

    def column(self, name: str) -> ColumnProfile:
        """The profile of one column."""
        for p in self.profile:
            if p.name == name:
                return p
        raise NotFoundError(f"{self.ref} has no column {name!r}")

    def _row(self) -> dict[str, Any]:
        return {
            "ref": self.ref, "name": self.name, "version": self.version, "n_rows": self.n_rows,
            "n_columns": self.n_columns, "target": self.target, "key": self.key_column,
            "time_column": self.time_column, "parent_id": self.parent_id,
            "hash": self.short_hash, "message": self.message, "author": self.author,
            "created_at": self.created_at,
        }  # fmt: skip

    def to_polars(self) -> pl.DataFrame:
        """The column profile: one row per column (type, kind, null share, distinct count,
        min, mean, max, std, and a note for text columns of numbers)."""
        return frame([_profile_row(p) for p in self.profile], _PROFILE_SCHEMA)

    def _repr_html_(self) -> str:
        rows = [_profile_row(p) for p in self.profile]
        columns = list(_PROFILE_SCHEMA)
        roles = [f"{role} {name}" for role, name in (("target", self.target),
                 ("key", self.key_column), ("time", self.time_column)) if name]  # fmt: skip
        return heading(
            self.ref, f"{self.n_rows:,} rows × {self.n_columns} columns", ", ".join(roles),
            self.short_hash, self.message,
        ) + html_table(columns, ([r[c] for c in columns] for r in rows))  # fmt: skip


_PROFILE_SCHEMA: Schema = {
    "column": "String", "type": "String", "kind": "String", "null_share": "Float64",
    "distinct": "Int64", "min": "String", "mean": "Float64", "max": "String", "std": "Float64",
    "note": "String",
}  # fmt: skip


def _profile_row(p: ColumnProfile) -> dict[str, Any]:
    """One column's profile as a row (min and max as text: they are numbers, dates or text)."""
    note = None
    if p.not_numbers:
        note = f"text: {p.not_numbers:,} values are not numbers"
    elif not p.summarised:
        note = "values not summarised"
    return {
        "column": p.name, "type": p.dtype, "kind": p.kind, "null_share": p.null_share,
        "distinct": p.distinct, "min": _bound(p.min), "mean": p.mean, "max": _bound(p.max),
        "std": p.std, "note": note,
    }  # fmt: skip


def _bound(value: float | str | None) -> str | None:
    return None if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)
