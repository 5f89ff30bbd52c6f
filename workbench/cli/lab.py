"""``workbench lab``: guided labs (list, start at a step, check a learner's folder)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import CheckFailed, InputError

MARKS = {"pass": "PASS", "fail": "FAIL", "not-yet": "TODO"}


@click.group()
def lab() -> None:
    """Guided labs: Markdown walk-throughs whose commands are tested (docs/labs)."""


@lab.command("list")
def list_labs() -> None:
    """Every lab with its steps."""
    from ..labs import labs

    for item in labs():
        click.echo(f"{item.number}  {item.title}  ({len(item.steps)} steps, {item.path.name})")
        for step in item.steps:
            click.echo(f"     {step.number}. {step.title}")


@lab.command()
@click.argument("number", type=int)
@click.argument("folder", required=False, type=click.Path(path_type=Path))
@click.option("--step", "step", type=int, default=1, show_default=True,
              help="Build the folder as it stands at the start of this step.")  # fmt: skip
def start(number: int, folder: Path | None, step: int) -> None:
    """Create FOLDER (default lab-N) for lab NUMBER, ready at the start of --step.

    Earlier steps' commands (and the answers to their exercises) are run for you, so a class
    can restart anywhere.
    """
    from ..labs import load_lab, start_lab

    load_lab(number).step(step)  # bad number or step: one line, before any work
    target = folder if folder is not None else Path(f"lab-{number}")
    lab_ = start_lab(number, target, step, echo=lambda text: click.echo(text, err=True))
    title = lab_.steps[step - 1].title
    click.echo(f"lab {number} ready in {target}: step {step} of {len(lab_.steps)}, {title}")
    click.echo(f"  the instructions: {lab_.path}")


@lab.command()
@click.argument("number", type=int)
@click.argument("folder", required=False, default=".", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="The report as JSON (for a teacher).")
def check(number: int, folder: Path, as_json: bool) -> None:
    """Grade FOLDER (default: here) step by step against lab NUMBER; exit 1 unless all pass."""
    from ..labs.checks import check_lab

    report = check_lab(number, folder)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(f"lab {report.lab}: {report.title}  ({report.folder})")
        for step in report.steps:
            click.echo(f"{MARKS[step.verdict]}  step {step.step}: {step.title}")
            for line in step.evidence:
                click.echo(f"        {MARKS[line.verdict]}  {line.text}")
        done = sum(s.verdict == "pass" for s in report.steps)
        click.echo(f"{done}/{len(report.steps)} steps pass")
    if not report.passed:  # one line on stderr: stdout stays one JSON document with --json
        raise CheckFailed(f"lab {number}: not every step passes yet")


@lab.command()
@click.option("-p", "--port", type=int, default=9000, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("webhooks.jsonl"), show_default=True,
              help="Append each message's JSON here.")  # fmt: skip
def receiver(port: int, out: Path) -> None:
    """A webhook receiver on 127.0.0.1 for the labs: prints each message, keeps them in --out."""
    from ..labs.receiver import serve_receiver

    try:
        serve_receiver(port, out)
    except OSError as exc:
        raise InputError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from exc
