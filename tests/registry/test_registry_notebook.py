"""notebooks/04_registry_and_decisions.ipynb runs top to bottom in a real Jupyter kernel."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.registry.conftest import make_demo_layout

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "04_registry_and_decisions.ipynb"


def test_notebook_is_committed_without_outputs():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None


@pytest.mark.slow  # a kernel, three trainings, a fresh MLflow store: ~40-70 s
def test_04_registry_and_decisions(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    root = make_demo_layout(tmp_path / "demo")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(root))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )  # fmt: skip
    client.execute()
    text = "\n".join(
        o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
        + str(o.get("data", {}).get("text/markdown", ""))
        for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )  # fmt: skip
    assert "refused: intern has role developer" in text
    assert "MLflow champion predicts like ours: True" in text
    assert "# Model card: churn-model@v" in text and "## Gate results" in text
    assert "audit problems: []" in text
