"""Shadow and canary verdicts: the statistics against known values, then a shadow and a
canary served through the log, the ramp with its guards and the rollback proposal."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tests.monitoring.story import FAST, build, set_clock
from workbench.monitoring.verdict import bootstrap_difference, mcnemar, metric_value, rows_needed


def test_mcnemar_exact_and_chi_square():
    # Exact two-sided binomial: b=1, c=9 -> 2 * P(X <= 1 | n=10) = 2 * 11 / 1024
    p, test = mcnemar(1, 9)
    assert test == "exact binomial" and p == pytest.approx(22 / 1024)
    # Chi-square with continuity correction: (|30-50|-1)^2 / 80 = 4.5125, df 1
    p, test = mcnemar(30, 50)
    assert test.startswith("chi-square")
    assert p == pytest.approx(math.erfc(math.sqrt(4.5125 / 2)), rel=1e-12)
    assert mcnemar(0, 0) == (1.0, "none")


def test_metric_values_and_a_bootstrap_interval():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 4000).astype(float)
    good = np.clip(y * 0.6 + rng.random(4000) * 0.5, 0, 1)
    bad = rng.random(4000)
    a = (y, (bad >= 0.5).astype(float), bad)
    b = (y, (good >= 0.5).astype(float), good)
    assert metric_value("roc_auc", *a) == pytest.approx(0.5, abs=0.03)
    diff, low, high = bootstrap_difference("roc_auc", a, b, paired=True, seed=1)
    assert low > 0.2 and low < diff < high
    again = bootstrap_difference("roc_auc", a, b, paired=True, seed=1)
    assert again == (diff, low, high)  # seeded
    assert rows_needed(4000, diff, low, high) is None  # decided
    assert rows_needed(100, 0.01, -0.03, 0.05) == 1500  # half-width 0.04: 16x the rows


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The story workspace plus a second version served as shadow (every request) and as a
    canary (a share of December)."""
    root = tmp_path_factory.mktemp("verdict") / "story"
    ws = build(root)
    from workbench.demo_data import generate

    run = ws.train("churn@v1", params={**FAST, "num_leaves": 7}, seed=2, mlflow=False)
    mv = ws.register_model(run.id, "churn-model")
    demo = generate(seed=7, n_train=2000, n_per_batch=400)
    for month in ("2025-11", "2025-12"):
        ws.log_batch(mv.ref, demo.batches[month], role="shadow", key="customer_id",
                     time_column="observed_at", request_prefix=month)  # fmt: skip
        ws.import_labels(root / "data" / f"labels_{month}.csv", "customer_id")
    return ws, mv


def test_shadow_verdict_pairs_requests(served):
    ws, mv = served
    (verdict,) = ws.verdicts()
    assert verdict.role == "shadow" and verdict.challenger == mv.ref
    assert verdict.paired_rows == 800 and verdict.labelled == 800
    assert 0.7 < verdict.agreement <= 1.0
    assert verdict.ci_low <= verdict.difference <= verdict.ci_high
    assert verdict.mcnemar_p is not None and 0 <= verdict.mcnemar_p <= 1
    assert verdict.decision in ("challenger better", "challenger worse", "undecided")
    assert verdict.decision != "undecided" or verdict.rows_needed is not None


def test_canary_ramp_advances_then_a_breached_guard_files_a_rollback(served, tmp_path):
    import shutil

    from workbench.api import Workspace

    ws, mv = served
    root = tmp_path / "canary"
    shutil.copytree(ws.root, root)
    ws = Workspace(root)
    setting = ws.start_canary(mv.ref, "try the small model")
    assert setting.value["fraction"] == 5.0 and ws.aliases("churn-model")["canary"] == mv.version
    started = datetime.fromisoformat(setting.value["started_at"])
    from workbench.demo_data import generate

    batch = generate(seed=7, n_train=2000, n_per_batch=400).batches["2025-12"]
    ws.log_batch(mv.ref, batch.head(300), role="canary", key="customer_id",
                 at=started + timedelta(minutes=5), request_prefix="canary")  # fmt: skip
    ws.log_batch("churn-model@v1", batch.tail(100), key="customer_id",
                 at=started + timedelta(minutes=5), request_prefix="champ")  # fmt: skip
    step = ws.canary_step()
    assert step.action == "advanced" and step.fraction == 25.0
    assert all(g["passed"] for g in step.guards)
    setting = ws.deployment().value
    assert setting["fraction"] == 25.0 and setting["canary_fraction"] == 0.25
    assert setting["canary"] == mv.ref
    # A guard that cannot pass: a p99 latency of a nanosecond.
    (ws.dir / "workbench.toml").write_text(
        (ws.dir / "workbench.toml").read_text()
        + "\n[monitoring.canary]\nmax_latency_p99_ms = 0.000001\n",
        encoding="utf-8",
    )
    ws = Workspace(root)
    set_clock(ws, lambda: datetime.now(UTC) + timedelta(hours=1))
    later = datetime.fromisoformat(ws.deployment().value["step_started_at"])
    ws.log_batch(mv.ref, batch.head(300), role="canary", key="customer_id",
                 at=later + timedelta(minutes=5), request_prefix="canary2")  # fmt: skip
    ws.log_batch("churn-model@v1", batch.tail(100), key="customer_id",
                 at=later + timedelta(minutes=5), request_prefix="champ2")  # fmt: skip
    result = ws.canary_step()
    assert result.action == "aborted" and ws.deployment().value["canary_fraction"] == 0.0
    decision = ws.decision(result.decision_id)
    assert decision.kind == "rollback" and decision.alias == "canary"
    assert decision.evidence.monitoring["guards"]
    ws.approve(decision.id, "agreed")
    assert "canary" not in ws.aliases("churn-model")
    assert ws.verify().audit == []


def test_a_ramp_past_its_last_share_files_a_promotion(served, tmp_path):
    import shutil

    from workbench.api import Workspace
    from workbench.demo_data import generate

    ws, mv = served
    root = tmp_path / "ramp"
    shutil.copytree(ws.root, root)
    ws = Workspace(root)
    batch = generate(seed=7, n_train=2000, n_per_batch=400).batches["2025-12"]
    ws.start_canary(mv.ref)
    actions = []
    for i in range(3):  # 5% -> 25% -> 50% -> the 100% step is the promotion
        value = ws.deployment().value
        since = datetime.fromisoformat(value.get("step_started_at") or value["started_at"])
        ws.log_batch(mv.ref, batch.head(300), role="canary", key="customer_id",
                     at=since + timedelta(minutes=5), request_prefix=f"c{i}")  # fmt: skip
        ws.log_batch("churn-model@v1", batch.tail(100), key="customer_id",
                     at=since + timedelta(minutes=5), request_prefix=f"h{i}")  # fmt: skip
        actions.append(ws.canary_step())
    assert [a.action for a in actions] == ["advanced", "advanced", "completed"]
    final = ws.deployment().value
    assert final["state"] == "completed" and final["canary_fraction"] == 0.5
    decision = ws.decision(actions[-1].decision_id)
    assert decision.kind == "promote" and decision.alias == "champion"
    assert decision.version == mv.version
