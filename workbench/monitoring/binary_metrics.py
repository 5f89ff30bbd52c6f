"""The binary classification metrics CBPE estimates, each as NannyML 0.13.1 computes it.

Per metric: sampling-error components fitted on the reference, the estimate from
calibrated probabilities, the sampling error for a chunk size, and the realized value on
labelled rows. Chunk-level sums are computed once for all metrics over all chunks
(``ChunkSums``, from sorts of each chunk's score values in groups; no argsort).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np
import polars as pl

__all__ = [
    "METRICS",
    "BinaryMetric",
    "ChunkSums",
    "Labelled",
    "SortedRuns",
    "chunk_sums",
]

Note = str | None

# Below this many rows, threads cost more than they save.
_THREADED_ROWS = 100_000


@dataclass(frozen=True)
class Labelled:
    """Reference rows in their original order: labels, predicted labels, scores."""

    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray
    #: ``proba`` ascending and ``y_true`` in that order (ties in any order; any numeric
    #: type for 0/1)
    sorted_proba: np.ndarray
    sorted_true: np.ndarray

    @cached_property
    def confusion(self) -> tuple[float, float, float, float]:
        """True and false positives, false and true negatives (exact counts), counted
        once for the four count metrics."""
        truth, said = self.y_true == 1, self.y_pred == 1
        tp = int(np.count_nonzero(truth & said))
        labelled_positive = int(np.count_nonzero(truth))
        predicted_positive = int(np.count_nonzero(said))
        fp, fn = predicted_positive - tp, labelled_positive - tp
        return float(tp), float(fp), float(fn), float(len(truth) - tp - fp - fn)


#: per chunk, per label group (1, 0, missing; or all rows without labels), the scores of
#: rows predicted positive and of the others, each ascending
SortedRuns = list[list[list[np.ndarray]]]


@dataclass
class ChunkSums:
    """Rows of one data set in chunk order, with per-chunk sums shared by all metrics.

    Nothing here needs the rows' score order, only each chunk's calibrated probabilities
    in ascending order (ROC AUC), which calibrating the sorted ``runs`` gives. Without
    ``calibrate`` only the realized values can be read (the estimates need it).
    """

    proba: np.ndarray
    y_pred: np.ndarray
    #: 0/1 with NaN where the label is missing; None when the data has no label column
    y_true: np.ndarray | None
    starts: np.ndarray
    stops: np.ndarray
    runs: SortedRuns
    calibrate: Callable[[np.ndarray], np.ndarray] | None = None

    @cached_property
    def _calibrated(self) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """Calibration is monotone (isotonic or none), so calibrating sorted scores gives
        the calibrated values in ascending order: exactly the sequence NannyML reads in
        score order; a stable sort of the groups' ascending runs merges them."""
        if self.calibrate is None:
            raise RuntimeError("estimates need the calibration; these sums have none")
        count = len(self.starts)
        tp, positive = np.zeros(count), np.zeros(count)
        ordered: list[np.ndarray] = []
        for i, chunk in enumerate(self.runs):
            calibrated = [[self.calibrate(run) for run in pair] for pair in chunk]
            tp[i] = sum(float(high.sum()) for high, _ in calibrated)
            positive[i] = tp[i] + sum(float(low.sum()) for _, low in calibrated)
            parts = [run for pair in calibrated for run in pair if len(run)]
            merged = np.concatenate(parts) if parts else np.zeros(0)
            if len(parts) > 1 and np.any(merged[1:] < merged[:-1]):
                merged.sort(kind="stable")  # ascending runs: a merge
            ordered.append(merged)
        return tp, positive, ordered

    @property
    def expected_tp(self) -> np.ndarray:
        """Per chunk, the sum of calibrated probabilities over its rows predicted positive."""
        return self._calibrated[0]

    @property
    def expected_positive(self) -> np.ndarray:
        """Per chunk, the sum of calibrated probabilities over all its rows."""
        return self._calibrated[1]

    @property
    def sorted_calibrated(self) -> list[np.ndarray]:
        """Per chunk, its calibrated probabilities in ascending order."""
        return self._calibrated[2]

    @property
    def class_scores(self) -> list[tuple[list[np.ndarray], list[np.ndarray]]] | None:
        """Per chunk, the scores of rows labelled 1 and of rows labelled 0, each as
        ascending runs (None without labels)."""
        if self.y_true is None:
            return None
        return [(chunk[0], chunk[1]) for chunk in self.runs]

    def _sum(self, values: np.ndarray) -> np.ndarray:
        if values.dtype == np.bool_:
            values = values.astype(np.float64)  # add.reduceat on booleans is a logical or
        return np.add.reduceat(values, self.starts) if len(self.starts) else np.zeros(0)

    @cached_property
    def rows(self) -> np.ndarray:
        return (self.stops - self.starts).astype(np.float64)

    @cached_property
    def estimated(self) -> dict[str, np.ndarray]:
        """Expected confusion counts from calibrated probabilities (NannyML's estimators).

        Three sums instead of NannyML's four masked ones: the other counts follow by
        subtraction, equal to its sums up to rounding (~1e-16 of the chunk size).
        """
        tp = self.expected_tp
        expected_positive = self.expected_positive
        predicted_positive = self._sum(self.y_pred)
        return {
            "tp": tp,
            "fp": predicted_positive - tp,
            "fn": expected_positive - tp,
            "tn": self.rows - predicted_positive - (expected_positive - tp),
            "n": self.rows,
        }

    @cached_property
    def realized(self) -> dict[str, np.ndarray]:
        """Confusion counts on labelled rows (all zero when there are no labels)."""
        if self.y_true is None:
            zero = np.zeros(len(self.starts))
            return {k: zero for k in ("tp", "fp", "fn", "tn", "n", "true_pos", "pred_pos")}
        known = ~np.isnan(self.y_true)
        truth = known & (self.y_true == 1)
        said = self.y_pred == 1
        return {
            "tp": self._sum(truth & said),
            "fp": self._sum(known & ~truth & said),
            "fn": self._sum(truth & ~said),
            "tn": self._sum(known & ~truth & ~said),
            "n": self._sum(known),
            "true_pos": self._sum(truth),
            "pred_pos": self._sum(known & said),
        }

    def label_note(self, i: int) -> Note:
        """Why chunk ``i`` has no realized value at all, or None."""
        if self.y_true is None:
            return "no label column"
        if self.realized["n"][i] == 0:
            return "no labels in this chunk"
        return None

    def two_class_note(self, i: int, *, predictions: bool) -> Note:
        """NannyML leaves F1, precision and recall (and ROC AUC for labels) unrealized when
        the labelled rows hold one class of labels or, for the first three, of predictions."""
        note = self.label_note(i)
        if note:
            return note
        r = self.realized
        if r["true_pos"][i] in (0, r["n"][i]):
            return "the labels in this chunk hold one class"
        if predictions and r["pred_pos"][i] in (0, r["n"][i]):
            return "the predictions on labelled rows hold one class"
        return None


def _sorted_runs(
    proba: np.ndarray,
    y_pred: np.ndarray,
    y_true: np.ndarray | None,
    starts: np.ndarray,
    stops: np.ndarray,
    *,
    threads: bool = True,
) -> SortedRuns:
    """Each chunk's scores sorted in groups (predicted positive or not, times label 1, 0
    or missing): the part of ``chunk_sums`` that needs no calibration, so that a caller may
    sort while the calibration is being decided. With ``threads``, chunks are sorted on
    two threads (the masks and Polars' sorts let go of the GIL): ~10% less time at 1M
    rows; a caller whose other threads keep both cores busy passes False."""

    def chunk(bounds: tuple[int, int]) -> list[list[np.ndarray]]:
        a, b = bounds
        scores, said = proba[a:b], y_pred[a:b] == 1
        if y_true is None:
            return [_group_sorted(scores, (~said).view(np.uint8), 2)]
        truth = y_true[a:b]
        is_one, is_zero = truth == 1, truth == 0
        if bool((is_one | is_zero).all()):  # no missing label: four groups, one sort
            high, low, high_zero, low_zero = _group_sorted(
                scores, (~said).view(np.uint8) | (is_zero.view(np.uint8) << 1), 4
            )
            return [[high, low], [high_zero, low_zero], [_EMPTY, _EMPTY]]
        by_label = [is_one, is_zero, ~(is_one | is_zero)]
        return [
            [_sorted(scores[said & label]), _sorted(scores[~said & label])] for label in by_label
        ]

    bounds = list(zip(starts.tolist(), stops.tolist(), strict=True))
    if not threads or len(proba) < _THREADED_ROWS or len(bounds) < 2:
        return [chunk(b) for b in bounds]
    with ThreadPoolExecutor(2, thread_name_prefix="chunk-sort") as pool:
        return list(pool.map(chunk, bounds))


def chunk_sums(
    proba: np.ndarray,
    y_pred: np.ndarray,
    y_true: np.ndarray | None,
    starts: np.ndarray,
    stops: np.ndarray,
    calibrate: Callable[[np.ndarray], np.ndarray] | None,
    runs: SortedRuns | None = None,
    *,
    threads: bool = True,
) -> ChunkSums:
    """The per-chunk sums of these rows, from sorts of each chunk's score values in groups
    (no argsort, no gather); ``runs``, when given, are ``_sorted_runs`` of the same
    arguments. Each chunk's rows are sorted in groups (predicted positive or not, times
    label 1, 0 or missing: smaller sorts cost less than one of all), which give the sums
    and the classes' scores apart."""
    if runs is None:
        runs = _sorted_runs(proba, y_pred, y_true, starts, stops, threads=threads)
    return ChunkSums(proba, y_pred, y_true, starts, stops, runs, calibrate)


def _sorted(values: np.ndarray) -> np.ndarray:
    """``np.sort(values)`` for float scores (read-only). Polars sorts floats on one thread
    in a fifth of NumPy's time here (9 ms against 45 ms for 850k scores); ascending floats
    are the same array whichever sort made them (NaN, which probabilities exclude, last in
    both)."""
    if values.dtype != np.float64:
        return np.sort(values)
    return pl.Series(values, dtype=pl.Float64).sort(multithreaded=False).to_numpy()


_EMPTY = np.zeros(0)
_EMPTY.flags.writeable = False
# Probabilities lie in [0, 1]: their float64 bits stay below 2**62, leaving two bits free.
_GROUP_SHIFT = np.uint64(62)
_SCORE_BITS = np.uint64((1 << 62) - 1)


def _group_sorted(scores: np.ndarray, group: np.ndarray, count: int) -> list[np.ndarray]:
    """``scores`` (probabilities) of each ``group`` (0 to ``count - 1``, at most 4), each
    ascending, from one sort: non-negative floats order as their bits do, so the group
    written into the two top bits sorts the groups apart (~40% less time than masking
    and sorting each group, for 100k rows). ``+ 0.0`` turns -0.0 into 0.0."""
    keys = (scores + 0.0).view(np.uint64)
    keys |= group.astype(np.uint64) << _GROUP_SHIFT
    keys = pl.Series(keys, dtype=pl.UInt64).sort(multithreaded=False).to_numpy()
    edges = np.searchsorted(keys, np.arange(1, count, dtype=np.uint64) << _GROUP_SHIFT)
    return np.split((keys & _SCORE_BITS).view(np.float64), edges)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, 0 where ``den`` is 0 (NannyML's estimated precision, recall, F1)."""
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den != 0)
    return out


class BinaryMetric(ABC):
    """One estimated metric: reference components, estimate, sampling error, realized value."""

    name: ClassVar[str]
    limits: ClassVar[tuple[float, float]] = (0.0, 1.0)

    @abstractmethod
    def components(self, ref: Labelled) -> tuple[float, float]:
        """Sampling-error components from the reference: (std, fraction of relevant rows)."""

    def sampling_error(self, components: tuple[float, float], rows: np.ndarray) -> np.ndarray:
        """``std / sqrt(rows * fraction)``: NannyML's standard error for a chunk of ``rows``."""
        std, fraction = components
        with np.errstate(divide="ignore", invalid="ignore"):
            return std / np.sqrt(rows * fraction)

    @abstractmethod
    def estimate(self, sums: ChunkSums) -> tuple[np.ndarray, list[Note]]:
        """Estimated value per chunk, with a note where it cannot be computed."""

    @abstractmethod
    def realize(self, sums: ChunkSums) -> tuple[list[float | None], list[Note]]:
        """Realized value per chunk on labelled rows, with a note where there is none."""


def _counts_std(ones: float, zeros: float, scale: float = 1.0) -> float:
    """``np.std`` of ``ones`` values ``scale`` and ``zeros`` values 0 (NaN for none)."""
    n = ones + zeros
    if n == 0:
        return float("nan")
    q = ones / n
    return float(scale * np.sqrt(q * (1 - q)))


class RocAuc(BinaryMetric):
    """ROC AUC: estimated from the curve of expected positives along the scores, sampling
    error from the Mann-Whitney view of AUC (NannyML's ``auroc_sampling_error_components``)."""

    name = "roc_auc"

    def components(self, ref: Labelled) -> tuple[float, float]:
        """NannyML's per-positive rank counts, including its quirk of dropping the positive
        at rank 0 (it shares the value 0 with the negatives before ``np.unique``)."""
        if np.mean(ref.y_true) > 0.5:  # NannyML works on the rarer class
            # Descending scores flipped ascend, unless flipping ties them (or they tie).
            if _strictly_increasing((1 - ref.sorted_proba)[::-1]):
                y = 1 - ref.sorted_true[::-1]
            else:
                y = 1 - ref.y_true[np.argsort(1 - ref.proba)]
        elif _strictly_increasing(ref.sorted_proba):
            y = ref.sorted_true
        else:  # ties: NannyML's (unstable) order decides the ranks
            y = ref.y_true[np.argsort(ref.proba)]
        ranks = np.flatnonzero(y == 1)
        n_pos = len(ranks)  # the labels are 0/1
        n_neg = len(y) - n_pos
        ranks = ranks[1:] if n_pos and ranks[0] == 0 else ranks  # ascending: 0 comes first
        ser = np.subtract(ranks, np.arange(len(ranks)), out=ranks)  # in place: no copy
        return float(np.std(np.true_divide(ser, n_neg))), float(n_pos / len(y))

    def estimate(self, sums: ChunkSums) -> tuple[np.ndarray, list[Note]]:
        """Per chunk, the ROC curve of expected true and false positives (NannyML's
        ``estimate_roc_auc``, including its rounding of the counts to 5 decimals)."""
        values = np.full(len(sums.starts), np.nan)
        notes: list[Note] = []
        for i, ascending in enumerate(sums.sorted_calibrated):
            values[i], note = _estimated_roc_auc(ascending)
            notes.append(note)
        return values, notes

    def realize(self, sums: ChunkSums) -> tuple[list[float | None], list[Note]]:
        """``roc_auc_score`` of the labels against the uncalibrated scores."""
        values: list[float | None] = []
        notes: list[Note] = []
        for i in range(len(sums.starts)):
            note = sums.two_class_note(i, predictions=False)
            if note is None:
                assert sums.class_scores is not None
                values.append(_mann_whitney_auc(*sums.class_scores[i]))
            else:
                values.append(None)
            notes.append(note)
        return values, notes


def _strictly_increasing(values: np.ndarray) -> bool:
    return bool(np.all(values[1:] > values[:-1]))


def _mann_whitney_auc(positives: list[np.ndarray], negatives: list[np.ndarray]) -> float:
    """ROC AUC from the positives' and negatives' scores, each given as ascending runs: the
    share of (positive, negative) pairs in order, ties counting half (their second search
    only when a positive equals a negative). The count is exact
    (integers and halves), so this equals the rank formula of ``roc_auc`` and
    scikit-learn's ``roc_auc_score`` to rounding."""
    neg = np.concatenate(negatives)
    if len(negatives) > 1:
        neg.sort(kind="stable")  # ascending runs: a merge
    pairs = 0
    for pos in positives:
        below = np.searchsorted(neg, pos, "left")
        pairs += 2 * int(below.sum())
        inside = below < len(neg)
        if np.any(neg[below[inside]] == pos[inside]):  # ties: each counts half
            pairs += int((np.searchsorted(neg, pos, "right") - below).sum())
    n_pos = sum(len(p) for p in positives)
    return pairs / (2 * n_pos * len(neg))


def _estimated_roc_auc(ascending: np.ndarray) -> tuple[float, Note]:
    """NannyML's ``estimate_roc_auc`` given the chunk's calibrated probabilities in ascending
    order (its order is descending by score; calibration is monotone, and tied scores have
    equal calibrated values, so the sequence is the same)."""
    ordered = ascending[::-1]
    cum_tps = np.cumsum(ordered)
    cum_fps = 1 + np.arange(len(ordered)) - cum_tps
    tps = np.asarray(np.round(np.r_[0, cum_tps], 5))
    fps = np.asarray(np.round(np.r_[0, cum_fps], 5))
    if tps[-1] == 0:
        return float("nan"), "the calibrated probabilities in this chunk are all 0"
    if fps[-1] == 0:
        return float("nan"), "the calibrated probabilities in this chunk are all 1"
    return float(np.trapezoid(tps / tps[-1], fps / fps[-1])), None


class _CountMetric(BinaryMetric):
    """A metric made of confusion counts: expected ones estimate it, real ones realize it."""

    #: NannyML leaves the realized value NaN when labelled predictions hold one class
    needs_two_predicted: ClassVar[bool] = True

    @abstractmethod
    def _value(self, c: dict[str, np.ndarray]) -> np.ndarray:
        """The metric from confusion counts (arrays over chunks)."""

    def estimate(self, sums: ChunkSums) -> tuple[np.ndarray, list[Note]]:
        """From expected confusion counts."""
        return self._value(sums.estimated), [None] * len(sums.starts)

    def realize(self, sums: ChunkSums) -> tuple[list[float | None], list[Note]]:
        """From confusion counts on labelled rows."""
        values = self._value(sums.realized)
        out: list[float | None] = []
        notes: list[Note] = []
        for i in range(len(sums.starts)):
            if self.needs_two_predicted:
                note = sums.two_class_note(i, predictions=True)
            else:
                note = sums.label_note(i)
            out.append(None if note else float(values[i]))
            notes.append(note)
        return out, notes


class Accuracy(_CountMetric):
    """Accuracy."""

    name = "accuracy"
    needs_two_predicted = False

    def components(self, ref: Labelled) -> tuple[float, float]:
        """Standard deviation of "the prediction was right"; every row is relevant."""
        tp, fp, fn, tn = ref.confusion
        return _counts_std(tp + tn, fp + fn), 1.0

    def _value(self, c: dict[str, np.ndarray]) -> np.ndarray:
        return _ratio(c["tp"] + c["tn"], c["n"])


class Precision(_CountMetric):
    """Precision."""

    name = "precision"

    def components(self, ref: Labelled) -> tuple[float, float]:
        """Over rows predicted positive: standard deviation of "right"; their share."""
        tp, fp, _, _ = ref.confusion
        return _counts_std(tp, fp), float(np.sum(ref.y_pred) / len(ref.y_pred))

    def _value(self, c: dict[str, np.ndarray]) -> np.ndarray:
        return _ratio(c["tp"], c["tp"] + c["fp"])


class Recall(_CountMetric):
    """Recall."""

    name = "recall"

    def components(self, ref: Labelled) -> tuple[float, float]:
        """Over rows labelled positive: standard deviation of "found"; their share."""
        tp, _, fn, _ = ref.confusion
        return _counts_std(tp, fn), float(np.sum(ref.y_true) / len(ref.y_pred))

    def _value(self, c: dict[str, np.ndarray]) -> np.ndarray:
        return _ratio(c["tp"], c["tp"] + c["fn"])


class F1(_CountMetric):
    """F1."""

    name = "f1"

    def components(self, ref: Labelled) -> tuple[float, float]:
        """NannyML's observation-level F1: true positives weighted by a correcting factor,
        false positives and negatives as zeros."""
        tp, fp, fn, _ = ref.confusion
        relevant = tp + fp + fn
        if relevant == 0:
            return float("nan"), 0.0
        factor = relevant / ((fn + fp) * 0.5 + tp)
        return _counts_std(tp, fp + fn, factor), relevant / len(ref.y_pred)

    def _value(self, c: dict[str, np.ndarray]) -> np.ndarray:
        return _ratio(c["tp"], c["tp"] + 0.5 * (c["fp"] + c["fn"]))


METRICS: dict[str, BinaryMetric] = {
    m.name: m for m in (RocAuc(), Accuracy(), F1(), Precision(), Recall())
}
