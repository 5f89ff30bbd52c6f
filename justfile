# Shortcuts for developers. A fresh machine needs none of this: see README.md.

venv := ".venv"
py := venv + "/bin/python"

# Create the virtual environment with every extra.
setup:
    python3 -m venv {{venv}}
    {{py}} -m pip install -q --upgrade pip
    {{py}} -m pip install -q -e ".[dev]"

# Create the demo workspace and open the terminal UI on it.
demo path="workbench-demo":
    {{venv}}/bin/workbench demo {{path}}

# The whole test suite (what CI runs). One tier: `just test -m cli` (unit, cli, tui, notebook).
test *args:
    {{py}} -m pytest -n 2 {{args}}

# The fast tier: the core's unit tests without the slow ones (25-32 s on two cores when nothing
# else runs).
test-fast *args:
    {{py}} -m pytest -n 2 -m "unit and not slow" {{args}}

# Lint, format check, import-layer contracts and types.
lint:
    {{venv}}/bin/ruff check workbench tests benchmarks notebooks
    {{venv}}/bin/ruff format --check workbench tests benchmarks
    {{venv}}/bin/lint-imports
    {{venv}}/bin/mypy
    {{venv}}/bin/nbstripout --verify notebooks/*.ipynb

# Benchmarks against the anchor tools (slow; prints ratios).
bench:
    {{py}} benchmarks/bench_data_add.py
    {{py}} benchmarks/bench_tui_start.py
    {{py}} benchmarks/bench_drift.py
    {{py}} benchmarks/bench_runs_query.py
    {{py}} benchmarks/bench_train.py
