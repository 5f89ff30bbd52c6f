"""Tampering that the audit log used to miss, each now caught by `verify` and `audit verify`.

An `insert into alias_moves` made a model champion and `audit verify` said ok; deleting the
newest entries, or editing a row and recomputing the chain, also passed.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers import run_cli
from tests.registry.conftest import open_as, two_versions
from workbench import audit
from workbench.objects import hash_bytes

pytestmark = pytest.mark.slow


@pytest.fixture
def root(tmp_path):
    root = two_versions(tmp_path / "ws", "alice")
    ws = open_as(root, "alice")
    ws.set_alias("churn-model@v1", "champion", "first")
    assert ws.audit_verify() == [] and ws.verify().ok
    return root


def _sql(ws, statement: str, params: list | None = None) -> None:
    with ws.store.write() as con:
        con.execute(statement, params or [])


def _both_fail(ws, needle: str) -> None:
    problems = ws.audit_verify()
    assert any(needle in p for p in problems), problems
    assert not ws.verify().ok
    for args in (("audit", "verify"), ("verify",)):
        res = run_cli("-w", str(ws.root), *args)
        assert res.returncode == 1, res.stderr
        assert needle in res.stderr and "Traceback" not in res.stderr


def test_a_champion_made_by_sql_is_found(root):
    ws = open_as(root, "alice")
    _sql(ws, "insert into alias_moves (name, alias, from_version, to_version, kind, actor, "
             "reason, moved_at) values ('churn-model', 'champion', 1, 2, 'move', 'alice', "
             "'sneaky', now())")  # fmt: skip
    assert ws.model("churn-model@champion").version == 2  # it took effect...
    _both_fail(ws, "alias_moves row")  # ...and is reported


@pytest.mark.parametrize(
    ("statement", "needle"),
    [
        ("update runs set note = 'better' where id = 1", "runs row 1: differs"),
        ("delete from decisions", "decisions row"),
        ("update snapshots set message = 'edited' where id = 1", "snapshots row 1: differs"),
        ("update model_versions set run_id = 2 where version = 1", "model_versions row"),
    ],
)
def test_state_edited_outside_the_workbench_is_found(root, statement, needle):
    ws = open_as(root, "alice")
    if "decisions" in statement:
        ws.propose_promotion("churn-model@v2", "champion", "try")  # a decision to delete
        assert ws.audit_verify() == []
    _sql(ws, statement)
    _both_fail(ws, needle)


def test_deleting_the_newest_entries_is_found_by_an_anchor(root):
    ws = open_as(root, "alice")
    anchored = run_cli("-w", str(root), "audit", "anchor")
    assert anchored.returncode == 0
    anchor = anchored.stdout.strip()
    seq = int(anchor.split(":")[0])
    assert run_cli("-w", str(root), "audit", "verify", "--anchor", anchor).returncode == 0
    _sql(ws, "delete from audit_log where seq >= ?", [seq - 1])
    problems = ws.audit_verify(anchor)
    assert any("newest entries deleted" in p for p in problems), problems
    res = run_cli("-w", str(root), "audit", "verify", "--anchor", anchor)
    assert res.returncode == 1 and "newest entries deleted" in res.stderr


def _recompute_chain(ws) -> None:
    """What an attacker with write access does after editing: recompute every hash."""
    with ws.store.write() as con:
        rows = con.execute(
            "select seq, created_at, actor, action, subject, details_json, os_account, "
            "state_json from audit_log order by seq"
        ).fetchall()
        prev = audit.GENESIS
        for seq, at, actor, action, subject, details, account, state in rows:
            payload = [seq, at.isoformat(), actor, action, subject, details, prev]
            if account is not None or state is not None:
                payload += [account, state]
            digest = hash_bytes(json.dumps(payload, separators=(",", ":")).encode())
            con.execute(
                "update audit_log set prev_hash = ?, hash = ? where seq = ?", [prev, digest, seq]
            )
            prev = digest


def test_a_recomputed_chain_fails_with_a_key_kept_outside(root, tmp_path):
    key = tmp_path / "keys" / "audit.key"
    key.parent.mkdir()
    assert run_cli("audit", "keygen", str(key)).returncode == 0
    settings = root / ".workbench" / "workbench.toml"
    settings.write_text(settings.read_text() + f'\n[audit]\nkey_file = "{key}"\n')
    ws = open_as(root, "alice")
    ws.set_alias("churn-model@v2", "challenger", "signed from here on")
    assert ws.audit_log()[-1].mac
    assert ws.audit_verify() == []
    # edit an entry and the state it covers, then recompute the whole chain
    _sql(ws, "update audit_log set actor = 'mallory' where action = 'model.registered'")
    _recompute_chain(ws)
    problems = open_as(root, "alice").audit_verify()  # the workspace's own key is used
    assert any("signature does not match" in p for p in problems), problems
    res = run_cli("-w", str(root), "audit", "verify", "--key", str(key))
    assert res.returncode == 1 and "signature does not match" in res.stderr


def test_the_audit_records_the_os_account_beside_the_actor(root):
    from workbench.processes import os_account

    ws = open_as(root, "alice")
    entry = ws.audit_log()[-1]
    assert entry.actor == "alice" and entry.os_account == os_account()
    assert entry.state  # the alias move it wrote


def test_a_key_inside_the_project_is_refused(root):
    (root / "audit.key").write_text("x" * 64)
    settings = root / ".workbench" / "workbench.toml"
    settings.write_text(
        settings.read_text() + '\n[audit]\nkey_file = "' + str(root / "audit.key") + '"\n'
    )
    res = run_cli("-w", str(root), "audit", "verify")
    assert res.returncode == 2 and "inside the project folder" in res.stderr
