"""``workbench models ...``: registered model versions, aliases, lineage, cards, promotion."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table
from rich.tree import Tree

from .decisions import report_filed
from .main import Context, pass_ctx
from .output import RichProgress, native_stderr_hidden, out, print_json


@click.group()
def models() -> None:
    """Model versions and aliases: register, list, show, history, lineage, card, promote."""


@models.command("register")
@click.argument("run_id")
@click.option("--name", "-n", required=True, help="Model name; the version becomes NAME@vN.")
@pass_ctx
def register(ctx: Context, run_id: str, name: str) -> None:
    """Register a finished run's model as the next version of NAME."""
    mv = ctx.ws.register_model(run_id, name)
    mirror = f", MLflow version {mv.mlflow_version}" if mv.mlflow_version else ""
    out.print(f"registered {mv.ref} from run {mv.run_id} ({mv.snapshot_ref}){mirror}")


def _auc(ws, run_id: int) -> str:
    metrics = ws.run(run_id).metrics
    key = "auc" if "auc" in metrics else "rmse" if "rmse" in metrics else None
    return f"{key} {metrics[key]:.4f}" if key else ""


@models.command("list")
@click.option("--name", help="Only this model's versions.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def list_(ctx: Context, name: str | None, as_json: bool) -> None:
    """List model versions with their aliases and key metric."""
    versions = ctx.ws.models(name)
    if as_json:
        print_json(versions)
        return
    table = Table("version", "aliases", "run", "data", "metric", "registered", "by", box=None)
    for mv in versions:
        table.add_row(mv.ref, ", ".join(mv.aliases), str(mv.run_id), mv.snapshot_ref or "",
                      _auc(ctx.ws, mv.run_id), f"{mv.created_at:%Y-%m-%d %H:%M}", mv.author)  # fmt: skip
    out.print(
        table if versions else "no models yet (register one with `workbench models register`)"
    )


@models.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def show(ctx: Context, ref: str, as_json: bool) -> None:
    """Show one version (NAME@vN, NAME@ALIAS or NAME for the latest)."""
    mv = ctx.ws.model(ref)
    if as_json:
        print_json(mv)
        return
    run = ctx.ws.run(mv.run_id)
    out.print(f"{mv.ref}  aliases: {', '.join(mv.aliases) or '-'}")
    out.print(f"  run {run.id} ({run.task}, target {run.target}) on {mv.snapshot_ref}")
    out.print(f"  registered {mv.created_at:%Y-%m-%d %H:%M} by {mv.author}; "
              f"MLflow version {mv.mlflow_version or '-'}")  # fmt: skip
    out.print("  " + "  ".join(f"{k} {v:.4f}" for k, v in sorted(run.metrics.items())))


@models.command("history")
@click.argument("name")
@click.option("--alias", help="Only this alias.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def history(ctx: Context, name: str, alias: str | None, as_json: bool) -> None:
    """Every alias move of NAME: when, which versions, who, why."""
    moves = ctx.ws.alias_history(name, alias)
    if as_json:
        print_json(moves)
        return
    table = Table("time", "alias", "from", "to", "kind", "by", "decision", "reason", box=None)
    for m in moves:
        table.add_row(f"{m.moved_at:%Y-%m-%d %H:%M:%S}", m.alias,
                      f"v{m.from_version}" if m.from_version else "-",
                      f"v{m.to_version}" if m.to_version else "-", m.kind, m.actor,
                      str(m.decision_id or ""), m.reason or "")  # fmt: skip
    out.print(table if moves else f"no alias moves for {name}")


def _tree(node, branch) -> None:
    short = f" [dim]{node.hash[:12]}[/]" if node.hash else ""
    detail = f"  [dim]{node.detail}[/]" if node.detail else ""
    label = node.label if node.label.startswith(node.kind) else f"{node.kind} {node.label}"
    child = branch.add(f"[bold]{label}[/]{short}{detail}")
    for c in node.children:
        _tree(c, child)


@models.command("lineage")
@click.argument("ref")
@pass_ctx
def lineage(ctx: Context, ref: str) -> None:
    """The version's lineage: model <- run <- snapshot <- parents <- source files."""
    root = ctx.ws.lineage(ref)
    tree = Tree(f"[bold]model {root.label}[/] [dim]{(root.hash or '')[:12]}[/]")
    for c in root.children:
        _tree(c, tree)
    out.print(tree)


@models.command("card")
@click.argument("ref")
@click.option("--out", "dest", type=click.Path(path_type=Path), help="Write the Markdown here.")
@pass_ctx
def card(ctx: Context, ref: str, dest: Path | None) -> None:
    """The version's model card (Markdown)."""
    text = ctx.ws.model_card(ref)
    if dest:
        dest.write_text(text, encoding="utf-8")
        out.print(f"wrote {dest}")
    else:
        click.echo(text, nl=False)


@models.command("intended-use")
@click.argument("ref")
@click.argument("text")
@pass_ctx
def intended_use(ctx: Context, ref: str, text: str) -> None:
    """Set the intended-use text of a version's model card."""
    mv = ctx.ws.set_intended_use(ref, text)
    out.print(f"intended use of {mv.ref} updated")


@models.command("promote")
@click.argument("ref")
@click.option("--to", "to_alias", default="champion", show_default=True, help="Alias to move.")
@click.option("-m", "--reason", help="Why (recorded with the proposal).")
@pass_ctx
def promote(ctx: Context, ref: str, to_alias: str, reason: str | None) -> None:
    """Run the gates and file a proposal to point ALIAS at REF (exit 1 if gates fail)."""
    with native_stderr_hidden(), RichProgress() as progress:
        filed = ctx.ws.propose_promotion(ref, to_alias, reason, progress=progress)
    report_filed(filed)


@models.command("rollback")
@click.argument("name")
@click.option("-m", "--reason", help="Why roll back.")
@pass_ctx
def rollback(ctx: Context, name: str, reason: str | None) -> None:
    """Move champion back to its previous holder (approvers now; others file a proposal)."""
    decision = ctx.ws.rollback(name, reason)
    if decision.status == "approved":
        out.print(
            f"rolled back: champion of {name} is v{decision.version} (decision {decision.id})"
        )
    else:
        out.print(f"filed decision {decision.id}: {decision.title} (needs an approver)")


@models.command("alias")
@click.argument("ref")
@click.argument("alias")
@click.option("-m", "--reason", help="Why.")
@pass_ctx
def alias(ctx: Context, ref: str, alias: str, reason: str | None) -> None:
    """Point ALIAS at REF directly, without a proposal (approver role)."""
    move = ctx.ws.set_alias(ref, alias, reason)
    out.print(str(move))


@models.command("sync")
@click.argument("name")
@pass_ctx
def sync(ctx: Context, name: str) -> None:
    """Make the MLflow registry's aliases of NAME match the workbench's."""
    ctx.ws.sync_mlflow(name)
    held = ", ".join(f"{a} -> v{v}" for a, v in sorted(ctx.ws.aliases(name).items()))
    out.print(f"MLflow aliases of {name}: {held or 'none'}")
