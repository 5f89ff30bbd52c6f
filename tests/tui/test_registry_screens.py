"""Pilot and snapshot tests of the Models and Decisions areas (issue 5).

One small registry workspace is built per module (two versions of ``churn-model``: v1 the
champion, a pending proposal to promote v2) and copied per test. Roles as in
tests/registry: alice approves, bob only proposes; the acting user comes from
``WORKBENCH_ACTOR``. Timestamps and the measured scoring latency are fixed in the store so the
snapshots match on every run.
"""

from __future__ import annotations

import io
import json
import threading

import pytest
from rich.console import Console
from textual.widgets import DataTable, Input

from tests.helpers import record_fixture_edits
from tests.registry.conftest import open_as, two_versions
from tests.tui.conftest import (
    EPOCH,
    SIZE,
    app_on,
    notifications,
    private_copy,
    screen_shown,
    settle,
    wait_until,
)
from workbench.tui.app import WorkbenchApp
from workbench.tui.screens.confirm_decision import ConfirmDecision, DecisionInput
from workbench.tui.screens.decisions import DecisionsScreen
from workbench.tui.screens.models import ModelsScreen
from workbench.tui.widgets.registry_actions import RegistryActionProgress

NAME = "churn-model"
PENDING = 2
"""The pending proposal: promote churn-model@v2 to champion."""


def _fix_for_snapshots(ws) -> None:
    """Fixed times, and a fixed latency in the sanity gate's numbers (it is measured)."""
    with ws.store.write() as con:
        con.execute("update model_versions set created_at = ? + to_days(id::int)", [EPOCH])
        con.execute("update alias_moves set moved_at = ? + to_days(id::int)", [EPOCH])
        con.execute(
            "update decisions set proposed_at = ? + to_days(id::int), decided_at = case when "
            "decided_at is null then null else ? + to_days(id::int) + to_hours(2) end",
            [EPOCH, EPOCH],
        )
        for decision_id, text in con.execute("select id, evidence_json from decisions").fetchall():
            evidence = json.loads(text)
            for gate in evidence.get("gates", []):
                if gate["name"] == "sanity":
                    gate["numbers"]["latency_ms_per_10k"] = 25.0
                    head = gate["summary"].split(";")[0]
                    gate["summary"] = f"{head}; 25 ms per 10k rows"
            con.execute(
                "update decisions set evidence_json = ? where id = ?",
                [json.dumps(evidence), decision_id],
            )
        record_fixture_edits(ws, con, "model_versions", "alias_moves", "decisions")


@pytest.fixture(scope="module")
def registry_template(tmp_path_factory):
    """Built once per module: v1 champion (approved), v2 proposed for champion (pending)."""
    root = two_versions(tmp_path_factory.mktemp("registry-tui") / "ws", "alice")
    alice = open_as(root, "alice")
    first = alice.propose_promotion(f"{NAME}@v1", "champion", "first model")
    alice.approve(first.id, "baseline looks sound")
    pending = alice.propose_promotion(f"{NAME}@v2", "champion", "second seed scores better")
    assert pending.id == PENDING
    _fix_for_snapshots(alice)
    return root


@pytest.fixture
def registry_root(registry_template, tmp_path):
    """A private copy of the registry workspace."""
    return private_copy(registry_template, tmp_path)


@pytest.fixture
def as_actor(monkeypatch):
    """Act as a user (``WORKBENCH_ACTOR``) in the app about to start."""
    return lambda actor: monkeypatch.setenv("WORKBENCH_ACTOR", actor)


def _app(root) -> WorkbenchApp:
    return app_on(root)


def _champion(root) -> int | None:
    return open_as(root, "alice").aliases(NAME).get("champion")


async def _models_ready(pilot) -> ModelsScreen:
    """Go to Models and wait for the table, the history, lineage and card of the cursor row."""
    app = pilot.app
    await wait_until(pilot, lambda: app.workspace is not None)
    await pilot.press("5")
    screen = app.screen
    assert isinstance(screen, ModelsScreen)
    await wait_until(
        pilot,
        lambda: (
            bool(screen.rows)
            and screen.detail_ref == screen.highlighted_ref
            and screen.card_ref == screen.highlighted_ref
        ),
    )
    await settle(pilot)
    return screen


async def _decisions_ready(pilot) -> DecisionsScreen:
    """Go to Decisions and wait for the proposals and the audit log."""
    app = pilot.app
    await wait_until(pilot, lambda: app.workspace is not None)
    await pilot.press("7")
    screen = app.screen
    assert isinstance(screen, DecisionsScreen)
    await wait_until(pilot, lambda: screen.loaded_token is not None)
    await wait_until(pilot, lambda: screen.audit_problems is not None)
    await settle(pilot)
    return screen


async def _confirm(pilot, comment: str, override: bool = False) -> None:
    """Fill the open confirmation dialog and press enter."""
    app = pilot.app
    await screen_shown(pilot, ConfirmDecision)
    app.screen.query_one("#confirm-comment", Input).value = comment
    if override:
        app.screen.query_one("#confirm-override").value = True
    await pilot.press("enter")


def _notes(app) -> list[str]:
    return [f"{n.title}: {n.message}" for n in notifications(app)]


def _text(screen, selector: str) -> str:
    """What a Static shows, as plain text (its content may be a Rich table or group)."""
    console = Console(width=SIZE[0], file=io.StringIO(), record=True)
    console.print(screen.query_one(selector).content)
    return console.export_text()


def _cells(screen: ModelsScreen) -> dict[str, tuple[str, ...]]:
    return {row.ref: row.cells for row in screen.rows}


# -- Models ----------------------------------------------------------------------------------


@pytest.mark.slow
async def test_models_show_versions_aliases_history_lineage(registry_root, as_actor):
    as_actor("alice")
    app = _app(registry_root)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _models_ready(pilot)
        cells = _cells(screen)
        assert list(cells) == [f"{NAME}@v2", f"{NAME}@v1"]
        assert cells[f"{NAME}@v1"][2] == "champion" and cells[f"{NAME}@v2"][2] == "-"
        assert cells[f"{NAME}@v1"][5].startswith("auc 0.")
        assert screen.highlighted_ref == f"{NAME}@v2"
        assert [(m.alias, m.from_version, m.to_version, m.actor) for m in screen.history] == [
            ("champion", None, 1, "alice")
        ]
        await pilot.press("down")
        await wait_until(pilot, lambda: screen.card_ref == screen.detail_ref == f"{NAME}@v1")
        tree = screen.query_one("#models-lineage-tree")
        labels = [str(n.label) for n in [tree.root, *tree.root.children]]
        assert labels[0].startswith(f"model {NAME}@v1") and labels[1].startswith("run 1")
        snapshot_node = tree.root.children[0].children[0]
        assert str(snapshot_node.label).startswith("snapshot churn@v1")
        assert "Model card: churn-model@v1" in screen.query_one("#models-card-text").source
        await pilot.press("l")
        assert screen.query_one("#models-tabs").active == "models-lineage"
        # cards are made once per version until the workspace changes
        made = []
        model_card = app.workspace.model_card
        app.workspace.model_card = lambda ref: made.append(ref) or model_card(ref)
        for key, ref in (("up", f"{NAME}@v2"), ("down", f"{NAME}@v1"), ("up", f"{NAME}@v2")):
            await pilot.press(key)
            await wait_until(pilot, lambda ref=ref: screen.card_ref == ref)
            assert f"Model card: {ref}" in screen.query_one("#models-card-text").source
        assert made == []
        # another writer (a real write, noticed by the app's poll) makes the cards stale; a
        # faked token here raced the poll, which put the real one back (a flake under load)
        before = app.change_token
        open_as(registry_root, "alice").tag_run(1, "seen", "yes")
        await wait_until(pilot, lambda: app.change_token != before)
        await pilot.press("down")
        await wait_until(pilot, lambda: f"{NAME}@v1" in made and screen.card_ref == f"{NAME}@v1")
        assert f"Model card: {NAME}@v1" in screen.query_one("#models-card-text").source


@pytest.mark.slow
async def test_models_show_the_servers_serving_now(registry_root, as_actor):
    """A running server's status file (here written for this process) shows under the
    versions: address, versions in their roles, request rate; it goes when the server stops."""
    from workbench.serving.status import StatusWriter

    as_actor("alice")
    app = _app(registry_root)
    describe = {"models": [{"role": "champion", "ref": f"{NAME}@champion", "model": NAME,
                            "version": 1, "task": "binary",
                            "since": "2026-01-01T12:00:00+00:00"}]}  # fmt: skip
    writer = StatusWriter(registry_root / ".workbench" / "serving", "http://127.0.0.1:8123",
                          lambda: describe, lambda: (42, 1), interval=60)  # fmt: skip
    async with app.run_test(size=SIZE) as pilot:
        screen = await _models_ready(pilot)
        panel = screen.query_one("#models-serving")
        assert not panel.display
        writer.start()
        screen._poll_serving()
        await wait_until(pilot, lambda: panel.display)
        text = str(panel.render())
        assert "http://127.0.0.1:8123" in text and f"champion {NAME}@v1 since 12:00:00" in text
        assert "42 requests" in text
        writer.stop()
        screen._poll_serving()
        await wait_until(pilot, lambda: not panel.display)


@pytest.mark.slow
async def test_rollback_from_models(registry_root, as_actor):
    open_as(registry_root, "alice").approve(PENDING, "second is better")
    as_actor("alice")
    app = _app(registry_root)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _models_ready(pilot)
        assert _cells(screen)[f"{NAME}@v2"][2] == "champion"
        await pilot.press("b")
        await screen_shown(pilot, ConfirmDecision)
        assert "from v2 back to v1" in _text(app.screen, "#confirm-summary")
        await _confirm(pilot, "v2 misbehaves in production")
        await wait_until(pilot, lambda: _cells(screen)[f"{NAME}@v1"][2] == "champion")
        await settle(pilot)
        assert _champion(registry_root) == 1
        assert screen.history[-1].kind == "rollback"
        assert screen.history[-1].reason == "v2 misbehaves in production"
        assert any("champion is v1 again" in n for n in _notes(app))


async def test_viewer_rollback_is_refused(registry_root, as_actor):
    as_actor("carol")  # not listed: default_role viewer
    app = _app(registry_root)
    async with app.run_test(size=SIZE) as pilot:
        await _models_ready(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, ModelsScreen)
        assert any("carol has role viewer; propose needs developer" in n for n in _notes(app))
        assert _champion(registry_root) == 1


# -- Decisions -------------------------------------------------------------------------------


@pytest.mark.slow
async def test_approve_through_the_modal_moves_the_champion(registry_root, as_actor):
    as_actor("alice")
    app = _app(registry_root)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _decisions_ready(pilot)
        assert [d.id for d in screen.decisions] == [PENDING]
        evidence = _text(screen, "#decisions-evidence-view")
        assert "champion churn-model@v1" in evidence and "challenger churn-model@v2" in evidence
        assert "PASS" in evidence
        await pilot.press("a")
        await _confirm(pilot, "ship it")
        await wait_until(pilot, lambda: screen.decisions == [] and screen.loaded_token)
        assert _champion(registry_root) == 2
        decided = open_as(registry_root, "alice").decision(PENDING)
        assert (decided.status, decided.decided_by, decided.comment) == (
            "approved", "alice", "ship it",
        )  # fmt: skip
        # the Models area shows the move when visited
        models = await _models_ready(pilot)
        await wait_until(pilot, lambda: _cells(models)[f"{NAME}@v2"][2] == "champion")
        # and every decision is one toggle away
        await pilot.press("7", "t")
        await wait_until(pilot, lambda: len(screen.decisions) == 2)
        assert screen.decisions[0].status == "approved"


def _propose_retrain(root) -> int:
    return (
        open_as(root, "alice").propose_retrain(f"{NAME}@champion", "drift", ["prod-2025-07@v1"]).id
    )


@pytest.mark.slow
async def test_approving_a_retrain_shows_its_progress(registry_root, as_actor):
    retrain = _propose_retrain(registry_root)
    as_actor("alice")
    messages = []
    app = _app(registry_root)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        screen = await _decisions_ready(pilot)
        assert screen.selected_id == retrain  # newest first
        assert screen.check_action("cancel_action", ()) is False
        await pilot.press("a")
        await _confirm(pilot, "retrain on July")
        await wait_until(pilot, lambda: retrain not in [d.id for d in screen.decisions])
        await settle(pilot)
        decided = open_as(registry_root, "alice").decision(retrain)
        assert decided.status == "approved"
        steps = [m for m in messages if isinstance(m, RegistryActionProgress)]
        started = {m.task: m.total for m in steps if m.task is not None}
        assert started.get("train"), started  # the training phase, with its iteration total
        assert sum(m.advance for m in steps) >= started["train"] / 2
        assert not screen.query_one("#registry-progress").display
        assert screen.check_action("cancel_action", ()) is False


@pytest.mark.slow
async def test_cancelling_a_retrain_approval_leaves_it_pending(registry_root, as_actor):
    retrain = _propose_retrain(registry_root)
    before = len(open_as(registry_root, "alice").decisions())
    as_actor("alice")
    app = _app(registry_root)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _decisions_ready(pilot)
        # The demo retrain takes a fraction of a second here: hold the approval at its start
        # (after it has reported a phase) until the test has pressed cancel.
        release = threading.Event()
        approve = app.workspace.approve

        def held(*args, progress, **kwargs):
            progress.start("train", 60)
            release.wait(30)
            return approve(*args, progress=progress, **kwargs)

        app.workspace.approve = held
        await pilot.press("a")
        await _confirm(pilot, "retrain on July")
        await wait_until(pilot, lambda: screen.query_one("#registry-progress").display)
        assert screen.check_action("cancel_action", ()) is True
        assert "c cancels" in str(screen.query_one("#registry-progress-task").render())
        await pilot.press("c")
        release.set()
        await wait_until(pilot, lambda: screen.action_cancel is None)
        await settle(pilot)
        assert any("cancelled" in n for n in _notes(app)), _notes(app)
        assert not screen.query_one("#registry-progress").display
        ws = open_as(registry_root, "alice")
        assert ws.decision(retrain).status == "pending"
        assert len(ws.decisions()) == before
        assert _champion(registry_root) == 1


async def test_reject_with_a_comment(registry_root, as_actor):
    as_actor("alice")
    app = _app(registry_root)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _decisions_ready(pilot)
        await pilot.press("x")
        await screen_shown(pilot, ConfirmDecision)
        await pilot.press("enter")  # a rejection needs a comment: the dialog stays
        assert isinstance(app.screen, ConfirmDecision)
        await _confirm(pilot, "not enough evidence")
        await wait_until(pilot, lambda: screen.decisions == [] and screen.loaded_token)
        await settle(pilot)
        assert open_as(registry_root, "alice").decision(PENDING).status == "rejected"
        assert _champion(registry_root) == 1
        await pilot.press("l")
        await wait_until(pilot, lambda: screen.audit_problems == [])
        log = _text(screen, "#decisions-audit-log")
        assert "decision.rejected" in log
        assert "audit chain intact" in _text(screen, "#decisions-audit-verify")


async def test_four_eyes_refuses_the_proposer_before_the_dialog(registry_root, as_actor):
    settings = registry_root / ".workbench" / "workbench.toml"
    text = settings.read_text()
    settings.write_text(text.replace("[registry]\n", "[registry]\nfour_eyes = true\n", 1))
    as_actor("alice")  # an approver, and the proposer of the pending proposal
    app = _app(registry_root)
    async with app.run_test(size=SIZE) as pilot:
        await _decisions_ready(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, DecisionsScreen)  # no dialog, no comment typed in vain
        assert any(
            f"decision {PENDING} was proposed by alice; with [registry] four_eyes on" in n
            for n in _notes(app)
        )
    assert open_as(registry_root, "alice").decision(PENDING).status == "pending"


async def test_non_approver_approve_is_refused(registry_root, as_actor):
    as_actor("bob")
    app = _app(registry_root)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _decisions_ready(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, DecisionsScreen)  # no dialog opened
        assert any("bob has role developer; approve needs approver" in n for n in _notes(app))
        # the core refuses too, if the screen's check were bypassed: a notification, no crash
        d = screen.selected()
        screen._run_decide(app.workspace, "approve", d, DecisionInput("mine"))
        await wait_until(pilot, lambda: any("Approve #2 failed" in n for n in _notes(app)))
        await settle(pilot)
        assert open_as(registry_root, "alice").decision(PENDING).status == "pending"
        # shown as written: "[roles]" is not taken for markup, and the hint comes once
        for note in notifications(app):
            if "needs approver" in note.message:
                assert not note.markup and '[roles] bob = "approver"' in note.message
                assert note.message.count("an admin can set") == 1
        assert _champion(registry_root) == 1


async def test_failed_gates_need_an_override(registry_root, as_actor):
    with open_as(registry_root, "alice").store.write() as con:
        text = con.execute("select evidence_json from decisions where id = ?", [PENDING])
        evidence = json.loads(text.fetchone()[0])
        evidence["gates"][0]["passed"] = False
        con.execute(
            "update decisions set evidence_json = ?, gates_passed = false where id = ?",
            [json.dumps(evidence), PENDING],
        )
        record_fixture_edits(open_as(registry_root, "alice"), con, "decisions")
    as_actor("alice")
    app = _app(registry_root)
    async with app.run_test(size=SIZE) as pilot:
        await _decisions_ready(pilot)
        await pilot.press("a")
        await _confirm(pilot, "known issue, accepted")  # override not ticked: stays open
        assert isinstance(app.screen, ConfirmDecision)
        await _confirm(pilot, "known issue, accepted", override=True)
        await wait_until(pilot, lambda: _champion(registry_root) == 2)
        assert open_as(registry_root, "alice").decision(PENDING).override


async def test_tampered_audit_log_shows_broken(registry_root, as_actor):
    with open_as(registry_root, "alice").store.write() as con:
        con.execute("update audit_log set actor = 'mallory' where seq = 3")
    as_actor("carol")  # a viewer may read the audit log
    app = _app(registry_root)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _decisions_ready(pilot)
        await pilot.press("l")
        await wait_until(pilot, lambda: bool(screen.audit_problems))
        verdict = _text(screen, "#decisions-audit-verify")
        assert "audit chain broken" in verdict and "entry 3: content does not match" in verdict
        assert "mallory" in _text(screen, "#decisions-audit-log")


# -- snapshots -------------------------------------------------------------------------------


async def _no_hover(pilot) -> None:
    """Drop DataTable hover highlights: a stray pointer position made the snapshot flaky."""
    for table in pilot.app.screen.query(DataTable):
        table._show_hover_cursor = False
        table.refresh()
    await settle(pilot)


def test_models_screen_snapshot(snap_compare, registry_root, as_actor):
    as_actor("alice")

    async def run_before(pilot):
        await _models_ready(pilot)
        await _no_hover(pilot)

    assert snap_compare(_app(registry_root), terminal_size=SIZE, run_before=run_before)


def test_decisions_screen_snapshot(snap_compare, registry_root, as_actor):
    as_actor("alice")

    async def run_before(pilot):
        await _decisions_ready(pilot)
        await _no_hover(pilot)

    assert snap_compare(_app(registry_root), terminal_size=SIZE, run_before=run_before)


def test_approve_dialog_snapshot(snap_compare, registry_root, as_actor):
    as_actor("alice")

    async def run_before(pilot):
        await _decisions_ready(pilot)
        await pilot.press("a")
        await screen_shown(pilot, ConfirmDecision)
        pilot.app.screen.query_one("#confirm-comment", Input).cursor_blink = False
        await settle(pilot)

    assert snap_compare(_app(registry_root), terminal_size=SIZE, run_before=run_before)
