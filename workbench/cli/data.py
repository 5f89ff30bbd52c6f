"""``workbench data ...``: versioned data snapshots."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import CheckFailed, InputError
from .main import Context, pass_ctx
from .output import RichProgress, out, plain, plain_table, print_json

_PATH = click.Path(path_type=Path)


@click.group()
def data() -> None:
    """Versioned data snapshots: add, list, show, log, diff, export, validate."""


@data.command("add")
@click.argument("path", type=_PATH)
@click.option("--name", "-n", required=True, help="Dataset name; the snapshot becomes NAME@vN.")
@click.option("--target", help="Target (label) column.")
@click.option("--time-column", help="Time column (dates or timestamps).")
@click.option("--key", help="Key column identifying rows (used by row-level diff).")
@click.option("-m", "--message", help="What this version is.")
@pass_ctx
def add(ctx: Context, path: Path, name: str, target, time_column, key, message) -> None:
    """Add a CSV or Parquet file as the next version of NAME."""
    with RichProgress() as progress:
        result = ctx.ws.add_snapshot(
            path, name, target=target, time_column=time_column, key=key, message=message,
            progress=progress,
        )  # fmt: skip
    snap = result.snapshot
    if result.created:
        out.print(
            f"added {snap.ref}: {snap.n_rows:,} rows x {snap.n_columns} columns, "
            f"object {snap.short_hash}"
        )
        for note in column_notes(snap):
            click.echo(f"note: {note}", err=True)
    else:
        plain(f"{result.detail}; no new version")


@data.command("list")
@click.option("--name", help="Only this dataset's versions.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def list_(ctx: Context, name: str | None, as_json: bool) -> None:
    """List snapshots, newest first."""
    snaps = ctx.ws.snapshots(name)
    if as_json:
        print_json([_summary(s) for s in snaps])
        return
    # a narrow terminal leaves out author and hash so messages get room (`data show` has both)
    wide = not out.is_terminal or out.width >= NARROW_LIST
    heads = ["snapshot", "rows", "cols", "created", *(["author", "hash"] if wide else []),
             "message"]  # fmt: skip
    table = plain_table(*heads, wrap=("message",))
    for s in snaps:
        who = [s.author, s.short_hash] if wide else []
        table.add_row(
            s.ref, f"{s.n_rows:,}", str(s.n_columns), f"{s.created_at:%Y-%m-%d %H:%M}", *who,
            s.message or "",
        )  # fmt: skip
    out.print(table if snaps else "no snapshots yet (add one with `workbench data add`)")


#: terminals narrower than this get `data list` without its author and hash columns
NARROW_LIST = 110


def _summary(s) -> dict:
    return {
        "ref": s.ref, "name": s.name, "version": s.version, "rows": s.n_rows,
        "columns": s.n_columns, "hash": s.object_hash, "created_at": s.created_at,
        "author": s.author, "message": s.message, "target": s.target,
        "time_column": s.time_column, "key": s.key_column, "source": s.source_path,
    }  # fmt: skip


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


@data.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def show(ctx: Context, ref: str, as_json: bool) -> None:
    """Show a snapshot's metadata, schema and column profile."""
    from rich.markup import escape

    s = ctx.ws.snapshot(ref)
    if as_json:
        print_json(_summary(s) | {"schema": s.schema, "profile": s.profile_data})
        return
    out.print(f"[bold]{s.ref}[/]  {s.n_rows:,} rows x {s.n_columns} columns")
    out.print(f"object   {s.object_hash}")
    out.print(f"source   {s.source_path}  ({(s.source_hash or '')[:12]})")
    out.print(f"created  {s.created_at:%Y-%m-%d %H:%M:%S} by {s.author}")
    roles = ", ".join(f"{k}={v}" for k, v in
                      (("target", s.target), ("time", s.time_column), ("key", s.key_column)) if v)  # fmt: skip
    if roles:
        out.print(f"roles    {roles}")
    if s.message:
        out.print(f"message  {s.message}")
    table = plain_table("column", "type", "nulls", "distinct", "min", "mean", "max", "top values",
                        wrap=("top values",))  # fmt: skip
    for p in s.profile:
        if not p.summarised:
            top = "values not summarised"
        elif p.kind == "categorical" and p.all_distinct(s.n_rows):
            top = "all values distinct"
        elif p.kind != "numeric":
            top = ", ".join(f"{v} ({n})" for v, n in p.top_values[:3])
        else:
            top = ""
        table.add_row(
            p.name, p.dtype, f"{p.null_share:.1%}", f"{p.distinct:,}", _fmt(p.min), _fmt(p.mean),
            _fmt(p.max), escape(top),
        )  # fmt: skip
    out.print(table)
    for note in column_notes(s):
        out.print(f"note: {escape(note)}")


def column_notes(snap) -> list[str]:
    """Notes on a snapshot's columns worth a person's attention (text columns of numbers)."""
    return [note for p in snap.profile if (note := p.numeric_text_note())]


@data.command("log")
@click.argument("name")
@pass_ctx
def log(ctx: Context, name: str) -> None:
    """Show the lineage chain of NAME (or NAME@vN): each version and its parent."""
    for s in ctx.ws.log(name):
        parent = f"<- v{s.version - 1}" if s.parent_id else "(first)"
        out.print(
            f"[bold]{s.ref}[/] {parent}  {s.short_hash}  {s.n_rows:,} rows  "
            f"{s.created_at:%Y-%m-%d %H:%M}  {s.author}  {s.message or ''}"
        )


@data.command("diff")
@click.argument("ref_a")
@click.argument("ref_b")
@click.option("--key", help="Key column for row-level changes.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def diff(ctx: Context, ref_a: str, ref_b: str, key: str | None, as_json: bool) -> None:
    """Compare two snapshots: columns, types, row counts, profiles and (with --key) rows."""
    d = ctx.ws.diff(ref_a, ref_b, key=key)
    if as_json:
        print_json(d)
        return
    out.print(f"[bold]{d.a} -> {d.b}[/]")
    if d.same_content:
        out.print("identical content")
        return
    out.print(f"rows     {d.rows_before:,} -> {d.rows_after:,} ({d.rows_after - d.rows_before:+,})")
    for c in d.added_columns:
        out.print(f"[green]+ column {c}[/]")
    for c in d.removed_columns:
        out.print(f"[red]- column {c}[/]")
    for c, t1, t2 in d.retyped_columns:
        out.print(f"[yellow]~ column {c}: {t1} -> {t2}[/]")
    if d.rows is not None:
        r = d.rows
        out.print(
            f"by {r.key}: [green]+{r.added:,} added[/], [red]-{r.removed:,} removed[/], "
            f"[yellow]~{r.changed:,} changed[/], {r.unchanged:,} unchanged"
            + (f", {r.duplicate_keys:,} duplicate keys" if r.duplicate_keys else "")
            + (f"; {r.not_compared_text()}" if r.not_compared else "")
        )
    if d.profile_changes:
        table = plain_table("column", "statistic", "before", "after")
        for ch in d.profile_changes:
            table.add_row(ch.column, ch.field, _fmt(ch.before), _fmt(ch.after))
        out.print(table)


@data.command("export")
@click.argument("ref")
@click.argument("dest", type=_PATH)
@click.option(
    "--format", "fmt", type=click.Choice(["parquet", "csv"]), help="Default: from DEST's suffix."
)
@pass_ctx
def export(ctx: Context, ref: str, dest: Path, fmt: str | None) -> None:
    """Write a snapshot's exact content to DEST (Parquet bytes as stored, or CSV)."""
    path = ctx.ws.export(ref, dest, fmt)
    out.print(f"wrote {path}")


@data.command("contract")
@click.argument("ref")
@click.option("--out", "out_path", type=_PATH, help="Save the contract as TOML to edit.")
@pass_ctx
def contract(ctx: Context, ref: str, out_path: Path | None) -> None:
    """Print (or save) the data contract inferred from a snapshot."""
    c = ctx.ws.contract(ref)
    if out_path is None:
        click.echo(c.to_toml(), nl=False)
    else:
        c.save(out_path)
        out.print(f"wrote {out_path}")


@data.command("validate")
@click.argument("path", type=_PATH)
@click.option(
    "--against", "against", metavar="REF", help="Snapshot whose inferred contract to use."
)
@click.option("--contract", "contract_file", type=_PATH, help="A saved (edited) contract file.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def validate(ctx: Context, path: Path, against, contract_file, as_json: bool) -> None:
    """Check a file against a contract; one line per failed check, exit code 1 on failure."""
    if against and contract_file is None and against.endswith(".toml") and Path(against).is_file():
        raise InputError(
            f"{against} is a contract file, not a snapshot", hint=f"use --contract {against}"
        )
    report = ctx.ws.validate(path, against=against, contract_file=contract_file)
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "rows": report.rows,
                "violations": [str(v) for v in report.violations],
            }
        )
    else:
        for v in report.violations:
            click.echo(f"FAIL {v}", err=True)
    if not report.ok:
        n = len(report.violations)
        raise CheckFailed(f"{n} check{'s' if n != 1 else ''} failed for {path}")
    if not as_json:
        what = f"in {contract_file}" if contract_file else f"of {report.contract_source}"
        out.print(f"ok: {path} ({report.rows:,} rows) meets the contract {what}")
