"""One module per area (``data``, ``experiments``, ...) plus shared screens (help, import, diff)."""
