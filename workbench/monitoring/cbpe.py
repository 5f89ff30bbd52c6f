"""Confidence-based performance estimation (CBPE) for binary classifiers, equal to NannyML
0.13.1's ``CBPE`` on the same chunks (see docs/architecture.md, "Monitoring estimators").

``CBPE(...)`` is the configuration; ``fit(reference)`` returns a ``FittedCBPE`` holding what
the reference taught (calibration, sampling-error components, thresholds, the reference's
own chunk estimates); ``FittedCBPE.estimate(data)`` estimates each chunk of new data and
``to_bytes()``/``from_bytes()`` store the fitted estimator for reuse across windows.

How the estimate works: the model's scores are calibrated on the reference (isotonic
regression, when it lowers the calibration error, NannyML's rule); calibrated probabilities
are then expected labels, so expected confusion counts, and from them every metric, follow
without labels. It holds while the relation between features and labels does not change
(covariate shift, not concept shift).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, cast

import numpy as np
import polars as pl

from ..errors import InputError
from . import serialization
from .binary_metrics import (
    METRICS,
    BinaryMetric,
    ChunkSums,
    Labelled,
    chunk_sums,
)
from .calibration import Ascending, Calibration, decide_calibration, reference_fit
from .calibration_splits import CalibrationSplits
from .estimation import Chunked, EstimatorConfig, FittedEstimator, Metric, chunk_frame
from .inputs import FrameLike, binary_labels, load_columns, probabilities
from .isotonic import IsotonicFit

__all__ = ["CBPE", "DEFAULT_METRICS", "FittedCBPE"]

DEFAULT_METRICS = ("roc_auc", "accuracy", "f1", "precision", "recall")
_KIND = "workbench.monitoring.FittedCBPE"


@dataclass(frozen=True)
class CBPE(EstimatorConfig):
    """CBPE's configuration: the score, label and (optional) predicted-label columns, then
    keyword-only ``metrics`` (default: ROC AUC, accuracy, F1, precision, recall),
    ``chunker`` (default: 10 chunks, as NannyML) and ``thresholds`` per metric.

    Without ``y_pred`` the predicted labels are ``y_pred_proba >= decision_threshold``
    (NannyML requires the column).
    """

    known_metrics: ClassVar[Mapping[str, Metric]] = METRICS
    default_metrics: ClassVar = DEFAULT_METRICS

    y_pred_proba: str
    y_true: str
    y_pred: str | None = None
    decision_threshold: float = 0.5

    def fit(self, reference: FrameLike) -> FittedCBPE:
        """Learn calibration, sampling-error components and thresholds from labelled data."""
        what = "reference data"
        frame = load_columns(reference, self._columns(self.chunker, labels=True), what=what)
        proba = probabilities(frame, self.y_pred_proba, what=what)
        y_true = binary_labels(frame, self.y_true, what=what)
        if y_true.min() == y_true.max():
            raise InputError(
                f"{what}: the labels in {self.y_true!r} hold one class",
                hint="CBPE learns from a reference with both classes",
            )
        chunked = chunk_frame(frame, self.chunker)
        metrics = cast("list[BinaryMetric]", self.metric_objects)
        # The calibration decision's splits are drawn from now on, in a child process (or
        # on a thread): the work that does not need them comes first, and the decision,
        # whose folds are fitted as the splits arrive, last (see docs/architecture.md).
        with CalibrationSplits(y_true) as splits:
            y_pred = self._predictions(frame, proba, what)
            ascending = Ascending.sort(y_true, proba)
            labelled = Labelled(y_true, y_pred, proba, ascending.scores, ascending.ones)
            components = {m.name: m.components(labelled) for m in metrics}
            uncalibrated = chunk_sums(
                chunked.in_chunk_order(proba),  # the arrays read above
                chunked.in_chunk_order(y_pred),
                chunked.in_chunk_order(y_true),
                chunked.starts,
                chunked.stops,
                None,
                threads=False,  # a core of two draws the splits
            )
            realized = {m.name: m.realize(uncalibrated) for m in metrics}
            # The reference chunks estimated and judged as they will be if the decision is
            # to calibrate (the usual case: an over- or under-confident model).
            whole = reference_fit(ascending)
            calibrated = replace(uncalibrated, calibrate=whole.predict)
            fitted = self._judged_reference(
                frame, components, lambda _: calibrated, chunked, realized
            )
            calibration = decide_calibration(y_true, proba, splits, ascending=ascending, fit=whole)
        if calibration.fit is not whole:
            sums = replace(uncalibrated, calibrate=calibration.apply)
            fitted = self._judged_reference(frame, components, lambda _: sums, chunked, realized)
        return FittedCBPE(**fitted, calibration=calibration)

    def _data_columns(self) -> list[str]:
        return [self.y_pred_proba, *([self.y_pred] if self.y_pred else [])]

    def _predictions(self, frame: pl.DataFrame, proba: np.ndarray, what: str) -> np.ndarray:
        if self.y_pred is None:
            return (proba >= self.decision_threshold).astype(np.float64)
        return binary_labels(frame, self.y_pred, what=what)

    def _batch(self, chunked: Chunked, fitted: Any, *, labels: bool) -> ChunkSums:
        return self._sums(chunked, fitted.calibration, labels=labels)

    def _sums(self, chunked: Chunked, calibration: Calibration, *, labels: bool) -> ChunkSums:
        what = "data to estimate"
        frame = chunked.frame
        proba = probabilities(frame, self.y_pred_proba, what=what)
        y_true = None
        if labels:
            y_true = binary_labels(frame, self.y_true, what=what, allow_missing=True)
        y_pred = self._predictions(frame, proba, what)
        return chunk_sums(proba, y_pred, y_true, chunked.starts, chunked.stops, calibration.apply)


@dataclass(frozen=True, repr=False)  # the short repr of FittedEstimator
class FittedCBPE(FittedEstimator):
    """CBPE fitted on a reference: everything needed to estimate new data (``estimate``),
    and nothing of the reference rows themselves."""

    estimator: CBPE
    calibration: Calibration

    def to_bytes(self) -> bytes:
        """The fitted estimator as deterministic bytes (``FittedCBPE.from_bytes`` inverts)."""
        fit = self.calibration.fit
        state = self._state()
        state["calibration"] = {
            "applied": self.calibration.applied,
            "reason": self.calibration.reason,
            "ece_before": self.calibration.ece_before,
            "ece_after": self.calibration.ece_after,
            "x": None if fit is None else fit.x,
            "y": None if fit is None else fit.y,
        }
        return serialization.dumps(_KIND, state)

    @classmethod
    def from_bytes(cls, data: bytes) -> FittedCBPE:
        """Load bytes written by ``to_bytes``."""
        state = serialization.loads(_KIND, data)
        cal = state["calibration"]
        fit = None if cal["x"] is None else IsotonicFit(cal["x"], cal["y"])
        calibration = Calibration(
            cal["applied"], cal["reason"], cal["ece_before"], cal["ece_after"], fit
        )
        return cls(**cls._fields(state, CBPE), calibration=calibration)
