"""``workbench audit ...``: the hash-chained log of every state change."""

from __future__ import annotations

from datetime import datetime

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


@audit.command("verify")
@pass_ctx
def verify(ctx: Context) -> None:
    """Check the hash chain; exit code 1 if an entry was edited, inserted or deleted."""
    problems = ctx.ws.audit_verify()
    for p in problems:
        click.echo(p, err=True)
    if problems:
        raise CheckFailed(f"audit log damaged: {len(problems)} problems")
    out.print(f"ok: audit chain intact ({len(ctx.ws.audit_log())} entries)")
