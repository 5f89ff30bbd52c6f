"""One merge-request note and one alert issue on GitLab, kept up to date by a marker.

GitHub's workflows do this with ``actions/github-script``; GitLab has no such step, so
``workbench ci gitlab-note`` and ``gitlab-issue`` call its REST API (v4) with the standard
library. They read the job's own variables (``CI_API_V4_URL``, ``CI_PROJECT_ID``,
``CI_MERGE_REQUEST_IID``) and a token with the ``api`` scope from ``WORKBENCH_GITLAB_TOKEN``
(``CI_JOB_TOKEN`` cannot write notes); the token is sent as ``PRIVATE-TOKEN`` and never shown.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from ..errors import InputError, Unreachable, WorkbenchError

__all__ = ["upsert_note", "upsert_issue", "NOTE_MARKER", "ISSUE_MARKER", "ALERT_LABEL"]

NOTE_MARKER = "<!-- workbench-ci-report -->"
ISSUE_MARKER = "<!-- workbench-monitor-alert -->"
ALERT_LABEL = "workbench-alert"
_TOKEN = "WORKBENCH_GITLAB_TOKEN"


class _Api:
    def __init__(self, env: Mapping[str, str], *needed: str) -> None:
        names = ("CI_API_V4_URL", "CI_PROJECT_ID", _TOKEN, *needed)
        missing = [n for n in names if not env.get(n)]
        if missing:
            raise InputError(
                f"not set: {', '.join(missing)}",
                hint="run inside a GitLab job; WORKBENCH_GITLAB_TOKEN is a project access "
                "token with the api scope",
            )
        self.base = env["CI_API_V4_URL"].rstrip("/")
        self.project = urllib.parse.quote(env["CI_PROJECT_ID"], safe="")
        self.token = env[_TOKEN]
        self.env = env
        self.next_page = ""

    def call(self, method: str, path: str, data: dict[str, Any] | None = None) -> Any:
        url = f"{self.base}/projects/{self.project}/{path}"
        body = json.dumps(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=body, method=method)
        request.add_header("PRIVATE-TOKEN", self.token)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                payload = answer.read()
                self.next_page = answer.headers.get("X-Next-Page") or ""
        except urllib.error.HTTPError as exc:
            raise WorkbenchError(
                f"GitLab answered {exc.code} {exc.reason} to {method} {path.split('?')[0]}"
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Unreachable(f"cannot reach GitLab at {self.base}: {reason}") from None
        return json.loads(payload) if payload else None

    def all(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        page = "1"
        while page:
            sep = "&" if "?" in path else "?"
            items += self.call("GET", f"{path}{sep}per_page=100&page={page}") or []
            page = self.next_page
        return items


def _marked(body: str, marker: str) -> str:
    return body if marker in body else f"{marker}\n{body}"


def upsert_note(body: str, env: Mapping[str, str] | None = None) -> str:
    """Create or update the merge request's note holding the report marker: "created" or
    "updated"."""
    api = _Api(env if env is not None else os.environ, "CI_MERGE_REQUEST_IID")
    path = f"merge_requests/{api.env['CI_MERGE_REQUEST_IID']}/notes"
    text = _marked(body, NOTE_MARKER)
    mine = next((n for n in api.all(path) if NOTE_MARKER in (n.get("body") or "")), None)
    if mine:
        api.call("PUT", f"{path}/{mine['id']}", {"body": text})
        return "updated"
    api.call("POST", path, {"body": text})
    return "created"


def upsert_issue(body: str, title: str, env: Mapping[str, str] | None = None) -> str:
    """Create or update the open alert issue (label ``workbench-alert``, marked): "created" or
    "updated"."""
    api = _Api(env if env is not None else os.environ)
    text = _marked(body, ISSUE_MARKER)
    issues = api.all(f"issues?state=opened&labels={ALERT_LABEL}")
    mine = next((i for i in issues if ISSUE_MARKER in (i.get("description") or "")), None)
    if mine:
        api.call("PUT", f"issues/{mine['iid']}", {"description": text})
        return "updated"
    api.call("POST", "issues", {"title": title, "description": text, "labels": ALERT_LABEL})
    return "created"
