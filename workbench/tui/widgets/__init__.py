"""Widgets of the workbench UI. Modules that import Polars or textual-fastdatatable are imported
only after the workspace has loaded (never at app start-up)."""
