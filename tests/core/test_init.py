"""``workbench init`` creates the workspace where it is told: -w, PATH, or here.

``workbench -w DIR init`` used to ignore -w and initialise the current folder.
"""

from __future__ import annotations

from tests.helpers import run_cli


def test_init_honours_workspace_option(tmp_path):
    here = tmp_path / "here"
    here.mkdir()
    res = run_cli("-w", str(tmp_path / "proj"), "init", cwd=here)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "proj" / ".workbench" / "meta.duckdb").exists()
    assert not (here / ".workbench").exists()
    assert res.stdout.strip() == f"workspace ready at {tmp_path / 'proj' / '.workbench'}"


def test_init_refuses_two_different_folders(tmp_path):
    res = run_cli("-w", "one", "init", "two", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip() == "error: two folders given: -w one and two (give the folder once)"
    assert list(tmp_path.iterdir()) == []
    # the same folder spelled two ways is one folder
    res = run_cli("-w", "one", "init", "./one/", cwd=tmp_path)
    assert res.returncode == 0 and (tmp_path / "one" / ".workbench").is_dir()


def test_init_path_wins_over_the_environment_and_here_is_the_default(tmp_path):
    env = {"WORKBENCH_WORKSPACE": str(tmp_path / "from-env")}
    res = run_cli("init", "named", cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "named" / ".workbench").is_dir()
    assert not (tmp_path / "from-env").exists()
    res = run_cli("init", cwd=tmp_path / "named")
    assert res.returncode == 0 and "named/.workbench" in res.stdout
