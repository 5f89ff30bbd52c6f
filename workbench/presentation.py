"""What the faces (CLI, TUI, notebooks) may use besides the ``Workspace`` facade: formatting,
ordering and labelling helpers, so that every face shows the same numbers the same way.

The faces never import a domain package directly (an import-linter contract says so); the
helpers they share live in the domains and are exposed here. Exports are lazy (PEP 562): the
TUI paints before Polars or NumPy are imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

_EXPORTS = {
    # experiments: numbers in tables and charts
    "fmt_metric": "experiments.compare",
    "fmt_delta": "experiments.compare",
    "shows_as_zero": "experiments.compare",
    "iteration_ticks": "experiments.compare",
    "RunComparison": "experiments.compare",
    "MetricRow": "experiments.compare",
    "parse_value": "experiments.params",
    "DEFAULT_PARAMS": "experiments.params",
    "TASKS": "experiments.features",
    # drift: severity order, quality flags, one column's distributions and explanation
    "severity": "drift.summary",
    "by_severity": "drift.summary",
    "quality_flags": "drift.summary",
    "column_distribution": "drift.presentation",
    "explain": "drift.presentation",
    "ColumnDistribution": "drift.presentation",
    "ColumnDrift": "drift.results",
    "DriftReport": "drift.results",
    "Status": "drift.results",
    "METHODS": "drift.stattests",
    # snapshots: production batches, profiles, diffs
    "BATCH_PREFIX": "snapshots.batches",
    "batch_label": "snapshots.batches",
    "batch_name": "snapshots.batches",
    "is_production_batch": "snapshots.batches",
    "default_pair": "snapshots.batches",
    "ColumnProfile": "snapshots.profile",
    "SnapshotDiff": "snapshots.diff",
    # registry: lineage trees, audit entries, the champion alias
    "LineageNode": "registry.lineage",
    "CHAMPION": "registry.aliases",
    "AuditEntry": "audit",
}

__all__ = [
    "AuditEntry",
    "BATCH_PREFIX",
    "CHAMPION",
    "ColumnDistribution",
    "ColumnDrift",
    "ColumnProfile",
    "DEFAULT_PARAMS",
    "DriftReport",
    "LineageNode",
    "METHODS",
    "MetricRow",
    "RunComparison",
    "SnapshotDiff",
    "Status",
    "TASKS",
    "batch_label",
    "batch_name",
    "by_severity",
    "column_distribution",
    "default_pair",
    "explain",
    "fmt_delta",
    "fmt_metric",
    "is_production_batch",
    "iteration_ticks",
    "parse_value",
    "quality_flags",
    "severity",
    "shows_as_zero",
]

if TYPE_CHECKING:
    from .audit import AuditEntry
    from .drift.presentation import ColumnDistribution, column_distribution, explain
    from .drift.results import ColumnDrift, DriftReport, Status
    from .drift.stattests import METHODS
    from .drift.summary import by_severity, quality_flags, severity
    from .experiments.compare import (
        MetricRow,
        RunComparison,
        fmt_delta,
        fmt_metric,
        iteration_ticks,
        shows_as_zero,
    )
    from .experiments.features import TASKS
    from .experiments.params import DEFAULT_PARAMS, parse_value
    from .registry.aliases import CHAMPION
    from .registry.lineage import LineageNode
    from .snapshots.batches import (
        BATCH_PREFIX,
        batch_label,
        batch_name,
        default_pair,
        is_production_batch,
    )
    from .snapshots.diff import SnapshotDiff
    from .snapshots.profile import ColumnProfile


__getattr__ = lazy_exports(__name__, _EXPORTS, anchor="workbench")


def __dir__() -> list[str]:
    return __all__
