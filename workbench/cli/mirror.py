"""``workbench mlflow ...``: the MLflow mirror of runs."""

from __future__ import annotations

import click

from ..errors import CheckFailed
from .main import Context, pass_ctx
from .output import RichProgress, out, print_json


@click.group()
def mlflow() -> None:
    """The MLflow mirror of runs."""


@mlflow.command("sync")
@click.option("--json", "as_json", is_flag=True, help="JSON output (one object per run).")
@pass_ctx
def sync(ctx: Context, as_json: bool) -> None:
    """Log every run whose MLflow mirror is pending or failed (safe to run at any time).

    A mirror that was interrupted (its MLflow run half-logged) is replaced; a run mirrored
    meanwhile by another process is left as it is. Exit code 1 if any mirror failed.
    """
    with RichProgress() as progress:
        outcomes = ctx.ws.sync_mlflow_runs(progress)
    failed = [o for o in outcomes if o.error]
    if as_json:
        print_json(outcomes)
    elif not outcomes:
        out.print("no MLflow mirror is pending")
    else:
        for o in outcomes:
            line = f"run {o.run_id}: mlflow {o.mlflow_run_id}" if not o.error else o.error
            out.print(line, markup=False, highlight=False)
    if failed:
        raise CheckFailed(f"{len(failed)} of {len(outcomes)} MLflow mirrors failed")
