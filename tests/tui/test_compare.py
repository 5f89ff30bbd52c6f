"""Pilot and snapshot tests of the Compare area (on the experiments test workspace)."""

from __future__ import annotations

from tests.tui import test_experiments as _experiments
from tests.tui.conftest import SIZE, notifications, screen_shown, settle, wait_until
from workbench.tui.screens.compare import CompareScreen, parse_run_ids
from workbench.tui.screens.run_picker import RunPicker
from workbench.tui.widgets.run_compare import ComparisonView, importance_lines

# the Experiments tests' workspace (built once per session) and app factory
experiments_template = _experiments.experiments_template
exp_root = _experiments.exp_root
make_exp_app = _experiments.make_exp_app


async def compare_ready(pilot) -> CompareScreen:
    app = pilot.app
    await wait_until(pilot, lambda: app.workspace is not None)
    await pilot.press("3")
    screen = app.screen
    assert isinstance(screen, CompareScreen)
    return screen


async def type_ids(pilot, screen: CompareScreen, text: str) -> None:
    await pilot.press("slash")
    field = screen.query_one("#compare-ids")
    field.cursor_blink = False
    field.value = ""
    await pilot.press(*text, "enter")


def test_parse_run_ids():
    assert parse_run_ids("3, 5 8") == [3, 5, 8]
    assert parse_run_ids("run 3 run 5") == [3, 5]


async def test_compare_two_runs_typed(make_exp_app):
    app = make_exp_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await compare_ready(pilot)
        assert screen.query("#compare-empty")
        await type_ids(pilot, screen, "1 2")
        await wait_until(pilot, lambda: screen.comparison is not None)
        await settle(pilot)
        comparison = screen.comparison
        assert comparison.ids == [1, 2] and comparison.same_data
        view = screen.query_one(ComparisonView)
        # the differing parameter is flagged, equal ones are not
        leaves = next(p for p in comparison.params if p.name == "num_leaves")
        assert leaves.differs and leaves.values == ["31", "7"]
        assert not next(p for p in comparison.params if p.name == "learning_rate").differs
        auc = next(m for m in comparison.metrics if m.name == "auc")
        assert auc.deltas[0] == 0 and auc.deltas[1] == auc.values[1] - auc.values[0]
        curves = view.query_one("#compare-curves")
        assert set(curves.series) == {"run 1", "run 2"} and len(curves.series["run 1"]) == 20
        bars = importance_lines(comparison, ["red", "blue"]).plain
        assert "contract" in bars and "run 1" in bars and "%" in bars
        # only the differing parameters
        await pilot.press("d")
        assert screen.only_differing
        only = ComparisonView._params(comparison, "yellow", True)
        assert only.row_count == len(comparison.differing()) == 1  # num_leaves
        assert ComparisonView._params(comparison, "yellow", False).row_count > 10


async def test_unknown_run_or_one_run_notifies(make_exp_app):
    app = make_exp_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await compare_ready(pilot)
        await type_ids(pilot, screen, "1")
        assert any("two or more" in n.message for n in notifications(app))
        await type_ids(pilot, screen, "1 99")
        await wait_until(pilot, lambda: any("99" in n.message for n in notifications(app)))
        await type_ids(pilot, screen, "1 x")
        await wait_until(
            pilot, lambda: any("not a run id" in n.message for n in notifications(app))
        )
        assert app.is_running and screen.comparison is None


async def test_pick_runs_from_the_list(make_exp_app):
    app = make_exp_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await compare_ready(pilot)
        await pilot.press("p")
        await screen_shown(pilot, RunPicker)
        picker = app.screen
        assert [c.id for c in picker.choices] == [3, 2, 1]
        await pilot.press("space", "enter")
        assert app.screen is picker  # one run is not enough
        await pilot.press("down", "down", "space", "enter")
        await wait_until(pilot, lambda: app.screen is screen)
        await wait_until(pilot, lambda: screen.comparison is not None)
        assert screen.comparison.ids == [3, 1]


def test_compare_screen(snap_compare, make_exp_app):
    async def run_before(pilot):
        screen = await compare_ready(pilot)
        await type_ids(pilot, screen, "1 2 3")
        await wait_until(pilot, lambda: screen.comparison is not None)
        await settle(pilot)

    assert snap_compare(make_exp_app(), terminal_size=SIZE, run_before=run_before)
