"""The Markdown report of a proposal: what it says, how it is cut under GitHub's comment
limit, and that data cannot break its markup; and the GitLab note and issue helpers against a
local HTTP server standing in for GitLab's API."""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from workbench.ci.gitlab import upsert_issue, upsert_note
from workbench.ci.report import COMMENT_LIMIT, MARKER, render_report
from workbench.errors import InputError
from workbench.registry.decisions import Decision, Evidence
from workbench.registry.gates import GateResult


def _decision(gates: list[GateResult], drift: dict | None = None) -> Decision:
    evidence = Evidence(
        reason="retrained in CI", holdout="prod-2025-09@v1 (newest labelled data)",
        primary_metric="auc", challenger="churn-model@v3", champion="churn-model@v2",
        metrics={"challenger": {"auc": 0.81, "logloss": 0.44},
                 "champion": {"auc": 0.80, "logloss": 0.45}},
        gates=gates, drift=drift,
        training_data={"snapshot": "churn@v3", "batches": ["prod-2025-08@v1"]},
    )  # fmt: skip
    return Decision(7, "promote", "churn-model", 3, "champion", "pending", "retrained in CI",
                    evidence.passed, evidence, "ci", datetime(2025, 10, 1, 12, 0))  # fmt: skip


PASSING = [
    GateResult("contract", True, "training data satisfies churn@v2", {"violations": 0}),
    GateResult("performance", True, "auc 0.8100 vs champion 0.8000", {"delta": 0.01}),
]


def test_report_of_passing_gates():
    report = render_report(_decision(PASSING, {"share": 0.1, "drifted_columns": ["tenure"]}))
    text = report.markdown
    assert report.decision_id == 7 and report.passed and not report.cut
    assert "✅ gates passed" in text and "promote churn-model@v3 to champion" in text
    assert "| auc | 0.8000 | 0.8100 | +0.0100 |" in text
    assert "| ✅ pass | contract | training data satisfies churn@v2 |" in text
    assert text.count("<details>") == text.count("</details>") == 3  # two gates and drift
    assert MARKER not in text


def test_report_of_failing_gates_and_of_no_proposal():
    failing = [*PASSING, GateResult("segments:gender", False, "auc gap 0.2 > 0.1", {"gap": 0.2})]
    report = render_report(_decision(failing), marker=MARKER)
    assert report.markdown.startswith(MARKER) and report.passed is False
    assert "❌ gates failed (segments:gender)" in report.markdown
    assert "| ❌ **FAIL** | segments:gender |" in report.markdown
    empty = render_report(None, note="No proposal: the data did not validate.")
    assert empty.decision_id is None and "no promotion proposal" in empty.markdown
    assert "did not validate" in empty.markdown


def test_a_huge_report_is_cut_under_the_comment_limit():
    notes = [f"column c{i}: {'x' * 80} values outside the contract" for i in range(5000)]
    gates = [
        GateResult("contract", False, "5000 violations", {"violations": 5000}, notes),
        *[GateResult(f"segments:s{i}", True, "ok", {"rows": list(range(400))}) for i in range(30)],
    ]
    full = render_report(_decision(gates))
    assert len(full.markdown.encode()) > 10 * COMMENT_LIMIT and not full.cut
    cut = render_report(_decision(gates), max_bytes=COMMENT_LIMIT, marker=MARKER)
    size = len(cut.markdown.encode())
    assert cut.cut and COMMENT_LIMIT - 2000 < size <= COMMENT_LIMIT
    text = cut.markdown
    assert text.startswith(MARKER) and "| ❌ **FAIL** | contract |" in text
    assert text.count("<details>") == text.count("</details>") >= 1
    assert "more notes in the full report" in text
    assert "30 more sections left out" in text and "`workbench-report` artifact" in text
    for limit in (4096, 20_000, 100_000):
        assert len(render_report(_decision(gates), max_bytes=limit).markdown.encode()) <= limit
    with pytest.raises(InputError):
        render_report(_decision(gates), max_bytes=100)


def test_data_cannot_break_the_markup():
    evil = "</details><script>alert(1)</script> | cell ```` end"
    gates = [GateResult("contract", False, evil, {"note": "````"}, [evil])]
    text = render_report(_decision(gates)).markdown
    assert "<script>" not in text and "&lt;/details&gt;" in text
    assert text.count("<details>") == text.count("</details>") == 1
    assert "\\| cell" in text  # a table cell stays one cell
    assert re.search(r"^`{5}json$", text, re.MULTILINE)  # a fence longer than the data's


class _FakeGitLab(BaseHTTPRequestHandler):
    """Notes and issues in memory, with GitLab's paths, token header and pagination."""

    notes: dict[int, str] = {}
    issues: dict[int, dict] = {}
    seen_tokens: set[str] = set()

    def _send(self, code: int, data, next_page: str = "") -> None:
        body = json.dumps(data).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Next-Page", next_page)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> dict:
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def do_GET(self):
        self.seen_tokens.add(self.headers.get("PRIVATE-TOKEN", ""))
        if "/merge_requests/5/notes" in self.path:
            items = [{"id": k, "body": v} for k, v in sorted(self.notes.items())]
            page = int(re.search(r"page=(\d+)", self.path).group(1))
            # two pages: the marked note may sit on the second
            return self._send(200, items[:1] if page == 1 else items[1:], "2" if page == 1 else "")
        if "/issues" in self.path:
            return self._send(200, [{"iid": k, **v} for k, v in self.issues.items()])
        self._send(404, {"message": "404 Not Found"})

    def do_POST(self):
        data = self._body()
        if self.path.endswith("/merge_requests/5/notes"):
            self.notes[len(self.notes) + 1] = data["body"]
        else:
            self.issues[len(self.issues) + 1] = {"description": data["description"],
                                                 "title": data["title"]}  # fmt: skip
        self._send(201, {})

    def do_PUT(self):
        data = self._body()
        number = int(self.path.rsplit("/", 1)[1])
        if "/notes/" in self.path:
            self.notes[number] = data["body"]
        else:
            self.issues[number]["description"] = data["description"]
        self._send(200, {})

    def log_message(self, *args):
        pass


@pytest.fixture
def gitlab():
    _FakeGitLab.notes = {1: "a reviewer's note"}
    _FakeGitLab.issues = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeGitLab)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {
        "CI_API_V4_URL": f"http://127.0.0.1:{server.server_address[1]}/api/v4",
        "CI_PROJECT_ID": "group/project",
        "CI_MERGE_REQUEST_IID": "5",
        "WORKBENCH_GITLAB_TOKEN": "glpat-secret",
    }
    server.shutdown()


def test_gitlab_note_is_created_then_updated(gitlab):
    assert upsert_note("first report", gitlab) == "created"
    assert upsert_note("second report", gitlab) == "updated"
    assert _FakeGitLab.notes[1] == "a reviewer's note"  # never touched
    assert _FakeGitLab.notes[2] == f"{MARKER}\nsecond report" and len(_FakeGitLab.notes) == 2
    assert _FakeGitLab.seen_tokens == {"glpat-secret"}


def test_gitlab_issue_is_created_then_updated(gitlab):
    assert upsert_issue("alerts: 1", "workbench alert for m", gitlab) == "created"
    assert upsert_issue("alerts: 2", "workbench alert for m", gitlab) == "updated"
    assert len(_FakeGitLab.issues) == 1 and "alerts: 2" in _FakeGitLab.issues[1]["description"]


def test_gitlab_helpers_outside_a_job(gitlab):
    with pytest.raises(InputError, match="CI_MERGE_REQUEST_IID"):
        upsert_note("x", {k: v for k, v in gitlab.items() if k != "CI_MERGE_REQUEST_IID"})
    from workbench.errors import Unreachable, WorkbenchError

    with pytest.raises(Unreachable, match="cannot reach GitLab"):
        upsert_issue("x", "t", {**gitlab, "CI_API_V4_URL": "http://127.0.0.1:9/api/v4"})
    with pytest.raises(WorkbenchError, match="GitLab answered 404"):
        upsert_note("x", {**gitlab, "CI_MERGE_REQUEST_IID": "6"})
