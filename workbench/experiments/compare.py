"""Compare runs side by side: parameters with a differing flag, metric deltas, curves, importances.

``compare`` is pure: it takes run records and their saved curves (see ``records.parse_curves``) and
returns a ``RunComparison`` that the CLI prints, the TUI's Compare screen shows and a notebook
turns into Polars frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..display import esc, html_table
from .metrics import HIGHER_IS_BETTER
from .records import RunRecord

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "RunComparison",
    "ParamRow",
    "MetricRow",
    "FeatureRank",
    "compare",
    "iteration_ticks",
    "fmt_metric",
    "fmt_delta",
    "shows_as_zero",
    "TOP_FEATURES",
]

TOP_FEATURES = 10
#: run facts shown above the parameters (they differ when runs used other data or splits)
_CONTEXT = ("snapshot", "target", "task", "split", "test_size")


@dataclass(frozen=True)
class ParamRow:
    """One parameter (or run fact) across the compared runs."""

    name: str
    values: list[str | None]
    differs: bool


@dataclass(frozen=True)
class MetricRow:
    """One holdout metric across the runs, with deltas against the first run."""

    name: str
    values: list[float | None]
    deltas: list[float | None]
    higher_is_better: bool | None

    @property
    def best(self) -> int | None:
        """Index of the best run for this metric (None when the direction is unknown)."""
        known = [(v, i) for i, v in enumerate(self.values) if v is not None and not math.isnan(v)]
        if self.higher_is_better is None or not known:
            return None
        return (max(known) if self.higher_is_better else min(known))[1]


@dataclass(frozen=True)
class FeatureRank:
    """A feature's importance in one run: total gain, share of the run's gain, split count."""

    feature: str
    gain: float
    share: float
    split: int


@dataclass
class RunComparison:
    """Runs side by side (the first run is the baseline for deltas)."""

    runs: list[RunRecord]
    params: list[ParamRow]
    metrics: list[MetricRow]
    #: every run trained on the same snapshot content
    same_data: bool
    #: run id -> {"train"|"valid": {metric: per-iteration values}}
    curves: dict[int, dict[str, dict[str, list[float]]]] = field(default_factory=dict)
    #: run id -> top features by gain
    importances: dict[int, list[FeatureRank]] = field(default_factory=dict)

    @property
    def ids(self) -> list[int]:
        """The compared run ids, in order."""
        return [r.id for r in self.runs]

    def differing(self) -> list[ParamRow]:
        """Only the parameters (and run facts) whose values differ."""
        return [p for p in self.params if p.differs]

    def valid_curves(self, metric: str | None = None) -> dict[int, list[float]]:
        """Each run's validation curve for ``metric`` (default: the first one recorded)."""
        out = {}
        for run_id, curves in self.curves.items():
            valid = curves.get("valid", {})
            name = metric or next(iter(valid), None)
            if name in valid:
                out[run_id] = valid[name]
        return out

    def params_frame(self, only_diff: bool = False) -> pl.DataFrame:
        """Parameters as a frame: one row per parameter, one column per run."""
        import polars as pl

        rows = self.differing() if only_diff else self.params
        data: dict[str, Any] = {"param": [p.name for p in rows]}
        for i, run in enumerate(self.runs):
            data[f"run {run.id}"] = pl.Series([p.values[i] for p in rows], dtype=pl.String)
        data["differs"] = [p.differs for p in rows]
        return pl.DataFrame(data)

    def metrics_frame(self) -> pl.DataFrame:
        """Metrics as a frame: values per run and deltas against the first run."""
        import polars as pl

        data: dict[str, Any] = {"metric": [m.name for m in self.metrics]}
        for i, run in enumerate(self.runs):
            data[f"run {run.id}"] = pl.Series([m.values[i] for m in self.metrics], dtype=pl.Float64)
        for i, run in enumerate(self.runs[1:], start=1):
            data[f"delta {run.id}"] = pl.Series(
                [m.deltas[i] for m in self.metrics], dtype=pl.Float64
            )
        return pl.DataFrame(data)

    def importance_frame(self) -> pl.DataFrame:
        """Top features per run as a long frame (run_id, rank, feature, gain, share, split)."""
        import polars as pl

        rows = [
            (run_id, rank, f.feature, f.gain, f.share, f.split)
            for run_id, ranks in self.importances.items()
            for rank, f in enumerate(ranks, start=1)
        ]
        schema = {
            "run_id": pl.Int64,
            "rank": pl.Int64,
            "feature": pl.String,
            "gain": pl.Float64,
            "share": pl.Float64,
            "split": pl.Int64,
        }
        return pl.DataFrame(rows, schema=schema, orient="row")

    def to_polars(self) -> pl.DataFrame:
        """The holdout metrics side by side (``metrics_frame``); ``params_frame`` and
        ``importance_frame`` hold the rest."""
        return self.metrics_frame()

    def _repr_html_(self) -> str:
        runs = html_table(
            ["run", "status", "snapshot", "note"],
            ([r.id, r.status, r.snapshot_ref, r.note] for r in self.runs),
        )
        note = "same data" if self.same_data else "<b>different data</b>"
        metrics = html_table(
            ["metric", *(f"run {i}" for i in self.ids), *(f"Δ {i}" for i in self.ids[1:])],
            (
                [m.name, *(None if v is None else fmt_metric(v) for v in m.values),
                 *(None if d is None else fmt_delta(d) for d in m.deltas[1:])]
                for m in self.metrics
            ),
        )  # fmt: skip
        params = html_table(
            ["parameter", *(f"run {i}" for i in self.ids)],
            ([p.name, *p.values] for p in self.differing()),
        )
        return (
            f"<p><b>Runs {esc(', '.join(map(str, self.ids)))}</b> ({note})</p>{runs}"
            f"<p>Holdout metrics (Δ against run {self.ids[0] if self.ids else '–'})</p>"
            f"{metrics}<p>Parameters that differ</p>{params}"
        )


def _fact(run: RunRecord, name: str) -> str | None:
    if name == "snapshot":
        return run.snapshot_ref
    if name in ("split", "test_size"):
        value = run.split.get("kind" if name == "split" else name, run.spec.get(name))
        return None if value is None else str(value)
    value = getattr(run, name)
    return None if value is None else str(value)


def _params(runs: list[RunRecord]) -> list[ParamRow]:
    rows = []
    for name in _CONTEXT:
        values = [_fact(r, name) for r in runs]
        rows.append(ParamRow(name, values, len(set(values)) > 1))
    for name in sorted({k for r in runs for k in r.params}):
        values = [r.params.get(name) for r in runs]
        rows.append(ParamRow(name, values, len(set(values)) > 1))
    return rows


def _metrics(runs: list[RunRecord]) -> list[MetricRow]:
    names = sorted(
        {k for r in runs for k in r.metrics}, key=lambda n: (n not in HIGHER_IS_BETTER, n)
    )
    rows = []
    for name in names:
        values = [r.metrics.get(name) for r in runs]
        base = values[0]
        deltas = [None if v is None or base is None else v - base for v in values]
        rows.append(MetricRow(name, values, deltas, HIGHER_IS_BETTER.get(name)))
    return rows


def _top_features(saved: dict[str, Any], top: int) -> list[FeatureRank]:
    imp = saved.get("importance") or {}
    features, gains, splits = imp.get("feature", []), imp.get("gain", []), imp.get("split", [])
    total = sum(gains) or 1.0
    ranked = sorted(zip(features, gains, splits, strict=True), key=lambda t: (-t[1], t[0]))
    return [FeatureRank(f, float(g), float(g) / total, int(s)) for f, g, s in ranked[:top]]


def compare(
    runs: list[RunRecord], saved_curves: dict[int, dict[str, Any]], top: int = TOP_FEATURES
) -> RunComparison:
    """Compare runs; ``saved_curves`` maps run id to what ``finish_run`` saved (may be empty)."""
    hashes = {r.snapshot_hash for r in runs}
    return RunComparison(
        runs=list(runs),
        params=_params(runs),
        metrics=_metrics(runs),
        same_data=len(hashes) == 1 and None not in hashes,
        curves={i: saved.get("curves", {}) for i, saved in saved_curves.items()},
        importances={i: _top_features(saved, top) for i, saved in saved_curves.items()},
    )


def iteration_ticks(end: int, count: int = 5) -> list[int]:
    """Where the faces' curve plots put their iteration ticks: 1, then round multiples
    (1, 2 or 5 times a power of ten) up to ``end``, at most ``count`` after the 1.
    plotext's own ticks are fractions such as 50000.8."""
    if end <= 1:
        return [1]
    raw = (end - 1) / (count - 1)
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [1, *(k for k in range(step, end + 1, step) if k > 1)]


def fmt_metric(value: float | None, missing: str = "") -> str:
    """A metric as the faces show it side by side: four decimals so digits line up, three
    significant digits for tiny non-zero values (which four decimals would show as 0.0000)."""
    if value is None or math.isnan(value):
        return missing
    return f"{value:.4f}" if value == 0 or abs(value) >= 1e-3 else f"{value:.3g}"


def shows_as_zero(delta: float) -> bool:
    """A difference too small for ``fmt_delta``'s four decimals: shown as '+0.0000' and
    coloured as no change by the faces."""
    return round(delta, 4) == 0


def fmt_delta(value: float | None, missing: str = "") -> str:
    """A signed difference with four decimals; one that rounds to zero is '+0.0000' (never
    '-0.0000')."""
    if value is None or math.isnan(value):
        return missing
    return f"{0.0 if shows_as_zero(value) else value:+.4f}"
