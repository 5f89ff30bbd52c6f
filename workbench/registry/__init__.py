"""Model registry and decisions: versions, aliases with history, gates, proposals, roles.

The ``Workspace`` facade (``registry.facade.RegistryMixin``) is the way in; these are the
records it returns. Exports load lazily (PEP 562) so importing the facade stays cheap.

Modules: ``models`` (versions, refs), ``aliases`` (moves and history), ``roles``, ``gates`` and
``evaluation`` (gate logic and scoring), ``evidence`` (holdout choice, gathering gate inputs),
``decisions`` (proposals), ``retrain`` (the training-data rule), ``lineage``, ``cards``,
``mlflow_registry`` (the MLflow mirror).
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "AliasMove": "aliases",
    "Decision": "decisions",
    "Evidence": "decisions",
    "GateResult": "gates",
    "LineageNode": "lineage",
    "ModelVersion": "models",
    "ROLES": "roles",
}


__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = sorted(_EXPORTS)
