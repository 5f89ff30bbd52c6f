"""Isotonic regression in NumPy, fitted and applied as scikit-learn's ``IsotonicRegression``
(``increasing=True, out_of_bounds="clip"``) does, which is what NannyML calibrates with.

Why not scikit-learn: importing it costs ~1 s and pulls SciPy's statistics into every
process that estimates performance; the algorithm is short. What we copy on purpose:

* Duplicate scores are pooled into one point first (targets averaged, weights counted), and
  scikit-learn's ``_make_unique`` counts a score as a duplicate when it lies less than
  ``finfo(float64).resolution`` (1e-15) above the *first* score of the current group, not
  only when it is equal. We keep that rule so that the fitted steps are the same.
* Pool-adjacent-violators on those points, weighted by their counts.
* Prediction clips to the fitted score range, then interpolates linearly between the pooled
  points (a flat step inside a block, a ramp between two blocks).

One thing we do not copy by default: SciPy's PAV (which scikit-learn calls) rebuilds a
block's sum from its rounded mean times its weight whenever it grows, so its block values
can be an ulp off the exact mean, and two adjacent blocks of equal mean can stay apart,
an ulp from each other. Our blocks hold exact means (prefix sums of 0/1 labels are exact).
Values agree to ~1e-16; only a sort that breaks ties (the calibration decision's error
measure) can tell them apart, and for that case ``IsotonicBlocks.scipy_values`` replays
SciPy's arithmetic block by block (SciPy never merges across the ends of an exact block,
so each can be replayed alone; the result is SciPy's to the bit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "IsotonicBlocks",
    "IsotonicFit",
    "fit_binary_distinct",
    "fit_isotonic",
    "isotonic_blocks",
    "pool_adjacent_violators",
]

#: scikit-learn's ``np.finfo(np.float64).resolution``: scores closer than this are one point.
RESOLUTION = float(np.finfo(np.float64).resolution)
# Vectorised rounds stop paying once a round merges fewer blocks than this share; a plain
# stack pass finishes the (then nearly monotone) sequence.
_MIN_ROUND_GAIN = 0.01


@dataclass(frozen=True, eq=False)
class IsotonicFit:
    """A fitted increasing step function: ``x`` ascending, ``y`` the fitted values there."""

    x: np.ndarray
    y: np.ndarray

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, IsotonicFit)
            and np.array_equal(self.x, other.x)
            and np.array_equal(self.y, other.y)
        )

    def predict(self, scores: np.ndarray) -> np.ndarray:
        """Fitted values for ``scores``: clipped to the fitted range, interpolated linearly."""
        scores = np.asarray(scores, dtype=np.float64)
        if len(self.y) == 1:
            return np.full(scores.shape, self.y[0])
        return np.interp(np.clip(scores, self.x[0], self.x[-1]), self.x, self.y)


@dataclass(frozen=True)
class IsotonicBlocks:
    """A fit's pooled points (distinct scores) and the blocks PAV makes of them."""

    #: pooled scores, ascending
    x: np.ndarray
    #: each pooled point's mean target
    means: np.ndarray
    #: each pooled point's row count (None when every point is one row)
    weights: np.ndarray | None
    #: block ``k`` holds points ``bounds[k]:bounds[k + 1]``
    bounds: np.ndarray
    #: each block's exact mean target
    values: np.ndarray

    def fit(self, point_values: np.ndarray | None = None) -> IsotonicFit:
        """The step function: block values at the points (or ``point_values``), trimmed."""
        if point_values is None:
            point_values = np.repeat(self.values, np.diff(self.bounds))
        return IsotonicFit(*_trim(self.x, point_values))

    def scipy_values(self, blocks: np.ndarray) -> np.ndarray:
        """Per-point values in which ``blocks`` carry SciPy's PAV rounding (and its splits of
        equal-mean blocks); the other blocks keep their exact means."""
        out = np.repeat(self.values, np.diff(self.bounds))
        weights = np.ones(len(self.x)) if self.weights is None else self.weights
        for k in blocks.tolist():
            a, b = int(self.bounds[k]), int(self.bounds[k + 1])
            out[a:b] = _scipy_pava(self.means[a:b], weights[a:b])
        return out


def isotonic_blocks(
    x_sorted: np.ndarray, y_sorted: np.ndarray, *, distinct: bool = False, binary: bool = False
) -> IsotonicBlocks:
    """Pool duplicate scores and run PAV: scores ``x_sorted`` (ascending), targets in order.

    Shortcuts a caller may vouch for: ``distinct``, the scores are at least the resolution
    apart (nothing to pool); ``binary``, the targets are 0/1 (prefix sums are exact).
    """
    if distinct:
        xs, sums, counts = x_sorted, y_sorted, None
    else:
        xs, sums, counts = _pool_duplicates(x_sorted, y_sorted)
    means = sums if counts is None else sums / counts
    bounds, values = _pav_blocks(means, counts, sums, exact_prefix=binary)
    return IsotonicBlocks(xs, means, counts, bounds, values)


def fit_isotonic(x_sorted: np.ndarray, y_sorted: np.ndarray) -> IsotonicFit:
    """Fit on scores ``x_sorted`` (ascending) and targets ``y_sorted`` in the same order."""
    return isotonic_blocks(x_sorted, y_sorted).fit()


def fit_binary_distinct(
    x_sorted: np.ndarray, labels: np.ndarray, skip: np.ndarray | None = None
) -> IsotonicFit:
    """``isotonic_blocks(x, y, distinct=True, binary=True).fit()`` without building the
    per-point arrays: the fit on the points of ``x_sorted`` (ascending, at least the
    resolution apart) except the ascending positions ``skip``, whose 0/1 targets in order
    are ``labels`` (int8 will do: the block sums are exact integers).

    Adjacent blocks have strictly increasing exact means, so the trimmed step function is
    each block's first and last point at the block's mean: read off the block bounds.
    """
    bounds, values = _pav_blocks(labels, None, exact_prefix=True)
    first, last = bounds[:-1], bounds[1:] - 1
    ends = np.stack([first, last], axis=1).ravel()
    ys = np.repeat(values, 2)
    single = np.repeat(first == last, 2)
    single[::2] = False  # a one-point block keeps its first point
    ends, ys = ends[~single], ys[~single]
    if skip is not None and len(skip):
        # The k-th kept point lies after the skipped ones with fewer kept points before them.
        before = skip - np.arange(len(skip))
        ends = ends + np.searchsorted(before, ends, "right")
    return IsotonicFit(x_sorted[ends], ys)


def _pool_duplicates(
    x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Group equal (and near-equal, see the module docstring) sorted scores.

    Returns each group's first score, target sum and row count (None when every group is
    one row).
    """
    n = len(x)
    new_value = np.empty(n, dtype=bool)
    new_value[0] = True
    np.not_equal(x[1:], x[:-1], out=new_value[1:])
    starts = np.flatnonzero(new_value)
    values = x[starts]
    # A gap of at least the resolution always starts a group; smaller gaps need the
    # sequential rule, and only inside runs of such gaps (rare: scores 1e-15 apart).
    close = np.flatnonzero(np.diff(values) < RESOLUTION) + 1
    if len(close):
        keep = np.ones(len(values), dtype=bool)
        first, previous = 0.0, -2
        for i in close.tolist():
            if i != previous + 1:  # a new run: the point before it starts a group
                first = float(values[i - 1])
            if values[i] - first >= RESOLUTION:
                first = float(values[i])
            else:
                keep[i] = False
            previous = i
        starts = starts[keep]
        values = values[keep]
    if len(starts) == n:  # no duplicates: nothing to pool
        return values, y, None
    sums = np.add.reduceat(y, starts)
    counts = np.diff(np.append(starts, n)).astype(np.float64)
    return values, sums, counts


def pool_adjacent_violators(values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The weighted least-squares increasing fit of ``values`` (one fitted value per point;
    ``weights`` None means all 1)."""
    bounds, means = _pav_blocks(np.asarray(values, dtype=np.float64), weights)
    return np.repeat(means, np.diff(bounds))


def _pav_blocks(
    values: np.ndarray,
    weights: np.ndarray | None,
    weighted: np.ndarray | None = None,
    *,
    exact_prefix: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """PAV's blocks (as bounds into the points) and their means.

    Works in vectorised rounds: every maximal non-increasing run of adjacent blocks belongs
    to one block of the solution (the pooling lemma behind PAV), so each round pools all
    such runs at once. Block means come from prefix sums, so a round costs O(blocks);
    binary targets settle in about fifteen rounds, and when a round gains little (long
    staircases) a sequential stack pass over the remaining blocks finishes. ``weighted``
    (values times weights) may be given exactly. The block means are then summed directly
    per block, unless ``exact_prefix`` vouches that prefix sums are exact (sums of 0/1
    labels are; sums of arbitrary floats are not).
    """
    # Round one on the points themselves: a block's mean is its value.
    rising = values[:-1] < values[1:]
    bounds = np.flatnonzero(np.concatenate(([True], rising, [True])))
    if weighted is None:
        weighted = values if weights is None else values * weights
    csum = None
    if len(bounds) > 2 and not rising.all():
        csum = _prefix_sums(weighted)
        # Unit weights: a block's weight is its length, no prefix sums needed.
        cweight = None if weights is None else np.concatenate(([0.0], np.cumsum(weights)))
        while len(bounds) > 2:
            sums = np.diff(csum[bounds])
            sizes = np.diff(bounds) if cweight is None else np.diff(cweight[bounds])
            means = sums / sizes
            rising = means[:-1] < means[1:]
            if rising.all():
                break
            kept = np.concatenate(([True], rising, [True]))
            if len(bounds) - int(kept.sum()) < _MIN_ROUND_GAIN * len(bounds):
                bounds = _stack_pav(sums, sizes, bounds)
                break
            bounds = bounds[kept]
    starts = bounds[:-1]
    total = np.diff(bounds) if weights is None else np.add.reduceat(weights, starts)
    if exact_prefix:
        if csum is None:
            csum = _prefix_sums(weighted)
        return bounds, np.diff(csum[bounds]) / total
    return bounds, np.add.reduceat(weighted, starts) / total


def _prefix_sums(values: np.ndarray) -> np.ndarray:
    """0 then the running sums of ``values``: in integers for integer targets (exact, and
    a fifth of the time of a float sum of small integers), else in float64."""
    integer = values.dtype.kind in "biu"
    # Sums of one-byte values fit int32 below 2**23 rows: half the memory to touch.
    narrow = integer and values.dtype.itemsize == 1 and len(values) < 2**23
    out = np.empty(
        len(values) + 1, dtype=np.int32 if narrow else np.int64 if integer else np.float64
    )
    out[0] = 0
    np.cumsum(values, dtype=out.dtype, out=out[1:])
    return out


def _stack_pav(sums: np.ndarray, weights: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Classic one-pass PAV over blocks (a Python loop, used only for the slow tail)."""
    s = sums.tolist()
    w = weights.astype(np.float64).tolist()
    out_s: list[float] = []
    out_w: list[float] = []
    out_end: list[int] = []
    for k, end in enumerate(bounds[1:].tolist()):
        bs, bw = s[k], w[k]
        while out_s and out_s[-1] / out_w[-1] >= bs / bw:
            bs += out_s.pop()
            bw += out_w.pop()
            out_end.pop()
        out_s.append(bs)
        out_w.append(bw)
        out_end.append(end)
    return np.array([0, *out_end], dtype=np.int64)


def _scipy_pava(x_in: np.ndarray, w_in: np.ndarray) -> np.ndarray:
    """SciPy's ``optimize.isotonic_regression`` (Busing's PAVA, as in SciPy's
    ``_pava_pybind.cpp``) step by step in Python floats, so that every rounding is SciPy's.
    Slow (a Python loop); used only on the few blocks where a rounding can matter."""
    x, w = x_in.tolist(), w_in.tolist()
    n = len(x)
    r = [0] * (n + 1)
    r[1] = 1
    b, xb_prev, wb_prev = 0, x[0], w[0]
    i = 1
    while i < n:
        b += 1
        xb, wb = x[i], w[i]
        if xb_prev >= xb:
            b -= 1
            sb = wb_prev * xb_prev + wb * xb
            wb += wb_prev
            xb = sb / wb
            while i < n - 1 and xb >= x[i + 1]:
                i += 1
                sb += w[i] * x[i]
                wb += w[i]
                xb = sb / wb
            while b > 0 and x[b - 1] >= xb:
                b -= 1
                sb += w[b] * x[b]
                wb += w[b]
                xb = sb / wb
        x[b] = xb_prev = xb
        w[b] = wb_prev = wb
        r[b + 1] = i + 1
        i += 1
    return np.repeat(np.array(x[: b + 1]), np.diff(np.array(r[: b + 2])))


def _trim(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop interior points of flat steps (interpolation is unchanged; prediction is faster)."""
    if len(y) <= 2:
        return x, y
    keep = np.ones(len(y), dtype=bool)
    keep[1:-1] = (y[1:-1] != y[:-2]) | (y[1:-1] != y[2:])
    return x[keep], y[keep]
