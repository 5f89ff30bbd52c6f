"""Serving: the prediction log now; the scoring server and batch scoring build on it.

Exports are lazy (PEP 562): the scoring server imports this package before it knows what it
needs, and nothing here may cost start-up time.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "CompactionReport": "predlog_compact",
    "ExportError": "predlog_sink",
    "LogStats": "predlog",
    "MemorySink": "predlog",
    "ParquetSink": "predlog_sink",
    "PeriodicCompaction": "predlog_compact",
    "Prediction": "predlog",
    "PredictionLog": "predlog",
    "Sink": "predlog",
    "compact": "predlog_compact",
    "create_prediction_views": "predlog_read",
    "open_prediction_log": "predlog",
    "predictions_dir": "predlog_layout",
    "read_predictions": "predlog_read",
    "scan_predictions": "predlog_read",
    "select_inputs": "predlog_read",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(_EXPORTS)
