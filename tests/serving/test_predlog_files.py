"""The Parquet segments, the readers (Polars and DuckDB) and compaction, in one process."""

from __future__ import annotations

import fcntl
import os
from datetime import UTC, datetime, timedelta, timezone

import duckdb
import polars as pl
import pytest

from workbench.errors import InputError, WorkspaceNotFound
from workbench.serving.predlog import (
    Prediction,
    compact,
    create_prediction_views,
    open_prediction_log,
    predictions_dir,
    read_predictions,
    scan_predictions,
    select_inputs,
)

DAY = datetime(2026, 11, 27, tzinfo=UTC)


def at(hours: float) -> float:
    """Seconds since the epoch, ``hours`` after midnight of DAY."""
    return (DAY + timedelta(hours=hours)).timestamp()


def log_rows(workspace, rows, declare=None, flush_every=None):
    """Write ``rows`` through a real log; one segment per flush."""
    with open_prediction_log(workspace, interval=3600) as log:
        for key, schema in (declare or {}).items():
            log.sink.declare_inputs(*key, schema)
        for i, p in enumerate(rows, 1):
            assert log.emit(p)
            if flush_every and i % flush_every == 0:
                log.flush()
    assert log.stats().failed == 0, log.stats().last_error


def one(con, sql):
    """The single row a query returns."""
    (row,) = con.execute(sql).fetchall()
    return row


def files(workspace, pattern="*.parquet"):
    return sorted(predictions_dir(workspace).glob(f"*/*/*/{pattern}"))


def test_a_model_version_gets_a_folder_per_day_with_typed_input_columns(workspace):
    log_rows(
        workspace,
        [
            Prediction(
                f"r{i}",
                "churn",
                3,
                {"tenure": i, "plan": "M", "charges": 1.5 * i},
                predicted_label="Yes",
                score=0.9,
                entity_key=i,
                latency_ms=2,
                time=at(1),
            )
            for i in range(10)
        ],  # fmt: skip
        declare={("churn", 3): {"tenure": pl.Int64, "plan": "String", "charges": "Float64"}},
    )
    (path,) = files(workspace)
    assert path.parent.relative_to(predictions_dir(workspace)).as_posix() == "churn/v3/2026-11-27"
    assert path.name.startswith("seg-20261127T010000000000-20261127T010000000000-")
    frame = pl.read_parquet(path)
    assert frame.schema["in_tenure"] == pl.Int64 and frame.schema["in_plan"] == pl.String
    assert frame.schema["time"] == pl.Datetime("us", "UTC")
    assert frame["entity_key"].to_list() == [str(i) for i in range(10)]
    assert not list(predictions_dir(workspace).rglob("*.tmp"))


def test_undeclared_inputs_keep_the_type_they_first_showed(workspace):
    rows = [Prediction("a", "m", 1, {"x": 1, "y": "u"}), Prediction("b", "m", 1, {"x": None})]
    log_rows(workspace, rows, flush_every=1)
    first, second = (pl.read_parquet(f) for f in sorted(files(workspace), key=os.path.getmtime))
    assert second.schema["in_x"] == pl.Int64 and second.schema["in_y"] == pl.String
    assert first.schema == second.schema
    assert len({f.name.rsplit("-", 1)[1] for f in files(workspace)}) == 1  # one fingerprint


def test_a_value_that_does_not_fit_its_declared_type_widens_the_column_and_keeps_the_row(
    workspace,
):
    rows = [Prediction("a", "m", 1, {"x": 1}), Prediction("b", "m", 1, {"x": "n/a"})]
    log_rows(workspace, rows, declare={("m", 1): {"x": "Int64"}}, flush_every=1)
    frame = read_predictions(workspace).sort("request_id")
    assert frame["in_x"].to_list() == ["1", "n/a"]


def test_keys_a_declared_schema_does_not_name_are_not_stored(workspace):
    log_rows(workspace, [Prediction("a", "m", 1, {"x": 1, "debug": "zz"})],
             declare={("m", 1): {"x": "Int64"}})  # fmt: skip
    assert "in_debug" not in read_predictions(workspace).columns


def test_the_same_request_id_counts_once_and_the_earliest_row_wins(workspace):
    rows = [
        Prediction("r1", "churn", 1, {"x": 1}, score=0.1, time=at(1)),
        Prediction("r1", "churn", 1, {"x": 1}, score=0.2, time=at(2)),  # a retry, same batch
        Prediction("r2", "churn", 1, {"x": 2}, score=0.3, time=at(1)),
        Prediction("r1", "churn", 2, {"x": 1}, score=0.4, role="shadow", time=at(1)),
        Prediction("r2", "churn", 1, {"x": 2}, score=0.5, time=at(0.5)),  # logged later, earlier
    ]
    log_rows(workspace, rows, flush_every=2)
    frame = read_predictions(workspace).sort("request_id", "version")
    assert frame.select("request_id", "version", "score").rows() == [
        ("r1", 1, 0.1),
        ("r1", 2, 0.4),  # the shadow's answer to the same request is its own row
        ("r2", 1, 0.5),
    ]
    assert read_predictions(workspace, dedupe=False).height == 5
    assert read_predictions(workspace, "churn", 1).height == 2


def test_filters_by_model_version_role_and_time(workspace):
    rows = [
        Prediction("a", "churn", 1, {}, time=at(-1)),  # the day before
        Prediction("b", "churn", 1, {}, time=at(1)),
        Prediction("c", "churn", 2, {}, role="shadow", time=at(1)),
        Prediction("d", "churn", 2, {}, role="canary", time=at(25)),  # the day after
        Prediction("e", "fraud", 1, {}, time=at(2)),
    ]
    log_rows(workspace, rows)

    def ids(*args, **kwargs):
        return sorted(read_predictions(workspace, *args, **kwargs)["request_id"])

    assert ids() == ["a", "b", "c", "d", "e"]
    assert ids("churn") == ["a", "b", "c", "d"]
    assert ids("churn", 2) == ["c", "d"]
    assert ids(role="shadow") == ["c"]
    assert ids(role=["shadow", "canary"]) == ["c", "d"]
    assert ids(since=DAY) == ["b", "c", "d", "e"]
    assert ids(since=DAY, until=DAY + timedelta(hours=2)) == ["b", "c"]
    three_utc = datetime(2026, 11, 27, 5, tzinfo=timezone(timedelta(hours=2)))
    assert ids(until=three_utc) == ["a", "b", "c", "e"]
    with pytest.raises(InputError):
        read_predictions(workspace, since=datetime(2026, 11, 27))  # naive: which zone?
    assert ids("nobody") == []


def test_a_flush_across_midnight_writes_each_row_into_its_day(workspace):
    log_rows(workspace, [Prediction("a", "m", 1, {}, time=at(-0.001)),
                         Prediction("b", "m", 1, {}, time=at(0.001))])  # fmt: skip
    assert [f.parent.name for f in files(workspace)] == ["2026-11-26", "2026-11-27"]


def test_select_inputs_gives_the_model_feature_names(workspace):
    log_rows(workspace, [Prediction("a", "m", 1, {"tenure": 3, "plan": "M"})])
    inputs = select_inputs(scan_predictions(workspace, "m", 1)).collect()
    assert inputs.columns == ["tenure", "plan"] and inputs.row(0) == (3, "M")


def test_an_empty_log_reads_as_an_empty_typed_frame(workspace):
    frame = read_predictions(workspace, "churn")
    assert frame.height == 0 and frame.schema["time"] == pl.Datetime("us", "UTC")
    with pytest.raises(WorkspaceNotFound):
        read_predictions(workspace / "elsewhere")


def test_duckdb_views_union_versions_drop_repeats_and_see_new_segments(workspace):
    con = duckdb.connect()
    assert create_prediction_views(con, workspace) == ["predictions", "predictions_raw"]
    assert one(con, "select count(*), any_value(time) from predictions") == (0, None)
    log_rows(workspace, [Prediction("a", "churn", 1, {"x": 1}), Prediction("a", "churn", 1, {}),
                         Prediction("b", "churn", 2, {"y": "u"})])  # fmt: skip
    create_prediction_views(con, workspace)
    assert one(con, "select count(*) from predictions") == (2,)
    assert one(con, "select count(*) from predictions_raw") == (3,)
    assert one(con, "select in_y from predictions where version = 2") == ("u",)
    log_rows(workspace, [Prediction("c", "churn", 1, {"x": 3})])
    assert one(con, "select count(*) from predictions") == (3,)  # no re-creation


def test_compaction_merges_small_files_and_every_reader_sees_each_row_once(workspace):
    rows = [Prediction(f"r{i}", "churn", 1, {"x": i}, time=at(1) + i) for i in range(50)]
    log_rows(workspace, rows, flush_every=5)
    assert len(files(workspace)) == 10
    con = duckdb.connect()
    create_prediction_views(con, workspace)

    report = compact(workspace)
    assert (report.files_merged, report.files_written, report.rows_written) == (10, 1, 50)
    assert len(files(workspace, "seg-*")) == 10  # superseded, kept for the grace period
    assert read_predictions(workspace, dedupe=False).height == 50
    assert one(con, "select count(*) from predictions_raw") == (50,)

    # new segments merge with the compacted file; it and its inputs are superseded
    log_rows(workspace, [Prediction(f"s{i}", "churn", 1, {"x": i}, time=at(2)) for i in range(6)],
             flush_every=3)  # fmt: skip
    assert compact(workspace).files_merged == 3
    assert read_predictions(workspace, dedupe=False).height == 56
    assert one(con, "select count(*) from predictions_raw") == (56,)

    later = compact(workspace, now=os.path.getmtime(files(workspace, "cmp-*")[-1]) + 601)
    assert later.files_deleted == 13 and len(files(workspace)) == 1
    assert sorted(read_predictions(workspace)["request_id"]) == sorted(
        [f"r{i}" for i in range(50)] + [f"s{i}" for i in range(6)]
    )


def test_compaction_removes_repeated_request_ids_as_readers_do(workspace):
    rows = [Prediction("r", "m", 1, {}, score=s, time=at(h)) for s, h in ((0.2, 2), (0.1, 1))]
    log_rows(workspace, rows, flush_every=1)
    report = compact(workspace, grace=0)
    assert (report.duplicates_removed, report.files_deleted) == (1, 2)
    assert read_predictions(workspace, dedupe=False)["score"].to_list() == [0.1]


def test_a_lazy_frame_listed_before_a_compaction_still_reads(workspace):
    log_rows(workspace, [Prediction(f"r{i}", "m", 1, {}) for i in range(4)], flush_every=1)
    lazy = scan_predictions(workspace)
    compact(workspace)
    assert lazy.collect().height == 4


def test_a_second_compaction_waits_its_turn(workspace):
    log_rows(workspace, [Prediction(f"r{i}", "m", 1, {}) for i in range(2)], flush_every=1)
    with open(predictions_dir(workspace) / ".compact.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert compact(workspace).busy
    assert compact(workspace).files_merged == 2


def test_stale_temporary_files_are_removed_fresh_ones_kept(workspace):
    log_rows(workspace, [Prediction("r", "m", 1, {})])
    folder = files(workspace)[0].parent
    (folder / ".seg-x.parquet.1234.tmp").write_bytes(b"torn")
    assert compact(workspace).temp_files_removed == 0  # a writer may still be writing it
    assert compact(workspace, now=os.path.getmtime(folder) + 3601).temp_files_removed == 1
    assert read_predictions(workspace).height == 1


def test_a_folder_removed_under_a_running_writer_is_made_again(workspace):
    import shutil

    with open_prediction_log(workspace, interval=3600) as log:
        log.emit(Prediction("a", "m", 1, {}, time=at(1)))
        log.flush()
        shutil.rmtree(predictions_dir(workspace))
        log.emit(Prediction("b", "m", 1, {}, time=at(1)))
    assert log.stats().written == 2
    assert read_predictions(workspace)["request_id"].to_list() == ["b"]


def test_periodic_compaction_runs_until_stopped_and_survives_errors(workspace, tmp_path):
    from workbench.serving.predlog import PeriodicCompaction

    log_rows(workspace, [Prediction(f"r{i}", "m", 1, {}) for i in range(3)], flush_every=1)
    with PeriodicCompaction(workspace, every=0.01) as job:
        assert job.ran.wait(10)
    assert job.errors == 0 and job.runs >= 1
    assert len(files(workspace, "cmp-*")) == 1 and read_predictions(workspace).height == 3

    broken = PeriodicCompaction(tmp_path / "not-a-workspace", every=0.01)
    for _ in range(2):  # it fails, and runs again
        assert broken.ran.wait(10)
        broken.ran.clear()
    assert broken.stop() and broken.errors >= 2 and "no workspace" in broken.last_error


def test_compaction_leaves_a_big_file_alone_until_small_ones_add_up_to_it(workspace):
    from workbench.serving.predlog_compact import _groups
    from workbench.serving.predlog_layout import SegmentFile

    def f(size):
        return SegmentFile(workspace / f"{size}", "seg", "t", "t", "fp", size, 0.0)

    big, *small = [f(100), f(10), f(10), f(10)]
    assert _groups([big, *small], 1000) == [small]  # 100 > 30: the big file waits
    more = [f(40), f(30), f(30)]
    assert _groups([big, *more], 1000) == [[big, *more]]  # 100 <= 40 + 30 + 30
    assert _groups([f(2000), f(10)], 1000) == []  # full files are never rewritten
