"""``workbench settings ...``: who acts, under which role, and who may change the settings."""

from __future__ import annotations

import click

from .main import Context, pass_ctx
from .output import plain


@click.group()
def settings() -> None:
    """The workspace's settings file: show identity and roles, pin it read-only."""


@settings.command("show")
@pass_ctx
def show(ctx: Context) -> None:
    """Who is acting (and as which OS account), their role, and the settings file's owner."""
    ws = ctx.ws
    state = ws.settings_file()
    plain(f"acting as   {ws.actor} (OS account {ws.os_account}), role {ws.role}")
    plain(f"settings    {state.path}")
    plain(f"owner       {state.owner}, mode {state.mode:o}" + (" (pinned)" if state.pinned else ""))
    if state.writable_by_others:
        plain(
            "warning     others may write it: anyone among them can give themselves a role",
            stderr=True,
        )


@settings.command("pin")
@pass_ctx
def pin(ctx: Context) -> None:
    """Make the settings file read-only (its owner only); roles then change only by its owner."""
    state = ctx.ws.pin_settings(True)
    plain(f"pinned {state.path} (mode {state.mode:o}); `workbench settings unpin` to edit it")


@settings.command("unpin")
@pass_ctx
def unpin(ctx: Context) -> None:
    """Make the settings file writable by its owner again."""
    state = ctx.ws.pin_settings(False)
    plain(f"unpinned {state.path} (mode {state.mode:o})")
