"""Drift statistics on ``ColumnStats``, numerically equal to Evidently 0.7's pandas engine.

Every function takes the reference and current summaries (sorted values with counts) and
returns a float score. Heavy work is O(n) on sorted arrays or O(k log n) searches. SciPy is
not imported (it cost more than the computation): the distributions behind the p-values and
the entropies are in ``distributions``, equal to SciPy's. See DRIFT_SPEC.md for the formulas
this mirrors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .distributions import chi2_sf, ks_2samp_pvalue, normal_cdf, rel_entr
from .stats import ColumnStats

__all__ = [
    "METHODS",
    "Method",
    "NUMERICAL",
    "CATEGORICAL",
    "binned_shares",
    "chisquare_pvalue",
    "hellinger_distance",
    "jensenshannon_distance",
    "kl_divergence",
    "ks_pvalue",
    "ks_statistic",
    "new_values",
    "psi_index",
    "sturges_edges",
    "wasserstein_normed",
    "z_pvalue",
]

NUMERICAL = "numerical"
CATEGORICAL = "categorical"

# Evidently bins numerical columns only when the reference has more distinct values.
_BIN_MIN_UNIQUE = 20


# -- Kolmogorov-Smirnov ---------------------------------------------------------------------
def ks_statistic(ref: ColumnStats, cur: ColumnStats) -> float:
    """Two-sided KS D from the merged ECDFs, with scipy's exact float arithmetic.

    scipy evaluates ``count/n1 - count/n2`` at every data point; the difference of two
    right-continuous step functions only changes at data points, so evaluating it at each
    side's unique values gives the same set of floats.
    """
    ru, rc = ref.unique
    cu, cc = cur.unique
    r_cum, c_cum = np.cumsum(rc), np.cumsum(cc)
    n1, n2 = ref.n, cur.n
    # ECDF of the other side at each unique value (counts of values <= x).
    c_at_r = _cum_at(cu, c_cum, ru)
    r_at_c = _cum_at(ru, r_cum, cu)
    diffs = np.concatenate((r_cum / n1 - c_at_r / n2, r_at_c / n1 - c_cum / n2))
    min_s = float(np.clip(-diffs.min(), 0, 1))
    max_s = float(diffs.max())
    return min_s if min_s > max_s else max_s


def _cum_at(values: np.ndarray, cum: np.ndarray, x: np.ndarray) -> np.ndarray:
    pos = np.searchsorted(values, x, side="right")
    return np.concatenate(([0], cum))[pos]


def ks_pvalue(ref: ColumnStats, cur: ColumnStats) -> float:
    """p-value of scipy ``ks_2samp(ref, cur)`` (two-sided, method='auto')."""
    return ks_2samp_pvalue(ks_statistic(ref, cur), ref.n, cur.n)


# -- Wasserstein ----------------------------------------------------------------------------
def wasserstein_normed(ref: ColumnStats, cur: ColumnStats) -> float:
    """scipy ``wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)``."""
    return _wasserstein(ref, cur) / max(ref.std, 0.001)


def _wasserstein(ref: ColumnStats, cur: ColumnStats) -> float:
    """W1 as the integral of |Q_ref(t) - Q_cur(t)| over t in [0, 1].

    Equal to scipy's integral of |F_ref - F_cur| dx, but the quantile form needs no merge
    of the two samples by value: the breakpoints are cumulative counts, integers on the
    common grid of n1*n2 steps, so their order is known without comparing data.
    """
    if ref.counts is None and cur.counts is None:
        return _wasserstein_raw(ref.values, cur.values)
    n1, n2 = ref.n, cur.n
    a = ref.cum_counts * n2  # ref breakpoints, in units of 1/(n1*n2)
    b = cur.cum_counts * n1
    ka, kb = len(a), len(b)
    # Position of each breakpoint in the merged order (ref first on ties).
    pos_a = np.arange(ka) + np.searchsorted(b, a, side="left")
    pos_b = np.arange(kb) + np.searchsorted(a, b, side="right")
    merged = np.empty(ka + kb, dtype=np.int64)
    from_a = np.zeros(ka + kb, dtype=bool)
    merged[pos_a], merged[pos_b], from_a[pos_a] = a, b, True
    lengths = np.diff(merged, prepend=0)
    # Index of the value in force on each segment = breakpoints of that side passed before it.
    ia = np.cumsum(from_a) - from_a
    ib = np.arange(ka + kb) - ia
    ia = np.minimum(ia, ka - 1)
    ib = np.minimum(ib, kb - 1)
    gaps = np.abs(ref.values[ia].astype(np.float64) - cur.values[ib].astype(np.float64))
    return float((gaps * lengths).sum() / (float(n1) * float(n2)))


def _wasserstein_raw(a: np.ndarray, b: np.ndarray) -> float:
    """W1 of two raw sorted samples without building the merged breakpoint array.

    Ref value a_i holds Q_ref on t in (i/n1, (i+1)/n1]; each segment of the merged grid ends
    at a ref or a cur breakpoint, so the integral is a sum over segments ending at ref
    breakpoints plus one over those ending at cur breakpoints, all in closed form.
    """
    n1, n2 = len(a), len(b)
    if n1 == n2:  # breakpoints coincide: the mean absolute gap of the order statistics
        total = sum(_chunks(lambda s: np.abs(a[s] - b[s], dtype=np.float64).sum(), n1))
        return total / n1
    total = _segments(a, b, n1, n2) + _segments(b, a, n2, n1, ties_first=False)
    return total / (float(n1) * float(n2))


# Work on 2 MB slices so temporaries stay in cache instead of faulting in fresh pages.
_CHUNK = 1 << 18


def _chunks(fn: Callable[[slice], float], n: int) -> list[float]:
    return [float(fn(slice(i, min(i + _CHUNK, n)))) for i in range(0, n, _CHUNK)]


def _segments(x: np.ndarray, y: np.ndarray, nx: int, ny: int, ties_first: bool = True) -> float:
    """Sum over segments ending at x's breakpoints (i+1)*ny of length * |x_i - y_j|."""

    def part(s: slice) -> float:
        end = np.arange(s.start + 1, s.stop + 1, dtype=np.int64) * ny
        # y breakpoints (j+1)*nx before this one: strictly before when x wins ties, else <=.
        y_before = (end - 1) // nx if ties_first else end // nx
        start = np.maximum(end - ny, y_before * nx)
        gaps = np.abs(x[s] - y[np.minimum(y_before, ny - 1)], dtype=np.float64)
        # Multiply-and-sum, not np.dot: OpenBLAS ddot spins up threads and costs 30x here.
        return float((gaps * (end - start)).sum())

    return sum(_chunks(part, nx))


# -- categories: chi-square, z ----------------------------------------------------------------
def union_keys(ref: ColumnStats, cur: ColumnStats) -> np.ndarray:
    """Sorted distinct values seen on either side."""
    return np.union1d(ref.unique[0], cur.unique[0])


def new_values(ref: ColumnStats, cur: ColumnStats) -> list:
    """Values present in current but never in reference, sorted."""
    keys = cur.unique[0]
    return [_py(v) for v in keys[ref.count_of(keys) == 0]]


def _py(v: object) -> object:
    return v.item() if isinstance(v, np.generic) else v


def chisquare_pvalue(ref: ColumnStats, cur: ColumnStats) -> float:
    """Chi-square goodness of fit of current counts against reference shares.

    A value absent from the reference has expected count 0; Evidently then gets p = 0 with
    a divide-by-zero warning. We return 0.0 directly (drift) without calling scipy.
    """
    keys = union_keys(ref, cur)
    ref_counts = ref.count_of(keys)
    if np.any(ref_counts == 0):
        return 0.0
    k_norm = cur.n / ref.n
    f_exp = np.array([c * k_norm for c in ref_counts.tolist()], dtype=np.float64)
    f_obs = cur.count_of(keys).astype(np.float64)
    # scipy.stats.chisquare: Pearson's statistic summed by numpy, chi-square with k - 1 df
    stat = float(((f_obs - f_exp) ** 2 / f_exp).sum())
    return chi2_sf(stat, len(keys) - 1)


def z_pvalue(ref: ColumnStats, cur: ColumnStats) -> float:
    """Two-proportion z-test: the smallest value is 0, every other value 1."""
    ru, cu = ref.unique[0], cur.unique[0]
    if len(ru) == 1 and len(cu) == 1 and ru[0] == cu[0]:
        return 1.0
    key0 = sorted(union_keys(ref, cur).tolist())[0]
    n1, n2 = ref.n, cur.n
    ones1 = n1 - int(ref.count_of(np.array([key0], dtype=ru.dtype))[0])
    ones2 = n2 - int(cur.count_of(np.array([key0], dtype=cu.dtype))[0])
    # Same float operations, in the same order, as Evidently's proportions_diff_z_stat_ind.
    p1 = float(ones1) / n1
    p2 = float(ones2) / n2
    pooled = float(p1 * n1 + p2 * n2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - normal_cdf(float(np.abs(z)))))


# -- binned distances: psi, kl_div, jensenshannon ------------------------------------------
def sturges_edges(vmin: object, vmax: object, size: int, dtype: np.dtype) -> np.ndarray:
    """``np.histogram_bin_edges(a, bins="sturges")`` from a's min, max, size and dtype.

    Mirrors numpy's ``_get_bin_edges`` so that edges need not be computed from the full
    concatenated sample: width = ptp / (log2(size) + 1), at least 1 for integer data.
    """
    a_min, a_max = dtype.type(vmin), dtype.type(vmax)
    first, last = a_min, a_max
    if first == last:
        first, last = first - 0.5, last + 0.5
    width = _unsigned_subtract(a_max, a_min) / (np.log2(size) + 1.0)
    if width:
        if np.issubdtype(dtype, np.integer) and width < 1:
            width = 1
        n_bins = int(np.ceil(_unsigned_subtract(last, first) / width))
    else:
        n_bins = 1
    bin_type = np.result_type(first, last, dtype)
    if np.issubdtype(bin_type, np.integer):
        bin_type = np.result_type(bin_type, float)
    return np.linspace(first, last, n_bins + 1, endpoint=True, dtype=bin_type)


def _unsigned_subtract(a: Any, b: Any) -> Any:
    """numpy's helper: a - b without overflow for signed integers (copied semantics)."""
    signed_to_unsigned = {
        np.byte: np.ubyte,
        np.short: np.ushort,
        np.intc: np.uintc,
        np.int_: np.uint,
        np.longlong: np.ulonglong,
    }
    dt = np.result_type(a, b)
    unsigned = signed_to_unsigned.get(dt.type)
    if unsigned is None:
        return np.subtract(a, b, dtype=dt)
    return np.subtract(
        np.asarray(a, dtype=dt), np.asarray(b, dtype=dt), casting="unsafe", dtype=unsigned
    )


def combined_dtype(ref: ColumnStats, cur: ColumnStats) -> np.dtype:
    """dtype of pandas ``concat([ref, cur]).values``: ints stay ints only if both are."""
    return np.result_type(np.dtype(ref.np_dtype), np.dtype(cur.np_dtype))


def shared_edges(ref: ColumnStats, cur: ColumnStats) -> np.ndarray:
    """Sturges edges over reference and current together, as Evidently bins them."""
    dtype = combined_dtype(ref, cur)
    vmin = min(ref.min, cur.min)
    vmax = max(ref.max, cur.max)
    return sturges_edges(vmin, vmax, ref.n + cur.n, dtype)


def binned_shares(
    ref: ColumnStats, cur: ColumnStats, column_type: str, fill_zeroes: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Shares per bin (numerical, > 20 reference values) or per value, each side / own n."""
    if column_type == NUMERICAL and ref.n_unique > _BIN_MIN_UNIQUE:
        edges = shared_edges(ref, cur)
        ref_counts, cur_counts = ref.histogram(edges), cur.histogram(edges)
    else:
        keys = union_keys(ref, cur)
        ref_counts, cur_counts = ref.count_of(keys), cur.count_of(keys)
    ref_pct = ref_counts / ref.n
    cur_pct = cur_counts / cur.n
    if fill_zeroes:
        ref_pct, cur_pct = _fill_zeroes(ref_pct), _fill_zeroes(cur_pct)
    return ref_pct, cur_pct


def _fill_zeroes(pct: np.ndarray) -> np.ndarray:
    """Evidently's empty-bin fill: smallest non-zero share / 1e6 if tiny, else 1e-4."""
    pct = pct.copy()
    smallest = pct[pct != 0].min()
    np.place(pct, pct == 0, smallest / 10**6 if smallest <= 0.0001 else 0.0001)
    return pct


def psi_index(ref: ColumnStats, cur: ColumnStats, column_type: str) -> float:
    """Population stability index: sum((ref - cur) * ln(ref / cur))."""
    r, c = binned_shares(ref, cur, column_type, fill_zeroes=True)
    return float(np.sum((r - c) * np.log(r / c)))


def kl_divergence(ref: ColumnStats, cur: ColumnStats, column_type: str) -> float:
    """scipy ``stats.entropy(ref, cur)`` on zero-filled shares (which it renormalises)."""
    r, c = binned_shares(ref, cur, column_type, fill_zeroes=True)
    return float(np.sum(rel_entr(r / np.sum(r), c / np.sum(c))))


def jensenshannon_distance(ref: ColumnStats, cur: ColumnStats, column_type: str) -> float:
    """scipy ``spatial.distance.jensenshannon(ref, cur)`` on raw shares (natural log)."""
    r, c = binned_shares(ref, cur, column_type, fill_zeroes=False)
    p, q = r / np.sum(r), c / np.sum(c)
    m = (p + q) / 2.0
    return float(np.sqrt((np.sum(rel_entr(p, m)) + np.sum(rel_entr(q, m))) / 2.0))


# -- Hellinger --------------------------------------------------------------------------------
def hellinger_distance(ref: ColumnStats, cur: ColumnStats, column_type: str) -> float:
    """Evidently's Hellinger distance (categorical shares, or Sturges densities)."""
    if column_type == CATEGORICAL:
        keys = union_keys(ref, cur)
        p = ref.count_of(keys) / ref.n
        q = cur.count_of(keys) / cur.n
        total = 0.0
        for a, b in zip(p.tolist(), q.tolist(), strict=True):
            total += math.sqrt(a * b)
        return math.sqrt(1 - float(np.clip(total, 0, 1)))
    # Numerical: edges over the distinct values of both sides, not over all rows.
    bins = np.histogram_bin_edges(union_keys(ref, cur), bins="sturges")
    h1, h2 = _density(ref, bins), _density(cur, bins)
    bin_width = (max(bins) - min(bins)) / (len(bins) - 1)
    total = 0.0
    for a, b in zip(h1.tolist(), h2.tolist(), strict=True):
        total += math.sqrt(float(a) * float(b)) * bin_width
    return math.sqrt(1 - float(np.clip(total, 0, 1)))


def _density(col: ColumnStats, bins: np.ndarray) -> np.ndarray:
    """``np.histogram(values, bins, density=True)[0]`` with numpy's own operation order."""
    n = col.histogram(bins)
    db = np.array(np.diff(bins), float)
    return n / db / n.sum()


# -- registry ---------------------------------------------------------------------------------
Score = Callable[[ColumnStats, ColumnStats, str], float]


@dataclass(frozen=True)
class Method:
    """A drift method: how to score, its default threshold and its drift rule."""

    name: str
    display_name: str
    default_threshold: float
    kind: str  # "p_value" or "distance"
    rule: str  # "<=", "<" (p-values) or ">=" (distances)
    numerical_only: bool
    score: Score

    def is_drift(self, score: float, threshold: float) -> bool:
        """Apply the method's drift rule (mirrors each Evidently stattest)."""
        if self.rule == "<=":
            return bool(score <= threshold)
        if self.rule == "<":
            return bool(score < threshold)
        return bool(score >= threshold)


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("ks", "K-S p_value", 0.05, "p_value", "<=", True, lambda r, c, t: ks_pvalue(r, c)),
        Method(
            "chisquare",
            "chi-square p_value",
            0.05,
            "p_value",
            "<",
            False,
            lambda r, c, t: chisquare_pvalue(r, c),
        ),
        Method("z", "Z-test p_value", 0.05, "p_value", "<", False, lambda r, c, t: z_pvalue(r, c)),
        Method(
            "wasserstein",
            "Wasserstein distance (normed)",
            0.1,
            "distance",
            ">=",
            True,
            lambda r, c, t: wasserstein_normed(r, c),
        ),
        Method(
            "jensenshannon",
            "Jensen-Shannon distance",
            0.1,
            "distance",
            ">=",
            False,
            jensenshannon_distance,
        ),
        Method("psi", "PSI", 0.1, "distance", ">=", False, psi_index),
        Method(
            "kl_div", "Kullback-Leibler divergence", 0.1, "distance", ">=", False, kl_divergence
        ),
        Method("hellinger", "Hellinger distance", 0.1, "distance", ">=", False, hellinger_distance),
    )
}
