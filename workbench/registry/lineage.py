"""Lineage of a model version: version <- run <- snapshot <- parent snapshots <- source files.

A plain tree of ``LineageNode`` records; faces draw it (rich tree, Textual tree, matplotlib
graph). Snapshots built by retraining show the base snapshot and the labelled batches they came from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..display import esc, frame

if TYPE_CHECKING:
    import polars as pl

    from ..experiments.records import RunRecord
    from ..snapshots.records import Snapshot
    from ..snapshots.service import SnapshotService
    from .decisions import Decision
    from .models import ModelVersion

__all__ = ["LineageNode", "build_lineage", "retrain_recipes", "MAX_DEPTH"]

#: snapshot levels followed at most (a guard against a corrupted parent chain)
MAX_DEPTH = 50


@dataclass
class LineageNode:
    """One node: what it is, how people name it, its content hash and a short detail."""

    kind: str  # model | run | snapshot | source | batch
    label: str
    hash: str | None = None
    detail: str | None = None
    children: list[LineageNode] = field(default_factory=list)

    def walk(self, depth: int = 0):
        """(depth, node) for this node and every descendant, depth first."""
        yield depth, self
        for child in self.children:
            yield from child.walk(depth + 1)

    def edges(self) -> list[tuple[str, str]]:
        """(parent label, child label) pairs, for drawing a graph."""
        return [(self.label, c.label) for c in self.children] + [
            e for c in self.children for e in c.edges()
        ]

    def to_text(self) -> str:
        """An indented text tree with short hashes."""
        lines = []
        for depth, node in self.walk():
            short = f" [{node.hash[:12]}]" if node.hash else ""
            detail = f"  {node.detail}" if node.detail else ""
            what = node.label if node.label.startswith(node.kind) else f"{node.kind} {node.label}"
            lines.append(f"{'  ' * depth}{what}{short}{detail}")
        return "\n".join(lines)

    def to_polars(self) -> pl.DataFrame:
        """One row per node, depth first: depth, kind, label, hash, detail and the label of
        its parent (None for the root), for drawing the graph or joining on hashes."""
        rows: list[dict[str, Any]] = []
        parents: list[str] = []
        for depth, node in self.walk():
            del parents[depth:]
            rows.append({"depth": depth, "kind": node.kind, "label": node.label,
                         "hash": node.hash, "detail": node.detail,
                         "parent": parents[-1] if parents else None})  # fmt: skip
            parents.append(node.label)
        return frame(rows, _SCHEMA)

    def _repr_html_(self) -> str:
        """The tree as nested lists with short hashes."""
        what = self.label if self.label.startswith(self.kind) else f"{self.kind} {self.label}"
        short = f" <code>{esc(self.hash[:12])}</code>" if self.hash else ""
        detail = f" <i>{esc(self.detail)}</i>" if self.detail else ""
        children = "".join(f"<li>{c._repr_html_()}</li>" for c in self.children)
        inner = f"<ul style='margin:0'>{children}</ul>" if children else ""
        return f"<b>{esc(what)}</b>{short}{detail}{inner}"


_SCHEMA = {
    "depth": "Int64", "kind": "String", "label": "String", "hash": "String",
    "detail": "String", "parent": "String",
}  # fmt: skip


def _source_node(snap: Snapshot) -> LineageNode | None:
    # retraining builds its file in .workbench/tmp and removes it: the batches are the sources
    source = snap.source_path
    name = Path(source).name if source else ""
    if not source or name.startswith("retrain-") or name.endswith("-retrain.parquet"):
        return None
    return LineageNode("source", source, snap.source_hash, "imported file")


def _snapshot_tree(
    snapshots: SnapshotService, snap: Snapshot, built: dict[str, dict], depth: int = 0
) -> LineageNode:
    """A snapshot and where its rows came from, recursively.

    A snapshot built by retraining came from its base snapshot plus batches (not from the
    previous version of its name, which may be an unrelated, rejected retraining set).
    """
    detail = f"{snap.n_rows:,} rows; {snap.message or ''}".strip("; ")
    node = LineageNode("snapshot", snap.ref, snap.object_hash, detail)
    recipe = built.get(snap.ref)
    parent: Snapshot | None
    if recipe:
        for ref in recipe["batches"]:
            batch = snapshots.get(ref)
            child = LineageNode("batch", batch.ref, batch.object_hash, "rows added by retraining")
            child.children.extend(n for n in [_source_node(batch)] if n is not None)
            node.children.append(child)
        parent = snapshots.get(recipe["base_snapshot"])
    else:
        node.children.extend(n for n in [_source_node(snap)] if n is not None)
        chain = snapshots.lineage(snap.ref)
        parent = chain[1] if len(chain) > 1 else None
    if parent is not None and depth < MAX_DEPTH:
        node.children.append(_snapshot_tree(snapshots, parent, built, depth + 1))
    return node


def retrain_recipes(decisions: Iterable[Decision]) -> dict[str, dict[str, Any]]:
    """Training snapshot ref -> {base_snapshot, batches} recorded by retraining proposals."""
    out: dict[str, dict[str, Any]] = {}
    for decision in decisions:
        data = decision.evidence.training_data or {}
        if data.get("snapshot") and data.get("base_snapshot") and data.get("batches"):
            out.setdefault(data["snapshot"], data)
    return out


def build_lineage(
    snapshots: SnapshotService,
    mv: ModelVersion,
    run: RunRecord,
    recipes: dict[str, dict[str, Any]],
) -> LineageNode:
    """The lineage tree of a model version (``recipes``: see ``retrain_recipes``)."""
    root = LineageNode("model", mv.ref, mv.model_hash, f"registered by {mv.author}")
    run_node = LineageNode("run", f"run {run.id}", run.model_hash,
                           f"{run.task}, mlflow {run.mlflow_run_id or '-'}")  # fmt: skip
    root.children.append(run_node)
    if run.snapshot_ref:
        snap = snapshots.get(run.snapshot_ref)
        run_node.children.append(_snapshot_tree(snapshots, snap, recipes))
    return root
