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
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    model_validator,
)

from ..errors import InputError
from ..validation import input_error
from .profile import kind_of
from .records import Snapshot

__all__ = ["Contract", "ColumnRule", "Violation", "infer_contract", "check_contract", "MAX_ALLOWED"]

#: categories are listed as allowed values when a column has at most this many
MAX_ALLOWED = 50


class ColumnRule(BaseModel):
    """Constraints on one column."""

    model_config = ConfigDict(extra="forbid")

    type: StrictStr
    """The column's Polars type as text (``Int64``, ``String``, ``Datetime(time_unit='us', ...)``)."""
    nullable: StrictBool = True
    """Whether the column may hold nulls."""
    min: float | None = Field(None, strict=True, allow_inf_nan=False)
    """Smallest allowed value (numeric columns)."""
    max: float | None = Field(None, strict=True, allow_inf_nan=False)
    """Largest allowed value (numeric columns)."""
    allowed: list[StrictStr] | None = None
    """The only values allowed (compared as text)."""

    @model_validator(mode="after")
    def _range(self) -> ColumnRule:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}")
        return self


class _TableRules(BaseModel):
    """The ``[table]`` section of a contract file."""

    model_config = ConfigDict(extra="forbid")

    min_rows: int | None = Field(None, strict=True, ge=0)
    max_rows: int | None = Field(None, strict=True, ge=0)
    extra_columns_allowed: StrictBool = True

    @model_validator(mode="after")
    def _range(self) -> _TableRules:
        low, high = self.min_rows, self.max_rows
        if low is not None and high is not None and low > high:
            raise ValueError(f"min_rows {low} is above max_rows {high}")
        return self


class _ContractFile(BaseModel):
    """A contract file as written: the schema it is checked against when loaded."""

    model_config = ConfigDict(extra="forbid")

    table: _TableRules = _TableRules()
    columns: dict[str, ColumnRule] = {}
    inferred_from: StrictStr | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> _ContractFile:
        t = self.table
        if (
            not self.columns
            and t.min_rows is None
            and t.max_rows is None
            and t.extra_columns_allowed
        ):
            raise ValueError(
                "the contract has no rules: no [columns.NAME] sections and no [table] limits"
            )
        return self


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
        """Read a contract file; InputError naming the file and the key if it is malformed."""
        path = Path(path)
        if path.is_dir():
            raise InputError(f"{path} is a folder, not a contract file")
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"no such contract file: {path}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise InputError(f"cannot read contract file {path}: {exc.strerror}") from None
        try:
            parsed = _ContractFile.model_validate(doc)
        except ValidationError as exc:
            raise input_error(exc, path, _ContractFile) from None
        return cls(
            columns=parsed.columns,
            min_rows=parsed.table.min_rows,
            max_rows=parsed.table.max_rows,
            source=parsed.inferred_from,
            extra_columns_allowed=parsed.table.extra_columns_allowed,
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


def _number(value: object) -> float | None:
    """A profile's or a column's extreme as a float (None when it is not a number)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def infer_contract(snapshot: Snapshot) -> Contract:
    """The contract a snapshot satisfies: its types, nullability, ranges and categories."""
    columns = {}
    for p in snapshot.profile:
        rule = ColumnRule(type=p.dtype, nullable=p.null_share > 0)
        if p.name == snapshot.key_column:
            pass  # keys are identifiers: new rows bring new values by design
        elif p.kind == "numeric":
            rule.min, rule.max = _number(p.min), _number(p.max)
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
    schema = df.schema  # once: Polars builds it anew on every access
    for name, rule in contract.columns.items():
        if name not in schema:
            out.append(Violation(name, "present", "column is missing"))
            continue
        out.extend(_check_column(df.get_column(name), schema[name], rule))
    if not contract.extra_columns_allowed:
        for name in df.columns:
            if name not in contract.columns:
                out.append(Violation(name, "present", "column is not in the contract"))
    return out


def _check_column(col: pl.Series, dtype: pl.DataType, rule: ColumnRule) -> list[Violation]:
    out = []
    name = col.name
    if str(dtype) != rule.type:
        out.append(Violation(name, "type", f"type is {dtype}, expected {rule.type}"))
    nulls = col.null_count()
    if not rule.nullable and nulls:
        out.append(Violation(name, "nullable", f"{nulls} null values, expected none"))
    if kind_of(dtype) == "numeric" and (rule.min is not None or rule.max is not None):
        values = col.cast(pl.Float64)
        values = values.filter(values.is_finite())
        if rule.min is not None and (below := int((values < rule.min).sum())):
            low = _number(values.min())
            out.append(Violation(name, "min", f"{below} values below {rule.min:g} (min {low:g})"))
        if rule.max is not None and (above := int((values > rule.max).sum())):
            high = _number(values.max())
            out.append(Violation(name, "max", f"{above} values above {rule.max:g} (max {high:g})"))
    if rule.allowed is not None and kind_of(dtype) == "other":
        out.append(Violation(name, "allowed", f"{dtype} values cannot be compared with 'allowed'"))
    elif rule.allowed is not None:
        seen = col.drop_nulls().cast(pl.String).unique().to_list()
        unknown = sorted(set(seen) - set(rule.allowed))
        if unknown:
            shown = ", ".join(repr(v) for v in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            out.append(Violation(name, "allowed", f"values not allowed: {shown}"))
    return out
