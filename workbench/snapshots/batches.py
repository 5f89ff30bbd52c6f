"""Named concepts over snapshots that drift, retraining and monitoring share.

* A **production batch** is a snapshot whose name starts with ``prod-`` (``prod-2025-09``): data
  the model met in production, one snapshot per period. The drift "months" view, the demo and
  retraining's default data all mean these.
* **Labelled and unseen** data, for a model trained on some snapshots, is the newest version of
  every other snapshot that has the target column, the training data's columns with the same
  types, and none of the training rows (by key column, else by whole rows): fair ground for
  comparing champion and challenger, and new rows for retraining.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .records import Snapshot

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "BATCH_PREFIX",
    "MAX_CANDIDATES",
    "is_production_batch",
    "batch_name",
    "batch_label",
    "production_batches",
    "default_pair",
    "labelled_candidates",
    "overlaps",
]

#: snapshots whose name starts with this are production batches
BATCH_PREFIX = "prod-"
#: how many recent labelled snapshots are checked for overlap with the training data
MAX_CANDIDATES = 12


def is_production_batch(name: str) -> bool:
    """Whether a snapshot name (or ``name@vN`` reference) is a production batch."""
    return name.startswith(BATCH_PREFIX)


def batch_name(period: str) -> str:
    """The snapshot name of the production batch for a period (``2025-07`` -> ``prod-2025-07``)."""
    return f"{BATCH_PREFIX}{period}"


def batch_label(ref: str) -> str:
    """A short label for charts: ``prod-2025-09@v1`` -> ``2025-09``; other refs unchanged
    but for a ``@v1`` suffix."""
    name, _, version = ref.partition("@")
    label = name.removeprefix(BATCH_PREFIX)
    return label if version in ("", "v1") else f"{label}@{version}"


def default_pair(refs: list[tuple[str, str]]) -> tuple[str | None, str | None]:
    """(reference, current) to show first, from (ref, name) pairs newest first.

    Reference: the oldest snapshot that is not a production batch. Current: the newest batch
    (by name, ``prod-2025-12`` after ``prod-2025-11``) when there is one, else the newest
    other version of the reference's dataset, else the newest other snapshot.
    """
    if not refs:
        return None, None
    plain = [(r, n) for r, n in refs if not n.startswith(BATCH_PREFIX)]
    reference, ref_name = (plain or refs)[-1]
    batches = sorted((n, r) for r, n in refs if n.startswith(BATCH_PREFIX) and r != reference)
    if batches:
        return reference, batches[-1][1]
    same = [r for r, n in refs if n == ref_name and r != reference]
    others = [r for r, _ in refs if r != reference]
    current = (same or others)[0] if (same or others) else None
    return reference, current


def production_batches(snapshots: Iterable[Snapshot]) -> list[str]:
    """Names of the production batches among ``snapshots``, sorted (oldest period first)."""
    return sorted({s.name for s in snapshots if is_production_batch(s.name)})


def _same_types(snap: Snapshot, trained_on: list[Snapshot]) -> bool:
    """``snap`` has every column of the training data, with the same types (a holdout both
    models can score: raw data whose blanks made a number column text is not one)."""
    return all(
        snap.schema.get(column) == dtype for t in trained_on for column, dtype in t.schema.items()
    )


def labelled_candidates(
    snapshots: Iterable[Snapshot], target: str, trained_on: list[Snapshot]
) -> list[Snapshot]:
    """The newest version of each other name that has ``target`` and the training columns'
    types, newest first, at most ``MAX_CANDIDATES`` (their rows are checked next)."""
    names = {s.name for s in trained_on}
    latest: dict[str, Snapshot] = {}
    for snap in snapshots:  # newest first
        if snap.name not in names and target in snap.schema and _same_types(snap, trained_on):
            latest.setdefault(snap.name, snap)
    recent = sorted(latest.values(), key=lambda s: (s.created_at, s.id), reverse=True)
    return recent[:MAX_CANDIDATES]


def overlaps(candidate: pl.DataFrame, training: pl.DataFrame, key: str | None) -> bool:
    """Whether any row of ``candidate`` occurs in ``training`` (by ``key``, else whole rows)."""
    if key and key in candidate.columns and key in training.columns:
        return bool(candidate.get_column(key).is_in(training.get_column(key).implode()).any())
    common = [c for c in training.columns if c in candidate.columns]
    if not common:
        return False
    seen = set(training.select(common).hash_rows(seed=0).to_list())
    return any(h in seen for h in candidate.select(common).hash_rows(seed=0).to_list())
