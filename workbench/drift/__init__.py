"""Drift detection computed with Polars, numerically equal to Evidently 0.7's pandas engine.

Entry points:

* ``compute_drift(reference, current, ...) -> DriftReport`` - one comparison; ``reference``
  may be a frame, a Parquet/CSV path, or ``ReferenceStats`` computed once and stored.
* ``compute_reference_stats(reference) -> ReferenceStats`` - summarise a reference once;
  ``to_bytes()``/``from_bytes()`` to store it.
* ``drift_over_time(reference, current, time_column, every="month") -> pl.DataFrame`` and
  ``window_reports(...)`` - drift per day/week/month window.
* ``column_distribution`` and ``explain`` (module ``presentation``) - what a UI shows for
  one column.
* ``evidently_html_report`` - Evidently's own HTML report (imports Evidently lazily).

Formulas and Evidently's behaviour are documented in DRIFT_SPEC.md; ``stattests`` holds
the per-method implementations.
"""

from __future__ import annotations

from .._lazy import lazy_exports

# Lazy exports (PEP 562): the workspace builds the drift service, and importing scipy and the engine on
# every CLI call would cost ~2 s. Each name's module loads on first use.
_EXPORTS = {
    "CATEGORICAL": "engine",
    "ColumnDistribution": "presentation",
    "ColumnDrift": "results",
    "ColumnStats": "stats",
    "DATETIME": "engine",
    "DriftOptions": "results",
    "DriftReport": "results",
    "DriftRequest": "service",
    "DriftService": "service",
    "METHODS": "stattests",
    "Method": "stattests",
    "NUMERICAL": "engine",
    "ReferenceStats": "stats",
    "Status": "results",
    "TEXT": "engine",
    "UNKNOWN": "engine",
    "column_distribution": "presentation",
    "column_drift": "engine",
    "column_stats": "stats",
    "compute_drift": "engine",
    "compute_reference_stats": "stats",
    "default_method": "engine",
    "drift_over_time": "windows",
    "evidently_html_report": "evidently_export",
    "explain": "presentation",
    "infer_column_types": "engine",
    "window_reports": "windows",
}


__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "CATEGORICAL",
    "DATETIME",
    "METHODS",
    "NUMERICAL",
    "TEXT",
    "UNKNOWN",
    "ColumnDistribution",
    "ColumnDrift",
    "ColumnStats",
    "DriftOptions",
    "DriftReport",
    "DriftRequest",
    "DriftService",
    "Method",
    "ReferenceStats",
    "Status",
    "column_distribution",
    "column_drift",
    "column_stats",
    "compute_drift",
    "compute_reference_stats",
    "default_method",
    "drift_over_time",
    "evidently_html_report",
    "explain",
    "infer_column_types",
    "window_reports",
]
