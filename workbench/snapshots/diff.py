"""Differences between two snapshots: schema, row counts, profiles and (by key) rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ..display import frame, heading, html_table, key_values
from ..errors import InputError
from .records import Snapshot

__all__ = ["SnapshotDiff", "ColumnChange", "RowChanges", "diff_snapshots"]

_PROFILE_FIELDS = ("null_share", "distinct", "min", "max", "mean", "std")


@dataclass(frozen=True)
class ColumnChange:
    """How one column's profile moved between two snapshots."""

    column: str
    field: str
    before: float | str | None
    after: float | str | None


@dataclass(frozen=True)
class RowChanges:
    """Rows added, removed and changed, matched by a key column."""

    key: str
    added: int
    removed: int
    changed: int
    unchanged: int
    duplicate_keys: int
    #: shared columns whose type changed: their values are not compared (a text "29.85" and
    #: the number 29.85 are neither plainly equal nor plainly different)
    not_compared: list[str] = field(default_factory=list)

    def not_compared_text(self) -> str | None:
        """A phrase for the faces, or None when every shared column was compared."""
        if not self.not_compared:
            return None
        names = ", ".join(self.not_compared)
        whose = "its type" if len(self.not_compared) == 1 else "their types"
        return f"{names} not compared: {whose} changed"


@dataclass
class SnapshotDiff:
    """Everything that differs between ``a`` and ``b``."""

    a: str
    b: str
    same_content: bool
    rows_before: int
    rows_after: int
    added_columns: list[str] = field(default_factory=list)
    removed_columns: list[str] = field(default_factory=list)
    retyped_columns: list[tuple[str, str, str]] = field(default_factory=list)
    profile_changes: list[ColumnChange] = field(default_factory=list)
    rows: RowChanges | None = None

    @property
    def is_empty(self) -> bool:
        """True when nothing differs."""
        return self.same_content

    def to_polars(self) -> pl.DataFrame:
        """The profile changes: one row per column and statistic that moved (before and
        after as text: numbers, dates or text)."""
        rows = [
            {"column": c.column, "statistic": c.field,
             "before": None if c.before is None else str(c.before),
             "after": None if c.after is None else str(c.after)}
            for c in self.profile_changes
        ]  # fmt: skip
        schema = {"column": "String", "statistic": "String", "before": "String", "after": "String"}
        return frame(rows, schema)

    def _repr_html_(self) -> str:
        """Rows, columns, rows matched by key and the profile changes, as the TUI's diff."""
        same = "identical content" if self.same_content else None
        change = self.rows_after - self.rows_before
        out = heading(f"{self.a} → {self.b}", same,
                      f"rows {self.rows_before:,} → {self.rows_after:,} ({change:+,})")  # fmt: skip
        retyped = ", ".join(f"{c} {a} → {b}" for c, a, b in self.retyped_columns)
        columns = [("added columns", ", ".join(self.added_columns) or None),
                   ("removed columns", ", ".join(self.removed_columns) or None),
                   ("retyped columns", retyped or None)]  # fmt: skip
        if self.rows is not None:
            r = self.rows
            columns.append((f"rows by key {r.key}",
                            f"{r.added:,} added, {r.removed:,} removed, {r.changed:,} changed, "
                            f"{r.unchanged:,} unchanged, {r.duplicate_keys:,} duplicate keys"))  # fmt: skip
            columns.append(("not compared", r.not_compared_text()))
        out += key_values(columns)
        if self.profile_changes:
            out += "<p>Profile changes</p>" + html_table(
                ["column", "statistic", "before", "after"],
                ([c.column, c.field, c.before, c.after] for c in self.profile_changes),
            )
        return out


def _changed(before, after) -> bool:
    if isinstance(before, float) and isinstance(after, float):
        return abs(before - after) > 1e-12 * max(1.0, abs(before), abs(after))
    return before != after


def _profile_changes(a: Snapshot, b: Snapshot, common: list[str]) -> list[ColumnChange]:
    pa = {p.name: p for p in a.profile}
    pb = {p.name: p for p in b.profile}
    out = []
    for col in common:
        for name in _PROFILE_FIELDS:
            before, after = getattr(pa[col], name), getattr(pb[col], name)
            if _changed(before, after):
                out.append(ColumnChange(col, name, before, after))
    return out


def _row_changes(
    path_a: Path, path_b: Path, key: str, common: list[str], not_compared: list[str]
) -> RowChanges:
    a = pl.scan_parquet(path_a)
    b = pl.scan_parquet(path_b)
    values = [c for c in common if c != key]
    # One hash per row over the shared columns; equal hashes mean unchanged rows.
    row_hash = pl.struct(values).hash(seed=0).alias("_h") if values else pl.lit(0).alias("_h")
    ha = a.select(pl.col(key), row_hash)
    hb = b.select(pl.col(key), row_hash)
    dup = pl.concat([ha.select(key), hb.select(key)]).group_by(key).len().filter(pl.col("len") > 2)
    joined = ha.join(hb, on=key, how="full", suffix="_b", coalesce=True, nulls_equal=False)
    counts = (
        joined.select(
            added=pl.col("_h").is_null().sum(),
            removed=pl.col("_h_b").is_null().sum(),
            changed=(
                pl.col("_h").is_not_null()
                & pl.col("_h_b").is_not_null()
                & (pl.col("_h") != pl.col("_h_b"))
            ).sum(),
            unchanged=(pl.col("_h") == pl.col("_h_b")).sum(),
        )
        .collect()
        .row(0, named=True)
    )
    return RowChanges(
        key=key,
        added=int(counts["added"]),
        removed=int(counts["removed"]),
        changed=int(counts["changed"]),
        unchanged=int(counts["unchanged"]),
        duplicate_keys=dup.select(pl.len()).collect().item(),
        not_compared=not_compared,
    )


def diff_snapshots(
    a: Snapshot, b: Snapshot, path_a: Path, path_b: Path, key: str | None = None
) -> SnapshotDiff:
    """Compare two snapshots; with ``key``, also count added, removed and changed rows."""
    common = [c for c in a.schema if c in b.schema]
    diff = SnapshotDiff(
        a=a.ref,
        b=b.ref,
        same_content=a.object_hash == b.object_hash,
        rows_before=a.n_rows,
        rows_after=b.n_rows,
        added_columns=[c for c in b.schema if c not in a.schema],
        removed_columns=[c for c in a.schema if c not in b.schema],
        retyped_columns=[
            (c, a.schema[c], b.schema[c]) for c in common if a.schema[c] != b.schema[c]
        ],
        profile_changes=_profile_changes(a, b, common),
    )
    key = key or (a.key_column if a.key_column == b.key_column else None)
    if key is not None:
        if key not in a.schema or key not in b.schema:
            raise InputError(f"key {key!r} is not a column of both {a.ref} and {b.ref}")
        if a.schema[key] != b.schema[key]:
            raise InputError(
                f"key {key!r} changed type ({a.schema[key]} -> {b.schema[key]}), "
                "so rows cannot be matched by it"
            )
        same_type = [c for c in common if a.schema[c] == b.schema[c]]
        retyped = [c for c in common if a.schema[c] != b.schema[c]]
        diff.rows = _row_changes(path_a, path_b, key, same_type, retyped)
    return diff
