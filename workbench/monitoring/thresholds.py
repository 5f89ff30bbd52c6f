"""Alert thresholds: strategies that turn a metric's values on reference chunks into a lower
and an upper threshold, clamped to the metric's range (as ``nannyml/thresholds.py``).

Where we depart from NannyML: a *reference* chunk is judged against thresholds computed
from the other reference chunks (leave-one-out), because a chunk inside the reference that
sets the thresholds pulls them towards itself and can hardly alert. Analysis chunks use
every reference chunk, as NannyML does.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import InputError
from .serialization import from_kind

__all__ = [
    "ConstantThreshold",
    "StandardDeviationThreshold",
    "Threshold",
    "clamp_thresholds",
    "leave_one_out_thresholds",
    "threshold_from_dict",
]

Bounds = tuple[float | None, float | None]


class Threshold(ABC):
    """Computes (lower, upper) from reference values; None means no threshold on that side."""

    kind: ClassVar[str]

    @abstractmethod
    def thresholds(self, values: np.ndarray) -> Bounds:
        """Unclamped (lower, upper) for the metric's values on reference chunks."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description that ``threshold_from_dict`` turns back into this object."""
        return {"kind": self.kind, **asdict(self)}  # type: ignore[call-overload]


def _check_number(name: str, value: object, minimum: float | None = None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{name} must be a number or None, not {value!r}")
    if minimum is not None and value < minimum:
        raise InputError(f"{name} must be at least {minimum}, not {value}")


@dataclass(frozen=True)
class StandardDeviationThreshold(Threshold):
    """Mean of the reference values, minus/plus a multiple of their standard deviation
    (NumPy's ``nanmean``/``nanstd``: chunks without a value are left out)."""

    kind: ClassVar[str] = "standard_deviation"
    std_lower_multiplier: float | None = 3
    std_upper_multiplier: float | None = 3

    def __post_init__(self) -> None:
        _check_number("std_lower_multiplier", self.std_lower_multiplier, 0)
        _check_number("std_upper_multiplier", self.std_upper_multiplier, 0)

    def thresholds(self, values: np.ndarray) -> Bounds:
        """``mean -/+ multiplier * std`` of the values that are not NaN."""
        values = np.asarray(values, dtype=np.float64)
        if np.isnan(values).all():
            return None, None
        mean = float(np.nanmean(values))
        std = float(np.nanstd(values))
        lower = (
            None if self.std_lower_multiplier is None else mean - std * self.std_lower_multiplier
        )
        upper = (
            None if self.std_upper_multiplier is None else mean + std * self.std_upper_multiplier
        )
        return lower, upper


@dataclass(frozen=True)
class ConstantThreshold(Threshold):
    """Fixed thresholds, whatever the reference did."""

    kind: ClassVar[str] = "constant"
    lower: float | None = None
    upper: float | None = None

    def __post_init__(self) -> None:
        _check_number("lower", self.lower)
        _check_number("upper", self.upper)
        if self.lower is not None and self.upper is not None and self.lower >= self.upper:
            raise InputError(f"lower threshold {self.lower} must be below upper {self.upper}")

    def thresholds(self, values: np.ndarray) -> Bounds:
        """The constants."""
        return self.lower, self.upper


def clamp_thresholds(
    bounds: Bounds, lower_limit: float | None, upper_limit: float | None
) -> Bounds:
    """Thresholds at or beyond the metric's range become the range's end (NannyML's rule)."""
    lower, upper = bounds
    if lower_limit is not None and lower is not None and lower <= lower_limit:
        lower = lower_limit
    if upper_limit is not None and upper is not None and upper >= upper_limit:
        upper = upper_limit
    return lower, upper


def leave_one_out_thresholds(
    threshold: Threshold,
    values: np.ndarray,
    lower_limit: float | None,
    upper_limit: float | None,
) -> list[Bounds]:
    """For each reference chunk, the clamped thresholds from all the *other* chunks' values."""
    values = np.asarray(values, dtype=np.float64)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nanstd of one value is fine
        for i in range(len(values)):
            others = np.delete(values, i)
            out.append(clamp_thresholds(threshold.thresholds(others), lower_limit, upper_limit))
    return out


_KINDS: dict[str, type[Threshold]] = {
    c.kind: c for c in (StandardDeviationThreshold, ConstantThreshold)
}


def threshold_from_dict(spec: dict[str, Any]) -> Threshold:
    """Rebuild a threshold from ``Threshold.to_dict()``."""
    return from_kind(_KINDS, spec, "threshold")
