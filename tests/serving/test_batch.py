"""Batch scoring: ``ws.score`` and ``workbench score`` on a real workspace.

Answers equal the scorer's, every row is logged (shadow rows too), the canary picks the same
rows as the server would, and an interrupted batch (Ctrl-C or a cancel) leaves neither an
output file nor log rows nor temporary files.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tests.helpers import run_cli
from tests.serving.serving_helpers import NAME, served_demo
from workbench.api import DeploymentSpec, ScoreRequest, Workspace
from workbench.errors import Cancelled
from workbench.serving.deployment import CanarySplit
from workbench.serving.predlog import MemorySink, PredictionLog


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Workspace:
    return Workspace(served_demo(tmp_path_factory.mktemp("batch") / "ws"))


def _batch_rows(ws, batch_id: str) -> pl.DataFrame:
    logged = ws.predictions(NAME)
    return logged.filter(logged["request_id"].str.starts_with(batch_id + "/"))


def test_a_file_is_scored_logged_and_written(demo, tmp_path):
    source = demo.root / "data" / "batch_2025-07.csv"
    out = tmp_path / "answers.parquet"
    request = ScoreRequest(source, DeploymentSpec(f"{NAME}@champion", shadow=f"{NAME}@challenger"),
                           out)  # fmt: skip
    result = demo.score_batch(request)
    data = demo.load("prod-2025-07")
    expected, _ = demo.scorer(f"{NAME}@v1").score_frame(data)
    assert result.frame.columns == ["customer_id", "label", "probability"]
    assert np.array_equal(result.frame["probability"].to_numpy(), expected.probability)
    assert result.frame["customer_id"].to_list() == data["customer_id"].to_list()
    assert pl.read_parquet(out).equals(result.frame)
    assert result.models == {"champion": f"{NAME}@v1", "shadow": f"{NAME}@v2"}
    logged = _batch_rows(demo, result.batch_id)
    assert result.logged == logged.height == 2 * data.height
    champion = logged.filter(pl.col("role") == "champion").sort("request_id")
    assert champion["version"].unique().to_list() == [1]
    assert set(champion["entity_key"]) == set(data["customer_id"])
    by_key = dict(zip(champion["entity_key"], champion["score"], strict=True))
    assert [by_key[k] for k in data["customer_id"]] == list(expected.probability)
    shadow = logged.filter(pl.col("role") == "shadow")
    assert shadow.height == data.height and shadow["version"].unique().to_list() == [2]
    assert champion["in_tenure_months"].dtype == pl.Int64  # inputs keep the snapshot's types


def test_ws_score_returns_a_frame_and_splits_a_canary_as_the_server_would(demo):
    data = demo.load("prod-2025-07")
    out = demo.score(data, f"{NAME}@champion", canary=f"{NAME}@challenger:0.3",
                     route_key="customer_id", log=False)  # fmt: skip
    assert out.columns == ["customer_id", "label", "probability", "role", "version"]
    assert out["customer_id"].to_list() == data["customer_id"].to_list()
    assert 0.15 < (out["role"] == "canary").mean() < 0.45


def test_the_batch_canary_uses_the_servers_split(demo):
    data = demo.load("prod-2025-07")
    spec = DeploymentSpec(f"{NAME}@champion", canary=f"{NAME}@challenger", canary_fraction=0.2,
                          route_key="customer_id", salt="shared-salt")  # fmt: skip
    result = demo.score_batch(ScoreRequest(data, spec, log=False))
    split = CanarySplit(0.2, "customer_id", "shared-salt")
    picks = [split.picks(k) for k in data["customer_id"]]
    assert (result.frame["role"] == "canary").to_list() == picks


@pytest.mark.parametrize("interrupt", [Cancelled("cancelled by the user"), KeyboardInterrupt()])
def test_an_interrupted_batch_writes_nothing(demo, tmp_path, interrupt):
    class StopAfterFirstChunk:
        def __init__(self):
            self.chunks = 0

        def start(self, task, total=None):
            pass

        def advance(self, amount=1.0):
            self.chunks += 1
            if self.chunks == 2:
                raise interrupt

        def check_cancelled(self):
            pass

    before = sorted(p.name for p in (demo.dir / "predictions").rglob("*"))
    out = tmp_path / "never.csv"
    request = ScoreRequest(demo.load("prod-2025-07"), DeploymentSpec(f"{NAME}@champion"), out,
                           chunk_rows=100)  # fmt: skip
    with pytest.raises(type(interrupt)):
        demo.score_batch(request, StopAfterFirstChunk())
    assert not out.exists() and list(tmp_path.iterdir()) == []
    after = sorted(p.name for p in (demo.dir / "predictions").rglob("*"))
    assert after == before  # no segment and no temporary file


def test_whole_frames_go_to_the_log_without_the_row_queue():
    sink = MemorySink()
    log = PredictionLog(sink, max_queue=10, interval=3600)
    frame = pl.DataFrame({"request_id": [f"b/{i}" for i in range(1000)]})
    staged = log.stage_frame("m", 1, frame)
    assert sink.frames == []  # staged, not published
    assert log.commit(staged) == 1000
    assert log.stats().written == 1000 and log.stats().dropped == 0
    log.close()


def test_a_frame_written_to_parquet_reads_back_with_the_logs_columns(tmp_path):
    from datetime import UTC, datetime, timedelta

    from workbench.serving import read_predictions
    from workbench.serving.predlog import open_prediction_log

    (tmp_path / ".workbench").mkdir()
    log = open_prediction_log(tmp_path)
    log.sink.declare_inputs("m", 3, {"x": "Int64", "plan": "Categorical"})
    midnight = datetime(2026, 1, 2, tzinfo=UTC)
    frame = pl.DataFrame(
        {
            "request_id": ["a", "b", "c"],
            "time": [midnight - timedelta(seconds=1), midnight, midnight],
            "score": [0.1, 0.2, 0.3],
            "in_x": [1, 2, 3],
            "in_plan": pl.Series(["p", "q", None], dtype=pl.Categorical),
            "in_ignored": [1, 2, 3],
        }
    )
    assert log.write_frame("m", 3, frame) == 3
    log.close()
    days = sorted(p.name for p in (tmp_path / ".workbench/predictions/m/v3").iterdir())
    assert days == ["2026-01-01", "2026-01-02"]  # split at midnight, as rows are
    back = read_predictions(tmp_path, "m").sort("request_id")
    assert back["request_id"].to_list() == ["a", "b", "c"]
    assert back["version"].to_list() == [3, 3, 3] and back["in_x"].dtype == pl.Int64
    assert back["in_plan"].dtype == pl.String and "in_ignored" not in back.columns


def test_the_cli_scores_a_file_to_stdout_and_to_a_file(demo, tmp_path):
    source = demo.root / "data" / "batch_2025-07.csv"
    res = run_cli("-w", str(demo.root), "score", str(source), "--model", f"{NAME}@champion",
                  timeout=300)  # fmt: skip
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "customer_id,label,probability" and len(lines) == 301
    assert "scored 300 rows with churn-model@v1 (champion)" in res.stderr
    out = tmp_path / "a.csv"
    res = run_cli("-w", str(demo.root), "score", str(source), "-o", str(out), "--json",
                  "--no-log", timeout=300)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert pl.read_csv(out).height == 300
    assert '"logged": 0' in res.stdout
    res = run_cli("-w", str(demo.root), "score", str(source), "--model", "churn-model@nope")
    assert res.returncode == 2 and res.stderr.startswith("error: ")
