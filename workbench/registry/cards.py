"""Model cards: one Markdown page per model version.

Sections: intended use (editable), data lineage, parameters, holdout metrics, per-segment
metrics, drift baseline, gate results, decisions and approvals. Everything is read from the
workspace at the time the card is made, so the card always matches the registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .evaluation import SEGMENT_METRIC, score, segment_table

if TYPE_CHECKING:
    from ..experiments.records import RunRecord
    from ..experiments.service import ExperimentService
    from .aliases import AliasMove
    from .decisions import Decision
    from .lineage import LineageNode
    from .models import ModelVersion

__all__ = ["model_card"]


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return lines


def _header(mv: ModelVersion, run: RunRecord) -> list[str]:
    held = ", ".join(mv.aliases) or "none"
    return [
        f"# Model card: {mv.ref}",
        "",
        f"- **Aliases now:** {held}",
        f"- **Registered:** {mv.created_at:%Y-%m-%d %H:%M} by {mv.author}",
        f"- **Run:** {run.id} ({run.task}, target `{run.target}`), trained by {run.author or '-'}",
        f"- **Training data:** {run.snapshot_ref} (`{(run.snapshot_hash or '')[:12]}`)",
        f"- **MLflow:** registered version {mv.mlflow_version or '- (not mirrored)'}",
        "",
    ]


def _intended_use(mv: ModelVersion) -> list[str]:
    text = mv.intended_use or (
        "_Not written yet. Set it with `workbench models intended-use REF TEXT` "
        "or `ws.set_intended_use(ref, text)`._"
    )
    return ["## Intended use", "", text, ""]


def _segments(experiments: ExperimentService, columns: list[str], run: RunRecord) -> list[str]:
    out = ["## Per-segment metrics", ""]
    try:
        holdout = experiments.holdout(run.id)
        scored = score(experiments.model(run.id), holdout)
    except Exception as exc:  # a card should render even if the data is gone
        return [*out, f"_Not available: {exc}_", ""]
    out.append(f"On run {run.id}'s holdout ({holdout.height:,} rows); metric "
               f"{SEGMENT_METRIC[scored.task]}, positive rate at 0.5.")  # fmt: skip
    for column in columns:
        if column not in holdout.columns:
            out += ["", f"`{column}`: not a column of the training data."]
            continue
        table = segment_table(holdout.get_column(column), scored)
        rows = [[r["segment"], r["n"], r["metric"], r["positive_rate"]] for r in table.to_dicts()]
        out += [
            "",
            f"**{column}**",
            "",
            *_table(["segment", "rows", "metric", "positive rate"], rows),
        ]
    return [*out, ""]


def _gates(decisions: list[Decision]) -> list[str]:
    out = ["## Gate results", ""]
    promos = [d for d in decisions if d.kind == "promote" and d.evidence.gates]
    if not promos:
        return [*out, "_No gates have run for this version._", ""]
    latest = promos[0]
    out.append(f"From decision {latest.id} ({latest.status}), holdout: {latest.evidence.holdout}.")
    rows = [[g.mark, g.name, g.summary] for g in latest.evidence.gates]
    out += ["", *_table(["result", "gate", "numbers"], rows)]
    side = latest.evidence.side_by_side()
    if side and latest.evidence.champion:
        out += ["", f"Champion {latest.evidence.champion} vs this version on the same holdout:", ""]
        out += _table(["metric", "champion", "this version"], [list(r) for r in side])
    return [*out, ""]


def _decisions(decisions: list[Decision], moves: list[AliasMove]) -> list[str]:
    out = ["## Decisions and approvals", ""]
    rows = [
        [d.id, d.kind, d.alias or "-", d.status, d.proposed_by, d.decided_by,
         "yes" if d.override else "", d.comment or d.reason or ""]
        for d in reversed(decisions)
    ]  # fmt: skip
    if rows:
        out += _table(["id", "kind", "alias", "status", "proposed by", "decided by", "override",
                       "comment"], rows)  # fmt: skip
    else:
        out.append("_No proposals for this version._")
    if moves:
        out += ["", "Alias history of this version:", ""]
        out += [f"- {m}" + (f" ({m.reason})" if m.reason else "") for m in moves]
    return [*out, ""]


def model_card(
    experiments: ExperimentService,
    segment_columns: list[str],
    mv: ModelVersion,
    run: RunRecord,
    decisions: list[Decision],
    moves: list[AliasMove],
    lineage: LineageNode,
) -> str:
    """The Markdown model card of a version: ``decisions`` and ``moves`` are the version's
    own (newest decision first, moves oldest first)."""
    params = sorted((run.params or {}).items())
    metrics = sorted((run.metrics or {}).items())
    lines = _header(mv, run) + _intended_use(mv)
    lines += ["## Data lineage", "", "```", lineage.to_text(), "```", ""]
    lines += ["## Parameters", "", *(_table(["parameter", "value"], [list(p) for p in params])
              if params else ["_Defaults only._"]), ""]  # fmt: skip
    lines += ["## Holdout metrics", "", f"On run {run.id}'s own holdout.", ""]
    lines += [*_table(["metric", "value"], [list(m) for m in metrics]), ""]
    lines += _segments(experiments, segment_columns, run)
    lines += ["## Drift baseline", "",
              f"Reference data for drift checks: {run.snapshot_ref} "
              f"(`{(run.snapshot_hash or '')[:12]}`), the snapshot this version was trained on.", ""]  # fmt: skip
    lines += _gates(decisions) + _decisions(decisions, moves)
    return "\n".join(lines).rstrip() + "\n"
