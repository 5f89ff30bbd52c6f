"""``python -m workbench``: the command line, as the ``workbench`` script runs it."""

from workbench.cli.main import entry

entry()
