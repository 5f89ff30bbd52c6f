"""Data contracts: what a new file must look like, inferred from a snapshot and editable.

A contract is plain TOML so a person can edit it and keep it in git::

    [table]
    min_rows = 1
    max_rows = 100000

    [columns.tenure_months]
    type = "Int64"
    nullable = false
    min = 0.0
    max = 72.0

    [columns.contract]
    type = "String"
    allowed = ["month-to-month", "one-year", "two-year"]
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import tomli_w

from ..errors import InputError
from .profile import kind_of
from .records import Snapshot

__all__ = ["Contract", "ColumnRule", "Violation", "infer_contract", "check_contract", "MAX_ALLOWED"]

#: categories are listed as allowed values when a column has at most this many
MAX_ALLOWED = 50


@dataclass
class ColumnRule:
    """Constraints on one column."""

    type: str
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    allowed: list[str] | None = None


@dataclass
class Contract:
    """Constraints on a whole table."""

    columns: dict[str, ColumnRule]
    min_rows: int | None = 1
    max_rows: int | None = None
    source: str | None = None
    extra_columns_allowed: bool = field(default=True)

    def to_toml(self) -> str:
        """The contract as editable TOML."""
        table: dict = {"extra_columns_allowed": self.extra_columns_allowed}
        if self.min_rows is not None:
            table["min_rows"] = self.min_rows
        if self.max_rows is not None:
            table["max_rows"] = self.max_rows
        doc: dict = {"table": table, "columns": {}}
        if self.source:
            doc["inferred_from"] = self.source
        for name, rule in self.columns.items():
            entry: dict = {"type": rule.type, "nullable": rule.nullable}
            for key in ("min", "max", "allowed"):
                if getattr(rule, key) is not None:
                    entry[key] = getattr(rule, key)
            doc["columns"][name] = entry
        return tomli_w.dumps(doc)

    def save(self, path: Path) -> None:
        """Write the contract as TOML."""
        path.write_text(self.to_toml(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Contract:
        """Read a contract file; InputError if it is malformed."""
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
            table = doc.get("table", {})
            columns = {name: ColumnRule(**spec) for name, spec in doc.get("columns", {}).items()}
        except FileNotFoundError:
            raise InputError(f"no such contract file: {path}") from None
        except (tomllib.TOMLDecodeError, TypeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path} is not a valid contract: {exc}") from None
        return cls(
            columns=columns,
            min_rows=table.get("min_rows"),
            max_rows=table.get("max_rows"),
            source=doc.get("inferred_from"),
            extra_columns_allowed=table.get("extra_columns_allowed", True),
        )


@dataclass(frozen=True)
class Violation:
    """One failed check."""

    column: str | None
    check: str
    message: str

    def __str__(self) -> str:
        where = f"{self.column}: " if self.column else ""
        return f"{where}{self.message}"


def infer_contract(snapshot: Snapshot) -> Contract:
    """The contract a snapshot satisfies: its types, nullability, ranges and categories."""
    columns = {}
    for p in snapshot.profile:
        rule = ColumnRule(type=p.dtype, nullable=p.null_share > 0)
        if p.name == snapshot.key_column:
            pass  # keys are identifiers: new rows bring new values by design
        elif p.kind == "numeric":
            rule.min, rule.max = p.min, p.max
        elif p.kind == "categorical" and p.distinct <= MAX_ALLOWED and p.dtype == "String":
            values = [v for v, _ in p.top_values]
            if len(values) >= p.distinct - (1 if p.null_share > 0 else 0):
                rule.allowed = sorted(values)
        columns[p.name] = rule
    return Contract(columns=columns, min_rows=1, source=snapshot.ref)


def check_contract(df: pl.DataFrame, contract: Contract) -> list[Violation]:
    """Every way ``df`` breaks ``contract`` (empty when it passes)."""
    out: list[Violation] = []
    if contract.min_rows is not None and df.height < contract.min_rows:
        out.append(
            Violation(None, "rows", f"{df.height} rows, expected at least {contract.min_rows}")
        )
    if contract.max_rows is not None and df.height > contract.max_rows:
        out.append(
            Violation(None, "rows", f"{df.height} rows, expected at most {contract.max_rows}")
        )
    for name, rule in contract.columns.items():
        if name not in df.schema:
            out.append(Violation(name, "present", "column is missing"))
            continue
        out.extend(_check_column(df, name, rule))
    if not contract.extra_columns_allowed:
        for name in df.columns:
            if name not in contract.columns:
                out.append(Violation(name, "present", "column is not in the contract"))
    return out


def _check_column(df: pl.DataFrame, name: str, rule: ColumnRule) -> list[Violation]:
    out = []
    dtype = df.schema[name]
    if str(dtype) != rule.type:
        out.append(Violation(name, "type", f"type is {dtype}, expected {rule.type}"))
    col = df[name]
    nulls = col.null_count()
    if not rule.nullable and nulls:
        out.append(Violation(name, "nullable", f"{nulls} null values, expected none"))
    if kind_of(dtype) == "numeric" and (rule.min is not None or rule.max is not None):
        values = col.cast(pl.Float64)
        values = values.filter(values.is_finite())
        if rule.min is not None and (below := int((values < rule.min).sum())):
            out.append(
                Violation(name, "min", f"{below} values below {rule.min:g} (min {values.min():g})")
            )
        if rule.max is not None and (above := int((values > rule.max).sum())):
            out.append(
                Violation(name, "max", f"{above} values above {rule.max:g} (max {values.max():g})")
            )
    if rule.allowed is not None:
        seen = col.drop_nulls().cast(pl.String).unique().to_list()
        unknown = sorted(set(seen) - set(rule.allowed))
        if unknown:
            shown = ", ".join(repr(v) for v in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            out.append(Violation(name, "allowed", f"values not allowed: {shown}"))
    return out
