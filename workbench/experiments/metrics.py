"""Holdout metrics in plain NumPy (no scikit-learn import; tests check them against it).

Binary: auc, logloss, accuracy, f1, precision, recall (threshold 0.5 on the positive class's
probability). Multiclass: logloss, accuracy, macro_f1. Regression: rmse, mae, r2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["compute_metrics", "roc_auc", "HIGHER_IS_BETTER"]

#: Direction of each metric, for sorting and comparisons.
HIGHER_IS_BETTER = {
    "auc": True,
    "logloss": False,
    "accuracy": True,
    "f1": True,
    "precision": True,
    "recall": True,
    "macro_f1": True,
    "rmse": False,
    "mae": False,
    "r2": True,
}


def roc_auc(y: np.ndarray, p: np.ndarray, order: np.ndarray | None = None) -> float:
    """Area under the ROC curve via the Mann-Whitney U statistic (ties count half).

    Equal to ``sklearn.metrics.roc_auc_score``; NaN when ``y`` holds one class. ``order``,
    when the caller already has it, is an ascending argsort of ``p`` (ties in any order).
    """
    pos = y == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _average_ranks(p, order)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _average_ranks(values: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """1-based ranks, ties sharing their mean rank: ``scipy.stats.rankdata``'s default.

    In NumPy because importing ``scipy.stats`` costs 0.7 s, more than a CLI training's
    whole holdout scoring at small sizes. NaN anywhere gives NaN ranks, as in SciPy.
    """
    import numpy as np

    if np.isnan(values).any():
        return np.full(values.shape, np.nan)
    if order is None:
        order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    counts = np.diff(np.append(starts, len(ordered)))
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat(starts + (counts + 1) / 2, counts)
    return ranks


def _clip(p: np.ndarray) -> np.ndarray:
    import numpy as np

    eps = np.finfo(p.dtype).eps
    return np.clip(p, eps, 1 - eps)


def _safe_div(a: float, b: float) -> float:
    return float(a / b) if b else 0.0


def _binary(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    import numpy as np

    pc = _clip(p)
    pred = p >= 0.5
    pos = y == 1
    tp = float(np.sum(pred & pos))
    precision = _safe_div(tp, float(pred.sum()))
    recall = _safe_div(tp, float(pos.sum()))
    return {
        "auc": roc_auc(y, p),
        "logloss": float(-np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc))),
        "accuracy": float(np.mean(pred == pos)),
        "f1": _safe_div(2 * precision * recall, precision + recall),
        "precision": precision,
        "recall": recall,
    }


def _multiclass(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    import numpy as np

    labels = y.astype(np.int64)
    probs = p / p.sum(axis=1, keepdims=True)
    picked = _clip(probs[np.arange(len(labels)), labels])
    pred = np.argmax(p, axis=1)
    f1s = []
    for k in range(p.shape[1]):
        tp = float(np.sum((pred == k) & (labels == k)))
        denom = float(np.sum(pred == k) + np.sum(labels == k))
        if denom:
            f1s.append(2 * tp / denom)
    return {
        "logloss": float(-np.mean(np.log(picked))),
        "accuracy": float(np.mean(pred == labels)),
        "macro_f1": float(np.mean(f1s)) if f1s else 0.0,
    }


def _regression(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    import numpy as np

    err = p - y
    total = float(np.sum((y - y.mean()) ** 2))
    return {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "r2": 1.0 - float(np.sum(err**2)) / total if total else 0.0,
    }


def compute_metrics(task: str, y_true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Holdout metrics for a task; ``pred`` is P(class 1), class probabilities, or values."""
    import numpy as np

    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(pred, dtype=np.float64)
    if task == "binary":
        return _binary(y, p)
    if task == "multiclass":
        return _multiclass(y, p)
    return _regression(y, p)
