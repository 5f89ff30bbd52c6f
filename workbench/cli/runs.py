"""``workbench train`` and ``workbench runs ...``: LightGBM experiments and their runs.

Each command turns options into a request (or keyword arguments) and makes one facade call; this module only
parses and prints. Ctrl-C while training records the run as cancelled and exits 130.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from ..api import SweepRequest, TrainRequest
from ..errors import InputError
from ..presentation import fmt_delta, fmt_metric, parse_value, shows_as_zero
from .main import Context, pass_ctx
from .output import RichProgress, err, native_stderr_hidden, out, print_json, print_wide

TASKS = ["auto", "binary", "multiclass", "regression"]
LIST_LIMIT = 50
_CONFIG_KEYS = {
    "target", "task", "split", "test_size", "seed", "note", "time_column", "exclude", "jobs",
    "mlflow", "params", "grid",
}  # fmt: skip


class TrainBar(RichProgress):
    """A rich bar for training: iteration n/N, current validation metric, elapsed and ETA."""

    task_fields = {"metric": ""}

    def new_bar(self) -> Progress:
        return Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[metric]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err.console,
            transient=True,
            disable=not err.is_terminal,
        )

    def on_iteration(self, iteration: int, train: float | None, valid: float | None) -> None:
        """Show the latest validation value next to the bar."""
        if self._task is not None and valid is not None:
            self._bar.update(self._task, metric=f"valid {valid:.5g}")


# -- option parsing ---------------------------------------------------------------------------


def _split_item(item: str, what: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise InputError(f"{what} {item!r} is not KEY=VALUE")
    return key.strip(), value.strip()


def parse_params(items: tuple[str, ...]) -> dict[str, Any]:
    """``key=value`` items as a parameter dict."""
    params = {}
    for item in items:
        key, value = _split_item(item, "--param")
        params[key] = parse_value(value)
    return params


def parse_grid(items: tuple[str, ...]) -> dict[str, list[Any]]:
    """``key=v1,v2`` items as a grid."""
    grid = {}
    for item in items:
        key, values = _split_item(item, "--grid")
        parts = [v for v in (p.strip() for p in values.split(",")) if v]
        if not parts:
            raise InputError(f"--grid {item!r} has no values", hint="key=v1,v2")
        grid[key] = [parse_value(v) for v in parts]
    return grid


def load_config(path: Path) -> dict[str, Any]:
    """A TOML training config: a ``[params]`` table, an optional ``[grid]``, other options."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"config file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid TOML: {exc}") from None
    data = {k.replace("-", "_"): v for k, v in data.items()}
    unknown = sorted(set(data) - _CONFIG_KEYS)
    if unknown:
        raise InputError(
            f"unknown key(s) in {path}: {', '.join(unknown)}",
            hint="allowed: " + ", ".join(sorted(_CONFIG_KEYS)),
        )
    for table in ("params", "grid"):
        if not isinstance(data.get(table, {}), dict):
            raise InputError(f"'{table}' in {path} must be a table ([{table}])")
    for key, values in data.get("grid", {}).items():
        if not isinstance(values, list):
            data["grid"][key] = [values]
    return data


def _pick(cli_value: Any, config: dict[str, Any], key: str, default: Any) -> Any:
    return cli_value if cli_value is not None else config.get(key, default)


# -- train ------------------------------------------------------------------------------------


def _metric_text(metrics: dict[str, float], limit: int = 6) -> str:
    return "  ".join(f"{k} {v:.4f}" for k, v in list(metrics.items())[:limit])


def _mlflow_text(rec) -> str:
    """A finished run's MLflow mirror in a few words ('' when it has none)."""
    if rec.mlflow_state == "pending":
        return "pending (logged in the background; `workbench mlflow sync` completes it)"
    if rec.mlflow_state == "failed":
        return f"failed: {rec.mlflow_error} (`workbench mlflow sync` tries again)"
    return rec.mlflow_run_id or ""


def _finished_line(rec) -> str:
    if rec.status != "finished":
        return f"run {rec.id} {rec.status}: {rec.reason or ''}"
    mlflow = (
        "  mlflow: logging in the background" if rec.mlflow_state == "pending"
        else f"  mlflow {rec.mlflow_run_id}" if rec.mlflow_run_id else ""
    )  # fmt: skip
    return (
        f"run {rec.id} finished on {rec.snapshot_ref}: {_metric_text(rec.metrics)}  "
        f"(best iteration {rec.best_iteration}, {rec.duration_s:.1f} s){mlflow}"
    )


@click.command("train")
@click.argument("ref")
@click.option("--target", help="Target column (default: the snapshot's recorded target).")
@click.option("--task", type=click.Choice(TASKS), help="Learning task (default: auto).")
@click.option("--param", "-p", "param_items", multiple=True, metavar="KEY=VALUE",
              help="A LightGBM parameter (repeatable).")  # fmt: skip
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              help="TOML file with a [params] table and other options.")  # fmt: skip
@click.option("--split", type=click.Choice(["random", "time"]), help="Holdout rule.")
@click.option("--test-size", type=float, help="Holdout fraction (default 0.2).")
@click.option("--seed", type=int, help="Seed for the split and LightGBM (default 42).")
@click.option("--time-column", help="Time column for --split time (default: the snapshot's).")
@click.option("--exclude", multiple=True, help="A column that is not a feature (repeatable).")
@click.option("-m", "--note", help="What this run is for.")
@click.option("--grid", "grid_items", multiple=True, metavar="KEY=V1,V2",
              help="Sweep: one run per combination (repeatable).")  # fmt: skip
@click.option("--jobs", type=int, help="Parallel processes for a sweep (default 1).")
@click.option("--no-mlflow", is_flag=True, help="Do not mirror the run to MLflow.")
@click.option("--wait-mlflow", is_flag=True,
              help="Log the MLflow mirror before returning (default: in the background).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the run(s) as JSON.")
@pass_ctx
def train(
    ctx: Context, ref: str, target, task, param_items, config_path, split, test_size, seed,
    time_column, exclude, note, grid_items, jobs, no_mlflow, wait_mlflow, as_json,
) -> None:  # fmt: skip
    """Train LightGBM on snapshot REF and record the run (Ctrl-C cancels it).

    The run is mirrored to MLflow once it is recorded, by a background process (the command
    does not wait for MLflow); `workbench mlflow sync` completes any mirror left pending.
    A sweep (--grid) logs each run's mirror before the next run starts.
    """
    config = load_config(config_path) if config_path else {}
    params = {**config.get("params", {}), **parse_params(param_items)}
    grid = {**config.get("grid", {}), **parse_grid(grid_items)}
    request = TrainRequest(
        ref=ref,
        target=_pick(target, config, "target", None),
        task=_pick(task, config, "task", "auto"),
        params=params,
        split=_pick(split, config, "split", "random"),
        test_size=_pick(test_size, config, "test_size", 0.2),
        seed=_pick(seed, config, "seed", 42),
        time_column=_pick(time_column, config, "time_column", None),
        exclude=list(exclude) or config.get("exclude"),
        note=_pick(note, config, "note", None),
        mlflow=False if no_mlflow else bool(config.get("mlflow", True)),
        mirror="now" if wait_mlflow else "background",
    )
    jobs = _pick(jobs, config, "jobs", 1)
    if grid:
        sweep = SweepRequest(replace(request, mirror="now"), grid, jobs)
        _train_grid(ctx, sweep, as_json)
        return
    if jobs != 1:
        raise InputError("--jobs needs a sweep (--grid key=v1,v2)")
    _print_column_notes(ctx, request)
    with native_stderr_hidden(), TrainBar() as bar:
        rec = ctx.ws.train(request, progress=bar, on_iteration=bar.on_iteration)
    if as_json:
        print_json(rec)
    else:
        out.print(escape(_finished_line(rec)))


def _print_column_notes(ctx: Context, request: TrainRequest) -> None:
    """Notes on feature columns: text columns of numbers (trained on as categories), dates
    (trained on as calendar parts), columns left out."""
    for note in ctx.ws.training_notes(request):
        click.echo(f"note: {note}", err=True)


def _train_grid(ctx: Context, request: SweepRequest, as_json: bool) -> None:
    def report(rec) -> None:
        err.print(escape(_finished_line(rec)))

    _print_column_notes(ctx, request.base)

    with native_stderr_hidden(), RichProgress() as bar:
        records = ctx.ws.train_grid(request, progress=bar, on_run=report)
    if as_json:
        print_json(records)
        return
    finished = sum(r.status == "finished" for r in records)
    out.print(f"sweep done: {finished} of {len(records)} runs finished")
    swept = ctx.ws.runs(f"id >= {min(r.id for r in records)}")
    print_wide(_runs_table(swept, ctx.ws, request.grid))


# -- runs -------------------------------------------------------------------------------------


@click.group()
def runs() -> None:
    """Training runs: list, show, compare, tag, delete, rerun."""


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    if hasattr(value, "strftime"):
        return value.strftime("%m-%d %H:%M")
    return str(value)


def _fit_columns(
    columns: list[str], texts: dict[str, list[str]], priority: list[str], width: int
) -> tuple[list[str], list[str]]:
    """The columns that fit ``width`` without cutting a value, taken in ``priority`` order and
    kept in ``columns`` order, and the ones left out.

    Squeezed to an 80-column terminal, rich cut every column of a wide listing to one or two
    letters ("crea…", "0…") and could drop ``id`` entirely; a listing shows whole values.
    """
    need = {c: max(len(c), *(len(t) for t in texts[c])) + 2 for c in columns}  # padding: 1+1
    kept: set[str] = set()
    used = 0
    for c in dict.fromkeys(p for p in priority if p in need):
        if used + need[c] > width:
            break  # the first that does not fit ends it: what shows is a prefix of the priority
        kept.add(c)
        used += need[c]
    return [c for c in columns if c in kept], [c for c in columns if c not in kept]


def _runs_table(frame, ws, grid: dict | None = None, sort: str | None = None) -> Table:
    """Base columns, every metric, the params that vary among these rows, and tags.

    On a terminal too narrow for all of them, the ones that fit by priority (id, status,
    snapshot, the sort keys, swept params, metrics, other varying params, created, tags,
    note), with a last line naming the rest.
    """
    fields = ws.run_fields()
    base = ["id", "created_at", "status", "snapshot"]

    # metrics and tags no listed run has (a regression run's rmse among classifiers) are left out
    def shown(column: str) -> bool:
        return frame.height == 0 or frame.get_column(column).null_count() < frame.height

    metrics = [c for c in frame.columns if c in fields.metrics and shown(c)]
    tags = [c for c in frame.columns if c.startswith("tag.") and shown(c)]
    named = set(base) | set(fields.metrics) | {c for c in frame.columns if c.startswith("tag.")}
    named |= {"target", "task", "duration_s", "note"}
    named |= {"best_iteration", "mlflow_state"}
    params = [
        c
        for c in frame.columns
        if c not in named and (c in (grid or {}) or frame.get_column(c).drop_nulls().n_unique() > 1)
    ]
    columns = [*base, *metrics, *params, *tags, "note"]
    heads = {c: "created" if c == "created_at" else c for c in columns}
    texts = {
        heads[c]: [fmt_metric(v) if c in metrics else _fmt(v) for v in frame.get_column(c)]
        for c in columns
    }
    hidden: list[str] = []
    if out.is_terminal:
        sort_keys = [k.strip().lstrip("-+") for k in (sort or "").split(",") if k.strip()]
        swept = [p for p in params if p in (grid or {})]
        priority = ["id", "status", "snapshot", *sort_keys, *swept, *metrics, *params,
                    "created_at", *tags, "note"]  # fmt: skip
        shown_heads, hidden = _fit_columns(
            [heads[c] for c in columns], texts, [heads.get(c, c) for c in priority], out.width
        )
        columns = [c for c in columns if heads[c] in shown_heads]
    table = Table(box=None, caption=_hidden_caption(hidden), caption_justify="left")
    for name in columns:
        table.add_column(escape(heads[name]), no_wrap=True)
    status_at = columns.index("status")
    for i, status in enumerate(frame.get_column("status")):
        cells = [escape(texts[heads[c]][i]) for c in columns]
        if status != "finished":
            cells[status_at] = f"[{'red' if status == 'failed' else 'yellow'}]{status}[/]"
        table.add_row(*cells)
    return table


def _hidden_caption(hidden: list[str]) -> str | None:
    if not hidden:
        return None
    names = ", ".join(escape(h) for h in hidden)
    return f"[dim]not shown (too narrow): {names}; widen the terminal or use --json[/]"


@runs.command("list")
@click.option("--where", "where", metavar="EXPR",
              help="Filter, e.g. \"auc > 0.8 and num_leaves = 31 and snapshot = churn@v2\".")  # fmt: skip
@click.option("--sort", metavar="KEYS", help="Sort keys, e.g. -auc,id ('-' = descending).")
@click.option("--limit", type=int, help=f"At most N runs (default {LIST_LIMIT} in a table).")
@click.option("--all", "show_all", is_flag=True, help="No limit.")
@click.option("--deleted", is_flag=True, help="Include deleted runs.")
@click.option("--json", "as_json", is_flag=True, help="JSON output (one object per run).")
@pass_ctx
def list_(ctx: Context, where, sort, limit, show_all, deleted, as_json) -> None:
    """List runs, newest first (or as --sort says)."""
    if limit is None and not show_all and not as_json:
        limit = LIST_LIMIT
    frame = ctx.ws.runs(where, sort, limit, include_deleted=deleted)
    if as_json:
        print_json(frame.to_dicts())
        return
    if frame.height == 0:
        out.print("no runs match" if where else "no runs yet (start one with `workbench train`)")
        return
    print_wide(_runs_table(frame, ctx.ws, sort=sort))
    if limit is not None and frame.height == limit:
        err.print(f"showing the first {limit} runs; use --limit N or --all")


@runs.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def show(ctx: Context, run_id: str, as_json: bool) -> None:
    """Everything recorded about a run."""
    rec = ctx.ws.run(run_id)
    if as_json:
        print_json(rec)
        return
    colour = {"finished": "green", "failed": "red"}.get(rec.status, "yellow")
    out.print(f"[bold]run {rec.id}[/]  [{colour}]{rec.status}[/]" + (" (deleted)" * rec.deleted))
    if rec.reason:
        out.print(f"reason    {escape(rec.reason)}")
    lines = [
        ("snapshot", f"{rec.snapshot_ref}  ({(rec.snapshot_hash or '')[:12]})"),
        ("target", f"{rec.target}  task {rec.task}"),
        ("split", _split_text(rec.split or rec.spec)),
        ("seed", rec.seed),
        ("created", f"{_fmt(rec.created_at)} by {rec.author or '?'}"),
        ("duration", f"{rec.duration_s:.2f} s" if rec.duration_s is not None else None),
        ("best iter", rec.best_iteration),
        ("mlflow", _mlflow_text(rec)),
        ("model", rec.model_hash),
        ("note", rec.note),
        ("tags", ", ".join(f"{k}={v}" for k, v in sorted(rec.tags.items()))),
    ]
    lines += [("features" if i == 0 else "", n) for i, n in enumerate(rec.feature_notes)]
    for label, value in lines:
        if value not in (None, ""):
            out.print(f"{label:<9} {escape(str(value))}")
    if rec.metrics:
        table = Table("metric", "holdout", box=None)
        for k, v in rec.metrics.items():
            table.add_row(k, f"{v:.6g}")
        out.print(table)
    if rec.params:
        table = Table("param", "value", box=None)
        for k, p in sorted(rec.params.items()):
            table.add_row(escape(k), escape(str(p)))
        out.print(table)
    if rec.environment:
        out.print("env       " + escape(", ".join(f"{k} {v}" for k, v in rec.environment.items())))


def _split_text(split: dict) -> str:
    if not split:
        return ""
    kind = split.get("split") or split.get("kind")
    text = f"{kind}, test {split.get('test_size')}, valid {split.get('valid_size')}"
    if split.get("n_test"):
        text += f"  ({split['n_train']} train / {split['n_valid']} valid / {split['n_test']} test)"
    if split.get("cut"):
        text += f"  holdout {split.get('time_column')} >= {split['cut']}"
    return text


@runs.command("compare")
@click.argument("run_ids", nargs=-1, required=True)
@click.option("--only-diff", is_flag=True, help="Only the parameters that differ.")
@click.option("--metric", help="Validation curve to plot (default: the first recorded).")
@click.option("--no-plot", is_flag=True, help="Skip the overlaid validation curves.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def compare(ctx: Context, run_ids, only_diff, metric, no_plot, as_json) -> None:
    """Compare runs: params side by side, metric deltas vs the first, curves, importances."""
    cmp = ctx.ws.compare_runs(list(run_ids))
    if as_json:
        print_json(
            {
                "runs": cmp.ids,
                "same_data": cmp.same_data,
                "params": cmp.differing() if only_diff else cmp.params,
                "metrics": cmp.metrics,
                "importances": cmp.importances,
            }
        )
        return
    heads = [f"run {i}" for i in cmp.ids]
    note = "same data" if cmp.same_data else "[yellow]different data[/]"
    out.print(f"[bold]runs {', '.join(map(str, cmp.ids))}[/]  ({note})")
    params = Table("param", *heads, box=None, title="parameters", title_justify="left")
    for row in cmp.differing() if only_diff else cmp.params:
        style = "bold yellow" if row.differs else None
        params.add_row(*(escape(_fmt(v)) for v in [row.name, *row.values]), style=style)
    print_wide(params if params.row_count else "no differing parameters")
    metrics = Table("metric", *heads, *[f"Δ {i}" for i in cmp.ids[1:]], box=None,
                    title="holdout metrics (Δ vs the first run)", title_justify="left")  # fmt: skip
    for mrow in cmp.metrics:
        best = mrow.best
        cells = [
            f"[bold green]{fmt_metric(v)}[/]" if i == best and len(cmp.ids) > 1 else fmt_metric(v)
            for i, v in enumerate(mrow.values)
        ]
        deltas = [_delta(d, mrow.higher_is_better) for d in mrow.deltas[1:]]
        metrics.add_row(mrow.name, *cells, *deltas)
    print_wide(metrics)
    _print_importances(cmp)
    if not no_plot:
        _plot_curves(cmp, metric)


def _delta(delta: float | None, higher_is_better: bool | None) -> str:
    if delta is None or math.isnan(delta):
        return ""
    text = fmt_delta(delta)
    if shows_as_zero(delta) or higher_is_better is None:
        return text
    good = (delta > 0) == higher_is_better
    return f"[{'green' if good else 'red'}]{text}[/]"


def _print_importances(cmp) -> None:
    if not cmp.importances:
        return
    table = Table("#", *[f"run {i}" for i in cmp.importances], box=None,
                  title="top features (share of gain)", title_justify="left")  # fmt: skip
    depth = max(len(v) for v in cmp.importances.values())
    for rank in range(depth):
        cells = []
        for ranks in cmp.importances.values():
            f = ranks[rank] if rank < len(ranks) else None
            cells.append(f"{escape(f.feature)} {f.share:.0%}" if f else "")
        table.add_row(str(rank + 1), *cells)
    print_wide(table)


def _plot_curves(cmp, metric: str | None) -> None:
    curves = cmp.valid_curves(metric)
    if not curves:
        return
    import plotext as plt

    from ..presentation import iteration_ticks

    plt.clear_figure()
    plt.plotsize(min(out.width, 100), 15)
    for run_id, values in curves.items():
        plt.plot(list(range(1, len(values) + 1)), values, label=f"run {run_id}")
    end = max(len(values) for values in curves.values())
    if end > 1:
        ticks = iteration_ticks(end)
        plt.xticks(ticks, [f"{t:,}" for t in ticks])
    name = metric or next(iter(next(iter(cmp.curves.values())).get("valid", {})), "")
    plt.title(f"validation {name}")
    plt.xlabel("iteration")
    plt.theme("clear")
    out.print(Text.from_ansi(plt.build()))


@runs.command("tag")
@click.argument("run_id")
@click.argument("items", nargs=-1, required=True, metavar="KEY=VALUE...")
@pass_ctx
def tag(ctx: Context, run_id: str, items) -> None:
    """Set tags on a run (KEY= with nothing after '=' removes the tag)."""
    for item in items:
        key, value = _split_item(item, "tag")
        ctx.ws.tag_run(run_id, key, value or None)
    out.print(f"run {ctx.ws.run(run_id).id}: " + ", ".join(items))


@runs.command("delete")
@click.argument("run_id")
@click.option("--restore", is_flag=True, help="Undo an earlier delete.")
@pass_ctx
def delete(ctx: Context, run_id: str, restore: bool) -> None:
    """Hide a run from listings (its objects are reclaimed by `workbench gc`)."""
    ctx.ws.delete_run(run_id, restore=restore)
    out.print(f"{'restored' if restore else 'deleted'} run {ctx.ws.run(run_id).id}")


@runs.command("rerun")
@click.argument("run_id")
@click.option("--no-mlflow", is_flag=True, help="Do not mirror the new run to MLflow.")
@click.option("--wait-mlflow", is_flag=True,
              help="Log the MLflow mirror before returning (default: in the background).")  # fmt: skip
@pass_ctx
def rerun(ctx: Context, run_id: str, no_mlflow: bool, wait_mlflow: bool) -> None:
    """Train again with a run's exact spec on the same snapshot."""
    old = ctx.ws.run(run_id)
    with native_stderr_hidden(), TrainBar() as bar:
        rec = ctx.ws.rerun(
            old.id, progress=bar, on_iteration=bar.on_iteration, mlflow=not no_mlflow,
            mirror="now" if wait_mlflow else "background",
        )  # fmt: skip
    out.print(escape(_finished_line(rec)))
    same = rec.metrics == old.metrics
    out.print(f"metrics {'identical to' if same else '[red]differ from[/]'} run {old.id}")
