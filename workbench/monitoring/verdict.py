"""Shadow and canary verdicts: how two model versions compare on the traffic they served.

* **Agreement**: on requests both answered (shadow rows share the champion's request id),
  the share with the same predicted class (binary) or values within 10% of each other
  (regression).
* **Metric difference** on labelled rows, challenger minus champion, with a bootstrap
  confidence interval (paired over requests for a shadow; two independent samples for a
  canary, whose requests differ). Seeded, so the same rows give the same interval.
* **McNemar's test** (binary, paired): on the labelled requests where exactly one model was
  right, an exact two-sided binomial test below 25 such requests, else the chi-square test
  with continuity correction, using ``drift.distributions`` (no SciPy at run time).
* **Rows still needed**: the interval's half-width shrinks as 1/sqrt(n); the labelled rows
  after which it would exclude zero at the difference seen now.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .windows import LOWER_IS_BETTER

__all__ = ["Verdict", "bootstrap_difference", "mcnemar", "metric_value", "verdict"]

BOOTSTRAP_ROUNDS = 400
#: the bootstrap draws at most this many rows per resample (a larger sample is subsampled once)
BOOTSTRAP_ROWS = 50_000
_Z95 = 1.959963984540054


@dataclass
class Verdict:
    """Champion against a challenger (shadow or canary) on the rows both served."""

    champion: str
    challenger: str
    role: str
    metric: str
    rows: int
    paired_rows: int = 0
    agreement: float | None = None
    labelled: int = 0
    champion_value: float | None = None
    challenger_value: float | None = None
    difference: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    mcnemar_p: float | None = None
    mcnemar_test: str | None = None
    #: requests where only the champion / only the challenger was right
    only_champion_right: int | None = None
    only_challenger_right: int | None = None
    rows_needed: int | None = None
    decision: str = "undecided"
    notes: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """One line: the decision and its numbers."""
        if self.difference is None:
            return f"{self.challenger} vs {self.champion}: {self.decision}"
        ci = f"[{self.ci_low:+.4f}, {self.ci_high:+.4f}]"
        more = f", ~{self.rows_needed:,} more labelled rows to decide" if self.rows_needed else ""
        return (
            f"{self.challenger} vs {self.champion}: {self.metric} {self.difference:+.4f} "
            f"95% CI {ci} on {self.labelled:,} labelled rows -> {self.decision}{more}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {**asdict(self), "summary": self.summary}


def metric_value(metric: str, y: np.ndarray, pred: np.ndarray, score: np.ndarray) -> float:
    """One metric on labelled rows: roc_auc/accuracy/f1/precision/recall (binary; ``y`` and
    ``pred`` 0/1, ``score`` the probability) or mae/rmse (``score`` the value)."""
    if metric == "roc_auc":
        return _auc(y, score)
    if metric == "mae":
        return float(np.mean(np.abs(score - y)))
    if metric == "rmse":
        return float(np.sqrt(np.mean((score - y) ** 2)))
    tp = float(np.sum((pred == 1) & (y == 1)))
    if metric == "accuracy":
        return float(np.mean(pred == y))
    said, truth = float(np.sum(pred == 1)), float(np.sum(y == 1))
    precision = tp / said if said else 0.0
    recall = tp / truth if truth else 0.0
    if metric == "precision":
        return precision
    if metric == "recall":
        return recall
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    pos = int(np.sum(y == 1))
    neg = len(y) - pos
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    ranked = score[order]
    ranks = np.empty(len(score), dtype=np.float64)
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    counts = np.diff(np.r_[starts, len(score)])
    ranks[order] = np.repeat(starts + (counts + 1) / 2, counts)
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def bootstrap_difference(
    metric: str,
    a: tuple[np.ndarray, np.ndarray, np.ndarray],
    b: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    paired: bool,
    rounds: int = BOOTSTRAP_ROUNDS,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(difference b - a, 2.5% and 97.5% percentiles) of ``metric`` over bootstrap resamples.

    Each side is ``(y, pred, score)``; paired sides are the same requests in the same order
    and are resampled together.
    """
    rng = np.random.default_rng(seed)
    if paired:
        keep = _subsample_rows(len(a[0]), rng)
        a, b = (
            (tuple(x[keep] for x in a), tuple(x[keep] for x in b)) if keep is not None else (a, b)
        )
    else:
        a, b = _subsample(a, rng), _subsample(b, rng)
    diff = metric_value(metric, *b) - metric_value(metric, *a)
    values = np.empty(rounds)
    for i in range(rounds):
        ia = rng.integers(0, len(a[0]), len(a[0]))
        ib = ia if paired else rng.integers(0, len(b[0]), len(b[0]))
        values[i] = metric_value(metric, *(x[ib] for x in b)) - metric_value(
            metric, *(x[ia] for x in a)
        )
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return diff, float("nan"), float("nan")
    low, high = np.percentile(values, [2.5, 97.5])
    return diff, float(low), float(high)


def _subsample_rows(n: int, rng: np.random.Generator) -> np.ndarray | None:
    if n <= BOOTSTRAP_ROWS:
        return None
    return np.sort(rng.choice(n, BOOTSTRAP_ROWS, replace=False))


def _subsample(side: Any, rng: np.random.Generator) -> Any:
    keep = _subsample_rows(len(side[0]), rng)
    return side if keep is None else tuple(x[keep] for x in side)


def mcnemar(only_a: int, only_b: int) -> tuple[float, str]:
    """Two-sided p-value of McNemar's test on the discordant counts, and the test used."""
    from ..drift.distributions import chi2_sf

    n = only_a + only_b
    if n == 0:
        return 1.0, "none"
    if n < 25:
        k = min(only_a, only_b)
        tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
        return min(1.0, 2 * tail), "exact binomial"
    stat = (abs(only_a - only_b) - 1) ** 2 / n
    return float(chi2_sf(stat, 1)), "chi-square (continuity corrected)"


def rows_needed(labelled: int, difference: float, low: float, high: float) -> int | None:
    """More labelled rows after which the interval would exclude zero (None: decided, or no
    difference to find)."""
    if not (math.isfinite(low) and math.isfinite(high)) or low > 0 or high < 0:
        return None
    if difference == 0:
        return None
    half = (high - low) / 2
    total = labelled * (half / abs(difference)) ** 2
    return max(0, math.ceil(total) - labelled)


def verdict(
    champion: str,
    challenger: str,
    role: str,
    metric: str,
    champ: dict[str, np.ndarray],
    chall: dict[str, np.ndarray],
    *,
    paired: bool,
    rows: int,
    seed: int = 0,
) -> Verdict:
    """Compare two versions. Each side is a dict of aligned arrays: ``y`` (label, NaN where
    none), ``pred`` (0/1 or NaN for regression) and ``score`` (probability or value); for a
    paired comparison both sides hold the same requests in the same order."""
    v = Verdict(champion, challenger, role, metric, rows)
    binary = metric not in LOWER_IS_BETTER
    if paired:
        v.paired_rows = len(champ["score"])
        if v.paired_rows:
            if binary:
                v.agreement = float(np.mean(champ["pred"] == chall["pred"]))
            else:
                scale = np.maximum(np.abs(champ["score"]), 1e-12)
                v.agreement = float(np.mean(np.abs(chall["score"] - champ["score"]) <= 0.1 * scale))
    known_a = ~np.isnan(champ["y"])
    known_b = ~np.isnan(chall["y"])
    if paired:
        known_a = known_b = known_a & known_b
    a = tuple(champ[k][known_a] for k in ("y", "pred", "score"))
    b = tuple(chall[k][known_b] for k in ("y", "pred", "score"))
    v.labelled = int(min(len(a[0]), len(b[0])) if not paired else len(a[0]))
    if len(a[0]) < 2 or len(b[0]) < 2:
        v.notes.append("no labelled rows on both sides yet")
        return v
    v.champion_value = metric_value(metric, *a)
    v.challenger_value = metric_value(metric, *b)
    diff, low, high = bootstrap_difference(metric, a, b, paired=paired, seed=seed)
    v.difference, v.ci_low, v.ci_high = diff, low, high
    if paired and binary:
        right_a, right_b = a[1] == a[0], b[1] == b[0]
        v.only_champion_right = int(np.sum(right_a & ~right_b))
        v.only_challenger_right = int(np.sum(~right_a & right_b))
        v.mcnemar_p, v.mcnemar_test = mcnemar(v.only_champion_right, v.only_challenger_right)
    better = (low > 0) if binary else (high < 0)
    worse = (high < 0) if binary else (low > 0)
    v.decision = "challenger better" if better else "challenger worse" if worse else "undecided"
    v.rows_needed = rows_needed(v.labelled, diff, low, high)
    return v
