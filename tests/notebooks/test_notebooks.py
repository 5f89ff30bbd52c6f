"""Every notebook runs top to bottom with a real Jupyter kernel on a fresh demo workspace."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import nbformat

# nbformat and nbclient are imported where they are used, here and in the other notebook
# tests: importing them at collection cost every xdist worker about 2.5 s of CPU.

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.fixture(scope="module")
def demo_workspace(tmp_path_factory):
    from workbench.demo import create_demo

    return create_demo(tmp_path_factory.mktemp("nb") / "demo").root


def run_notebook(path: Path, workspace: Path, monkeypatch) -> nbformat.NotebookNode:
    """Execute a notebook in a real kernel with WORKBENCH_WORKSPACE set; returns it executed."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(workspace))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    return nb


def test_notebooks_are_committed_without_outputs():
    import nbformat

    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


def test_01_data_versions(demo_workspace, monkeypatch):
    nb = run_notebook(NOTEBOOKS / "01_data_versions.ipynb", demo_workspace, monkeypatch)
    text = "\n".join(
        o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
        for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )  # fmt: skip
    assert "prod-2025-09" in text and "objects verified" in text
    assert "audit problems: []" in text


def test_05_monitoring(demo_workspace, monkeypatch):
    nb = run_notebook(NOTEBOOKS / "05_monitoring.ipynb", demo_workspace, monkeypatch)
    text = "\n".join(
        o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
        for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )  # fmt: skip
    assert "estimated AUC" in text and "retrain churn-model" in text
    assert "a retraining proposal is already open" in text
