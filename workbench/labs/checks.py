"""``workbench lab check``: grade a learner's folder step by step.

Each step of a lab has a check here that reads the workspace through the facade (and the
learner's answer files) and returns evidence lines, each with a verdict: ``pass``,
``fail`` (done, but wrong: a wrong answer, a broken state) or ``not-yet`` (not done). A
step's verdict is ``fail`` if any line fails, else ``not-yet`` if any line is not yet,
else ``pass``. The report is also JSON, for a teacher to collect.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from ..api import Workspace
from ..errors import WorkbenchError, WorkspaceNotFound
from . import Lab, load_lab

__all__ = ["Evidence", "StepReport", "LabReport", "check_lab"]

PASS, FAIL, NOT_YET = "pass", "fail", "not-yet"


@dataclass
class Evidence:
    verdict: str
    text: str


@dataclass
class StepReport:
    step: int
    title: str
    verdict: str
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class LabReport:
    lab: int
    title: str
    folder: str
    os_account: str
    checked_at: str
    steps: list[StepReport]

    @property
    def passed(self) -> bool:
        return all(s.verdict == PASS for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        data["score"] = f"{sum(s.verdict == PASS for s in self.steps)}/{len(self.steps)}"
        return data


class _Grader:
    """What a step's check needs: the folder, the workspace, and ways to say things."""

    def __init__(self, root: Path, ws: Workspace) -> None:
        self.root = root
        self.ws = ws
        self.lines: list[Evidence] = []

    def say(self, ok: bool | None, text: str, *, wrong: bool = False) -> bool:
        """``ok`` True: pass; else fail when ``wrong``, not-yet otherwise."""
        verdict = PASS if ok else FAIL if wrong else NOT_YET
        self.lines.append(Evidence(verdict, text))
        return bool(ok)

    # -- reading the workspace -----------------------------------------------------------

    def snapshot(self, ref: str):
        try:
            return self.ws.snapshot(ref)
        except WorkbenchError:
            return None

    def has_snapshot(self, ref: str, **expect: Any) -> bool:
        snap = self.snapshot(ref)
        if snap is None:
            return self.say(False, f"snapshot {ref} does not exist yet")
        wrong = [f"{k} is {getattr(snap, k)!r}, expected {v!r}"
                 for k, v in expect.items() if getattr(snap, k) != v]  # fmt: skip
        if wrong:
            return self.say(False, f"snapshot {ref} exists but its " + "; ".join(wrong), wrong=True)
        details = ", ".join(f"{k} {v}" for k, v in expect.items())
        return self.say(True, f"snapshot {ref} exists" + (f" ({details})" if details else ""))

    def runs(self) -> pl.DataFrame:
        return self.ws.runs()

    def has_run_on(self, ref: str) -> bool:
        runs = self.runs()
        done = runs.filter((pl.col("snapshot") == ref) & (pl.col("status") == "finished"))
        if done.is_empty():
            return self.say(False, f"no finished run on {ref} yet")
        return self.say(True, f"run {done['id'][0]} trained on {ref} (auc {done['auc'][0]:.4f})")

    def versions(self, name: str) -> list[Any]:
        return self.ws.models(name) if name in self.ws.model_names() else []

    def predictions(self, name: str) -> pl.DataFrame:
        if name not in self.ws.model_names():
            return pl.DataFrame()
        return self.ws.predictions(name)

    def answer(self, file: str, accept: Callable[[str], bool], question: str) -> bool:
        """An answer the learner wrote into ``answers/FILE``."""
        path = self.root / "answers" / file
        if not path.exists():
            return self.say(False, f"answers/{file} not written yet ({question})")
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        if accept(text):
            return self.say(True, f"answers/{file}: {text!r} is right ({question})")
        return self.say(
            False, f"answers/{file}: {text!r} is not the answer ({question})", wrong=True
        )


def _norm(text: str) -> str:
    return " ".join(text.lower().replace('"', " ").replace("'", " ").split())


def _month(month: str) -> Callable[[str], bool]:
    year, mon = month.split("-")
    names = {dt.date(2000, int(mon), 1).strftime(f) for f in ("%B", "%b")}
    accepted = {month, f"prod-{month}", f"batch_{year}_{mon}", f"batch_{year}_{mon}.csv"}
    accepted |= {n.lower() for n in names} | {f"{n.lower()} {year}" for n in names}
    return lambda text: _norm(text) in {a.lower() for a in accepted}


def _text(expected: str) -> Callable[[str], bool]:
    return lambda text: _norm(text) == _norm(expected)


# -- lab 1: a versioned pipeline ----------------------------------------------------------------


def _lab1_step1(g: _Grader) -> None:
    g.say(True, f"workspace at {g.ws.root}")
    g.has_snapshot("churn@v1", n_rows=12000, target="churn", key_column="customer_id")


def _lab1_step2(g: _Grader) -> None:
    if g.has_snapshot("churn@v2", n_rows=15000):
        v1, v2 = g.snapshot("churn@v1"), g.snapshot("churn@v2")
        parent_ok = v1 is not None and v2 is not None and v2.parent_id == v1.id
        g.say(parent_ok, "churn@v2's parent is churn@v1", wrong=True)


def _lab1_step3(g: _Grader) -> None:
    g.has_run_on("churn@v1")
    g.has_run_on("churn@v2")
    g.answer("concept-drift.txt", _text("support_calls"), "which feature stopped predicting?")


def _lab1_step4(g: _Grader) -> None:
    versions = g.versions("churn-model")
    if not versions:
        g.say(False, "no version of churn-model registered yet")
        return
    first = versions[-1] if versions[0].version != 1 else versions[0]
    g.say(True, f"model {first.ref} registered from run {first.run_id}")


def _lab1_step5(g: _Grader) -> None:
    contract = g.root / "churn.toml"
    if g.say(contract.exists(), "churn.toml (the data contract) exists"):
        try:
            july = g.ws.validate(g.root / "data/batch_2025_07.csv", contract_file=contract)
            september = g.ws.validate(g.root / "data/batch_2025_09.csv", contract_file=contract)
        except WorkbenchError as exc:
            g.say(False, f"churn.toml cannot be checked: {exc}", wrong=True)
        else:
            g.say(not july.violations, "July's batch meets churn.toml", wrong=True)
            g.say(bool(september.violations), "September's batch fails churn.toml", wrong=True)
    g.answer("broken-feed.txt", _month("2025-09"), "which month's feed is broken?")
    g.answer("new-category.txt", _text("Crypto wallet"), "which payment method is new?")


def _lab1_step6(g: _Grader) -> None:
    remote = g.ws.settings.remotes.get("origin")
    g.say(remote is not None, f"remote origin: {remote.url}" if remote is not None
          else "no remote origin yet")  # fmt: skip
    g.say((g.root / ".git").is_dir(), "the lab folder is a git repository")
    workflow = g.root / ".github" / "workflows" / "workbench-pr.yml"
    g.say(workflow.is_file(), ".github/workflows/workbench-pr.yml (the pull-request workflow)")
    report = g.root / "ci-out" / "workbench-report.md"
    text = report.read_text(encoding="utf-8", errors="replace") if report.exists() else ""
    if not text:
        g.say(False, "no ci-out/workbench-report.md yet (`workbench ci run-local --out ci-out`)")
    else:
        stopped = "did not validate" in text
        g.say(True, "ci-out/workbench-report.md: " + (
            "the pipeline stopped at the data contract" if stopped
            else "the pipeline ran past the data contract"))  # fmt: skip


def _lab1_step7(g: _Grader) -> None:
    log = g.predictions("churn-model")
    served = log.filter(~pl.col("request_id").str.starts_with("batch-")) if len(log) else log
    g.say(len(served) > 0, f"the prediction log holds {len(served)} answer(s) given over HTTP")


def _lab1_step8(g: _Grader) -> None:
    log = g.predictions("churn-model")
    batch = log.filter(pl.col("request_id").str.starts_with("batch-")) if len(log) else log
    g.say(len(batch) >= 3000, f"the prediction log holds {len(batch)} rows scored in batches")


# -- lab 2: drift-triggered retraining -----------------------------------------------------------


def _alert(g: _Grader, policy: str):
    if "churn-model" not in g.ws.model_names():
        return None
    found = [a for a in g.ws.alerts(model="churn-model") if a.policy == policy]
    return found[-1] if found else None


def _webhook_lines(g: _Grader) -> list[str]:
    path = g.root / "webhooks.jsonl"
    return path.read_text(encoding="utf-8", errors="replace").splitlines() if path.exists() else []


def _lab2_step1(g: _Grader) -> None:
    champion = g.ws.aliases("churn-model").get("champion") if g.versions("churn-model") else None
    g.say(champion is not None, f"a champion alias is set: churn-model@v{champion}"
          if champion else "no champion alias yet")  # fmt: skip
    monitoring = g.ws.settings.monitoring
    webhook = monitoring.webhook.url if monitoring.webhook is not None else None
    g.say(bool(webhook) and "127.0.0.1" in str(webhook),
          f"alerts go to the webhook {webhook}" if webhook else "no webhook in [monitoring] yet")  # fmt: skip
    g.say(monitoring.performance_drop == 0.03 and monitoring.drift_share == 0.3,
          f"policy: performance_drop {monitoring.performance_drop} (want 0.03), "
          f"drift_share {monitoring.drift_share} (want 0.3)")  # fmt: skip


def _lab2_step2(g: _Grader) -> None:
    lines = _webhook_lines(g)
    tests = [line for line in lines if '"type": "test"' in line]
    g.say(bool(tests), f"the receiver got {len(tests)} test message(s) (webhooks.jsonl)")


def _lab2_step3(g: _Grader) -> None:
    if not g.versions("churn-model"):
        g.say(False, "no model yet")
        return
    windows = [w for w in g.ws.monitor_report("churn-model").windows if w.role == "champion"]
    g.say(len(windows) >= 2, f"{len(windows)} window(s) of the champion in the prediction log")
    estimated = [w for w in windows if w.estimated.get("roc_auc")]
    g.say(bool(estimated), f"{len(estimated)} window(s) with an estimated AUC (CBPE)")
    g.has_snapshot("prod-2025-08")


def _lab2_step4(g: _Grader) -> None:
    alert = _alert(g, "null_share")
    if alert is None:
        g.say(False, "no null_share alert yet")
    else:
        g.say(True, f"alert {alert.id} fired: {alert.message} ({alert.window_key})")
        delivered = any("null_share" in line for line in _webhook_lines(g))
        g.say(delivered, "the webhook received it (webhooks.jsonl)")
        g.say(alert.acknowledged_by is not None,
              f"acknowledged by {alert.acknowledged_by}" if alert.acknowledged_by
              else f"alert {alert.id} not acknowledged yet")  # fmt: skip
    g.answer("first-alert.txt", _text("total_charges"), "which column does the alert name?")


def _lab2_step5(g: _Grader) -> None:
    alert = _alert(g, "performance")
    g.say(alert is not None, f"alert {alert.id} fired: {alert.message}" if alert
          else "no performance alert yet (labels imported?)")  # fmt: skip
    retrain = [d for d in g.ws.decisions(name="churn-model") if d.kind == "retrain"] if (
        g.versions("churn-model")) else []  # fmt: skip
    g.say(bool(retrain), f"the monitor filed retraining proposal {retrain[-1].id}" if retrain
          else "no retraining proposal yet")  # fmt: skip


def _lab2_step6(g: _Grader) -> None:
    decisions = g.ws.decisions(name="churn-model") if g.versions("churn-model") else []
    retrain = [d for d in decisions if d.kind == "retrain" and d.status == "approved"]
    g.say(bool(retrain), "the retraining proposal is approved" if retrain
          else "the retraining proposal is not approved yet")  # fmt: skip
    promote = [d for d in decisions if d.kind == "promote"]
    if promote:
        d = promote[-1]
        g.say(d.gates_passed, f"decision {d.id}: {d.title}, gates "
              f"{'pass' if d.gates_passed else 'fail'} against the champion", wrong=True)  # fmt: skip
    else:
        g.say(False, "no promotion of a challenger filed yet")


def _served(log: pl.DataFrame) -> pl.DataFrame:
    """The rows the scoring server logged (batch scoring's request ids start with batch-)."""
    return log.filter(~pl.col("request_id").str.starts_with("batch-")) if len(log) else log


def _lab2_step7(g: _Grader) -> None:
    log = g.predictions("churn-model")
    shadow = log.filter(pl.col("role") == "shadow") if len(log) else log
    live = _served(shadow)
    g.say(len(live) > 0, f"{len(live)} shadow answers logged by the scoring server"
          if len(live) else f"no shadow answers from `workbench serve --shadow` yet "
          f"({len(shadow)} from batch scoring)")  # fmt: skip
    verdicts = (
        [v for v in g.ws.verdicts("churn-model") if v.role == "shadow"] if len(shadow) else []
    )
    g.say(bool(verdicts), f"{len(verdicts)} shadow verdict(s): "
          + ", ".join(f"{v.challenger} {v.decision}" for v in verdicts))  # fmt: skip


def _lab2_step8(g: _Grader) -> None:
    log = g.predictions("churn-model")
    canary = _served(log.filter(pl.col("role") == "canary") if len(log) else log)
    routes = sorted(set(canary["route"].drop_nulls().to_list())) if len(canary) else []
    g.say(len(canary) > 0, f"{len(canary)} canary answers logged by the scoring server"
          + (f" ({', '.join(routes)})" if routes else ""))  # fmt: skip
    history = g.ws.deployment_history("churn-model") if len(log) else []
    steps = [d.value.get("step") for d in history if isinstance(d.value, dict)]
    g.say(any(isinstance(k, int) and k >= 1 for k in steps),
          "the canary ramp moved past its first step (`workbench monitor canary step`)"
          if history else "no canary ramp started yet")  # fmt: skip
    champion = g.ws.aliases("churn-model").get("champion") if len(log) else None
    g.say(champion == 2, f"the champion is churn-model@v{champion}")


# -- lab 3: a governed registry -----------------------------------------------------------------


def _approved_promotion(g: _Grader, version: int):
    for d in g.ws.decisions(name="churn-model"):
        if d.kind == "promote" and d.version == version and d.status == "approved":
            return d
    return None


def _lab3_step1(g: _Grader) -> None:
    settings = g.ws.settings
    approvers = sorted(n for n, r in settings.roles.items() if str(r) in ("approver", "admin"))
    g.say({"alice", "carol"} <= set(approvers), f"approvers in [roles]: {approvers or 'none'}")
    g.say(settings.roles.get("bob", settings.default_role) == "developer", "bob is a developer")
    on = settings.registry.four_eyes
    g.say(on, f"[registry] four_eyes is {'on' if on else 'still off'}")
    segments = settings.gates.segment_columns
    g.say("gender" in segments, f"[gates] segment_columns: {segments or 'none yet'} (want gender)")
    names = settings.accounts.get(g.ws.os_account, [])
    may = "*" in names or {"alice", "bob", "carol"} <= set(names)
    g.say(may, f"[accounts] {'lets' if may else 'does not yet let'} {g.ws.os_account} act as "
          "bob, alice and carol")  # fmt: skip


def _lab3_step2(g: _Grader) -> None:
    g.has_snapshot("churn@v1", n_rows=12000, target="churn")
    versions = {v.version: v for v in g.versions("churn-model")}
    first = versions.get(1)
    g.say(first is not None and first.author == "bob",
          "churn-model@v1 registered by bob" if first else "churn-model@v1 not registered yet",
          wrong=first is not None)  # fmt: skip


def _lab3_step3(g: _Grader) -> None:
    d = _approved_promotion(g, 1)
    if d is None:
        g.say(False, "the promotion of churn-model@v1 to champion is not approved yet")
        return
    g.say(True, f"decision {d.id}: {d.title}, proposed by {d.proposed_by}")
    role = g.ws.settings.roles.get(d.decided_by or "", g.ws.settings.default_role)
    g.say(str(role) in ("approver", "admin"), f"approved by {d.decided_by} ({role})", wrong=True)


def _lab3_step4(g: _Grader) -> None:
    d = _approved_promotion(g, 2)
    if d is None:
        g.say(False, "the promotion of churn-model@v2 to champion is not approved yet")
        return
    g.say(True, f"decision {d.id}: {d.title}, proposed by {d.proposed_by}")
    g.say(d.decided_by != d.proposed_by,
          f"approved by {d.decided_by}, not its proposer (four eyes)", wrong=True)  # fmt: skip


def _lab3_step5(g: _Grader) -> None:
    failed = [d for d in g.ws.decisions(name="churn-model")
              if d.kind == "promote" and d.version == 3]  # fmt: skip
    if not failed:
        g.say(False, "churn-model@v3 not proposed yet")
    else:
        d = failed[0]
        gates = [gate.name for gate in d.evidence.gates if not gate.passed]
        g.say(not d.gates_passed, f"decision {d.id}: failed gates {gates or 'none'}", wrong=True)
        status = "rejected" if d.status == "rejected" else f"{d.status}, to be rejected"
        g.say(d.status == "rejected", f"decision {d.id} is {status}", wrong=d.status == "approved")
    g.answer("contract-gate.txt", _text("Crypto wallet"), "which value broke the contract?")


def _lab3_step6(g: _Grader) -> None:
    versions = {v.version: v for v in g.versions("churn-model")}
    v2 = versions.get(2)
    g.say(v2 is not None and bool(v2.intended_use), "churn-model@v2 has an intended use")
    card = g.root / "card-v2.md"
    text = card.read_text(encoding="utf-8", errors="replace") if card.exists() else ""
    g.say("Model card: churn-model@v2" in text, "card-v2.md holds the model card of v2",
          wrong=card.exists())  # fmt: skip


def _lab3_step7(g: _Grader) -> None:
    moves = [m for m in g.ws.alias_history("churn-model", "champion") if m.kind == "rollback"]
    if not moves:
        g.say(False, "the champion has not been rolled back yet")
        return
    move = moves[-1]
    g.say(True, f"champion rolled back v{move.from_version} -> v{move.to_version} by "
          f"{move.actor} (decision {move.decision_id})")  # fmt: skip
    champion = g.ws.aliases("churn-model").get("champion")
    g.say(champion == 1, f"the champion is churn-model@v{champion}", wrong=True)
    if move.decision_id is not None:
        d = g.ws.decision(move.decision_id)
        g.say(d.proposed_by != d.decided_by,
              f"filed by {d.proposed_by}, carried out by {d.decided_by}", wrong=True)  # fmt: skip


def _lab3_step8(g: _Grader) -> None:
    problems = g.ws.audit_verify()
    g.say(not problems, "the audit log verifies" if not problems else f"audit: {problems[0]}",
          wrong=True)  # fmt: skip
    d = _approved_promotion(g, 2)
    approver = d.decided_by if d is not None and d.decided_by else "?"
    g.answer("approver.txt", _text(approver), "who approved churn-model@v2?")


CHECKS: dict[int, list[Callable[[_Grader], None]]] = {
    1: [_lab1_step1, _lab1_step2, _lab1_step3, _lab1_step4, _lab1_step5, _lab1_step6,
        _lab1_step7, _lab1_step8],
    2: [_lab2_step1, _lab2_step2, _lab2_step3, _lab2_step4, _lab2_step5, _lab2_step6,
        _lab2_step7, _lab2_step8],
    3: [_lab3_step1, _lab3_step2, _lab3_step3, _lab3_step4, _lab3_step5, _lab3_step6,
        _lab3_step7, _lab3_step8],
}  # fmt: skip


def check_lab(number: int, folder: Path | str = ".") -> LabReport:
    """Grade ``folder`` against lab ``number``; a folder without a workspace is an input
    error (WorkspaceNotFound)."""
    lab: Lab = load_lab(number)
    root = Path(folder)
    if not (root / ".workbench").is_dir():
        raise WorkspaceNotFound(
            f"{root} is not a workspace (no .workbench folder)",
            hint=f"give the lab's folder: `workbench lab check {number} DIR`",
        )
    ws = Workspace.open(root)
    steps: list[StepReport] = []
    checks = CHECKS.get(number, [])
    for step in lab.steps:
        grader = _Grader(root, ws)
        if step.number <= len(checks):
            try:
                checks[step.number - 1](grader)
            except WorkbenchError as exc:
                grader.say(False, f"could not check: {exc}", wrong=True)
        else:
            grader.say(False, "no automatic check for this step")
        verdicts = {e.verdict for e in grader.lines}
        verdict = FAIL if FAIL in verdicts else NOT_YET if NOT_YET in verdicts else PASS
        steps.append(StepReport(step.number, step.title, verdict, grader.lines))
    return LabReport(
        lab=lab.number,
        title=lab.title,
        folder=str(root.resolve()),
        os_account=ws.os_account,
        checked_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        steps=steps,
    )
