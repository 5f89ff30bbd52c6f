"""Promotion gates: each returns pass/fail, a one-line summary and the numbers behind it.

Gates are pure functions of numbers and frames, so they are tested with numbers that fail;
``RegistryService.propose_promotion`` gathers the inputs (see ``evidence``). Limits come from the
``[gates]`` settings (``config.GateSettings``).

* contract     - the training snapshot satisfies its parent's contract (or a saved contract)
* performance  - challenger vs champion on the same holdout: not worse than ``tolerance`` on the
                 primary metric (and better by ``min_improvement`` when that is set)
* segments:COL - gap between the best and worst segment's metric, and the demographic-parity
                 difference (gap in positive-prediction rates), both below limits
* sanity       - predictions finite and not constant; scoring 10k rows fast enough
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .evaluation import PRIMARY_METRIC, higher_is_better

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

    from ..snapshots.contract import Violation

__all__ = [
    "GateResult",
    "contract_gate",
    "performance_gate",
    "segment_gate",
    "sanity_gate",
    "all_passed",
]

_RANGE_CHECKS = ("min", "max")


@dataclass
class GateResult:
    """The outcome of one gate."""

    name: str
    passed: bool
    summary: str
    numbers: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def mark(self) -> str:
        """``PASS`` or ``FAIL``."""
        return "PASS" if self.passed else "FAIL"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateResult:
        """Inverse of ``to_dict``."""
        return cls(**data)


def all_passed(results: list[GateResult]) -> bool:
    """Whether every gate passed."""
    return all(r.passed for r in results)


def contract_gate(
    violations: list[Violation] | None, source: str | None, enforce_ranges: bool = True
) -> GateResult:
    """Pass when the training data breaks no contract rule; ``violations=None``: no contract.

    With ``enforce_ranges=False``, min/max violations are reported as notes only.
    """
    if violations is None:
        return GateResult("contract", True, "no contract to check (snapshot has no parent)",
                          notes=["the training snapshot has no parent and no contract file is set"])  # fmt: skip
    failing = [v for v in violations if enforce_ranges or v.check not in _RANGE_CHECKS]
    noted = [str(v) for v in violations if v not in failing]
    numbers = {"violations": len(failing), "range_notes": len(noted), "contract": source}
    if failing:
        shown = "; ".join(str(v) for v in failing[:3]) + (" ..." if len(failing) > 3 else "")
        return GateResult("contract", False, f"{len(failing)} violation(s) of {source}: {shown}",
                          numbers, [str(v) for v in failing] + noted)  # fmt: skip
    return GateResult("contract", True, f"training data satisfies {source}", numbers, noted)


def _delta(metric: str, challenger: float, champion: float) -> float:
    """Challenger minus champion, signed so that positive means better."""
    return challenger - champion if higher_is_better(metric) else champion - challenger


def performance_gate(
    task: str,
    challenger: dict[str, float],
    champion: dict[str, float] | None,
    tolerance: float,
    min_improvement: float = 0.0,
) -> GateResult:
    """Pass when the challenger is at most ``tolerance`` worse (and ``min_improvement`` better)."""
    metric = PRIMARY_METRIC[task]
    value = challenger.get(metric, math.nan)
    numbers: dict[str, Any] = {"metric": metric, "challenger": value, "tolerance": tolerance,
                               "min_improvement": min_improvement}  # fmt: skip
    if champion is None:
        return GateResult("performance", True, f"no champion to compare; {metric} {value:.4f}",
                          numbers, ["first champion: nothing to compare against"])  # fmt: skip
    base = champion.get(metric, math.nan)
    delta = _delta(metric, value, base)
    numbers |= {"champion": base, "delta": delta}
    if math.isnan(delta):
        return GateResult("performance", False, f"{metric} could not be computed", numbers)
    worse = delta < -tolerance
    short = min_improvement > 0 and delta < min_improvement
    text = f"{metric} {value:.4f} vs champion {base:.4f} (better by {delta:+.4f})"
    if worse:
        return GateResult(
            "performance", False, f"{text}; worse than tolerance {tolerance:g}", numbers
        )
    if short:
        return GateResult("performance", False, f"{text}; needs {min_improvement:+g}", numbers)
    return GateResult("performance", True, text, numbers)


def _spread(frame: pl.DataFrame, column: str) -> float:
    """Largest minus smallest value of a numeric column."""
    import polars as pl

    return float(frame.select(pl.col(column).max() - pl.col(column).min()).item())


def segment_gate(
    column: str,
    table: pl.DataFrame | None,
    metric: str,
    max_gap: float,
    max_parity: float,
    min_rows: int,
    parity_applies: bool = True,
) -> GateResult:
    """Pass when the segment metric gap and the demographic-parity difference are in limits.

    ``table`` comes from ``evaluation.segment_table`` (segment, n, metric, positive_rate);
    None means the column is absent from the holdout: nothing is checked, and the result says
    so in its summary, its numbers (``checked: False``) and a note on what to do. It does not
    fail: a column the data lacks is a setting to fix, not a gap between segments.
    """
    import polars as pl

    name = f"segments:{column}"
    if table is None:
        return GateResult(
            name, True, f"not checked: the holdout has no column {column!r}",
            {"column": column, "checked": False},
            [f"{column!r} is named in [gates] segment_columns of workbench.toml, but the "
             "holdout has no such column; add it to the data or remove it from the setting"],
        )  # fmt: skip
    usable = table.filter((pl.col("n") >= min_rows) & pl.col("metric").is_not_null())
    left_out = sorted(set(table["segment"].to_list()) - set(usable["segment"].to_list()))
    notes = (
        [f"left out (fewer than {min_rows} rows or one class): {', '.join(left_out)}"]
        if left_out
        else []
    )
    rows = table.to_dicts()
    if usable.height < 2:
        return GateResult(name, True, f"fewer than two usable segments of {column!r}",
                          {"segments": rows}, notes + ["nothing to compare"])  # fmt: skip
    gap = _spread(usable, "metric")
    parity = _spread(usable, "positive_rate")
    numbers = {"segments": rows, "metric": metric, "gap": gap, "max_gap": max_gap,
               "parity_difference": parity if parity_applies else None, "max_parity": max_parity}  # fmt: skip
    problems = []
    if gap > max_gap:
        problems.append(f"{metric} gap {gap:.3f} > {max_gap:g}")
    if parity_applies and parity > max_parity:
        problems.append(f"parity difference {parity:.3f} > {max_parity:g}")
    text = f"{metric} gap {gap:.3f}" + (
        f", parity difference {parity:.3f}" if parity_applies else ""
    )
    if problems:
        return GateResult(name, False, "; ".join(problems), numbers, notes)
    return GateResult(name, True, text, numbers, notes)


def sanity_gate(predictions: np.ndarray, latency_ms: float, max_latency_ms: float) -> GateResult:
    """Pass when predictions are finite, not all equal, and 10k rows score within the limit."""
    import numpy as np

    p = np.asarray(predictions, dtype="float64")
    n_bad = int(np.sum(~np.isfinite(p)))
    spread = float(np.nanmax(p) - np.nanmin(p)) if p.size and n_bad < p.size else 0.0
    numbers = {"rows": int(p.shape[0]), "non_finite": n_bad, "spread": spread,
               "latency_ms_per_10k": latency_ms, "max_latency_ms_per_10k": max_latency_ms}  # fmt: skip
    problems = []
    if n_bad:
        problems.append(f"{n_bad} NaN/infinite predictions")
    if spread == 0.0:
        problems.append("constant predictions")
    if latency_ms > max_latency_ms:
        problems.append(f"{latency_ms:.0f} ms per 10k rows > {max_latency_ms:g}")
    if problems:
        return GateResult("sanity", False, "; ".join(problems), numbers)
    return GateResult("sanity", True, f"{p.shape[0]} finite, varied predictions; "
                      f"{latency_ms:.0f} ms per 10k rows", numbers)  # fmt: skip
