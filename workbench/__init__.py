"""The MLOps workbench: one core library behind a TUI, a CLI and notebooks.

Open a workspace with ``workbench.Workspace.open(path)``; exports are lazy so importing the
package stays cheap.
"""

from __future__ import annotations

from ._lazy import lazy_exports

__version__ = "0.1.0"
__all__ = ["Workspace", "__version__"]


__getattr__ = lazy_exports(__name__, {"Workspace": "api"})
