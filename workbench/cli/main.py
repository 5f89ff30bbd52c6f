"""``workbench``: the command-line entry point.

Every user error becomes one line on stderr and a non-zero exit code (2 for usage and input,
1 for failed checks, 3 for a busy workspace, 130 for Ctrl-C); ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import WorkbenchError, WorkspaceNotFound
from .output import err, out


class Context:
    """Options shared by every command; the workspace opens on first use."""

    def __init__(self, workspace: str | None, debug: bool) -> None:
        self.workspace_path = workspace
        self.debug = debug
        self._ws = None

    @property
    def ws(self):
        if self._ws is None:
            from ..api import Workspace

            self._ws = Workspace.open(self.workspace_path)
        return self._ws


pass_ctx = click.make_pass_decorator(Context)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--workspace",
    "-w",
    envvar="WORKBENCH_WORKSPACE",
    metavar="PATH",
    help="Workspace folder (default: found by walking up from here).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="workbench")
@click.pass_context
def cli(ctx: click.Context, workspace: str | None, debug: bool) -> None:
    """MLOps workbench: versioned data, experiments, drift and decisions on one machine.

    Run without a command inside a workspace to open the terminal UI.
    """
    ctx.obj = Context(workspace, debug)
    if ctx.invoked_subcommand is None:
        from ..locate import find_workspace

        try:
            find_workspace(workspace)
        except WorkspaceNotFound:
            click.echo(ctx.get_help())
            return
        ctx.invoke(ui)


@cli.command()
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
def init(path: Path) -> None:
    """Create a workspace (.workbench/) in PATH."""
    from ..api import Workspace

    ws = Workspace.init(path)
    out.print(f"workspace ready at {ws.dir}")


@cli.command()
@click.argument("path", default="workbench-demo", type=click.Path(path_type=Path))
@click.option("--seed", default=7, show_default=True, help="Seed of the data generator.")
@click.option("--no-ui", is_flag=True, help="Create the workspace without opening the UI.")
@pass_ctx
def demo(ctx: Context, path: Path, seed: int, no_ui: bool) -> None:
    """Create a ready demo workspace in PATH and open the UI on it."""
    from ..demo import create_demo
    from .output import RichProgress

    with RichProgress() as progress:
        ws = create_demo(path, seed=seed, progress=progress)
    out.print(f"demo workspace ready at {ws.root}")
    for snap in reversed(ws.snapshots()):
        out.print(f"  {snap.ref:<24} {snap.n_rows:>7,} rows  {snap.message or ''}")
    if not no_ui:
        from ..tui.app import run_app

        run_app(ws.root)


@cli.command()
@pass_ctx
def ui(ctx: Context) -> None:
    """Open the terminal UI."""
    from ..locate import find_workspace
    from ..tui.app import run_app

    run_app(find_workspace(ctx.workspace_path))


@cli.command()
@pass_ctx
def verify(ctx: Context) -> None:
    """Re-hash every stored object; exit code 1 if any is missing or damaged."""
    from ..errors import IntegrityError
    from .output import RichProgress

    with RichProgress() as progress:
        report = ctx.ws.verify(progress=progress)
    for digest in report.missing:
        err.print(f"missing: {digest}")
    for digest in report.damaged:
        err.print(f"damaged: {digest}")
    if not report.ok:
        raise IntegrityError(
            f"{len(report.missing)} missing and {len(report.damaged)} damaged of {report.checked} objects"
        )
    out.print(f"ok: {report.checked} objects verified")


@cli.command()
@pass_ctx
def gc(ctx: Context) -> None:
    """Remove objects nothing refers to (orphans of interrupted imports, deleted runs)."""
    removed = ctx.ws.gc()
    out.print(f"removed {len(removed)} unreferenced objects")


def _register_groups() -> None:
    from .audit import audit
    from .data import data

    cli.add_command(data)
    cli.add_command(audit)


_register_groups()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the CLI and turn errors into one line and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="workbench", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        err.print("cancelled")
        sys.exit(130)
    except click.ClickException as exc:
        if debug:
            raise
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except WorkbenchError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("cancelled")
        sys.exit(130)
