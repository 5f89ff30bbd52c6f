"""Push and pull through a folder and through a real S3-compatible server (moto, its own
process): nothing lost, objects sent once, stale pushes refused, local work never lost."""

from __future__ import annotations

import pytest

from tests.remote.helpers import RemoteView, object_names, prediction_files, table_rows
from tests.remote.story import PREDICTIONS, ROLES
from workbench.api import Workspace
from workbench.errors import Conflict, IntegrityError


@pytest.fixture(params=["folder", "s3"])
def remote(request, tmp_path):
    """(url, endpoint, view) of an empty remote of each kind."""
    if request.param == "folder":
        path = tmp_path / "remote"
        return str(path), None, RemoteView("folder", str(path))
    endpoint = request.getfixturevalue("s3_server")
    bucket = request.getfixturevalue("bucket")
    url = f"s3://{bucket}/team/churn"
    return url, endpoint, RemoteView("s3", url, endpoint)


def _clone(root, url, endpoint) -> Workspace:
    ws = Workspace.init(root)
    ws.add_remote("origin", url, endpoint)
    return ws


def _pushed_and_cloned(story, remote, tmp_path) -> tuple[Workspace, Workspace]:
    """alice (the story) pushed version 1; bob pulled it into a fresh workspace."""
    url, endpoint, _ = remote
    alice = Workspace(story)
    alice.add_remote("origin", url, endpoint)
    alice.push()
    bob = _clone(tmp_path / "bob", url, endpoint)
    bob.pull()
    return alice, bob


def _add_batch(ws: Workspace, name: str, seed: int) -> None:
    from workbench.demo_data import generate

    path = ws.root / f"{name}.csv"
    generate(seed=seed, n_train=200, n_per_batch=100).batches["2025-08"].write_csv(path)
    ws.add_snapshot(path, name, message=name, **ROLES)


def test_round_trip_loses_nothing(story, remote, tmp_path):
    url, endpoint, view = remote
    ws = Workspace(story)
    ws.add_remote("origin", url, endpoint)
    pushed = ws.push()
    assert (pushed.version, pushed.up_to_date) == (1, False)
    assert pushed.objects_uploaded == len(object_names(story)) - 1  # less the drift stats cache
    assert pushed.files_uploaded == 1

    clone = _clone(tmp_path / "clone", url, endpoint)
    pulled = clone.pull()
    assert (pulled.version, pulled.replaced, pulled.files_downloaded) == (1, True, 1)

    before, after = table_rows(story), table_rows(clone.root)
    for table in ("snapshots", "runs", "model_versions", "alias_moves", "decisions",
                  "drift_reports", "drift_columns", "audit_log", "run_keys"):  # fmt: skip
        assert after[table] == before[table], table
        assert before[table], f"the story has no {table}"
    assert after == before
    assert object_names(clone.root) <= object_names(story)
    assert prediction_files(clone.root) == prediction_files(story)
    assert PREDICTIONS in prediction_files(clone.root)

    report = clone.verify()
    assert report.ok and not report.audit, report
    assert clone.audit_verify() == []
    champion = clone.model("churn-model@champion")
    assert champion.version == 1
    batch = clone.load("prod-2025-07")
    theirs = ws.run_model(ws.model("churn-model@champion").run_id).predict(batch)
    assert list(clone.run_model(champion.run_id).predict(batch)) == list(theirs)
    assert [d.status for d in clone.decisions()] == ["rejected"]
    view.check_consistent()

    # the clone works on: new ids follow the pulled ones, and it can push again
    _add_batch(clone, "prod-2025-08", 3)
    assert clone.snapshot("prod-2025-08").id == max(r[0] for r in before["snapshots"]) + 1
    assert clone.push().version == 2
    assert clone.audit_verify() == []


def test_objects_are_sent_once(story, remote):
    url, endpoint, view = remote
    ws = Workspace(story)
    ws.add_remote("origin", url, endpoint)
    first = ws.push()
    stamps = {k: view.stamp(k) for k in view.keys("objects/")}
    again = ws.push()
    assert again.up_to_date and again.objects_uploaded == 0 and again.version == 1
    assert view.versions() == [1]

    _add_batch(ws, "prod-2025-08", 3)
    third = ws.push()
    assert third.version == 2
    assert third.objects_uploaded == 1  # the new snapshot only
    assert third.objects_present == first.objects_uploaded
    assert third.files_uploaded == 0
    assert {k: view.stamp(k) for k in stamps} == stamps  # nothing rewritten
    view.check_consistent()


def test_stale_push_is_refused_and_nothing_overwritten(story, remote, tmp_path):
    view = remote[2]
    alice, bob = _pushed_and_cloned(story, remote, tmp_path)
    _add_batch(bob, "prod-2025-08", 3)
    assert bob.push().version == 2
    v2 = view.read("versions/0000000002.json")
    remote_keys = view.keys()

    _add_batch(alice, "prod-2025-09", 4)  # alice works on her stale copy
    alice_state = table_rows(story)
    with pytest.raises(Conflict, match="has moved on: version 2 .* pull"):
        alice.push()
    assert view.versions() == [1, 2]
    assert view.read("versions/0000000002.json") == v2
    assert view.keys() == remote_keys  # not even an object was sent

    with pytest.raises(Conflict, match="would lose them"):
        alice.pull()  # her own change would be lost: refused too
    assert table_rows(story) == alice_state
    assert alice.snapshot("prod-2025-09").version == 1
    assert alice.audit_verify() == []


def test_pull_fast_forwards_and_keeps_local_files(story, remote, tmp_path):
    url, endpoint, _ = remote
    alice, bob = _pushed_and_cloned(story, remote, tmp_path)
    local_seg = bob.dir / "predictions" / "churn-model" / "v1" / "2025-07-02" / "seg-bob.parquet"
    local_seg.parent.mkdir(parents=True)
    local_seg.write_bytes(b"PAR1 bob's own rows PAR1")  # opaque to a remote

    _add_batch(alice, "prod-2025-08", 3)
    ahead = alice.pull()  # alice holds more than the remote: nothing to take
    assert ahead.up_to_date and ahead.ahead and not ahead.replaced
    assert alice.snapshot("prod-2025-08").version == 1
    alice.push()
    pulled = bob.pull()
    assert pulled.replaced and pulled.version == 2 and pulled.objects_downloaded == 1
    assert bob.snapshot("prod-2025-08").version == 1
    assert local_seg.exists()  # local prediction files are never removed
    assert bob.pull().up_to_date
    assert bob.audit_verify() == []

    pushed = bob.push()  # bob's new prediction file travels; the metadata is unchanged
    assert pushed.version == 3 and pushed.files_uploaded == 1 and pushed.objects_uploaded == 0
    third = _clone(tmp_path / "third", url, endpoint)
    third.pull()
    assert set(prediction_files(third.root)) == set(prediction_files(bob.root))


def test_racing_pushes_one_wins(story, tmp_path):
    """Two pushes read version 1 and both try to create version 2: the conditional create lets
    one through and refuses the other, which overwrites nothing."""
    from workbench.remote import RemoteService
    from workbench.remote.backends import open_backend

    url = str(tmp_path / "remote")
    ws = Workspace(story)
    ws.add_remote("origin", url)
    ws.push()
    _add_batch(ws, "prod-2025-08", 3)
    rival = b'{"someone": "else"}'

    class Racing:
        """A backend where another push creates the same version just before ours."""

        def __init__(self, *args):
            self.inner = open_backend(*args)

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def create(self, key, data):
            if key.startswith("versions/"):
                assert self.inner.create(key, rival)
            return self.inner.create(key, data)

    service = RemoteService(ws.ctx, open=Racing)
    with pytest.raises(Conflict, match="while this push ran; nothing was overwritten"):
        service.push("origin")
    assert (tmp_path / "remote" / "versions" / "0000000002.json").read_bytes() == rival


def test_damaged_remote_object_is_refused(story, tmp_path):
    import os

    url = tmp_path / "remote"
    ws = Workspace(story)
    ws.add_remote("origin", str(url))
    ws.push()
    victim = next(p for p in (url / "objects").rglob("*") if p.is_file())
    os.chmod(victim, 0o644)
    victim.write_bytes(b"not what it was")
    clone = _clone(tmp_path / "clone", str(url), None)
    with pytest.raises(IntegrityError, match="damaged"):
        clone.pull()
    assert clone.snapshots() == []  # nothing replaced
    assert clone.audit_log() == []


def test_pull_into_workspace_with_its_own_history_is_refused(story, tmp_path):
    url = str(tmp_path / "remote")
    ws = Workspace(story)
    ws.add_remote("origin", url)
    ws.push()
    other = _clone(tmp_path / "other", url, None)
    _add_batch(other, "prod-2025-08", 3)
    with pytest.raises(Conflict, match="would lose them"):
        other.pull()
    assert [s.ref for s in other.snapshots()] == ["prod-2025-08@v1"]
    with pytest.raises(Conflict, match="has moved on"):
        other.push()


def test_ctrl_c_during_push_commits_nothing(story, tmp_path):
    """KeyboardInterrupt in the middle of the uploads: no version, whole objects only, and
    the next push finishes the job."""
    url = tmp_path / "remote"
    ws = Workspace(story)
    ws.add_remote("origin", str(url))

    class InterruptOnUpload:
        def start(self, task, total=None):
            if task.startswith("uploading") and "objects" in task:
                raise KeyboardInterrupt

        def advance(self, amount=1.0):
            pass

        def check_cancelled(self):
            pass

    with pytest.raises(KeyboardInterrupt):
        ws.push(progress=InterruptOnUpload())
    view = RemoteView("folder", str(url))
    assert view.versions() == []
    view.check_consistent()
    assert ws.push().version == 1
    view.check_consistent()
