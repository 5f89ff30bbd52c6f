"""``workbench decisions ...`` and ``workbench retrain``: proposals, approvals, retraining.

Exit codes: 2 for input and permission errors (PermissionDenied), 1 when a proposal was filed
but its gates failed (the proposal stays pending; approving it needs ``--override``).
"""

from __future__ import annotations

import click
from rich.table import Table

from ..errors import CheckFailed
from .main import Context, pass_ctx
from .output import RichProgress, native_stderr_hidden, out, print_json


def _num(value) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def print_gates(evidence) -> None:
    """The gate table: mark, gate, numbers."""
    table = Table("", "gate", "result", box=None)
    for g in evidence.gates:
        mark = "[green]PASS[/]" if g.passed else "[red]FAIL[/]"
        table.add_row(mark, g.name, g.summary)
    if evidence.gates:
        out.print(table)


def print_evidence(decision) -> None:
    """A proposal's evidence: reason, holdout, metrics side by side, gates."""
    ev = decision.evidence
    out.print(f"decision {decision.id}: {decision.title}  [{decision.status}]")
    out.print(f"  proposed by {decision.proposed_by} at {decision.proposed_at:%Y-%m-%d %H:%M}")
    if ev.reason:
        out.print(f"  reason: {ev.reason}")
    if ev.holdout:
        out.print(f"  holdout: {ev.holdout}")
    if ev.training_data:
        batches = ", ".join(ev.training_data.get("batches") or ev.training_data.get("data") or [])
        out.print(f"  training data: {ev.training_data.get('snapshot', '')} {batches}".rstrip())
    out.print(f"  drift: {_drift_line(ev.drift)}")
    side = ev.side_by_side()
    if side:
        table = Table("metric", f"champion {ev.champion or '-'}", f"challenger {ev.challenger}",
                      box=None)  # fmt: skip
        for metric, champ, chall in side:
            table.add_row(metric, _num(champ), _num(chall))
        out.print(table)
    print_gates(ev)
    if decision.status != "pending":
        extra = " (override of failed gates)" if decision.override else ""
        out.print(f"  {decision.status} by {decision.decided_by}{extra}: {decision.comment or ''}")


def report_filed(decision) -> None:
    """Print a filed proposal; exit 1 (CheckFailed) if its gates failed."""
    print_gates(decision.evidence)
    if decision.status != "pending":
        out.print(f"decision {decision.id}: {decision.title} ({decision.status})")
        return
    out.print(f"filed decision {decision.id}: {decision.title}")
    if not decision.gates_passed:
        failed = ", ".join(g.name for g in decision.evidence.gates if not g.passed)
        raise CheckFailed(
            f"gates failed ({failed}); decision {decision.id} is pending",
            hint="an approver can approve it with --override -m REASON",
        )


@click.group()
def decisions() -> None:
    """Proposals with evidence, and the approvals and rejections that decide them."""


@decisions.command("list")
@click.option("--status", type=click.Choice(["pending", "approved", "rejected"]))
@click.option("--model", "name", help="Only this model's decisions.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def list_(ctx: Context, status: str | None, name: str | None, as_json: bool) -> None:
    """List proposals and decisions, newest first."""
    found = ctx.ws.decisions(status=status, name=name)
    if as_json:
        print_json(found)
        return
    table = Table("id", "proposal", "status", "gates", "by", "filed", "decided by", box=None)
    for d in found:
        gates = "pass" if d.gates_passed else "FAIL"
        table.add_row(str(d.id), d.title, d.status, gates, d.proposed_by,
                      f"{d.proposed_at:%Y-%m-%d %H:%M}", d.decided_by or "")  # fmt: skip
    out.print(table if found else "no decisions")


@decisions.command("show")
@click.argument("decision_id")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def show(ctx: Context, decision_id: str, as_json: bool) -> None:
    """Show a proposal with its evidence."""
    decision = ctx.ws.decision(decision_id)
    if as_json:
        print_json(decision)
        return
    print_evidence(decision)


@decisions.command("approve")
@click.argument("decision_id")
@click.option("-m", "--comment", required=True, help="Why you approve.")
@click.option("--override", is_flag=True, help="Approve although gates failed.")
@pass_ctx
def approve(ctx: Context, decision_id: str, comment: str, override: bool) -> None:
    """Approve a pending proposal and carry out its action (approver role)."""
    if ctx.ws.decision(decision_id).kind == "retrain":  # only retraining takes long
        with native_stderr_hidden(), RichProgress() as progress:
            decision = ctx.ws.approve(decision_id, comment, override=override, progress=progress)
    else:
        decision = ctx.ws.approve(decision_id, comment, override=override)
    out.print(f"approved decision {decision.id}: {decision.title}")
    if decision.result:
        out.print("  " + _result_text(decision.result))


def _result_text(result: dict) -> str:
    """What an approval did, in words: 'alias champion: (none) -> v1' for an alias move."""
    if set(result) >= {"alias", "from", "to"}:
        before = f"v{result['from']}" if result["from"] is not None else "(none)"
        after = f"v{result['to']}" if result["to"] is not None else "(none)"
        rest = {k: v for k, v in result.items() if k not in ("alias", "from", "to")}
        extra = "".join(f", {k} {v}" for k, v in rest.items())
        return f"alias {result['alias']}: {before} -> {after}{extra}"
    return ", ".join(f"{k} {v}" for k, v in result.items())


@decisions.command("reject")
@click.argument("decision_id")
@click.option("-m", "--comment", required=True, help="Why you reject.")
@pass_ctx
def reject(ctx: Context, decision_id: str, comment: str) -> None:
    """Reject a pending proposal (approver role)."""
    decision = ctx.ws.reject(decision_id, comment)
    out.print(f"rejected decision {decision.id}: {decision.title}")


@click.command()
@click.option("--from", "from_ref", default="@champion", show_default=True,
              help="Version to retrain from (NAME@champion, NAME@vN).")  # fmt: skip
@click.option("--data", "data", multiple=True, metavar="REF",
              help="Labelled snapshot to add (repeatable; default: new batches but the newest).")  # fmt: skip
@click.option("--to", "to_alias", default="champion", show_default=True, help="Alias to propose.")
@click.option("-m", "--reason", help="Why retrain (recorded with the proposal).")
@click.option("--propose", is_flag=True, help="Only file a retrain proposal for an approver.")
@pass_ctx
def retrain(ctx: Context, from_ref: str, data: tuple[str, ...], to_alias: str, reason, propose):
    """Retrain a challenger on the champion's data plus newer batches, gate it, propose it."""
    if propose:
        decision = ctx.ws.propose_retrain(from_ref, reason, list(data) or None)
        out.print(f"filed decision {decision.id}: {decision.title}")
        return
    with native_stderr_hidden(), RichProgress() as progress:
        decision = ctx.ws.retrain(
            from_ref, list(data) or None, reason=reason, to_alias=to_alias, progress=progress
        )
    training = decision.evidence.training_data or {}
    out.print(f"trained run {training.get('run')} on {training.get('snapshot')} "
              f"({training.get('base_snapshot')} + {', '.join(training.get('batches', []))})")  # fmt: skip
    out.print(f"registered {decision.evidence.challenger}; holdout: {decision.evidence.holdout}")
    report_filed(decision)


def _drift_line(drift: dict | None) -> str:
    if not drift:
        return "not available (the holdout is the run's own rows)"
    if "error" in drift:
        return f"{drift['current']} vs {drift['reference']}: {drift['error']}"
    cols = ", ".join(drift["drifted_columns"]) or "none"
    verdict = "dataset drift" if drift["dataset_drifted"] else "no dataset drift"
    return (
        f"{drift['current']} vs {drift['reference']}: share {drift['share']:.2f} ({verdict}); "
        f"drifted: {cols}"
    )
