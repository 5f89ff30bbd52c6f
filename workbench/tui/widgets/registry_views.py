"""How registry records look in the TUI: version rows, alias history, lineage, evidence, audit.

Pure shaping of the core's records (``ModelVersion``, ``AliasMove``, ``LineageNode``,
``Decision``, ``AuditEntry``) into table cells and Rich renderables; the screens own loading
and state. Shared by the Models and Decisions areas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from .formatting import fmt_value

if TYPE_CHECKING:
    from textual.widgets import Tree
    from textual.widgets.tree import TreeNode

    from ...api import AliasMove, Decision, ModelVersion
    from ...presentation import AuditEntry, LineageNode

__all__ = [
    "VersionRow",
    "version_row",
    "VERSION_COLUMNS",
    "KEY_METRICS",
    "alias_history_table",
    "fill_lineage",
    "evidence_view",
    "decision_row",
    "DECISION_COLUMNS",
    "audit_table",
    "audit_details",
    "verify_text",
    "short_hash",
    "when",
]

#: the first of these a version's run has is its key metric
KEY_METRICS = ("auc", "rmse", "logloss", "macro_f1", "r2")
VERSION_COLUMNS = ("model", "version", "aliases", "run", "snapshot", "metric", "created")
DECISION_COLUMNS = ("id", "proposal", "status", "gates", "by", "proposed")

_MARKS = {True: "[green]✔ PASS[/]", False: "[red]✘ FAIL[/]"}
_KIND_STYLE = {"model": "bold", "run": "cyan", "snapshot": "green", "batch": "yellow",
               "source": "magenta"}  # fmt: skip


def short_hash(digest: str | None) -> str:
    """The first 12 characters of a content hash (as the CLI shows them)."""
    return digest[:12] if digest else "-"


def when(moment: Any) -> str:
    """A timestamp to the minute ("-" when missing)."""
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


@dataclass(frozen=True)
class VersionRow:
    """One row of the versions table and the version it shows."""

    ref: str
    name: str
    cells: tuple[str, ...]


def key_metric(metrics: dict[str, float] | None) -> str:
    """``auc 0.812`` for the first key metric a run has."""
    for name in KEY_METRICS:
        if metrics and metrics.get(name) is not None:
            return f"{name} {metrics[name]:.4f}"
    return "-"


def version_row(mv: ModelVersion, metrics: dict[str, float] | None) -> VersionRow:
    """The versions-table row of a model version (metrics: its run's holdout metrics)."""
    aliases = ", ".join(mv.aliases) or "-"
    cells = (mv.name, f"v{mv.version}", aliases, str(mv.run_id), mv.snapshot_ref or "-",
             key_metric(metrics), when(mv.created_at))  # fmt: skip
    return VersionRow(mv.ref, mv.name, cells)


def alias_history_table(moves: list[AliasMove], highlight: int | None = None) -> Table:
    """A model's alias moves, newest first; moves to or from ``highlight`` (a version) in bold."""
    table = Table(box=None, expand=True, padding=(0, 1), header_style="bold")
    for label in ("when", "alias", "from", "to", "kind", "by", "reason", "decision"):
        table.add_column(label, no_wrap=label not in ("reason",))
    for move in reversed(moves):
        touches = highlight is not None and highlight in (move.from_version, move.to_version)
        src = f"v{move.from_version}" if move.from_version else "-"
        dst = f"v{move.to_version}" if move.to_version else "(removed)"
        kind = "[yellow]rollback[/]" if move.kind == "rollback" else move.kind
        table.add_row(
            when(move.moved_at), move.alias, src, dst, kind, move.actor, move.reason or "",
            f"#{move.decision_id}" if move.decision_id else "-",
            style="bold" if touches else None,
        )  # fmt: skip
    return table


def _node_label(node: LineageNode) -> Text:
    what = node.label if node.label.startswith(node.kind) else f"{node.kind} {node.label}"
    label = Text(what, style=_KIND_STYLE.get(node.kind, ""))
    if node.hash:
        label.append(f"  {short_hash(node.hash)}", style="dim")
    if node.detail:
        label.append(f"  {node.detail}", style="italic dim")
    return label


def fill_lineage(tree: Tree, root: LineageNode) -> None:
    """Replace ``tree``'s content with the lineage tree, every node expanded."""
    tree.reset(_node_label(root), root)

    def add(parent: TreeNode, node: LineageNode) -> None:
        for child in node.children:
            if child.children:
                add(parent.add(_node_label(child), child, expand=True), child)
            else:
                parent.add_leaf(_node_label(child), child)

    add(tree.root, root)
    tree.root.expand()


def decision_row(d: Decision) -> tuple[str, ...]:
    """The proposals-table row of a decision."""
    gates = "-" if not d.evidence.gates else ("pass" if d.gates_passed else "FAILED")
    return (str(d.id), d.title, d.status, gates, d.proposed_by, when(d.proposed_at))


def _metric_cell(value: float | None) -> str:
    return "-" if value is None else fmt_value(round(value, 4))


def _metrics_table(d: Decision) -> Table:
    ev = d.evidence
    table = Table(title="Champion vs challenger", title_justify="left", expand=False,
                  header_style="bold", box=None, padding=(0, 2))  # fmt: skip
    table.add_column("metric")
    table.add_column(f"champion {ev.champion or '(none)'}", justify="right")
    table.add_column(f"challenger {ev.challenger or '-'}", justify="right")
    table.add_column("change", justify="right")
    for metric, champ, chall in ev.side_by_side():
        change = "" if champ is None or chall is None else f"{chall - champ:+.4f}"
        style = "bold" if metric == ev.primary_metric else None
        table.add_row(metric, _metric_cell(champ), _metric_cell(chall), change, style=style)
    return table


def _numbers(numbers: dict[str, Any]) -> str:
    parts = []
    for key, value in numbers.items():
        if isinstance(value, float):
            value = fmt_value(round(value, 4))
        elif isinstance(value, dict | list):
            continue  # per-segment tables are in the model card
        parts.append(f"{key}={value}")
    return ", ".join(parts)


def _gates_table(d: Decision) -> Table:
    table = Table(title="Gates", title_justify="left", expand=True, header_style="bold",
                  box=None, padding=(0, 1))  # fmt: skip
    table.add_column("", no_wrap=True, width=6)
    table.add_column("gate", no_wrap=True)
    table.add_column("result", ratio=2)
    table.add_column("numbers", ratio=2, style="dim")
    for gate in d.evidence.gates:
        table.add_row(_MARKS[gate.passed], gate.name, gate.summary, _numbers(gate.numbers))
    return table


def evidence_view(d: Decision) -> Group:
    """A proposal's evidence: what it does, why, status, metrics side by side, gates."""
    ev = d.evidence
    head = Text.from_markup(f"[b]#{d.id} {d.title}[/b]  ")
    head.append_text(
        Text.from_markup(
            {"pending": "[yellow]pending[/]", "approved": "[green]approved[/]"}.get(
                d.status, f"[red]{d.status}[/]"
            )
        )
    )
    lines = [head, Text(f"proposed by {d.proposed_by} at {when(d.proposed_at)}", style="dim")]
    lines.append(Text(f"reason: {ev.reason or d.reason or '-'}"))
    if ev.holdout:
        lines.append(Text(f"holdout: {ev.holdout}", style="dim"))
    if d.status != "pending":
        override = " [red](override of failed gates)[/]" if d.override else ""
        lines.append(Text.from_markup(
            f"{d.status} by {d.decided_by} at {when(d.decided_at)}{override}: "
            f"{_escape(d.comment or '-')}"
        ))  # fmt: skip
    if ev.training_data:
        data = ev.training_data
        built = data.get("snapshot") or ", ".join(data.get("data") or []) or "-"
        lines.append(Text(f"training data: {data.get('rule') or 'from ' + str(data.get('from'))}"
                          f" -> {built}", style="dim"))  # fmt: skip
    parts: list[Any] = [*lines, Text("")]
    if ev.metrics:
        parts += [_metrics_table(d), Text("")]
    if ev.gates:
        verdict = "[green]all gates passed[/]" if d.gates_passed else "[red]gates failed[/]"
        parts += [_gates_table(d), Text.from_markup(verdict)]
    return Group(*parts)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _detail_value(value: Any) -> str:
    """An audit detail value kept short: rounded numbers, short hashes, flat mappings."""
    if isinstance(value, float):
        return fmt_value(round(value, 4))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_detail_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str) and len(value) >= 40 and all(c in "0123456789abcdef" for c in value):
        return short_hash(value)
    return str(value)


def audit_details(details: dict[str, Any], width: int = 160) -> str:
    """An entry's details on one or two lines."""
    text = ", ".join(f"{k}={_detail_value(v)}" for k, v in details.items() if v is not None)
    return text if len(text) <= width else text[: width - 1] + "…"


def audit_table(entries: list[AuditEntry], limit: int = 200) -> Table:
    """The newest ``limit`` audit entries, newest first."""
    table = Table(box=None, expand=True, padding=(0, 1), header_style="bold")
    for label in ("#", "when", "actor", "action", "subject", "details"):
        table.add_column(label, no_wrap=label != "details", overflow="ellipsis")
    for entry in reversed(entries[-limit:]):
        table.add_row(str(entry.seq), when(entry.at), entry.actor, entry.action,
                      entry.subject or "", audit_details(entry.details))  # fmt: skip
    return table


def verify_text(problems: list[str], count: int) -> Text:
    """The ``audit verify`` verdict in one or a few lines."""
    if not problems:
        return Text.from_markup(f"[green]✔ audit chain intact[/] ({count:,} entries verified)")
    lines = [f"[red]✘ audit chain broken[/]: {len(problems)} problem(s)"]
    lines += [f"  {_escape(p)}" for p in problems[:5]]
    return Text.from_markup("\n".join(lines))
