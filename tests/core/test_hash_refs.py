"""Content-hash references: ``hash:PREFIX`` always means a hash, and new names that read as
a hash prefix are refused.

A snapshot named ``9318e0`` shadowed the hash reference of another snapshot whose object
starts with those digits: names resolve first, so the bare prefix silently named the wrong
data.
"""

from __future__ import annotations

import pytest

from tests.helpers import run_cli
from workbench.api import Workspace
from workbench.snapshots import refs, service


@pytest.fixture
def project(tmp_path):
    proj = tmp_path / "proj"
    ws = Workspace.init(proj)
    (proj / "a.csv").write_text("id,x\n1,2\n")
    (proj / "b.csv").write_text("id,x\n3,4\n")
    ws.add_snapshot(proj / "a.csv", "first")
    return proj


def test_a_name_that_reads_as_a_hash_prefix_is_refused(project):
    for name in ("9318e0", "abcdef", "0" * 64):
        res = run_cli("data", "add", "b.csv", "--name", name, cwd=project)
        assert res.returncode == 2, res.stderr
        assert f"error: invalid name '{name}': it reads as a content-hash prefix" in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
    # not hex throughout, too short, or upper case: ordinary names
    for name in ("9318e0x", "93e0", "ABCDEF", "batch-9318e0"):
        res = run_cli("data", "add", "b.csv", "--name", name, cwd=project)
        assert res.returncode == 0, (name, res.stderr)
    assert len(Workspace.open(project).snapshots()) == 5


def test_hash_refs_are_not_shadowed_by_names(project, monkeypatch):
    ws = Workspace.open(project)
    first = ws.snapshot("first")
    prefix = first.object_hash[:8]
    # a snapshot named like that prefix, as an older version allowed
    monkeypatch.setattr(service, "validate_name", refs._check_name)
    ws.add_snapshot(project / "b.csv", prefix)
    shadow = ws.snapshot(prefix)
    assert shadow.name == prefix  # a bare word is a name first (kept for old names)

    def shown(ref: str) -> str:
        res = run_cli("data", "show", ref, cwd=project)
        assert res.returncode == 0, res.stderr
        return res.stdout.splitlines()[0].split()[0]

    assert shown(f"hash:{prefix}") == "first@v1"
    assert shown(f"hash:{prefix.upper()}") == "first@v1"
    assert shown(prefix) == f"{prefix}@v1"
    # a bare prefix still works when no name matches
    assert shown(shadow.object_hash[:10]) == f"{prefix}@v1"


@pytest.mark.parametrize(
    "ref,message",
    [
        ("hash:xyz123", "error: invalid hash prefix 'hash:xyz123' (use 6 to 64 hex digits"),
        ("hash:12ab", "error: invalid hash prefix 'hash:12ab'"),
        ("hash:" + "f" * 12, "error: unknown snapshot hash:ffffffffffff"),
    ],
)
def test_bad_hash_refs_are_one_line(project, ref, message):
    res = run_cli("data", "show", ref, cwd=project)
    assert res.returncode == 2
    assert res.stderr.strip().startswith(message), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
