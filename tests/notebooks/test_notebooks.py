"""The notebooks in notebooks/, each run top to bottom in a real Jupyter kernel
on its own copy of a fresh demo workspace, and what they find compared with the TUI.

Every notebook in the folder is picked up (a new one runs without touching this file). Most are
given their workspace papermill-style, through a cell injected after the cell tagged
``parameters``; ``01`` through ``WORKBENCH_WORKSPACE`` alone, as ``workbench notebook`` opens
them. A notebook writes its key numbers to ``<results>/<name>.json``; for the areas below
(``SCREENS``) the real app is then driven with Pilot on the same workspace and what its screens
show is compared with those numbers. The kernel imports this checkout's ``workbench`` (its
``PYTHONPATH`` starts with the repository), which a final injected cell checks.
"""

from __future__ import annotations

import ast
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import nbformat

# nbformat, nbclient and Textual are imported where they are used: importing them at
# collection cost every xdist worker seconds of CPU.

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
ALL = sorted(NOTEBOOKS.glob("*.ipynb"))
#: opened through WORKBENCH_WORKSPACE alone (how `workbench notebook` opens them)
THROUGH_ENV = {"01_data_versions"}
#: quick enough for a quick run: no MLflow, no Evidently, no trainings
NOT_SLOW = {"01_data_versions"}
#: notebooks written before the parameters cell (on the monitor branch): they open the
#: workspace through WORKBENCH_WORKSPACE only; give them a parameters cell and drop them here
WITHOUT_PARAMETERS = {"05_monitoring"}
#: what a notebook may import from the workbench
PUBLIC = {"workbench.api", "workbench.presentation"}
CHECK_KERNEL = "import workbench\nprint('workbench from', workbench.__file__)"


def _params(paths: list[Path]) -> list:
    return [
        pytest.param(p, id=p.stem, marks=() if p.stem in NOT_SLOW else pytest.mark.slow)
        for p in paths
    ]


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory) -> Path:
    """`workbench demo`'s workspace, built once per module and copied per notebook."""
    from workbench.demo import create_demo

    return create_demo(tmp_path_factory.mktemp("nb") / "demo").root


@pytest.fixture
def demo_copy(demo_template, tmp_path) -> Path:
    root = tmp_path / "demo"
    shutil.copytree(demo_template, root)
    return root


def _inject(nb: nbformat.NotebookNode, values: dict[str, object]) -> bool:
    """Insert papermill's ``injected-parameters`` cell after the ``parameters`` cell."""
    from nbformat.v4 import new_code_cell

    for i, cell in enumerate(nb.cells):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            source = "\n".join(f"{k} = {v!r}" for k, v in values.items())
            injected = new_code_cell(source, metadata={"tags": ["injected-parameters"]})
            nb.cells.insert(i + 1, injected)
            return True
    return False


async def execute(
    path: Path, workspace: Path, results: Path, cwd: Path, monkeypatch
) -> tuple[nbformat.NotebookNode, float]:
    """Run ``path`` in a fresh kernel on ``workspace``; the executed notebook and its seconds."""
    import nbformat
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell

    nb = nbformat.read(path, as_version=4)
    injected = path.stem not in THROUGH_ENV | WITHOUT_PARAMETERS and _inject(
        nb, {"WORKSPACE": str(workspace), "RESULTS_DIR": str(results)}
    )
    if injected:  # nothing else may lead the notebook to its workspace
        monkeypatch.delenv("WORKBENCH_WORKSPACE", raising=False)
        monkeypatch.delenv("WORKBENCH_NOTEBOOK_RESULTS", raising=False)
    else:
        monkeypatch.setenv("WORKBENCH_WORKSPACE", str(workspace))
        monkeypatch.setenv("WORKBENCH_NOTEBOOK_RESULTS", str(results))
    nb.cells.append(new_code_cell(CHECK_KERNEL))
    path_var = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    monkeypatch.setenv("PYTHONPATH", path_var)
    # Headless and still drawn: the inline backend renders PNGs with Agg (MPLBACKEND=Agg would
    # draw nothing a test could see).
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")  # LightGBM's threads sleep while waiting
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    started = time.monotonic()
    await client.async_execute()
    seconds = time.monotonic() - started
    checked = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert f"workbench from {REPO / 'workbench'}" in checked, checked
    nb.cells.pop()
    return nb, seconds


def outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def text_of(nb: nbformat.NotebookNode) -> str:
    return "\n".join(
        o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
        + str(o.get("data", {}).get("text/markdown", ""))
        for o in outputs(nb)
    )  # fmt: skip


def check_readable(nb: nbformat.NotebookNode) -> None:
    """Every result a cell ends with shows as HTML (a table, not a repr), and every cell that
    makes a figure shows it."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.outputs:
            if out.output_type == "execute_result":
                data = out.get("data", {})
                assert "text/html" in data or "image/png" in data, (i, data.get("text/plain"))
        if "plt.subplots" in cell.source:
            assert any("image/png" in o.get("data", {}) for o in cell.outputs), (i, cell.source)


@pytest.mark.parametrize("path", _params(ALL))
async def test_notebook(path, demo_copy, tmp_path, monkeypatch, record_property):
    results = tmp_path / "results"
    nb, seconds = await execute(path, demo_copy, results, tmp_path, monkeypatch)
    record_property("notebook_seconds", round(seconds, 1))
    print(f"{path.name}: {seconds:.1f} s")
    check_readable(nb)
    produced = results / f"{path.stem}.json"
    numbers = json.loads(produced.read_text()) if produced.exists() else None
    check = CHECKS.get(path.stem)
    if check is not None:
        assert numbers is not None, f"{path.name} wrote no {produced.name}"
        check(nb, numbers)
    for needle in TEXT.get(path.stem, ()):
        assert needle in text_of(nb), needle
    screens = SCREENS.get(path.stem)
    if screens is not None:
        await screens(demo_copy, numbers)


# -- what each notebook must have found ------------------------------------------------------


def _data_versions(nb, numbers) -> None:
    assert numbers["snapshots"] == 8 and numbers["dataset"] == "churn" and numbers["versions"] == 2
    assert numbers["diff"]["added"] == 3000 and numbers["verify_ok"]
    assert "prod-2025-09@v1" in numbers["failed_validations"]  # nulls in total_charges
    assert "prod-2025-07@v1" not in numbers["failed_validations"]  # ranges only


def _experiments(nb, numbers) -> None:
    # the notebook's six runs beside the demo's champion run
    assert numbers["finished"] == numbers["runs"] == 7
    best_of_sweep = str(numbers["compared"][-1])
    assert numbers["rescored_auc"] == pytest.approx(numbers["compare_auc"][best_of_sweep])
    assert numbers["same_data"] is True


def _drift(nb, numbers) -> None:
    assert (numbers["reference"], numbers["current"]) == ("churn@v1", "prod-2025-12@v1")
    assert numbers["flagged_batches"] == ["prod-2025-09@v1"]
    assert numbers["strongest_batch"] == "prod-2025-09@v1" and numbers["saved_report"] == 1
    assert any("<iframe" in o.get("data", {}).get("text/html", "") for o in outputs(nb))


def _registry(nb, numbers) -> None:
    text = text_of(nb)
    assert "refused: intern has role developer" in text
    assert "MLflow champion predicts like ours: True" in text
    # the notebook's proposal beside the retraining proposal the demo's monitoring filed
    assert numbers["champion"] == "churn-model@v1" and numbers["pending_decisions"] == 2
    assert sorted(numbers["statuses"].values()).count("rejected") == 1


def _governance(nb, numbers) -> None:
    assert numbers["audit_ok"] and numbers["anchor"].startswith(f"{numbers['audit_entries']}:")
    assert numbers["tamper_edit_problems"] >= 1 and numbers["tamper_anchor_caught"]
    assert numbers["card_title"] == f"# Model card: {numbers['champion']}"
    assert set(numbers["os_accounts"]) <= {os_account()} and numbers["actors"]


def os_account() -> str:
    from workbench.processes import os_account as account

    return account()


#: what a notebook without a numbers file must print
TEXT = {
    "05_monitoring": (
        "estimated AUC",
        "retrain churn-model",
        "a retraining proposal is already open",
    ),
}

CHECKS = {
    "01_data_versions": _data_versions,
    "02_experiments": _experiments,
    "03_drift": _drift,
    "04_registry_and_decisions": _registry,
    "06_governance": _governance,
}


# -- the same objects in the TUI -------------------------------------------------------------


def _shown(widget) -> str:
    """What a Static shows, as plain text (its content may be a Rich table or group)."""
    from rich.console import Console

    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(widget.content)
    return console.export_text()


def _number(cell) -> float:
    return float(str(cell).replace(",", ""))


async def _area(pilot, key: str, kind: type, ready) -> object:
    from tests.tui.conftest import settle, wait_until

    app = pilot.app
    await wait_until(pilot, lambda: app.workspace is not None)
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(app.screen, kind) and ready(app.screen))
    await settle(pilot)
    return app.screen


async def _data_screen(root: Path, numbers: dict) -> None:
    """Data (1): the snapshot table, the detail pane, and the diff of two marked snapshots."""
    from tests.tui.conftest import SIZE, app_on, data_ready, screen_shown
    from workbench.tui.screens.snapshot_diff import SnapshotDiffScreen

    app = app_on(root)
    async with app.run_test(size=SIZE) as pilot:
        await data_ready(pilot)
        screen = app.screen
        rows, table = screen.rows, screen.table
        assert len(rows.ids) == numbers["snapshots"] == table.row_count
        assert screen.query_one("#snapshot-pane").border_title == f"Snapshots ({len(rows.ids)})"
        cells = {rows.refs[i]: table.get_row_at(i) for i in range(table.row_count)}
        assert {ref: int(_number(c[3])) for ref, c in cells.items()} == numbers["rows"]
        assert {ref: int(_number(c[4])) for ref, c in cells.items()} == numbers["columns"]
        assert rows.refs[0] == numbers["newest"]
        detail = screen.query_one("#snapshot-detail")
        assert detail.snapshot_id == rows.ids[0]
        assert len(detail.query(".profile-row")) == numbers["columns"][numbers["newest"]]
        diff = numbers["diff"]
        for ref in (diff["b"], diff["a"]):  # mark both, newest first as the table lists them
            target = rows.refs.index(ref)
            keys = ["down"] * (target - table.cursor_row) + ["up"] * (table.cursor_row - target)
            await pilot.press(*keys, "space")
        await pilot.press("d")
        diff_screen = await screen_shown(pilot, SnapshotDiffScreen)
        summary = _shown(diff_screen.query_one("#diff-summary"))
        assert f"{diff['a']}  →  {diff['b']}" in summary
        assert f"rows {diff['rows_before']:,} → {diff['rows_after']:,}" in summary
        by_key = _shown(diff_screen.query_one("#diff-rows")).split()
        assert [f"{diff[k]:,}" for k in ("added", "removed", "changed")] == by_key[-5:-2]


async def _experiment_screens(root: Path, numbers: dict) -> None:
    """Experiments (2): the runs and the best AUC; Compare (3): the compared runs' AUCs."""
    from tests.tui.conftest import SIZE, app_on, wait_until
    from workbench.presentation import fmt_metric
    from workbench.tui.screens.compare import CompareScreen
    from workbench.tui.screens.experiments import ExperimentsScreen

    app = app_on(root)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _area(pilot, "2", ExperimentsScreen, lambda s: s.rows is not None)
        assert len(screen.rows.ids) == numbers["runs"]
        screen.refresh_runs(sort="-auc")
        await wait_until(pilot, lambda: screen.sort == "-auc" and screen.table.row_count)
        auc = screen.rows.column_of("auc")
        assert screen.rows.ids[0] == numbers["best_run"]
        assert _number(screen.table.get_row_at(0)[auc]) == round(numbers["best_auc"], 4)
        compare = await _area(pilot, "3", CompareScreen, lambda s: True)
        compare.compare(numbers["compared"])

        def metric_rows() -> list[list[str]]:
            shown = compare.query("#compare-metrics")
            lines = _shown(shown.first()).splitlines() if shown else []
            return [line.split() for line in lines if line.split()[:1] == ["auc"]]

        await wait_until(pilot, lambda: compare.comparison is not None and metric_rows())
        line = metric_rows()[0]
        expected = [fmt_metric(numbers["compare_auc"][str(i)]) for i in numbers["compared"]]
        assert line[1 : 1 + len(expected)] == expected
        same = "All runs trained on the same data."
        assert (same in _shown(compare.query_one("#compare-summary"))) == numbers["same_data"]


async def _drift_screen(root: Path, numbers: dict) -> None:
    """Drift (4): the default pair's verdict and column order; the Batches view (m)."""
    from tests.tui.conftest import SIZE, app_on, settle, wait_until
    from workbench.tui.screens.drift.screen import DriftScreen

    app = app_on(root)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _area(
            pilot, "4", DriftScreen, lambda s: s.report is not None and not s.running
        )
        assert screen.pair == (numbers["reference"], numbers["current"])
        summary = str(screen.query_one("#drift-summary").render())
        verdict = f"{numbers['n_drifted']}/{numbers['n_tested']} columns drifted, share "
        assert f"{verdict}{numbers['share']:.2f}" in summary
        table = screen.query_one("#drift-table")
        first = [str(table.get_row_at(i)[1]) for i in range(len(numbers["drifted_columns"]))]
        assert first == numbers["drifted_columns"]
        marked = [i for i in range(table.row_count) if "●" in str(table.get_row_at(i)[0])]
        assert len(marked) == numbers["n_drifted"] + bool(numbers["target_drifted"])
        await pilot.press("m")
        await wait_until(pilot, lambda: screen.batches is not None and not screen.running)
        await settle(pilot)
        batches = screen.query_one("#drift-batches")
        rows = [batches.get_row_at(i) for i in range(batches.row_count)]
        assert {str(r[1]): str(r[4]) for r in rows} == {
            ref: f"{share:.2f}" for ref, share in numbers["batch_share"].items()
        }
        assert [str(r[1]) for r in rows if "!" in str(r[0])] == numbers["flagged_batches"]


async def _registry_screens(root: Path, numbers: dict) -> None:
    """Models (5): versions and the champion; Decisions (7): pending, then every decision."""
    from tests.tui.conftest import SIZE, app_on, wait_until
    from workbench.tui.screens.decisions import DecisionsScreen
    from workbench.tui.screens.models import ModelsScreen

    app = app_on(root)
    async with app.run_test(size=SIZE) as pilot:
        models = await _area(pilot, "5", ModelsScreen, lambda s: bool(s.rows))
        cells = {r.ref: r.cells for r in models.rows if r.name == numbers["model"]}
        assert list(cells) == numbers["version_refs"]
        holders = [ref for ref, c in cells.items() if "champion" in c[2].split(", ")]
        assert holders == [numbers["champion"]]
        decisions = await _area(pilot, "7", DecisionsScreen, lambda s: s.loaded_token is not None)
        table = decisions.query_one("#decisions-table")
        assert table.row_count == len(decisions.decisions) == numbers["pending_decisions"]
        title = f"Pending proposals ({numbers['pending_decisions']})"
        assert decisions.query_one("#decisions-pane").border_title == title
        await pilot.press("t")
        await wait_until(pilot, lambda: decisions.show_all and table.row_count)
        statuses = {str(table.get_row_at(i)[0]): str(table.get_row_at(i)[2])
                    for i in range(table.row_count)}  # fmt: skip
        assert statuses == numbers["statuses"]


async def _governance_screens(root: Path, numbers: dict) -> None:
    """Decisions' audit log (7, l): the verdict and the head; Models (5): the champion's
    alias history, lineage tree and model card."""
    from tests.tui.conftest import SIZE, app_on, wait_until
    from workbench.tui.screens.decisions import DecisionsScreen
    from workbench.tui.screens.models import ModelsScreen

    app = app_on(root)
    async with app.run_test(size=SIZE) as pilot:
        decisions = await _area(pilot, "7", DecisionsScreen, lambda s: s.audit_problems is not None)
        await pilot.press("l")
        verdict = _shown(decisions.query_one("#decisions-audit-verify"))
        intact = "audit chain intact" if numbers["audit_ok"] else "audit chain broken"
        assert intact in verdict and f"({numbers['audit_entries']:,} entries verified)" in verdict
        log = _shown(decisions.query_one("#decisions-audit-log")).splitlines()
        assert log[1].split()[0] == numbers["anchor"].split(":")[0]  # newest first
        models = await _area(pilot, "5", ModelsScreen, lambda s: bool(s.rows))
        refs = [r.ref for r in models.rows]
        champion = numbers["champion"]
        steps = refs.index(champion) - refs.index(models.highlighted_ref)
        models.query_one("#models-table").focus()
        await pilot.press(*(["down"] * steps if steps > 0 else ["up"] * -steps))
        await wait_until(pilot, lambda: models.detail_ref == champion == models.card_ref)
        assert len(models.history) == numbers["alias_moves"]
        tree = models.query_one("#models-lineage-tree")

        def count(node) -> int:
            return 1 + sum(count(child) for child in node.children)

        assert count(tree.root) == numbers["lineage_nodes"]
        assert str(tree.root.label).startswith(f"model {numbers['lineage_root']}")
        card = models.query_one("#models-card-text").source
        assert card.splitlines()[0] == numbers["card_title"]


SCREENS = {
    "01_data_versions": _data_screen,
    "02_experiments": _experiment_screens,
    "03_drift": _drift_screen,
    "04_registry_and_decisions": _registry_screens,
    "06_governance": _governance_screens,
}


# -- the notebooks as committed --------------------------------------------------------------


def test_every_notebook_is_checked():
    """The areas this harness compares with the TUI are notebooks that exist."""
    names = {p.stem for p in ALL}
    assert set(SCREENS) <= names and set(CHECKS) <= names
    assert {"01_data_versions", "02_experiments", "03_drift", "04_registry_and_decisions",
            "06_governance"} <= names  # fmt: skip


def test_notebooks_are_committed_without_outputs():
    import nbformat

    for path in ALL:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


def _nbstripout() -> Path:
    exe = Path(sys.executable).with_name("nbstripout")
    if not exe.exists():
        pytest.skip("nbstripout is not installed")
    return exe


def test_nbstripout_verify_passes_on_the_notebooks_and_fails_on_outputs(tmp_path):
    """CI's check (.ci/run): `nbstripout --verify` accepts the committed notebooks and
    refuses one with an output."""
    import nbformat

    exe = _nbstripout()
    committed = subprocess.run(
        [str(exe), "--verify", *map(str, ALL)], capture_output=True, text=True
    )
    assert committed.returncode == 0, committed.stdout + committed.stderr
    nb = nbformat.read(ALL[0], as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells[index].outputs = [nbformat.v4.new_output("stream", name="stdout", text="left\n")]
    nb.cells[index].execution_count = 1
    dirty = tmp_path / ALL[0].name
    nbformat.write(nb, dirty)
    refused = subprocess.run([str(exe), "--verify", str(dirty)], capture_output=True, text=True)
    assert refused.returncode != 0 and dirty.name in refused.stdout
    assert nbformat.read(dirty, as_version=4).cells[index].outputs  # --verify changes nothing


def test_notebooks_import_only_the_public_api():
    """A notebook is a face: from the workbench it imports workbench.api and
    workbench.presentation only (docs/architecture.md, "Layers")."""
    import nbformat

    for path in ALL:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            code = "\n".join(
                line
                for line in cell.source.splitlines()
                if not line.lstrip().startswith(("%", "!"))
            )
            for node in ast.walk(ast.parse(code)):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                else:
                    continue
                for name in names:
                    if name == "workbench" or name.startswith("workbench."):
                        assert name in PUBLIC, f"{path.name} imports {name}"


def test_notebooks_take_their_workspace_from_parameters_or_the_environment():
    """A papermill ``parameters`` cell names WORKSPACE and RESULTS_DIR, and the notebook opens
    ``Workspace.open(WORKSPACE)`` (which falls back to WORKBENCH_WORKSPACE)."""
    import nbformat

    for path in ALL:
        nb = nbformat.read(path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        if path.stem in WITHOUT_PARAMETERS:
            continue
        assert len(tagged) == 1, path.name
        assert "WORKSPACE = None" in tagged[0].source and "RESULTS_DIR = None" in tagged[0].source
        source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert "Workspace.open(WORKSPACE)" in source, path.name
        assert "WORKBENCH_NOTEBOOK_RESULTS" in source and f"{path.stem}.json" in source
