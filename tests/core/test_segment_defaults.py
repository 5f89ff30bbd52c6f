"""A fresh workspace names no segment columns; the demo names its own (``gender``).

``init`` used to write the demo's ``segment_columns = ["gender"]`` into every workspace, so
every promotion of data without that column carried a skipped fairness gate.
"""

from __future__ import annotations

from tests.helpers import run_cli
from workbench.config import validate_settings


def test_init_names_no_segment_columns_and_the_demo_names_gender(tmp_path):
    res = run_cli("init", str(tmp_path / "fresh"))
    assert res.returncode == 0, res.stderr
    assert validate_settings(tmp_path / "fresh" / ".workbench").gates.segment_columns == []
    res = run_cli("demo", str(tmp_path / "demo"), "--no-ui")
    assert res.returncode == 0, res.stderr
    wdir = tmp_path / "demo" / ".workbench"
    assert validate_settings(wdir).gates.segment_columns == ["gender"]
    # settings a person edited are left alone when the demo runs again
    path = wdir / "workbench.toml"
    path.write_text(path.read_text().replace('["gender"]', '["region"]'))
    assert run_cli("demo", str(tmp_path / "demo"), "--no-ui").returncode == 0
    assert validate_settings(wdir).gates.segment_columns == ["region"]
