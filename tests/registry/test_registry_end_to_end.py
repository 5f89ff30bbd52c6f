"""The issue's "done when" story on a small demo workspace, with the real MLflow registry.

champion trained and promoted -> retraining on newer data yields a challenger -> gates run ->
approval makes it champion (also in MLflow) -> rollback restores the previous champion (also
in MLflow) -> history and lineage show it -> audit verify passes, and fails after tampering.

Each test plays one step of the story and needs the steps before it. Registering in MLflow is
slow, so the steps share one module-scoped workspace: ``Storyteller.play`` runs the steps a
test needs that this workspace has not run yet, then the test's own. In file order every step
runs once; a test run alone plays the steps before it first; in any other order, or after a
step failed half-way, a fresh workspace replays them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import run_cli
from tests.registry.conftest import FAST, make_small_demo, open_as

NAME = "churn-model"

pytestmark = pytest.mark.slow  # the whole story on the real MLflow registry


@dataclass
class Story:
    """One workspace along the story, and what its steps produced."""

    root: Path
    steps_done: int = 0
    run1: int | None = None
    promoted_at: datetime | None = None
    proposal: int | None = None
    run2: int | None = None
    approved_at: datetime | None = None


STEPS: list[Callable[[Story], None]] = []


def step(play: Callable[[Story], None]) -> Callable[[Story], None]:
    """A step of the story, in the order of this file."""
    STEPS.append(play)
    return play


class Storyteller:
    """Plays the story's steps on a shared workspace, each once, as far as a test needs."""

    def __init__(self, new_root: Callable[[], Path]) -> None:
        self._new_root = new_root
        self._story: Story | None = None

    def play(self, last: Callable[[Story], None]) -> Story:
        """Bring a workspace to the step before ``last`` (reusing this one when it can), then
        play ``last``."""
        until = STEPS.index(last) + 1
        story = self._story
        if story is None or story.steps_done >= until:
            story = Story(self._new_root())
        self._story = None  # a step that fails half-way leaves a workspace nobody reuses
        for play in STEPS[story.steps_done : until]:
            play(story)
            story.steps_done += 1
        self._story = story
        return story


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> Storyteller:
    return Storyteller(lambda: make_small_demo(tmp_path_factory.mktemp("registry") / "project"))


def _mlflow_champion_predicts_like(ws, run_id: int) -> None:
    import mlflow

    mlflow.set_tracking_uri(ws.mlflow_tracking_uri)
    try:
        loaded = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    finally:
        mlflow.set_tracking_uri(None)
    ours = ws.run_model(run_id)
    rows = ws.load("prod-2025-12")
    theirs = loaded.predict(rows.to_pandas())["probability"].to_numpy()
    assert np.array_equal(theirs, ours.predict(rows))


@step
def champion_is_trained_and_promoted(story: Story) -> None:
    ws = open_as(story.root, "alice")
    run = ws.train("churn@v1", params=FAST)
    mv = ws.register_model(run.id, NAME)
    assert (mv.ref, mv.run_id, mv.snapshot_ref) == (f"{NAME}@v1", run.id, "churn@v1")
    assert mv.mlflow_version == "1"
    proposal = ws.propose_promotion(mv.ref, "champion", "first model")
    assert proposal.status == "pending" and proposal.gates_passed
    assert ws.model(NAME).aliases == []  # nothing moves before approval
    decided = ws.approve(proposal.id, "first champion")
    assert decided.status == "approved" and decided.decided_by == "alice"
    assert ws.model(f"{NAME}@champion").version == 1
    _mlflow_champion_predicts_like(ws, run.id)
    story.run1, story.promoted_at = run.id, datetime.now()
    time.sleep(0.01)


@step
def retraining_yields_a_gated_challenger(story: Story) -> None:
    ws = open_as(story.root, "alice")
    proposal = ws.retrain(f"{NAME}@champion", data=["prod-2025-07", "prod-2025-08"])
    ev = proposal.evidence
    assert proposal.kind == "promote" and proposal.alias == "champion" and proposal.version == 2
    assert ev.challenger == f"{NAME}@v2" and ev.champion == f"{NAME}@v1"
    # the training snapshot follows the documented rule; the gate holdout is data neither saw
    assert ev.training_data["snapshot"] == "churn@v2"
    assert ev.training_data["batches"] == ["prod-2025-07@v1", "prod-2025-08@v1"]
    assert ws.snapshot("churn@v2").n_rows == 2000 + 2 * 300
    assert ev.holdout.startswith("prod-2025-12@v1")
    assert [g.name for g in ev.gates] == ["contract", "performance", "segments:gender", "sanity"]
    perf = ev.gates[1].numbers
    assert perf["challenger"] == ev.metrics["challenger"]["auc"]
    assert perf["champion"] == ev.metrics["champion"]["auc"]
    assert proposal.gates_passed, [g.summary for g in ev.gates]
    # the challenger used the champion's parameters
    assert ws.run(ws.model(f"{NAME}@v2").run_id).spec["params"] == FAST
    story.proposal, story.run2 = proposal.id, ws.model(f"{NAME}@v2").run_id


@step
def approval_makes_it_champion_also_in_mlflow(story: Story) -> None:
    ws = open_as(story.root, "alice")
    ws.approve(story.proposal, "better on December")
    assert ws.aliases(NAME) == {"champion": 2}
    _mlflow_champion_predicts_like(ws, story.run2)
    story.approved_at = datetime.now()
    time.sleep(0.01)


@step
def rollback_restores_the_previous_champion_also_in_mlflow(story: Story) -> None:
    ws = open_as(story.root, "alice")
    decision = ws.rollback(NAME, "complaints from the retention team")
    assert decision.kind == "rollback" and decision.status == "approved"
    assert ws.aliases(NAME) == {"champion": 1}
    _mlflow_champion_predicts_like(ws, story.run1)
    with pytest.raises(Exception, match="first champion"):
        ws.rollback(NAME, "again")  # v1 was promoted first: nothing earlier to go back to


@step
def history_answers_which_version_held_champion_when(story: Story) -> None:
    ws = open_as(story.root, "alice")
    moves = ws.alias_history(NAME, "champion")
    assert [(m.from_version, m.to_version, m.kind) for m in moves] == [
        (None, 1, "move"), (1, 2, "move"), (2, 1, "rollback"),
    ]  # fmt: skip
    assert [m.actor for m in moves] == ["alice"] * 3
    assert moves[1].reason == "better on December" and moves[1].decision_id == story.proposal
    assert ws.alias_at(NAME, "champion", datetime(2000, 1, 1)) is None
    assert ws.alias_at(NAME, "champion", story.promoted_at).version == 1
    assert ws.alias_at(NAME, "champion", story.approved_at).version == 2
    assert ws.alias_at(NAME, "champion", datetime.now()).version == 1


@step
def lineage_and_card_show_it(story: Story) -> None:
    ws = open_as(story.root, "alice")
    tree = ws.lineage(f"{NAME}@v2")
    nodes = [(n.kind, n.label) for _, n in tree.walk()]
    assert nodes[:3] == [("model", f"{NAME}@v2"), ("run", f"run {story.run2}"),
                         ("snapshot", "churn@v2")]  # fmt: skip
    assert ("batch", "prod-2025-07@v1") in nodes and ("snapshot", "churn@v1") in nodes
    sources = [n for _, n in tree.walk() if n.kind == "source"]
    assert any(s.label.endswith("train.csv") and len(s.hash) == 64 for s in sources)
    ws.set_intended_use(f"{NAME}@v2", "Rank customers by churn risk for retention calls.")
    card = ws.model_card(f"{NAME}@v2")
    for heading in ("Intended use", "Data lineage", "Parameters", "Holdout metrics",
                    "Per-segment metrics", "Drift baseline", "Gate results",
                    "Decisions and approvals"):  # fmt: skip
        assert f"## {heading}" in card
    assert "Rank customers by churn risk" in card and "| PASS | performance |" in card
    assert "better on December" in card and "(rollback)" in card


@step
def failed_gates_need_an_override_with_a_comment(story: Story) -> None:
    from workbench.errors import InputError

    ws = open_as(story.root, "alice")
    # a model trained without the MLflow mirror is logged to MLflow when registered
    run = ws.train("churn@v1", params={**FAST, "num_iterations": 5}, mlflow=False)
    mv = ws.register_model(run.id, NAME)
    assert mv.mlflow_version == "3" and ws.run(run.id).mlflow_run_id
    ws.settings.gates.min_improvement = 0.05
    proposal = ws.propose_promotion(mv.ref, "staging", "try it")
    perf = next(g for g in proposal.evidence.gates if g.name == "performance")
    assert not proposal.gates_passed and not perf.passed and "needs +0.05" in perf.summary
    # the evidence carries the drift of the gate holdout against the training data
    drift = proposal.evidence.drift
    assert drift["reference"] == "churn@v1" and drift["current"].startswith("prod-")
    assert 0 <= drift["share"] <= 1 and isinstance(drift["drifted_columns"], list)
    with pytest.raises(InputError, match="failed its gates"):
        ws.approve(proposal.id, "fine")
    with pytest.raises(InputError, match="needs a comment"):
        ws.approve(proposal.id, "", override=True)
    decided = ws.approve(proposal.id, "staging only, for a shadow test", override=True)
    assert decided.override and ws.aliases(NAME)["staging"] == 3
    actions = [e.action for e in ws.audit_log() if e.subject == f"decision {proposal.id}"]
    assert actions == ["proposal.filed", "decision.override", "decision.approved"]


@step
def audit_verifies_then_detects_a_tampered_row(story: Story) -> None:
    import duckdb

    ws = open_as(story.root, "alice")
    actions = {e.action for e in ws.audit_log()}
    assert {"model.registered", "proposal.filed", "alias.moved", "decision.approved",
            "model.rolled_back", "decision.override", "model.intended_use"} <= actions  # fmt: skip
    assert ws.audit_verify() == []
    seq = next(e.seq for e in ws.audit_log() if e.action == "model.rolled_back")
    con = duckdb.connect(str(ws.store.path))
    con.execute("update audit_log set actor = 'mallory' where seq = ?", [seq])
    con.close()
    problems = ws.audit_verify()
    assert problems and f"entry {seq}: content does not match its hash (edited)" in problems
    result = run_cli("audit", "verify", cwd=story.root)
    assert result.returncode == 1 and "audit log damaged" in result.stderr


# -- one test per step ----------------------------------------------------------------------


def test_champion_is_trained_and_promoted(story):
    story.play(champion_is_trained_and_promoted)


def test_retraining_yields_a_gated_challenger(story):
    story.play(retraining_yields_a_gated_challenger)


def test_approval_makes_it_champion_also_in_mlflow(story):
    story.play(approval_makes_it_champion_also_in_mlflow)


def test_rollback_restores_the_previous_champion_also_in_mlflow(story):
    story.play(rollback_restores_the_previous_champion_also_in_mlflow)


def test_history_answers_which_version_held_champion_when(story):
    story.play(history_answers_which_version_held_champion_when)


def test_lineage_and_card_show_it(story):
    story.play(lineage_and_card_show_it)


def test_failed_gates_need_an_override_with_a_comment(story):
    story.play(failed_gates_need_an_override_with_a_comment)


def test_audit_verifies_then_detects_a_tampered_row(story):
    story.play(audit_verifies_then_detects_a_tampered_row)
