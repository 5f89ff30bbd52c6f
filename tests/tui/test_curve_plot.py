"""The iteration axis of learning curves: whole-number ticks, a live axis that grows in steps."""

from __future__ import annotations

from workbench.experiments.compare import iteration_ticks
from workbench.tui.widgets.curve_plot import axis_end


def test_live_axis_doubles_before_the_curve_reaches_its_end_and_stops_at_the_rounds():
    # 200,000 rounds asked, early stopping after a few hundred: the curve stays readable
    ends = [axis_end(done, 200_000) for done in (0, 50, 90, 91, 150, 400, 1_997)]
    assert ends == [100, 100, 100, 200, 200, 800, 3_200]
    assert axis_end(146, 500) == 200 and axis_end(480, 500) == 500 and axis_end(40, 40) == 40
    assert axis_end(1_000, None) == 1_600  # rounds unknown: it only grows


def test_ticks_are_one_then_round_multiples():
    assert iteration_ticks(200) == [1, 50, 100, 150, 200]
    assert iteration_ticks(146) == [1, 50, 100]
    assert iteration_ticks(40) == [1, 10, 20, 30, 40]
    assert iteration_ticks(7) == [1, 2, 4, 6]
    assert iteration_ticks(200_000) == [1, 50_000, 100_000, 150_000, 200_000]
    assert iteration_ticks(3) == [1, 2, 3] and iteration_ticks(1) == [1]


def test_metrics_and_deltas_line_up_and_never_show_minus_zero():
    from workbench.experiments.compare import fmt_delta, fmt_metric

    assert [fmt_metric(v) for v in (0.84339, 0.0, 1.2e-5)] == ["0.8434", "0.0000", "1.2e-05"]
    assert fmt_metric(None, missing="-") == "-" and fmt_metric(float("nan")) == ""
    assert [fmt_delta(v) for v in (-4e-5, -0.0017, 0.0352, 0.0)] == [
        "+0.0000",
        "-0.0017",
        "+0.0352",
        "+0.0000",
    ]
