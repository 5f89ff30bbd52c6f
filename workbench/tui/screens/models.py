"""The Models area: model versions with aliases and key metric; history, lineage and card.

Workers call the Workspace in a thread and post one message; the handlers below own the
screen's state (the rows, the highlighted version, the loaded token). Rolling back goes
through the shared confirmation flow (``widgets.registry_actions``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Markdown, Static, TabbedContent, TabPane, Tree
from textual.worker import get_current_worker

from ...errors import InputError
from ..palette import command_provider
from ..widgets.registry_actions import RegistryActions, error_text
from ..widgets.registry_views import (
    VERSION_COLUMNS,
    VersionRow,
    alias_history_table,
    fill_lineage,
    version_row,
)
from .base import AreaScreen

if TYPE_CHECKING:
    from ...api import AliasMove, RollbackPlan, Workspace
    from ...presentation import LineageNode

#: seconds between looks at the running servers' status files
SERVING_POLL = 2.0

__all__ = ["ModelsScreen", "MODELS_COMMANDS"]

MODELS_COMMANDS = (
    ("Roll back champion", "Move the highlighted model's champion back to its previous holder",
     "rollback"),
    ("Refresh models", "Reload model versions from the workspace", "refresh"),
    ("Show alias history", "Which version held which alias when", "show_tab('models-history')"),
    ("Show lineage", "Model <- run <- snapshot <- parents <- files", "show_tab('models-lineage')"),
    ("Show model card", "The highlighted version's model card", "show_tab('models-card')"),
)  # fmt: skip
"""(title, help, action) of the Models screen's command-palette entries."""


class VersionsLoaded(Message):
    """The model versions were read (rows newest first per model)."""

    def __init__(self, rows: list[VersionRow], token: int) -> None:
        super().__init__()
        self.rows = rows
        self.token = token


class VersionDetailLoaded(Message):
    """A version's model's alias history, the version's lineage and where a rollback of the
    model's champion would go (None: nowhere) were read."""

    def __init__(
        self,
        ref: str,
        history: list[AliasMove],
        lineage: LineageNode,
        rollback: RollbackPlan | None = None,
    ) -> None:
        super().__init__()
        self.ref, self.history, self.lineage, self.rollback = ref, history, lineage, rollback


class CardLoaded(Message):
    """A version's model card (Markdown) was made."""

    def __init__(self, ref: str, markdown: str, token: int | None = None) -> None:
        super().__init__()
        self.ref, self.markdown, self.token = ref, markdown, token


class ServingLoaded(Message):
    """The scoring servers running on the workspace were read (their status files)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines


class ModelsFailed(Message):
    """Reading from the registry failed; ``what`` was being loaded."""

    def __init__(self, what: str, error: str) -> None:
        super().__init__()
        self.what, self.error = what, error


class ModelsScreen(RegistryActions, AreaScreen):
    """Registered model versions: aliases, alias history, lineage and model cards."""

    AREA_TITLE = "Models"
    CSS_PATH = ["registry.tcss", "models.tcss"]
    COMMANDS = {command_provider(MODELS_COMMANDS)}
    HELP = """\
## Models

Every registered model version (`churn-model@v3`) with the aliases it holds now
(`champion`, `challenger`, ...), the run and snapshot it came from and its key holdout metric.

For the highlighted version:

- **Alias history**: every move of the model's aliases, newest first: when, from which version
  to which, by whom, why, and the decision that made it. Moves touching the highlighted
  version are bold. It answers "which model served on date X".
- **Lineage**: the version <- its run <- the training snapshot <- parent snapshots and batches
  <- source files, with short content hashes.
- **Model card**: intended use, data lineage, parameters, holdout and segment metrics, gates,
  decisions and approvals.

Under the versions, **Serving now** lists each running scoring server (`workbench serve`):
its address, which versions answer in which roles (champion, shadow, canary) since when, and
its request rate. It shows only while a server runs.

Press **b** to roll the champion back to its previous holder (approvers act at once and it is
recorded as a decision; developers file a rollback proposal; viewers are refused).
Promotions are proposed from the CLI (`workbench models promote`) and decided in Decisions (7).
"""
    BINDINGS = [
        Binding("r", "refresh", "Refresh", id="models.refresh",
                tooltip="Reload model versions from the workspace"),
        Binding("b", "rollback", "Roll back", id="models.rollback",
                tooltip="Move the champion of the highlighted model back to its previous holder"),
        Binding("h", "show_tab('models-history')", "History", id="models.history",
                tooltip="Show the alias history of the highlighted model"),
        Binding("l", "show_tab('models-lineage')", "Lineage", id="models.lineage",
                tooltip="Show the lineage tree of the highlighted version"),
        Binding("c", "show_tab('models-card')", "Card", id="models.card",
                tooltip="Show the model card of the highlighted version"),
    ]  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[VersionRow] = []
        self.loaded_token: int | None = None
        self.highlighted_ref: str | None = None
        self.history: list[AliasMove] = []
        self.rollback_target: RollbackPlan | None = None
        """The highlighted version's model's alias moves, oldest first."""
        self.detail_ref: str | None = None
        """The version the history and lineage panes show."""
        self.card_ref: str | None = None
        self._cards: dict[str, tuple[int, str]] = {}
        """Cards made, by version: (the workspace change token they were made at, Markdown).
        A card scores the run's holdout per segment, so moving the cursor back over a version
        reuses it until anything in the workspace changes."""

    def compose_body(self) -> ComposeResult:
        with Vertical(id="models-pane", classes="pane") as pane:
            pane.border_title = "Model versions"
            yield DataTable(id="models-table", cursor_type="row")
            yield Static("Loading the workspace…", id="models-empty")
            yield Static("", id="models-serving")
        with TabbedContent(id="models-tabs"):
            with TabPane("Alias history", id="models-history"), VerticalScroll():
                yield Static("", id="models-history-table")
            with TabPane("Lineage", id="models-lineage"):
                yield Tree("lineage", id="models-lineage-tree")
            with TabPane("Model card", id="models-card"), VerticalScroll(id="models-card-scroll"):
                yield Markdown("", id="models-card-text")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#models-table", DataTable)
        table.add_columns(*VERSION_COLUMNS)
        table.display = False
        self.query_one("#models-serving", Static).display = False
        self.follow_workspace()
        # status files change without a workspace change: polled
        self.set_interval(SERVING_POLL, self._poll_serving)

    def highlighted(self) -> VersionRow | None:
        """The row of the highlighted version."""
        return next((r for r in self.rows if r.ref == self.highlighted_ref), None)

    # -- workers -----------------------------------------------------------------------------

    def reload(self) -> None:
        """Reload the versions table (keeps the cursor on the same version)."""
        if self.workspace is not None:
            self.load_versions(self.workspace, self.workbench.change_token)

    @work(thread=True, exclusive=True, exit_on_error=False, group="model-versions",
          description="loading model versions")  # fmt: skip
    def load_versions(self, ws: Workspace, token: int) -> None:
        try:
            versions = ws.models()
            metrics = {mv.run_id: ws.run(mv.run_id).metrics for mv in versions}
            rows = [version_row(mv, metrics[mv.run_id]) for mv in versions]
        except Exception as exc:  # WorkbenchError or a bug: shown, never raised
            self.post_message(ModelsFailed("model versions", error_text(exc)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(VersionsLoaded(rows, token))

    @work(thread=True, exclusive=True, exit_on_error=False, group="model-detail",
          description="loading the version's history and lineage")  # fmt: skip
    def load_detail(self, ws: Workspace, ref: str, name: str) -> None:
        try:
            history, lineage = ws.alias_history(name), ws.lineage(ref)
            try:
                rollback: RollbackPlan | None = ws.rollback_plan(name)
            except InputError:  # no champion, or the first one: nowhere to roll back to
                rollback = None
        except Exception as exc:
            self.post_message(ModelsFailed(f"{ref}'s history and lineage", error_text(exc)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(VersionDetailLoaded(ref, history, lineage, rollback))

    @work(thread=True, exclusive=True, exit_on_error=False, group="model-card",
          description="making the model card")  # fmt: skip
    def load_card(self, ws: Workspace, ref: str, token: int) -> None:
        try:
            markdown = ws.model_card(ref)
        except Exception as exc:
            self.post_message(ModelsFailed(f"{ref}'s model card", error_text(exc)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(CardLoaded(ref, markdown, token))

    def _poll_serving(self) -> None:
        if self.workspace is not None:
            self.load_serving(self.workspace)

    @work(thread=True, exclusive=True, exit_on_error=False, group="model-serving",
          description="reading which servers serve")  # fmt: skip
    def load_serving(self, ws: Workspace) -> None:
        try:
            lines = [status.summary() for status in ws.serving_status()]
        except Exception:  # a status file being replaced: the next poll reads it
            return
        if not get_current_worker().is_cancelled:
            self.post_message(ServingLoaded(lines))

    # -- handlers ----------------------------------------------------------------------------

    @on(ServingLoaded)
    def _serving_loaded(self, event: ServingLoaded) -> None:
        panel = self.query_one("#models-serving", Static)
        panel.display = bool(event.lines)
        panel.update("\n".join(["Serving now:", *event.lines]) if event.lines else "")

    @on(VersionsLoaded)
    def _versions_loaded(self, event: VersionsLoaded) -> None:
        self.rows = event.rows
        self.loaded_token = event.token
        table = self.query_one("#models-table", DataTable)
        table.clear()
        for row in event.rows:
            table.add_row(*row.cells, key=row.ref)
        table.display = bool(event.rows)
        empty = self.query_one("#models-empty", Static)
        empty.display = not event.rows
        empty.update("No model versions yet. Register a run's model from the CLI: "
                     "workbench models register RUN --name NAME")  # fmt: skip
        self.query_one("#models-pane").border_title = f"Model versions ({len(event.rows)})"
        refs = [r.ref for r in event.rows]
        if not refs:
            self.highlighted_ref = None
            return
        index = refs.index(self.highlighted_ref) if self.highlighted_ref in refs else 0
        table.move_cursor(row=index)
        if not self.focused or self.focused is table:
            table.focus()
        # a reload can change history and card even when the cursor stays put
        self._show_version(refs[index], force=True)

    @on(DataTable.RowHighlighted, "#models-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self._show_version(event.row_key.value)

    def _show_version(self, ref: str, force: bool = False) -> None:
        if ref == self.highlighted_ref and not force:
            return
        self.highlighted_ref = ref
        row = self.highlighted()
        if row is None or self.workspace is None:
            return
        self.load_detail(self.workspace, ref, row.name)
        token = self.workbench.change_token
        made = self._cards.get(ref)
        if made is not None and made[0] == token:
            self.post_message(CardLoaded(ref, made[1]))
        else:
            self.load_card(self.workspace, ref, token)

    @on(VersionDetailLoaded)
    def _detail_loaded(self, event: VersionDetailLoaded) -> None:
        if event.ref != self.highlighted_ref:
            return
        self.detail_ref = event.ref
        self.history = event.history
        self.rollback_target = event.rollback
        version = int(event.ref.rpartition("@v")[2])
        history = self.query_one("#models-history-table", Static)
        if event.history:
            history.update(alias_history_table(event.history, highlight=version))
        else:
            history.update("No alias has pointed at any version of this model yet.")
        fill_lineage(self.query_one("#models-lineage-tree", Tree), event.lineage)

    @on(CardLoaded)
    async def _card_loaded(self, event: CardLoaded) -> None:
        if event.token is not None:
            self._cards[event.ref] = (event.token, event.markdown)
        if event.ref == self.highlighted_ref:
            self.card_ref = event.ref
            await self.query_one("#models-card-text", Markdown).update(event.markdown)

    @on(ModelsFailed)
    def _failed(self, event: ModelsFailed) -> None:
        self.notify(event.error, title=f"Could not load {event.what}", severity="error",
                    timeout=10)  # fmt: skip

    # -- actions -----------------------------------------------------------------------------

    def action_refresh(self) -> None:
        """Reload the model versions now."""
        self.reload()

    def action_show_tab(self, tab: str) -> None:
        """Show one of the detail tabs."""
        self.query_one("#models-tabs", TabbedContent).active = tab

    def action_rollback(self) -> None:
        """Confirm and roll back the highlighted model's champion."""
        row, ws = self.highlighted(), self.workspace
        if row is None or ws is None:
            self.notify("No model version is highlighted.", severity="warning")
            return
        self.ask_rollback(ws, row.name, self._rollback_summary(row.name))

    def _rollback_summary(self, name: str) -> str:
        plan = self.rollback_target
        if plan is None or plan.name != name:
            return f"Move [b]champion[/b] of {name} back to its previous holder."
        return (f"Move [b]champion[/b] of {name} from [b]v{plan.current}[/b] "
                f"back to [b]v{plan.target}[/b].")  # fmt: skip
