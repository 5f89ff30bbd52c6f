"""Import LightGBM, without scikit-learn in the workbench's own processes.

``import lightgbm`` imports scikit-learn when it is installed (for its ``LGBMModel``
wrappers), and scikit-learn imports SciPy's statistics: 0.7-1.1 s of the 1.0-1.8 s the import
took here (lean: 0.3-0.6 s), paid by every ``workbench train``, ``runs rerun``, ``retrain``
and every sweep worker process. The workbench uses only ``lightgbm.train``, ``Dataset`` and
``Booster``.

So processes that run no user code (CLI commands other than those opening the terminal UI,
and sweep workers) call :func:`enable_lean_import` first, and their first import of LightGBM then sees
scikit-learn as absent (LightGBM checks with ``try: import sklearn``). scikit-learn stays
importable afterwards; only ``lightgbm.sklearn``'s estimators refuse to work in that
process. In notebooks and any other caller's process LightGBM is imported as usual. Not in
the terminal UI: a worker thread importing scikit-learn (Evidently does) during that import
would fail.
"""

from __future__ import annotations

import sys
import threading
from types import ModuleType

__all__ = ["enable_lean_import", "import_lightgbm"]

_lean = False
_lock = threading.Lock()


def enable_lean_import() -> None:
    """Import LightGBM without scikit-learn in this process (call before the first import)."""
    global _lean
    _lean = True


def import_lightgbm() -> ModuleType:
    """The ``lightgbm`` module; in a lean process its first import skips scikit-learn."""
    module = sys.modules.get("lightgbm")
    if module is not None:
        return module
    with _lock:
        if _lean and "lightgbm" not in sys.modules and "sklearn" not in sys.modules:
            sys.modules["sklearn"] = None  # type: ignore[assignment]  # "not installed"
            try:
                import lightgbm

                return lightgbm
            except ImportError:  # a LightGBM that needs scikit-learn: import it as usual
                for name in [n for n in sys.modules if n.partition(".")[0] == "lightgbm"]:
                    del sys.modules[name]
            finally:
                if sys.modules.get("sklearn", 0) is None:
                    del sys.modules["sklearn"]
        import lightgbm

        return lightgbm
