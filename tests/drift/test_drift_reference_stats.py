"""Reference statistics: reuse gives the same numbers, serialisation round-trips, the
binning helpers equal numpy."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tests.drift.conftest import make_frame
from workbench.drift import ReferenceStats, compute_drift, compute_reference_stats
from workbench.drift.stattests import sturges_edges


@pytest.fixture(scope="module")
def frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    return make_frame(2000, seed=11), make_frame(1500, seed=12, shift=0.2)


def test_stats_give_the_same_report_as_the_frame(frames) -> None:
    ref, cur = frames
    stats = compute_reference_stats(ref)
    assert compute_drift(stats, cur).to_dict() == compute_drift(ref, cur).to_dict()


def test_serialisation_round_trip(frames, tmp_path) -> None:
    ref, cur = frames
    stats = compute_reference_stats(ref)
    back = ReferenceStats.from_bytes(stats.to_bytes())
    assert back.rows == stats.rows and back.schema == stats.schema
    for name, col in stats.columns.items():
        other = back[name]
        assert (other.dtype, other.np_dtype, other.rows, other.n) == (
            col.dtype,
            col.np_dtype,
            col.rows,
            col.n,
        )
        assert other.values.dtype == col.values.dtype
        np.testing.assert_array_equal(other.values, col.values)
        assert (other.counts is None) == (col.counts is None)
    path = stats.save(tmp_path / "ref.stats")
    assert compute_drift(ReferenceStats.load(path), cur).to_dict() == (
        compute_drift(ref, cur).to_dict()
    )


def test_parquet_paths_and_lazy_frames(frames, tmp_path) -> None:
    ref, cur = frames
    ref.write_parquet(tmp_path / "ref.parquet")
    cur.write_parquet(tmp_path / "cur.parquet")
    by_path = compute_drift(tmp_path / "ref.parquet", str(tmp_path / "cur.parquet"))
    by_lazy = compute_drift(pl.scan_parquet(tmp_path / "ref.parquet"), cur.lazy())
    assert by_path.to_dict() == by_lazy.to_dict() == compute_drift(ref, cur).to_dict()


def test_raw_and_compressed_values() -> None:
    """Continuous columns stay raw; repetitive ones become unique values + counts."""
    df = pl.DataFrame({"cont": np.linspace(0, 1, 1000), "rep": np.arange(1000) % 7})
    stats = compute_reference_stats(df)
    assert stats["cont"].counts is None and stats["cont"].n_unique == 1000
    assert stats["rep"].counts is not None and stats["rep"].n_unique == 7
    assert stats["rep"].std == pytest.approx(np.std(np.arange(1000) % 7), rel=1e-12)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float64, np.float32])
def test_sturges_edges_equal_numpy(dtype) -> None:
    rng = np.random.default_rng(5)
    for size in (1, 2, 7, 50, 999, 4096):
        for scale in (0.3, 3, 1000):
            a = (rng.normal(0, scale, size)).astype(dtype)
            got = sturges_edges(a.min(), a.max(), a.size, a.dtype)
            want = np.histogram_bin_edges(a, bins="sturges")
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)


def test_integer_nulls_are_floats_as_in_pandas() -> None:
    df = pl.DataFrame({"i": [1, 2, None, 4] * 10})
    col = compute_reference_stats(df)["i"]
    assert col.np_dtype == "float64" and col.values.dtype == np.float64


def test_chunked_wasserstein_equals_scipy(monkeypatch) -> None:
    """The raw-sample W1 works in slices; small slices exercise every boundary."""
    from scipy import stats

    from workbench.drift import stattests

    monkeypatch.setattr(stattests, "_CHUNK", 1000)
    rng = np.random.default_rng(8)
    for n1, n2 in ((12_345, 9_876), (5_000, 5_000), (3_000, 7_001)):
        a, b = rng.normal(0, 1, n1), rng.gamma(2, 1, n2)
        ra = compute_reference_stats(pl.DataFrame({"x": a}))["x"]
        rb = compute_reference_stats(pl.DataFrame({"x": b}))["x"]
        want = stats.wasserstein_distance(a, b) / np.std(a)
        assert stattests.wasserstein_normed(ra, rb) == pytest.approx(want, rel=1e-9)


def test_load_maps_the_file_and_decodes_columns_on_use(frames, tmp_path, monkeypatch) -> None:
    """Loading reads the header only: no column is decoded and no array copied until used."""
    from workbench.drift import stats as stats_module

    ref, _ = frames
    path = compute_reference_stats(ref).save(tmp_path / "ref.stats")
    decoded = []
    real = stats_module._LazyColumns._decode
    monkeypatch.setattr(
        stats_module._LazyColumns,
        "_decode",
        lambda self, e: decoded.append(e["name"]) or real(self, e),
    )
    loaded = ReferenceStats.load(path)
    assert decoded == [] and list(loaded.columns) == ref.columns and loaded.rows == ref.height
    col = loaded["normal"]
    assert decoded == ["normal"]
    assert not col.values.flags.owndata and not col.values.flags.writeable  # a view of the file
    assert loaded["normal"] is col and decoded == ["normal"]


def test_loading_stored_stats_costs_far_less_than_computing_them(tmp_path) -> None:
    """Robust on a busy machine: CPU time (waiting for a core does not count), compared with
    computing the same statistics, best of five."""
    import time

    rng = np.random.default_rng(3)
    df = pl.DataFrame({f"x{i}": rng.normal(0, 1, 500_000) for i in range(4)})
    path = compute_reference_stats(df).save(tmp_path / "ref.stats")

    def best(fn) -> float:
        times = []
        for _ in range(5):
            t0 = time.process_time()
            fn()
            times.append(time.process_time() - t0)
        return min(times)

    computing = best(lambda: compute_reference_stats(df))
    loading = best(lambda: ReferenceStats.load(path))
    assert loading * 50 < computing, (loading, computing)


def test_older_blobs_are_refused_so_the_store_computes_them_again() -> None:
    """The Arrow rows-of-lists blobs of format 1 raise ValueError (the facade then recomputes)."""
    import io

    import pyarrow as pa

    table = pa.table({"name": ["x"]})
    sink = io.BytesIO()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    with pytest.raises(ValueError, match="older ones are computed again"):
        ReferenceStats.from_bytes(sink.getvalue())


def test_round_trip_of_every_kind_of_column(tmp_path) -> None:
    """Strings (unicode, empty), bools, small and wide ints, floats with counts and raw."""
    df = pl.DataFrame(
        {
            "s": ["é", "", "b", "é", None, "zz"] * 50,
            "b": [True, False, None, True, True, False] * 50,
            "i8": pl.Series([1, 2, 3, 1, 2, 3] * 50, dtype=pl.Int8),
            "u": pl.Series(list(range(300)), dtype=pl.UInt64),
            "f": np.linspace(0, 1, 300),
            "d": pl.date_range(pl.date(2024, 1, 1), pl.date(2024, 10, 26), eager=True),
        }
    )
    stats = compute_reference_stats(df)
    for back in (
        ReferenceStats.from_bytes(stats.to_bytes()),
        ReferenceStats.load(stats.save(tmp_path / "s")),
    ):
        assert back.schema == stats.schema
        for name, col in stats.columns.items():
            other = back[name]
            assert other.values.dtype == col.values.dtype, name
            assert other.values.tolist() == col.values.tolist(), name
            assert (None if other.counts is None else other.counts.tolist()) == (
                None if col.counts is None else col.counts.tolist()
            ), name
            assert (other.n, other.n_unique, other.rows) == (col.n, col.n_unique, col.rows)
