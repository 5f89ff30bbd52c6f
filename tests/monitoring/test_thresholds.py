"""Threshold strategies give NannyML's thresholds; leave-one-out leaves the chunk out."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.errors import InputError
from workbench.monitoring import ConstantThreshold, StandardDeviationThreshold
from workbench.monitoring.thresholds import (
    clamp_thresholds,
    leave_one_out_thresholds,
    threshold_from_dict,
)

VALUES = np.array([0.81, 0.79, np.nan, 0.84, 0.80, 0.83, 0.78])


@pytest.mark.parametrize(
    "ours,theirs_kwargs",
    [
        (StandardDeviationThreshold(), {}),
        (
            StandardDeviationThreshold(2, None),
            {"std_lower_multiplier": 2, "std_upper_multiplier": None},
        ),
        (
            StandardDeviationThreshold(30, 30),
            {"std_lower_multiplier": 30, "std_upper_multiplier": 30},
        ),
    ],
)
def test_standard_deviation_thresholds_equal_nannyml(ours, theirs_kwargs):
    from nannyml import thresholds as nml

    expected = nml.calculate_threshold_values(
        nml.StandardDeviationThreshold(**theirs_kwargs), VALUES, 0, 1
    )
    got = clamp_thresholds(ours.thresholds(VALUES), 0, 1)
    assert got == pytest.approx(expected, abs=1e-15)


def test_constant_thresholds_and_their_checks():
    assert ConstantThreshold(0.7, None).thresholds(VALUES) == (0.7, None)
    assert clamp_thresholds((-0.2, 1.3), 0.0, 1.0) == (0.0, 1.0)
    with pytest.raises(InputError, match="below upper"):
        ConstantThreshold(0.9, 0.1)
    with pytest.raises(InputError, match="at least 0"):
        StandardDeviationThreshold(-1)


def test_leave_one_out_uses_the_other_chunks():
    strategy = StandardDeviationThreshold()
    bounds = leave_one_out_thresholds(strategy, VALUES, 0.0, 1.0)
    for i, (lower, upper) in enumerate(bounds):
        others = np.delete(VALUES, i)
        mean, std = np.nanmean(others), np.nanstd(others)
        assert lower == pytest.approx(max(0.0, mean - 3 * std), abs=1e-15)
        assert upper == pytest.approx(min(1.0, mean + 3 * std), abs=1e-15)


def test_no_values_give_no_thresholds():
    assert StandardDeviationThreshold().thresholds(np.array([np.nan, np.nan])) == (None, None)


def test_strategies_round_trip_through_dicts():
    for strategy in (StandardDeviationThreshold(2, 4), ConstantThreshold(None, 0.3)):
        assert threshold_from_dict(strategy.to_dict()) == strategy
