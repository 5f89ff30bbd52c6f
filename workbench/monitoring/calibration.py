"""Whether CBPE calibrates the model's scores, and the isotonic calibration it then applies.

NannyML 0.13.1's rule (``nannyml/calibration.py: needs_calibration``), reproduced exactly so
that the same reference gives the same decision:

1. A reference holding one class, or whose ROC AUC is above 0.999, is not calibrated.
2. Otherwise scikit-learn's ``StratifiedShuffleSplit(n_splits=10, test_size=0.1,
   random_state=42)`` makes ten train/test splits; an isotonic regression fitted on each
   train part calibrates its test part.
3. The expected calibration error (ECE: ten equal-count bins of the scores sorted
   ascending) of the ten test parts together is compared before and after calibration;
   the scores are calibrated when it falls.

The splits are rebuilt here in NumPy with the same legacy ``RandomState`` calls in the same
order (stratified counts, per-class permutations, then the train and test permutations),
so they are the same rows in the same order. The order matters only for a close call:
ECE's bins cut through runs of equal calibrated scores, and NannyML's unstable sort decides
which labels of a run fall on each side. So the error after calibration is first measured
with each such run's positives shared out (no sort of the rows), and NannyML's order is
rebuilt only when before and after are within what the runs at the bin edges could move.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from ..errors import InputError
from ..experiments.metrics import roc_auc
from .calibration_splits import CalibrationSplits
from .isotonic import RESOLUTION as _RESOLUTION
from .isotonic import IsotonicBlocks, IsotonicFit, fit_binary_distinct, isotonic_blocks

__all__ = [
    "Ascending",
    "Calibration",
    "CalibrationSplits",
    "decide_calibration",
    "reference_fit",
]

_ECE_BINS = 10
_AUC_NO_CALIBRATION = 0.999
# Calibrated scores closer than this may sort either way between our fits and NannyML's
# (theirs carry SciPy's rounding, ~1e-16); farther apart they sort alike.
_TIE = 1e-13


@dataclass(frozen=True)
class Calibration:
    """The calibration decision for a reference and, when applied, the fitted step function."""

    applied: bool
    reason: str
    ece_before: float | None = None
    ece_after: float | None = None
    fit: IsotonicFit | None = None

    def apply(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for ``scores`` (the scores themselves when not applied)."""
        if self.fit is None:
            return np.asarray(scores, dtype=np.float64)
        return self.fit.predict(scores)


@dataclass(frozen=True)
class Ascending:
    """A labelled reference (scores in [0, 1]) in ascending score order: ``order`` an
    ascending argsort of the scores (ties in any order), the scores and the 0/1 labels in
    that order (as int8: an eighth of the bytes to sort and gather; their sums and means
    are exact alike)."""

    order: np.ndarray
    scores: np.ndarray
    ones: np.ndarray

    @classmethod
    def sort(cls, y_true: np.ndarray, scores: np.ndarray) -> Ascending:
        """The reference sorted by score (ties in any order), from one sort.

        Non-negative floats order as their bits do, and one single-threaded Polars sort of
        the bits carrying the row numbers and labels costs about 40% less CPU than Polars'
        (two threads) argsort and NumPy's gathers of the scores and labels by it (1M rows:
        ~50 ms against ~80 ms; NumPy's own argsort of floats alone takes ~80 ms). ``+ 0.0``
        turns a -0.0 into 0.0, whose bits would otherwise sort last.
        """
        frame = pl.DataFrame(
            {
                "bits": pl.Series((scores + 0.0).view(np.uint64), dtype=pl.UInt64),
                "label": pl.Series(y_true.astype(np.int8), dtype=pl.Int8),
            }
        ).with_row_index("row")
        frame = frame.sort("bits", multithreaded=False)
        return cls(
            frame["row"].to_numpy().astype(np.intp),
            frame["bits"].to_numpy().view(np.float64),
            frame["label"].to_numpy(),
        )

    @cached_property
    def _gaps(self) -> tuple[bool, bool]:
        gaps = np.diff(self.scores)
        apart = bool(np.all(gaps >= _RESOLUTION))
        return apart, apart or bool(np.all(gaps > 0))

    @property
    def apart(self) -> bool:
        """Scores at least the resolution apart: they stay so in any subset (nothing to
        pool in any fit)."""
        return self._gaps[0]

    @property
    def distinct(self) -> bool:
        """No two scores equal."""
        return self._gaps[1]

    @cached_property
    def labels(self) -> np.ndarray:
        """The labels as float64 (the general isotonic fit's targets)."""
        return self.ones.astype(np.float64)


def reference_fit(ascending: Ascending) -> IsotonicFit:
    """The isotonic calibration fitted on every reference row: what the scores take when
    the decision is to calibrate."""
    if ascending.apart:
        return fit_binary_distinct(ascending.scores, ascending.ones)
    return isotonic_blocks(ascending.scores, ascending.labels, binary=True).fit()


def decide_calibration(
    y_true: np.ndarray,
    scores: np.ndarray,
    splits: CalibrationSplits | None = None,
    *,
    ascending: Ascending | None = None,
    fit: IsotonicFit | None = None,
) -> Calibration:
    """NannyML's decision on a reference (labels 0/1, scores in reference row order).

    ``splits``, when the caller started them earlier, are ``CalibrationSplits(y_true)``;
    ``ascending``, when the caller has it, is ``Ascending.sort(y_true, scores)`` (every fit
    reuses it), and ``fit`` its ``reference_fit`` (made here when the decision is to
    calibrate).
    """
    if splits is None:
        with CalibrationSplits(y_true) as own:
            return decide_calibration(y_true, scores, own, ascending=ascending, fit=fit)
    if y_true.min() == y_true.max():
        return Calibration(False, "the reference labels hold one class")
    # Every split's train part is the rest of the rows (scikit-learn's sizes add up to n),
    # so it is read off the reference sorted once by score, keeping that order; so is the
    # test part, in score order (which is all the error measure needs, see below).
    asc = ascending if ascending is not None else Ascending.sort(y_true, scores)
    order = asc.order
    n = len(order)
    if asc.distinct:
        auc = _distinct_auc(asc.ones)
    else:
        auc = roc_auc(y_true, scores, order)
    if auc > _AUC_NO_CALIBRATION:
        return Calibration(False, f"reference ROC AUC {auc:.4f} is above {_AUC_NO_CALIBRATION}")
    # Places fit int32 (half the bytes of int64 to scatter and gather).
    rank = np.empty(n, dtype=np.int32 if n < 2**31 else np.int64)
    rank[order] = np.arange(n, dtype=rank.dtype)
    reference = _Reference(asc, rank)

    def error_before(tests: list[np.ndarray], draws: np.ndarray) -> float:
        if asc.distinct:
            # No two rows share a score, so the only ties are a row drawn in several
            # splits (same score, same label): counting each row's draws sorts without a
            # sort.
            drawn = np.repeat(np.arange(n), draws)
            return _sorted_ece(asc.ones[drawn], asc.scores[drawn])
        test_rows = np.concatenate(tests)
        return _expected_calibration_error(y_true[test_rows], scores[test_rows])

    folds, before = _fit_folds(reference, splits, error_before)
    # After calibration, tied scores are common (a step holds one value), and which labels
    # of a tie fall on each side of a bin edge depends on the order of NannyML's unstable
    # sort. Any order gives an error within ``_tie_margin`` of NannyML's, so when before
    # and after are farther apart than that the decision is NannyML's without its sort:
    # one sort of the values, one of the positives' values, each tie's positives shared out.
    # Each fold's held-out scores and positives are ascending: merging sorts suffice.
    calibrated_up = np.sort(np.concatenate([f.scores for f in folds]), kind="stable")
    positives = np.sort(np.concatenate([f.positives for f in folds]), kind="stable")
    after = _ece_ties_shared(calibrated_up, positives)
    if abs(before - after) <= _tie_margin(calibrated_up):
        # Too close: NannyML's order, made by the same sort of the same row order.
        test_rows = np.concatenate([f.test for f in folds])
        y_test = y_true[test_rows]
        held_out = _HeldOut(asc.scores, rank)
        blocks = [reference.blocks(f.held) for f in folds]
        calibrated = np.concatenate(
            [held_out.predict(b.fit(), f.test) for b, f in zip(blocks, folds, strict=True)]
        )
        by_score = calibrated.argsort()  # NannyML's sort: the same call breaks ties alike
        after = _sorted_ece(y_test[by_score], calibrated[by_score])
        if abs(before - after) <= _tie_margin(calibrated[by_score]):
            # Still too close to call with exact block means. NannyML's fits carry SciPy's
            # rounding, and its unstable sort orders tied scores by every comparison in the
            # array, so replay SciPy's arithmetic on every block (slow: a Python loop).
            calibrated = np.concatenate(
                [
                    held_out.predict(_scipy_fit(b), f.test)
                    for b, f in zip(blocks, folds, strict=True)
                ]
            )
            after = _expected_calibration_error(y_test, calibrated)
    if before > after:
        reason = f"isotonic calibration lowers the ECE from {before:.4f} to {after:.4f}"
        whole = fit if fit is not None else reference_fit(asc)
        return Calibration(True, reason, before, after, whole)
    reason = f"isotonic calibration does not lower the ECE ({before:.4f} -> {after:.4f})"
    return Calibration(False, reason, before, after)


def _distinct_auc(sorted_labels: np.ndarray) -> float:
    """``roc_auc`` of 0/1 labels sorted by scores without ties: ranks are places + 1, and
    the rank sum is an exact integer (the same value to the bit)."""
    positives = np.flatnonzero(sorted_labels == 1)
    n_pos = len(positives)
    n_neg = len(sorted_labels) - n_pos
    rank_sum = float(positives.sum() + n_pos)
    return float((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _scipy_fit(blocks: IsotonicBlocks) -> IsotonicFit:
    """The fit with SciPy's rounding on every block."""
    return blocks.fit(blocks.scipy_values(np.arange(len(blocks.values))))


@dataclass(frozen=True)
class _Reference:
    """The reference in ascending score order, and each row's place in that order."""

    ascending: Ascending
    rank: np.ndarray

    def train(self, held: np.ndarray) -> np.ndarray:
        """Which places are not ``held``: a split's train part."""
        train = np.ones(len(self.rank), dtype=bool)
        train[held] = False
        return train

    def blocks(self, held: np.ndarray) -> IsotonicBlocks:
        """The isotonic blocks fitted on every row but the places ``held``."""
        train = self.train(held)
        asc = self.ascending
        return isotonic_blocks(
            asc.scores[train], asc.labels[train], distinct=asc.apart, binary=True
        )


@dataclass(frozen=True)
class _Fold:
    """One split: its test rows (scikit-learn's order), their places in score order, and
    the test part calibrated by a fit on the rest, ascending (all rows and the positives)."""

    test: np.ndarray
    held: np.ndarray
    scores: np.ndarray
    positives: np.ndarray


def _fit_fold(ref: _Reference, test: np.ndarray, held: np.ndarray) -> _Fold:
    train = ref.train(held)
    out = np.flatnonzero(~train)  # the held places, ascending
    asc = ref.ascending
    if asc.apart:
        fit = fit_binary_distinct(asc.scores, asc.ones[train], out)
    else:
        fit = isotonic_blocks(
            asc.scores[train], asc.labels[train], distinct=False, binary=True
        ).fit()
    calibrated = fit.predict(asc.scores[out])  # ascending
    return _Fold(test, held, calibrated, calibrated[asc.ones[out] == 1])


def _fit_folds(
    ref: _Reference,
    splits: Iterable[np.ndarray],
    error_before: Callable[[list[np.ndarray], np.ndarray], float],
) -> tuple[list[_Fold], float]:
    """The ten folds, each fitted as soon as its split is drawn (NumPy's masks, sorts and
    ufuncs release the GIL), and ``error_before(tests, draws)`` (each place's count of
    draws), made here while the last folds are fitted.

    While the splits are being drawn, one thread fits folds (two were measured ~30 ms
    slower at 1M rows: the drawing loses its core); once all are drawn, the folds not yet
    started are shared with a second thread.
    """
    tests: list[np.ndarray] = []
    helds: list[np.ndarray] = []
    draws = np.zeros(len(ref.rank), dtype=np.int32)
    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="calibration-fold") as first,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="calibration-fold") as second,
    ):
        futures = []
        for test in splits:
            held = ref.rank[test]
            draws[held] += 1  # a split's test rows are distinct
            tests.append(test)
            helds.append(held)
            futures.append(first.submit(_fit_fold, ref, test, held))
        waiting = [i for i, future in enumerate(futures) if future.cancel()]
        for k, i in enumerate(waiting):
            pool = second if k % 2 == 0 else first
            futures[i] = pool.submit(_fit_fold, ref, tests[i], helds[i])
        before = error_before(tests, draws)
        return [future.result() for future in futures], before


@dataclass(frozen=True)
class _HeldOut:
    """Predicts a split's test rows in score order, where interpolation is fastest."""

    sorted_scores: np.ndarray
    rank: np.ndarray

    def predict(self, fit: IsotonicFit, test: np.ndarray) -> np.ndarray:
        """The calibrated scores of the rows ``test``, in that order."""
        held = self.rank[test]
        by_score = np.argsort(held)
        out = np.empty(len(test))
        out[by_score] = fit.predict(self.sorted_scores[held[by_score]])
        return out


def _bin_edges(n: int) -> np.ndarray:
    """NannyML's ECE bins: ten equal-count bins (fewer below 21 rows), the last one longer."""
    bins = _ECE_BINS
    if n <= 2 * bins:
        bins = n // 2
        if bins < 2:
            raise InputError(f"{n} test rows are too few to judge calibration")
    edges = np.asarray(range(0, n + 1, n // bins))
    edges[-1] = n
    return edges


def _sorted_ece(y_true: np.ndarray, proba: np.ndarray) -> float:
    """ECE of rows already in ascending score order."""
    n = len(proba)
    edges = _bin_edges(n)
    terms = []
    for left, right in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        weight = (right - left) / n
        terms.append(weight * abs(np.mean(proba[left:right]) - np.mean(y_true[left:right])))
    return float(np.sum(terms))  # NumPy's pairwise sum, as NannyML: the last bits decide ties


def _ece_ties_shared(ascending: np.ndarray, positives: np.ndarray) -> float:
    """ECE of rows whose scores are ``ascending`` and whose positives' scores are
    ``positives`` (ascending), a tie cut by a bin edge giving each side its share of the
    tie's positives (the mean over all orders of the tie).

    A bin's mean score reads the sorted values (ties are equal values: any order sums
    alike); its mean label counts the positives below its edges' scores plus those shares.
    """
    n = len(ascending)
    edges = _bin_edges(n)
    inner = edges[1:-1]
    at_edge = ascending[inner - 1]
    first_at = np.searchsorted(ascending, at_edge, "left")
    tied = np.searchsorted(ascending, at_edge, "right") - first_at
    pos_below = np.searchsorted(positives, at_edge, "left")
    pos_at = np.searchsorted(positives, at_edge, "right") - pos_below
    cut = pos_below + pos_at * ((inner - first_at) / tied)
    prefix = np.concatenate(([0.0], cut, [float(len(positives))]))
    terms = []
    for k, (left, right) in enumerate(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True)):
        weight = (right - left) / n
        share = float(prefix[k + 1] - prefix[k]) / (right - left)
        terms.append(weight * abs(np.mean(ascending[left:right]) - share))
    return float(np.sum(terms))


def _expected_calibration_error(y_true: np.ndarray, proba: np.ndarray) -> float:
    """ECE over equal-count bins of the scores sorted ascending (NannyML's binning).

    NannyML sorts with NumPy's default (unstable) sort, and where distinct rows tie, that
    sort decides which labels fall on each side of a bin edge: so we make the same call.
    """
    order = proba.argsort()
    return _sorted_ece(y_true[order], proba[order])


def _tie_margin(values: np.ndarray) -> float:
    """How far the ECE of sorted calibrated scores ``values`` could move if scores within
    ``_TIE`` of each other sorted in another order (as they may in NannyML's run).

    A bin's term moves by at most (its rows in near-ties reaching past its edges) / n; only
    the near-ties at the bin edges matter, found by a few binary searches each.
    """
    n = len(values)
    edges = _bin_edges(n).tolist()
    movable = 0
    for left, right in zip(edges[:-1], edges[1:], strict=True):
        reach = 0
        if left > 0 and values[left] - values[left - 1] <= _TIE:
            reach += min(_run_end(values, left), right) - left
        if right < n and values[right] - values[right - 1] <= _TIE:
            reach += right - max(_run_start(values, right - 1), left)
        movable += min(reach, right - left)
    return movable / n + 1e-12


def _run_start(values: np.ndarray, i: int) -> int:
    """First index of the near-tie run (gaps at most ``_TIE``) holding index ``i``."""
    while True:
        start = int(np.searchsorted(values, values[i] - _TIE, "left"))
        if start == i:
            return i
        i = start


def _run_end(values: np.ndarray, i: int) -> int:
    """One past the last index of the near-tie run holding index ``i``."""
    while True:
        end = int(np.searchsorted(values, values[i] + _TIE, "right"))
        if end == i + 1:
            return end
        i = end - 1
