"""Roles are enforced in the core: refused from the API and from the real CLI.

The workspace mirrors nothing to MLflow ([registry] mlflow = false) to stay fast.
"""

from __future__ import annotations

import re
import shutil

import pytest

from tests.registry.conftest import FAST, open_as, two_versions
from workbench.config import Settings
from workbench.errors import PermissionDenied

NAME = "churn-model"


@pytest.fixture(scope="module")
def roles_template(tmp_path_factory):
    """Two registered versions (v1 champion) and one pending proposal for v2, by bob."""
    root = two_versions(tmp_path_factory.mktemp("roles") / "p", "bob")
    bob = open_as(root, "bob")
    first = bob.propose_promotion(f"{NAME}@v1", "champion", "first")
    open_as(root, "alice").approve(first.id, "ok")
    pending = bob.propose_promotion(f"{NAME}@v2", "champion", "second")
    return {"root": root, "pending": pending.id}


@pytest.fixture
def roles_ws(roles_template, tmp_path):
    """A private copy of the template: tests approve, roll back and retrain in it."""
    root = tmp_path / "p"
    shutil.copytree(roles_template["root"], root)
    return {**roles_template, "root": root}


def test_default_roles():
    assert Settings().default_role == "developer"
    ws_settings = Settings.model_validate({"roles": {"alice": "admin"}})
    from workbench.registry.roles import allows, role_of

    assert role_of(ws_settings, "alice") == "admin" and role_of(ws_settings, "zed") == "developer"
    assert allows("admin", "approve") and allows("approver", "rollback")
    assert not allows("developer", "approve") and not allows("viewer", "propose")


def test_non_approver_is_refused_by_the_api(roles_ws):
    bob = open_as(roles_ws["root"], "bob")
    assert bob.role == "developer" and not bob.can("approve")
    for call in (
        lambda: bob.approve(roles_ws["pending"], "mine"),
        lambda: bob.reject(roles_ws["pending"], "no"),
        lambda: bob.set_alias(f"{NAME}@v2", "champion"),
    ):
        with pytest.raises(PermissionDenied, match="bob has role developer; .* needs approver"):
            call()
    assert bob.decision(roles_ws["pending"]).status == "pending"


def test_viewer_cannot_propose_or_register(roles_ws):
    carol = open_as(roles_ws["root"], "carol")  # not listed: default_role viewer here
    assert carol.role == "viewer"
    with pytest.raises(PermissionDenied, match="propose needs developer"):
        carol.propose_promotion(f"{NAME}@v2", "challenger")
    with pytest.raises(PermissionDenied, match="register needs developer"):
        carol.register_model(1, NAME)
    assert len(carol.models(NAME)) == 2  # reading is allowed


def test_non_approver_is_refused_by_the_cli(roles_ws, cli):
    root, pending = roles_ws["root"], str(roles_ws["pending"])
    refused = cli("decisions", "approve", pending, "-m", "mine", cwd=root,
                  env={"WORKBENCH_ACTOR": "bob"})  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "error: bob has role developer; approve needs approver (an admin can set [roles] "
        'bob = "approver" in .workbench/workbench.toml)'
    ]
    viewer = cli("models", "promote", f"{NAME}@v2", "--to", "challenger", cwd=root,
                 env={"WORKBENCH_ACTOR": "carol"})  # fmt: skip
    assert viewer.returncode == 2 and "carol has role viewer" in viewer.stderr
    admin = cli("decisions", "approve", pending, "-m", "admin says yes", cwd=root,
                env={"WORKBENCH_ACTOR": "root-admin"})  # fmt: skip
    assert admin.returncode == 0, admin.stderr
    assert open_as(root, "bob").aliases(NAME) == {"champion": 2}
    assert re.search(r"^  alias champion: (\(none\)|v1) -> v2$", admin.stdout, re.M), admin.stdout


def test_a_developers_rollback_is_a_proposal_an_approver_decides(roles_ws, cli):
    root = roles_ws["root"]
    open_as(root, "alice").approve(roles_ws["pending"], "ok")  # v2 is champion, v1 held it before
    filed = cli("models", "rollback", NAME, "-m", "v2 misbehaves", cwd=root,
                env={"WORKBENCH_ACTOR": "bob"})  # fmt: skip
    assert filed.returncode == 0 and "needs an approver" in filed.stdout
    bob = open_as(root, "bob")
    proposal = bob.decisions(status="pending")[0]
    assert proposal.kind == "rollback" and proposal.version == 1
    assert bob.aliases(NAME) == {"champion": 2}
    open_as(root, "alice").approve(proposal.id, "agreed")
    assert bob.aliases(NAME) == {"champion": 1}
    assert bob.alias_history(NAME, "champion")[-1].kind == "rollback"


@pytest.mark.slow
def test_cli_models_and_decisions_commands(roles_ws, cli, tmp_path):
    root, env = roles_ws["root"], {"WORKBENCH_ACTOR": "alice"}
    alice = open_as(root, "alice")  # v2 held champion, and a rollback gave it back to v1
    alice.approve(roles_ws["pending"], "ok")
    alice.rollback(NAME, "v2 misbehaves")
    listed = cli("models", "list", cwd=root, env=env)
    assert listed.returncode == 0 and f"{NAME}@v1" in listed.stdout and "champion" in listed.stdout
    shown = cli("models", "show", f"{NAME}@champion", cwd=root, env=env)
    assert shown.returncode == 0 and shown.stdout.startswith(f"{NAME}@v1")
    history = cli("models", "history", NAME, cwd=root, env=env)
    assert history.returncode == 0 and "rollback" in history.stdout
    tree = cli("models", "lineage", f"{NAME}@v1", cwd=root, env=env)
    assert (
        tree.returncode == 0 and "snapshot churn@v1" in tree.stdout and "train.csv" in tree.stdout
    )
    card = tmp_path / "card.md"
    wrote = cli("models", "card", f"{NAME}@v1", "--out", str(card), cwd=root, env=env)
    assert wrote.returncode == 0 and card.read_text().startswith(f"# Model card: {NAME}@v1")
    retrain = cli("retrain", "--from", f"{NAME}@champion", "--data", "prod-2025-07", cwd=root,
                  env={"WORKBENCH_ACTOR": "bob"})  # fmt: skip
    assert retrain.returncode in (0, 1), retrain.stderr  # 1: filed, but gates failed
    assert "filed decision" in retrain.stdout and "performance" in retrain.stdout
    decision_id = str(open_as(root, "alice").decisions(status="pending")[0].id)
    shown = cli("decisions", "show", decision_id, cwd=root, env=env)
    assert shown.returncode == 0 and "holdout:" in shown.stdout and "sanity" in shown.stdout
    rejected = cli("decisions", "reject", decision_id, "-m", "not now", cwd=root, env=env)
    assert rejected.returncode == 0 and "rejected decision" in rejected.stdout


def test_an_approved_retrain_proposal_retrains(roles_ws):
    bob = open_as(roles_ws["root"], "bob")
    filed = bob.propose_retrain(f"{NAME}@champion", "drift alert", data=["prod-2025-07"])
    assert filed.kind == "retrain" and filed.status == "pending"
    done = open_as(roles_ws["root"], "alice").approve(filed.id, "go ahead")
    promotion = bob.decision(done.result["proposal"])
    assert promotion.kind == "promote" and promotion.status == "pending"
    assert promotion.evidence.reason == "drift alert"
    assert promotion.evidence.training_data["batches"] == ["prod-2025-07@v1"]


def test_references_custom_aliases_and_unfinished_runs(roles_ws):
    from workbench.errors import InputError, NotFoundError, WorkbenchError

    alice = open_as(roles_ws["root"], "alice")
    assert alice.model(NAME).version == alice.model(f"{NAME}@latest").version >= 2
    assert alice.model(f"{NAME}@v1").run_id == 1
    with pytest.raises(NotFoundError):
        alice.model(f"{NAME}@shadow")
    with pytest.raises(InputError, match="invalid alias"):
        alice.set_alias(f"{NAME}@v2", "Shadow!")
    alice.set_alias(f"{NAME}@v2", "shadow", "shadow test")
    assert alice.model(f"{NAME}@shadow").version == 2
    alice.remove_alias(NAME, "shadow", "done")
    assert "shadow" not in alice.aliases(NAME)
    last = alice.alias_history(NAME, "shadow")[-1]
    assert (last.from_version, last.to_version, last.reason) == (2, None, "done")
    with pytest.raises(WorkbenchError) as failed:
        alice.train("churn@v1", params={**FAST, "num_leaves": -5}, mlflow=False)
    with pytest.raises(InputError, match="only finished runs"):
        alice.register_model(failed.value.run_id, NAME)
    with pytest.raises(InputError, match="already registered"):
        alice.register_model(1, NAME)
