"""The experiments part of the ``Workspace`` facade (mixed into ``workbench.api.Workspace``).

Methods here use ``self.store``, ``self.objects``, ``self.root``, ``self.dir``, ``self.actor``,
``self.settings`` and ``self.snapshot(ref)`` / ``self.load(ref)`` of the facade.
"""

from __future__ import annotations

__all__ = ["ExperimentsMixin"]


class ExperimentsMixin:
    """Training runs, queries and comparisons."""
