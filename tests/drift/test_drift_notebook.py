"""notebooks/03_drift.ipynb runs top to bottom in a real Jupyter kernel on a fresh demo
workspace (the small one of tests/drift/workspace.py: the same generator, fewer rows, so the
test stays fast) and shows the TUI's numbers."""

from __future__ import annotations

from pathlib import Path

from tests.drift.workspace import build_drift_workspace
from tests.notebooks.test_notebooks import run_notebook

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "03_drift.ipynb"


def test_03_drift_notebook(tmp_path, monkeypatch):
    import nbformat

    committed = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.outputs for c in committed.cells if c.cell_type == "code")
    root = build_drift_workspace(tmp_path / "ws")
    nb = run_notebook(NOTEBOOK, root, monkeypatch)
    text = "\n".join(
        o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
        for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )  # fmt: skip
    assert "flagged batches: ['prod-2025-09@v1']" in text
    assert "strongest single shift: prod-2025-09@v1" in text
    assert "stored drift report 1" in text and "written" in text
    html = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if "text/html" in o.get("data", {})]  # fmt: skip
    assert any("iframe" in o["data"]["text/html"] for o in html)
    # the notebook's numbers are the facade's (hence the TUI's)
    from workbench.api import Workspace

    ws = Workspace(root)
    fresh = ws.drift("churn@v1", "prod-2025-09@v1", save=False)
    assert ws.drift_report(1).to_dict()["columns"] == fresh.to_dict()["columns"]
    months = ws.drift_batches("churn@v1")
    assert months.filter(months["flagged"])["current"].to_list() == ["prod-2025-09@v1"]
