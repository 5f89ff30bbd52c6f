"""Reading NannyML 0.13.1 results next to ours: which of its columns is which of our fields,
and how far apart two results are. Used by the oracle tests and the benchmark, and by
anyone checking our numbers against a NannyML run (NannyML itself is not imported: the
functions read the frame its ``Result.to_df()`` returns)."""

from __future__ import annotations

import math
from typing import Any

from .results import PerformanceResult

__all__ = ["NANNYML_COLUMNS", "difference_from_nannyml"]

#: our ``ChunkEstimate`` field -> the column under the metric in NannyML's result frame
NANNYML_COLUMNS = {
    "estimated": "value",
    "sampling_error": "sampling_error",
    "realized": "realized",
    "upper_band": "upper_confidence_boundary",
    "lower_band": "lower_confidence_boundary",
    "upper_threshold": "upper_threshold",
    "lower_threshold": "lower_threshold",
}


def difference_from_nannyml(
    ours: PerformanceResult, theirs: Any, *, reference_thresholds: bool = False
) -> float:
    """The largest |ours - NannyML| over every number of every chunk and metric.

    ``theirs`` is NannyML's ``Result.to_df()`` for the same chunks. Our None must be its
    NaN and the reverse (else ``ValueError``). Reference thresholds differ by design (ours
    leave the chunk out) and are skipped unless ``reference_thresholds``.
    """
    frame = ours.to_polars()
    worst = 0.0
    for metric in ours.metrics:
        mine = frame.filter(frame["metric"] == metric)
        if mine.height != len(theirs):
            raise ValueError(f"{metric}: {mine.height} chunks here, {len(theirs)} in NannyML's")
        periods = mine["period"].to_list()
        for field, column in NANNYML_COLUMNS.items():
            pairs = zip(mine[field].to_list(), theirs[(metric, column)].tolist(), strict=True)
            for i, (a, b) in enumerate(pairs):
                if "threshold" in field and periods[i] == "reference" and not reference_thresholds:
                    continue
                b = float("nan") if b is None else float(b)
                if a is None or math.isnan(b):
                    if not (a is None and math.isnan(b)):
                        raise ValueError(f"{metric} {field}, chunk {i}: ours {a}, NannyML's {b}")
                    continue
                worst = max(worst, abs(a - b))
    return worst
