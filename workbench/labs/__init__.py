"""Guided labs: Markdown walk-throughs whose every command is run and checked.

A lab is one Markdown file in ``workbench/labs/content/`` (``docs/labs`` links to that
folder, so the package and the docs read the same files). Its structure:

* ``# Lab N: title``, then ``## Step K: title`` sections, numbered from 1;
* ```` ```console ```` blocks: lines starting ``$ `` are commands, the lines after each
  command (up to the next ``$ ``) are the output the learner should see. Pattern syntax:
  ``...`` alone on a line stands for any number of lines (none included); ``...`` inside a
  line for any text; ``<n>`` for a number (``-1,234.5``, ``0.83``); a last line
  ``[exit N]`` says the command exits with N (default 0). Blank lines are ignored and runs
  of spaces count as one. A command ending in `` &`` runs in the background (its lines are awaited,
  not its end); ``kill %N`` stops the Nth background command with SIGTERM and waits;
* an HTML comment ``<!-- answer`` ... ``-->`` holding ``$ `` lines: the answer to the
  step's exercise, run like a console block but hidden when the Markdown is rendered;
* ```` ```tui ```` blocks: ``press: KEYS`` (space-separated Textual key names) and
  ``see: TEXT`` lines; the test suite presses the keys in the real app under Pilot and
  waits for each text on the screen (spacing not significant); ``lab start`` skips them
  (they change nothing).

Commands run with ``bash`` in the lab folder, with a terminal 100 columns wide, and
``workbench`` is the one running this code. ``lab start`` builds the folder as it stands at
the start of a step by running the earlier steps' blocks; ``lab check`` grades a learner's
folder with the checks in :mod:`workbench.labs.checks`.

This module sits on the facade like the demo: faces (the CLI) call it; it never imports
click, rich or textual.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..errors import InputError

__all__ = [
    "Command",
    "Block",
    "Step",
    "Lab",
    "LabRun",
    "CommandFailed",
    "lab_files",
    "load_lab",
    "labs",
    "parse_lab",
    "match_output",
    "start_lab",
]

#: terminal width the commands see (Rich tables wrap at it)
COLUMNS = 100
#: seconds a command may take (a training, a server's start)
COMMAND_TIMEOUT = 300.0
BACKGROUND_WAIT = 90.0


@dataclass
class Command:
    """One ``$ `` line of a block and the output it should print."""

    text: str
    expected: list[str] = field(default_factory=list)
    exit_code: int = 0
    line: int = 0
    """Line number of the command in the Markdown file (1-based)."""

    @property
    def background(self) -> bool:
        return self.text.rstrip().endswith(" &")


@dataclass
class Block:
    kind: str
    """``console``, ``answer`` or ``tui``."""
    commands: list[Command] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    see: list[str] = field(default_factory=list)
    line: int = 0


@dataclass
class Step:
    number: int
    title: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def commands(self) -> list[Command]:
        return [c for b in self.blocks if b.kind in ("console", "answer") for c in b.commands]


@dataclass
class Lab:
    number: int
    slug: str
    title: str
    path: Path
    steps: list[Step]
    setup: str
    """What ``lab start`` puts in the folder first: ``data`` (the demo's CSV files in
    ``data/``) or ``none``."""

    def step(self, number: int) -> Step:
        if not 1 <= number <= len(self.steps):
            raise InputError(
                f"lab {self.number} has steps 1 to {len(self.steps)}, not {number}",
                hint="`workbench lab list` shows every lab's steps",
            )
        return self.steps[number - 1]


_HEADING = re.compile(r"^# Lab (\d+): (.+)$")
_STEP = re.compile(r"^## Step (\d+): (.+)$")
_SETUP = re.compile(r"^<!-- setup: (\w+) -->$")
_EXIT = re.compile(r"^\[exit (\d+)\]$")


def content_dir() -> Path:
    """The folder holding the labs' Markdown (package data)."""
    return Path(str(resources.files(__package__) / "content"))


def lab_files() -> dict[int, Path]:
    """Lab number -> its Markdown file (``NN-name.md``)."""
    found: dict[int, Path] = {}
    for path in sorted(content_dir().glob("[0-9][0-9]-*.md")):
        found[int(path.name[:2])] = path
    return found


def labs() -> list[Lab]:
    """Every lab, by number."""
    return [parse_lab(path) for path in lab_files().values()]


def load_lab(number: int) -> Lab:
    """The lab numbered ``number``; an unknown number is an input error."""
    files = lab_files()
    if number not in files:
        known = ", ".join(str(n) for n in files)
        raise InputError(f"no lab {number}", hint=f"the labs are {known}: `workbench lab list`")
    return parse_lab(files[number])


def parse_lab(path: Path) -> Lab:
    """Read one lab's Markdown into steps and blocks (see the module's docstring)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    number, title, setup = 0, path.stem, "none"
    steps: list[Step] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if (m := _HEADING.match(line)) and not number:
            number, title = int(m.group(1)), m.group(2).strip()
        elif m := _SETUP.match(line.strip()):
            setup = m.group(1)
        elif m := _STEP.match(line):
            if int(m.group(1)) != len(steps) + 1:
                raise ValueError(f"{path.name}:{i + 1}: step {m.group(1)} out of order")
            steps.append(Step(int(m.group(1)), m.group(2).strip()))
        elif line.startswith("```console") or line.strip() == "<!-- answer":
            kind = "console" if line.startswith("```") else "answer"
            end = "```" if kind == "console" else "-->"
            body, start = [], i + 1
            i += 1
            while i < len(lines) and lines[i].strip() != end:
                body.append(lines[i])
                i += 1
            if not steps:
                raise ValueError(f"{path.name}:{start}: a block before the first step")
            steps[-1].blocks.append(Block(kind, _commands(body, start + 1), line=start))
        elif line.startswith("```tui"):
            block, i = Block("tui", line=i + 1), i + 1
            while i < len(lines) and lines[i].strip() != "```":
                key, _, value = lines[i].partition(":")
                if key.strip() == "press":
                    block.keys.extend(value.split())
                elif key.strip() == "see":
                    block.see.append(value.strip())
                i += 1
            if not steps:
                raise ValueError(f"{path.name}:{block.line}: a block before the first step")
            steps[-1].blocks.append(block)
        i += 1
    if not number:
        raise ValueError(f"{path.name}: no '# Lab N: title' heading")
    slug = path.stem[3:]
    return Lab(number, slug, title, path, steps, setup)


def _commands(body: list[str], first_line: int) -> list[Command]:
    commands: list[Command] = []
    for offset, line in enumerate(body):
        if line.startswith("$ "):
            commands.append(Command(line[2:].strip(), line=first_line + offset))
        elif commands:
            if m := _EXIT.match(line.strip()):
                commands[-1].exit_code = int(m.group(1))
            else:
                commands[-1].expected.append(line)
        elif line.strip():
            raise ValueError(f"line {first_line + offset}: output before any '$ ' command")
    return commands


# -- patterns ---------------------------------------------------------------------------------

_NUMBER = r"[-+]?(?:\d[\d,]*)?\.?\d+(?:[eE][-+]?\d+)?"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def _line_pattern(expected: str) -> re.Pattern[str]:
    parts = re.split(r"(\.\.\.|<n>)", expected.rstrip())
    regex = "".join(".*" if p == "..." else _NUMBER if p == "<n>" else re.escape(p) for p in parts)
    return re.compile(regex)


def _clean(lines: list[str]) -> list[str]:
    """Blank lines dropped; runs of spaces count as one (table columns move with the data)."""
    return [" ".join(line.split()) for line in lines if line.strip()]


def match_output(expected: list[str], actual: str, *, prefix: bool = False) -> str | None:
    """None when ``actual`` matches the pattern lines ``expected``; else what went wrong.

    ``prefix``: the output may go on after the pattern (a background command still running).
    """
    want = _clean(expected)
    if prefix:
        want = [*want, "..."]
    got = _clean(_ANSI.sub("", actual).splitlines())
    patterns = [None if w.strip() == "..." else _line_pattern(w) for w in want]
    memo: dict[tuple[int, int], bool] = {}

    def fits(i: int, j: int) -> bool:
        if (i, j) in memo:
            return memo[(i, j)]
        if i == len(patterns):
            ok = j == len(got)
        elif patterns[i] is None:
            ok = any(fits(i + 1, k) for k in range(j, len(got) + 1))
        else:
            pattern = patterns[i]
            ok = j < len(got) and pattern is not None and bool(pattern.fullmatch(got[j]))
            ok = ok and fits(i + 1, j + 1)
        memo[(i, j)] = ok
        return ok

    if fits(0, 0):
        return None
    # the first expected line no prefix of the output can reach, for the message
    reach = 0
    for i in range(len(patterns) + 1):
        if any(memo.get((i, j)) is not None for j in range(len(got) + 1)):
            reach = i
    if reach < len(want):
        return f"expected a line matching {want[reach]!r}"
    return "the output goes on after the lines the lab shows"


# -- running ----------------------------------------------------------------------------------


class CommandFailed(InputError):
    """A lab command's output or exit code was not what the lab says."""

    exit_code = 1


@dataclass
class _Job:
    command: Command
    process: subprocess.Popen[bytes]
    output: Path


class LabRun:
    """Runs a lab's commands in one folder, in order, checking each against its pattern.

    Use as a context manager: background commands still running are stopped at the end.
    """

    def __init__(
        self,
        lab: Lab,
        folder: Path,
        *,
        check: bool = True,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.lab = lab
        self.folder = Path(folder)
        self.check = check
        self.echo = echo or (lambda _text: None)
        self.jobs: list[_Job] = []
        self._tmp = tempfile.TemporaryDirectory(prefix="workbench-lab-")
        self.env = self._environment(Path(self._tmp.name))

    def __enter__(self) -> LabRun:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop_jobs()
        self._tmp.cleanup()

    @staticmethod
    def _environment(tmp: Path) -> dict[str, str]:
        """``workbench`` on PATH is this interpreter's; a fixed-width, plain terminal."""
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        shim = bin_dir / "workbench"
        shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m workbench "$@"\n')
        shim.chmod(0o755)
        env = {k: v for k, v in os.environ.items() if k not in ("WORKBENCH_WORKSPACE",)}
        env.update(
            PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
            COLUMNS=str(COLUMNS),
            LINES="50",
            NO_COLOR="1",
            TERM="dumb",
            PYTHONUNBUFFERED="1",
            MLFLOW_DISABLE_TELEMETRY="true",
        )
        return env

    def setup(self) -> None:
        """The lab's starting material: an empty folder, or the demo's CSV files in data/."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.lab.setup == "data":
            from ..demo_data import write_demo_files

            write_demo_files(self.folder / "data")

    def run_steps(self, before: int) -> None:
        """Run every command of the steps numbered below ``before``."""
        for step in self.lab.steps[: before - 1]:
            self.run_step(step)

    def run_step(self, step: Step) -> None:
        self.echo(f"step {step.number}: {step.title}")
        for command in step.commands:
            self.run(command)

    def run(self, command: Command) -> str:
        """Run one command; raise CommandFailed when ``check`` and it does not match."""
        self.echo(f"  $ {command.text}")
        kill = re.fullmatch(r"kill %(\d+)", command.text.strip())
        if kill:
            return self._kill(int(kill.group(1)), command)
        if command.background:
            return self._background(command)
        try:
            done = subprocess.run(
                ["bash", "-c", command.text],
                cwd=self.folder,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=COMMAND_TIMEOUT,
                start_new_session=True,
            )
        except subprocess.TimeoutExpired as exc:
            raise self._failed(command, f"still running after {COMMAND_TIMEOUT:.0f} s") from exc
        output = done.stdout.decode(errors="replace")
        if self.check:
            if done.returncode != command.exit_code:
                raise self._failed(
                    command, f"exit code {done.returncode}, expected {command.exit_code}", output
                )
            problem = match_output(command.expected, output)
            if problem:
                raise self._failed(command, problem, output)
        return output

    def _background(self, command: Command) -> str:
        out = Path(self._tmp.name) / f"job{len(self.jobs) + 1}.log"
        with out.open("wb") as sink:
            process = subprocess.Popen(
                ["bash", "-c", f"exec {command.text.rstrip()[:-1].rstrip()}"],
                cwd=self.folder,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.jobs.append(_Job(command, process, out))
        deadline = time.monotonic() + BACKGROUND_WAIT
        while True:
            output = out.read_text(errors="replace")
            problem = match_output(command.expected, output, prefix=True)
            if problem is None:
                if self._still_running(process):
                    return output
                # it said it was ready, then ended (a server whose port is in use)
                output = out.read_text(errors="replace")
                problem = "it ended after printing these lines"
            if process.poll() is not None or time.monotonic() > deadline:
                if not self.check:
                    return output
                why = "ended" if process.poll() is not None else "timed out"
                raise self._failed(command, f"{why}: {problem}", output)
            time.sleep(0.2)

    @staticmethod
    def _still_running(process: subprocess.Popen[bytes], grace: float = 1.5) -> bool:
        """Whether a background command that printed its lines is still up ``grace`` seconds
        later: a server may say where it serves before it fails to bind the port."""
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            return True
        return False

    def _kill(self, number: int, command: Command) -> str:
        if not 1 <= number <= len(self.jobs):
            raise self._failed(command, f"no background command %{number}")
        job = self.jobs[number - 1]
        if job.process.poll() is None:
            job.process.send_signal(signal.SIGTERM)
            try:
                job.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                job.process.kill()
                job.process.wait()
        return ""

    def stop_jobs(self) -> None:
        """Stop every background command still running (SIGTERM, then SIGKILL)."""
        for job in self.jobs:
            if job.process.poll() is None:
                job.process.send_signal(signal.SIGTERM)
        for job in self.jobs:
            try:
                job.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                job.process.kill()
                job.process.wait()

    def _failed(self, command: Command, why: str, output: str = "") -> CommandFailed:
        where = f"{self.lab.path.name}:{command.line}"
        tail = _ANSI.sub("", output).strip().splitlines()[-12:]
        shown = ("; output:\n" + "\n".join(tail)) if tail else ""
        return CommandFailed(f"{where}: `{command.text}`: {why}{shown}")


def start_lab(
    number: int, folder: Path, step: int = 1, echo: Callable[[str], None] | None = None
) -> Lab:
    """Build ``folder`` as it stands at the start of ``step`` of lab ``number``.

    The folder must be new or empty. Every earlier step's commands (answers included) are
    run and checked against the lab's patterns.
    """
    lab = load_lab(number)
    lab.step(step)  # the range check
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError(
            f"{folder} is not an empty folder",
            hint="give a new folder: `workbench lab start N DIR`",
        )
    with LabRun(lab, folder, echo=echo) as run:
        run.setup()
        run.run_steps(step)
        running = [job.command.text for job in run.jobs if job.process.poll() is None]
    for text in running:  # stopped with the run: the learner starts it again
        (echo or print)(f"note: an earlier step left `{text}` running; start it again")
    return lab
