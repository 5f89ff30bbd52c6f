"""``workbench audit ...``: the hash-chained log of every state change."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from ..errors import CheckFailed, InputError
from .main import Context, pass_ctx
from .output import out


@click.group()
def audit() -> None:
    """The audit log: who changed what, when; tamper-evident."""


@audit.command("log")
@click.option("--since", help="Only entries at or after this date/time (ISO format).")
@pass_ctx
def log(ctx: Context, since: str | None) -> None:
    """Show audit entries, oldest first."""
    when = None
    if since:
        try:
            when = datetime.fromisoformat(since)
        except ValueError:
            raise InputError(
                f"invalid date {since!r}", hint="use ISO format, e.g. 2025-07-01"
            ) from None
    for e in ctx.ws.audit_log(when):
        out.print(
            f"{e.seq:>5} {e.at:%Y-%m-%d %H:%M:%S} {e.actor:<10} {e.action:<18} {e.subject or ''}"
        )


def _anchor_text(value: str) -> str:
    """An anchor given as SEQ:HASH or as a file holding one (as `audit anchor --out` wrote)."""
    path = Path(value).expanduser()
    if ":" not in value and path.is_file():
        return path.read_text(encoding="utf-8").split()[0] if path.stat().st_size else ""
    return value


@audit.command("verify")
@click.option("--anchor", metavar="SEQ:HASH|FILE",
              help="An anchor kept outside the workspace: the chain must still hold it.")  # fmt: skip
@click.option("--key", "key_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The audit key file: every entry since signing began must be signed with it.")  # fmt: skip
@pass_ctx
def verify(ctx: Context, anchor: str | None, key_file: Path | None) -> None:
    """Check the hash chain and the state it covers; exit code 1 if anything was changed."""
    problems = ctx.ws.audit_verify(_anchor_text(anchor) if anchor else None, key_file)
    for p in problems:
        click.echo(p, err=True)
    if problems:
        raise CheckFailed(f"audit log damaged: {len(problems)} problems")
    extra = [w for w, on in (("anchor held", anchor), ("signatures valid", key_file)) if on]
    out.print(
        f"ok: audit chain and state intact ({len(ctx.ws.audit_log())} entries"
        + "".join(f", {w}" for w in extra)
        + ")"
    )


@audit.command("anchor")
@click.option("--out", "dest", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write it to this file (kept outside the workspace).")  # fmt: skip
@pass_ctx
def anchor(ctx: Context, dest: Path | None) -> None:
    """Print the newest entry as SEQ:HASH, for a git commit, a ticket or a second machine.

    `workbench audit verify --anchor SEQ:HASH` then checks the chain still holds it: deleting
    the newest entries, or rewriting the chain, is found.
    """
    head = ctx.ws.audit_anchor()
    if head is None:
        raise InputError("the audit log is empty: nothing to anchor yet")
    if dest is not None:
        dest.write_text(f"{head}\n", encoding="utf-8")
    out.print(str(head))


@audit.command("keygen")
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
def keygen(dest: Path) -> None:
    """Write a new random audit key to DEST (readable by you only; keep it outside the project).

    Set `[audit] key_file = "DEST"` in .workbench/workbench.toml: from then on every entry is
    signed, and `audit verify` checks the signatures.
    """
    import os
    import secrets

    dest = dest.expanduser()
    if dest.exists():
        raise InputError(f"{dest} exists; not overwritten")
    if not dest.parent.is_dir():
        raise InputError(f"folder {dest.parent} does not exist")
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    out.print(f"audit key written to {dest}")
