"""``workbench drift REF_A REF_B``, ``drift list`` and ``drift show ID``: data drift.

Each command turns options into a request and makes one facade call; this module only
parses and prints. ``--fail-on-drift`` exits 1 when the dataset drifted, or when the check
failed (a reference column missing from the current data, nothing tested): for CI.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..api import DriftRequest
from ..errors import CheckFailed
from .main import Context, pass_ctx
from .output import RichProgress, err, out, print_json

if TYPE_CHECKING:
    from ..api import Workspace
    from ..presentation import ColumnDrift, DriftReport

# The engine's method names (kept literal so `--help` does not import scipy; a test checks
# they equal workbench.drift.METHODS).
METHOD_NAMES = (
    "ks",
    "chisquare",
    "z",
    "wasserstein",
    "jensenshannon",
    "psi",
    "kl_div",
    "hellinger",
)


class DriftGroup(click.Group):
    """A group whose default command is ``compare``: ``drift A B`` means ``drift compare A B``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["compare", *args]
        return super().parse_args(ctx, args)


@click.group(cls=DriftGroup)
def drift() -> None:
    """Data drift between two snapshots: `workbench drift REF_A REF_B [options]`.

    REF_A is the reference (e.g. the training snapshot), REF_B the current data (e.g. a
    production batch). Stored reports: `drift list`, `drift show ID`.
    """


def _progress() -> Any:
    """A rich bar on a terminal; nothing otherwise (a stopped bar leaves a blank line).

    Piped or captured, rich is not even imported (``--json`` in CI prints no table either).
    """
    if (err._console is not None or sys.stderr.isatty()) and err.is_terminal:
        return RichProgress()
    from contextlib import nullcontext

    from ..progress import NULL_PROGRESS

    return nullcontext(NULL_PROGRESS)


def _names(values: tuple[str, ...]) -> list[str]:
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


@drift.command("compare")
@click.argument("reference")
@click.argument("current")
@click.option("--method", type=click.Choice(METHOD_NAMES), help="Use this test for every column.")
@click.option("--threshold", type=float, help="Threshold for every column (default: per method).")
@click.option("--columns", help="Only these columns (comma-separated).")
@click.option("--num", multiple=True, metavar="COLS", help="Treat these columns as numerical.")
@click.option("--cat", multiple=True, metavar="COLS", help="Treat these columns as categorical.")
@click.option("--by", type=click.Choice(["day", "week", "month"]),
              help="Drift per time window of the current data (its time column).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="JSON output for scripts.")
@click.option("--fail-on-drift", is_flag=True,
              help="Exit with code 1 when the dataset drifted, a reference column is missing "
              "from the current data, or no column could be tested.")  # fmt: skip
@click.option("--html", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write Evidently's DataDriftPreset report to this HTML file (slow).")  # fmt: skip
@click.option("--no-save", is_flag=True, help="Do not store the report in the workspace.")
@pass_ctx
def compare(
    ctx: Context, reference: str, current: str, method: str | None, threshold: float | None,
    columns: str | None, num: tuple[str, ...], cat: tuple[str, ...], by: str | None,
    as_json: bool, fail_on_drift: bool, html: Path | None, no_save: bool,
) -> None:  # fmt: skip
    """Compare CURRENT with REFERENCE column by column (Evidently's tests, in Polars)."""
    ws = ctx.ws
    request = DriftRequest(
        reference, current, method=method, threshold=threshold, columns=columns,
        numerical=_names(num), categorical=_names(cat), save=not no_save,
    )  # fmt: skip
    if by is not None:
        with _progress() as progress:
            frame = ws.drift_windows(request, every=by, progress=progress)
        if as_json:
            print_json(frame.to_dicts())
        else:
            _print_windows(frame, reference, current, by)
        if html is not None:
            _write_html(ws, request, html, quiet=as_json)
        if fail_on_drift:
            _check_windows(frame, by)
        return
    with _progress() as progress:
        report = ws.drift(request, progress=progress)
    if as_json:
        from ..presentation import quality_flags

        print_json(report.to_dict() | {"quality_flags": quality_flags(report)})
    else:
        print_report(report)
    if html is not None:
        _write_html(ws, request, html, quiet=as_json)
    if fail_on_drift:
        _check(report)


def _check(report: DriftReport) -> None:
    """``--fail-on-drift``: one line naming the drift and every failure (see ``failures``)."""
    problems = list(report.failures)
    if report.dataset_drifted:
        problems.insert(
            0,
            f"dataset drift: {report.n_drifted}/{report.n_tested} columns drifted "
            f"(share {report.share:.2f} >= {report.options.drift_share:g})",
        )
    if problems:
        raise CheckFailed("; ".join(problems))


def _check_windows(frame: Any, by: str) -> None:
    """``--fail-on-drift --by``: fail when a window drifted or failed; no window fails too."""
    if frame.height == 0:
        raise CheckFailed(f"no {by} window of the current data to compare")
    problems = []
    n = int(frame["dataset_drifted"].sum())
    if n:
        problems.append(f"dataset drift in {n} of {frame.height} {by} windows")
    failed = frame.filter(frame["failed"])
    if failed.height:
        reasons = "; ".join(dict.fromkeys(failed["failures"].to_list()))
        problems.append(f"{failed.height} of {frame.height} {by} windows failed: {reasons}")
    if problems:
        raise CheckFailed("; ".join(problems))


def _write_html(ws: Workspace, request: DriftRequest, path: Path, quiet: bool) -> None:
    with _progress() as progress:
        written = ws.drift_html(request, path, progress=progress)
    (err if quiet else out).print(f"Evidently report written to {written}")


@drift.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def list_(ctx: Context, limit: int, as_json: bool) -> None:
    """Stored drift reports, newest first."""
    frame = ctx.ws.drift_reports(limit=limit)
    if as_json:
        print_json(frame.drop("options_json").to_dicts())
        return
    if frame.is_empty():
        out.print("no drift reports yet (compare two snapshots with `workbench drift A B`)")
        return
    table = _table("id", "created", "reference", "current", "drifted", "share", "dataset",
                  "target", box=None)  # fmt: skip
    for r in frame.iter_rows(named=True):
        target = ""
        if r["target_column"]:
            target = f"{r['target_column']}: {'DRIFT' if r['target_drifted'] else 'ok'}"
        table.add_row(
            str(r["id"]), f"{r['created_at']:%Y-%m-%d %H:%M}", r["reference"], r["current"],
            f"{r['n_drifted']}/{r['n_tested']}", f"{r['share']:.2f}",
            "[red]DRIFT[/]" if r["dataset_drifted"] else "ok", target,
        )  # fmt: skip
    out.print(table)


@drift.command("show")
@click.argument("report_id")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def show(ctx: Context, report_id: str, as_json: bool) -> None:
    """Show a stored drift report."""
    report = ctx.ws.drift_report(report_id)
    if as_json:
        from ..presentation import quality_flags

        print_json(report.to_dict() | {"quality_flags": quality_flags(report)})
    else:
        print_report(report)


# -- printing ---------------------------------------------------------------------------------
def escape(text: str) -> str:
    """rich's markup escape (rich loads here, on first use: JSON output never needs it)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def _table(*headers: str, **options: Any) -> Any:
    from rich.table import Table

    return Table(*headers, **options)


def _score(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.4g}"


def _row(c: ColumnDrift) -> tuple[list[str], str]:
    """A column's cells and its note (nulls that jumped, new categories, why it was untested)."""
    from ..presentation import Status

    if not c.tested:
        # an error's message is printed in full under the table ("data quality:")
        note = "" if c.status == Status.ERROR else c.message
        return [escape(c.column), c.column_type, "", "", "", f"[yellow]{c.status}[/]"], note
    mark = "[bold red]● DRIFT[/]" if c.drifted else "[green]no[/]"
    notes = []
    if c.null_share_cur - c.null_share_ref >= 0.01:
        notes.append(f"nulls {c.null_share_ref:.0%} -> {c.null_share_cur:.0%}")
    if c.new_categories:
        notes.append("new: " + ", ".join(map(str, c.new_categories[:5])))
    cells = [escape(c.column), c.column_type, c.method or "", _score(c.score),
             _score(c.threshold), mark]  # fmt: skip
    return cells, "; ".join(notes)


#: narrower than this, notes go under the table: as its last column they were cut to "n…"
NOTES_INLINE_WIDTH = 110


def print_report(report: DriftReport) -> None:
    """The per-column table (strongest drift first), notes, target drift, summary and flags."""
    from ..presentation import by_severity, quality_flags

    title = f"{report.reference} -> {report.current}" if report.reference else None
    table = _table(box=None, title=title, title_justify="left")
    for name in ("column", "type", "method", "score", "threshold", "drifted"):
        table.add_column(name, no_wrap=True)
    inline = out.width >= NOTES_INLINE_WIDTH
    if inline:
        table.add_column("notes")
    below = []
    for c in by_severity(report.columns):
        cells, note = _row(c)
        table.add_row(*cells, *([escape(note)] if inline else []),
                      style="bold" if c.drifted else None)  # fmt: skip
        if note and not inline:
            below.append(f"  {escape(c.column)}: {escape(note)}")
    out.print(table)
    if below:
        out.print("notes:")
        for line in below:
            out.print(line)
    for label, role in (("target", report.target), ("prediction", report.prediction)):
        if role is not None:
            out.print(f"{label} drift: {_one_line(role)}")
    saved = f"  (report {report.id})" if report.id is not None else ""
    verdict = escape(report.verdict).replace("DATASET DRIFT", "[bold red]DATASET DRIFT[/]")
    out.print(verdict.replace("; FAILED:", "; [bold red]FAILED[/]:") + saved)
    flags = quality_flags(report)
    if flags:
        out.print(f"[yellow]data quality:[/] {escape('; '.join(flags))}")


def _one_line(c: ColumnDrift) -> str:
    if not c.tested:
        return f"{escape(c.column)}: {c.status} ({escape(c.message)})"
    verdict = "[bold red]DRIFT[/]" if c.drifted else "no drift"
    return f"{escape(c.column)} {c.method} {_score(c.score)} (threshold {c.threshold:g}) {verdict}"


def _print_windows(frame: Any, reference: str, current: str, by: str) -> None:
    table = _table("window", "rows", "drifted", "share", "dataset", "drifted columns", box=None,
                  title=f"{reference} -> {current} by {by}", title_justify="left")  # fmt: skip
    drifted_cols = [c[: -len(":drifted")] for c in frame.columns if c.endswith(":drifted")]
    for r in frame.iter_rows(named=True):
        names = [c for c in drifted_cols if r.get(f"{c}:drifted")]
        table.add_row(
            str(r["window_start"])[:10], f"{r['rows']:,}", f"{r['n_drifted']}/{r['n_tested']}",
            f"{r['drift_share']:.2f}", "[red]DRIFT[/]" if r["dataset_drifted"] else "ok",
            escape(", ".join(names)),
        )  # fmt: skip
    out.print(table)
    n = int(frame["dataset_drifted"].sum()) if frame.height else 0
    out.print(f"{frame.height} windows, {n} with dataset drift")
    if frame.height:
        from collections import Counter

        for reason, count in Counter(frame.filter(frame["failed"])["failures"]).items():
            out.print(f"[bold red]FAILED[/] in {count} windows: {escape(reason)}")
