"""The drift part of the ``Workspace`` facade (mixed into ``workbench.api.Workspace``).

Methods here use ``self.store``, ``self.objects``, ``self.settings``, ``self.actor`` and
``self.snapshot(ref)``, ``self.scan(ref)`` of the facade.

What the facade adds to the engine:

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
import threading
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, NotFoundError
from ..progress import NULL_PROGRESS, CancelOnly, Progress

if TYPE_CHECKING:
    import polars as pl

    from ..objects import ObjectStore
    from ..snapshots.catalog import Snapshot
    from ..store import Store
    from .results import ColumnDrift, DriftOptions, DriftReport
    from .stats import ReferenceStats

__all__ = ["DriftMixin", "DriftPlan", "BATCH_PREFIX", "WINDOW_SIZES"]

#: snapshots whose name starts with this are production batches (the "months" view)
BATCH_PREFIX = "prod-"
#: window sizes ``drift_windows`` accepts ("auto" picks one from the time span)
WINDOW_SIZES = ("day", "week", "month", "auto")

_REPORT_COLUMNS = (
    "id, created_at, author, reference_ref, reference_hash, current_ref, current_hash, "
    "options_json, n_tested, n_drifted, share, dataset_drifted, rows_ref, rows_cur, "
    "target_column, target_drifted"
)
_COLUMN_FIELDS = (
    "column_name, role, column_type, method, stattest_name, score, threshold, drifted, n_ref, "
    "n_cur, null_share_ref, null_share_cur, new_categories_json, status, message, dtype_ref, "
    "dtype_cur"
)
# Reference stats kept in memory per workspace object (a TUI comparing many batches).
_CACHE_SIZE = 4
_tables_ready: set[str] = set()
_tables_lock = threading.Lock()


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
    roles = {ref.key_column, ref.time_column, cur.key_column, cur.time_column} - {None}
    if chosen is not None:
        features = [c for c in dict.fromkeys(chosen) if c != target]
        exclude = []
    else:
        features = [c for c in known if c != target and c not in roles]
        exclude = sorted(roles)  # type: ignore[arg-type]
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


class DriftMixin:
    """Drift reports between snapshots, batches and time windows."""

    if TYPE_CHECKING:
        store: Store
        objects: ObjectStore
        actor: str
        settings: Any

        def snapshot(self, ref: str) -> Snapshot: ...
        def snapshots(self, name: str | None = None) -> list[Snapshot]: ...
        def scan(self, ref: str | Snapshot) -> pl.LazyFrame: ...

    # -- options -----------------------------------------------------------------------------

    def drift_options(
        self,
        method: str | None = None,
        threshold: float | None = None,
        options: DriftOptions | None = None,
    ) -> DriftOptions:
        """Options from the workspace settings, then ``options``, then ``method``/``threshold``."""
        from .results import DriftOptions
        from .stattests import METHODS

        drift_settings = self.settings.drift
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

    # -- one comparison ----------------------------------------------------------------------

    def drift(
        self,
        reference_ref: str,
        current_ref: str,
        *,
        method: str | None = None,
        threshold: float | None = None,
        columns: str | Sequence[str] | None = None,
        numerical: str | Sequence[str] = (),
        categorical: str | Sequence[str] = (),
        options: DriftOptions | None = None,
        save: bool = True,
        progress: Progress = NULL_PROGRESS,
    ) -> DriftReport:
        """Compare ``current_ref`` with ``reference_ref`` column by column (and store the report).

        The declared target is reported as target drift; key and time columns are left out
        unless named in ``columns``. ``method`` and ``threshold`` apply to every column
        (``options`` gives per-type and per-column choices).
        """
        from .engine import compute_drift

        opts = self.drift_options(method, threshold, options)
        ref, cur = self.snapshot(reference_ref), self.snapshot(current_ref)
        plan = plan_columns(ref, cur, columns, numerical, categorical)
        stats = self.reference_stats(ref, plan.reference_columns, progress=progress)
        progress.check_cancelled()
        report = compute_drift(
            stats, self.scan(cur), columns=plan.features, numerical=plan.numerical,
            categorical=plan.categorical, target=plan.target, exclude=plan.exclude,
            options=opts, progress=progress,
        )  # fmt: skip
        report.reference, report.current = ref.ref, cur.ref
        report.created_at = datetime.now().replace(microsecond=0)
        if save:
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
        from ..snapshots.catalog import Snapshot as _Snapshot
        from .stats import ReferenceStats, compute_reference_stats

        snap = reference if isinstance(reference, _Snapshot) else self.snapshot(reference)
        wanted = [c for c in (columns if columns is not None else snap.schema) if c in snap.schema]
        self._ensure_drift_tables()
        cache = self._stats_cache()
        with self.store.read() as con:
            rows = con.execute(
                "select columns_json, stats_hash from drift_reference_stats "
                "where object_hash = ? order by created_at desc",
                [snap.object_hash],
            ).fetchall()
        for columns_json, stats_hash in rows:
            if not set(wanted) <= set(json.loads(columns_json)):
                continue
            if stats_hash in cache:
                return cache[stats_hash]
            try:
                stats = ReferenceStats.load(self.objects.path(stats_hash))
            except (OSError, ValueError, KeyError):
                continue  # missing or from an older format: compute again below
            self._remember(stats_hash, stats)
            return stats
        progress.start(f"reference statistics of {snap.ref}", total=None)
        stats = compute_reference_stats(self.scan(snap), wanted)
        progress.check_cancelled()
        stats_hash = self.objects.put_bytes(stats.to_bytes())
        with self.store.write() as con:
            con.execute(
                "insert or replace into drift_reference_stats values (?, ?, ?, ?, ?, ?, ?)",
                [
                    snap.object_hash, snap.id, _signature(wanted), json.dumps(sorted(wanted)),
                    stats_hash, stats.rows, datetime.now(),
                ],
            )  # fmt: skip
        self._remember(stats_hash, stats)
        return stats

    def _stats_cache(self) -> dict[str, ReferenceStats]:
        cache = self.__dict__.get("_drift_stats_cache")
        if cache is None:
            cache = self.__dict__.setdefault("_drift_stats_cache", {})
        return cache

    def _remember(self, stats_hash: str, stats: ReferenceStats) -> None:
        cache = self._stats_cache()
        cache[stats_hash] = stats
        while len(cache) > _CACHE_SIZE:
            cache.pop(next(iter(cache)))

    # -- stored reports ----------------------------------------------------------------------

    def _ensure_drift_tables(self) -> None:
        """Create the drift tables if this workspace skipped migration 0004 (see its header)."""
        key = str(self.store.path.resolve())
        if key in _tables_ready:
            return
        with _tables_lock:
            if key in _tables_ready:
                return
            with self.store.read() as con:
                present = con.execute(
                    "select count(*) from information_schema.tables "
                    "where table_name in ('drift_reports', 'drift_columns', "
                    "'drift_reference_stats')"
                ).fetchall()[0][0]
            if present < 3:
                from ..store import _split_sql, migrations

                sql = next(s for v, _, s in migrations() if v == 4)
                with self.store.write() as con:
                    for statement in _split_sql(sql):
                        con.execute(statement)
            _tables_ready.add(key)

    def _save_report(self, report: DriftReport, ref: Snapshot, cur: Snapshot) -> int:
        from .. import audit

        self._ensure_drift_tables()
        target = report.target
        with self.store.write() as con:
            report_id = con.execute("select nextval('drift_report_id_seq')").fetchall()[0][0]
            con.execute(
                f"insert into drift_reports ({_REPORT_COLUMNS}) values "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    report_id, report.created_at, self.actor, ref.ref, ref.object_hash, cur.ref,
                    cur.object_hash, json.dumps(report.options.to_dict(), sort_keys=True),
                    report.n_tested, report.n_drifted, report.share, report.dataset_drifted,
                    report.rows_ref, report.rows_cur, target.column if target else None,
                    target.drifted if target else None,
                ],
            )  # fmt: skip
            rows = [
                [report_id, position, *_column_values(c)]
                for position, c in enumerate(report.all_columns())
            ]
            if rows:
                marks = ", ".join("?" * (2 + len(_COLUMN_FIELDS.split(","))))
                con.executemany(
                    f"insert into drift_columns (report_id, position, {_COLUMN_FIELDS}) "
                    f"values ({marks})",
                    rows,
                )
            audit.append(
                con, self.actor, "drift.report", f"drift {report_id}",
                {"reference": ref.ref, "current": cur.ref, "n_drifted": report.n_drifted,
                 "n_tested": report.n_tested, "dataset_drifted": report.dataset_drifted},
            )  # fmt: skip
        return int(report_id)

    def drift_reports(self, limit: int | None = None) -> pl.DataFrame:
        """Stored drift reports, newest first, as a Polars frame."""
        self._ensure_drift_tables()
        sql = (
            "select id, created_at, reference_ref as reference, current_ref as current, "
            "n_tested, n_drifted, share, dataset_drifted, target_column, target_drifted, "
            "rows_ref, rows_cur, author, reference_hash, current_hash, options_json "
            "from drift_reports order by id desc"
        )
        with self.store.read() as con:
            if limit is not None:
                return con.sql(sql + " limit ?", params=[int(limit)]).pl()
            return con.sql(sql).pl()

    def drift_report(self, report_id: int | str) -> DriftReport:
        """A stored report, rebuilt as the ``DriftReport`` it was."""
        from .results import DriftOptions, DriftReport

        rid = _parse_report_id(report_id)
        self._ensure_drift_tables()
        with self.store.read() as con:
            head = con.execute(
                f"select {_REPORT_COLUMNS} from drift_reports where id = ?", [rid]
            ).fetchall()
            if not head:
                raise NotFoundError(f"no drift report {rid}", hint="see `workbench drift list`")
            cols = con.execute(
                f"select {_COLUMN_FIELDS} from drift_columns where report_id = ? order by position",
                [rid],
            ).fetchall()
        (_, created, _, ref_ref, _, cur_ref, _, options_json, n_tested, n_drifted, share,
         dataset_drifted, rows_ref, rows_cur, _, _) = head[0]  # fmt: skip
        columns = [_column_from_row(r) for r in cols]
        return DriftReport(
            columns=[c for c in columns if c.role == "feature"],
            target=next((c for c in columns if c.role == "target"), None),
            prediction=next((c for c in columns if c.role == "prediction"), None),
            n_tested=n_tested, n_drifted=n_drifted, share=share,
            dataset_drifted=bool(dataset_drifted),
            options=DriftOptions(**json.loads(options_json)), rows_ref=rows_ref,
            rows_cur=rows_cur, reference=ref_ref, current=cur_ref, id=rid, created_at=created,
        )  # fmt: skip

    # -- over time and across batches --------------------------------------------------------

    def drift_windows(
        self,
        reference_ref: str,
        current_ref: str,
        every: str = "month",
        *,
        method: str | None = None,
        threshold: float | None = None,
        columns: str | Sequence[str] | None = None,
        numerical: str | Sequence[str] = (),
        categorical: str | Sequence[str] = (),
        options: DriftOptions | None = None,
        progress: Progress = NULL_PROGRESS,
    ) -> pl.DataFrame:
        """Drift of each day/week/month window of ``current_ref`` (by its time column).

        One row per window: ``window_start``, ``rows``, ``n_tested``, ``n_drifted``,
        ``drift_share``, ``dataset_drifted`` and ``<column>:score`` / ``<column>:drifted``.
        ``every="auto"`` picks month, week or day from the time span.
        """
        import polars as pl

        from .windows import drift_over_time

        every = _check_every(every)
        opts = self.drift_options(method, threshold, options)
        ref, cur = self.snapshot(reference_ref), self.snapshot(current_ref)
        time_column = cur.time_column
        if not time_column or time_column not in cur.schema:
            raise InputError(
                f"{cur.ref} has no time column", hint="declare one with `data add --time-column`"
            )
        plan = plan_columns(ref, cur, columns, numerical, categorical)
        lf = self.scan(cur)
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

    def drift_batch_refs(self, prefix: str = BATCH_PREFIX) -> list[str]:
        """Newest version of every snapshot named ``prefix*`` (production batches), by name."""
        return sorted({s.name for s in self.snapshots() if s.name.startswith(prefix)})

    def drift_batches(
        self,
        reference_ref: str,
        current_refs: Sequence[str] | None = None,
        *,
        method: str | None = None,
        threshold: float | None = None,
        columns: str | Sequence[str] | None = None,
        numerical: str | Sequence[str] = (),
        categorical: str | Sequence[str] = (),
        options: DriftOptions | None = None,
        save: bool = False,
        progress: Progress = NULL_PROGRESS,
    ) -> pl.DataFrame:
        """One row per batch compared with one reference (default: every ``prod-*`` snapshot).

        Columns: ``current``, ``rows``, ``n_tested``, ``n_drifted``, ``drift_share``,
        ``dataset_drifted``, ``drifted_columns``, ``top_column``, ``top_severity``,
        ``target_drifted``, ``flagged`` and ``flags`` (data-quality notes such as a null-share
        jump or a unit change, see ``workbench.drift.summary``), ``report_id``. The reference
        is summarised once for all batches.
        """
        import polars as pl

        from .summary import batch_row

        refs = list(current_refs) if current_refs is not None else self.drift_batch_refs()
        if not refs:
            raise InputError(
                f"no batches to compare with {reference_ref}",
                hint=f"batches are snapshots named {BATCH_PREFIX}*",
            )
        rows = []
        progress.start("drift per batch", total=len(refs))
        for ref in refs:
            progress.check_cancelled()
            report = self.drift(
                reference_ref, ref, method=method, threshold=threshold, columns=columns,
                numerical=numerical, categorical=categorical, options=options, save=save,
                progress=CancelOnly(progress),
            )  # fmt: skip
            rows.append(batch_row(report.current or ref, report))
            progress.advance()
        return pl.DataFrame(rows, schema=_batch_schema())

    # -- Evidently ---------------------------------------------------------------------------

    def drift_html(
        self,
        reference_ref: str,
        current_ref: str,
        path: str | Path,
        *,
        method: str | None = None,
        threshold: float | None = None,
        columns: str | Sequence[str] | None = None,
        numerical: str | Sequence[str] = (),
        categorical: str | Sequence[str] = (),
        progress: Progress = NULL_PROGRESS,
    ) -> Path:
        """Evidently's own DataDriftPreset report for the pair, as a standalone HTML file.

        Slow (Evidently reads everything into pandas and renders plots): seconds to minutes.
        The same columns as ``drift`` are compared; the target is included as a column.
        """
        from .evidently_export import evidently_html_report

        out = Path(path).expanduser()
        if out.is_dir():
            raise InputError(f"{out} is a folder", hint="give a file name such as report.html")
        if not out.parent.exists():
            raise InputError(f"folder {out.parent} does not exist")
        opts = self.drift_options(method, threshold)
        ref, cur = self.snapshot(reference_ref), self.snapshot(current_ref)
        plan = plan_columns(ref, cur, columns, numerical, categorical)
        wanted = plan.reference_columns
        progress.start(f"loading {ref.ref} and {cur.ref}", total=3)
        ref_df = self.scan(ref).select([c for c in wanted if c in ref.schema]).collect()
        progress.advance()
        cur_df = self.scan(cur).select([c for c in wanted if c in cur.schema]).collect()
        progress.advance()
        progress.check_cancelled()
        progress.start("rendering the Evidently report (slow)", total=None)
        given = bool(plan.numerical or plan.categorical)
        path = evidently_html_report(
            ref_df, cur_df, out, columns=wanted,
            numerical=plan.numerical if given else None,
            categorical=plan.categorical if given else None,
            method=opts.method, threshold=opts.threshold, drift_share=opts.drift_share,
        )  # fmt: skip
        progress.advance()
        return path


def _parse_report_id(report_id: int | str) -> int:
    if isinstance(report_id, int) and not isinstance(report_id, bool):
        return report_id
    text = str(report_id).strip().lstrip("#")
    if not text.isdigit():
        raise InputError(f"not a drift report id: {report_id!r}", hint="ids are numbers: 12")
    return int(text)


def _column_values(c: ColumnDrift) -> list[Any]:
    d = c.to_dict()
    return [
        c.column, c.role, c.column_type, c.method, c.stattest_name, c.score, c.threshold,
        bool(c.drifted), c.n_ref, c.n_cur, c.null_share_ref, c.null_share_cur,
        json.dumps(d["new_categories"]), c.status, c.message or "", c.dtype_ref, c.dtype_cur,
    ]  # fmt: skip


def _column_from_row(r: tuple) -> ColumnDrift:
    from .results import ColumnDrift

    (name, role, ctype, method, stattest, score, threshold, drifted, n_ref, n_cur, nr, nc,
     new_json, status, message, dtype_ref, dtype_cur) = r  # fmt: skip
    return ColumnDrift(
        column=name, column_type=ctype, method=method, stattest_name=stattest, score=score,
        threshold=threshold, drifted=bool(drifted), n_ref=n_ref, n_cur=n_cur,
        null_share_ref=nr, null_share_cur=nc, new_categories=json.loads(new_json),
        status=status, message=message, role=role, dtype_ref=dtype_ref, dtype_cur=dtype_cur,
    )  # fmt: skip


def _batch_schema() -> dict[str, Any]:
    import polars as pl

    return {
        "current": pl.String, "rows": pl.Int64, "n_tested": pl.Int64, "n_drifted": pl.Int64,
        "drift_share": pl.Float64, "dataset_drifted": pl.Boolean, "drifted_columns": pl.String,
        "top_column": pl.String, "top_severity": pl.Float64, "target_drifted": pl.Boolean,
        "flagged": pl.Boolean, "flags": pl.String, "report_id": pl.Int64,
    }  # fmt: skip
