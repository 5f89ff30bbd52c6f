"""Console helpers shared by the commands: consoles, a rich progress adapter, JSON output."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, is_dataclass
from datetime import date, datetime

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ..errors import Cancelled

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)


def _default(obj):
    if is_dataclass(obj):
        return asdict(obj)
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    return str(obj)


def print_json(data) -> None:
    """Machine-readable output for scripts."""
    sys.stdout.write(json.dumps(data, default=_default, indent=2) + "\n")


class RichProgress:
    """The core's Progress protocol shown as a rich bar on stderr."""

    def __init__(self) -> None:
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        self._task = None

    def __enter__(self) -> RichProgress:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._bar.__exit__(*exc)

    def start(self, task: str, total: float | None = None) -> None:
        if self._task is not None:
            self._bar.update(self._task, description=task, total=total, completed=0)
        else:
            self._task = self._bar.add_task(task, total=total)

    def advance(self, amount: float = 1.0) -> None:
        if self._task is not None:
            self._bar.advance(self._task, amount)

    def check_cancelled(self) -> None:
        # Ctrl-C arrives as KeyboardInterrupt; nothing else cancels a CLI command.
        return None


__all__ = ["out", "err", "print_json", "RichProgress", "Cancelled"]
