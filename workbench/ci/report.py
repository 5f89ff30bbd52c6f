"""A proposal's gate results as Markdown: for a pull-request comment, a job's step summary and
the full report kept as an artifact.

The essentials come first and always fit (verdict, proposal, metrics side by side, one line per
gate); each gate's numbers and notes, and the drift summary, follow in ``<details>`` blocks.
With ``max_bytes`` (a GitHub comment holds 65,536 characters) blocks that do not fit are cut,
and a last line says so and names the artifact holding the whole report. Every text that comes
from data (gate notes, column names, reasons) is HTML-escaped, so no value can close a
``<details>`` or inject markup; numbers go in fenced blocks longer than any backtick run inside.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:
    from ..registry.decisions import Decision
    from ..registry.gates import GateResult

__all__ = ["CiReport", "render_report", "MARKER", "COMMENT_LIMIT", "ARTIFACT", "MIN_BYTES"]

#: marks the one pull-request comment the workflow keeps up to date
MARKER = "<!-- workbench-ci-report -->"
#: GitHub's limit for a comment body is 65,536 characters; bytes are never fewer
COMMENT_LIMIT = 65_536
#: the artifact the workflows upload the full report as
ARTIFACT = "workbench-report"
_CUT_RESERVE = 400  # room kept for the closing "cut" line
#: the smallest size limit a report accepts
MIN_BYTES = 4096


@dataclass(frozen=True)
class CiReport:
    """A rendered report."""

    markdown: str
    #: the proposal reported on (None: no proposal was found)
    decision_id: int | None
    #: whether its gates passed (None: no proposal)
    passed: bool | None
    #: whether blocks were left out to stay under ``max_bytes``
    cut: bool = False


def _text(value: Any) -> str:
    """Data as inline Markdown text: HTML-escaped, on one line."""
    return html.escape(" ".join(str(value).split()), quote=False)


def _cell(value: Any) -> str:
    return _text(value).replace("|", "\\|") if value is not None else "-"


def _num(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else _cell(value)


def _fenced(data: Any) -> str:
    body = json.dumps(data, indent=1, sort_keys=True, default=str)
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}json\n{body}\n{fence}"


def _head(decision: Decision | None, note: str | None) -> list[str]:
    if decision is None:
        lines = ["### Workbench: no promotion proposal"]
        if note:
            lines += ["", _text(note)]
        return lines
    ev = decision.evidence
    failed = [g.name for g in ev.gates if not g.passed]
    verdict = f"❌ gates failed ({_text(', '.join(failed))})" if failed else "✅ gates passed"
    lines = [f"### Workbench: {verdict}", ""]
    lines.append(
        f"**Decision {decision.id}** ({decision.status}): {_text(decision.title)}, "
        f"proposed by {_text(decision.proposed_by)} at {decision.proposed_at:%Y-%m-%d %H:%M}"
    )
    facts = [("reason", ev.reason), ("holdout", ev.holdout)]
    if ev.training_data:
        source = ev.training_data.get("snapshot") or ev.training_data.get("from")
        batches = ev.training_data.get("batches") or ev.training_data.get("data") or []
        facts.append(("training data", f"{source or '-'} {', '.join(batches)}".strip()))
    lines += ["", *(f"- {k}: {_text(v)}" for k, v in facts if v)]
    side = ev.side_by_side()
    if side:
        lines += [
            "",
            f"| metric | champion {_cell(ev.champion)} | challenger {_cell(ev.challenger)} "
            "| change |",
            "| --- | ---: | ---: | ---: |",
        ]
        for metric, champ, chall in side:
            change = (
                f"{chall - champ:+.4f}"
                if isinstance(champ, float) and isinstance(chall, float)
                else "-"
            )
            lines.append(f"| {_cell(metric)} | {_num(champ)} | {_num(chall)} | {change} |")
    if ev.gates:
        lines += ["", "| | gate | result |", "| --- | --- | --- |"]
        for g in ev.gates:
            mark = "✅ pass" if g.passed else "❌ **FAIL**"
            lines.append(f"| {mark} | {_cell(g.name)} | {_cell(g.summary)} |")
    return lines


def _gate_block(gate: GateResult, notes_limit: int | None = None) -> str:
    notes = gate.notes if notes_limit is None else gate.notes[:notes_limit]
    parts = [f"<details><summary>{gate.mark} {_text(gate.name)}: numbers and notes</summary>", ""]
    if gate.numbers:
        parts += [_fenced(gate.numbers), ""]
    parts += [f"- {_text(n)}" for n in notes]
    if len(notes) < len(gate.notes):
        parts.append(f"- … {len(gate.notes) - len(notes)} more notes in the full report")
    parts += ["", "</details>"]
    return "\n".join(parts)


def _drift_block(drift: dict[str, Any]) -> str:
    return "\n".join(
        [
            "<details><summary>Drift of the holdout against the training data</summary>",
            "",
            _fenced(drift),
            "",
            "</details>",
        ]
    )


def render_report(
    decision: Decision | None,
    *,
    max_bytes: int | None = None,
    marker: str | None = None,
    note: str | None = None,
    artifact: str = ARTIFACT,
) -> CiReport:
    """Render ``decision``'s evidence as Markdown, at most ``max_bytes`` UTF-8 bytes (at least
    ``MIN_BYTES``)."""
    if max_bytes is not None and max_bytes < MIN_BYTES:
        raise InputError(f"a report needs at least {MIN_BYTES} bytes, not {max_bytes}")
    head = "\n".join(([marker, ""] if marker else []) + _head(decision, note))
    blocks: list[tuple[str, GateResult | None]] = []
    if decision is not None:
        ev = decision.evidence
        blocks = [(_gate_block(g), g) for g in ev.gates if g.numbers or g.notes]
        if ev.drift:
            blocks.append((_drift_block(ev.drift), None))
    passed = decision.evidence.passed if decision is not None else None
    decision_id = decision.id if decision is not None else None
    full = "\n\n".join([head, *(b for b, _ in blocks)]) + "\n"
    if max_bytes is None or len(full.encode()) <= max_bytes:
        return CiReport(full, decision_id, passed)

    budget = max_bytes - _CUT_RESERVE
    out = head
    if len(out.encode()) > budget:  # a head that alone is too long (thousands of gates)
        out = out.encode()[:budget].decode(errors="ignore").rsplit("\n", 1)[0]
    included = 0
    for block, gate in blocks:
        candidate = f"{out}\n\n{block}"
        if len(candidate.encode()) <= budget:
            out, included = candidate, included + 1
            continue
        if gate is not None and gate.notes:  # the first notes that fit
            keep = _fit_notes(out, gate, budget)
            if keep is not None:
                out, included = f"{out}\n\n{_gate_block(gate, keep)}", included + 1
        break
    left = len(blocks) - included
    more = f"; {left} more sections left out" if left > 0 else ""
    out += (
        f"\n\n*Cut to stay under {max_bytes // 1024} KB{more}: the whole report is in the "
        f"`{_text(artifact)}` artifact of this run.*\n"
    )
    return CiReport(out, decision_id, passed, cut=True)


def _fit_notes(out: str, gate: GateResult, budget: int) -> int | None:
    """How many of a gate's notes fit after ``out`` within ``budget`` bytes (binary search)."""
    low, high = 0, len(gate.notes)
    best = None
    while low <= high:
        mid = (low + high) // 2
        if len(f"{out}\n\n{_gate_block(gate, mid)}".encode()) <= budget:
            best, low = mid, mid + 1
        else:
            high = mid - 1
    return best
