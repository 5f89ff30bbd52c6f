"""Reading a drift report at a glance: severity order, data-quality flags, one row per batch.

These are what the CLI table, the TUI and the notebook sort and flag by, so all three agree.
Severity makes scores of different methods comparable: 1.0 is exactly at the threshold, above
1 is drift, and the larger the stronger.

* distances (wasserstein, jensenshannon, psi, kl_div, hellinger): ``score / threshold``;
* p-values (ks, chisquare, z): ``ln(p) / ln(threshold)`` (p = threshold gives 1, p = 0 gives
  infinity).

Drift share alone does not find a broken feed: a column reported in cents instead of dollars
is one drifted column, like a small price rise. Quality flags name what looks like a data
problem rather than a change in the world: a jump in the null share, a numerical column whose
values moved by many reference standard deviations, columns missing or added, columns that
could not be tested, a report that tested nothing.
"""

from __future__ import annotations

import math
from typing import Any

from .results import ColumnDrift, DriftReport, Status

__all__ = [
    "NULL_JUMP",
    "EXTREME_SHIFT",
    "severity",
    "by_severity",
    "quality_flags",
    "batch_row",
]

#: a rise in a column's null share of at least this much (absolute) is flagged
NULL_JUMP = 0.05
#: a normed Wasserstein distance at least this large (values moved by this many reference
#: standard deviations) suggests a unit or encoding change rather than drift
EXTREME_SHIFT = 10.0

_P_VALUE_METHODS = ("ks", "chisquare", "z")


def severity(col: ColumnDrift) -> float:
    """How far past (> 1) or short of (< 1) its threshold a column's score is; 0 if untested."""
    if not col.tested or col.score is None or col.threshold is None or math.isnan(col.score):
        return 0.0
    if col.method in _P_VALUE_METHODS:
        if col.score <= 0.0:
            return math.inf
        if col.threshold <= 0.0 or col.threshold >= 1.0 or col.score >= 1.0:
            return 0.0
        return math.log(col.score) / math.log(col.threshold)
    if col.threshold <= 0.0:
        return math.inf if col.score > 0 else 0.0
    return col.score / col.threshold


def _group(col: ColumnDrift) -> int:
    if col.drifted:
        return 0
    if col.status in (Status.ERROR, Status.MISSING, Status.NEW):
        return 1
    if col.tested:
        return 2
    return 3


def by_severity(columns: list[ColumnDrift]) -> list[ColumnDrift]:
    """Drifted columns (strongest first), then schema problems, then the rest, then skipped."""
    return sorted(columns, key=lambda c: (_group(c), -severity(c), c.column))


def quality_flags(report: DriftReport) -> list[str]:
    """Short notes on what looks like broken data rather than drift (empty when none)."""
    flags: list[str] = []
    for c in report.all_columns():
        jump = c.null_share_cur - c.null_share_ref
        if c.status in (Status.OK, Status.ERROR) and jump >= NULL_JUMP:
            flags.append(f"{c.column} nulls {c.null_share_ref:.0%} -> {c.null_share_cur:.0%}")
        if c.tested and c.method == "wasserstein" and (c.score or 0.0) >= EXTREME_SHIFT:
            flags.append(f"{c.column} moved {c.score:.0f} std (units changed?)")
        if c.status == Status.MISSING:
            flags.append(f"{c.column} missing")
        elif c.status == Status.NEW:
            flags.append(f"{c.column} new")
        elif c.status == Status.ERROR:
            flags.append(f"{c.column}: {c.message}")
    if report.n_tested == 0:
        flags.append("no column could be tested")
    return flags


def batch_row(label: str, report: DriftReport) -> dict[str, Any]:
    """One row of a batches ("months") table: drift share, strongest column, quality flags."""
    ordered = by_severity(report.columns)
    top = ordered[0] if ordered and ordered[0].tested else None
    flags = quality_flags(report)
    target = report.target
    return {
        "current": label,
        "rows": report.rows_cur,
        "n_tested": report.n_tested,
        "n_drifted": report.n_drifted,
        "drift_share": report.share,
        "dataset_drifted": report.dataset_drifted,
        "drifted_columns": ", ".join(report.drifted_columns),
        "top_column": top.column if top else None,
        "top_severity": severity(top) if top else 0.0,
        "target_drifted": bool(target and target.drifted),
        "flagged": bool(flags),
        "flags": "; ".join(flags),
        "report_id": report.id,
    }
