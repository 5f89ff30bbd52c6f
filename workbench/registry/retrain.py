"""Retraining: how the new training snapshot is built from the champion's data.

Rule (documented for users in ``Workspace.retrain``):

1. Start from the champion run's training snapshot (say ``churn@v2``).
2. Add labelled batches: the ``data`` refs given, in that order; by default every labelled
   snapshot whose rows the training snapshot does not contain yet ("labelled and unseen", see
   ``snapshots.batches``), oldest first, *except the newest*, which is kept out so the
   gates can compare champion and challenger on data neither trained on. With a single new
   batch, it is used for training (the gates then use the challenger's own holdout).
3. Concatenate the rows (columns of the training snapshot, in its order; a batch missing a
   column is an error) and save them as the next version of the training snapshot's name,
   with a message naming the sources. Identical content reuses the existing version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InputError
from ..snapshots.service import ImportRequest

if TYPE_CHECKING:
    from ..snapshots.records import Snapshot
    from ..snapshots.service import SnapshotService

__all__ = ["default_batches", "build_training_snapshot"]


def default_batches(snapshots: SnapshotService, base: Snapshot, target: str) -> list[Snapshot]:
    """The labelled batches the default rule adds to ``base`` (oldest first)."""
    unseen = snapshots.unseen_labelled(target, [base])
    if not unseen:
        raise InputError(
            f"no labelled data newer than {base.ref} to retrain on",
            hint="add a labelled batch or name one with --data REF",
        )
    return unseen if len(unseen) == 1 else unseen[:-1]


def build_training_snapshot(
    snapshots: SnapshotService, base: Snapshot, batches: list[Snapshot]
) -> Snapshot:
    """Concatenate ``base`` and ``batches`` and save it as the next version of ``base.name``."""
    import polars as pl

    frame = snapshots.load(base)
    parts = [frame]
    for snap in batches:
        batch = snapshots.load(snap)
        missing = [c for c in frame.columns if c not in batch.columns]
        if missing:
            raise InputError(f"{snap.ref} lacks column(s) of {base.ref}: {', '.join(missing)}")
        parts.append(batch.select(frame.columns))
    combined = pl.concat(parts, how="vertical_relaxed")
    objects = snapshots.ctx.objects
    with objects.writing(), objects.temp_path("-retrain.parquet") as path:
        combined.write_parquet(path)
        message = f"retraining data: {base.ref} + {', '.join(s.ref for s in batches)}"
        return snapshots.add(ImportRequest(path, base.name, message=message)).snapshot
