"""The workspace side of CI: which proposal a job filed, its report, and defaults for
``workbench ci init``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import audit
from ..errors import WorkbenchError
from .report import ARTIFACT, COMMENT_LIMIT, MARKER, CiReport, render_report

if TYPE_CHECKING:
    from ..context import Context
    from ..registry.decisions import Decision
    from ..registry.service import RegistryService
    from ..remote.service import RemoteService

__all__ = ["CiService", "CiDefaults"]


class CiDefaults:
    """What ``ci init`` can take from an existing workspace."""

    def __init__(self, model: str | None, training_data: str | None) -> None:
        self.model = model
        self.training_data = training_data


class CiService:
    """Reports of proposals for pull requests, step summaries and artifacts."""

    def __init__(self, ctx: Context, registry: RegistryService, remote: RemoteService) -> None:
        self.ctx = ctx
        self.registry = registry
        self.remote = remote

    def filed_since_pull(self) -> list[int]:
        """Ids of the proposals filed in this workspace since its newest pull, oldest first
        (every proposal when it was never pulled)."""
        since = self.remote.last_pull_seq() or 0
        with self.ctx.store.read() as con:
            entries = audit.entries(con)
        ids = []
        for entry in entries:
            if entry.seq > since and entry.action == "proposal.filed" and entry.subject:
                number = entry.subject.removeprefix("decision ").strip()
                if number.isdigit():
                    ids.append(int(number))
        return ids

    def _choose(self, decision: int | str | None) -> tuple[Decision | None, str | None]:
        if decision is not None:
            return self.registry.decision(decision), None
        for number in reversed(self.filed_since_pull()):
            found = self.registry.decision(number)
            if found.kind == "promote":
                return found, None
        pulled = self.remote.last_pull_seq() is not None
        where = "since this workspace was pulled" if pulled else "in this workspace"
        return None, (
            f"No promotion proposal was filed {where}: the data did not validate, retraining "
            "failed or found no new labelled data. See the job's log."
        )

    def report(
        self,
        decision: int | str | None = None,
        *,
        max_bytes: int | None = None,
        marker: str | None = None,
        artifact: str = ARTIFACT,
    ) -> CiReport:
        """The Markdown report of a proposal (default: the newest promotion proposal filed
        since the newest pull), cut to ``max_bytes`` with ``<details>`` blocks."""
        chosen, note = self._choose(decision)
        return render_report(
            chosen, max_bytes=max_bytes, marker=marker, note=note, artifact=artifact
        )

    def comment_body(self, decision: int | str | None = None) -> CiReport:
        """The report as a pull-request comment: the marker the workflow finds it by, and
        GitHub's size limit."""
        return self.report(decision, max_bytes=COMMENT_LIMIT, marker=MARKER)

    def defaults(self) -> CiDefaults:
        """The model (when only one is registered) and its champion's training data name."""
        names = self.registry.names()
        if len(names) != 1:
            return CiDefaults(None, None)
        try:
            champion = self.registry.get(f"{names[0]}@champion")
        except WorkbenchError:
            return CiDefaults(names[0], None)
        training = champion.snapshot_ref.partition("@")[0] if champion.snapshot_ref else None
        return CiDefaults(names[0], training)
