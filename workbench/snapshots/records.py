"""Snapshot records: the ``Snapshot`` type that every layer above the store passes around."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..errors import NotFoundError
from .profile import ColumnProfile

__all__ = ["Snapshot"]


@dataclass(frozen=True)
class Snapshot:
    """One immutable version of a named dataset."""

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

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{p.name}</td><td>{p.dtype}</td><td>{p.null_share:.1%}</td>"
            f"<td>{p.distinct}</td></tr>"
            for p in self.profile
        )
        return (
            f"<b>{self.ref}</b> {self.n_rows:,} rows x {self.n_columns} columns, "
            f"<code>{self.short_hash}</code> {self.message or ''}"
            f"<table><tr><th>column</th><th>type</th><th>nulls</th><th>distinct</th></tr>"
            f"{rows}</table>"
        )
