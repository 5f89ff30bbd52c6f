"""Nobody becomes someone else, or an approver, through an environment variable.

Found trying the workbench as users would: `WORKBENCH_ACTOR=carol`, `LOGNAME=carol`,
`WORKBENCH_ROLES__BOB=admin` and `WORKBENCH_DEFAULT_ROLE=admin` each let a developer approve,
and the audit recorded the claimed name.
"""

from __future__ import annotations

import pytest

from tests.helpers import run_cli
from tests.registry.conftest import SETTINGS, two_versions
from workbench.api import Workspace
from workbench.errors import PermissionDenied
from workbench.processes import os_account

pytestmark = pytest.mark.slow


@pytest.fixture
def governed(tmp_path):
    """Two versions, v1 champion, a pending proposal for v2; the OS account may act only as
    bob (a developer)."""
    root = two_versions(tmp_path / "ws", "alice")
    ws = Workspace(root, actor="alice")
    ws.set_alias("churn-model@v1", "champion", "first")
    ws.propose_promotion("churn-model@v2", "champion", "try")
    settings = root / ".workbench" / "workbench.toml"
    settings.write_text(SETTINGS + f'\n[accounts]\n"{os_account()}" = ["bob"]\n')
    return root


def _approve(root, env):
    return run_cli("-w", str(root), "decisions", "approve", "1", "-m", "ok", env=env)


@pytest.mark.parametrize(
    "env",
    [
        {"WORKBENCH_ACTOR": "alice"},
        {"LOGNAME": "alice", "USER": "alice"},
        {"WORKBENCH_ACTOR": "bob", "WORKBENCH_ROLES__BOB": "admin"},
        {"WORKBENCH_ACTOR": "bob", "WORKBENCH_DEFAULT_ROLE": "admin"},
        {"WORKBENCH_ACTOR": "bob", "WORKBENCH_REGISTRY__FOUR_EYES": "false"},
    ],
)
def test_environment_variables_grant_no_identity_or_role(governed, env):
    res = _approve(governed, env)
    assert res.returncode == 2, res.stdout
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert Workspace(governed, actor="bob").decision(1).status == "pending"


def test_claims_follow_the_accounts_table(governed):
    assert Workspace(governed, actor="bob").actor == "bob"
    with pytest.raises(PermissionDenied, match="may not act as alice"):
        _ = Workspace(governed, actor="alice").actor
    res = run_cli("-w", str(governed), "--as", "alice", "decisions", "list")
    assert res.returncode == 2 and f'[accounts] {os_account()} = ["alice"]' in res.stderr
    # bob may act as bob, but a developer cannot approve
    res = _approve(governed, {"WORKBENCH_ACTOR": "bob"})
    assert res.returncode == 2 and "needs approver" in res.stderr


def test_the_audit_records_the_os_account_beside_the_claimed_name(governed):
    settings = governed / ".workbench" / "workbench.toml"
    settings.write_text(SETTINGS + f'\n[accounts]\n"{os_account()}" = ["*"]\n')
    res = run_cli("-w", str(governed), "--as", "alice", "decisions", "approve", "1", "-m", "ok")
    assert res.returncode == 0, res.stderr
    entry = Workspace(governed).audit_log()[-1]
    assert entry.actor == "alice" and entry.os_account == os_account()


def test_the_settings_file_can_be_pinned_by_its_owner(governed):
    res = run_cli("-w", str(governed), "settings", "pin")
    assert res.returncode == 0, res.stderr
    state = Workspace(governed).settings_file()
    assert state.pinned
    shown = run_cli("-w", str(governed), "settings", "show")
    assert "(pinned)" in shown.stdout and os_account() in shown.stdout
    assert run_cli("-w", str(governed), "settings", "unpin").returncode == 0
    assert not Workspace(governed).settings_file().pinned
