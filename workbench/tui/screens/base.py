"""Base screens every area builds on: header, body, footer; placeholders for areas to come."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Static
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from ...api import Workspace
    from ..app import WorkbenchApp

__all__ = ["AreaScreen", "PlaceholderScreen", "ScreenMixin"]


class AreaScreen(Screen[None]):
    """The base screen of one area (the bottom of that mode's stack)."""

    AREA_TITLE: ClassVar[str] = ""
    HELP: ClassVar[str] = ""
    """Markdown shown by the help screen (``?``) for this screen."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        """The area's own widgets."""
        yield from ()

    _select_on_load: int | None = None
    """A row (by id) the next table reload must land on; cursor echoes wait until then."""

    loaded_token: int | None = None
    """The workspace's change token when what the screen shows was read (None: not yet)."""

    def on_mount(self) -> None:
        self.title = self.AREA_TITLE

    # -- the app and its workspace -----------------------------------------------------------

    @property
    def workbench(self) -> WorkbenchApp:
        """The app, typed: every area screen runs in ``WorkbenchApp`` (``self.app`` is only
        an ``App`` to the type checker)."""
        return cast("WorkbenchApp", self.app)

    @property
    def workspace(self) -> Workspace | None:
        """The open workspace (None while it loads)."""
        return self.workbench.workspace

    def reload(self) -> None:
        """Read what the screen shows again (screens that follow the workspace override)."""

    def follow_workspace(self) -> None:
        """Reload when the workspace is ready, and again whenever any process changes it."""
        app = self.workbench
        app.workspace_ready.subscribe(self, lambda _ws: self.reload())
        app.workspace_changed.subscribe(self, self._workspace_changed)
        if app.workspace is not None:
            self.reload()

    def on_screen_resume(self) -> None:
        # A change made while another area was showing.
        if self.loaded_token is not None and self.workbench.change_token != self.loaded_token:
            self.reload()

    def _workspace_changed(self, token: int) -> None:
        if token != self.loaded_token:
            self.reload()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        # Worker state messages do not bubble: without this a screen's failed worker would
        # vanish silently. Workers catch WorkbenchError themselves; anything here is a bug,
        # shown as a notification while the app keeps running.
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self._select_on_load = None  # the reload it waited for will not come
            what = event.worker.description or event.worker.name
            self.app.notify(
                str(event.worker.error), title=f"Failed: {what}", severity="error", timeout=10
            )


class PlaceholderScreen(AreaScreen):
    """An area a later feature will build; says what will appear here."""

    CSS_PATH = "placeholder.tcss"
    COMING: ClassVar[str] = ""
    """One or two sentences on what this area will show."""

    def compose_body(self) -> ComposeResult:
        with Vertical(classes="placeholder"):
            yield Static(f"[b]{self.AREA_TITLE}[/b]", classes="placeholder-title")
            yield Static(self.COMING, classes="placeholder-text")
            yield Static("Not built yet. Press 1 for Data, ? for help.", classes="placeholder-hint")


if TYPE_CHECKING:
    ScreenMixin = AreaScreen
else:
    ScreenMixin = object
"""Base of a class mixed into an ``AreaScreen`` (its workers, shared actions): the screen to
the type checker, so ``self.post_message`` and ``self.workbench`` check; ``object`` at run
time."""
