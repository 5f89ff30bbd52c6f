"""Bad input through the real CLI: one clear line, non-zero exit, no traceback, nothing written."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.helpers import run_cli


def _state(project: Path) -> str:
    """A fingerprint of everything stored: objects and the metadata rows."""
    from workbench.api import Workspace

    ws = Workspace.open(project)
    h = hashlib.sha256()
    for digest in ws.objects.digests():
        h.update(digest.encode())
    for s in ws.snapshots():
        h.update(s.ref.encode())
    h.update(str(len(ws.audit_log())).encode())
    return h.hexdigest()


@pytest.fixture
def project(tmp_path):
    from workbench.api import Workspace

    proj = tmp_path / "proj"
    ws = Workspace.init(proj)
    good = proj / "good.csv"
    good.write_text("id,x,y\n1,1.0,a\n2,2.0,b\n")
    ws.add_snapshot(good, "churn")
    return proj


def _files(proj: Path) -> dict[str, bytes]:
    return {
        "empty.csv": b"",
        "header.csv": b"id,x,y\n",
        "junk.csv": bytes(range(256)) * 64,
        "ragged.csv": b"id,x,y\n1,2,3\n4,5,6,7,8\n",
        "short.csv": b"id,x,y\n1,2,3\n4,5,\n6,7\n8,9,10\n",
        "dupe.csv": b"id,x,x\n1,2,3\n",
        "fake.parquet": b"PAR1 this is not parquet at all",
    }


CASES = [
    (["data", "add", "missing.csv", "--name", "a"], "no such file"),
    (["data", "add", ".", "--name", "a"], "is a folder"),
    (["data", "add", "empty.csv", "--name", "a"], "is empty"),
    (["data", "add", "header.csv", "--name", "a"], "no data rows"),
    (["data", "add", "junk.csv", "--name", "a"], "not a CSV or Parquet"),
    (["data", "add", "ragged.csv", "--name", "a"], "not a well-formed CSV"),
    (["data", "add", "short.csv", "--name", "a"], "a row has 2 fields where the header has 3"),
    (["data", "add", "dupe.csv", "--name", "a"], "duplicate column"),
    (["data", "add", "fake.parquet", "--name", "a"], "not a readable Parquet"),
    (
        ["data", "add", "good.csv", "--name", "b", "--target", "nope"],
        "target 'nope' is not a column",
    ),
    (["data", "add", "good.csv", "--name", "b", "--time-column", "x"], "not dates or times"),
    (["data", "add", "good.csv", "--name", "../x"], "invalid name"),
    (["data", "add", "good.csv", "--name", "a/b"], "invalid name"),
    (["data", "add", "good.csv", "--name", ""], "invalid name"),
    (["data", "add", "good.csv", "--name", "has space"], "invalid name"),
    (["data", "add", "good.csv", "--name", ".hidden"], "invalid name"),
    (["data", "show", "churn@v99"], "unknown snapshot churn@v99"),
    (["data", "diff", "churn@v1", "nope@v1"], "unknown snapshot"),
    (["data", "export", "churn@v1", "no/such/dir/x.csv"], "does not exist"),
    (["data", "validate", "missing.csv", "--against", "churn"], "no such file"),
    (["data", "add", "good.csv"], "Missing option"),
    (["data", "frobnicate"], "No such command"),
]


@pytest.mark.parametrize("args,expected", CASES, ids=[" ".join(c[0])[:40] for c in CASES])
def test_bad_input(project, args, expected):
    for name, content in _files(project).items():
        (project / name).write_bytes(content)
    before = _state(project)
    res = run_cli(*args, cwd=project)
    assert res.returncode != 0
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert expected in lines[0]
    assert lines[0].startswith("error:")
    assert "Traceback" not in res.stderr + res.stdout
    assert _state(project) == before
    assert not list((project / ".workbench" / "tmp").iterdir())


def test_no_workspace(tmp_path):
    res = run_cli("data", "list", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().startswith("error: no workspace found")
    res = run_cli("-w", str(tmp_path / "nowhere"), "data", "list")
    assert res.returncode == 2 and "no workspace at" in res.stderr


def test_debug_shows_traceback(project):
    res = run_cli("--debug", "data", "show", "churn@v99", cwd=project)
    assert res.returncode != 0 and "Traceback" in res.stderr


def test_name_cannot_escape_workspace(project):
    for name in ("../../etc", "..", "/abs", "a\\b"):
        res = run_cli("data", "add", "good.csv", "--name", name, cwd=project)
        assert res.returncode == 2
    assert not (project.parent / "etc").exists()
