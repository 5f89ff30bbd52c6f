"""Policies: which figures of a window breach which limit, and hysteresis over windows.

``breaches(figures, policy, reference)`` judges one window of the champion against the
``[monitoring]`` settings and returns one ``Breach`` per policy and subject (a feature, a
metric). ``firing(history, policy)`` says which (policy, subject) pairs fire after a
sequence of judged windows: those that breached in at least ``fire_after`` of the last
``of_last`` windows. The same functions serve ``monitor check`` (the newest windows) and
``monitor backtest`` (every prefix of the history), so a backtest shows what checks would
have done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..errors import InputError
from .records import Breach
from .windows import HOLDOUT_NAMES, LOWER_IS_BETTER, VersionReference, WindowFigures

if TYPE_CHECKING:
    from ..config import MonitoringSettings

__all__ = ["POLICIES", "Policy", "breaches", "firing", "policy_from_settings"]

POLICIES = (
    "drift_share",
    "feature_score",
    "performance",
    "null_share",
    "new_categories",
    "volume",
    "latency",
    "error_rate",
)
_STATISTICAL = frozenset({"drift_share", "feature_score", "performance", "null_share",
                          "new_categories"})  # fmt: skip


@dataclass(frozen=True)
class Policy:
    """The limits one judgement uses (from ``[monitoring]``, possibly overridden)."""

    min_rows: int = 100
    drift_share: float | None = 0.5
    feature_score: float | None = None
    performance_drop: float | None = 0.05
    performance_metric: str | None = None
    null_share_increase: float | None = 0.2
    new_category_share: float | None = 0.05
    min_volume: int | None = None
    latency_p99_ms: float | None = None
    error_rate: float | None = 0.05
    fire_after: int = 1
    of_last: int = 1
    severity: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if self.fire_after > self.of_last:
            raise InputError(
                f"fire_after ({self.fire_after}) cannot exceed of_last ({self.of_last})"
            )

    def severity_of(self, policy: str) -> str:
        """The severity a policy's alerts carry."""
        return (self.severity or {}).get(policy, "warning")

    def with_overrides(self, **changes: object) -> Policy:
        """A copy with some limits changed (``None`` values are ignored)."""
        given = {k: v for k, v in changes.items() if v is not None}
        unknown = set(given) - set(self.__dataclass_fields__)
        if unknown:
            raise InputError(f"unknown policy setting(s): {', '.join(sorted(unknown))}")
        return replace(self, **given)  # type: ignore[arg-type]


def policy_from_settings(settings: MonitoringSettings) -> Policy:
    """The ``Policy`` the workspace settings describe."""
    return Policy(
        min_rows=settings.min_rows,
        drift_share=settings.drift_share,
        feature_score=settings.feature_score,
        performance_drop=settings.performance_drop,
        performance_metric=settings.performance_metric,
        null_share_increase=settings.null_share_increase,
        new_category_share=settings.new_category_share,
        min_volume=settings.min_volume,
        latency_p99_ms=settings.latency_p99_ms,
        error_rate=settings.error_rate,
        fire_after=settings.fire_after,
        of_last=settings.of_last,
        severity=dict(settings.severity),
    )


def metric_of(policy: Policy, ref: VersionReference) -> str:
    """The performance metric a policy watches for a version."""
    metric = policy.performance_metric or ref.primary_metric
    if metric not in HOLDOUT_NAMES:
        raise InputError(f"unknown performance metric {metric!r}")
    return metric


def breaches(fig: WindowFigures, policy: Policy, ref: VersionReference) -> list[Breach]:
    """Every policy ``fig`` breaches (statistical ones only with at least ``min_rows``)."""
    found: list[Breach] = []

    def add(
        name: str, subject: str, value: float | None, limit: float, message: str,
        source: str | None = None,
    ) -> None:  # fmt: skip
        found.append(Breach(name, subject, value, limit, message, fig.window_key,
                            policy.severity_of(name), source))  # fmt: skip

    if policy.min_volume is not None and fig.rows < policy.min_volume:
        add("volume", "rows", fig.rows, policy.min_volume,
            f"{fig.rows} rows, fewer than {policy.min_volume}")  # fmt: skip
    if policy.error_rate is not None and (fig.error_rate or 0) >= policy.error_rate > 0:
        add("error_rate", "requests", fig.error_rate, policy.error_rate,
            f"{fig.error_rate:.1%} of requests got no prediction")  # fmt: skip
    if policy.latency_p99_ms is not None and (fig.latency_p99_ms or 0) >= policy.latency_p99_ms:
        add("latency", "p99", fig.latency_p99_ms, policy.latency_p99_ms,
            f"p99 latency {fig.latency_p99_ms:.0f} ms")  # fmt: skip
    if fig.rows < policy.min_rows:
        return found
    share_limit, share = policy.drift_share, fig.drift_share
    if share_limit is not None and share is not None and share >= share_limit and fig.n_drifted:
        add("drift_share", "features", share, share_limit,
            f"{fig.n_drifted} of {fig.n_tested} features drifted "
            f"({', '.join(fig.drifted_features[:5])})")  # fmt: skip
    if policy.feature_score is not None:
        for name, score in fig.feature_scores.items():
            if score is not None and score >= policy.feature_score:
                add("feature_score", name, score, policy.feature_score,
                    f"{name} drift score {score:.3f}")  # fmt: skip
    if policy.null_share_increase is not None:
        for name, share in fig.null_shares.items():
            rise = share - fig.reference_null_shares.get(name, 0.0)
            if rise >= policy.null_share_increase and rise > 0:
                add("null_share", name, rise, policy.null_share_increase,
                    f"{name} is {share:.0%} null (training: "
                    f"{fig.reference_null_shares.get(name, 0.0):.0%})")  # fmt: skip
    share = fig.new_category_share
    if policy.new_category_share is not None and share and share >= policy.new_category_share:
        seen = "; ".join(
            f"{k}: {', '.join(map(str, v[:3]))}" for k, v in fig.new_categories.items()
        )
        add("new_categories", "categories", share, policy.new_category_share,
            f"{share:.1%} of rows hold unseen categories ({seen})")  # fmt: skip
    _performance(fig, policy, ref, add)
    return found


def _performance(fig: WindowFigures, policy: Policy, ref: VersionReference, add) -> None:
    if policy.performance_drop is None:
        return
    metric = metric_of(policy, ref)
    baseline = ref.holdout.get(metric)
    value, source = fig.performance(metric)
    if baseline is None or value is None:
        return
    drop = value - baseline if metric in LOWER_IS_BETTER else baseline - value
    if drop >= policy.performance_drop and drop > 0:
        add("performance", metric, value, baseline,
            f"{source} {metric} {value:.3f} vs holdout {baseline:.3f} (drop {drop:.3f})",
            source)  # fmt: skip


def firing(
    history: Sequence[Sequence[Breach]],
    policy: Policy,
    labelled: Sequence[bool] | None = None,
) -> dict[tuple[str, str], Breach]:
    """(policy, subject) -> newest breach, for the pairs that breached in at least
    ``fire_after`` of the last ``of_last`` windows of ``history`` (oldest first).

    Labels come late: the newest window with labels (``labelled``) may be older than the
    last ``of_last`` windows, yet its realized performance is the newest evidence of how the
    model does. Its performance breach counts as one more recent breach.
    """
    recent = list(history)[-policy.of_last :]
    counts: dict[tuple[str, str], int] = {}
    newest: dict[tuple[str, str], Breach] = {}
    for window in recent:
        for b in window:
            key = (b.policy, b.subject)
            counts[key] = counts.get(key, 0) + 1
            newest[key] = b
    if labelled:
        last = max((i for i, has in enumerate(labelled) if has), default=None)
        if last is not None and last < len(history) - policy.of_last:
            for b in history[last]:
                if b.policy == "performance" and b.source == "realized":
                    key = (b.policy, b.subject)
                    counts[key] = counts.get(key, 0) + 1
                    newest.setdefault(key, b)
    return {k: newest[k] for k, n in counts.items() if n >= policy.fire_after}


def is_statistical(policy: str) -> bool:
    """Whether a policy is judged only on windows with at least ``min_rows`` rows."""
    return policy in _STATISTICAL
