"""``workbench score`` (batch scoring) and ``workbench serve`` (the HTTP scoring server)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .main import Context, pass_ctx
from .output import RichProgress, plain, print_json

_POLICY_HELP = (
    "A category value the model never saw: 'missing' (scored as a missing value, as "
    "training does) or 'error' (refused)."
)
_MISSING_HELP = "An input column the data lacks: 'error' (refused) or 'missing' (all missing)."


def _spec(model: str, shadow: str | None, canary: str | None, route_key: str | None,
          salt: str | None, unknown: str, missing: str, *, ramp: bool = False):  # fmt: skip
    from ..api import DeploymentSpec, EncodingPolicy

    spec = DeploymentSpec.from_options(
        model, shadow, canary, route_key, salt, EncodingPolicy(unknown, missing)
    )
    if spec.canary is None and route_key and not ramp:
        raise click.UsageError("--route-key goes with --canary")
    return spec


def _encoding_and_log_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--unknown-category, --missing-column and --no-log, shared by score and serve."""
    for option in reversed((
        click.option("--unknown-category", type=click.Choice(["missing", "error"]),
                     default="missing", show_default=True, help=_POLICY_HELP),
        click.option("--missing-column", type=click.Choice(["error", "missing"]),
                     default="error", show_default=True, help=_MISSING_HELP),
        click.option("--no-log", is_flag=True, help="Do not write the prediction log."),
    )):  # fmt: skip
        command = option(command)
    return command


@click.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--model",
    "-m",
    default="@champion",
    show_default=True,
    help="The model: NAME@ALIAS, NAME@vN (or @ALIAS when one model is registered).",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the answers here (.csv or .parquet); default: CSV on stdout.",
)
@click.option(
    "--key",
    help="Column copied to the output and logged with each row "
    "(default: the training data's key column, when present).",
)
@click.option("--shadow", metavar="REF", help="Also score every row with REF (logged only).")
@click.option(
    "--canary",
    metavar="REF:FRACTION",
    help="Let REF answer this share of rows, chosen by --route-key.",
)
@click.option(
    "--route-key",
    metavar="COL",
    help="Column whose value decides the canary rows (default: the training data's key "
    "column, else each row's request id).",
)
@_encoding_and_log_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary (needs --out).")
@pass_ctx
def score(
    ctx: Context,
    input_path: Path,
    model: str,
    out: Path | None,
    key: str | None,
    shadow: str | None,
    canary: str | None,
    route_key: str | None,
    unknown_category: str,
    missing_column: str,
    no_log: bool,
    as_json: bool,
) -> None:
    """Score a CSV or Parquet file with a model; every row goes to the prediction log.

    Answers: the key column, then the predicted label and probability (classification) or
    the value (regression); with a canary, the role and version that answered each row.
    Interrupted (Ctrl-C), nothing is written: neither the output nor the log rows.
    """
    from ..api import ScoreRequest

    if as_json and out is None:
        raise click.UsageError("--json prints a summary; give --out for the answers")
    spec = _spec(model, shadow, canary, route_key, None, unknown_category, missing_column)
    request = ScoreRequest(input_path, spec, out, key, not no_log)
    with RichProgress() as progress:
        result = ctx.ws.score_batch(request, progress)
    if out is None:
        _write_stdout(result.frame)
    summary = {
        "rows": result.rows,
        "models": result.models,
        "batch_id": result.batch_id,
        "logged": result.logged,
        "out": str(result.out) if result.out else None,
        "seconds": round(result.seconds, 3),
    }
    if as_json:
        print_json(summary)
        return
    roles = ", ".join(f"{m} ({role})" for role, m in result.models.items())
    where = f" -> {result.out}" if result.out else ""
    plain(
        f"scored {result.rows:,} rows with {roles}{where}; logged {result.logged:,} rows "
        f"as {result.batch_id}",
        stderr=True,
    )


def _write_stdout(frame) -> None:
    """The answers as CSV on stdout; a reader that stops early (``| head``) is fine."""
    import errno

    try:
        frame.write_csv(sys.stdout)
        sys.stdout.flush()
    except OSError as exc:
        if exc.errno != errno.EPIPE and "Broken pipe" not in str(exc):
            raise
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # nothing more to say to a closed pipe


@click.command()
@click.option(
    "--model",
    "-m",
    default="@champion",
    show_default=True,
    help="The champion: NAME@ALIAS follows the alias as it moves.",
)
@click.option("--shadow", metavar="REF", help="Score every request with REF too (logged only).")
@click.option(
    "--canary",
    metavar="REF:FRACTION",
    help="Let REF answer this share of rows, chosen by --route-key (default: follow the "
    "model's canary ramp, 'workbench monitor canary').",
)
@click.option(
    "--route-key",
    metavar="COL",
    help="Field whose value decides the canary rows (default: the training data's key "
    "column, else each request's id).",
)
@click.option(
    "--salt", help="Canary salt (default: a new one for each start, or for each canary ramp)."
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; anything but loopback needs a bearer token.",
)
@click.option("--port", "-p", default=8000, show_default=True, type=int)
@click.option(
    "--workers", default=1, show_default=True, type=int, help="Worker processes sharing the port."
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False),
    help="File holding the bearer token (or set WORKBENCH_SERVE_TOKEN).",
)
@click.option(
    "--max-body",
    default=16 * 1024 * 1024,
    show_default=True,
    type=int,
    help="Largest request body in bytes (larger: 413).",
)
@_encoding_and_log_options
@click.option(
    "--graceful-timeout",
    default=20,
    show_default=True,
    type=int,
    help="Seconds requests in flight get to finish at shutdown.",
)
@pass_ctx
def serve(
    ctx: Context,
    model: str,
    shadow: str | None,
    canary: str | None,
    route_key: str | None,
    salt: str | None,
    host: str,
    port: int,
    workers: int,
    token_file: str | None,
    max_body: int,
    unknown_category: str,
    missing_column: str,
    no_log: bool,
    graceful_timeout: int,
) -> None:
    """Serve a model over HTTP: POST /predict and /invocations (MLflow's formats), GET
    /health, /model, /metrics.

    Promotions and rollbacks take effect within two seconds, without a restart; so do the
    steps of the model's canary ramp ('workbench monitor canary'), unless --canary fixes the
    canary. SIGTERM or Ctrl-C lets requests in flight finish, then writes every logged
    prediction.
    """
    from ..server.config import ServerConfig, read_token

    _spec(model, shadow, canary, route_key, salt, unknown_category, missing_column, ramp=True)
    config = ServerConfig(
        str(ctx.ws.root), model, shadow, canary, route_key, salt, host, port, workers, max_body,
        unknown_category, missing_column, not no_log, graceful_timeout, token_file=token_file,
    )  # fmt: skip
    config.check(read_token(token_file))
    for ref in filter(None, [model, shadow, canary.rpartition(":")[0] if canary else None]):
        ctx.ws.model(ref)  # an unknown model or alias is one line now, not a failed start
    args = ["--workspace", str(ctx.ws.root), "--model", model, "--host", host,
            "--port", str(port), "--workers", str(workers), "--max-body", str(max_body),
            "--unknown-category", unknown_category, "--missing-column", missing_column,
            "--graceful-timeout", str(graceful_timeout)]  # fmt: skip
    for flag, value in (("--shadow", shadow), ("--canary", canary), ("--route-key", route_key),
                        ("--salt", salt), ("--token-file", token_file)):  # fmt: skip
        if value:
            args += [flag, value]
    if no_log:
        args.append("--no-log")
    sys.stdout.flush()
    sys.stderr.flush()
    # The server is a process of its own (no click, no rich): this one becomes it.
    os.execv(sys.executable, [sys.executable, "-m", "workbench.server", *args])
