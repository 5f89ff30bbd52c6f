"""The Drift area: compare a reference snapshot with a current one, column by column.

``screen`` holds the screen (its state, handlers, drawing and actions), ``workers`` the thread
workers that call the Workspace, ``messages`` what they post, ``commands`` the palette entries.
"""

from .commands import DRIFT_COMMANDS
from .screen import DriftScreen, export_path

__all__ = ["DriftScreen", "DRIFT_COMMANDS", "export_path"]
