"""Wide tables: `data add` costs time linear in the number of columns.

Profiling read ``df.schema`` once per column, and Polars builds the schema anew (in Python)
on every access: one-row files of 2k, 5k and 10k columns took 4.5, 26 and 96 s. Timing a test
on a shared machine is noise, so this counts the Python calls the real command makes instead:
four times the columns must cost about four times the calls, not sixteen.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl

from workbench.snapshots.profile import profile_frame

# One process: a warm-up add loads every module, then each counted add runs under a profile
# hook (on the worker threads too) that counts function calls, Python and C.
COUNT_CALLS = """
import sys, threading
from pathlib import Path
from workbench.cli.main import main

def add(path):
    try:
        main(["-w", sys.argv[1], "data", "add", path, "--name", Path(path).stem])
    except SystemExit as exc:
        assert not exc.code, exc.code

add(sys.argv[2])
for path in sys.argv[3:]:
    calls = 0
    def hook(frame, event, arg):
        global calls
        if event in ("call", "c_call"):
            calls += 1
    threading.setprofile(hook)
    sys.setprofile(hook)
    add(path)
    sys.setprofile(None)
    threading.setprofile(None)
    print(calls, file=sys.stderr)
"""


def _one_row_csv(path: Path, columns: int) -> Path:
    # numbers, text and a text column of numbers (the profile's numeric-text check)
    values = [str(i) if i % 3 else "x" for i in range(columns)]
    path.write_text(",".join(f"c{i}" for i in range(columns)) + "\n" + ",".join(values) + "\n")
    return path


def test_data_add_calls_grow_linearly_with_columns(tmp_path):
    from workbench.api import Workspace

    Workspace.init(tmp_path / "proj")
    warm = _one_row_csv(tmp_path / "warm.csv", 3)
    narrow = _one_row_csv(tmp_path / "narrow.csv", 500)
    wide = _one_row_csv(tmp_path / "wide.csv", 2000)
    res = subprocess.run(
        [sys.executable, "-c", COUNT_CALLS, str(tmp_path / "proj"), str(warm), str(narrow),
         str(wide)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    narrow_calls, wide_calls = (int(n) for n in res.stderr.split()[-2:])
    # linear: ~3.8x (constant work included); the quadratic profile made it 10.8x
    assert wide_calls / narrow_calls < 5.5, (narrow_calls, wide_calls)
    assert Workspace.open(tmp_path / "proj").snapshot("wide").n_columns == 2000


def test_profile_takes_column_names_literally():
    """Names are not patterns: ``pl.col("^c.*$")`` would be a regular expression."""
    frame = pl.DataFrame({"^c.*$": [1.0, 2.0, 3.0], "cx": [10.0, 20.0, None], "count": [1, 1, 2]})
    by_name = {p.name: p for p in profile_frame(frame)}
    assert (by_name["^c.*$"].min, by_name["^c.*$"].max) == (1.0, 3.0)
    assert by_name["cx"].null_share == 1 / 3 and by_name["cx"].max == 20.0
    assert by_name["count"].top_values == [("1", 2), ("2", 1)]
