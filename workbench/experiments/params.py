"""LightGBM parameters: our defaults, alias normalisation, validation with readable errors.

User parameters may use any LightGBM alias (``n_estimators``, ``num_boost_round``, ``eta``...);
they are renamed to LightGBM's main name before merging over the defaults, so a user's
``n_estimators=100`` replaces our ``num_iterations=500`` instead of conflicting with it.
"""

from __future__ import annotations

import difflib
import re
from functools import cache
from typing import Any

from ..errors import InputError

__all__ = [
    "DEFAULT_PARAMS",
    "merge_params",
    "requested_params",
    "check_objective",
    "validate_params",
    "lightgbm_error_message",
]

#: Our defaults, under LightGBM's main parameter names.
DEFAULT_PARAMS: dict[str, Any] = {
    "learning_rate": 0.05,
    "num_leaves": 31,
    "num_iterations": 500,
    "early_stopping_round": 50,
    "deterministic": True,
    # LightGBM picks row- or column-wise histograms by timing both; forcing one keeps the
    # choice, and so the model, the same from run to run.
    "force_row_wise": True,
    "num_threads": 0,
    "verbosity": -1,
}

_OBJECTIVES = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}


@cache
def parse_value(text: str) -> Any:
    """A parameter value typed by a person: int, float, true/false, else the text (stripped)."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text.strip()


@cache
def _aliases() -> dict[str, str]:
    """alias -> main name for every LightGBM parameter (from the library itself)."""
    from .lightgbm_import import import_lightgbm

    import_lightgbm()  # lean where the process asked for it
    from lightgbm.basic import _ConfigAliases

    table = _ConfigAliases._get_all_param_aliases()
    return {alias: main for main, names in table.items() for alias in names}


def _canonical(name: str) -> str:
    aliases = _aliases()
    if name in aliases:
        return aliases[name]
    close = difflib.get_close_matches(name, list(aliases), n=1)
    hint = f"did you mean '{close[0]}'?" if close else "see the LightGBM parameter list"
    raise InputError(f"unknown LightGBM parameter '{name}'", hint=hint)


def _overlay(user: dict[str, Any], task: str, seed: int, *, strict: bool) -> dict[str, Any]:
    """Our defaults, the task's objective (if the task is known) and the seed, overridden by
    the user's parameters under LightGBM's main names; ``strict``: an unknown name raises,
    else it is left out."""
    merged: dict[str, Any] = dict(DEFAULT_PARAMS)
    if task in _OBJECTIVES:
        merged["objective"] = _OBJECTIVES[task]
    merged["seed"] = seed
    aliases = _aliases()
    for name, value in user.items():
        main = _canonical(str(name)) if strict else aliases.get(str(name))
        if main is not None:
            merged[main] = value
    return merged


def merge_params(
    user: dict[str, Any], *, task: str, num_class: int | None, seed: int
) -> dict[str, Any]:
    """Our defaults, the task's objective and the seed, overridden by the user's parameters."""
    merged = _overlay(user, task, seed, strict=True)
    if task == "multiclass":
        merged["num_class"] = num_class
    return merged


def requested_params(user: dict[str, Any], *, task: str, seed: int) -> dict[str, Any]:
    """What a run asks for before its data is read, recorded when it starts (so a run that
    fails or is cancelled still shows them, as in MLflow): our defaults, the seed, the
    objective when the task is given, and the user's parameters under LightGBM's main names.
    A name LightGBM does not know is left out; the training fails on it with a hint.
    """
    return _overlay(user, task, seed, strict=False)


_REGRESSION_OBJECTIVES = frozenset((
    "regression", "regression_l2", "l2", "mean_squared_error", "mse", "l2_root",
    "root_mean_squared_error", "rmse", "regression_l1", "l1", "mean_absolute_error", "mae",
    "huber", "fair", "poisson", "quantile", "mape", "mean_absolute_percentage_error", "gamma",
    "tweedie",
))  # fmt: skip
#: LightGBM objectives (and aliases) whose predictions the task's metrics can be computed on
TASK_OBJECTIVES = {
    "binary": frozenset({"binary", "cross_entropy", "xentropy"}),
    "multiclass": frozenset(
        ("multiclass", "softmax", "multiclassova", "multiclass_ova", "ova", "ovr")
    ),
    "regression": _REGRESSION_OBJECTIVES | {"cross_entropy", "xentropy"},
}


def check_objective(task: str, params: dict[str, Any]) -> None:
    """InputError when the objective does not fit the task: the holdout metrics would be
    computed on outputs of another kind (``objective=regression`` on a Yes/No target gave
    "AUC" and "log loss" of unbounded regression outputs)."""
    objective = str(params.get("objective", ""))
    allowed = TASK_OBJECTIVES.get(task)
    if allowed is None or objective in allowed:
        return
    other = next((t for t, names in TASK_OBJECTIVES.items() if objective in names), None)
    hint = (
        f"leave the objective out, or train with --task {other} if the target is that"
        if other
        else f"use one of: {', '.join(sorted(allowed))}"
    )
    raise InputError(f"objective '{objective}' does not fit the task {task}", hint=hint)


def lightgbm_error_message(exc: BaseException) -> str:
    """LightGBM's error text as one readable line (no C++ source locations)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    check = re.match(r"Check failed: \(([\w.]+)\) (\S+) \(([^)]*)\)", text)
    if check:
        name, op, bound = check.groups()
        return f"{name} must be {op} {bound}"
    return re.sub(r" at \S+\.(?:cpp|h|hpp), line \d+ ?\.?", "", text).strip()


def validate_params(params: dict[str, Any]) -> None:
    """Raise InputError if LightGBM rejects these parameters (checked on a tiny dataset)."""
    import numpy as np

    from .lightgbm_import import import_lightgbm

    lgb = import_lightgbm()
    num_class = int(params.get("num_class") or 1)
    n = max(4, 2 * num_class)
    x = np.arange(n * 2, dtype=np.float64).reshape(n, 2)
    y = np.arange(n, dtype=np.float64) % max(num_class, 2)
    if str(params.get("objective", "")) not in ("binary", "multiclass", "multiclassova",
                                                 "cross_entropy", "xentropy"):  # fmt: skip
        y = y + 1.0  # some regression objectives (gamma, tweedie) need positive labels
    quiet = {**params, "verbosity": -1}
    try:
        lgb.Booster(params=quiet, train_set=lgb.Dataset(x, y, params={"verbosity": -1}))
    except lgb.basic.LightGBMError as exc:
        raise InputError(f"invalid LightGBM parameter: {lightgbm_error_message(exc)}") from None
    except (TypeError, ValueError) as exc:
        raise InputError(f"invalid LightGBM parameter: {exc}") from None
