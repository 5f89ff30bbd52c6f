"""Contract files are checked against a schema when loaded: a wrong value or key is one line
naming the file, the key and the problem (exit code 2), never a traceback or a silent pass.

Before, ``nullable = "no"`` let an all-null column pass, ``min = "abc"``, ``columns = 5`` and
``table = "x"`` printed tracebacks, ``type = 5``, ``min_rows = -5``, ``min > max`` and
``min = nan`` were accepted, an empty file "met the contract of None", and ``--contract``
naming a folder printed a traceback.
"""

from __future__ import annotations

import pytest

from tests.helpers import run_cli

COLUMN = '[columns.x]\ntype = "Int64"\n'
CASES = {
    "min-text": (COLUMN + 'min = "abc"\n', 'columns.x.min: must be a number, not "abc"'),
    "columns-number": ("columns = 5\n", "columns: must be a table, not 5"),
    "table-text": ('table = "x"\n' + COLUMN, 'table: must be a table, not "x"'),
    "nullable-text": (
        COLUMN + 'nullable = "no"\n',
        'columns.x.nullable: must be true or false, not "no"',
    ),
    "type-number": ("[columns.x]\ntype = 5\n", "columns.x.type: must be text, not 5"),
    "negative-rows": ("[table]\nmin_rows = -5\n" + COLUMN, "table.min_rows: must be at least 0"),
    "min-above-max": (COLUMN + "min = 5\nmax = 1\n", "columns.x: min 5 is above max 1"),
    "nan": (COLUMN + "min = nan\n", "columns.x.min: must be a finite number, not nan"),
    "empty": ("", "the contract has no rules"),
    "unknown-key": (
        COLUMN + "minimum = 0\n",
        "columns.x.minimum: unknown key (did you mean 'min'?)",
    ),
    "no-type": ("[columns.x]\nnullable = true\n", "columns.x.type: required key is missing"),
    "not-toml": ("[columns.x\n", "not valid TOML: Expected"),
}


@pytest.fixture
def project(tmp_path):
    proj = tmp_path / "proj"
    assert run_cli("init", str(proj)).returncode == 0
    (proj / "nulls.csv").write_text("x,y\n,1\n,2\n")
    return proj


@pytest.mark.parametrize("name", list(CASES))
def test_a_malformed_contract_is_one_line_naming_file_and_key(project, name):
    text, expected = CASES[name]
    (project / "c.toml").write_text(text)
    res = run_cli("data", "validate", "nulls.csv", "--contract", "c.toml", cwd=project)
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert lines[0].startswith("error: c.toml: ") and expected in lines[0], lines[0]
    assert not res.stdout.strip()


def test_a_folder_given_as_contract_is_refused(project):
    res = run_cli("data", "validate", "nulls.csv", "--contract", ".", cwd=project)
    assert res.returncode == 2
    assert res.stderr.strip() == "error: . is a folder, not a contract file"


def test_a_valid_contract_names_itself_and_is_enforced(project):
    (project / "c.toml").write_text(COLUMN + "nullable = false\nmin = 0\n")
    res = run_cli("data", "validate", "nulls.csv", "--contract", "c.toml", cwd=project)
    assert res.returncode == 1  # the column holds nulls
    assert "x: 2 null values, expected none" in res.stderr
    (project / "ok.csv").write_text("x,y\n1,1\n")
    res = run_cli("data", "validate", "ok.csv", "--contract", "c.toml", cwd=project)
    assert res.returncode == 0, res.stderr
    assert "meets the contract in c.toml" in res.stdout and "None" not in res.stdout
