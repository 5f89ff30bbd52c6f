"""The drift service: reports between snapshots, batches and time windows.

Built with the workspace ``Context`` and the ``SnapshotService`` whose data it compares.

What the service adds to the engine:

* Column roles come from the snapshots: the declared target is tested and reported as target
  drift; key and time columns are left out unless asked for by name. Column names the user
  gives (``columns``, ``numerical``, ``categorical``) are checked against the snapshots'
  declared schemas, so a typo is an input error rather than a "missing column" row.
  Types are otherwise inferred on the current data as Evidently does (so the numbers equal
  Evidently's); ``numerical``/``categorical`` override them.
* Reference statistics are computed once per reference snapshot and column set, stored as an
  object and recorded in ``drift_reference_stats``; comparing any number of batches against one
  reference reads only the batches.
* Reports are stored (``drift_reports`` and one ``drift_columns`` row per column) and reload
  as equal ``DriftReport`` objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..progress import NULL_PROGRESS, CancelOnly, Progress
from ..snapshots.batches import BATCH_PREFIX
from . import repository as repo

if TYPE_CHECKING:
    import polars as pl

    from ..context import Context
    from ..snapshots.records import Snapshot
    from ..snapshots.service import SnapshotService
    from .results import DriftOptions, DriftReport
    from .stats import ReferenceStats

__all__ = ["DriftService", "DriftRequest", "DriftPlan", "plan_columns", "WINDOW_SIZES"]

#: window sizes ``windows`` accepts ("auto" picks one from the time span)
WINDOW_SIZES = ("day", "week", "month", "auto")

# Reference stats kept in memory per service (a TUI comparing many batches).
_CACHE_SIZE = 4


@dataclass(frozen=True)
class DriftRequest:
    """One comparison: ``current`` against ``reference``, with the columns and methods to use.

    ``method`` and ``threshold`` apply to every column; ``options`` gives per-type and
    per-column choices (settings first, then ``options``, then ``method``/``threshold``).
    ``columns`` limits the comparison (key and time columns are left out unless named);
    ``numerical``/``categorical`` override the inferred column types.
    """

    reference: str
    current: str = ""
    method: str | None = None
    threshold: float | None = None
    columns: str | Sequence[str] | None = None
    numerical: str | Sequence[str] = ()
    categorical: str | Sequence[str] = ()
    options: DriftOptions | None = None
    save: bool = True


class DriftPlan:
    """Which columns a comparison tests and in which role (built from both snapshots)."""

    def __init__(
        self,
        features: list[str],
        target: str | None,
        exclude: list[str],
        numerical: list[str],
        categorical: list[str],
    ) -> None:
        self.features = features
        self.target = target
        self.exclude = exclude
        self.numerical = numerical
        self.categorical = categorical

    @property
    def reference_columns(self) -> list[str]:
        """Columns whose reference statistics the comparison needs."""
        return self.features + ([self.target] if self.target else [])

    def __repr__(self) -> str:
        return (
            f"DriftPlan(features={self.features}, target={self.target!r}, exclude={self.exclude})"
        )


def _split_names(names: str | Iterable[str] | None) -> list[str]:
    if names is None:
        return []
    if isinstance(names, str):
        names = names.split(",")
    return [n.strip() for n in names if n and n.strip()]


def plan_columns(
    ref: Snapshot,
    cur: Snapshot,
    columns: str | Sequence[str] | None = None,
    numerical: str | Sequence[str] = (),
    categorical: str | Sequence[str] = (),
) -> DriftPlan:
    """Roles for a comparison of ``cur`` against ``ref``; unknown column names are input errors."""
    known = dict.fromkeys([*cur.schema, *ref.schema])
    chosen = _split_names(columns) if columns is not None else None
    num, cat = _split_names(numerical), _split_names(categorical)
    for name in [*(chosen or []), *num, *cat]:
        if name not in known:
            raise InputError(
                f"no column {name!r} in {ref.ref} or {cur.ref}",
                hint=f"columns: {', '.join(known)}",
            )
    both = set(num) & set(cat)
    if both:
        raise InputError(f"{', '.join(sorted(both))} declared both numerical and categorical")
    target = ref.target or cur.target
    if target not in known:
        target = None
    roles = {c for c in (ref.key_column, ref.time_column, cur.key_column, cur.time_column) if c}
    exclude: list[str]
    if chosen is not None:
        features = [c for c in dict.fromkeys(chosen) if c != target]
        exclude = []
    else:
        features = [c for c in known if c != target and c not in roles]
        exclude = sorted(roles)
    if not features:
        raise InputError(f"no columns to compare between {ref.ref} and {cur.ref}")
    return DriftPlan(features, target, exclude, num, cat)


def _signature(columns: Iterable[str]) -> str:
    from ..objects import hash_bytes

    return hash_bytes(json.dumps(sorted(columns)).encode())


def _check_every(every: str) -> str:
    value = every.strip().lower()
    value = {"daily": "day", "weekly": "week", "monthly": "month"}.get(value, value)
    if value not in WINDOW_SIZES:
        raise InputError(f"unknown window size {every!r}", hint="use day, week or month")
    return value


def auto_every(first: date | datetime | None, last: date | datetime | None) -> str:
    """A window size giving a handful of windows over ``first..last``."""
    if first is None or last is None:
        return "month"
    days = (last - first).days
    if days > 62:
        return "month"
    if days > 13:
        return "week"
    return "day"


class DriftService:
    """Drift reports between snapshots, batches and time windows."""

    def __init__(self, ctx: Context, snapshots: SnapshotService) -> None:
        self.ctx = ctx
        self.snapshots = snapshots
        self._stats_cache: dict[str, ReferenceStats] = {}

    # -- options -----------------------------------------------------------------------------

    def options(
        self,
        method: str | None = None,
        threshold: float | None = None,
        options: DriftOptions | None = None,
    ) -> DriftOptions:
        """Options from the workspace settings, then ``options``, then ``method``/``threshold``."""
        from .results import DriftOptions
        from .stattests import METHODS

        drift_settings = self.ctx.settings.drift
        if options is None:
            options = DriftOptions(
                threshold=drift_settings.threshold, drift_share=drift_settings.drift_share
            )
        if method is not None:
            options = replace(options, method=method)
        if threshold is not None:
            options = replace(options, threshold=float(threshold))
        forced = [
            options.method, options.num_method, options.cat_method,
            *options.per_column_method.values(),
        ]  # fmt: skip
        for name in forced:
            if name is not None and name not in METHODS:
                raise InputError(f"unknown drift method {name!r}", hint=f"use {', '.join(METHODS)}")
        thresholds = [
            options.threshold, options.num_threshold, options.cat_threshold,
            *options.per_column_threshold.values(),
        ]  # fmt: skip
        for value in thresholds:
            if value is not None and not (value >= 0 and value != float("inf")):
                raise InputError(f"a drift threshold must be a number >= 0, not {value!r}")
        if not 0.0 <= options.drift_share <= 1.0:
            raise InputError(f"drift_share must be between 0 and 1, not {options.drift_share!r}")
        return options

    def _request_options(self, request: DriftRequest) -> DriftOptions:
        return self.options(request.method, request.threshold, request.options)

    def _plan(self, request: DriftRequest) -> tuple[Snapshot, Snapshot, DriftPlan]:
        ref, cur = self.snapshots.get(request.reference), self.snapshots.get(request.current)
        plan = plan_columns(ref, cur, request.columns, request.numerical, request.categorical)
        return ref, cur, plan

    # -- one comparison ----------------------------------------------------------------------

    def compare(self, request: DriftRequest, progress: Progress = NULL_PROGRESS) -> DriftReport:
        """Compare ``request.current`` with ``request.reference`` column by column (and store
        the report when ``request.save``).

        The declared target is reported as target drift; key and time columns are left out
        unless named in ``columns``.
        """
        from .engine import compute_drift

        opts = self._request_options(request)
        ref, cur, plan = self._plan(request)
        stats = self.reference_stats(ref, plan.reference_columns, progress=progress)
        progress.check_cancelled()
        report = compute_drift(
            stats, self.snapshots.scan(cur), columns=plan.features, numerical=plan.numerical,
            categorical=plan.categorical, target=plan.target, exclude=plan.exclude,
            options=opts, progress=progress,
        )  # fmt: skip
        report.reference, report.current = ref.ref, cur.ref
        report.created_at = datetime.now().replace(microsecond=0)
        if request.save:
            report.id = self._save_report(report, ref, cur)
        return report

    # -- reference statistics ----------------------------------------------------------------

    def reference_stats(
        self,
        reference: str | Snapshot,
        columns: Sequence[str] | None = None,
        *,
        progress: Progress = NULL_PROGRESS,
    ) -> ReferenceStats:
        """Statistics of a reference snapshot's columns: stored once, then read back.

        A stored entry covering at least ``columns`` is reused; otherwise the snapshot is
        scanned once and the result stored as an object.
        """
        from .stats import ReferenceStats, compute_reference_stats

        snap = self.snapshots.resolve(reference)
        wanted = [c for c in (columns if columns is not None else snap.schema) if c in snap.schema]
        with self.ctx.store.read() as con:
            entries = repo.stats_entries(con, snap.object_hash)
        for entry in entries:
            if not set(wanted) <= set(entry.columns):
                continue
            if entry.stats_hash in self._stats_cache:
                return self._stats_cache[entry.stats_hash]
            try:
                stats = ReferenceStats.load(self.ctx.objects.path(entry.stats_hash))
            except (OSError, ValueError, KeyError):
                continue  # missing or from an older format: compute again below
            self._remember(entry.stats_hash, stats)
            return stats
        progress.start(f"reference statistics of {snap.ref}", total=None)
        stats = compute_reference_stats(self.snapshots.scan(snap), wanted)
        progress.check_cancelled()
        with self.ctx.objects.writing():
            stats_hash = self.ctx.objects.put_bytes(stats.to_bytes())
            with self.ctx.store.write() as con:
                repo.insert_stats(con, snap, _signature(wanted), wanted, stats_hash, stats.rows)
        self._remember(stats_hash, stats)
        return stats

    def _remember(self, stats_hash: str, stats: ReferenceStats) -> None:
        cache = self._stats_cache
        cache[stats_hash] = stats
        while len(cache) > _CACHE_SIZE:
            cache.pop(next(iter(cache)))

    # -- stored reports ----------------------------------------------------------------------

    def _save_report(self, report: DriftReport, ref: Snapshot, cur: Snapshot) -> int:
        actor = self.ctx.actor
        with self.ctx.store.write() as con:
            report_id = repo.insert_report(con, report, ref, cur, actor)
            self.ctx.audit(
                con, "drift.report", f"drift {report_id}",
                {"reference": ref.ref, "current": cur.ref, "n_drifted": report.n_drifted,
                 "n_tested": report.n_tested, "dataset_drifted": report.dataset_drifted},
                rows=[("drift_reports", report_id)], actor=actor,
            )  # fmt: skip
        return report_id

    def reports(self, limit: int | None = None) -> pl.DataFrame:
        """Stored drift reports, newest first, as a Polars frame."""
        with self.ctx.store.read() as con:
            return repo.reports_frame(con, limit)

    def report(self, report_id: int | str) -> DriftReport:
        """A stored report, rebuilt as the ``DriftReport`` it was."""
        with self.ctx.store.read() as con:
            return repo.get_report(con, _parse_report_id(report_id))

    # -- over time and across batches --------------------------------------------------------

    def windows(
        self, request: DriftRequest, every: str = "month", progress: Progress = NULL_PROGRESS
    ) -> pl.DataFrame:
        """Drift of each day/week/month window of ``request.current`` (by its time column).

        One row per window: ``window_start``, ``rows``, ``n_tested``, ``n_drifted``,
        ``drift_share``, ``dataset_drifted`` and ``<column>:score`` / ``<column>:drifted``.
        ``every="auto"`` picks month, week or day from the time span.
        """
        import polars as pl

        from .windows import drift_over_time

        every = _check_every(every)
        opts = self._request_options(request)
        ref, cur, plan = self._plan(request)
        time_column = cur.time_column
        if not time_column or time_column not in cur.schema:
            raise InputError(
                f"{cur.ref} has no time column", hint="declare one with `data add --time-column`"
            )
        lf = self.snapshots.scan(cur)
        if every == "auto":
            t = pl.col(time_column)
            if cur.schema.get(time_column) == "String":
                t = t.str.to_datetime(strict=False)
            first, last = lf.select(t.min().alias("a"), t.max().alias("b")).collect().row(0)
            every = auto_every(first, last)
        stats = self.reference_stats(ref, plan.reference_columns, progress=progress)
        features = [c for c in plan.features if c != time_column]
        return drift_over_time(
            stats, lf, time_column, every, columns=features, numerical=plan.numerical,
            categorical=plan.categorical, target=plan.target, options=opts, progress=progress,
        )  # fmt: skip

    def batches(
        self,
        request: DriftRequest,
        currents: Sequence[str] | None = None,
        progress: Progress = NULL_PROGRESS,
    ) -> pl.DataFrame:
        """One row per batch compared with ``request.reference`` (default: every production
        batch, see ``snapshots.batches``).

        Columns: ``current``, ``rows``, ``n_tested``, ``n_drifted``, ``drift_share``,
        ``dataset_drifted``, ``drifted_columns``, ``top_column``, ``top_severity``,
        ``target_drifted``, ``flagged`` and ``flags`` (data-quality notes such as a null-share
        jump or a unit change, see ``workbench.drift.summary``), ``report_id``. The reference
        is summarised once for all batches.
        """
        import polars as pl

        from .summary import batch_row

        refs = list(currents) if currents is not None else self.snapshots.production_batches()
        if not refs:
            raise InputError(
                f"no batches to compare with {request.reference}",
                hint=f"batches are snapshots named {BATCH_PREFIX}*",
            )
        rows = []
        progress.start("drift per batch", total=len(refs))
        for ref in refs:
            progress.check_cancelled()
            report = self.compare(replace(request, current=ref), progress=CancelOnly(progress))
            rows.append(batch_row(report.current or ref, report))
            progress.advance()
        return pl.DataFrame(rows, schema=_batch_schema())

    # -- Evidently ---------------------------------------------------------------------------

    def html(
        self, request: DriftRequest, path: str | Path, progress: Progress = NULL_PROGRESS
    ) -> Path:
        """Evidently's own DataDriftPreset report for the pair, as a standalone HTML file.

        Slow (Evidently reads everything into pandas and renders plots): seconds to minutes.
        The same columns as ``compare`` are compared; the target is included as a column.
        """
        from .evidently_export import evidently_html_report

        out = Path(path).expanduser()
        if out.is_dir():
            raise InputError(f"{out} is a folder", hint="give a file name such as report.html")
        if not out.parent.exists():
            raise InputError(f"folder {out.parent} does not exist")
        opts = self.options(request.method, request.threshold)
        ref, cur, plan = self._plan(request)
        wanted = plan.reference_columns
        progress.start(f"loading {ref.ref} and {cur.ref}", total=3)
        ref_df = self.snapshots.scan(ref).select([c for c in wanted if c in ref.schema]).collect()
        progress.advance()
        cur_df = self.snapshots.scan(cur).select([c for c in wanted if c in cur.schema]).collect()
        progress.advance()
        progress.check_cancelled()
        progress.start("rendering the Evidently report (slow)", total=None)
        given = bool(plan.numerical or plan.categorical)
        written = evidently_html_report(
            ref_df, cur_df, out, columns=wanted,
            numerical=plan.numerical if given else None,
            categorical=plan.categorical if given else None,
            method=opts.method, threshold=opts.threshold, drift_share=opts.drift_share,
        )  # fmt: skip
        progress.advance()
        return written


def _parse_report_id(report_id: int | str) -> int:
    if isinstance(report_id, int) and not isinstance(report_id, bool):
        return report_id
    text = str(report_id).strip().lstrip("#")
    if not text.isdigit():
        raise InputError(f"not a drift report id: {report_id!r}", hint="ids are numbers: 12")
    return int(text)


def _batch_schema() -> dict[str, Any]:
    import polars as pl

    return {
        "current": pl.String, "rows": pl.Int64, "n_tested": pl.Int64, "n_drifted": pl.Int64,
        "drift_share": pl.Float64, "dataset_drifted": pl.Boolean, "drifted_columns": pl.String,
        "top_column": pl.String, "top_severity": pl.Float64, "target_drifted": pl.Boolean,
        "flagged": pl.Boolean, "flags": pl.String, "report_id": pl.Int64,
    }  # fmt: skip
