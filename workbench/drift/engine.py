"""The drift engine: column typing, method choice, per-column tests and the dataset verdict.

Mirrors Evidently 0.7's ``DataDriftPreset`` on its pandas engine (types inferred on the
current data, default method by reference size and distinct values, drift share), and
differs where Evidently is degenerate or would crash:

* schema drift (missing/new columns, changed dtype, empty or all-null sides) is reported per
  column with a status instead of raising; a reference column missing from the current data,
  or a report that could test no column, fails the check (``DriftReport.failed``) whatever the
  drift share, where Evidently would say "no drift" for a broken feed;
* a category only in the current data gives chi-square p = 0 without a numpy warning, and
  the new categories are named in the result;
* typing follows pandas as Evidently sees it (an integer column with nulls is float, hence
  numerical), except that booleans with nulls and unsigned integers are still tested (pandas
  makes them ``object``/``uint``, which Evidently leaves untested).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import polars as pl

from ..progress import NULL_PROGRESS, Progress
from .results import ColumnDrift, DriftOptions, DriftReport, Status
from .stats import (
    ColumnStats,
    FrameLike,
    ReferenceStats,
    as_lazy,
    column_stats,
    default_workers,
)
from .stattests import CATEGORICAL, METHODS, NUMERICAL, new_values, union_keys

__all__ = [
    "CATEGORICAL",
    "NUMERICAL",
    "TEXT",
    "DATETIME",
    "UNKNOWN",
    "column_drift",
    "compute_drift",
    "default_method",
    "infer_column_type",
    "infer_column_types",
]

TEXT = "text"
DATETIME = "datetime"
UNKNOWN = "unknown"

# Evidently: integers with at most this many distinct values are categorical.
INTEGER_CARDINALITY_LIMIT = 10
# Evidently picks cheaper methods once the reference is larger than this.
SMALL_REFERENCE_ROWS = 1000


# -- typing -----------------------------------------------------------------------------------
def infer_column_type(dtype: pl.DataType, n_unique: int, count: int, has_nulls: bool) -> str:
    """Evidently's ``infer_column_type`` for a Polars column of the *current* data.

    ``n_unique`` and ``count`` exclude nulls. An integer column with nulls is float in
    pandas, hence numerical.
    """
    if dtype.is_float():
        return NUMERICAL
    if dtype.is_integer():
        if has_nulls:
            return NUMERICAL
        return CATEGORICAL if n_unique <= INTEGER_CARDINALITY_LIMIT else NUMERICAL
    if dtype == pl.String:
        return TEXT if n_unique > count * 0.5 else CATEGORICAL
    if dtype == pl.Boolean or isinstance(dtype, pl.Categorical | pl.Enum):
        return CATEGORICAL
    if dtype.is_temporal():
        return DATETIME
    return UNKNOWN


def infer_column_types(
    data: FrameLike,
    columns: Sequence[str] | None = None,
    *,
    numerical: Sequence[str] = (),
    categorical: Sequence[str] = (),
) -> dict[str, str]:
    """Types of ``columns`` of ``data`` in one Polars pass; explicit lists win."""
    lf = as_lazy(data)
    schema = lf.collect_schema()
    names = [c for c in (columns or schema.names()) if c in schema]
    exprs = []
    for c in names:
        if schema[c].is_integer() or schema[c] == pl.String:
            exprs += [
                pl.col(c).drop_nulls().n_unique().alias(f"{c}\0u"),
                pl.col(c).count().alias(f"{c}\0n"),
                pl.col(c).null_count().alias(f"{c}\0z"),
            ]
    agg = lf.select(exprs).collect().row(0, named=True) if exprs else {}
    types = {}
    for c in names:
        u, n, z = agg.get(f"{c}\0u", 0), agg.get(f"{c}\0n", 0), agg.get(f"{c}\0z", 0)
        types[c] = infer_column_type(schema[c], u, n, z > 0)
    return _apply_overrides(types, numerical, categorical)


def _apply_overrides(
    types: dict[str, str], numerical: Sequence[str], categorical: Sequence[str]
) -> dict[str, str]:
    types = dict(types)
    types.update(dict.fromkeys(numerical, NUMERICAL))
    types.update(dict.fromkeys(categorical, CATEGORICAL))
    return types


def _type_from_stats(dtype: pl.DataType, cur: ColumnStats) -> str:
    has_nulls = cur.rows > cur.n
    return infer_column_type(dtype, cur.n_unique, cur.n, has_nulls)


# -- method choice ----------------------------------------------------------------------------
def default_method(column_type: str, n_ref: int, n_union: int) -> str:
    """Evidently's default stattest for a column type, cleaned reference size and distinct
    values of reference and current together."""
    if n_ref <= SMALL_REFERENCE_ROWS:
        if n_union <= 2:
            return "z"
        if column_type == CATEGORICAL or n_union <= 5:
            return "chisquare"
        return "ks"
    if column_type == CATEGORICAL or n_union <= 5:
        return "jensenshannon"
    return "wasserstein"


def _union_size_upto_six(ref: ColumnStats, cur: ColumnStats) -> int:
    """Distinct values of both sides, exact up to 5 (all the default rules need)."""
    if ref.n_unique > 5 or cur.n_unique > 5:
        return 6
    return len(union_keys(ref, cur))


# -- one column -------------------------------------------------------------------------------
def column_drift(
    ref: ColumnStats,
    cur: ColumnStats,
    column_type: str,
    options: DriftOptions | None = None,
    role: str = "feature",
) -> ColumnDrift:
    """Test one column; never raises for data problems (they become a status)."""
    options = options or DriftOptions()
    res = ColumnDrift(
        column=cur.name,
        column_type=column_type,
        n_ref=ref.n,
        n_cur=cur.n,
        null_share_ref=ref.null_share,
        null_share_cur=cur.null_share,
        role=role,
        dtype_ref=ref.dtype,
        dtype_cur=cur.dtype,
    )
    problem = _problem(ref, cur, column_type)
    if problem is not None:
        res.status, res.message = problem
        return res
    try:
        _score(res, ref, cur, options)
    except Exception as err:  # one bad column must not stop the report
        res.status, res.message = Status.ERROR, f"{type(err).__name__}: {err}"
    return res


def _problem(ref: ColumnStats, cur: ColumnStats, column_type: str) -> tuple[str, str] | None:
    """Why this column cannot be tested, if it cannot."""
    if column_type not in (NUMERICAL, CATEGORICAL):
        why = {
            TEXT: "text column (more than half the values distinct); declare it categorical "
            "to test it",
            DATETIME: "datetime columns are not drift-tested",
        }.get(column_type, f"dtype {cur.dtype} is not drift-tested")
        return Status.SKIPPED, why
    for side, s in (("reference", ref), ("current", cur)):
        if s.rows == 0:
            return Status.ERROR, f"the {side} data has no rows"
        if s.n == 0:
            return Status.ERROR, f"no non-null values in the {side} data"
    if column_type == NUMERICAL and not (ref.is_numeric and cur.is_numeric):
        return Status.ERROR, f"numerical column holds non-numbers ({ref.dtype} vs {cur.dtype})"
    if ref.is_numeric != cur.is_numeric or (ref.values.dtype.kind == "b") != (
        cur.values.dtype.kind == "b"
    ):
        return Status.ERROR, f"dtype changed from {ref.dtype} to {cur.dtype}; values differ"
    return None


def _score(res: ColumnDrift, ref: ColumnStats, cur: ColumnStats, options: DriftOptions) -> None:
    """Fill method, threshold, score, drift flag and new categories of ``res``."""
    ctype = res.column_type
    name = options.method_for(res.column, ctype)
    name = name or default_method(ctype, ref.n, _union_size_upto_six(ref, cur))
    method = METHODS.get(name)
    if method is None:
        res.status, res.message = Status.ERROR, f"unknown method {name!r}; use {list(METHODS)}"
        return
    if method.numerical_only and ctype != NUMERICAL:
        res.status, res.message = Status.ERROR, f"{name} needs a numerical column"
        return
    threshold = options.threshold_for(res.column, ctype)
    res.method, res.stattest_name = method.name, method.display_name
    res.threshold = method.default_threshold if threshold is None else float(threshold)
    res.score = float(method.score(ref, cur, ctype))
    res.drifted = method.is_drift(res.score, res.threshold)
    if ctype == CATEGORICAL or name in ("chisquare", "z"):
        res.new_categories = new_values(ref, cur)
    res.message = _note(res, ref, cur)


def _note(res: ColumnDrift, ref: ColumnStats, cur: ColumnStats) -> str:
    notes = []
    if res.new_categories:
        shown = ", ".join(map(str, res.new_categories[:10]))
        more = f" (+{len(res.new_categories) - 10} more)" if len(res.new_categories) > 10 else ""
        notes.append(f"values only in current: {shown}{more}")
        if res.method == "chisquare":
            notes.append("chi-square p = 0 because their expected count is 0")
    if ref.dtype != cur.dtype:
        notes.append(f"dtype changed from {ref.dtype} to {cur.dtype}")
    return "; ".join(notes)


# -- the dataset ------------------------------------------------------------------------------
class _Reference:
    """The reference side: precomputed ``ReferenceStats`` or a lazily read frame."""

    def __init__(self, reference: FrameLike | ReferenceStats) -> None:
        if isinstance(reference, ReferenceStats):
            self.stats: ReferenceStats | None = reference
            self.lf = None
            self.names = list(reference.schema)
            self.rows = reference.rows
        else:
            self.stats = None
            self.lf = as_lazy(reference)
            self.names = list(self.lf.collect_schema().names())
            self.rows = _row_count(self.lf)

    def get(self, name: str) -> ColumnStats:
        if self.stats is not None:
            if name not in self.stats:
                raise KeyError(f"reference stats have no column {name!r}")
            return self.stats[name]
        assert self.lf is not None
        return column_stats(self.lf, name)


def _row_count(lf: pl.LazyFrame) -> int:
    return int(lf.select(pl.len()).collect().item())


def compute_drift(
    reference: FrameLike | ReferenceStats,
    current: FrameLike,
    *,
    columns: Sequence[str] | None = None,
    numerical: Sequence[str] = (),
    categorical: Sequence[str] = (),
    column_types: Mapping[str, str] | None = None,
    target: str | None = None,
    prediction: str | None = None,
    exclude: Sequence[str] = (),
    options: DriftOptions | None = None,
    progress: Progress = NULL_PROGRESS,
    max_workers: int | None = None,
    current_stats: dict[str, ColumnStats] | None = None,
) -> DriftReport:
    """Compare ``current`` with ``reference`` column by column, as Evidently's DataDriftPreset.

    ``reference`` is a Polars DataFrame/LazyFrame, a Parquet/CSV path, pandas, or a
    ``ReferenceStats`` computed earlier (then the reference is not read again). Column types
    are inferred on ``current`` unless given (``numerical``/``categorical`` lists or a full
    ``column_types`` map). ``target`` and ``prediction`` are tested and reported apart and do
    not count in the dataset drift share. Columns are read and tested one at a time, in
    ``max_workers`` threads. When ``current_stats`` is a dict, each current column's
    statistics are left in it (a caller that needs the same summaries need not compute them
    again).
    """
    options = options or DriftOptions()
    ref = _Reference(reference)
    cur_lf = as_lazy(current)
    cur_schema = cur_lf.collect_schema()
    roles = _roles(ref.names, list(cur_schema.names()), columns, target, prediction, exclude)
    types = _apply_overrides(dict(column_types or {}), numerical, categorical)

    def run(name: str, role: str) -> ColumnDrift:
        progress.check_cancelled()
        return _one_column(name, role, ref, cur_lf, cur_schema, types, options, current_stats)

    progress.start("drift", total=len(roles))
    results = _run_parallel(roles, run, progress, max_workers)
    return _assemble(results, options, ref.rows, _row_count(cur_lf))


def _roles(
    ref_names: list[str],
    cur_names: list[str],
    columns: Sequence[str] | None,
    target: str | None,
    prediction: str | None,
    exclude: Sequence[str],
) -> list[tuple[str, str]]:
    """(column, role) pairs in report order: features (current order, then reference-only
    columns), target, prediction."""
    special = {target, prediction, *exclude}
    if columns is not None:
        features = [c for c in columns if c not in special]
    else:
        seen = dict.fromkeys(cur_names + ref_names)
        features = [c for c in seen if c not in special]
    out = [(c, "feature") for c in features]
    out += [(c, r) for c, r in ((target, "target"), (prediction, "prediction")) if c]
    return out


def _one_column(
    name: str,
    role: str,
    ref: _Reference,
    cur_lf: pl.LazyFrame,
    cur_schema: pl.Schema,
    types: Mapping[str, str],
    options: DriftOptions,
    sink: dict[str, ColumnStats] | None = None,
) -> ColumnDrift:
    if name not in cur_schema and name not in ref.names:
        msg = "in neither the reference nor the current data"
        return ColumnDrift(name, UNKNOWN, status=Status.ERROR, message=msg, role=role)
    if name not in cur_schema:
        msg = "in the reference but missing from the current data"
        return ColumnDrift(name, UNKNOWN, status=Status.MISSING, message=msg, role=role)
    if name not in ref.names:
        msg = "in the current data but not in the reference"
        return ColumnDrift(name, UNKNOWN, status=Status.NEW, message=msg, role=role)
    try:
        cur = column_stats(cur_lf, name)
        if sink is not None:
            sink[name] = cur
        ctype = types.get(name) or _type_from_stats(cur_schema[name], cur)
        return column_drift(ref.get(name), cur, ctype, options, role)
    except Exception as err:  # report it on this column, keep going
        msg = f"{type(err).__name__}: {err}"
        return ColumnDrift(name, UNKNOWN, status=Status.ERROR, message=msg, role=role)


def _run_parallel(
    tasks: list[tuple[str, str]],
    fn: Callable[[str, str], ColumnDrift],
    progress: Progress,
    max_workers: int | None,
) -> list[ColumnDrift]:
    """Run ``fn`` per column in threads, keep task order, stop early when cancelled."""
    with ThreadPoolExecutor(max_workers or default_workers()) as pool:
        futures: list[Future[ColumnDrift]] = [pool.submit(fn, *t) for t in tasks]
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                progress.advance(len(done))
                progress.check_cancelled()
        except BaseException:
            for f in pending:
                f.cancel()
            raise
        return [f.result() for f in futures]


def _assemble(
    results: list[ColumnDrift], options: DriftOptions, rows_ref: int, rows_cur: int
) -> DriftReport:
    features = [r for r in results if r.role == "feature"]
    target = next((r for r in results if r.role == "target"), None)
    prediction = next((r for r in results if r.role == "prediction"), None)
    tested = [r for r in features if r.tested]
    n_drifted = sum(r.drifted for r in tested)
    share = n_drifted / len(tested) if tested else 0.0
    return DriftReport(
        columns=features,
        target=target,
        prediction=prediction,
        n_tested=len(tested),
        n_drifted=n_drifted,
        share=share,
        dataset_drifted=bool(tested) and share >= options.drift_share,
        options=options,
        rows_ref=rows_ref,
        rows_cur=rows_cur,
    )


def report_summary(report: DriftReport) -> dict[str, Any]:
    """Headline numbers of a report (for stores and alerts)."""
    return {
        "n_tested": report.n_tested,
        "n_drifted": report.n_drifted,
        "share": report.share,
        "dataset_drifted": report.dataset_drifted,
        "drifted_columns": report.drifted_columns,
        "failed": report.failed,
        "missing_columns": report.missing_columns,
    }
