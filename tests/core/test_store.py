"""The metadata store: migrations, schema version, old workspaces opening in new code."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from workbench.errors import WorkbenchError
from workbench.store import SCHEMA_VERSION, Store, migrations

FIXTURES = Path(__file__).parent / "fixtures"


def test_fresh_store_is_at_latest_version(ws):
    assert ws.store.schema_version() == SCHEMA_VERSION
    versions = [v for v, _, _ in migrations()]
    assert versions == sorted(set(versions)) and versions[0] == 1


def test_migrations_are_forward_only_and_idempotent(ws):
    assert ws.store.migrate() == []
    with ws.store.read() as con:
        rows = con.execute("select version from schema_version order by version").fetchall()
    assert [r[0] for r in rows] == [v for v, _, _ in migrations()]


def test_old_schema_workspace_opens_and_upgrades(tmp_path):
    """A workspace made at schema version 1 (stored fixture) opens in this version."""
    from workbench.api import Workspace

    if SCHEMA_VERSION < 2:
        pytest.skip("only one migration exists yet")
    proj = tmp_path / "old"
    shutil.copytree(FIXTURES / "schema_v1", proj)
    ws = Workspace.open(proj)
    assert [s.ref for s in ws.snapshots()] == ["demo@v1"]  # old data still readable
    assert ws.store.schema_version() == SCHEMA_VERSION
    assert ws.audit_verify() == []
    assert ws.verify().ok


def test_newer_store_is_refused(tmp_path):
    path = tmp_path / "meta.duckdb"
    store = Store(path)
    store.migrate()
    con = duckdb.connect(str(path))
    con.execute("insert into schema_version values (999, 'future', current_timestamp)")
    con.close()
    Store._migrated.discard(str(path.resolve()))
    with pytest.raises(WorkbenchError, match="newer than this workbench"):
        Store(path).migrate()


def test_change_token_moves_on_write(ws):
    before = ws.change_token()
    ws.record("test.touch")
    assert ws.change_token() != before


def test_failed_write_rolls_back(ws):
    with pytest.raises(RuntimeError), ws.store.write() as con:
        con.execute("insert into source_cache values ('p', 1, 1, 'h', 'o')")
        raise RuntimeError("boom")
    with ws.store.read() as con:
        assert con.execute("select count(*) from source_cache").fetchone()[0] == 0


def test_a_skipped_migration_is_applied(ws):
    """A store that has a later migration but lacks an earlier one gets the missing one."""
    versions = [v for v, _, _ in migrations()]
    if len(versions) < 3:
        pytest.skip("needs three migrations")
    missing = versions[-2]
    with ws.store.write() as con:
        con.execute("delete from schema_version where version = ?", [missing])
    Store._migrated.discard(str(ws.store.path.resolve()))
    assert Store(ws.store.path).migrate() == [n for v, n, _ in migrations() if v == missing]
