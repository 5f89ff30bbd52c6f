"""The gates report each step as progress, and cancelling between steps files nothing."""

from __future__ import annotations

import pytest

from tests.registry.conftest import open_as, two_versions
from workbench.errors import Cancelled
from workbench.progress import CallbackProgress, CancelToken

NAME = "churn-model"


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = two_versions(tmp_path_factory.mktemp("gate_progress") / "p", "alice")
    alice = open_as(root, "alice")
    alice.approve(alice.propose_promotion(f"{NAME}@v1", "champion", "first").id, "ok")
    return root


def test_every_gate_step_is_a_phase(root):
    alice = open_as(root, "alice")
    phases = []
    filed = alice.propose_promotion(
        f"{NAME}@v2", "champion", "second", progress=CallbackProgress(lambda t, _: phases.append(t))
    )
    holdout = filed.evidence.holdout.split(" ", 1)[0]
    assert phases[0] == "choosing the holdout"
    assert f"scoring {NAME}@v2 on {filed.evidence.holdout}" in phases
    assert f"scoring {NAME}@v1 on {filed.evidence.holdout}" in phases  # the champion too
    assert "segment checks" in phases and "timing the scoring" in phases
    assert phases[-1] == f"drift of {holdout} against the training data"
    alice.reject(filed.id, "only checking the phases")


def test_cancelling_during_the_gates_files_nothing(root):
    alice = open_as(root, "alice")
    before = len(alice.decisions())
    token = CancelToken()

    def started(task: str, _total) -> None:
        if task == "segment checks":
            token.cancel()  # as the TUI's cancel key or Ctrl-C would, mid-way

    with pytest.raises(Cancelled):
        alice.propose_promotion(
            f"{NAME}@v2", "champion", "second", progress=CallbackProgress(started, cancel=token)
        )
    assert len(alice.decisions()) == before
    assert alice.aliases(NAME) == {"champion": 1}


@pytest.mark.slow
def test_the_cli_promotion_still_files_and_reports(root, cli):
    done = cli("models", "promote", f"{NAME}@v2", "--to", "challenger", "-m", "try", cwd=root,
               env={"WORKBENCH_ACTOR": "alice"})  # fmt: skip
    assert done.returncode in (0, 1), done.stderr  # 1: a gate failed (still filed)
    assert "filed decision" in done.stdout and "Traceback" not in done.stderr
