"""What the UI shows for one column: distributions side by side and a plain-English line."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .results import ColumnDrift
from .stats import ColumnStats, FrameLike, ReferenceStats, column_stats
from .stattests import CATEGORICAL, METHODS, shared_edges, union_keys

__all__ = ["ColumnDistribution", "column_distribution", "explain"]


@dataclass
class ColumnDistribution:
    """Reference and current distributions of one column on a shared axis.

    Numerical: ``edges`` (len k+1) and counts per bin [a, b) (last bin closed), the Sturges
    bins Evidently uses for psi/kl/js. Categorical: ``categories`` and counts per category
    (most frequent in the reference first; the tail folded into "(other)").
    """

    column: str
    column_type: str
    edges: list[float] | None
    categories: list[Any] | None
    ref_counts: list[int]
    cur_counts: list[int]
    ref_shares: list[float]
    cur_shares: list[float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        d = asdict(self)
        if d["categories"] is not None:
            d["categories"] = [
                c if isinstance(c, str | int | float) else str(c) for c in d["categories"]
            ]
        return d


def _stats(side: FrameLike | ReferenceStats | ColumnStats, column: str) -> ColumnStats:
    if isinstance(side, ColumnStats):
        return side
    if isinstance(side, ReferenceStats):
        return side[column]
    return column_stats(side, column)


def column_distribution(
    reference: FrameLike | ReferenceStats | ColumnStats,
    current: FrameLike | ColumnStats,
    column: str,
    column_type: str = "numerical",
    max_categories: int = 20,
) -> ColumnDistribution:
    """Histograms on shared bin edges (numerical) or category counts (categorical)."""
    ref, cur = _stats(reference, column), _stats(current, column)
    if column_type == CATEGORICAL or not (ref.is_numeric and cur.is_numeric):
        return _categorical(ref, cur, column, max_categories)
    edges = shared_edges(ref, cur)
    rc, cc = ref.histogram(edges), cur.histogram(edges)
    return ColumnDistribution(
        column, "numerical", edges.tolist(), None, *_lists(rc, cc, ref.n, cur.n)
    )


def _categorical(
    ref: ColumnStats, cur: ColumnStats, column: str, max_categories: int
) -> ColumnDistribution:
    keys = union_keys(ref, cur)
    rc, cc = ref.count_of(keys), cur.count_of(keys)
    order = np.lexsort((-cc, -rc))  # most frequent in the reference first, then current
    keys, rc, cc = keys[order], rc[order], cc[order]
    cats = [k.item() if isinstance(k, np.generic) else k for k in keys]
    if len(cats) > max_categories:
        head = max_categories - 1
        cats = cats[:head] + ["(other)"]
        rc = np.append(rc[:head], rc[head:].sum())
        cc = np.append(cc[:head], cc[head:].sum())
    return ColumnDistribution(column, "categorical", None, cats, *_lists(rc, cc, ref.n, cur.n))


def _lists(rc: np.ndarray, cc: np.ndarray, n_ref: int, n_cur: int) -> tuple[list, ...]:
    ref_sh = (rc / n_ref).tolist() if n_ref else [0.0] * len(rc)
    cur_sh = (cc / n_cur).tolist() if n_cur else [0.0] * len(cc)
    return rc.astype(int).tolist(), cc.astype(int).tolist(), ref_sh, cur_sh


_MEANING = {
    "ks": "how likely a gap this large between the two distributions is if nothing changed",
    "chisquare": "how likely these category counts are if the reference shares still held",
    "z": "how likely this difference in the share of the two values is if nothing changed",
    "wasserstein": "how far values moved, in reference standard deviations",
    "jensenshannon": "how different the two distributions are (0 = same, 0.83 = disjoint)",
    "psi": "how much the population moved between bins (0.1 = moderate, 0.25 = major)",
    "kl_div": "information lost describing current data with the reference distribution",
    "hellinger": "how little the two distributions overlap (0 = same, 1 = disjoint)",
}


def explain(result: ColumnDrift) -> str:
    """One plain-English line saying what the score and threshold mean for this column."""
    if not result.tested or result.method is None or result.score is None:
        return f"{result.column} was not tested: {result.message or result.status}."
    m = METHODS[result.method]
    verdict = "drift detected" if result.drifted else "no drift"
    rule = {"<=": "<=", "<": "<", ">=": ">="}[m.rule]
    cmp_ok = rule if result.drifted else {"<=": ">", "<": ">=", ">=": "<"}[rule]
    what = "p-value" if m.kind == "p_value" else "score"
    line = (
        f"{result.column}: {m.display_name} = {result.score:.4g} {cmp_ok} {result.threshold:g} "
        f"-> {verdict}. The {what} measures {_MEANING[m.name]}"
    )
    if m.kind == "p_value":
        line += "; drift is flagged when it is small"
    if result.new_categories:
        line += f"; values never seen in the reference: {result.new_categories[:5]}"
    return line + "."
