"""[registry] four_eyes: nobody approves their own proposal (API and real CLI).

Off by default: test_registry_end_to_end has one person propose and approve.
"""

from __future__ import annotations

import pytest

from tests.registry.conftest import open_as, two_versions
from workbench.errors import PermissionDenied

NAME = "churn-model"


@pytest.fixture(scope="module")
def four_eyes_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("four_eyes") / "p"
    return two_versions(root, "alice", "mlflow = false\nfour_eyes = true")


def test_a_proposer_cannot_approve_their_own_proposal(four_eyes_root, cli):
    alice = open_as(four_eyes_root, "alice")
    own = alice.propose_promotion(f"{NAME}@v1", "champion", "first")
    for ask in (lambda: alice.check_approval(own), lambda: alice.approve(own.id, "mine")):
        with pytest.raises(PermissionDenied, match=f"decision {own.id} was proposed by alice"):
            ask()
    refused = cli("decisions", "approve", str(own.id), "-m", "mine", cwd=four_eyes_root,
                  env={"WORKBENCH_ACTOR": "alice"})  # fmt: skip
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines() == [
        f"error: decision {own.id} was proposed by alice; with [registry] four_eyes on, another "
        "approver must approve it (rejecting it withdraws it)"
    ]
    assert alice.decision(own.id).status == "pending" and alice.aliases(NAME) == {}

    admin = open_as(four_eyes_root, "root-admin")  # another person approves
    admin.check_approval(own)
    assert admin.approve(own.id, "checked").status == "approved"
    assert alice.aliases(NAME) == {"champion": 1}

    withdrawn = alice.propose_promotion(f"{NAME}@v2", "champion", "second")
    assert alice.reject(withdrawn.id, "withdrawn: wrong data").status == "rejected"
