"""Predicting one row through LightGBM's single-row C API, without ``Booster.predict``'s setup.

``Booster.predict`` builds a predictor object per call (a deep copy of the parameters, their
text, shape checks): about half of the ~100 us it takes for one row of a 300-tree model here,
and the same for every request a server answers. LightGBM's C API has a path for exactly this
case: ``LGBM_BoosterPredictForMatSingleRowFastInit`` fixes the parameters once and
``LGBM_BoosterPredictForMatSingleRowFast`` predicts one row into a buffer. The same C++
predictor computes the value, so results are equal to ``Booster.predict`` bit for bit
(``tests/serving/test_scorer.py`` checks it). One configuration serves one call at a time
(a lock here: ctypes lets go of the GIL during the call).

If the library lacks the functions (an old or mocked LightGBM), ``SingleRowPredictor.create``
returns None and the scorer uses ``Booster.predict``.
"""

from __future__ import annotations

import ctypes
import threading
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

__all__ = ["SingleRowPredictor"]

_FLOAT64 = 1  # C_API_DTYPE_FLOAT64
_NORMAL = 0  # C_API_PREDICT_NORMAL: probabilities for classifiers, values for regression


class SingleRowPredictor:
    """One row at a time through LightGBM's fast single-row API (see the module doc)."""

    def __init__(self, booster: Any, lib: Any, handle: ctypes.c_void_p, width: int) -> None:
        import numpy as np

        self._booster = booster  # the config points into it: keep it alive
        self._lib = lib
        self._handle = handle
        self.features = booster.num_feature()
        self.width = width
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, lib.LGBM_FastConfigFree, handle)
        self._np = np

    @classmethod
    def create(cls, booster: Any) -> SingleRowPredictor | None:
        """A predictor for ``booster`` (predicting as ``booster.predict`` does), or None."""
        try:
            from lightgbm.basic import _LIB, _safe_call
        except ImportError:
            return None
        init = getattr(_LIB, "LGBM_BoosterPredictForMatSingleRowFastInit", None)
        if init is None or getattr(_LIB, "LGBM_BoosterPredictForMatSingleRowFast", None) is None:
            return None
        # Booster.predict's choice of trees when num_iteration is None
        num_iteration = booster.best_iteration if booster.best_iteration > 0 else -1
        handle = ctypes.c_void_p()
        try:
            _safe_call(
                init(
                    booster._handle, ctypes.c_int(_NORMAL), ctypes.c_int(0),
                    ctypes.c_int(num_iteration), ctypes.c_int(_FLOAT64),
                    ctypes.c_int32(booster.num_feature()), ctypes.c_char_p(b"num_threads=1"),
                    ctypes.byref(handle),
                )
            )  # fmt: skip
        except Exception:
            return None
        width = max(1, booster.num_model_per_iteration())
        return cls(booster, _LIB, handle, width)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions for the rows of a C-contiguous float64 matrix, one C call per row."""
        from lightgbm.basic import _safe_call

        np = self._np
        rows = x.shape[0]
        if x.dtype != np.float64 or not x.flags.c_contiguous:
            x = np.ascontiguousarray(x, dtype=np.float64)
        if x.shape[1] != self.features:
            raise ValueError(f"the model takes {self.features} features, got {x.shape[1]}")
        out = np.empty(rows * self.width, dtype=np.float64)
        call = self._lib.LGBM_BoosterPredictForMatSingleRowFast
        out_len = ctypes.c_int64(0)
        stride = self.features * 8
        base = x.ctypes.data
        out_base = out.ctypes.data
        with self._lock:
            for i in range(rows):
                _safe_call(call(self._handle, ctypes.c_void_p(base + i * stride),
                                ctypes.byref(out_len),
                                ctypes.c_void_p(out_base + i * self.width * 8)))  # fmt: skip
        return out if self.width == 1 else out.reshape(rows, self.width)
