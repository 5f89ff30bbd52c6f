"""The drift part of the ``Workspace`` facade (mixed into ``workbench.api.Workspace``).

Methods here use ``self.store``, ``self.objects``, ``self.settings`` and ``self.snapshot(ref)``,
``self.scan(ref)`` of the facade.
"""

from __future__ import annotations

__all__ = ["DriftMixin"]


class DriftMixin:
    """Drift reports between snapshots, batches and time windows."""
