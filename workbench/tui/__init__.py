"""The Textual terminal UI: ``workbench ui``.

Only this package imports ``textual``. Widgets never touch the store: slow work runs in thread
workers that call ``workbench.api.Workspace`` and finish by posting a message; each screen's
handlers own that screen's UI state.
"""
