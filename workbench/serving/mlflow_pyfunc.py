"""The MLflow model of a workbench model version: raw rows in, through the workbench's scorer.

The experiments mirror logs each model with MLflow's ``python_function`` flavour and this
module as its ``loader_module`` (``experiments.mlflow_mirror.log_model``, which also writes
the signature), the booster text and the encodings as its data. ``mlflow.pyfunc.load_model("models:/NAME@champion")`` then calls
``_load_pyfunc`` here and gets a model whose ``predict`` takes the training file's rows as
pandas reads them (integers, floats, text, booleans, dates) and scores them with the same
``Scorer`` the HTTP server and batch scoring use; ``mlflow models serve`` serves it. The
signature gives each input column the snapshot's own type (``long`` for integer columns,
``string`` for text, ``datetime`` for dates), so MLflow's schema check accepts the raw rows.

The loading process needs the workbench importable (the model's code is the workbench's
scorer); it needs neither the workspace nor its store. MLflow itself is not imported here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

    from .scorer import Scorer

__all__ = ["RawRowsModel", "frame_of_pandas"]


def _load_pyfunc(data_path: str) -> RawRowsModel:
    """MLflow's entry point: the model stored in ``data_path``."""
    from ..experiments.mlflow_mirror import META_FILE, MODEL_FILE
    from ..experiments.model import Model
    from .scorer import Scorer

    folder = Path(data_path)
    meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    model = Model((folder / MODEL_FILE).read_text(encoding="utf-8"), meta)
    return RawRowsModel(Scorer(model))


class RawRowsModel:
    """What ``mlflow.pyfunc.load_model`` wraps: ``predict`` on raw rows (pandas)."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer

    def __repr__(self) -> str:
        return f"RawRowsModel({self.scorer!r})"

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """``label`` and ``probability`` (and ``p_<class>``), or ``value``, per input row."""
        frame = frame_of_pandas(model_input, self.scorer.inputs)
        scores, _ = self.scorer.score_frame(frame)
        return scores.to_polars().to_pandas()


def frame_of_pandas(data: Any, columns: list[str]) -> pl.DataFrame:
    """The input columns of a pandas frame (or records, or a dict of columns) as Polars.

    A column Polars cannot take as one type (numbers mixed with text) is kept as objects, so
    the scorer names it and its first wrong value.
    """
    import pandas as pd
    import polars as pl

    if isinstance(data, pl.DataFrame):
        return data
    if not isinstance(data, pd.DataFrame):
        data = pd.DataFrame(data)
    series = []
    for name in columns:
        if name not in data.columns:
            continue
        column = data[name]
        try:
            series.append(pl.Series(name, pl.from_pandas(column)))
        except Exception:
            values = [None if _is_missing(v) else v for v in column.tolist()]
            series.append(pl.Series(name, values, dtype=pl.Object))
    return pl.DataFrame(series, height=len(data))


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)
