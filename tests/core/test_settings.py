"""Settings: who is acting, bad settings files, and what reading them costs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import run_cli
from workbench.api import Workspace
from workbench.errors import InputError
from workbench.settings_file import SETTINGS_FILE, os_user

ANYONE = f'[accounts]\n"{os_user()}" = ["*"]\n'


def settings_file(ws: Workspace):
    return ws.dir / SETTINGS_FILE


def test_actor_comes_from_the_file_then_the_environment(ws, monkeypatch):
    assert Workspace.open(ws.root).actor == os_user()
    settings_file(ws).write_text('actor = "alice"\n' + ANYONE)
    assert Workspace.open(ws.root).actor == "alice"
    monkeypatch.setenv("WORKBENCH_ACTOR", "bob")
    fresh = Workspace.open(ws.root)
    assert fresh.actor == "bob"
    assert fresh.settings.actor == "bob"  # the validated settings agree
    settings_file(ws).write_text('actor = ""\n' + ANYONE)
    monkeypatch.delenv("WORKBENCH_ACTOR")
    assert Workspace.open(ws.root).actor == os_user()


def test_an_actor_that_is_not_text_is_refused(ws):
    settings_file(ws).write_text("actor = 5\n")
    with pytest.raises(InputError, match="actor: must be text"):
        _ = Workspace.open(ws.root).actor


def test_bad_settings_stop_data_add_with_one_line_and_nothing_written(tmp_path):
    proj = tmp_path / "proj"
    Workspace.init(proj)
    src = tmp_path / "d.csv"
    src.write_text("id,x\n1,2\n")
    for text, message in (
        ("actor = 5\n", "actor: must be text"),
        ("[roles]\n[roles]\n", "is not valid TOML"),
    ):
        (proj / ".workbench" / SETTINGS_FILE).write_text(text)
        res = run_cli("data", "add", str(src), "--name", "d", cwd=proj)
        assert res.returncode == 2, res.stderr
        assert message in res.stderr and "Traceback" not in res.stderr
        assert len(res.stderr.strip().splitlines()) <= 2  # the error, and at most a hint
        assert Workspace(proj).snapshots() == []
        assert list(Workspace(proj).objects.digests()) == []


def test_adding_a_snapshot_does_not_load_pydantic(tmp_path):
    """The author is read from the settings without validating them all (pydantic ~0.1 s)."""
    proj = tmp_path / "proj"
    Workspace.init(proj)
    src = tmp_path / "d.csv"
    src.write_text("id,x\n1,2\n")
    code = (
        "import sys; from workbench.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('pydantic' in sys.modules, file=sys.stderr)"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, "data", "add", str(src), "--name", "d"],
        cwd=proj,
        capture_output=True,
        text=True,
    )
    assert "added d@v1" in res.stdout
    assert res.stderr.strip().splitlines()[-1] == "False"
    assert Workspace.open(proj).snapshot("d").author == os_user()


def test_actor_and_roles_come_from_the_same_reading(ws):
    settings_file(ws).write_text('actor = "alice"\n[roles]\nalice = "approver"\n' + ANYONE)
    opened = Workspace(ws.root)
    assert opened.actor == "alice"  # read without the full settings
    settings_file(ws).write_text('actor = "bob"\n' + ANYONE)
    assert opened.actor == "bob"  # nothing loaded yet: the file as it is now
    assert opened.settings.roles == {}
    settings_file(ws).write_text('actor = "carol"\n' + ANYONE)
    assert opened.actor == "bob" == opened.settings.actor  # loaded settings win
