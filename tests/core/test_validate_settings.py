"""``validate_settings``: the whole settings file is checked at once, one clear line per problem.

Before, settings were validated only when used: ``root = "superuser"`` was never noticed and
``lock_timeout = "abc"`` only failed when another process held the lock.
"""

from __future__ import annotations

import re

import pytest

from tests.helpers import run_cli
from workbench.config import Settings, validate_settings
from workbench.errors import InputError
from workbench.settings_file import SETTINGS_FILE

BAD = {
    "unknown key": (
        'root = "superuser"\n',
        "root: unknown key",
        "known keys: actor, lock_timeout",
    ),
    "typo": ("lock_timout = 5\n", "lock_timout: unknown key", "did you mean 'lock_timeout'?"),
    "nested typo": (
        "[gates]\nsegment_column = []\n",
        "gates.segment_column: unknown key",
        "did you mean 'segment_columns'?",
    ),
    "wrong section": ("tolerance = 0.02\n", "tolerance: unknown key", "belongs in [gates]"),
    "text for a number": (
        'lock_timeout = "abc"\n',
        'lock_timeout: must be a number, not "abc"',
        None,
    ),
    "out of range": ("lock_timeout = -1\n", "lock_timeout: must be more than 0, not -1", None),
    "text for a flag": (
        '[registry]\nfour_eyes = "no"\n',
        'registry.four_eyes: must be true or false, not "no"',
        None,
    ),
    "unknown role": (
        '[roles]\nalice = "superuser"\n',
        "roles.alice: must be 'viewer', 'developer', 'approver' or 'admin'",
        None,
    ),
    "section as value": ("gates = 5\n", "gates: must be a table, not 5", None),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_settings_file_names_the_file_and_the_key(tmp_path, case):
    text, message, hint = BAD[case]
    (tmp_path / SETTINGS_FILE).write_text(text)
    with pytest.raises(InputError) as err:
        validate_settings(tmp_path)
    assert err.value.message.startswith(f"{tmp_path / SETTINGS_FILE}: {message}"), err.value
    assert err.value.hint is None if hint is None else hint in err.value.hint
    assert "\n" not in str(err.value)


def test_environment_values_are_text_and_named_when_wrong(tmp_path, monkeypatch):
    (tmp_path / SETTINGS_FILE).write_text("lock_timeout = 2.5\n")
    monkeypatch.setenv("WORKBENCH_LOCK_TIMEOUT", "7")
    monkeypatch.setenv("WORKBENCH_TUI_TIMING", "1")  # another tool's variable: left alone
    assert validate_settings(tmp_path).lock_timeout == 7.0
    monkeypatch.setenv("WORKBENCH_DRIFT__DRIFT_SHARE", "lots")
    with pytest.raises(InputError, match=r"^WORKBENCH_DRIFT__DRIFT_SHARE: drift\.drift_share: "):
        validate_settings(tmp_path)


def test_no_file_means_the_defaults(tmp_path):
    assert validate_settings(tmp_path) == Settings()


def test_init_writes_a_file_that_validates_with_its_examples_too(tmp_path):
    proj = tmp_path / "proj"
    res = run_cli("init", str(proj))
    assert res.returncode == 0, res.stderr
    wdir = proj / ".workbench"
    validate_settings(wdir)
    # the commented examples (`# actor = "alice"`, `# alice = "approver"`) are valid as well
    path = wdir / SETTINGS_FILE
    text = path.read_text()
    uncommented = re.sub(r"(?m)^# (\w+ = \S.*)$", r"\1", text)
    assert uncommented != text
    path.write_text(uncommented)
    assert validate_settings(wdir).actor == "alice"
