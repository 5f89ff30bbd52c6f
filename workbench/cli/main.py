"""``workbench``: the command-line entry point.

Every user error becomes one line on stderr and a non-zero exit code (2 for usage and input,
1 for failed checks, 3 for a busy workspace or an unreachable remote, 4 for a conflict with a
remote, 130 for Ctrl-C); ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import InputError, WorkbenchError, WorkspaceNotFound

if TYPE_CHECKING:
    from ..api import Workspace


class Context:
    """Options shared by every command; the workspace opens on first use."""

    def __init__(self, workspace: str | None, debug: bool, actor: str | None = None) -> None:
        self.workspace_path = workspace
        self.debug = debug
        self.actor = actor
        self._ws: Workspace | None = None

    @property
    def ws(self) -> Workspace:
        if self._ws is None:
            from ..api import Workspace

            self._ws = Workspace.open(self.workspace_path, actor=self.actor)
            if self.actor is not None:
                _ = self._ws.actor  # a name this account may not use is refused at once
        return self._ws


pass_ctx = click.make_pass_decorator(Context)


class LazyGroup(click.Group):
    """A group whose subcommands are imported when first invoked or listed."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, str] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in self.lazy_commands:
            from importlib import import_module

            module, _, attr = self.lazy_commands[name].partition(":")
            self.add_command(getattr(import_module(module, __package__), attr), name)
        return super().get_command(ctx, name)


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--workspace",
    "-w",
    envvar="WORKBENCH_WORKSPACE",
    metavar="PATH",
    help="Workspace folder (default: found by walking up from here).",
)
@click.option("--as", "actor", metavar="NAME",
              help="Act under this name (your OS account needs it in [accounts]).")  # fmt: skip
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="workbench")
@click.pass_context
def cli(ctx: click.Context, workspace: str | None, actor: str | None, debug: bool) -> None:
    """MLOps workbench: versioned data, experiments, drift and decisions on one machine.

    Run without a command inside a workspace to open the terminal UI.
    """
    ctx.obj = Context(workspace, debug, actor)
    if ctx.invoked_subcommand not in (None, "ui", "demo"):  # the terminal UI imports as usual
        from ..experiments.lightgbm_import import enable_lean_import

        enable_lean_import()
    if ctx.invoked_subcommand is None:
        from ..locate import find_workspace

        try:
            find_workspace(workspace)
        except WorkspaceNotFound:
            click.echo(ctx.get_help())
            return
        ctx.invoke(ui)


@cli.command()
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def init(ctx: click.Context, path: Path | None) -> None:
    """Create a workspace (.workbench/) in PATH.

    Without PATH: in the folder given with -w (or WORKBENCH_WORKSPACE), else here. PATH and
    a different -w folder are refused as a conflict; PATH wins over WORKBENCH_WORKSPACE.
    """
    from ..api import Workspace

    given = ctx.obj.workspace_path
    parent = ctx.parent
    source = parent.get_parameter_source("workspace") if parent is not None else None
    typed = source is click.core.ParameterSource.COMMANDLINE
    if path is None:
        path = Path(given) if given else Path(".")
    elif typed and _resolved(given) != _resolved(path):
        raise InputError(f"two folders given: -w {given} and {path}", hint="give the folder once")
    ws = Workspace.init(path)
    click.echo(f"workspace ready at {ws.dir}")


def _resolved(path: Path | str) -> Path:
    return Path(path).expanduser().resolve()


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
    click.echo(f"demo workspace ready at {ws.root}")
    for snap in reversed(ws.snapshots()):
        click.echo(f"  {snap.ref:<24} {snap.n_rows:>7,} rows  {snap.message or ''}")
    if not no_ui:
        from ..tui.app import run_app

        run_app(ws.root, ctx.actor)


@cli.command()
@pass_ctx
def ui(ctx: Context) -> None:
    """Open the terminal UI."""
    from ..locate import find_workspace
    from ..tui.app import run_app

    run_app(find_workspace(ctx.workspace_path), ctx.actor)


@cli.command()
@pass_ctx
def verify(ctx: Context) -> None:
    """Re-hash every stored object; exit code 1 if any is missing or damaged."""
    from ..errors import IntegrityError
    from .output import RichProgress

    with RichProgress() as progress:
        report = ctx.ws.verify(progress=progress)
    for digest in report.missing:
        click.echo(f"missing: {digest}", err=True)
    for digest in report.damaged:
        click.echo(f"damaged: {digest}", err=True)
    if report.stale_temp:
        mb = report.stale_bytes / 1e6
        click.echo(
            f"note: {len(report.stale_temp)} temp file(s) ({mb:.1f} MB) left by interrupted "
            "writes in .workbench/tmp; `workbench gc` removes them",
            err=True,
        )
    for problem in report.audit:
        click.echo(f"audit: {problem}", err=True)
    if report.missing or report.damaged:
        raise IntegrityError(
            f"{len(report.missing)} missing and {len(report.damaged)} damaged of {report.checked} objects"
        )
    if report.audit:
        raise IntegrityError(f"audit log damaged: {len(report.audit)} problems")
    click.echo(f"ok: {report.checked} objects verified, audit log intact")


@cli.command()
@pass_ctx
def gc(ctx: Context) -> None:
    """Remove objects nothing refers to (orphans of interrupted imports, deleted runs)."""
    removed = ctx.ws.gc()
    click.echo(f"removed {len(removed)} unreferenced objects")


# Command groups load on first use: `workbench ui` and `workbench --version` import neither
# rich tables nor any feature's CLI module.
LAZY_COMMANDS = {
    "data": ".data:data",
    "audit": ".audit:audit",
    "train": ".runs:train",
    "runs": ".runs:runs",
    "models": ".models:models",
    "decisions": ".decisions:decisions",
    "retrain": ".decisions:retrain",
    "drift": ".drift:drift",
    "score": ".serving:score",
    "serve": ".serving:serve",
    "mlflow": ".mirror:mlflow",
    "monitor": ".monitor:monitor",
    "alerts": ".monitor:alerts",
    "settings": ".settings:settings",
    "notebook": ".notebook:notebook",
    "remote": ".remote:remote",
    "push": ".remote:push",
    "pull": ".remote:pull",
    "ci": ".ci:ci",
    "lab": ".lab:lab",
}


def _register_groups() -> None:
    cli.lazy_commands.update(LAZY_COMMANDS)


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
        click.echo("cancelled", err=True)
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
        click.echo("cancelled", err=True)
        sys.exit(130)


def entry() -> None:
    """The ``workbench`` console script: :func:`main`, then exit without the interpreter's teardown.

    At exit Python clears every module and collects their objects: after a training that loaded
    LightGBM, Polars and MLflow that took about a second of pure CPU here (0.07 s without),
    work whose result nobody sees. So once the command has finished, its exit functions run and
    the standard streams are flushed, as at any exit, and the process ends with ``os._exit``.
    Our files and DuckDB transactions are closed and committed by then; if a non-daemon thread
    is still running, the exit is the usual one. Only the console script does this: ``main``
    called from Python returns as usual.
    """
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    _exit_now(code)


def _exit_now(code: object) -> None:
    import atexit
    import os
    import threading

    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("message"): print it, as Python does
        print(code, file=sys.stderr)
        code = 1
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    if any(not t.daemon for t in others):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`): nothing more to say
            pass
    os._exit(code)
