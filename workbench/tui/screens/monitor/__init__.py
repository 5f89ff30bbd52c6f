"""The Monitor area: windows of the prediction log as a timeline, open alerts, the shadow and
canary verdicts, and a key that files a retraining proposal.

``screen`` holds the screen (state, handlers, drawing, actions), ``workers`` the thread workers
that call the Workspace, ``messages`` what they post, ``detail`` the window detail (its drift
view).
"""

from .screen import MONITOR_COMMANDS, MonitorScreen

__all__ = ["MonitorScreen", "MONITOR_COMMANDS"]
