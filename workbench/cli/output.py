"""Console helpers shared by the commands: consoles, a rich progress adapter, JSON output.

rich loads on first use (about 45 ms): a command that prints one plain line, such as
re-adding an unchanged file, never imports it.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from typing import Any, Self

from ..errors import Cancelled
from ..progress import NULL_PROGRESS, Progress


class _LazyConsole:
    """A rich Console made on first use."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Any = None

    @property
    def console(self):
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console, name)


out = _LazyConsole(highlight=False, soft_wrap=False)
err = _LazyConsole(stderr=True, highlight=False)


def plain(text: str, *, stderr: bool = False) -> None:
    """One plain line, without loading rich unless it is already in use."""
    console = err if stderr else out
    if console._console is not None:
        console.console.print(text, markup=False)
    else:
        stream = sys.stderr if stderr else sys.stdout
        stream.write(text + "\n")
        stream.flush()


def plain_table(*columns: str, wrap: tuple[str, ...] = (), **options: Any):
    """A borderless rich Table (rich is imported here, on first use).

    Only the columns named in ``wrap`` (free text: messages, top values) wrap on a narrow
    terminal; the others keep whole values (a snapshot ref cut to "prod-2025-12…" names
    nothing).
    """
    from rich.table import Column, Table

    cells = [Column(c, no_wrap=c not in wrap) for c in columns]
    return Table(*cells, **{"box": None, **options})


def print_wide(renderable) -> None:
    """Print at the renderable's natural width when piped (no ellipses in files and pipes)."""
    from rich.console import Console
    from rich.measure import Measurement

    if out.is_terminal:
        out.print(renderable)
        return
    console = out.console
    width = Measurement.get(console, console.options.update(max_width=4000), renderable).maximum
    Console(highlight=False, soft_wrap=False, width=max(out.width, width)).print(renderable)


def _default(obj):
    if is_dataclass(obj) and not isinstance(obj, type):
        return asdict(obj)
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    return str(obj)


def print_json(data) -> None:
    """Machine-readable output for scripts."""
    sys.stdout.write(json.dumps(data, default=_default, indent=2) + "\n")


@contextmanager
def native_stderr_hidden() -> Iterator[None]:
    """Keep C libraries' own stderr lines (LightGBM's ``[Fatal] Check failed ...``) off the
    terminal while Python's stderr, where our progress bar and error line go, stays on it.

    File descriptor 2 points at a scratch file for the duration; ``sys.stderr`` is a new file
    on a duplicate of the terminal's descriptor. The core turns those failures into one clear
    error already, so the native line is only noise. A no-op when stderr is not a real file
    (tests capturing output).
    """
    try:
        fd: int | None = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None
    if fd is None:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    python_side = os.fdopen(os.dup(saved), "w", encoding="utf-8", errors="backslashreplace")
    previous = sys.stderr
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), fd)
        sys.stderr = python_side
        try:
            yield
        finally:
            python_side.flush()
            sys.stderr = previous
            os.dup2(saved, fd)
            os.close(saved)
            python_side.close()


def _may_be_terminal() -> bool:
    """False only when rich would surely find stderr no terminal: no TTY, and neither
    ``TTY_COMPATIBLE`` nor ``FORCE_COLOR`` set (rich's overrides)."""
    if "TTY_COMPATIBLE" in os.environ or "FORCE_COLOR" in os.environ:
        return True
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except (ValueError, OSError):
        return False


@contextmanager
def progress_bar() -> Iterator[Progress]:
    """A ``RichProgress`` where stderr may be a terminal; elsewhere (a pipe, a log) no bar at
    all, so rich, whose bar would be disabled there, is not imported for it (~0.1 s)."""
    if err._console is None and not _may_be_terminal():
        yield NULL_PROGRESS
        return
    with RichProgress() as bar:
        yield bar


class RichProgress:
    """The core's Progress protocol shown as a rich bar on stderr."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._task: Any = None
        self._entered = False

    def __enter__(self) -> Self:
        self._entered = True
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._entered = False
        if self._bar is not None:
            self._bar.__exit__(*exc)

    #: extra fields each task starts with (for columns that show ``task.fields[...]``)
    task_fields: dict[str, Any] = {}

    def new_bar(self):
        """The rich ``Progress`` to draw (subclasses choose their columns)."""
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        return Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),  # the percentage, and nothing for a step of unknown size
            TimeElapsedColumn(),
            console=err.console,
            transient=True,
            disable=not err.is_terminal,  # a pipe or a log gets no bar (nor its blank line)
        )

    def start(self, task: str, total: float | None = None) -> None:
        if self._bar is None:
            # The bar (and rich) starts with the first task: work that ends before one starts
            # (an unchanged file) shows and imports nothing.
            self._bar = self.new_bar()
            if self._entered:
                self._bar.__enter__()
        if self._task is not None:  # a new task: rich cannot set a total back to unknown
            self._bar.remove_task(self._task)
        self._task = self._bar.add_task(task, total=total, **self.task_fields)

    def advance(self, amount: float = 1.0) -> None:
        if self._task is not None:
            self._bar.advance(self._task, amount)

    def check_cancelled(self) -> None:
        # Ctrl-C arrives as KeyboardInterrupt; nothing else cancels a CLI command.
        return None


__all__ = [
    "out", "err", "plain", "plain_table", "print_json", "print_wide", "RichProgress", "Cancelled",
    "progress_bar",
    "native_stderr_hidden",
]  # fmt: skip
