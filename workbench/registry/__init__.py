"""Model registry and decisions: versions, aliases with history, gates, proposals, roles.

The ``Workspace`` facade (``registry.facade.RegistryMixin``) is the way in; these are the
records it returns. Exports load lazily (PEP 562) so importing the facade stays cheap.

Modules: ``models`` (versions, refs), ``aliases`` (moves and history), ``roles``, ``gates`` and
``evaluation`` (gate logic and scoring), ``evidence`` (holdout choice, gathering gate inputs),
``decisions`` (proposals), ``retrain`` (the training-data rule), ``lineage``, ``cards``,
``mlflow_registry`` (the MLflow mirror).
"""

from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "AliasMove": "aliases",
    "Decision": "decisions",
    "Evidence": "decisions",
    "GateResult": "gates",
    "LineageNode": "lineage",
    "ModelVersion": "models",
    "ROLES": "roles",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(name)


__all__ = sorted(_EXPORTS)
