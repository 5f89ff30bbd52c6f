"""Performance estimation without labels: NumPy/Polars versions of NannyML 0.13.1's CBPE
(binary classifiers) and DLE (regressors), with chunking and threshold strategies.

Entry points (NannyML's shape; see docs/architecture.md, "Monitoring estimators"):

* ``CBPE(y_pred_proba=..., y_true=..., y_pred=..., chunker=...).fit(reference)`` ->
  ``FittedCBPE``; ``.estimate(data)`` -> ``PerformanceResult`` (one ``ChunkEstimate`` per
  chunk and metric; ``to_polars()``; an HTML table in notebooks).
* ``DLE(feature_columns, y_pred=..., y_true=...).fit(reference)`` -> ``FittedDLE``, likewise.
* ``SizeChunker``, ``CountChunker``, ``PeriodChunker``: ``split(data) -> list[Chunk]``.
* ``StandardDeviationThreshold``, ``ConstantThreshold``: threshold strategies.
* ``fitted.to_bytes()`` / ``FittedCBPE.from_bytes`` / ``load_fitted(bytes)``: store a fitted
  estimator and reuse it across windows.

Nothing here imports scikit-learn, SciPy's statistics, NannyML, MLflow, Evidently or a UI
library; LightGBM loads only when DLE fits or estimates. Exports are lazy (PEP 562).
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "CBPE": "cbpe",
    "Calibration": "calibration",
    "Chunk": "chunking",
    "ChunkEstimate": "results",
    "Chunker": "chunking",
    "ConstantThreshold": "thresholds",
    "CountChunker": "chunking",
    "DLE": "dle",
    "FittedCBPE": "cbpe",
    "FittedDLE": "dle",
    "PerformanceResult": "results",
    "PeriodChunker": "chunking",
    "SizeChunker": "chunking",
    "StandardDeviationThreshold": "thresholds",
    "Threshold": "thresholds",
    "binary_classification_data": "synthetic",
    "load_fitted": "serialization",
    "regression_data": "synthetic",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(_EXPORTS)
