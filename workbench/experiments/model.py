"""Scoring with a trained model: booster text plus the recorded encodings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .features import ModelMeta, decode_labels, encode_matrix, encode_pandas

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import polars as pl

__all__ = ["Model", "predict"]


class Model:
    """A LightGBM booster loaded from model text, with the metadata to encode new data."""

    def __init__(self, model_text: str, meta: ModelMeta | dict[str, Any]) -> None:
        from .lightgbm_import import import_lightgbm

        lgb = import_lightgbm()
        self.meta = meta if isinstance(meta, ModelMeta) else ModelMeta.from_dict(meta)
        self.booster = lgb.Booster(model_str=model_text)

    def __repr__(self) -> str:
        m = self.meta
        return f"Model(task={m.task!r}, target={m.target!r}, features={len(m.features)})"

    def encode(self, df: pl.DataFrame) -> pd.DataFrame:
        """The encoded frame the MLflow pyfunc model expects."""
        return encode_pandas(self.meta, df)

    def predict(self, df: pl.DataFrame) -> np.ndarray:
        """P(positive) for binary, class probabilities (n, k) for multiclass, else values."""
        return self.booster.predict(encode_matrix(self.meta, df))

    def predict_label(self, df: pl.DataFrame) -> list[Any]:
        """Predicted class values (classification only)."""
        import numpy as np

        if self.meta.classes is None:
            raise ValueError("predict_label needs a classification model")
        scores = self.predict(df)
        codes = (scores >= 0.5).astype(int) if scores.ndim == 1 else np.argmax(scores, axis=1)
        return decode_labels(codes, self.meta.classes)


def predict(model_text: str, meta: ModelMeta | dict[str, Any], df: pl.DataFrame) -> np.ndarray:
    """Score ``df`` with a model, applying the recorded encodings (see ``Model.predict``)."""
    return Model(model_text, meta).predict(df)
