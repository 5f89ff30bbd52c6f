"""Data snapshots through the Python facade: versions, dedup, cache, refs, diff, export."""

from __future__ import annotations

import polars as pl
import pytest

from workbench.errors import InputError, NotFoundError
from workbench.snapshots import importer


def write_csv(path, rows: list[str], header: str = "id,x,cat,y") -> None:
    path.write_text(header + "\n" + "\n".join(rows) + "\n")


@pytest.fixture
def three_versions(ws, tmp_path):
    src = tmp_path / "customers.csv"
    write_csv(src, ["1,1.5,a,Yes", "2,2.5,b,No", "3,,a,No"])
    ws.add_snapshot(src, "churn", target="y", key="id", message="first")
    write_csv(src, ["1,1.5,a,Yes", "2,3.5,b,No", "4,1.0,c,No"])
    ws.add_snapshot(src, "churn", message="second")
    write_csv(src, ["1,1.5,a,Yes", "2,3.5,b,No", "4,1.0,c,No", "5,9.0,c,Yes"], header="id,x,cat,y")
    ws.add_snapshot(src, "churn", message="third")
    return src


def test_versions_parents_and_roles(ws, three_versions):
    snaps = ws.snapshots("churn")
    assert [s.version for s in snaps] == [3, 2, 1]
    v1, v2, v3 = reversed(snaps)
    assert v1.parent_id is None and v2.parent_id == v1.id and v3.parent_id == v2.id
    assert v3.target == "y" and v3.key_column == "id"  # carried over from the parent
    assert v3.n_rows == 4 and v3.n_columns == 4
    assert v1.schema == {"id": "Int64", "x": "Float64", "cat": "String", "y": "String"}
    assert [s.ref for s in ws.log("churn")] == ["churn@v3", "churn@v2", "churn@v1"]
    assert v1.message == "first" and v1.author == ws.actor and v1.source_hash


def test_references(ws, three_versions):
    assert ws.snapshot("churn").ref == "churn@v3"
    assert ws.snapshot("churn@latest").ref == "churn@v3"
    assert ws.snapshot("churn@v2").ref == "churn@v2"
    assert ws.snapshot("churn@2").ref == "churn@v2"
    v1 = ws.snapshot("churn@v1")
    assert ws.snapshot(v1.object_hash[:10]).ref == "churn@v1"
    with pytest.raises(NotFoundError):
        ws.snapshot("churn@v99")
    with pytest.raises(NotFoundError):
        ws.snapshot("nothing")
    with pytest.raises(InputError):
        ws.snapshot("churn@vx")


def test_profile(ws, three_versions):
    v1 = ws.snapshot("churn@v1")
    x = v1.column("x")
    assert x.kind == "numeric" and x.null_share == pytest.approx(1 / 3)
    assert (x.min, x.max, x.mean) == (1.5, 2.5, 2.0)
    assert sum(x.hist_counts) == 2 and len(x.hist_edges) == len(x.hist_counts) + 1
    cat = v1.column("cat")
    assert cat.distinct == 2 and cat.top_values[0] == ("a", 2)


def test_identical_content_makes_no_new_version_or_object(ws, tmp_path, three_versions):
    n_objects = len(list(ws.objects.digests()))
    again = ws.add_snapshot(three_versions, "churn")
    assert not again.created and again.snapshot.ref == "churn@v3"
    assert "identical" in again.detail
    # The same content from another file (and path) is recognised too.
    copy = tmp_path / "copy.csv"
    copy.write_bytes(three_versions.read_bytes())
    assert not ws.add_snapshot(copy, "churn").created
    # An older version's content is recognised as that version.
    write_csv(copy, ["1,1.5,a,Yes", "2,2.5,b,No", "3,,a,No"])
    res = ws.add_snapshot(copy, "churn")
    assert not res.created and res.snapshot.ref == "churn@v1"
    assert len(list(ws.objects.digests())) == n_objects
    assert len(ws.snapshots("churn")) == 3


def test_unchanged_file_is_not_reread(ws, tmp_path, monkeypatch):
    src = tmp_path / "a.csv"
    write_csv(src, ["1,1.0,a,No"])
    ws.add_snapshot(src, "a")

    def boom(*_a, **_k):
        raise AssertionError("the unchanged file was read again")

    monkeypatch.setattr(importer, "read_table", boom)
    assert not ws.add_snapshot(src, "a").created
    # Under another name the cached content makes a new snapshot, still without reading.
    assert ws.add_snapshot(src, "b").snapshot.ref == "b@v1"


def test_parquet_source_and_same_content_as_csv(ws, tmp_path):
    df = pl.DataFrame({"id": [1, 2], "x": [0.5, 1.5], "cat": ["a", "b"]})
    pq = tmp_path / "a.parquet"
    df.write_parquet(pq)
    csv = tmp_path / "a.csv"
    df.write_csv(csv)
    a = ws.add_snapshot(pq, "pq")
    b = ws.add_snapshot(csv, "fromcsv")
    assert a.snapshot.object_hash == b.snapshot.object_hash
    assert ws.load("pq").equals(df)


def test_object_bytes_do_not_depend_on_chunking_or_threads(ws):
    # The same content read by a parallel CSV reader arrives in chunks that depend on the
    # thread count; the stored object, and so its hash, must not.
    n = 600_000
    whole = pl.DataFrame({"id": range(n), "x": [i * 0.5 for i in range(n)]})
    pieces = pl.concat([whole.slice(i, 70_001) for i in range(0, n, 70_001)], rechunk=False)
    assert pieces.n_chunks() > 1 and whole.n_chunks() == 1
    a, size_a = importer.write_object(ws.objects, whole)
    b, size_b = importer.write_object(ws.objects, pieces)
    assert (a, size_a) == (b, size_b)


def test_empty_last_fields_are_nulls_but_short_rows_are_refused(ws, tmp_path):
    ok = tmp_path / "ok.csv"
    ok.write_bytes(b'id,x,note\n1,2,a\n2,3,\n3,4,"two\nlines, quoted"\n')
    df = ws.load(ws.add_snapshot(ok, "ok").snapshot.ref)
    assert df["note"].to_list() == ["a", None, "two\nlines, quoted"]
    short = tmp_path / "short.csv"
    short.write_bytes(b"id,x,note\n1,2,a\n2,3\n")
    with pytest.raises(InputError, match="a row has 2 fields where the header has 3"):
        ws.add_snapshot(short, "short")
    assert [s.name for s in ws.snapshots()] == ["ok"]


def test_diff(ws, three_versions):
    d = ws.diff("churn@v1", "churn@v2")
    assert (d.rows_before, d.rows_after) == (3, 3)
    assert d.rows is not None
    assert (d.rows.added, d.rows.removed, d.rows.changed, d.rows.unchanged) == (1, 1, 1, 1)
    fields = {(c.column, c.field) for c in d.profile_changes}
    assert ("x", "null_share") in fields and ("cat", "distinct") in fields
    assert ws.diff("churn@v1", "churn@v1").same_content


def test_diff_columns(ws, tmp_path):
    src = tmp_path / "a.csv"
    write_csv(src, ["1,1.0,a"], header="id,x,cat")
    ws.add_snapshot(src, "t")
    write_csv(src, ["1,a,z"], header="id,x,extra")
    ws.add_snapshot(src, "t")
    d = ws.diff("t@v1", "t@v2")
    assert d.added_columns == ["extra"] and d.removed_columns == ["cat"]
    assert d.retyped_columns == [("x", "Float64", "String")]
    # by key, rows compare only the columns both keep with one type, and say which they skip
    rows = ws.diff("t@v1", "t@v2", key="id").rows
    assert (rows.changed, rows.unchanged, rows.not_compared) == (0, 1, ["x"])
    assert rows.not_compared_text() == "x not compared: its type changed"
    assert ws.diff("t@v1", "t@v1", key="id").rows.not_compared == []
    with pytest.raises(InputError, match="key 'x' changed type \\(Float64 -> String\\)"):
        ws.diff("t@v1", "t@v2", key="x")  # was a raw Polars SchemaError


def test_export_is_exact(ws, tmp_path, three_versions):
    snap = ws.snapshot("churn@v2")
    pq = ws.export("churn@v2", tmp_path / "out.parquet")
    assert pq.read_bytes() == ws.object_path(snap).read_bytes()
    csv = ws.export("churn@v2", tmp_path / "out.csv")
    assert pl.read_csv(csv).equals(ws.load("churn@v2"))
    with pytest.raises(InputError):
        ws.export("churn@v2", tmp_path / "missing-folder" / "x.csv")


def test_contract_infer_save_edit_validate(ws, tmp_path, three_versions):
    from workbench.snapshots.contract import Contract

    good = tmp_path / "good.csv"
    write_csv(good, ["7,2.0,a,No"])
    assert ws.validate(good, against="churn@v1").ok
    bad = tmp_path / "bad.csv"
    write_csv(bad, ["7,99.0,z,", "8,,a,No"])
    report = ws.validate(bad, against="churn@v1")
    checks = {(v.column, v.check) for v in report.violations}
    assert {("x", "max"), ("cat", "allowed"), ("y", "nullable")} <= checks
    # Save, edit (widen x's range, allow z), validate again against the file.
    path = tmp_path / "contract.toml"
    ws.contract("churn@v1").save(path)
    edited = path.read_text().replace("max = 2.5", "max = 100.0").replace('"b",', '"b",\n    "z",')
    path.write_text(edited)
    rules = Contract.load(path)
    assert rules.columns["x"].max == 100.0
    report = ws.validate(bad, contract_file=path)
    assert {(v.column, v.check) for v in report.violations} == {("y", "nullable")}
    missing = tmp_path / "fewer.csv"
    write_csv(missing, ["1,2.0"], header="id,x")
    report = ws.validate(missing, against="churn@v1")
    assert {(v.column, v.check) for v in report.violations} == {
        ("cat", "present"),
        ("y", "present"),
    }


def test_verify_and_gc(ws, tmp_path, three_versions):
    assert ws.verify().ok
    orphan = ws.objects.put_bytes(b"nobody refers to me")
    assert orphan in ws.gc()
    assert ws.verify().ok
    snap = ws.snapshot("churn@v1")
    path = ws.object_path(snap)
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    report = ws.verify()
    assert report.damaged == [snap.object_hash] and not report.ok
    path.unlink()
    assert ws.verify().missing == [snap.object_hash]


def test_audit_records_snapshots(ws, three_versions):
    entries = ws.audit_log()
    assert [e.action for e in entries] == ["snapshot.added"] * 3
    assert [e.subject for e in entries] == ["churn@v1", "churn@v2", "churn@v3"]
    assert ws.audit_verify() == []


def test_telco_dataset(ws, telco_csv):
    res = ws.add_snapshot(telco_csv, "telco", target="Churn", key="customerID")
    snap = res.snapshot
    assert snap.n_rows == 7043
    total = snap.column("TotalCharges")
    # Blank TotalCharges make the column text; the profile says so instead of failing.
    assert total.dtype == "String" or total.null_share > 0
    assert ws.validate(telco_csv, against="telco@v1").ok
