"""Pilot and snapshot tests of the Experiments area: runs table, filter, sort, marks, launch
form, live progress, cancel, failure, and many runs.

The workspace holds the demo churn data (small) and three short trainings made once per
session; their timestamps and durations are then fixed so snapshots match on any machine.
Trainings started by the tests use few rounds, two threads and no MLflow mirror.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from tests.helpers import allow_any_actor, record_fixture_edits
from tests.tui.conftest import (
    EPOCH,
    SIZE,
    app_on,
    notifications,
    private_copy,
    screen_shown,
    settle,
    wait_until,
)
from workbench.tui.screens.experiments import (
    ExperimentsScreen,
    RunsLoaded,
    TrainingEnded,
    TrainingIterations,
)
from workbench.tui.screens.train_form import TrainForm, parse_params

FAST = {"num_iterations": 20, "num_threads": 2}
TEMPLATE_RUNS = (
    ({**FAST}, "baseline"),
    ({**FAST, "num_leaves": 7}, "small trees"),
    ({**FAST, "learning_rate": 0.2}, "faster learning"),
)


def build_experiments_workspace(root: Path) -> Path:
    """churn@v1 (1,500 demo rows) and three finished runs with fixed times."""
    from workbench.api import Workspace
    from workbench.demo_data import generate

    ws = Workspace.init(root)
    settings = ws.dir / "workbench.toml"
    settings.write_text('actor = "tester"\n' + settings.read_text(), encoding="utf-8")
    allow_any_actor(settings)
    ws = Workspace(root)
    data = root / "data"
    data.mkdir()
    generate(seed=7, n_train=1500, n_per_batch=200).train.write_csv(data / "churn.csv")
    ws.add_snapshot(
        data / "churn.csv", "churn", target="churn", time_column="observed_at",
        key="customer_id", message="demo churn data",
    )  # fmt: skip
    for params, note in TEMPLATE_RUNS:
        ws.train("churn@v1", params=params, note=note, mlflow=False)
    fix_times(ws)
    return root


def fix_times(ws) -> None:
    """Deterministic created/finished times and durations for every run and snapshot."""
    with ws.store.write() as con:
        con.execute("update snapshots set created_at = ?", [EPOCH])
        ids = [r[0] for r in con.execute("select id from runs order by id").fetchall()]
        for run_id in ids:
            created = EPOCH + timedelta(hours=run_id)
            con.execute(
                "update runs set created_at = ?, finished_at = ?, duration_s = ? where id = ?",
                [created, created + timedelta(seconds=2), 1.5 * run_id, run_id],
            )
        record_fixture_edits(ws, con, "snapshots", "runs")


@pytest.fixture(scope="session")
def experiments_template(tmp_path_factory) -> Path:
    """Built once per session; tests copy it."""
    return build_experiments_workspace(tmp_path_factory.mktemp("exp-template") / "ws")


@pytest.fixture
def exp_root(experiments_template, tmp_path) -> Path:
    """A private copy of the experiments workspace."""
    return private_copy(experiments_template, tmp_path)


@pytest.fixture
def make_exp_app(exp_root):
    """The app on the experiments workspace (polling fast)."""
    return lambda poll_interval=0.2: app_on(exp_root, poll_interval)


async def experiments_ready(pilot) -> ExperimentsScreen:
    """Switch to Experiments and wait for its table."""
    app = pilot.app
    await wait_until(pilot, lambda: app.workspace is not None)
    await pilot.press("2")
    screen = app.screen
    assert isinstance(screen, ExperimentsScreen)
    await wait_until(pilot, lambda: screen.rows is not None and screen.table is not None)
    await settle(pilot)
    return screen


async def open_form(pilot) -> TrainForm:
    await pilot.press("n")
    await screen_shown(pilot, TrainForm)
    form = pilot.app.screen
    for field in form.query("Input"):
        field.cursor_blink = False
    return form


def fill(form: TrainForm, **values: str) -> None:
    """Set form fields by id suffix (``num_iterations="20"``, ``extra="num_threads=2"``)."""
    for name, value in values.items():
        form.query_one(f"#train-{name.replace('_size', '-size')}").value = value
    form.query_one("#train-mlflow").value = False


def _unique(messages: list, kind: type) -> list:
    """Messages of ``kind``, each once (the hook may see a message more than once)."""
    seen: dict[int, object] = {}
    for m in messages:
        if isinstance(m, kind):
            seen.setdefault(id(m), m)
    return list(seen.values())


def _statuses(screen: ExperimentsScreen) -> dict[int, str]:
    return dict(zip(screen.rows.ids, screen.rows.statuses, strict=True))


# -- table ---------------------------------------------------------------------------------


async def test_table_lists_runs_newest_first(make_exp_app):
    app = make_exp_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await experiments_ready(pilot)
        assert screen.rows.ids == [3, 2, 1]
        assert set(_statuses(screen).values()) == {"finished"}
        table = screen.table
        assert table.has_focus
        labels = screen.rows.labels
        for label in ("id ▼", "status", "snapshot", "target", "task", "auc", "logloss", "lr",
                      "leaves", "rounds", "best", "took", "created", "note"):  # fmt: skip
            assert label in labels
        row = dict(zip(screen.rows.fields, table.get_row_at(2), strict=True))
        assert row["note"] == "baseline" and row["num_leaves"] == 31
        assert row["duration_s"] == "1.5s" and row["created_at"] == "03-01 10:30"
        assert 0.5 < row["auc"] <= 1


async def test_a_reload_under_a_modal_gives_focus_back_to_the_new_table(make_exp_app):
    # The table a reload replaces gives its focus to the new one even while another screen is
    # on top (a training's first reload can land while the launch form is closing).
    app = make_exp_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await experiments_ready(pilot)
        before = screen.table
        assert app.focused is before
        await pilot.press("question_mark")
        assert app.screen is not screen
        screen.refresh_runs()
        await wait_until(pilot, lambda: screen.table is not before)
        await settle(pilot)
        await pilot.press("escape")
        assert app.screen is screen
        assert app.focused is screen.table, app.focused


async def test_a_reload_hands_focus_straight_from_the_old_table_to_the_new(make_exp_app):
    # A reload mounts a new table, then removes the old one. At every message the app handles
    # meanwhile, the focused widget is the table the screen has in place: never the filter
    # (where a key typed during the reload would land) and never a table that is not (yet) in
    # place. (It failed as `app.focused is screen.table` in the cancel test, when a reload
    # landed while the machine was busy.)
    seen: list[tuple[object, object]] = []
    watched: list[ExperimentsScreen] = []

    def look(_message) -> None:
        seen.extend((screen.focused, screen.table) for screen in watched)

    app = make_exp_app()
    async with app.run_test(size=SIZE, message_hook=look) as pilot:
        screen = await experiments_ready(pilot)
        before = screen.table
        watched.append(screen)
        screen.refresh_runs()
        await wait_until(pilot, lambda: screen.table is not before)
        await settle(pilot)
        watched.clear()
    assert seen and all(focused is table for focused, table in seen), [
        (type(f).__name__, f is before, t is before) for f, t in seen if f is not t
    ]


@pytest.mark.slow
async def test_filter_with_the_cli_language_and_a_bad_filter(make_exp_app):
    app = make_exp_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await experiments_ready(pilot)
        await pilot.press("slash")
        assert screen.focused.id == "runs-filter"
        await pilot.press(*"num_leaves = 7 or note = baseline", "enter")
        await wait_until(pilot, lambda: screen.rows.ids == [2, 1])
        assert screen.where == "num_leaves = 7 or note = baseline"
        assert screen.table.has_focus
        # a bad filter: the parser's one-line reason, the table keeps the last good result
        await pilot.press("slash", "end", "ctrl+u", *"auc >", "enter")
        await wait_until(pilot, lambda: screen.filter_error is not None)
        status = str(screen.query_one("#runs-status").render())
        assert "filter:" in status and "expected a value" in status
        assert screen.rows.ids == [2, 1] and app.is_running
        await pilot.press("slash", "end", "ctrl+u", *"bogus_name > 1", "enter")
        await wait_until(pilot, lambda: "unknown field" in (screen.filter_error or ""))
        # an empty filter shows every run again
        await pilot.press("slash", "end", "ctrl+u", "enter")
        await wait_until(pilot, lambda: screen.rows.ids == [3, 2, 1])
        assert screen.filter_error is None


@pytest.mark.slow
async def test_sort_cycles_columns_reverses_and_header_click(make_exp_app):
    app = make_exp_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await experiments_ready(pilot)
        assert screen.sort == "-id"
        await pilot.press("s")
        await wait_until(pilot, lambda: screen.sort == "-status")
        await pilot.press("S")
        await wait_until(pilot, lambda: screen.sort == "status")
        # sort by auc, best first, through the key that cycles
        while screen.sort != "-auc":
            await pilot.press("s")
            await settle(pilot)
        aucs = [screen.table.get_row_at(i)[screen.rows.column_of("auc")] for i in range(3)]
        assert aucs == sorted(aucs, reverse=True)
        assert "auc ▼" in screen.rows.labels
        # clicking the leaves header sorts by it, clicking again reverses
        await settle(pilot)
        table = screen.table
        column = screen.rows.column_of("num_leaves")
        table.post_message(table.HeaderSelected(table, column, table.ordered_columns[column].label))
        await wait_until(pilot, lambda: screen.sort == "-num_leaves")
        assert screen.rows.ids[-1] == 2  # 7 leaves: last
        await settle(pilot)
        table = screen.table
        table.post_message(table.HeaderSelected(table, column, table.ordered_columns[column].label))
        await wait_until(pilot, lambda: screen.sort == "num_leaves")
        assert screen.rows.ids[0] == 2


async def test_mark_runs_and_open_compare(make_exp_app):
    from workbench.tui.screens.compare import CompareScreen

    app = make_exp_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await experiments_ready(pilot)
        await pilot.press("c")
        assert any("Mark two" in n.message for n in notifications(app))
        await pilot.press("space", "down", "down", "space")
        assert screen.marked == [3, 1]
        assert screen.table.get_row_at(0)[0] == "●" and screen.table.get_row_at(1)[0] == " "
        await pilot.press("c")
        await screen_shown(pilot, CompareScreen)
        compare = app.screen
        await wait_until(pilot, lambda: compare.comparison is not None)
        assert compare.comparison.ids == [3, 1]
        await pilot.press("2")
        assert app.screen is screen and screen.marked == [3, 1]
        await pilot.press("u")
        assert screen.marked == [] and screen.table.get_row_at(0)[0] == " "


async def test_fast_keys_mark_the_rows_under_the_cursor(make_exp_app):
    """Keys handled before the table's RowHighlighted messages (a fast typist, key repeat)."""
    app = make_exp_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await experiments_ready(pilot)
        ids = screen.rows.ids
        # space, down, space, down, space with no message handled in between
        screen.action_toggle_mark()
        screen.table.action_cursor_down()
        screen.action_toggle_mark()
        screen.table.action_cursor_down()
        screen.action_toggle_mark()
        assert screen.marked == ids[:3]
        await pilot.pause()
        assert [screen.table.get_row_at(r)[0] for r in range(3)] == ["●", "●", "●"]


# -- launch, progress, cancel, failure -----------------------------------------------------


@pytest.mark.slow
async def test_form_defaults_to_the_snapshot_target_and_shows_parameter_defaults(make_exp_app):
    from workbench.experiments.params import DEFAULT_PARAMS

    app = make_exp_app()
    async with app.run_test(size=SIZE) as pilot:
        await experiments_ready(pilot)
        form = await open_form(pilot)
        assert form.query_one("#train-snapshot").value == "churn@v1"
        assert form.query_one("#train-target").value == "churn"
        assert form.query_one("#train-task").value == "auto"
        for name in ("learning_rate", "num_leaves", "num_iterations", "early_stopping_round"):
            assert form.query_one(f"#train-{name}").value == str(DEFAULT_PARAMS[name])
        fill(form, num_leaves="many")
        await pilot.click("#train-run")
        assert app.screen is form  # the form says what is wrong and stays open
        assert "leaves must be a number" in str(form.query_one("#train-error").render())
        await pilot.press("escape")
        assert isinstance(app.screen, ExperimentsScreen)


async def test_form_refuses_a_time_split_on_a_snapshot_without_a_time_column(
    make_exp_app, exp_root, tmp_path
):
    from workbench.api import Workspace

    ws = Workspace(exp_root)
    untimed = tmp_path / "untimed.csv"
    ws.load("churn@v1").drop("observed_at").write_csv(untimed)
    ws.add_snapshot(untimed, "untimed", target="churn")
    app = make_exp_app()
    async with app.run_test(size=SIZE) as pilot:
        await experiments_ready(pilot)
        form = await open_form(pilot)
        form.query_one("#train-snapshot").value = "untimed@v1"
        form.query_one("#train-split").value = "time"
        await pilot.pause()
        await pilot.click("#train-run")
        assert app.screen is form
        assert "on untimed@v1 needs a time column, and it records none" in str(
            form.query_one("#train-error").render()
        )
        form.query_one("#train-snapshot").value = "churn@v1"  # it has one
        await pilot.pause()
        assert form.request() is not None and form.request().split == "time"
        await pilot.press("escape")


def test_parse_params():
    assert parse_params("a=1, b=0.5 c=true d=gbdt") == {"a": 1, "b": 0.5, "c": True, "d": "gbdt"}
    with pytest.raises(ValueError, match="not key=value"):
        parse_params("oops")


async def test_opening_the_form_loads_what_training_needs_meanwhile(make_exp_app, exp_root):
    """LightGBM, MLflow and the tracking store load while the user fills the form."""
    store = exp_root / ".workbench" / "mlflow" / "mlflow.db"
    assert not store.exists()  # the template's runs were not mirrored
    app = make_exp_app()
    async with app.run_test(size=SIZE) as pilot:
        await experiments_ready(pilot)
        await open_form(pilot)
        await wait_until(pilot, store.exists)  # before any training
        assert isinstance(app.screen, TrainForm)
        await pilot.press("escape")


@pytest.mark.slow
async def test_launch_a_training_and_see_it_finish(make_exp_app):
    messages = []
    app = make_exp_app()
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        screen = await experiments_ready(pilot)
        form = await open_form(pilot)
        fill(form, num_iterations="25", early_stopping_round="0", extra="num_threads=2",
             note="from the form")  # fmt: skip
        await pilot.click("#train-run")
        await wait_until(pilot, lambda: app.screen is screen)
        # (25 iterations may already be done here: "training" is not asserted, the panel is)
        panel = screen.query_one("#training-panel")
        assert panel.display
        await wait_until(pilot, lambda: not screen.training)
        await wait_until(pilot, lambda: 4 in screen.rows.ids)
        await settle(pilot)
        ended = _unique(messages, TrainingEnded)
        assert [e.status for e in ended] == ["finished"] and ended[0].run_id == 4
        progress = _unique(messages, TrainingIterations)
        assert progress and progress[-1].iteration == 25
        iterations = [m.iteration for m in progress]
        assert iterations == sorted(iterations)
        assert sum(len(m.valid) for m in progress) == 25  # every point arrives, batched
        assert panel.iteration == 25 and len(panel.valid) == 25
        assert panel.query_one("#train-bar").percentage == 1.0
        assert _statuses(screen)[4] == "finished"
        assert screen.highlighted_id == 4  # the cursor follows the new run
        row = dict(zip(screen.rows.fields, screen.table.get_row_at(0), strict=True))
        assert row["note"] == "from the form" and row["num_iterations"] == 25
        assert any(n.title == "Training finished" for n in notifications(app))


@pytest.mark.slow
async def test_cancel_a_long_training_and_keys_answer_meanwhile(make_exp_app):
    messages = []
    app = make_exp_app()
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        screen = await experiments_ready(pilot)
        form = await open_form(pilot)
        # tiny steps, no early stopping: far longer than the test waits
        fill(form, learning_rate="0.000001", num_iterations="1000000", early_stopping_round="0",
             extra="num_threads=2")  # fmt: skip
        await pilot.click("#train-run")
        await wait_until(pilot, lambda: any(isinstance(m, TrainingIterations) for m in messages))
        assert screen.training
        assert app.focused is screen.table, app.focused
        # keys answer while it trains (the worker is still running when they are done):
        # switch away and back, open help and close it
        await pilot.press("1")
        assert app.current_mode == "data"
        await pilot.press("2")
        assert app.screen is screen and screen.training
        await pilot.press("question_mark")
        assert app.screen is not screen
        await pilot.press("escape")
        assert app.screen is screen and screen.training
        assert screen.check_action("cancel_training", ()) is True
        await pilot.press("x")
        await wait_until(pilot, lambda: not screen.training)
        await wait_until(pilot, lambda: _statuses(screen).get(4) == "cancelled")
        await settle(pilot)
        ended = _unique(messages, TrainingEnded)
        assert [e.status for e in ended] == ["cancelled"]
        assert any("cancelled" in n.message for n in notifications(app))
        assert "cancelled run 4" in str(screen.query_one("#train-stats").render())
        assert app.is_running


@pytest.mark.slow
async def test_a_failing_training_notifies_and_the_run_is_failed(make_exp_app):
    app = make_exp_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await experiments_ready(pilot)
        form = await open_form(pilot)
        fill(form, num_leaves="-3", extra="num_threads=2")
        form.query_one("#train-note").focus()
        await pilot.press("enter")  # enter in a field submits too
        await wait_until(pilot, lambda: app.screen is screen)
        await wait_until(pilot, lambda: not screen.training)
        await wait_until(pilot, lambda: _statuses(screen).get(4) == "failed")
        await settle(pilot)
        errors = [n for n in notifications(app) if n.severity == "error"]
        assert errors and errors[0].title == "Training failed"
        assert "num_leaves must be > 1" in errors[0].message
        assert app.is_running
        # the reason shows under the table for the highlighted failed run
        await wait_until(
            pilot,
            lambda: "num_leaves" in str(screen.query_one("#run-detail").render()),
            state=lambda: (
                str(screen.query_one("#run-detail").render()),
                screen.highlighted_id,
                screen._reasons,
                screen.rows.ids,
                screen.rows.statuses,
                screen.table.cursor_row,
                [w.name for w in app.workers],
            ),
        )
        # and a new training can start afterwards
        form = await open_form(pilot)
        await pilot.press("escape")


@pytest.mark.slow
async def test_one_class_target_fails_readably(make_exp_app, exp_root):
    import polars as pl

    from workbench.api import Workspace

    ws = Workspace(exp_root)
    frame = ws.load("churn@v1").with_columns(pl.lit("No").alias("churn"))
    frame.write_csv(exp_root / "data" / "one_class.csv")
    ws.add_snapshot(exp_root / "data" / "one_class.csv", "constant", target="churn",
                    time_column="observed_at", key="customer_id")  # fmt: skip
    app = make_exp_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await experiments_ready(pilot)
        form = await open_form(pilot)
        form.query_one("#train-snapshot").value = "constant@v1"
        await pilot.pause()
        assert form.query_one("#train-target").value == "churn"
        fill(form, extra="num_threads=2")
        await pilot.click("#train-run")
        await wait_until(pilot, lambda: not screen.training and 4 in (screen.rows.ids or []))
        await wait_until(pilot, lambda: _statuses(screen).get(4) == "failed")
        assert any(n.severity == "error" for n in notifications(app))
        assert app.is_running


def test_every_binding_has_an_id_and_a_description():
    from workbench.tui.screens.compare import CompareScreen
    from workbench.tui.screens.run_picker import RunPicker

    for owner in (ExperimentsScreen, TrainForm, CompareScreen, RunPicker):
        for binding in owner.BINDINGS:
            assert binding.id and binding.description and binding.tooltip, (owner, binding)
        assert owner.HELP


# -- many runs -----------------------------------------------------------------------------


def _bulk_runs(n: int):
    from workbench.api import RunInput

    return [
        RunInput(
            params={"learning_rate": (0.01, 0.05, 0.1)[i % 3], "num_leaves": 7 + i % 60},
            metrics={"auc": 0.6 + (i * 37 % 1000) / 2600, "logloss": 0.3 + (i % 97) / 500},
            snapshot_ref="churn@v1",
            target="churn",
            task="binary",
            note=f"bulk {i}",
            duration_s=1.0 + i % 10,
            created_at=EPOCH + timedelta(minutes=i),
        )  # fmt: skip
        for i in range(n)
    ]


@pytest.mark.slow
async def test_ten_thousand_runs_scroll_filter_and_sort(make_exp_app, exp_root):
    from workbench.api import Workspace

    ws = Workspace(exp_root)
    ws.insert_runs(_bulk_runs(10_000))
    messages = []
    app = make_exp_app()
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        screen = await experiments_ready(pilot)
        assert len(screen.rows.ids) == 10_003
        table = screen.table
        assert table.row_count == 10_003
        # the keys' CPU time, not wall time: under two test suites on two cores they took 2.3 s
        started = time.process_time()
        await pilot.press("end")
        assert table.cursor_row == 10_002
        await pilot.press("pageup", "pagedown", "up")
        await settle(pilot)
        assert time.process_time() - started < 2.0
        assert table.cursor_row == 10_001
        assert screen.highlighted_id == screen.rows.ids[10_001]
        await pilot.press("slash", *"auc > 0.9 and num_leaves = 31", "enter")
        await wait_until(pilot, lambda: screen.where.startswith("auc > 0.9"))
        expected = ws.runs(where="auc > 0.9 and num_leaves = 31")["id"].to_list()
        assert screen.rows.ids == expected and 0 < len(expected) < 10_000
        await pilot.press("S")  # oldest first
        await wait_until(pilot, lambda: screen.sort == "id")
        assert screen.rows.ids == sorted(expected)
        loads = [m for m in messages if isinstance(m, RunsLoaded)]
        assert loads


# -- snapshot ------------------------------------------------------------------------------


def test_experiments_screen(snap_compare, make_exp_app):
    async def run_before(pilot):
        screen = await experiments_ready(pilot)
        screen.query_one("#runs-filter").cursor_blink = False
        await pilot.press("down", "space")
        await settle(pilot)

    assert snap_compare(make_exp_app(), terminal_size=SIZE, run_before=run_before)


def test_experiments_training_panel(snap_compare, make_exp_app):
    """The panel after a finished training, fed fixed values (no timing in the picture)."""

    async def run_before(pilot):
        screen = await experiments_ready(pilot)
        panel = screen.query_one("#training-panel")
        panel.display = True
        panel.begin("training on churn@v1 → churn", now=0.0)
        panel.phase_started("train", 40, now=0.0)
        panel.iterations(40, [0.6 * 0.97**i + 0.3 for i in range(40)])
        panel.started_at = None
        panel.end("finished run 4 in 2s  auc 0.8123  logloss 0.4012")
        await settle(pilot)

    assert snap_compare(make_exp_app(), terminal_size=SIZE, run_before=run_before)
