"""Evidently's own HTML deep-dive report (the only place the core imports Evidently)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .stats import FrameLike, as_lazy

__all__ = ["evidently_html_report"]


def _to_pandas(data: FrameLike) -> Any:
    if hasattr(data, "iloc"):  # already pandas
        return data
    return as_lazy(data).collect().to_pandas()


def evidently_html_report(
    reference_df: FrameLike,
    current_df: FrameLike,
    path: str | Path,
    *,
    columns: Sequence[str] | None = None,
    numerical: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    method: str | None = None,
    threshold: float | None = None,
    drift_share: float = 0.5,
) -> Path:
    """Render Evidently 0.7's ``DataDriftPreset`` as a standalone HTML file at ``path``.

    Evidently is imported here, not at module level, because it takes seconds to import.
    Column types are inferred by Evidently unless ``numerical``/``categorical`` are given.
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    ref_pd, cur_pd = _to_pandas(reference_df), _to_pandas(current_df)
    definition = None
    if numerical is not None or categorical is not None:
        definition = DataDefinition(
            numerical_columns=list(numerical or []), categorical_columns=list(categorical or [])
        )
    preset = DataDriftPreset(
        columns=list(columns) if columns is not None else None,
        method=method,
        threshold=threshold,
        drift_share=drift_share,
    )
    snapshot = Report([preset]).run(
        Dataset.from_pandas(cur_pd, data_definition=definition),
        Dataset.from_pandas(ref_pd, data_definition=definition),
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(out))
    return out
