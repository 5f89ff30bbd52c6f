"""The Experiments area: the runs table (filter, sort, marks), the launch form and live training.

``screen`` holds the screen (its state, handlers and actions), ``workers`` the thread workers
that call the Workspace (training included), ``messages`` what they post, ``commands`` the
palette entries.
"""

from .commands import EXPERIMENT_COMMANDS
from .messages import (
    LaunchReady,
    RunDetailLoaded,
    RunsLoaded,
    RunsRejected,
    TrainingEnded,
    TrainingIterations,
    TrainingPhase,
)
from .screen import DEFAULT_SORT, ExperimentsScreen
from .workers import UPDATES_PER_SECOND

__all__ = [
    "ExperimentsScreen", "EXPERIMENT_COMMANDS", "DEFAULT_SORT", "UPDATES_PER_SECOND",
    "RunsLoaded", "RunsRejected", "RunDetailLoaded", "LaunchReady", "TrainingPhase",
    "TrainingIterations", "TrainingEnded",
]  # fmt: skip
