"""The guided labs (docs/labs): every block runs as written, the checker grades each step.

The harness runs a lab's console blocks in order in a fresh folder (``workbench`` on PATH is
this interpreter's, as ``lab start`` arranges), checks each command's output and exit code
against the lab's patterns, presses each ```` ```tui ```` block's keys in the real app under
Pilot, and after every step asks the checker: that step passes, the next one is not done yet.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from tests.helpers import run_cli
from tests.tui.conftest import SIZE, app_on, settle, wait_until
from workbench.labs import Block, LabRun, labs, load_lab, match_output
from workbench.labs.checks import CHECKS, check_lab

# -- the format and the patterns ------------------------------------------------------------


def test_every_lab_parses_with_steps_blocks_a_tui_step_and_checks():
    found = labs()
    assert [lab.number for lab in found] == sorted(CHECKS)
    for lab in found:
        assert lab.title and lab.steps, lab.path
        assert len(CHECKS[lab.number]) == len(lab.steps), lab.path
        for step in lab.steps:
            assert step.blocks, f"{lab.path.name}: step {step.number} has no block"
        tui = [b for s in lab.steps for b in s.blocks if b.kind == "tui"]
        assert tui and all(b.keys and b.see for b in tui), lab.path
        commands = [c.text for s in lab.steps for c in s.commands]
        assert all("http" not in c or "127.0.0.1" in c for c in commands), "offline only"


def test_docs_labs_is_the_package_copy():
    docs = Path(__file__).resolve().parents[2] / "docs" / "labs"
    assert docs.resolve() == load_lab(1).path.parent.resolve()


def test_patterns():
    assert match_output(["added churn@v1: <n> rows x <n> columns, object ..."],
                        "added churn@v1: 12,000 rows x 14 columns, object 4606c7\n") is None  # fmt: skip
    assert match_output(["a", "...", "z"], "a\nb\nc\nz\n") is None
    assert match_output(["a", "...", "z"], "a\nz\n") is None
    assert match_output(["a", "...", "z"], "a\nb\n") is not None
    assert match_output(["x <n>"], "x 0.83") is None
    assert match_output(["x <n>"], "x -1,234.5e-3") is None
    assert match_output(["x <n>"], "x many") is not None
    assert match_output([" a  b "], "a      b\n\n") is None  # spacing and blank lines
    assert match_output(["a"], "a\nb") == "the output goes on after the lines the lab shows"
    assert match_output(["serving ..."], "serving x\nmore", prefix=True) is None


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lab", "start", "9"], "error: no lab 9"),
        (["lab", "check", "9"], "error: no lab 9"),
        (["lab", "start", "1", "--step", "99"], "error: lab 1 has steps 1 to"),
        (["lab", "start", "1", "--step", "0"], "error: lab 1 has steps 1 to"),
        (["lab", "check", "1", "."], "is not a workspace"),
    ],
)
def test_bad_input_is_one_line(tmp_path, args, message):
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not list(tmp_path.iterdir())


def test_lab_start_refuses_a_folder_in_use(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    done = run_cli("lab", "start", "1", str(tmp_path))
    assert done.returncode == 2 and "is not an empty folder" in done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


def test_lab_list(tmp_path):
    done = run_cli("lab", "list", cwd=tmp_path)
    assert done.returncode == 0
    assert "1  A versioned pipeline" in done.stdout and "5. A data contract" in done.stdout


# -- each lab as written ---------------------------------------------------------------------


def _screen_text(app) -> str:
    """What the screen shows, runs of spaces as one (as the console blocks are compared)."""
    lines = (strip.text for strip in app.screen._compositor.render_strips())
    return "\n".join(" ".join(line.split()) for line in lines)


async def _press(root: Path, block: Block) -> None:
    """The real app on ``root``, the block's keys pressed, each of its texts awaited."""
    app = app_on(root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.workspace is not None)
        await settle(pilot)
        for key in block.keys:
            await pilot.press(key)
            await settle(pilot)
        for text in block.see:
            await wait_until(
                pilot, lambda text=text: " ".join(text.split()) in _screen_text(app), timeout=30,
                state=lambda: _screen_text(app),
            )  # fmt: skip


def _verdicts(number: int, root: Path) -> list[str]:
    return [s.verdict for s in check_lab(number, root).steps]


def _ports(lab) -> list[int]:
    import re

    commands = (c for s in lab.steps for c in s.commands if c.background)
    return sorted({int(p) for c in commands for p in re.findall(r"--port (\d+)", c.text)})


@contextmanager
def _ports_held(lab) -> Iterator[None]:
    """The labs' servers use fixed ports (the learner types them). Another test suite of
    this project on the same machine takes turns on them through a lock file per port
    (without it, two suites' lab 1 raced for port 8799); another program holding one skips."""
    import fcntl
    import socket
    import tempfile

    with ExitStack() as stack:
        for port in _ports(lab):
            lock = Path(tempfile.gettempdir()) / f"workbench-lab-port-{port}.lock"
            handle = stack.enter_context(lock.open("a"))
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    pytest.skip(f"port {port} is in use by another program")
        yield


def _skip_without_a_tool(lab) -> None:
    """The labs call git and curl as a learner would; a machine may lack them."""
    import shutil

    words = {w for s in lab.steps for c in s.commands for w in c.text.replace("&&", " ").split()}
    for tool in ("git", "curl"):
        if tool in words and shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")


async def _run_lab(number: int, root: Path) -> None:
    lab = load_lab(number)
    _skip_without_a_tool(lab)
    with _ports_held(lab), LabRun(lab, root) as run:
        run.setup()
        for step in lab.steps:
            for block in step.blocks:
                if block.kind == "tui":
                    await _press(root, block)
                else:
                    for command in block.commands:
                        run.run(command)
            verdicts = _verdicts(number, root)
            assert verdicts[step.number - 1] == "pass", check_lab(number, root).steps
            if step.number < len(lab.steps):
                assert verdicts[step.number] == "not-yet", check_lab(number, root).steps


@pytest.mark.slow
@pytest.mark.cli
async def test_lab_1_runs_as_written_and_checks_pass(tmp_path):
    root = tmp_path / "lab1"
    await _run_lab(1, root)
    done = run_cli("lab", "check", "1", str(root), "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["passed"] and report["score"] == "8/8"
    step6 = [line["text"] for line in report["steps"][5]["evidence"]]
    assert step6[1:] == [
        "the lab folder is a git repository",
        ".github/workflows/workbench-pr.yml (the pull-request workflow)",
        "ci-out/workbench-report.md: the pipeline stopped at the data contract",
    ]
    # a wrong answer is a failed step, with the evidence
    (root / "answers" / "broken-feed.txt").write_text("2025-10\n")
    done = run_cli("lab", "check", "1", str(root))
    assert done.returncode == 1
    assert "FAIL  step 5: A data contract, checked in CI" in done.stdout
    assert "answers/broken-feed.txt: '2025-10' is not the answer" in done.stdout
    assert done.stderr == "error: lab 1: not every step passes yet\n"


@pytest.mark.slow
def test_lab_start_builds_the_folder_at_a_step(tmp_path):
    root = tmp_path / "class"
    done = run_cli("lab", "start", "1", "--step", "3", str(root), timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"lab 1 ready in {root}: step 3 of 8, Train and compare" in done.stdout
    assert "$ workbench data add data/train_v2.csv" in done.stderr
    assert _verdicts(1, root) == ["pass", "pass"] + ["not-yet"] * 6


@pytest.mark.slow
@pytest.mark.cli
async def test_lab_2_runs_as_written_and_checks_pass(tmp_path):
    root = tmp_path / "lab2"
    await _run_lab(2, root)
    done = run_cli("lab", "check", "2", str(root), "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["passed"] and report["score"] == "8/8"
    step4 = [line["text"] for line in report["steps"][3]["evidence"]]
    assert step4[0].startswith("alert 1 fired: total_charges is 40% null (training: 0%)")
    assert step4[1:] == [
        "the webhook received it (webhooks.jsonl)",
        f"acknowledged by {report['os_account']}",
        "answers/first-alert.txt: 'total_charges' is right (which column does the alert name?)",
    ]
    # shadow and canary in a live server: its answers, the ramp, the promotion it followed
    step7 = [line["text"] for line in report["steps"][6]["evidence"]]
    assert step7[0] == "3000 shadow answers logged by the scoring server"
    step8 = [line["text"] for line in report["steps"][7]["evidence"]]
    assert step8[0].endswith("canary answers logged by the scoring server (canary 0.05)")
    assert step8[1:] == [
        "the canary ramp moved past its first step (`workbench monitor canary step`)",
        "the champion is churn-model@v2",
    ]


@pytest.mark.slow
@pytest.mark.cli
async def test_lab_3_runs_as_written_and_checks_pass(tmp_path):
    root = tmp_path / "lab3"
    await _run_lab(3, root)
    done = run_cli("lab", "check", "3", str(root), "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["passed"] and report["score"] == "8/8"
    step7 = [line["text"] for line in report["steps"][6]["evidence"]]
    assert step7 == [
        "champion rolled back v2 -> v1 by carol (decision 4)",
        "the champion is churn-model@v1",
        "filed by bob, carried out by carol",
    ]
    (root / "answers" / "approver.txt").write_text("alice\n")
    done = run_cli("lab", "check", "3", str(root), "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 1 and report["score"] == "7/8", done.stderr
    assert done.stderr == "error: lab 3: not every step passes yet\n"
    assert report["steps"][7]["verdict"] == "fail"


@pytest.mark.parametrize("module", ["workbench.labs", "workbench.labs.checks"])
def test_labs_import_no_ui_or_heavy_library(module):
    import subprocess
    import sys

    libraries = ("textual", "rich", "click", "mlflow", "lightgbm", "evidently", "sklearn")
    code = f"import sys, {module}; print(','.join(m for m in {libraries!r} if m in sys.modules))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == ""


def test_the_harness_names_the_line_that_rotted(tmp_path):
    from workbench.labs import CommandFailed, parse_lab

    md = tmp_path / "09-tiny.md"
    md.write_text(
        "# Lab 9: tiny\n\n## Step 1: echo\n\n```console\n$ echo hello 42\nhello <n>\n"
        "$ false\n[exit 1]\n```\n\n## Step 2: rot\n\n<!-- answer\n$ echo goodbye\nhello\n-->\n"
    )
    lab = parse_lab(md)
    assert [(s.number, len(s.commands)) for s in lab.steps] == [(1, 2), (2, 1)]
    assert lab.steps[1].blocks[0].kind == "answer"
    assert [c.line for c in lab.steps[0].commands] == [6, 8]
    with LabRun(lab, tmp_path / "run") as run:
        run.setup()
        run.run_step(lab.steps[0])
        with pytest.raises(CommandFailed) as failed:
            run.run_step(lab.steps[1])
    assert str(failed.value).startswith(
        "09-tiny.md:15: `echo goodbye`: expected a line matching 'hello'; output:\ngoodbye"
    )


@pytest.mark.slow
def test_lab_start_says_which_background_command_to_start_again(tmp_path):
    root = tmp_path / "lab2"
    with _ports_held(load_lab(2)):  # step 2 starts the webhook receiver on its fixed port
        done = run_cli("lab", "start", "2", "--step", "3", str(root), timeout=300)
    assert done.returncode == 0, done.stderr
    assert (
        "note: an earlier step left `workbench lab receiver --port 8931 &` running; "
        "start it again" in done.stderr
    )
    assert _verdicts(2, root)[:3] == ["pass", "pass", "not-yet"]


def test_a_background_command_that_ends_after_saying_it_is_ready_fails(tmp_path):
    from workbench.labs import CommandFailed, parse_lab

    md = tmp_path / "09-server.md"
    md.write_text(
        "# Lab 9: server\n\n## Step 1: serve\n\n```console\n"
        "$ sh -c 'echo serving at 127.0.0.1:1; sleep 0.3; echo address already in use; exit 1' &\n"
        "serving at ...\n```\n"
    )
    lab = parse_lab(md)
    with LabRun(lab, tmp_path / "run") as run, pytest.raises(CommandFailed) as failed:
        run.setup()
        run.run_step(lab.steps[0])
    assert "ended: it ended after printing these lines" in str(failed.value)
    assert str(failed.value).endswith("address already in use")
