"""The HTTP scoring server (``workbench serve``): a face on the facade.

``create_app`` (Starlette, ``app``) translates HTTP to the serving session the facade opens
(``Workspace.serving_session``); ``run`` runs it with uvicorn in one process or several;
``python -m workbench.server`` is the process ``workbench serve`` becomes. Built only on
``workbench.api``, Starlette, uvicorn and prometheus_client: no click, rich or MLflow here.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "create_app": "app",
    "ServerConfig": "config",
    "ServerMetrics": "metrics",
    "serve": "run",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(_EXPORTS)
