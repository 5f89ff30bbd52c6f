"""Result objects of a drift run: one ``ColumnDrift`` per column, one ``DriftReport``."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

__all__ = ["ColumnDrift", "DriftOptions", "DriftReport", "Status"]


class Status:
    """Values of ``ColumnDrift.status``."""

    OK = "ok"  # tested
    SKIPPED = "skipped"  # not drift-tested by design (text, datetime, unsupported dtype)
    MISSING = "missing"  # in the reference, not in current (schema drift)
    NEW = "new"  # in current, not in the reference (schema drift)
    ERROR = "error"  # could not be tested (empty side, all null, wrong dtype...)


@dataclass
class DriftOptions:
    """Method and threshold choices; precedence: per column > per type > global > default.

    Method names: ks, chisquare, z, wasserstein, jensenshannon, psi, kl_div, hellinger.
    """

    method: str | None = None
    num_method: str | None = None
    cat_method: str | None = None
    per_column_method: dict[str, str] = field(default_factory=dict)
    threshold: float | None = None
    num_threshold: float | None = None
    cat_threshold: float | None = None
    per_column_threshold: dict[str, float] = field(default_factory=dict)
    drift_share: float = 0.5

    def method_for(self, column: str, column_type: str) -> str | None:
        """The method the user forced for this column, or None for Evidently's default."""
        by_type = self.num_method if column_type == "numerical" else self.cat_method
        return self.per_column_method.get(column) or by_type or self.method

    def threshold_for(self, column: str, column_type: str) -> float | None:
        """The threshold the user set for this column, or None for the method default."""
        if column in self.per_column_threshold:
            return self.per_column_threshold[column]
        by_type = self.num_threshold if column_type == "numerical" else self.cat_threshold
        return by_type if by_type is not None else self.threshold

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly copy."""
        return asdict(self)


@dataclass
class ColumnDrift:
    """Drift of one column. ``score`` is a p-value (ks, chisquare, z) or a distance."""

    column: str
    column_type: str  # numerical | categorical | text | datetime | unknown
    method: str | None = None  # registry name, e.g. "wasserstein"
    stattest_name: str | None = None  # Evidently's display name, e.g. "K-S p_value"
    score: float | None = None
    threshold: float | None = None
    drifted: bool = False
    n_ref: int = 0  # rows after cleaning
    n_cur: int = 0
    null_share_ref: float = 0.0  # share of rows dropped as null / NaN / +-inf
    null_share_cur: float = 0.0
    new_categories: list[Any] = field(default_factory=list)
    status: str = Status.OK
    message: str = ""
    role: str = "feature"  # feature | target | prediction
    dtype_ref: str | None = None
    dtype_cur: str | None = None

    @property
    def tested(self) -> bool:
        """True when a score was computed."""
        return self.status == Status.OK

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (NaN scores become None)."""
        d = asdict(self)
        if isinstance(d["score"], float) and not math.isfinite(d["score"]):
            d["score"] = None
        d["new_categories"] = [_jsonable(v) for v in self.new_categories]
        return d

    def __str__(self) -> str:
        if not self.tested:
            return f"{self.column}: {self.status} ({self.message})"
        verdict = "DRIFT" if self.drifted else "no drift"
        extra = f"; new: {self.new_categories[:5]}" if self.new_categories else ""
        return (
            f"{self.column} [{self.column_type}] {self.method}={self.score:.4g} "
            f"(threshold {self.threshold:g}) -> {verdict}{extra}"
        )


def _jsonable(v: Any) -> Any:
    if hasattr(v, "item") and not isinstance(v, str | bytes):  # numpy scalar -> Python
        v = v.item()
    return v if isinstance(v, str | int | float | bool) or v is None else str(v)


@dataclass
class DriftReport:
    """Drift of a dataset: features (counted in the share), then target and prediction."""

    columns: list[ColumnDrift]
    target: ColumnDrift | None = None
    prediction: ColumnDrift | None = None
    n_tested: int = 0
    n_drifted: int = 0
    share: float = 0.0
    dataset_drifted: bool = False
    options: DriftOptions = field(default_factory=DriftOptions)
    rows_ref: int = 0
    rows_cur: int = 0
    # Provenance, set by the workspace facade (None for a bare ``compute_drift``).
    reference: str | None = None  # e.g. "churn@v1"
    current: str | None = None
    id: int | None = None  # the stored report's id once saved
    created_at: datetime | None = None

    @property
    def missing_columns(self) -> list[str]:
        """Reference columns (features, target, prediction) absent from the current data."""
        return [c.column for c in self.all_columns() if c.status == Status.MISSING]

    @property
    def failures(self) -> list[str]:
        """Why this comparison cannot vouch for the current data (empty when it can).

        A reference column missing from the current data is a broken feed, not a change in
        the world, and a report that tested nothing says nothing: neither is "no drift".
        """
        problems = []
        missing = self.missing_columns
        if missing:
            many = "s" if len(missing) > 1 else ""
            problems.append(
                f"{len(missing)} reference column{many} missing from the current data: "
                + ", ".join(missing)
            )
        if self.n_tested == 0:
            problems.append("no column could be tested")
        return problems

    @property
    def failed(self) -> bool:
        """True when the check fails whatever the drift share (see ``failures``)."""
        return bool(self.failures)

    @property
    def verdict(self) -> str:
        """One line: drifted columns, share against the threshold, verdict, failures."""
        line = f"{self.n_drifted}/{self.n_tested} columns drifted"
        if self.n_tested:
            cmp = ">=" if self.share >= self.options.drift_share else "<"
            verdict = "DATASET DRIFT" if self.dataset_drifted else "no dataset drift"
            line += f", share {self.share:.2f} {cmp} {self.options.drift_share:g}: {verdict}"
        if self.failed:
            line += "; FAILED: " + "; ".join(self.failures)
        return line

    @property
    def new_columns(self) -> list[str]:
        """Current columns absent from the reference."""
        return [c.column for c in self.columns if c.status == Status.NEW]

    @property
    def drifted_columns(self) -> list[str]:
        """Names of drifted feature columns."""
        return [c.column for c in self.columns if c.drifted]

    def all_columns(self) -> list[ColumnDrift]:
        """Features, then target and prediction when present."""
        extra = [c for c in (self.target, self.prediction) if c is not None]
        return self.columns + extra

    def column(self, name: str) -> ColumnDrift:
        """The result for one column (feature, target or prediction)."""
        for c in self.all_columns():
            if c.column == name:
                return c
        raise KeyError(name)

    def to_polars(self) -> pl.DataFrame:
        """One row per column (features, then target/prediction), stable schema."""
        rows = []
        for c in self.all_columns():
            d = c.to_dict()
            d["new_categories"] = [str(v) for v in c.new_categories]
            rows.append(d)
        return pl.DataFrame(rows, schema=_SCHEMA)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict of the whole report."""
        return {
            "columns": [c.to_dict() for c in self.columns],
            "target": self.target.to_dict() if self.target else None,
            "prediction": self.prediction.to_dict() if self.prediction else None,
            "n_tested": self.n_tested,
            "n_drifted": self.n_drifted,
            "share": self.share,
            "dataset_drifted": self.dataset_drifted,
            "options": self.options.to_dict(),
            "rows_ref": self.rows_ref,
            "rows_cur": self.rows_cur,
            "missing_columns": self.missing_columns,
            "failed": self.failed,
            "failures": self.failures,
            "reference": self.reference,
            "current": self.current,
            "id": self.id,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }

    def __str__(self) -> str:
        return "\n".join([f"Drift: {self.verdict}"] + [f"  {c}" for c in self.all_columns()])

    def __repr__(self) -> str:
        where = f"{self.reference} -> {self.current}, " if self.reference else ""
        return (
            f"DriftReport({where}n_tested={self.n_tested}, n_drifted={self.n_drifted}, "
            f"share={self.share:.3f}, dataset_drifted={self.dataset_drifted}, "
            f"failed={self.failed}, rows_ref={self.rows_ref}, rows_cur={self.rows_cur})"
        )


_SCHEMA: dict[str, Any] = {
    "column": pl.String,
    "column_type": pl.String,
    "method": pl.String,
    "stattest_name": pl.String,
    "score": pl.Float64,
    "threshold": pl.Float64,
    "drifted": pl.Boolean,
    "n_ref": pl.Int64,
    "n_cur": pl.Int64,
    "null_share_ref": pl.Float64,
    "null_share_cur": pl.Float64,
    "new_categories": pl.List(pl.String),
    "status": pl.String,
    "message": pl.String,
    "role": pl.String,
    "dtype_ref": pl.String,
    "dtype_cur": pl.String,
}
