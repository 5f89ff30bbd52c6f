"""The regression metrics DLE estimates (MAE, RMSE), each as NannyML 0.13.1 computes it.

DLE fits one LightGBM model per metric to predict each row's loss (absolute error for MAE,
squared error for RMSE) from the features and the prediction; a chunk's estimate
aggregates the predicted losses (negative predictions count as 0).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np

__all__ = ["METRICS", "LossBatch", "RegressionMetric"]

Note = str | None


@dataclass
class LossBatch:
    """Rows of one data set in chunk order: predictions, labels (NaN where missing; None
    without a label column) and each metric's predicted per-row loss."""

    y_pred: np.ndarray
    y_true: np.ndarray | None
    predicted_loss: dict[str, np.ndarray]
    starts: np.ndarray
    stops: np.ndarray

    @cached_property
    def rows(self) -> np.ndarray:
        return (self.stops - self.starts).astype(np.float64)

    def chunk_means(self, values: np.ndarray) -> np.ndarray:
        """Per-chunk means of ``values`` (one per row)."""
        return np.add.reduceat(values, self.starts) / self.rows

    @cached_property
    def labelled(self) -> np.ndarray:
        """Labelled rows per chunk."""
        if self.y_true is None:
            return np.zeros(len(self.starts))
        return np.add.reduceat((~np.isnan(self.y_true)).astype(np.float64), self.starts)

    def realized_means(self, loss: np.ndarray) -> tuple[list[float | None], list[Note]]:
        """Per-chunk mean of a per-row loss over labelled rows (``loss`` is NaN elsewhere)."""
        if self.y_true is None:
            return [None] * len(self.starts), ["no label column"] * len(self.starts)
        sums = np.add.reduceat(np.nan_to_num(loss, nan=0.0), self.starts)
        values: list[float | None] = []
        notes: list[Note] = []
        for total, count in zip(sums.tolist(), self.labelled.tolist(), strict=True):
            values.append(total / count if count else None)
            notes.append(None if count else "no labels in this chunk")
        return values, notes


class RegressionMetric(ABC):
    """One DLE metric: the per-row loss a model learns, its chunk aggregate and errors."""

    name: ClassVar[str]
    limits: ClassVar[tuple[float | None, float | None]] = (0.0, None)

    @abstractmethod
    def loss(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """The per-row loss the metric's model is fitted to."""

    @abstractmethod
    def components(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
        """Sampling-error components from the reference."""

    @abstractmethod
    def sampling_error(self, components: tuple[float, float], rows: np.ndarray) -> np.ndarray:
        """Standard error of the metric for chunks of ``rows``."""

    @abstractmethod
    def aggregate(self, mean_loss: np.ndarray) -> np.ndarray:
        """The metric from a chunk's mean loss."""

    def estimate(self, batch: LossBatch) -> tuple[np.ndarray, list[Note]]:
        """Per chunk, the aggregate of predicted losses clipped at 0."""
        predicted = np.maximum(0, batch.predicted_loss[self.name])
        values = self.aggregate(batch.chunk_means(predicted))
        return values, [None] * len(batch.starts)

    def realize(self, batch: LossBatch) -> tuple[list[float | None], list[Note]]:
        """Per chunk, the metric on labelled rows."""
        if batch.y_true is None:
            return batch.realized_means(np.zeros(0))
        means, notes = batch.realized_means(self.loss(batch.y_true, batch.y_pred))
        values = [None if m is None else float(self.aggregate(np.array(m))) for m in means]
        return values, notes


class MAE(RegressionMetric):
    """Mean absolute error."""

    name = "mae"

    def loss(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """Absolute error."""
        return np.abs(y_true - y_pred)

    def components(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
        """(standard deviation of the absolute error, unused)."""
        return float(np.std(np.abs(y_true - y_pred))), 0.0

    def sampling_error(self, components: tuple[float, float], rows: np.ndarray) -> np.ndarray:
        """``std / sqrt(rows)``."""
        return components[0] / np.sqrt(rows)

    def aggregate(self, mean_loss: np.ndarray) -> np.ndarray:
        """The mean itself."""
        return mean_loss


class RMSE(RegressionMetric):
    """Root mean squared error."""

    name = "rmse"

    def loss(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """Squared error."""
        return np.square(y_true - y_pred)

    def components(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
        """(standard deviation, mean) of the squared error."""
        squared = (y_true - y_pred) ** 2
        return float(np.std(squared)), float(np.mean(squared))

    def sampling_error(self, components: tuple[float, float], rows: np.ndarray) -> np.ndarray:
        """The delta method on the square root: ``sqrt(std**2 / (4 * rows * mean))``."""
        std, mean = components
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sqrt(std**2 / (4 * rows * mean))

    def aggregate(self, mean_loss: np.ndarray) -> np.ndarray:
        """Square root of the mean squared error."""
        return np.sqrt(mean_loss)


METRICS: dict[str, RegressionMetric] = {m.name: m for m in (MAE(), RMSE())}
