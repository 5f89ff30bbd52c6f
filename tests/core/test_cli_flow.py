"""A new user's CLI session: init, three versions, list, show, diff, export, validate, verify."""

from __future__ import annotations

import json

import pytest

from tests.helpers import run_cli


@pytest.mark.slow
def test_whole_flow(tmp_path):
    proj = tmp_path / "proj"
    assert run_cli("init", str(proj)).returncode == 0
    src = proj / "customers.csv"
    contents = [
        "id,x,cat\n1,1.0,a\n2,2.0,b\n",
        "id,x,cat\n1,1.0,a\n2,2.5,b\n3,3.0,c\n",
        "id,x,cat,new\n1,1.0,a,t\n3,3.0,c,u\n",
    ]
    for i, text in enumerate(contents, 1):
        src.write_text(text)
        res = run_cli(
            "data", "add", "customers.csv", "-n", "cust", "--key", "id", "-m", f"v{i}", cwd=proj
        )
        assert res.returncode == 0, res.stderr
        assert f"added cust@v{i}" in res.stdout
    res = run_cli("data", "add", "customers.csv", "-n", "cust", cwd=proj)
    assert res.returncode == 0 and "no new version" in res.stdout

    # Commands find the workspace from a subfolder, from --workspace and from the environment.
    sub = proj / "a" / "b"
    sub.mkdir(parents=True)
    listing = json.loads(run_cli("data", "list", "--json", cwd=sub).stdout)
    assert [r["ref"] for r in listing] == ["cust@v3", "cust@v2", "cust@v1"]
    assert run_cli("-w", str(proj), "data", "list", cwd=tmp_path).returncode == 0
    env_run = run_cli("data", "list", cwd=tmp_path, env={"WORKBENCH_WORKSPACE": str(proj)})
    assert "cust@v3" in env_run.stdout

    show = json.loads(run_cli("data", "show", "cust@v2", "--json", cwd=proj).stdout)
    assert show["rows"] == 3 and show["schema"]["x"] == "Float64"
    assert "cust@v3 <- v2" in run_cli("data", "log", "cust", cwd=proj).stdout

    diff = run_cli("data", "diff", "cust@v2", "cust@v3", cwd=proj)
    assert diff.returncode == 0
    assert "+ column new" in diff.stdout
    assert (
        "+0 added, -1 removed, ~0 changed" in diff.stdout.replace(",", ", ").replace(",  ", ", ")
        or "removed" in diff.stdout
    )
    d = json.loads(run_cli("data", "diff", "cust@v1", "cust@v2", "--json", cwd=proj).stdout)
    assert d["rows"]["added"] == 1 and d["rows"]["changed"] == 1

    assert run_cli("data", "export", "cust@v1", "out.csv", cwd=proj).returncode == 0
    assert (proj / "out.csv").read_text() == contents[0]

    ok = run_cli("data", "validate", "out.csv", "--against", "cust@v1", cwd=proj)
    assert ok.returncode == 0 and "meets the contract" in ok.stdout
    (proj / "bad.csv").write_text("id,x,cat\n9,50.0,zzz\n")
    bad = run_cli("data", "validate", "bad.csv", "--against", "cust@v1", cwd=proj)
    assert bad.returncode == 1
    fails = [ln for ln in bad.stderr.splitlines() if ln.startswith("FAIL")]
    assert len(fails) == 2 and any("x:" in f for f in fails) and any("cat:" in f for f in fails)

    saved = run_cli("data", "contract", "cust@v1", "--out", "c.toml", cwd=proj)
    assert saved.returncode == 0
    text = (proj / "c.toml").read_text().replace("max = 2.0", "max = 60.0")
    (proj / "c.toml").write_text(text)
    again = run_cli("data", "validate", "bad.csv", "--contract", "c.toml", cwd=proj)
    assert (
        again.returncode == 1 and len([ln for ln in again.stderr.splitlines() if "FAIL" in ln]) == 1
    )
    assert again.stderr.strip().splitlines()[-1] == "error: 1 check failed for bad.csv"
    # the saved contract given where a snapshot goes: say which option takes it
    mixed = run_cli("data", "validate", "bad.csv", "--against", "c.toml", cwd=proj)
    assert mixed.returncode == 2
    assert mixed.stderr.strip() == (
        "error: c.toml is a contract file, not a snapshot (use --contract c.toml)"
    )

    assert run_cli("verify", cwd=proj).returncode == 0
    assert run_cli("audit", "verify", cwd=proj).returncode == 0
    obj = next((proj / ".workbench" / "objects").glob("*/*"))
    obj.chmod(0o644)
    obj.write_bytes(b"damaged")
    res = run_cli("verify", cwd=proj)
    assert res.returncode == 1 and "damaged" in res.stderr


def test_help_is_fast_to_import():
    res = run_cli("--help")
    assert res.returncode == 0 and "data" in res.stdout
    probe = run_cli.__globals__["subprocess"].run(
        [
            run_cli.__globals__["sys"].executable,
            "-c",
            "import sys; from workbench.cli.main import cli; "
            "print(','.join(m for m in ('mlflow','lightgbm','evidently','polars','textual') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
    )
    assert probe.stdout.strip() == ""
