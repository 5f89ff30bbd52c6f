"""Fixtures for the prediction-log tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def workspace(tmp_path) -> Path:
    """A project folder with an empty ``.workbench`` (the log needs nothing else)."""
    project = tmp_path / "project"
    (project / ".workbench").mkdir(parents=True)
    return project
