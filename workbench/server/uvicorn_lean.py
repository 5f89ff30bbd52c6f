"""uvicorn's ``Config`` and ``Server`` without its command line (and so without click).

``uvicorn/__init__.py`` imports ``uvicorn.main``, its click command line, and every submodule
import runs that ``__init__`` first: a scoring process would load click, a UI library the
import contracts keep out of it (and ~20 ms). The server uses only ``uvicorn.config.Config``
and ``uvicorn.server.Server``, which do not need ``uvicorn.main``; so, when uvicorn is not
imported yet, the package is entered here as a bare package object (its real search path and
spec, no ``__init__`` run) carrying the two names uvicorn's own modules take from it
(``from uvicorn import Config`` in ``uvicorn.lifespan``).

If uvicorn's layout changes so that this no longer works, ``import uvicorn`` runs as usual
(click loads) and ``tests/serving/test_server_process.py`` fails on the import check, rather
than the server failing.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any

__all__ = ["load_uvicorn"]


def load_uvicorn() -> tuple[Any, Any]:
    """``(Config, Server)`` of uvicorn, without importing its command line when possible."""
    if "uvicorn" not in sys.modules:
        try:
            return _load_bare()
        except Exception:  # a uvicorn laid out differently: import it as usual
            for name in [n for n in sys.modules if n == "uvicorn" or n.startswith("uvicorn.")]:
                del sys.modules[name]
    from uvicorn.config import Config
    from uvicorn.server import Server

    return Config, Server


def _load_bare() -> tuple[Any, Any]:
    spec = importlib.util.find_spec("uvicorn")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("uvicorn is not installed")
    package = types.ModuleType("uvicorn")
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    package.__file__ = spec.origin
    package.__package__ = "uvicorn"
    sys.modules["uvicorn"] = package
    from uvicorn.config import Config

    package.Config = Config  # type: ignore[attr-defined]
    from uvicorn.server import Server

    package.Server = Server  # type: ignore[attr-defined]
    from uvicorn._version import __version__

    package.__version__ = __version__  # type: ignore[attr-defined]
    return Config, Server
